//! The HTTP mail APIs against the real binary: a program sends mail with a user's token
//! (Python's urllib; postmarker through Postmark's endpoints), the recipients read it over
//! IMAP (imaplib, the email package), mail to other domains waits in the queue, as after
//! SMTP submission; and a program reads and deletes a user's mail.

mod common;

use std::process::Command;

use common::{TestServer, external_tool, python_with, run};

#[test]
fn a_program_sends_mail_over_http() {
    let server = TestServer::start("");
    server.add_test_users();
    let Some(python) = external_tool("python3") else {
        return;
    };
    let alice = server.token(&["--user", "alice@example.test"]);
    let admin = server.token(&["--admin"]);
    let out = run(Command::new(python)
        .arg(common::test_file("clients/send_clients.py"))
        .arg(server.port("http").to_string())
        .arg(server.port("imap").to_string())
        .args([&alice, &admin]));
    assert!(out.contains("send api ok"), "{out}");
    // The copy for another domain waits in the queue, from alice.
    let queued = server.cli(&["queue", "list"], "");
    assert!(
        queued.contains("carol@elsewhere.test") && queued.contains("alice@example.test"),
        "{queued}"
    );
}

/// A program written against Postmark switches by URL: postmarker (PyPI) sends through
/// `/email` and `/email/batch` with a user's token as its server token.
#[test]
fn a_postmark_client_sends_by_changing_its_url() {
    let server = TestServer::start("");
    server.add_test_users();
    let Some(python) = python_with("postmarker", "postmarker", "pip install postmarker") else {
        return;
    };
    let alice = server.token(&["--user", "alice@example.test"]);
    let out = run(Command::new(python)
        .arg(common::test_file("clients/postmark_clients.py"))
        .arg(server.port("http").to_string())
        .arg(server.port("imap").to_string())
        .arg(&alice));
    assert!(out.contains("postmark api ok"), "{out}");
}

/// A program reads inbound mail over HTTP with a user's token: listed a page at a time,
/// read parsed and raw, deleted; IMAP sees the same mailbox.
#[test]
fn a_program_reads_and_deletes_mail_over_http() {
    let server = TestServer::start("");
    server.add_test_users();
    let Some(python) = external_tool("python3") else {
        return;
    };
    let alice = server.token(&["--user", "alice@example.test"]);
    let out = run(Command::new(python)
        .arg(common::test_file("clients/read_clients.py"))
        .arg(server.port("smtp").to_string())
        .arg(server.port("http").to_string())
        .arg(server.port("imap").to_string())
        .arg(&alice));
    assert!(out.contains("read api ok"), "{out}");
}

/// Mail kept a limited time: a domain with a retention of two seconds has its messages
/// removed by the server's sweep, which IMAP sees; `off` keeps mail again.
#[test]
fn mail_past_its_domains_retention_is_removed() {
    const CLIENT: &str = r#"
import imaplib, smtplib, ssl, sys, time
MX, IMAP = int(sys.argv[1]), int(sys.argv[2])
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE
with smtplib.SMTP("127.0.0.1", MX) as s:
    s.sendmail("orders@shop.test", ["alice@example.test"], "Subject: code 1234\r\n\r\nyour code\r\n")
m = imaplib.IMAP4("127.0.0.1", IMAP, timeout=30)
m.starttls(ssl_context=INSECURE)
m.login("alice@example.test", "alice-secret")
for _ in range(60):
    count = m.select("INBOX")[1]
    if count == [b"0"]:
        break
    time.sleep(0.5)
assert count == [b"0"], ("the message outlived its retention", count)
m.logout()
print("retention ok")
"#;
    let server = TestServer::start("");
    server.add_test_users();
    let said = server.cli(&["domain", "retention", "example.test", "2s"], "");
    assert!(said.contains("removed 2s after it arrives"), "{said}");
    let refused = server.cli_output(&["domain", "retention", "nowhere.test", "1d"], "");
    assert!(!refused.status.success());
    if common::run_python_source(&server, CLIENT, &["smtp", "imap"]) {
        server.cli(&["domain", "retention", "example.test", "off"], "");
    }
}

