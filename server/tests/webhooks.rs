//! Webhooks against the real binary: a receiver on loopback (Python's http.server) that
//! checks each call's HMAC-SHA256 signature with Python's hmac and fails the first calls,
//! mail sent with smtplib, webhooks and webhook-only domains made over the JSON API (urllib)
//! and the CLI, and the delivery log read through both.

mod common;

use common::{TestServer, run_python_source};

const CLIENT: &str = r#"
import hashlib, hmac, http.server, json, smtplib, sys, threading, time, urllib.error, urllib.request
MX, HTTP, TOKEN = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
SECRET = "the receiver's secret"
calls, failures_left = [], {"n": 2}

class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        signed = hmac.compare_digest(expected, self.headers["X-Postern-Signature"])
        calls.append((self.path, int(self.headers["X-Postern-Attempt"]), signed, json.loads(body)))
        status = 200
        if self.path == "/flaky" and failures_left["n"] > 0:
            failures_left["n"] -= 1
            status = 500
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass

receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=receiver.serve_forever, daemon=True).start()
URL = f"http://127.0.0.1:{receiver.server_address[1]}"

def api(method, path, body=None):
    request = urllib.request.Request(f"http://127.0.0.1:{HTTP}/api/v1{path}",
        data=None if body is None else json.dumps(body).encode(), method=method,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            data = response.read()
            return response.status, json.loads(data) if data else None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())

def wait_for(count, what):
    deadline = time.time() + 60
    while len(calls) < count:
        assert time.time() < deadline, f"{what}: {len(calls)} calls of {count}"
        time.sleep(0.1)

# An address webhook on a domain that stores mail: the mail is stored and reported, and the
# receiver's first two failures are retried.
status, hook = api("POST", "/webhooks", {"address": "alice@example.test", "url": URL + "/flaky", "secret": SECRET})
assert status == 201 and hook["secret"] == SECRET and hook["address"] == "alice@example.test", hook
status, refused = api("POST", "/webhooks", {"address": "alice@example.test", "url": URL})
assert status == 409, refused
status, refused = api("POST", "/webhooks", {"domain": "example.test", "url": "ftp://x.test/"})
assert status == 422, refused
message = ("From: Orders <orders@shop.test>\r\nTo: alice@example.test\r\nSubject: Your order\r\n"
    "Message-ID: <order-1@shop.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    "--b\r\nContent-Type: text/plain\r\n\r\nTwo boxes.\r\n--b\r\nContent-Type: application/pdf\r\n"
    "Content-Disposition: attachment; filename=invoice.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n")
with smtplib.SMTP("127.0.0.1", MX) as s:
    s.sendmail("orders@shop.test", ["alice@example.test", "bob@example.test"], message)
wait_for(3, "the flaky receiver")
assert [(c[0], c[1], c[2]) for c in calls] == [("/flaky", 1, True), ("/flaky", 2, True), ("/flaky", 3, True)], calls
doc = calls[-1][3]
assert doc["event"] == "message.received" and doc["envelope"] == {"from": "orders@shop.test", "to": ["alice@example.test"]}, doc
assert doc["subject"] == "Your order" and doc["message_id"] == "order-1@shop.test", doc
assert doc["from"] == [{"name": "Orders", "address": "orders@shop.test"}], doc
assert doc["text"].strip() == "Two boxes." and doc["parsed"] is True, doc
assert doc["attachments"] == [{"filename": "invoice.pdf", "content_type": "application/pdf", "size": 5}], doc
assert any(h[0] == "Received" and "(Postern)" in h[1] for h in doc["headers"]), doc["headers"]
assert len({c[3]["id"] for c in calls}) == 1, "a retried call is the same document"
deadline = time.time() + 60
while True:
    status, log = api("GET", f"/webhooks/{hook['id']}/log")
    if len(log["attempts"]) >= 3 or time.time() > deadline:
        break
    time.sleep(0.1)
assert status == 200, log
outcomes = [(a["attempt"], a["status"], a["outcome"]) for a in log["attempts"]]
assert outcomes == [(3, 200, "delivered"), (2, 500, "retrying"), (1, 500, "retrying")], outcomes
assert log["attempts"][0]["message"] == "orders@shop.test → alice@example.test", log

