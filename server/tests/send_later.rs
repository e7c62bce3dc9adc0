//! Send later and undo send against the real binary, with clients we did not write: a
//! message submitted with smtplib within the sender's undo delay is cancelled over the API
//! (urllib) and never arrives; one sent over the HTTP API with `send_at`, and one over SMTP
//! with a `Deferred-Delivery:` field, arrive in the recipient's INBOX (imaplib) only once
//! their time came; a time too far ahead is refused.

mod common;

use common::{TestServer, run_python_source};

const CLIENT: &str = r#"
import email.utils, imaplib, json, smtplib, ssl, sys, time, urllib.error, urllib.request
SUBMISSION, IMAP, HTTP, TOKEN = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE

def api(method, path, body=None):
    request = urllib.request.Request(f"http://127.0.0.1:{HTTP}/api/v1{path}",
        data=None if body is None else json.dumps(body).encode(), method=method,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())

def bobs_subjects():
    m = imaplib.IMAP4("127.0.0.1", IMAP, timeout=30)
    m.starttls(ssl_context=INSECURE)
    m.login("bob@example.test", "bob-secret")
    typ, data = m.select("INBOX")
    subjects = []
    if data != [b"0"]:
        typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        subjects = sorted(p[1].decode().strip()[len("Subject: "):] for p in data if isinstance(p, tuple))
    m.logout()
    return subjects

def submit(subject, extra=""):
    with smtplib.SMTP("127.0.0.1", SUBMISSION) as s:
        s.starttls(context=INSECURE)
        s.login("alice@example.test", "alice-secret")
        s.mail("alice@example.test")
        s.rcpt("bob@example.test")
        return s.data(f"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: {subject}\r\n{extra}\r\nhi\r\n")

def wait_for(subjects):
    deadline = time.time() + 60
    while bobs_subjects() != subjects:
        assert time.time() < deadline, (bobs_subjects(), subjects)
        time.sleep(0.2)

# Undo send: every message waits; one taken back never goes.
assert api("PUT", "/me/undo-send", {"seconds": 31})[0] == 422
assert api("PUT", "/me/undo-send", {"seconds": 4}) == (200, {"seconds": 4})
assert api("GET", "/me/undo-send") == (200, {"seconds": 4})
code, text = submit("oops")
assert code == 250 and b"held until" in text, (code, text)
status, outbox = api("GET", "/me/outbox")
assert status == 200 and [m["subject"] for m in outbox["messages"]] == ["oops"], outbox
assert outbox["messages"][0]["recipients"] == ["bob@example.test"], outbox
status, cancelled = api("DELETE", f"/me/outbox/{outbox['messages'][0]['id']}")
assert status == 200 and cancelled["subject"] == "oops", cancelled
assert api("DELETE", f"/me/outbox/{outbox['messages'][0]['id']}")[0] == 404
code, text = submit("kept")
assert code == 250, (code, text)
assert bobs_subjects() == [], "held, not delivered"
wait_for(["kept"])
assert api("GET", "/me/outbox")[1] == {"messages": []}
assert api("PUT", "/me/undo-send", {"seconds": 0})[0] == 200

# Send later over HTTP: `send_at`.
at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3))
message = {"from": "alice@example.test", "to": "bob@example.test", "subject": "later", "text": "hi", "send_at": at}
status, sent = api("POST", "/send", message)
assert status == 202 and sent["held"]["send_at"] == at, sent
assert bobs_subjects() == ["kept"], "not before its time"
wait_for(["kept", "later"])
status, refused = api("POST", "/send", dict(message, send_at="2099-01-01T00:00:00Z"))
assert status == 422 and "a year" in refused["error"], refused
assert api("POST", "/send", dict(message, send_at="soon"))[0] == 400

# Send later over SMTP: a Deferred-Delivery field (RFC 4021).
when = email.utils.formatdate(time.time() + 3, usegmt=True)
code, text = submit("deferred", f"Deferred-Delivery: {when}\r\n")
assert code == 250 and b"held until" in text, (code, text)
assert "deferred" not in bobs_subjects()
wait_for(["deferred", "kept", "later"])
print("send later ok")
"#;

#[test]
fn held_mail_goes_at_its_time_unless_taken_back() {
    let server = TestServer::start("");
    server.add_test_users();
    let token = server.token(&["--user", "alice@example.test"]);
    let source = CLIENT.replace("sys.argv[4]", &format!("{token:?}"));
    if !run_python_source(&server, &source, &["submission", "imap", "http"]) {
        return;
    }
    assert_eq!(
        server.cli(&["outbox", "list", "alice@example.test"], ""),
        ""
    );
}

#[test]
fn the_cli_sets_the_undo_delay_and_lists_and_cancels_held_mail() {
    let server = TestServer::start("");
    server.add_test_users();
    let said = server.cli(&["user", "undo-send", "alice@example.test", "30"], "");
    assert!(said.contains("waits 30 s"), "{said}");
    assert!(
        !server
            .cli_output(&["user", "undo-send", "alice@example.test", "31"], "")
            .status
            .success()
    );
    let token = server.token(&["--user", "alice@example.test"]);
    let send = format!(
        r#"
import json, sys, urllib.request
request = urllib.request.Request(f"http://127.0.0.1:{{sys.argv[1]}}/api/v1/send", method="POST",
    data=json.dumps({{"from": "alice@example.test", "to": "bob@example.test", "subject": "take back", "text": "x"}}).encode(),
    headers={{"Authorization": "Bearer {token}", "Content-Type": "application/json"}})
with urllib.request.urlopen(request, timeout=30) as response:
    assert response.status == 202
"#
    );
    if !run_python_source(&server, &send, &["http"]) {
        return;
    }
    let listed = server.cli(&["outbox", "list", "alice@example.test"], "");
    assert!(
        listed.contains("to bob@example.test  take back"),
        "{listed}"
    );
    let id = listed
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let cancelled = server.cli(&["outbox", "cancel", "alice@example.test", &id], "");
    assert!(cancelled.contains("never goes"), "{cancelled}");
    assert_eq!(
        server.cli(&["outbox", "list", "alice@example.test"], ""),
        ""
    );
}
