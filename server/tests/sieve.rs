//! Sieve filters set with the CLI, run on mail sent with Python's smtplib, seen with its
//! imaplib: what a user of `postern sieve` sees in their mail client.

mod common;

use common::{TestServer, run_python_source};

/// Lists into a mailbox the script makes, the boss's mail flagged, junk discarded.
const SCRIPT: &str = r#"require ["fileinto", "imap4flags", "mailbox"];
if header :matches "List-Id" "*<news.lists.test>*" {
    fileinto :create "Lists/News";
    stop;
}
if address :is "from" "boss@boss.test" {
    addflag ["\\Flagged", "$Important"];
}
if header :contains "subject" "cheap pills" {
    discard;
}
"#;

const CLIENT: &str = r#"
import imaplib, smtplib, ssl, sys
MX, IMAP = int(sys.argv[1]), int(sys.argv[2])
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE
with smtplib.SMTP("127.0.0.1", MX) as s:
    s.sendmail("list@news.lists.test", ["alice@example.test"],
        "From: list@news.lists.test\r\nList-Id: The News <news.lists.test>\r\n"
        "Subject: issue 7\r\n\r\nnews\r\n")
    s.sendmail("boss@boss.test", ["alice@example.test"],
        "From: The Boss <boss@boss.test>\r\nSubject: see me\r\n\r\nnow\r\n")
    s.sendmail("spam@spam.test", ["alice@example.test"],
        "From: spam@spam.test\r\nSubject: cheap pills\r\n\r\nbuy\r\n")
m = imaplib.IMAP4("127.0.0.1", IMAP, timeout=30)
m.starttls(ssl_context=INSECURE)
m.login("alice@example.test", "alice-secret")
typ, boxes = m.list()
assert any(b'"Lists/News"' in b or b' Lists/News' in b for b in boxes), boxes
typ, data = m.select("Lists/News")
assert data == [b"1"], data
typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
assert b"issue 7" in data[0][1], data
typ, data = m.select("INBOX")
assert data == [b"1"], ("the discarded message must not be kept", data)
typ, data = m.fetch("1", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
flags = data[0][0]
assert b"\\Flagged" in flags and b"$Important" in flags, flags
assert b"see me" in data[0][1], data
m.logout()
print("sieve: list filed, boss flagged, junk discarded")
"#;

#[test]
fn scripts_set_with_the_cli_filter_what_imap_clients_see() {
    let server = TestServer::start("");
    server.add_test_users();
    let alice = "alice@example.test";
    // A script that does not compile is refused, with its line.
    let refused = server.cli_output(
        &["sieve", "put", alice, "-", "--name", "broken"],
        "require \"fileinto\";\nfileinto;\n",
    );
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("line 2"), "{said}");
    server.cli(
        &[
            "sieve",
            "put",
            alice,
            "-",
            "--name",
            "filters",
            "--activate",
        ],
        SCRIPT,
    );
    let listed = server.cli(&["sieve", "list", alice], "");
    assert!(
        listed.contains("filters") && listed.contains("active"),
        "{listed}"
    );
    assert!(!listed.contains("broken"), "{listed}");
    let shown = server.cli(&["sieve", "show", alice, "filters"], "");
    assert_eq!(shown.trim_end(), SCRIPT.trim_end());
    if !run_python_source(&server, CLIENT, &["smtp", "imap"]) {
        return;
    }
    server.cli(&["sieve", "deactivate", alice], "");
    let listed = server.cli(&["sieve", "list", alice], "");
    assert!(!listed.contains("active"), "{listed}");
    server.cli(&["sieve", "remove", alice, "filters"], "");
    let listed = server.cli(&["sieve", "list", alice], "");
    assert!(listed.contains("no Sieve script"), "{listed}");
    let missing = server.cli_output(&["sieve", "activate", alice, "filters"], "");
    assert!(!missing.status.success());
}

/// An account keeps a bounded number of scripts: each delivery reads them all.
#[test]
fn an_account_keeps_at_most_32_scripts() {
    let server = TestServer::start("");
    server.add_test_users();
    let bob = "bob@example.test";
    for n in 0..32 {
        server.cli(
            &["sieve", "put", bob, "-", "--name", &format!("s{n}")],
            "keep;",
        );
    }
    let refused = server.cli_output(&["sieve", "put", bob, "-", "--name", "one more"], "keep;");
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("remove one first"), "{said}");
    // Replacing one it has is fine.
    server.cli(&["sieve", "put", bob, "-", "--name", "s0"], "stop;");
}

const AWAY: &str = r#"require "vacation";
vacation :days 3 :subject "Away until Monday" "I read mail again on Monday.";
"#;

const ASKING_TWICE: &str = r#"
import imaplib, smtplib, ssl, sys, time
MX, IMAP = int(sys.argv[1]), int(sys.argv[2])
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE
with smtplib.SMTP("127.0.0.1", MX) as s:
    for n in (1, 2):
        s.sendmail("bob@example.test", ["alice@example.test"],
            "From: bob@example.test\r\nTo: alice@example.test\r\n"
            f"Subject: question {n}\r\nMessage-ID: <q{n}@example.test>\r\n\r\n?\r\n")
m = imaplib.IMAP4("127.0.0.1", IMAP, timeout=30)
m.starttls(ssl_context=INSECURE)
m.login("bob@example.test", "bob-secret")
m.select("INBOX")
typ, data = m.search(None, "ALL")
assert data == [b"1"], ("one answer for two questions", data)
typ, data = m.fetch("1", "(BODY.PEEK[])")
answer = data[0][1].decode()
for part in ("Return-Path: <>", "Subject: Away until Monday", "Auto-Submitted: auto-replied",
             "In-Reply-To: <q1@example.test>", "I read mail again on Monday."):
    assert part in answer, (part, answer)
m.logout()
m = imaplib.IMAP4("127.0.0.1", IMAP, timeout=30)
m.starttls(ssl_context=INSECURE)
m.login("alice@example.test", "alice-secret")
typ, data = m.select("INBOX")
assert data == [b"2"], ("both questions are kept", data)
m.logout()
print("vacation: one answer to two questions, both kept")
"#;

#[test]
fn a_vacation_answer_goes_once_to_each_sender() {
    let server = TestServer::start("");
    server.add_test_users();
    server.cli(
        &[
            "sieve",
            "put",
            "alice@example.test",
            "-",
            "--name",
            "away",
            "--activate",
        ],
        AWAY,
    );
    run_python_source(&server, ASKING_TWICE, &["smtp", "imap"]);
}