/// Snooze over the API: the message waits in `Snoozed` with its wake-up keyword, then comes
/// back to the INBOX as a new arrival (a new UID, unread, the keyword gone).
#[test]
fn a_snoozed_message_comes_back_as_new() {
    const CLIENT: &str = r#"
import datetime, imaplib, json, smtplib, ssl, sys, time, urllib.request
MX, IMAP, HTTP, TOKEN = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE
with smtplib.SMTP("127.0.0.1", MX) as s:
    s.sendmail("friend@far.test", ["alice@example.test"], "Subject: later\r\n\r\nread me tomorrow\r\n")
m = imaplib.IMAP4("127.0.0.1", IMAP, timeout=30)
m.starttls(ssl_context=INSECURE)
m.login("alice@example.test", "alice-secret")
m.select("INBOX")
typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
uid = int(data[0].split()[2])
m.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")
until = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
request = urllib.request.Request(f"http://127.0.0.1:{HTTP}/api/v1/me/messages/{uid}/snooze?mailbox=INBOX",
    data=json.dumps({"until": until}).encode(), method="POST",
    headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
with urllib.request.urlopen(request, timeout=30) as response:
    snoozed = json.loads(response.read())
assert snoozed["mailbox"] == "Snoozed" and snoozed["until"] == until, snoozed
assert m.select("INBOX")[1] == [b"0"]
m.select("Snoozed")
typ, data = m.fetch("1", "(FLAGS)")
assert b"$SnoozedUntil-" in data[0], data
for _ in range(60):
    count = m.select("INBOX")[1]
    if count == [b"1"]:
        break
    time.sleep(0.5)
assert count == [b"1"], ("the snoozed message did not come back", count)
typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
back = int(data[0].split()[2])
assert back > uid and b"\\Seen" not in data[0] and b"$SnoozedUntil" not in data[0], (uid, data)
assert m.select("Snoozed")[1] == [b"0"]
m.logout()
print("snooze ok")
"#;
    let server = TestServer::start("");
    server.add_test_users();
    let alice = server.token(&["--user", "alice@example.test"]);
    let source = CLIENT.replace("sys.argv[4]", &format!("{alice:?}"));
    common::run_python_source(&server, &source, &["smtp", "imap", "http"]);
}

/// Snooze from the command line and the user's page: a message of the INBOX snoozed for
/// a while (`3h`), listed with its time and sender, woken now; the page offers the INBOX's
/// latest messages with a choice of how long and wakes a snoozed one with a button.
#[test]
fn snooze_from_the_cli_and_the_users_page() {
    let server = TestServer::start("");
    server.add_test_users();
    let Some(python) = external_tool("python3") else {
        return;
    };
    let send = r#"
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    for subject in ["first", "second"]:
        s.sendmail("friend@far.test", ["alice@example.test"], f"From: friend@far.test\r\nSubject: {subject}\r\n\r\nhi\r\n")
"#;
    run(Command::new(&python)
        .args(["-c", send])
        .arg(server.port("smtp").to_string()));
    let said = server.cli(&["snooze", "add", "alice@example.test", "1", "3h"], "");
    assert!(
        said.contains("snoozed until") && said.contains("message 1 in Snoozed"),
        "{said}"
    );
    let bad = server.cli_output(&["snooze", "add", "alice@example.test", "2", "soonish"], "");
    assert!(!bad.status.success());
    let listed = server.cli(&["snooze", "list", "alice@example.test"], "");
    assert!(
        listed.starts_with("1  until ") && listed.contains("from friend@far.test  first"),
        "{listed}"
    );
    let woken = server.cli(&["snooze", "wake", "alice@example.test", "1"], "");
    assert!(woken.contains("back in the INBOX as message 3"), "{woken}");
    assert_eq!(
        server.cli(&["snooze", "list", "alice@example.test"], ""),
        ""
    );
    let page = r#"
import html.parser, http.cookiejar, re, sys, urllib.parse, urllib.request
BASE = f"http://127.0.0.1:{sys.argv[1]}"
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
def open_(path, form=None):
    data = None if form is None else urllib.parse.urlencode(form).encode()
    with opener.open(BASE + path, data=data, timeout=30) as response:
        return response.read().decode()
body = open_("/account/login", {"email": "alice@example.test", "password": "alice-secret"})
csrf = re.search(r'name="csrf" value="([^"]+)"', body).group(1)
assert body.count('action="/account/snooze"') == 2 and "a week" in body, body
body = open_("/account/snooze", {"csrf": csrf, "uid": "2", "for": "86400"})
assert "Snoozed until" in body and "Wake now" in body and "second" in body, body
body = open_("/account/snooze", {"csrf": csrf, "uid": "3", "for": "12345"})
assert "Choose a message and how long." in body, body
uid = re.search(r'action="/account/snooze/wake".*?name="uid" value="(\d+)"', body, re.S).group(1)
body = open_("/account/snooze/wake", {"csrf": csrf, "uid": uid})
assert "Back in your inbox." in body and "Wake now" not in body, body
print("snooze page ok")
"#;
    let out = run(Command::new(&python)
        .args(["-c", page])
        .arg(server.port("http").to_string()));
    assert!(out.contains("snooze page ok"), "{out}");
}
