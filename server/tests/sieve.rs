//! Sieve filters set with the CLI, run on mail sent with Python's smtplib, seen with its
//! imaplib: what a user of `postern sieve` sees in their mail client.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{TestServer, external_tool, python_with, run_python_source};

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

/// A mail client's filters, edited over ManageSieve with Python's `managesieve` (from PyPI)
/// after STARTTLS, then run on mail sent with smtplib and read with imaplib.
const MANAGESIEVE_CLIENT: &str = r#"
import imaplib, managesieve, smtplib, ssl, sys
SIEVE, MX, IMAP = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE
FILTERS = 'require ["fileinto", "mailbox"];\r\nif header :contains "subject" "report" {\r\n    fileinto :create "Reports";\r\n}\r\n'
s = managesieve.MANAGESIEVE("127.0.0.1", SIEVE, timeout=30)
assert s.implementation == "Postern", s.implementation
assert s.supports_tls and s.loginmechs == [], (s.supports_tls, s.loginmechs)
typ, _ = s.starttls(verify=False)
assert typ == "OK" and "PLAIN" in s.loginmechs, (typ, s.loginmechs)
assert "fileinto" in s.capabilities or "SIEVE" in s.capabilities, s.capabilities
assert s.login("", "alice@example.test", "wrong") == "NO"
assert s.login("", "alice@example.test", "alice-secret") == "OK"
assert s.havespace("filters", len(FILTERS)) == "OK"
assert s.havespace("filters", 10 * 1024 * 1024) == "NO" and s.response_code == "QUOTA/MAXSIZE", s.response_code
assert s.putscript("broken", "frob;\r\n") == "NO"
assert "line 1" in s.response_text, s.response_text
assert s.putscript("filters", FILTERS) == "OK"
assert s.putscript("spare", "keep;\r\n") == "OK"
assert s.setactive("filters") == "OK"
typ, scripts = s.listscripts()
assert typ == "OK" and sorted(scripts) == [("filters", True), ("spare", False)], scripts
typ, text = s.getscript("filters")
assert typ == "OK" and text == FILTERS, text
assert s.deletescript("filters") == "NO" and s.response_code == "ACTIVE", s.response_code
assert s.deletescript("spare") == "OK"
assert s.getscript("spare")[0] == "NO" and s.response_code == "NONEXISTENT"
assert s.logout() == "OK"
with smtplib.SMTP("127.0.0.1", MX) as m:
    m.sendmail("bob@example.test", ["alice@example.test"],
        "From: bob@example.test\r\nSubject: weekly report\r\n\r\nnumbers\r\n")
    m.sendmail("bob@example.test", ["alice@example.test"],
        "From: bob@example.test\r\nSubject: lunch?\r\n\r\nnoon\r\n")
m = imaplib.IMAP4("127.0.0.1", IMAP, timeout=30)
m.starttls(ssl_context=INSECURE)
m.login("alice@example.test", "alice-secret")
assert m.select("Reports")[1] == [b"1"]
assert m.select("INBOX")[1] == [b"1"]
m.logout()
print("managesieve: scripts stored, checked, listed, read, activated, removed; mail filed")
"#;

#[test]
fn python_managesieve_edits_the_filters_mail_is_filed_by() {
    let server = TestServer::start("");
    server.add_test_users();
    if python_with(
        "managesieve",
        "Python's managesieve",
        "pip install managesieve",
    )
    .is_some()
    {
        run_python_source(
            &server,
            MANAGESIEVE_CLIENT,
            &["managesieve", "smtp", "imap"],
        );
    }
}

/// Debian's `sieve-connect`, the command-line ManageSieve client, run as a user scripting
/// it would: upload, check, activate, list, download, deactivate, delete; every command
/// after STARTTLS and a PLAIN login with the password on a descriptor.
#[test]
fn sieve_connect_uploads_lists_downloads_and_removes() {
    let Some(tool) = external_tool("sieve-connect") else {
        return;
    };
    let server = TestServer::start("");
    server.add_test_users();
    let dir = tempfile::tempdir().expect("temporary directory");
    let local = dir.path().join("away.sieve");
    std::fs::write(&local, AWAY).expect("write the script");
    let port = server.port("managesieve").to_string();
    let sieve_connect = |args: &[&str]| {
        let mut command = Command::new(&tool);
        command.args(["--server", "127.0.0.1", "--port", &port]);
        command.args(["--user", "bob@example.test", "--passwordfd", "0"]);
        command.args(["--notlsverify", "--noclearauth"]).args(args);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start sieve-connect");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"bob-secret\n").expect("password");
        drop(stdin);
        child.wait_with_output().expect("sieve-connect ran")
    };
    let ok = |args: &[&str]| {
        let out = sieve_connect(args);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "sieve-connect {args:?}: {said}");
        said
    };
    let local = local.to_str().expect("UTF-8 path");
    ok(&["--checkscript", "--localsieve", local]);
    ok(&["--upload", "--localsieve", local, "--remotesieve", "away"]);
    ok(&["--activate", "--remotesieve", "away"]);
    let listed = ok(&["--list"]);
    assert!(listed.contains("\"away\" ACTIVE"), "{listed}");
    let copy = dir.path().join("copy.sieve");
    let copy = copy.to_str().expect("UTF-8 path");
    ok(&["--download", "--remotesieve", "away", "--localsieve", copy]);
    assert_eq!(std::fs::read_to_string(copy).expect("downloaded"), AWAY);
    // The active script stays; once deactivated it goes.
    let refused = sieve_connect(&["--delete", "--remotesieve", "away"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("ACTIVE"));
    ok(&["--deactivate"]);
    ok(&["--delete", "--remotesieve", "away"]);
    assert!(!ok(&["--list"]).contains("away"));
    let listed = server.cli(&["sieve", "list", "bob@example.test"], "");
    assert!(!listed.contains("away"), "{listed}");
}
