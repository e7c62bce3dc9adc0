//! testkit's remote runner against the real server over TCP: plain, STARTTLS and implicit
//! TLS; the scripts' fixture user replaced by a real one; what needs the in-process
//! engine skipped, saying so; a difference reported with its line.

mod common;

use std::time::Duration;

use common::{TestServer, test_file};
use testkit::remote::{Options, Outcome, Target, run_script};

fn options() -> Options {
    Options {
        insecure: true,
        user: Some("alice@example.test".into()),
        password: Some("alice-secret".into()),
        wait: Duration::from_secs(30),
        prepared: false,
        server: None,
        starttls: false,
        submission: false,
    }
}

fn target(server: &TestServer, scheme: &str, service: &str) -> Target {
    Target::parse(&format!("{scheme}://127.0.0.1:{}", server.port(service))).expect("url")
}

fn script(path: &str) -> String {
    std::fs::read_to_string(test_file(&format!("../../testkit/scripts/{path}"))).expect("script")
}

#[test]
fn scripts_run_against_the_server_over_tcp() {
    let server = TestServer::start("");
    server.add_test_users();
    // Postern's own scripts, on implicit TLS, as alice.
    for path in [
        "imap/authenticate.script",
        "imap/authenticate-login.script",
        "imap/compress.script",
        "imap/create-parents.script",
        "imap/login-literals.script",
        "imap/sasl-ir.script",
        "imap/search.script",
    ] {
        let outcome = run_script(
            &script(path),
            &target(&server, "imaps", "imaps"),
            &options(),
        );
        assert_eq!(outcome, Outcome::Passed, "{path}");
    }
    // STARTTLS taken up after the server's yes, and the login after it under TLS.
    let starttls = "@protocol imap\n@user alice@example.test secret\n\
                    S: * OK *\n\
                    C: a STARTTLS\n\
                    S: a OK *\n\
                    C: b LOGIN alice@example.test secret\n\
                    S: b OK [CAPABILITY *] Logged in\n\
                    C: c LOGOUT\n\
                    S: * BYE *\n\
                    S: c OK *\n";
    let outcome = run_script(starttls, &target(&server, "imap", "imap"), &options());
    assert_eq!(outcome, Outcome::Passed);
    let smtp = "S: 220 mx.test *\n\
                C: EHLO client.test\n\
                S: 250-mx.test\n\
                S: *\n\
                S: *\n\
                S: *\n\
                S: *\n\
                S: *\n\
                S: *\n\
                S: *\n\
                S: 250 *\n\
                C: STARTTLS\n\
                S: 220 *\n\
                C: EHLO client.test\n\
                S: 250-mx.test\n";
    let outcome = run_script(smtp, &target(&server, "smtp", "submission"), &options());
    assert_eq!(outcome, Outcome::Passed);
    // What needs the engine is skipped, as are messages the account was not given; a
    // difference names its line.
    let outcome = run_script(
        &script("imap/timeouts-and-shutdown.script"),
        &target(&server, "imaps", "imaps"),
        &options(),
    );
    assert!(
        matches!(outcome, Outcome::Skipped(ref why) if why.contains("needs the in-process engine")),
        "{outcome:?}"
    );
    let outcome = run_script(
        &script("imap/fetch.script"),
        &target(&server, "imaps", "imaps"),
        &options(),
    );
    assert!(
        matches!(outcome, Outcome::Skipped(ref why) if why.contains("--prepared")),
        "{outcome:?}"
    );
    let differs = "S: 220 mx.test *\nC: HELO client.test\nS: 250 somewhere.else\n";
    let outcome = run_script(differs, &target(&server, "smtp", "smtp"), &options());
    assert_eq!(
        outcome,
        Outcome::Failed("line 3: expected \"250 somewhere.else\", received \"250 mx.test\"".into())
    );
}