# A webhook-only domain: a domain webhook takes every address, nothing is stored.
status, _ = api("PUT", "/webhooks/webhook-only/hooks.test")
assert status == 204
status, domain_hook = api("POST", "/webhooks", {"domain": "hooks.test", "url": URL + "/inbound", "secret": SECRET})
assert status == 201, domain_hook
with smtplib.SMTP("127.0.0.1", MX) as s:
    s.sendmail("", ["anyone@hooks.test", "sales+eu@hooks.test"], "Subject: bounce-ish\r\n\r\nhi\r\n")
wait_for(4, "the webhook-only domain")
path, attempt, signed, doc = calls[3]
assert (path, attempt, signed) == ("/inbound", 1, True), calls[3]
assert doc["envelope"] == {"from": "", "to": ["anyone@hooks.test", "sales+eu@hooks.test"]}, doc
# In a webhook-only domain without a domain webhook, only an address webhook takes mail.
status, _ = api("PUT", "/webhooks/webhook-only/only.test")
assert status == 204
status, _ = api("POST", "/webhooks", {"address": "in@only.test", "url": URL + "/only", "secret": SECRET})
assert status == 201
with smtplib.SMTP("127.0.0.1", MX) as s:
    refused = s.sendmail("a@shop.test", ["in@only.test", "other@only.test"], "Subject: x\r\n\r\nx\r\n")
assert list(refused) == ["other@only.test"] and refused["other@only.test"][0] == 550, refused
# Postmaster takes mail in every local domain (RFC 5321 4.5.1), webhook-only ones too.
with smtplib.SMTP("127.0.0.1", MX) as s:
    assert s.sendmail("a@shop.test", ["postmaster@only.test"], "Subject: abuse\r\n\r\nx\r\n") == {}
wait_for(5, "the address webhook")
assert calls[4][0] == "/only" and calls[4][3]["envelope"]["to"] == ["in@only.test"], calls[4]
# The last call is recorded once its answer is read: the list may say it waits a moment.
deadline = time.time() + 60
while True:
    status, listed = api("GET", "/webhooks")
    if all(h["waiting"] == 0 for h in listed["webhooks"]) or time.time() > deadline:
        break
    time.sleep(0.1)
assert status == 200 and listed["webhook_only_domains"] == ["hooks.test", "only.test"], listed
assert all(h["waiting"] == 0 and "secret" not in h for h in listed["webhooks"]), listed
metrics = urllib.request.urlopen(f"http://127.0.0.1:{HTTP}/metrics", timeout=30).read().decode()
assert 'postern_webhook_calls_total{outcome="retrying"} 2' in metrics, metrics
assert 'postern_webhook_calls_total{outcome="delivered"} 3' in metrics, metrics
receiver.shutdown()
print("webhooks ok:", len(calls), "calls")
"#;

#[test]
fn webhooks_are_signed_retried_logged_and_can_stand_for_mailboxes() {
    let server = TestServer::start("[webhooks]\nfirst_retry = \"1s\"\n");
    server.add_test_users();
    for domain in ["hooks.test", "only.test"] {
        server.cli(&["domain", "add", domain], "");
    }
    let token = server.token(&["--admin"]);
    let source = CLIENT.replace("sys.argv[3]", &format!("{token:?}"));
    if !run_python_source(&server, &source, &["smtp", "http"]) {
        return;
    }
    // The mail to alice was stored as well as reported; bob's was not reported. Alice, the
    // first account, also has what came for postmaster@only.test.
    let alice = server.export("alice@example.test");
    let subjects: Vec<bool> = [b"Subject: Your order".as_slice(), b"Subject: abuse"]
        .iter()
        .map(|s| {
            alice
                .iter()
                .any(|(_, m)| m.windows(s.len()).any(|w| w == *s))
        })
        .collect();
    assert_eq!((alice.len(), subjects), (2, vec![true, true]));
    assert_eq!(server.export("bob@example.test").len(), 1);
    let listed = server.cli(&["webhook", "list"], "");
    assert!(
        listed.contains("alice@example.test")
            && listed.contains("@hooks.test")
            && listed.contains("webhook-only domain: hooks.test"),
        "{listed}"
    );
    let log = server.cli(&["webhook", "log", "1"], "");
    assert_eq!(log.lines().count(), 3, "{log}");
    assert!(
        log.contains("delivered") && log.contains("retrying at"),
        "{log}"
    );
}

