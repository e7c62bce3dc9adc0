//! Nothing acknowledged is lost: many connections send mail, the server is killed with
//! SIGKILL mid-stream, and after a restart every message that got a 250 is there, byte for
//! byte, exactly once. A clean stop leaves a database the next start opens without repair.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestServer;

const CONNECTIONS: usize = 8;
/// Upper bound per connection, so the load always ends.
const MAX_PER_CONNECTION: usize = 400;
/// Kill once this many messages were acknowledged (or after the time limit).
const KILL_AFTER_ACKS: usize = 150;

fn message(conn: usize, n: usize) -> Vec<u8> {
    let mut m = format!(
        "From: load@remote.test\r\nTo: alice@example.test\r\nSubject: kill-test {conn}-{n}\r\nMessage-ID: <{conn}-{n}@kill.test>\r\n\r\n"
    )
    .into_bytes();
    for line in 0..(n % 7) * 20 {
        m.extend_from_slice(format!("line {line} of message {conn}-{n}\r\n").as_bytes());
    }
    m
}

/// Sends messages until the server dies; returns the ones it acknowledged with 250.
fn sender(port: u16, conn: usize, stop: &AtomicBool, acked_count: &AtomicUsize) -> Vec<Vec<u8>> {
    let mut acked = Vec::new();
    let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return acked;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    let reply = |reader: &mut BufReader<TcpStream>| -> Option<String> {
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            if line.as_bytes().get(3) != Some(&b'-') {
                return Some(line);
            }
        }
    };
    reply(&mut reader);
    if writer.write_all(b"EHLO load.test\r\n").is_err() || reply(&mut reader).is_none() {
        return acked;
    }
    for n in 0..MAX_PER_CONNECTION {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let body = message(conn, n);
        let mut command =
            b"MAIL FROM:<load@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n".to_vec();
        if writer.write_all(&command).is_err() {
            break;
        }
        let ok = (0..3)
            .all(|_| reply(&mut reader).is_some_and(|r| r.starts_with('2') || r.starts_with('3')));
        if !ok {
            break;
        }
        command.clear();
        command.extend_from_slice(&body);
        command.extend_from_slice(b".\r\n");
        if writer.write_all(&command).is_err() {
            break;
        }
        match reply(&mut reader) {
            Some(r) if r.starts_with("250") => {
                acked.push(body);
                acked_count.fetch_add(1, Ordering::Relaxed);
            }
            _ => break,
        }
    }
    acked
}

#[test]
fn acknowledged_mail_survives_sigkill() {
    let mut server = TestServer::start("");
    server.add_test_users();
    let port = server.port("smtp");
    let stop = Arc::new(AtomicBool::new(false));
    let acked_count = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..CONNECTIONS)
        .map(|conn| {
            let (stop, acked_count, acked) = (stop.clone(), acked_count.clone(), acked.clone());
            std::thread::spawn(move || {
                let mine = sender(port, conn, &stop, &acked_count);
                acked.lock().expect("lock").extend(mine);
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked_count.load(Ordering::Relaxed) < KILL_AFTER_ACKS && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill();
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().expect("sender thread");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() >= 10,
        "too few messages were acknowledged before the kill: {}",
        acked.len()
    );

    server.restart();
    let stored = server.export("alice@example.test");
    for body in &acked {
        let copies = stored.iter().filter(|(_, m)| m.ends_with(body)).count();
        let subject = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
        assert_eq!(
            copies, 1,
            "acknowledged message stored {copies} times: {subject}"
        );
    }
    // Whatever else survived (accepted but not yet acknowledged) is complete and unique.
    let mut ids: Vec<&[u8]> = stored
        .iter()
        .map(|(_, m)| {
            let start = m
                .windows(12)
                .position(|w| w == b"Message-ID: ")
                .expect("message id");
            let len = m[start..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("header end");
            &m[start..start + len]
        })
        .collect();
    let total = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "a message was stored twice");
    println!(
        "{} acknowledged, {} stored after SIGKILL and restart",
        acked.len(),
        total
    );
}

/// What `postern domain list`, opening the database directly, says on standard error.
fn open_log(server: &TestServer) -> String {
    let out = server.cli_output(&["domain", "list"], "");
    assert!(out.status.success(), "the database opens");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_clean_stop_leaves_nothing_to_repair() {
    let mut server = TestServer::start("");
    server.add_test_users();
    // A client logged in and idle when the stop comes.
    let mut imap = TcpStream::connect(("127.0.0.1", server.port("imap"))).expect("connect");
    let mut lines = BufReader::new(imap.try_clone().expect("clone"));
    let mut line = String::new();
    lines.read_line(&mut line).expect("greeting");
    imap.write_all(b"a LOGIN alice@example.test alice-secret\r\nb SELECT INBOX\r\n")
        .expect("write");
    while !line.starts_with("b ") {
        line.clear();
        assert!(
            lines.read_line(&mut line).expect("read") > 0,
            "SELECT answered"
        );
    }

    assert!(server.stop().success(), "a clean stop");
    let after_stop = open_log(&server);
    assert!(!after_stop.contains("repairing"), "{after_stop}");

    // The same check sees the difference a kill makes.
    server.restart();
    server.kill();
    let after_kill = open_log(&server);
    assert!(
        after_kill.contains("not closed cleanly; repairing"),
        "{after_kill}"
    );
}
