//! A user's own features against the real binary, with clients we did not write.
//!
//! Disposable aliases: made with the CLI and over the API, mail to them sent with smtplib
//! lands in the user's INBOX and is counted; turned off, the address is refused at RCPT
//! with a permanent error, and turned on again it delivers. Important senders: their mail
//! has `$Important` when imaplib fetches its flags.

mod common;

use common::{TestServer, run_python_source};

const CLIENT: &str = r#"
import imaplib, json, smtplib, ssl, sys, urllib.request
MX, IMAP, HTTP, ADDRESS, TOKEN = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE

def api(method, path, body=None):
    request = urllib.request.Request(f"http://127.0.0.1:{HTTP}/api/v1/me/aliases{path}",
        data=None if body is None else json.dumps(body).encode(), method=method,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())

def send(to):
    with smtplib.SMTP("127.0.0.1", MX) as s:
        return s.sendmail("orders@shop.test", [to], f"To: {to}\r\nSubject: for {to}\r\n\r\nhi\r\n")

send(ADDRESS.upper())
status, made = api("POST", "", {"note": "the newsletter"})
assert status == 201 and made["enabled"] and made["uses"] == 0, made
assert made["address"].endswith("@example.test") and made["note"] == "the newsletter", made
send(made["address"])
status, listed = api("GET", "")
counts = {a["address"]: (a["uses"], a["last_used"] is not None) for a in listed["aliases"]}
assert counts == {ADDRESS: (1, True), made["address"]: (1, True)}, listed
status, off = api("PATCH", "/" + made["address"], {"enabled": False})
assert status == 200 and off["enabled"] is False, off
try:
    send(made["address"])
    raise AssertionError("a disposable alias that is off must be refused")
except smtplib.SMTPRecipientsRefused as e:
    code, text = e.recipients[made["address"]]
    assert code == 550 and text.startswith(b"5.2.1"), (code, text)
m = imaplib.IMAP4("127.0.0.1", IMAP, timeout=30)
m.starttls(ssl_context=INSECURE)
m.login("alice@example.test", "alice-secret")
assert m.select("INBOX")[1] == [b"2"], "both deliveries kept, the refused one not"
m.logout()
print("disposable aliases ok")
"#;

#[test]
fn disposable_aliases_deliver_count_and_refuse_once_off() {
    let server = TestServer::start("");
    server.add_test_users();
    let made = server.cli(
        &[
            "alias",
            "new",
            "alice@example.test",
            "--note",
            "the shoe shop",
        ],
        "",
    );
    let address = made.trim().to_string();
    assert!(address.ends_with("@example.test"), "{made}");
    let token = server.token(&["--user", "alice@example.test"]);
    let args = ["smtp", "imap", "http"];
    let mut source = CLIENT.replace("sys.argv[4]", &format!("{address:?}"));
    source = source.replace("sys.argv[5]", &format!("{token:?}"));
    if !run_python_source(&server, &source, &args) {
        return;
    }
    let listed = server.cli(&["alias", "disposable", "alice@example.test"], "");
    assert!(
        listed.contains(&address) && listed.contains("1 uses") && listed.contains("the shoe shop"),
        "{listed}"
    );
    // Off from the CLI, then on again: it delivers once more.
    server.cli(&["alias", "disable", &address], "");
    let listed = server.cli(&["alias", "disposable", "alice@example.test"], "");
    assert!(listed.contains(&format!("{address}  off")), "{listed}");
    server.cli(&["alias", "enable", &address], "");
    let refused = server.cli_output(&["alias", "disable", "nobody@example.test"], "");
    assert!(!refused.status.success());
    let audit = server.cli(&["audit"], "");
    assert!(
        audit.contains("alias new for alice@example.test"),
        "{audit}"
    );
}

const IMPORTANT: &str = r#"
import imaplib, smtplib, ssl, sys
MX, IMAP = int(sys.argv[1]), int(sys.argv[2])
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE
with smtplib.SMTP("127.0.0.1", MX) as s:
    s.sendmail("boss@boss.test", ["alice@example.test"],
        "From: The Boss <Boss@Boss.test>\r\nSubject: budget\r\n\r\nsee me\r\n")
    s.sendmail("news@lists.test", ["alice@example.test"],
        "From: news@lists.test\r\nSubject: news\r\n\r\nweekly\r\n")