#[test]
fn the_cli_adds_lists_and_removes_webhooks() {
    let server = TestServer::start("");
    server.add_test_users();
    let refused = server.cli_output(
        &[
            "webhook",
            "add",
            "--domain",
            "nowhere.test",
            "--url",
            "https://h.test/",
        ],
        "",
    );
    assert!(!refused.status.success());
    let added = server.cli(
        &[
            "webhook",
            "add",
            "--domain",
            "example.test",
            "--url",
            "https://h.test/in",
        ],
        "",
    );
    assert!(
        added.contains("webhook 1: mail to @example.test"),
        "{added}"
    );
    let secret = added.rsplit(' ').next().unwrap_or_default().trim();
    assert_eq!(secret.len(), 64, "a made secret: {added}");
    let listed = server.cli(&["webhook", "list"], "");
    assert!(
        listed.contains("1  @example.test  https://h.test/in  0 waiting"),
        "{listed}"
    );
    assert!(
        !listed.contains(secret),
        "the secret is shown once: {listed}"
    );
    server.cli(&["domain", "webhook-only", "example.test", "on"], "");
    assert!(
        server
            .cli(&["webhook", "list"], "")
            .contains("webhook-only domain: example.test")
    );
    server.cli(&["webhook", "remove", "1"], "");
    assert!(!server.cli(&["webhook", "list"], "").contains("h.test"));
    assert!(
        !server
            .cli_output(&["webhook", "remove", "1"], "")
            .status
            .success()
    );
}

/// A receiver that was down is given its waiting calls at once when asked (API, CLI),
/// not at their next retry an hour on.
#[test]
fn waiting_calls_are_made_again_when_asked() {
    let server = TestServer::start("[webhooks]\nfirst_retry = \"1h\"\n");
    server.add_test_users();
    let token = server.token(&["--admin"]);
    let client = r#"
import http.server, json, smtplib, sys, threading, time, urllib.request
MX, HTTP, TOKEN = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
calls, up = [], {"yes": False}
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        calls.append(int(self.headers["X-Postern-Attempt"]))
        self.send_response(200 if up["yes"] else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=receiver.serve_forever, daemon=True).start()
def api(method, path, body=None):
    request = urllib.request.Request(f"http://127.0.0.1:{HTTP}/api/v1{path}",
        data=None if body is None else json.dumps(body).encode(), method=method,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())
hook = api("POST", "/webhooks", {"address": "alice@example.test", "url": f"http://127.0.0.1:{receiver.server_address[1]}/"})
with smtplib.SMTP("127.0.0.1", MX) as s:
    s.sendmail("a@shop.test", ["alice@example.test"], "Subject: x\r\n\r\nx\r\n")
def wait_for(n):
    deadline = time.time() + 60
    while len(calls) < n:
        assert time.time() < deadline, calls
        time.sleep(0.1)
wait_for(1)
deadline = time.time() + 60
while api("GET", "/webhooks")["webhooks"][0]["waiting"] != 1 or not api("GET", f"/webhooks/{hook['id']}/log")["attempts"]:
    assert time.time() < deadline
    time.sleep(0.1)
up["yes"] = True
assert api("POST", f"/webhooks/{hook['id']}/retry") == {"retried": 1}
wait_for(2)
assert calls == [1, 2], calls
print("retry ok")
"#;
    let source = client.replace("sys.argv[3]", &format!("{token:?}"));
    if !run_python_source(&server, &source, &["smtp", "http"]) {
        return;
    }
    let said = server.cli(&["webhook", "retry", "1"], "");
    assert!(said.contains("0 calls of webhook 1"), "{said}");
    assert!(
        !server
            .cli_output(&["webhook", "retry", "9"], "")
            .status
            .success()
    );
}
