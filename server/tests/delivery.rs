//! Outbound delivery end to end: a user submits with swaks, Postern queues the outside
//! recipients, finds their mail exchangers in `[dns.static]`, and hands the message to a
//! second Postern on loopback, which plays the remote domain's MX.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{TestServer, external_tool, run, test_file, unavailable};

/// Waits, a bounded while, for `done` to hold.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out waiting for {what}");
}

/// A second Postern playing example.net's mail exchanger, with the account carol.
fn remote_mx() -> TestServer {
    let remote = TestServer::start("hostname = \"mx.example.net\"\n");
    remote.cli(&["domain", "add", "example.net"], "");
    remote.cli(
        &["user", "add", "carol@example.net", "--password-stdin"],
        "carol-secret\n",
    );
    remote
}

/// Our server, with the test users, finding `remote` as example.net's exchanger in
/// `[dns.static]`, which `more_dns` adds entries to.
fn sending_to(remote: &TestServer, more_dns: &str) -> TestServer {
    let local = TestServer::start(&format!(
        r#"
[dns]
nameservers = []
[dns.static]
"example.net" = {{ mx = ["mx.example.net"] }}
"mx.example.net" = {{ a = ["127.0.0.1"] }}
{more_dns}
[delivery]
remote_port = {}
connect_timeout_secs = 5
"#,
        remote.port("smtp")
    ));
    local.add_test_users();
    local
}

/// alice submits a message to `recipients` (comma-separated) with swaks.
fn submit(swaks: &Path, local: &TestServer, recipients: &str, subject: &str, body: &str) {
    run(Command::new(swaks)
        .args(["--server", "127.0.0.1", "--port"])
        .arg(local.port("submission").to_string())
        .args(["--tls", "--auth", "PLAIN"])
        .args(["--auth-user", "alice@example.test"])
        .args(["--auth-password", "alice-secret"])
        .args(["--from", "alice@example.test", "--to", recipients])
        .args(["--header", &format!("Subject: {subject}")])
        .args(["--body", body]));
}

/// carol's one message at `remote`, once it arrived.
fn carols_message(remote: &TestServer) -> String {
    eventually("carol's copy at the remote server", || {
        !remote.export("carol@example.net").is_empty()
    });
    let carol = remote.export("carol@example.net");
    assert_eq!(carol.len(), 1);
    String::from_utf8_lossy(&carol[0].1).into_owned()
}

#[test]
fn submitted_mail_reaches_the_remote_domain() {
    let Some(swaks) = external_tool("swaks") else {
        return;
    };
    let remote = remote_mx();
    // `down.example`'s exchanger is an address where nothing listens; `nomail.example`
    // has a null MX; `ghost.example` does not exist.
    let local = sending_to(
        &remote,
        r#"
"down.example" = { mx = ["mx.down.example"] }
"mx.down.example" = { a = ["127.0.0.2"] }
"nomail.example" = { mx = ["."] }
"#,
    );
    let recipients = "carol@example.net,dave@example.net,bob@example.test,\
                      yan@down.example,xu@nomail.example";
    submit(
        &swaks,
        &local,
        recipients,
        "to the world",
        "Hello from Postern.\n.dot-led line\n",
    );

    // The local recipient has it at once.
    let bob = local.export("bob@example.test");
    assert_eq!(bob.len(), 1);

    let message = carols_message(&remote);
    assert!(
        message.starts_with("Return-Path: <alice@example.test>\r\n"),
        "{message}"
    );
    assert_eq!(message.matches("Return-Path:").count(), 1, "{message}");
    assert!(
        message.contains("by mx.test (Postern) with ESMTPSA"),
        "our trace header travels on: {message}"
    );
    assert!(
        message.contains("by mx.example.net (Postern) with ESMTPS"),
        "{message}"
    );
    assert!(message.contains("Subject: to the world\r\n"), "{message}");
    assert!(message.contains("\r\n.dot-led line\r\n"), "{message}");

    // What could not be delivered is recorded per recipient; the unreachable one waits.
    eventually("every recipient tried once", || {
        let queue = local.cli(&["queue", "list"], "");
        queue.contains("carol@example.net  delivered")
            && queue.contains("dave@example.net  failed")
            && queue.contains("xu@nomail.example  failed")
            && queue.contains("yan@down.example  pending, next try in")
    });
    let queue = local.cli(&["queue", "list"], "");
    assert!(
        queue.contains("550 5.1.1"),
        "the remote's refusal is kept: {queue}"
    );
    assert!(queue.contains("null MX"), "{queue}");
    assert!(
        queue.contains("cannot connect to mx.down.example[127.0.0.2]"),
        "{queue}"
    );
    assert!(queue.ends_with("1 queued\n"), "{queue}");

    // Once the last recipient is given up on or delivered, the message leaves the queue;
    // the operator can also take it out.
    let id = queue
        .split_whitespace()
        .next()
        .expect("a queue id")
        .to_string();
    local.cli(&["queue", "delete", &id], "");
    assert!(local.cli(&["queue", "list"], "").ends_with("0 queued\n"));
}

/// dkimpy, when the Python on the path has it (CI installs it: see .ci/run).
fn dkimpy() -> Option<PathBuf> {
    let python = external_tool("python3")?;
    let found = Command::new(&python)
        .args(["-c", "import dkim, nacl"])
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        unavailable(
            "dkimpy is not installed; CI must install it (see .ci/run)",
            "dkimpy is not installed (pip install dkimpy pynacl, or apt-get install python3-dkim)",
        );
        return None;
    }
    Some(python)
}

#[test]
fn submitted_mail_is_dkim_signed() {
    let Some(swaks) = external_tool("swaks") else {
        return;
    };
    let remote = remote_mx();
    let local = sending_to(&remote, "");
    // The running server is told over its control socket; it signs the next message.
    local.cli(&["dkim", "generate", "--domain", "example.test"], "");
    let records = local.cli(&["dkim", "dns", "--domain", "example.test"], "");
    assert_eq!(
        records.matches("._domainkey.example.test. IN TXT").count(),
        2,
        "{records}"
    );

    submit(
        &swaks,
        &local,
        "carol@example.net",
        "signed",
        "Signed by Postern.\n",
    );
    let message = carols_message(&remote);
    assert_eq!(message.matches("DKIM-Signature:").count(), 2, "{message}");
    for tag in [
        "a=ed25519-sha256",
        "a=rsa-sha256",
        "d=example.test",
        "c=relaxed/relaxed",
    ] {
        assert!(message.contains(tag), "{tag}: {message}");
    }
    // The signatures lead what our server sent: only the remote's trace headers are above.
    let signed_from = message.find("DKIM-Signature:").expect("a signature");
    assert!(
        message[..signed_from].contains("by mx.example.net"),
        "{message}"
    );

    let Some(python) = dkimpy() else {
        return;
    };
    let message_file = local.dir.path().join("signed.eml");
    std::fs::write(&message_file, &message).expect("write message");
    let records_file = local.dir.path().join("records.zone");
    std::fs::write(&records_file, &records).expect("write records");
    print!(
        "{}",
        run(Command::new(python)
            .arg(test_file("clients/dkim_verify.py"))
            .arg(&message_file)
            .arg(&records_file))
    );
}
