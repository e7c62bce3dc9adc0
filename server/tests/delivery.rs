//! Outbound delivery end to end: a user submits with swaks, Postern queues the outside
//! recipients, finds their mail exchangers in `[dns.static]`, and hands the message to a
//! second Postern on loopback, which plays the remote domain's MX.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{TestServer, dkimpy, external_tool, run, run_python_source, skipped, test_file};

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

/// How the inline submission scripts start: smtplib over STARTTLS to a server whose
/// certificate is self-signed.
const SUBMIT_OVER_TLS: &str = "import smtplib, ssl, sys
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
";

/// Our server, with the test users, finding `remote` as example.net's exchanger in
/// `[dns.static]`, which `more_dns` adds entries to; `more_delivery` adds `[delivery]` keys,
/// then any sections of its own.
fn sending_to(remote: &TestServer, more_dns: &str, more_delivery: &str) -> TestServer {
    sending_with_tlsa(remote, &[], more_dns, more_delivery)
}

/// [`sending_to`], with `tlsa` as the TLSA records of mx.example.net.
fn sending_with_tlsa(
    remote: &TestServer,
    tlsa: &[String],
    more_dns: &str,
    more_delivery: &str,
) -> TestServer {
    let tlsa = format!("{tlsa:?}");
    let local = TestServer::start(&format!(
        r#"
[dns]
nameservers = []
[dns.static]
"example.net" = {{ mx = ["mx.example.net"] }}
"mx.example.net" = {{ a = ["127.0.0.1"], tlsa = {tlsa} }}
{more_dns}
[delivery]
remote_port = {}
connect_timeout = "5s"
{more_delivery}
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
        "",
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
    let stats = local.cli(&["queue", "stats"], "");
    assert!(stats.starts_with("1 messages queued"), "{stats}");
    assert!(
        stats.contains("1 recipients pending, 1 delivered, 2 failed"),
        "{stats}"
    );
    assert!(stats.contains("     1  down.example\n"), "{stats}");

    // The sender hears of the two failures in one report (RFC 3464), from the null sender.
    eventually("the bounce in alice's INBOX", || {
        !local.export("alice@example.test").is_empty()
    });
    let alice = local.export("alice@example.test");
    assert_eq!(alice.len(), 1, "one report for both failures");
    let report = String::from_utf8_lossy(&alice[0].1).into_owned();
    for expected in [
        "Return-Path: <>\r\n",
        "Subject: Undelivered Mail Returned to Sender\r\n",
        "Auto-Submitted: auto-replied\r\n",
        "multipart/report",
        "report-type=\"delivery-status\"",
        "Content-Type: message/delivery-status",
        "Reporting-MTA: dns; mx.test\r\n",
        "Final-Recipient: rfc822; dave@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n",
        "Remote-MTA: dns; mx.example.net\r\n",
        "Diagnostic-Code: smtp; 550 5.1.1 Recipient address rejected: user unknown\r\n",
        "Final-Recipient: rfc822; xu@nomail.example\r\nAction: failed\r\nStatus: 5.1.10\r\n",
        "Content-Type: text/rfc822-headers",
        "Subject: to the world\r\n",
    ] {
        assert!(
            report.contains(expected),
            "{expected:?} missing from:\n{report}"
        );
    }
    assert!(
        !report.contains("Final-Recipient: rfc822; carol@example.net"),
        "delivered recipients are not reported"
    );
    assert!(
        !report.contains("Hello from Postern"),
        "RET=HDRS by default: no body"
    );
    check_report_with_python(&alice[0].1);

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

#[test]
fn submitted_mail_is_dkim_signed() {
    let Some(swaks) = external_tool("swaks") else {
        return;
    };
    let remote = remote_mx();
    let local = sending_to(&remote, "", "");
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
    // A second message soon after goes out on the connection kept from the first, and is
    // signed and delivered the same.
    submit(
        &swaks,
        &local,
        "carol@example.net",
        "again",
        "Still Postern.\n",
    );
    eventually("the second message at carol's server", || {
        remote.export("carol@example.net").len() == 2
    });
    let second = remote.export("carol@example.net");
    assert!(
        second.iter().any(
            |(_, m)| String::from_utf8_lossy(m).contains("Subject: again\r\n")
                && String::from_utf8_lossy(m)
                    .matches("DKIM-Signature:")
                    .count()
                    == 2
        ),
        "the second message, signed"
    );
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

/// A second opinion on the report's structure: Python's email package, which mail clients
/// and scripts use, must see a multipart/report with the three parts RFC 6522 asks for.
fn check_report_with_python(report: &[u8]) {
    let Some(python) = external_tool("python3") else {
        return skipped("the report was not parsed by Python");
    };
    let script = r#"
import email, sys
from email import policy
msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy.default)
assert msg.get_content_type() == "multipart/report", msg.get_content_type()
assert msg.get_param("report-type") == "delivery-status"
parts = [p.get_content_type() for p in msg.iter_parts()]
assert parts == ["text/plain", "message/delivery-status", "text/rfc822-headers"], parts
status = list(msg.iter_parts())[1]
groups = status.get_payload()
recipients = [g.get("Final-Recipient") for g in groups[1:]]
assert recipients == ["rfc822; dave@example.net", "rfc822; xu@nomail.example"], recipients
print("ok python parses the report:", parts)
"#;
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start python");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(report)
        .expect("write report");
    let out = child.wait_with_output().expect("run python");
    assert!(
        out.status.success(),
        "python rejects the report: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_relay_host_takes_all_outbound_mail() {
    let Some(swaks) = external_tool("swaks") else {
        return;
    };
    // The relay: a second Postern whose submission port wants AUTH, over STARTTLS.
    // The relay lets its client send for anyone, as a smart host does.
    let relay = TestServer::start(
        "hostname = \"relay.example.net\"\n[security.send_as]\n\"smarthost@example.net\" = [\"*\"]\n",
    );
    relay.cli(&["domain", "add", "example.net"], "");
    relay.cli(
        &["user", "add", "smarthost@example.net", "--password-stdin"],
        "relay-secret\n",
    );
    // No `[dns.static]` for anywhere.example: with a relay, no MX is looked up. The relay's
    // certificate is self-signed, hence `relay_verify_tls = false`.
    let local = TestServer::start(&format!(
        r#"
[delivery]
relay = "smtp://127.0.0.1:{}"
relay_user = "smarthost@example.net"
relay_password = "relay-secret"
relay_verify_tls = false
"#,
        relay.port("submission")
    ));
    local.add_test_users();
    submit(
        &swaks,
        &local,
        "zoe@anywhere.example",
        "through the relay",
        "Hi.\n",
    );

    eventually("the message queued at the relay", || {
        let queue = relay.cli(&["queue", "list"], "");
        queue.contains("from alice@example.test") && queue.contains("zoe@anywhere.example")
    });
    eventually("the local queue emptied", || {
        local.cli(&["queue", "list"], "").ends_with("0 queued\n")
    });
}

#[test]
fn aliases_forward_out_with_the_sender_rewritten() {
    let Some(swaks) = external_tool("swaks") else {
        return;
    };
    let remote = remote_mx();
    let local = sending_to(&remote, "", "");
    local.cli(
        &["alias", "add", "fwd@example.test", "carol@example.net"],
        "",
    );
    local.cli(
        &["alias", "add", "gone@example.test", "nobody@example.net"],
        "",
    );

    // Mail from outside to the aliases, on the MX port, without authentication.
    run(Command::new(&swaks)
        .args(["--server", "127.0.0.1", "--port"])
        .arg(local.port("smtp").to_string())
        .args(["--from", "sender@remote.example"])
        .args(["--to", "fwd@example.test,gone@example.test"])
        .args(["--header", "Subject: forwarded"]));

    eventually("the forwarded copy at carol's server", || {
        !remote.export("carol@example.net").is_empty()
    });
    let carol = remote.export("carol@example.net");
    let message = String::from_utf8_lossy(&carol[0].1).into_owned();
    // The destination sees our domain as the sender (SPF passes for us), not the original.
    let return_path = message.lines().next().unwrap_or_default();
    assert!(
        return_path.starts_with("Return-Path: <SRS0=")
            && return_path.ends_with("=remote.example=sender@example.test>"),
        "{message}"
    );
    assert!(message.contains("Subject: forwarded\r\n"), "{message}");

    // The copy the remote refused bounces to the rewritten address, which we pass back to
    // the original sender, from the null sender.
    eventually("the bounce passed back to the original sender", || {
        let queue = local.cli(&["queue", "list"], "");
        queue.contains("from <>") && queue.contains("  sender@remote.example  ")
    });
    // An address rewritten by someone else (a forged hash) is refused.
    let forged = Command::new(&swaks)
        .args(["--server", "127.0.0.1", "--port"])
        .arg(local.port("smtp").to_string())
        .args([
            "--from",
            "",
            "--to",
            "SRS0=abcd=aa=victim.example=v@example.test",
        ])
        .output()
        .expect("run swaks");
    assert!(
        String::from_utf8_lossy(&forged.stdout).contains("<** 550 5.1.1"),
        "{}",
        String::from_utf8_lossy(&forged.stdout)
    );
}

#[test]
fn many_workers_deliver_each_message_once() {
    if external_tool("python3").is_none() {
        return;
    }
    // Eight workers take messages from one queue while others finish theirs: a worker must
    // never take a message another one has just delivered.
    let remote = remote_mx();
    let local = sending_to(&remote, "", "workers = 8");
    let script = SUBMIT_OVER_TLS.to_owned()
        + r#"
import threading
def send(first):
    with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
        s.starttls(context=context)
        s.login("alice@example.test", "alice-secret")
        for n in range(first, first + 50):
            s.sendmail("alice@example.test", ["carol@example.net"],
                       f"Subject: message {n}\r\n\r\nHi.\r\n")
threads = [threading.Thread(target=send, args=(first,)) for first in range(0, 200, 50)]
for t in threads: t.start()
for t in threads: t.join()
print("ok python submitted 200 messages over 4 connections")
"#;
    assert!(run_python_source(&local, &script, &["submission"]));
    eventually("the queue emptied", || {
        local.cli(&["queue", "list"], "").ends_with("0 queued\n")
    });
    let delivered = subjects_at(&remote);
    assert_eq!(delivered.len(), 200, "{delivered:?}");
    assert!(delivered.values().all(|&count| count == 1), "{delivered:?}");
}

#[test]
fn requiretls_mail_never_goes_unverified() {
    if external_tool("python3").is_none() {
        return;
    }
    // The remote offers REQUIRETLS, but its certificate is self-signed: the message must
    // wait rather than go over unverified TLS, or in cleartext.
    let remote = remote_mx();
    let local = sending_to(&remote, "", "");
    let script = SUBMIT_OVER_TLS.to_owned()
        + r#"
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.starttls(context=context)
    s.ehlo()
    assert s.has_extn("requiretls"), "REQUIRETLS is offered over TLS"
    s.login("alice@example.test", "alice-secret")
    s.sendmail("alice@example.test", ["carol@example.net"],
               "Subject: secret\r\n\r\nOnly over verified TLS.\r\n",
               mail_options=["REQUIRETLS"])
print("ok python submitted with REQUIRETLS")
"#;
    assert!(run_python_source(&local, &script, &["submission"]));
    held_for_verified_tls(&local, &remote);
}

#[test]
fn require_tls_never_falls_back_to_unverified_tls_or_cleartext() {
    let Some(swaks) = external_tool("swaks") else {
        return;
    };
    // The remote's certificate is self-signed: without a verified one, carol's mail waits.
    let remote = remote_mx();
    let local = sending_to(&remote, "", "require_tls = true");
    submit(
        &swaks,
        &local,
        "carol@example.net",
        "verified or not at all",
        "Hi.\n",
    );
    held_for_verified_tls(&local, &remote);
    let queue = local.cli(&["queue", "list"], "");
    assert!(
        queue.contains("[delivery] require_tls allows only a verified certificate"),
        "the queue says why: {queue}"
    );
}

#[test]
fn deliveries_are_counted_by_how_tls_went() {
    let Some(swaks) = external_tool("swaks") else {
        return;
    };
    // The remote's certificate is self-signed: the message goes over unverified TLS.
    let remote = remote_mx();
    let mut local = sending_to(&remote, "", "");
    let counts = |stats: &str| {
        stats
            .lines()
            .find(|line| line.starts_with("delivered since the server started:"))
            .map(str::to_string)
    };
    let stats = local.cli(&["queue", "stats"], "");
    assert_eq!(
        counts(&stats).as_deref(),
        Some(
            "delivered since the server started: 0 over TLS verified, 0 over TLS unverified, \
             0 in cleartext"
        ),
        "{stats}"
    );
    submit(&swaks, &local, "carol@example.net", "counted", "Hi.\n");
    carols_message(&remote);
    eventually("the delivery counted", || {
        counts(&local.cli(&["queue", "stats"], "")).is_some_and(|line| {
            line.ends_with(": 0 over TLS verified, 1 over TLS unverified, 0 in cleartext")
        })
    });
    // The counts are the running server's: without it there are none to show.
    local.kill();
    let stats = local.cli(&["queue", "stats"], "");
    assert_eq!(
        counts(&stats).as_deref(),
        Some("delivered since the server started: not available, the server is not running"),
        "{stats}"
    );
}

/// Carol's message was tried, kept back for want of a verified certificate, and nothing
/// reached `remote` (whose certificate is self-signed) over unverified TLS or cleartext.
fn held_for_verified_tls(local: &TestServer, remote: &TestServer) {
    eventually("the attempt recorded", || {
        let queue = local.cli(&["queue", "list"], "");
        queue.contains("carol@example.net  pending, next try in") && queue.contains("TLS with")
    });
    assert!(
        remote.export("carol@example.net").is_empty(),
        "nothing went over unverified TLS or cleartext"
    );
}

/// Starts `local` (stopped or killed) again, delivering to `remote`, which came back on
/// another port.
fn deliver_to(local: &mut TestServer, remote: &TestServer) {
    let config = std::fs::read_to_string(&local.config).expect("read config");
    let old_port = config
        .lines()
        .find_map(|l| l.strip_prefix("remote_port = "))
        .expect("remote_port")
        .to_string();
    let config = config.replace(
        &format!("remote_port = {old_port}"),
        &format!("remote_port = {}", remote.port("smtp")),
    );
    std::fs::write(&local.config, config).expect("write config");
    local.restart();
}

#[test]
fn queued_mail_survives_sigkill_and_goes_out_once() {
    let Some(swaks) = external_tool("swaks") else {
        return;
    };
    let mut remote = remote_mx();
    let mut local = sending_to(&remote, "", "");
    // The remote is down: the message is accepted, queued, tried and deferred.
    remote.kill();
    submit(
        &swaks,
        &local,
        "carol@example.net",
        "after a crash",
        "Kept.\n",
    );
    eventually("a failed first attempt", || {
        local
            .cli(&["queue", "list"], "")
            .contains("carol@example.net  pending, next try in")
    });
    // Postern dies without warning; the remote comes back on another port.
    local.kill();
    remote.restart();
    deliver_to(&mut local, &remote);
    assert!(
        local.cli(&["queue", "list"], "").ends_with("1 queued\n"),
        "the queue survived"
    );
    local.cli(&["queue", "retry-all"], "");
    eventually("the queue emptied", || {
        local.cli(&["queue", "list"], "").ends_with("0 queued\n")
    });
    let carol = remote.export("carol@example.net");
    assert_eq!(carol.len(), 1, "delivered exactly once");
    assert!(String::from_utf8_lossy(&carol[0].1).contains("Subject: after a crash\r\n"));
}

/// Python's http.server over TLS, serving `dir`; killed when dropped.
struct PolicyServer {
    child: std::process::Child,
    port: u16,
}

impl PolicyServer {
    fn start(python: &Path, dir: &Path, cert: &Path, key: &Path) -> PolicyServer {
        let script = r#"
import http.server, os, ssl, sys
os.chdir(sys.argv[1])
class Handler(http.server.SimpleHTTPRequestHandler):
    def guess_type(self, path):
        return "text/plain"
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2], sys.argv[3])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;
        let mut child = Command::new(python)
            .args(["-c", script])
            .args([dir, cert, key])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the policy server");
        let mut line = String::new();
        use std::io::BufRead as _;
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the policy server's port");
        let port = line.trim().parse().expect("a port");
        PolicyServer { child, port }
    }
}

impl Drop for PolicyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A policy host for example.net serving `policy`, with a test CA that `ca_file` trusts,
/// and our server delivering to `remote` under it.
struct UnderPolicy {
    local: TestServer,
    _server: PolicyServer,
    _dir: tempfile::TempDir,
}

fn under_policy(python: &Path, remote: &TestServer, policy: &str) -> UnderPolicy {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Postern MTA-STS test CA");
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(["mta-sts.example.net".to_string()])
        .expect("params")
        .signed_by(&key, &ca)
        .expect("certificate");
    let (ca_file, cert_file, key_file) = (
        dir.path().join("ca.pem"),
        dir.path().join("cert.pem"),
        dir.path().join("key.pem"),
    );
    std::fs::write(&ca_file, ca.pem()).expect("write");
    std::fs::write(&cert_file, cert.pem()).expect("write");
    std::fs::write(&key_file, key.serialize_pem()).expect("write");
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join(".well-known")).expect("mkdir");
    std::fs::write(site.join(".well-known/mta-sts.txt"), policy).expect("write policy");
    let server = PolicyServer::start(python, &site, &cert_file, &key_file);
    let local = TestServer::start(&format!(
        r#"
[dns]
nameservers = []
[dns.static]
"example.net" = {{ mx = ["mx.example.net"] }}
"mx.example.net" = {{ a = ["127.0.0.1"] }}
"_mta-sts.example.net" = {{ txt = ["v=STSv1; id=20261205"] }}
"mta-sts.example.net" = {{ a = ["127.0.0.1"] }}
[delivery]
remote_port = {}
mta_sts_port = {}
ca_file = "{}"
"#,
        remote.port("smtp"),
        server.port,
        ca_file.display()
    ));
    local.add_test_users();
    UnderPolicy {
        local,
        _server: server,
        _dir: dir,
    }
}

#[test]
fn an_enforced_mta_sts_policy_keeps_mail_off_unverified_tls() {
    let (Some(swaks), Some(python)) = (external_tool("swaks"), external_tool("python3")) else {
        return;
    };
    // The remote's certificate is self-signed: under the policy, it cannot be used.
    let remote = remote_mx();
    let policy = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.net\r\nmax_age: 86400\r\n";
    let under = under_policy(&python, &remote, policy);
    let local = &under.local;
    submit(
        &swaks,
        local,
        "carol@example.net",
        "under a policy",
        "Hi.\n",
    );
    held_for_verified_tls(local, &remote);
}

#[test]
fn a_testing_mta_sts_policy_only_reports() {
    let (Some(swaks), Some(python)) = (external_tool("swaks"), external_tool("python3")) else {
        return;
    };
    let remote = remote_mx();
    let policy = "version: STSv1\r\nmode: testing\r\nmx: mx.example.net\r\nmax_age: 86400\r\n";
    let under = under_policy(&python, &remote, policy);
    submit(
        &swaks,
        &under.local,
        "carol@example.net",
        "testing",
        "Hi.\n",
    );
    let message = carols_message(&remote);
    assert!(message.contains("Subject: testing\r\n"), "{message}");
}

/// A `redis-server` on a loopback port of its own that keeps nothing on disk; stopped when
/// dropped.
struct Redis {
    child: std::process::Child,
    url: String,
}

impl Redis {
    fn start() -> Option<Redis> {
        let server = external_tool("redis-server")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(server)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start redis-server");
        let redis = Redis {
            child,
            url: format!("redis://127.0.0.1:{port}/"),
        };
        eventually("redis-server listening", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Some(redis)
    }

    /// A node delivering to `remote` from the queue in this Redis.
    fn node(&self, name: &str, remote: &TestServer) -> TestServer {
        let queue = format!(
            "[queue]\nbackend = \"redis\"\nredis_url = \"{}\"\nnode = \"{name}\"\n",
            self.url
        );
        sending_to(remote, "", &queue)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many of carol's messages at `remote` have each subject.
fn subjects_at(remote: &TestServer) -> std::collections::BTreeMap<String, usize> {
    let mut subjects = std::collections::BTreeMap::new();
    for (_, message) in remote.export("carol@example.net") {
        let text = String::from_utf8_lossy(&message).into_owned();
        let subject = text
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_string();
        *subjects.entry(subject).or_insert(0) += 1;
    }
    subjects
}

#[test]
fn nodes_sharing_a_redis_queue_deliver_each_message_once() {
    let (Some(swaks), Some(redis)) = (external_tool("swaks"), Redis::start()) else {
        return;
    };
    let mut remote = remote_mx();
    let mut a = redis.node("a", &remote);
    let mut b = redis.node("b", &remote);

    // The remote is down. A accepts three messages; they go to the shared queue, are tried
    // and deferred, and B sees them.
    remote.kill();
    for n in 0..3 {
        submit(
            &swaks,
            &a,
            "carol@example.net",
            &format!("from a {n}"),
            "Hi.\n",
        );
    }
    eventually("three deferred messages in the shared queue", || {
        let queue = b.cli(&["queue", "list"], "");
        queue.ends_with("3 queued\n") && queue.matches("pending, next try in").count() == 3
    });

    // A dies. The remote comes back; B delivers what A accepted.
    a.kill();
    remote.restart();
    b.stop();
    deliver_to(&mut b, &remote);
    b.cli(&["queue", "retry-all"], "");
    eventually("b emptied the shared queue", || {
        b.cli(&["queue", "list"], "").ends_with("0 queued\n")
    });
    let delivered = subjects_at(&remote);
    for n in 0..3 {
        assert_eq!(
            delivered.get(&format!("from a {n}")),
            Some(&1),
            "{delivered:?}"
        );
    }

    // Both nodes up, both taking mail: each message goes out once, whoever delivers it.
    deliver_to(&mut a, &remote);
    for n in 0..10 {
        submit(
            &swaks,
            &a,
            "carol@example.net",
            &format!("both a {n}"),
            "Hi.\n",
        );
        submit(
            &swaks,
            &b,
            "carol@example.net",
            &format!("both b {n}"),
            "Hi.\n",
        );
    }
    eventually("all 23 messages at the remote", || {
        remote.export("carol@example.net").len() >= 23
    });
    eventually("the shared queue empty", || {
        a.cli(&["queue", "list"], "").ends_with("0 queued\n")
    });
    let delivered = subjects_at(&remote);
    assert_eq!(delivered.len(), 23, "{delivered:?}");
    assert!(delivered.values().all(|&count| count == 1), "{delivered:?}");
}

/// The remote's self-signed certificate (made on its first start), DER.
fn remote_certificate(remote: &TestServer) -> Vec<u8> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let path = remote.dir.path().join("data/tls/self-signed.crt");
    CertificateDer::from_pem_file(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_vec()
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// `3 1 1`: the SHA-256 digest of the certificate's SubjectPublicKeyInfo, as most DANE
/// deployments publish it.
fn dane_ee(cert: &[u8]) -> String {
    use sha2::Digest;
    let der = rustls_pki_types::CertificateDer::from(cert);
    let spki = webpki::EndEntityCert::try_from(&der)
        .expect("a certificate webpki reads")
        .subject_public_key_info();
    format!("3 1 1 {}", hex(&sha2::Sha256::digest(spki.as_ref())))
}

#[test]
fn dane_lets_mail_reach_an_mx_with_a_self_signed_certificate() {
    let Some(swaks) = external_tool("swaks") else {
        return;
    };
    let remote = remote_mx();
    let local = sending_with_tlsa(&remote, &[dane_ee(&remote_certificate(&remote))], "", "");
    submit(&swaks, &local, "carol@example.net", "pinned", "Over DANE.");
    let message = carols_message(&remote);
    assert!(message.contains("Over DANE."), "{message}");
    assert!(message.contains("with ESMTPS"), "went over TLS: {message}");
}

#[test]
fn dane_ta_anchors_the_certificate_it_names() {
    let Some(swaks) = external_tool("swaks") else {
        return;
    };
    // The whole self-signed certificate as a DANE-TA trust anchor: the chain is checked
    // against it, with the MX host's name, which the remote's certificate carries.
    let remote = remote_mx();
    let anchor = format!("2 0 0 {}", hex(&remote_certificate(&remote)));
    let local = sending_with_tlsa(&remote, &[anchor], "", "");
    submit(
        &swaks,
        &local,
        "carol@example.net",
        "anchored",
        "Over DANE-TA.",
    );
    let message = carols_message(&remote);
    assert!(message.contains("Over DANE-TA."), "{message}");
}

#[test]
fn a_certificate_that_does_not_match_its_tlsa_records_holds_the_mail() {
    let Some(swaks) = external_tool("swaks") else {
        return;
    };
    let remote = remote_mx();
    let wrong = format!("3 1 1 {}", hex(&[0x5a; 32]));
    // A PKIX-EE record is unusable for SMTP and does not stand in for the DANE-EE one.
    let pkix = format!("1 1 1 {}", &dane_ee(&remote_certificate(&remote))[6..]);
    let local = sending_with_tlsa(&remote, &[wrong, pkix], "", "");
    submit(
        &swaks,
        &local,
        "carol@example.net",
        "pinned",
        "Never delivered.",
    );
    eventually("the deferral recorded", || {
        let queue = local.cli(&["queue", "list"], "");
        queue.contains("carol@example.net  pending, next try in")
            && queue.contains(
                "certificate of mx.example.net[127.0.0.1] does not match its TLSA records",
            )
    });
    assert!(
        remote.export("carol@example.net").is_empty(),
        "nothing went to a server whose certificate does not match"
    );
}

#[test]
fn unusable_tlsa_records_still_require_tls() {
    let Some(swaks) = external_tool("swaks") else {
        return;
    };
    // Only a PKIX-EE record: no way to authenticate the server, but TLS is mandatory, and
    // the remote offers it, so the mail goes over unauthenticated TLS (RFC 7672 2.2).
    let remote = remote_mx();
    let pkix = format!("1 1 1 {}", &dane_ee(&remote_certificate(&remote))[6..]);
    let local = sending_with_tlsa(&remote, &[pkix], "", "");
    submit(
        &swaks,
        &local,
        "carol@example.net",
        "encrypted",
        "Over TLS.",
    );
    let message = carols_message(&remote);
    assert!(message.contains("with ESMTPS"), "went over TLS: {message}");
}