m = imaplib.IMAP4("127.0.0.1", IMAP, timeout=30)
m.starttls(ssl_context=INSECURE)
m.login("alice@example.test", "alice-secret")
m.select("INBOX")
typ, data = m.fetch("1:2", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
flags = {part[1].decode().strip(): part[0] for part in data if isinstance(part, tuple)}
assert b"$Important" in flags["Subject: budget"], flags
assert b"$Important" not in flags["Subject: news"], flags
typ, data = m.search(None, "KEYWORD", "$Important")
assert data == [b"1"], data
m.logout()
print("important senders ok")
"#;

#[test]
fn mail_from_important_senders_is_marked_important() {
    let server = TestServer::start("");
    server.add_test_users();
    let alice = "alice@example.test";
    server.cli(&["vip", "add", alice, "boss@boss.test"], "");
    server.cli(&["vip", "add", alice, "someone@else.test"], "");
    server.cli(&["vip", "remove", alice, "someone@else.test"], "");
    assert_eq!(server.cli(&["vip", "list", alice], ""), "boss@boss.test\n");
    let missing = server.cli_output(&["vip", "remove", alice, "someone@else.test"], "");
    assert!(!missing.status.success());
    run_python_source(&server, IMPORTANT, &["smtp", "imap"]);
}

const SCREENED: &str = r#"
import imaplib, smtplib, ssl, sys
MX, SUBMISSION, IMAP = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE

def send(sender, subject):
    with smtplib.SMTP("127.0.0.1", MX) as s:
        s.sendmail(sender, ["alice@example.test"], f"From: {sender}\r\nSubject: {subject}\r\n\r\nhi\r\n")

def subjects(m, mailbox):
    typ, data = m.select(mailbox)
    assert typ == "OK", (mailbox, data)
    typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])") if data != [b"0"] else ("OK", [])
    return sorted(p[1].decode().strip()[len("Subject: "):] for p in data if isinstance(p, tuple))

# Alice writes to a friend: the friend is approved by that.
with smtplib.SMTP("127.0.0.1", SUBMISSION) as s:
    s.starttls(context=INSECURE)
    s.login("alice@example.test", "alice-secret")
    s.sendmail("alice@example.test", ["friend@far.test"], "From: alice@example.test\r\nSubject: lunch\r\n\r\n?\r\n")
send("stranger@shop.test", "offer 1")
send("stranger@shop.test", "offer 2")
send("boss@boss.test", "budget")
send("friend@far.test", "yes, lunch")
send("news@news.test", "issue 1")
m = imaplib.IMAP4("127.0.0.1", IMAP, timeout=30)
m.starttls(ssl_context=INSECURE)
m.login("alice@example.test", "alice-secret")
assert subjects(m, "Screener") == ["issue 1", "offer 1", "offer 2"], subjects(m, "Screener")
assert subjects(m, "INBOX") == ["budget", "yes, lunch"], subjects(m, "INBOX")
# Moving a message out of the Screener approves its sender.
m.select("Screener")
typ, data = m.search(None, "SUBJECT", "issue")
typ, moved = m.uid("MOVE", m.fetch(data[0], "(UID)")[1][0].split()[2].rstrip(b")"), "INBOX")
assert typ == "OK", moved
send("news@news.test", "issue 2")
assert subjects(m, "INBOX") == ["budget", "issue 1", "issue 2", "yes, lunch"], subjects(m, "INBOX")
m.logout()
print("screened")
"#;

const REJECTED: &str = r#"
import imaplib, smtplib, ssl, sys
MX, IMAP = int(sys.argv[1]), int(sys.argv[2])
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE
with smtplib.SMTP("127.0.0.1", MX) as s:
    s.sendmail("stranger@shop.test", ["alice@example.test"], "From: stranger@shop.test\r\nSubject: offer 3\r\n\r\nhi\r\n")
m = imaplib.IMAP4("127.0.0.1", IMAP, timeout=30)
m.starttls(ssl_context=INSECURE)
m.login("alice@example.test", "alice-secret")
assert m.select("Screener")[1] == [b"0"]
assert m.select("Junk")[1] == [b"3"], "the two that waited, and the new one"
m.logout()
print("rejected")
"#;

#[test]
fn the_screener_holds_new_senders_until_the_user_decides() {
    let server = TestServer::start("");
    server.add_test_users();
    let alice = "alice@example.test";
    server.cli(&["screener", "on", alice], "");
    server.cli(&["vip", "add", alice, "boss@boss.test"], "");
    if !run_python_source(&server, SCREENED, &["smtp", "submission", "imap"]) {
        return;
    }
    let listed = server.cli(&["screener", "list", alice], "");
    assert!(
        listed.contains("Screener: on")
            && listed.contains("waiting   stranger@shop.test (2 messages)")
            && listed.contains("approved  friend@far.test")
            && listed.contains("approved  news@news.test"),
        "{listed}"
    );
    let said = server.cli(&["screener", "reject", alice, "stranger@shop.test"], "");
    assert!(said.contains("2 waiting messages moved to Junk"), "{said}");
    run_python_source(&server, REJECTED, &["smtp", "imap"]);
}
