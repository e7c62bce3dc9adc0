//! The audit log (`postern audit`): logins and failed logins with user, client and
//! protocol, and the changes made with the management commands, kept across restarts.

mod common;

use common::{TestServer, run_python_source};

#[test]
fn logins_and_changes_are_in_the_audit_log() {
    let mut server = TestServer::start("[imap]\nauth_without_tls = true\n");
    server.add_test_users();
    let logins = r#"
import imaplib, sys
imap = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
imap.login("alice@example.test", "alice-secret")
imap.logout()
imap = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
try:
    imap.login("bob@example.test", "wrong")
except imaplib.IMAP4.error:
    print("bob refused")
"#;
    if !run_python_source(&server, logins, &["imap"]) {
        return;
    }
    server.stop();
    server.restart();

    let log = server.cli(&["audit"], "");
    let line = |needle: &str| {
        log.lines()
            .find(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in\n{log}"))
            .to_string()
    };
    assert!(line("user add alice@example.test").contains("  admin  cli  -  "));
    let ok = line("  login  alice@example.test");
    assert!(ok.ends_with("  127.0.0.1  imap"), "{ok}");
    let failed = line("  login-failed  bob@example.test");
    assert!(failed.ends_with("  127.0.0.1  imap"), "{failed}");
    assert!(
        !log.contains("bob-secret") && !log.contains("alice-secret"),
        "{log}"
    );

    let alice = server.cli(&["audit", "--user", "alice@example.test", "--json"], "");
    let entries: Vec<&str> = alice.lines().collect();
    assert_eq!(entries.len(), 1, "{alice}");
    assert!(
        entries[0].starts_with('{') && entries[0].contains(r#""kind":"login""#),
        "{alice}"
    );
    assert!(
        server
            .cli(&["audit", "--since", "2000-01-01"], "")
            .contains("user add")
    );
    let future = server.cli_output(&["audit", "--since", "next week"], "");
    assert!(
        !future.status.success(),
        "a --since it cannot read is an error"
    );
}
