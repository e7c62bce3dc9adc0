//! Outbound delivery end to end: a user submits with swaks, Postern queues the outside
//! recipients, finds their mail exchangers in `[dns.static]`, and hands the message to a
//! second Postern on loopback, which plays the remote domain's MX.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{TestServer, external_tool, run};

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

#[test]
fn submitted_mail_reaches_the_remote_domain() {
    let Some(swaks) = external_tool("swaks") else {
        return;
    };
    let remote = TestServer::start("hostname = \"mx.example.net\"\n");
    remote.cli(&["domain", "add", "example.net"], "");
    remote.cli(
        &["user", "add", "carol@example.net", "--password-stdin"],
        "carol-secret\n",
    );
    // `down.example`'s exchanger is an address where nothing listens; `nomail.example`
    // has a null MX; `ghost.example` does not exist.
    let local = TestServer::start(&format!(
        r#"
[dns]
nameservers = []
[dns.static]
"example.net" = {{ mx = ["mx.example.net"] }}
"mx.example.net" = {{ a = ["127.0.0.1"] }}
"down.example" = {{ mx = ["mx.down.example"] }}
"mx.down.example" = {{ a = ["127.0.0.2"] }}
"nomail.example" = {{ mx = ["."] }}
[delivery]
remote_port = {}
connect_timeout_secs = 5
"#,
        remote.port("smtp")
    ));
    local.add_test_users();

    let recipients = "carol@example.net,dave@example.net,bob@example.test,\
                      yan@down.example,xu@nomail.example";
    run(Command::new(&swaks)
        .args(["--server", "127.0.0.1", "--port"])
        .arg(local.port("submission").to_string())
        .args(["--tls", "--auth", "PLAIN"])
        .args(["--auth-user", "alice@example.test"])
        .args(["--auth-password", "alice-secret"])
        .args(["--from", "alice@example.test", "--to", recipients])
        .args(["--header", "Subject: to the world"])
        .args(["--body", "Hello from Postern.\n.dot-led line\n"]));

    // The local recipient has it at once.
    let bob = local.export("bob@example.test");
    assert_eq!(bob.len(), 1);

    eventually("carol's copy at the remote server", || {
        !remote.export("carol@example.net").is_empty()
    });
    let carol = remote.export("carol@example.net");
    assert_eq!(carol.len(), 1);
    let message = String::from_utf8_lossy(&carol[0].1);
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
