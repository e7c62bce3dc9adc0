//! `postern backup` while mail arrives, and `postern restore` into a new data directory:
//! every message acknowledged before the backup began is in the restored server.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Smtp, TestServer};

/// Most messages the load sends; it stops earlier when told.
const LOAD: usize = 2_000;

/// Sends numbered messages to alice on one connection until `stop`, counting the ones
/// acknowledged with 250 in `acked`.
fn load(port: u16, acked: Arc<AtomicUsize>, stop: Arc<AtomicBool>) {
    let mut smtp = Smtp::connect(port);
    assert!(smtp.reply().starts_with("220"));
    smtp.send(b"EHLO load.test\r\n");
    assert!(smtp.reply().starts_with("250"));
    for i in 0..LOAD {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        smtp.send(b"MAIL FROM:<load@load.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
        for wanted in ["250", "250", "354"] {
            let line = smtp.reply();
            assert!(line.starts_with(wanted), "{line}");
        }
        smtp.send(format!("Subject: load {i}\r\n\r\nmessage {i}\r\n.\r\n").as_bytes());
        let line = smtp.reply();
        assert!(line.starts_with("250"), "{line}");
        acked.store(i + 1, Ordering::SeqCst);
    }
    smtp.send(b"QUIT\r\n");
}

#[test]
fn a_backup_taken_under_load_restores_every_acknowledged_message() {
    let server = TestServer::start("[greylisting]\nenabled = false\n");
    server.add_test_users();
    let (acked, stop) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let sender = {
        let (port, acked, stop) = (server.port("smtp"), acked.clone(), stop.clone());
        std::thread::spawn(move || load(port, acked, stop))
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.load(Ordering::SeqCst) < 50 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = acked.load(Ordering::SeqCst);
    assert!(before >= 50, "the load did not get going");
    let dest = server.dir.path().join("backup");
    let said = server.cli(&["backup", dest.to_str().expect("utf-8")], "");
    stop.store(true, Ordering::SeqCst);
    sender.join().expect("the load ends");
    assert!(said.contains("each body read back and checked"), "{said}");
    assert!(dest.join("srs.key").exists(), "the SRS key goes with it");

    let mut restored = TestServer::configure("");
    let out = restored.cli(&["restore", dest.to_str().expect("utf-8")], "");
    assert!(out.contains("restored"), "{out}");
    // Into a data directory that holds a store: refused.
    let again = restored.cli_output(&["restore", dest.to_str().expect("utf-8")], "");
    assert!(String::from_utf8_lossy(&again.stderr).contains("holds a store already"));
    restored.restart();
    let mail = restored.export("alice@example.test");
    let subjects: std::collections::HashSet<String> = mail
        .iter()
        .filter_map(|(_, m)| {
            let text = String::from_utf8_lossy(m);
            text.lines()
                .find_map(|l| l.strip_prefix("Subject: load ").map(str::to_string))
        })
        .collect();
    for i in 0..before {
        assert!(
            subjects.contains(&i.to_string()),
            "message {i} of {before} is missing"
        );
    }
    // The restored server's accounts log in as before.
    let users = restored.cli(&["user", "list"], "");
    assert!(users.contains("bob@example.test"), "{users}");
}
