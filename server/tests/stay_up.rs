//! The server stays up under what a hostile or unlucky peer does: clients that vanish in
//! the middle of a large FETCH leave no thread or socket behind; floods of connections,
//! from everywhere or from one address, are told to try later.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Smtp, TestServer};

/// Clients that disconnect mid-FETCH.
const DISCONNECTS: usize = 1_000;
/// Threads driving them at once.
const DRIVERS: usize = 8;
/// Larger than the socket buffers on both ends, so every FETCH answer is cut short.
const MESSAGE_SIZE: usize = 8 * 1024 * 1024;

/// A plain-text IMAP connection that speaks just enough for these tests.
struct Imap {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    tag: u32,
}

impl Imap {
    fn login(port: u16) -> Imap {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let mut imap = Imap {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
            tag: 0,
        };
        let mut greeting = String::new();
        imap.reader.read_line(&mut greeting).expect("greeting");
        assert!(greeting.starts_with("* OK"), "{greeting}");
        imap.command("LOGIN alice@example.test alice-secret");
        imap.command("SELECT INBOX");
        imap
    }

    /// Sends a command and returns its tagged completion, which must be OK.
    fn command(&mut self, command: &str) -> String {
        let tag = self.send(command);
        self.completion(&tag)
    }

    fn send(&mut self, command: &str) -> String {
        self.tag += 1;
        let tag = format!("a{}", self.tag);
        self.writer
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .expect("send command");
        tag
    }

    /// Reads lines (and the literals they announce) up to the completion of `tag`.
    fn completion(&mut self, tag: &str) -> String {
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).expect("read response");
            assert!(n > 0, "server closed the connection");
            if let Some(len) = literal_len(&line) {
                let mut literal = vec![0; len];
                self.reader.read_exact(&mut literal).expect("read literal");
                continue;
            }
            if let Some(rest) = line.strip_prefix(tag) {
                assert!(rest.starts_with(" OK"), "{tag}: {line}");
                return line;
            }
        }
    }
}

/// The length of the literal a response line ends with (`{n}`).
fn literal_len(line: &str) -> Option<usize> {
    let open = line.trim_end().strip_suffix('}')?.rfind('{')?;
    line.trim_end()[open + 1..line.trim_end().len() - 1]
        .parse()
        .ok()
}

fn large_message() -> Vec<u8> {
    let mut message =
        b"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: large\r\n\r\n".to_vec();
    let line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n";
    while message.len() + line.len() <= MESSAGE_SIZE {
        message.extend_from_slice(line);
    }
    message
}

/// Threads and socket descriptors of a process, from /proc.
fn threads_and_sockets(pid: u32) -> (usize, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let threads = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("thread count");
    let sockets = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd dir")
        .flatten()
        .filter(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        })
        .count();
    (threads, sockets)
}

fn thread_names(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("task dir")
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
        .map(|name| name.trim().to_string())
        .collect()
}

#[test]
fn clients_leaving_mid_fetch_leave_nothing_behind() {
    let server = TestServer::start("[imap]\nauth_without_tls = true\n");
    server.add_test_users();
    let port = server.port("imap");
    let message = large_message();
    {
        let mut imap = Imap::login(port);
        let tag = imap.send(&format!("APPEND INBOX {{{}+}}", message.len()));
        imap.writer.write_all(&message).expect("literal");
        imap.writer.write_all(b"\r\n").expect("end");
        imap.completion(&tag);
        imap.command("LOGOUT");
    }
    let pid = server.pid();
    let (idle_threads, idle_sockets) = threads_and_sockets(pid);

    std::thread::scope(|scope| {
        for _ in 0..DRIVERS {
            scope.spawn(|| {
                for _ in 0..DISCONNECTS / DRIVERS {
                    let mut imap = Imap::login(port);
                    imap.send("FETCH 1 BODY.PEEK[]");
                    let mut start = [0u8; 4096];
                    imap.reader.read_exact(&mut start).expect("FETCH starts");
                    // Dropped with unread data: the kernel resets the connection, as when
                    // a phone loses its signal.
                }
            });
        }
    });

    // Sockets go back to idle, and threads to at most the pool the test's concurrency
    // needed: the blocking pools keep idle threads (smol's for good, tokio's for 10 s), but
    // a leak would grow with the number of disconnects.
    let thread_bound = idle_threads + DRIVERS + 1;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut now = threads_and_sockets(pid);
    while (now.0 > thread_bound || now.1 > idle_sockets) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        now = threads_and_sockets(pid);
    }
    println!(
        "after {DISCONNECTS} mid-FETCH disconnects: threads {} (idle {idle_threads}), \
         sockets {} (idle {idle_sockets})",
        now.0, now.1
    );
    assert!(
        now.0 <= thread_bound,
        "threads left behind: {} now, {idle_threads} idle: {:?}",
        now.0,
        thread_names(pid)
    );
    assert!(
        now.1 <= idle_sockets,
        "sockets left behind: {} now, {idle_sockets} idle",
        now.1
    );

    // A new client is served, the whole message included.
    let mut imap = Imap::login(port);
    let tag = imap.send("FETCH 1 BODY.PEEK[]");
    let mut header = String::new();
    imap.reader.read_line(&mut header).expect("FETCH");
    assert_eq!(literal_len(&header), Some(message.len()), "{header}");
    let mut body = vec![0; message.len()];
    imap.reader.read_exact(&mut body).expect("body");
    assert!(body == message, "the message came back changed");
    imap.completion(&tag);
}

/// Reads the greeting line of a fresh connection.
fn greeting(stream: &TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut line = String::new();
    let _ = BufReader::new(stream).read_line(&mut line);
    line
}

/// The soft and hard `Max open files` of a process, from /proc.
fn open_files_limit(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("open files line");
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

#[test]
fn a_connection_flood_is_told_to_try_later_and_the_server_keeps_working() {
    // Hard limit 200: room for 119 connections (64 reserved, one in eight of the rest kept
    // for files opened while a message moves).
    let mut server = TestServer::configure("");
    server.nofile = Some((64, 200));
    server.restart();
    server.add_test_users();
    let pid = server.pid();
    assert_eq!(
        open_files_limit(pid),
        (200, 200),
        "the soft limit is raised to the hard one"
    );
    let services = ["smtp", "imap", "pop3"];
    let mut held = Vec::new();
    let (mut served, mut refused) = (0, Vec::new());
    for i in 0..180 {
        let stream = TcpStream::connect(server.ports[services[i % 3]]).expect("the kernel accepts");
        let line = greeting(&stream);
        if line.starts_with("220") || line.starts_with("* OK") || line.starts_with("+OK") {
            served += 1;
        } else {
            refused.push(line);
        }
        held.push(stream);
    }
    println!(
        "180 connections held: {served} served, {} refused",
        refused.len()
    );
    assert_eq!(served, 119, "connections up to the limit are served");
    for line in &refused {
        assert!(
            line.starts_with("421 4.3.2 ")
                || line.starts_with("* BYE [UNAVAILABLE] ")
                || line.starts_with("-ERR [SYS/TEMP] "),
            "refused with the protocol's try-later: {line:?}"
        );
    }
    // The store and the control socket still have descriptors while the flood holds on.
    let users = server.cli(&["user", "list"], "");
    assert!(users.contains("alice@example.test"), "{users}");
    drop(held);

    // Places come back as connections close: a new client is served.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stream = TcpStream::connect(server.ports["smtp"]).expect("connect");
        let line = greeting(&stream);
        if line.starts_with("220") {
            break;
        }
        assert!(Instant::now() < deadline, "never served again: {line}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn one_address_gets_its_share_of_connections_and_others_are_still_served() {
    let server = TestServer::start("[limits]\nmax_connections_per_ip = 5");
    let mut held = Vec::new();
    for _ in 0..5 {
        let stream = TcpStream::connect(server.ports["imap"]).expect("connect");
        assert!(greeting(&stream).starts_with("* OK"), "within the share");
        held.push(stream);
    }
    for _ in 0..20 {
        let stream = TcpStream::connect(server.ports["imap"]).expect("the kernel accepts");
        let line = greeting(&stream);
        assert!(line.starts_with("* BYE [UNAVAILABLE] "), "{line:?}");
    }
    // Each listener counts on its own: the same address still reaches SMTP.
    let smtp = TcpStream::connect(server.ports["smtp"]).expect("connect");
    assert!(greeting(&smtp).starts_with("220 "));
    // Another address is served on the full listener (all of 127/8 is loopback).
    let served = common::run_python_source(
        &server,
        "import socket, sys\n\
         s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), 30, ('127.0.0.2', 0))\n\
         line = s.makefile().readline()\n\
         assert line.startswith('* OK'), line\n\
         print('another address is served:', line.strip())\n",
        &["imap"],
    );
    if !served {
        return;
    }
    // A place given back is taken again.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stream = TcpStream::connect(server.ports["imap"]).expect("connect");
        if greeting(&stream).starts_with("* OK") {
            break;
        }
        assert!(Instant::now() < deadline, "the freed place never came back");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn postmaster_is_accepted_for_every_local_domain() {
    let mut server = TestServer::start("");
    server.add_test_users();
    let Some(swaks) = common::external_tool("swaks") else {
        return;
    };
    let send = |port: u16, to: &str| {
        common::run(std::process::Command::new(&swaks).args([
            "--server",
            &format!("127.0.0.1:{port}"),
            "--from",
            "someone@remote.test",
            "--to",
            to,
            "--header",
            "Subject: for the postmaster",
        ]))
    };
    // Without configuration, the first account created (alice) receives it.
    send(server.port("smtp"), "postmaster@example.test");
    send(server.port("smtp"), "postmaster");
    assert_eq!(server.export("alice@example.test").len(), 2);

    // A configured postmaster that is not an account stops the start with a clear message.
    server.stop();
    let text = std::fs::read_to_string(&server.config).expect("config");
    let with = |postmaster: &str| format!("postmaster = \"{postmaster}\"\n{text}");
    std::fs::write(&server.config, with("nobody@example.test")).expect("config");
    let out = server.cli_output(&["serve"], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started with a missing postmaster");
    assert!(
        stderr.contains("postmaster") && stderr.contains("nobody@example.test"),
        "{stderr}"
    );

    std::fs::write(&server.config, with("bob@example.test")).expect("config");
    server.restart();
    send(server.port("smtp"), "PostMaster@Example.Test");
    assert_eq!(server.export("bob@example.test").len(), 1);
}

/// Sends one message from bob to alice over the MX port; returns the reply to the end of
/// DATA (`None` if the transaction was refused before).
fn send_mail(port: u16, body: &[u8]) -> Option<String> {
    let mut smtp = Smtp::connect(port);
    assert!(smtp.reply().starts_with("220"));
    for (command, expected) in [
        (&b"HELO client.test\r\n"[..], "250"),
        (b"MAIL FROM:<bob@example.test>\r\n", "250"),
        (b"RCPT TO:<alice@example.test>\r\n", "250"),
        (b"DATA\r\n", "354"),
    ] {
        smtp.send(command);
        if !smtp.reply().starts_with(expected) {
            return None;
        }
    }
    smtp.send(body);
    smtp.send(b"\r\n.\r\n");
    Some(smtp.reply())
}

/// A small tmpfs mounted at a path for the life of the value.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    /// `None` (with a visible note) where mounting is not allowed; CI runs as root.
    fn mount(at: &std::path::Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).expect("mount point");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            common::unavailable(
                "CI runs as root and must be able to mount a tmpfs",
                "cannot mount a tmpfs here (needs root)",
            );
            return None;
        }
        Some(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn a_full_disk_is_refused_with_452_and_recovered_from_without_a_restart() {
    let mut server = TestServer::configure("");
    let data = server.dir.path().join("data");
    let Some(_tmpfs) = Tmpfs::mount(&data, "24m") else {
        return;
    };
    server.restart();
    server.add_test_users();
    let port = server.port("smtp");

    // Fill the disk, leaving the server a little room.
    let filler = data.join("filler");
    let mut file = std::fs::File::create(&filler).expect("filler");
    let block = vec![b'x'; 64 * 1024];
    while file.write_all(&block).is_ok() {}
    drop(file);
    let free = std::fs::metadata(&filler).expect("filler").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .expect("filler")
        .set_len(free.saturating_sub(256 * 1024))
        .expect("shrink filler");

    let mut acknowledged = 0;
    let mut refused = None;
    for n in 0..200 {
        let body = format!(
            "Subject: fill {n}\r\n\r\n{}",
            "0123456789\r\n".repeat(2_000)
        );
        match send_mail(port, body.as_bytes()) {
            Some(reply) if reply.starts_with("250") => acknowledged += 1,
            reply => {
                refused = reply;
                break;
            }
        }
    }
    let refused = refused.expect("the disk filled up");
    // RFC 5321's insufficient storage, RFC 3463's mail system full: temporary.
    assert!(
        refused.starts_with("452 4.3.1"),
        "a full disk is a temporary error: {refused}"
    );

    // Space comes back: the next message is stored without a restart.
    std::fs::remove_file(&filler).expect("free the disk");
    let reply = send_mail(port, b"Subject: after\r\n\r\nThe disk has room again.\r\n");
    assert!(
        reply.as_deref().is_some_and(|r| r.starts_with("250")),
        "{reply:?}"
    );
    let stored = server.export("alice@example.test");
    println!("disk full after {acknowledged} messages ({refused:?}); after freeing: {reply:?}");
    assert_eq!(
        stored.len(),
        acknowledged + 1,
        "every acknowledged message and nothing else"
    );
}

#[test]
fn the_data_directory_is_private_to_the_server_user() {
    use std::os::unix::fs::PermissionsExt;
    let server = TestServer::start("");
    server.add_test_users();
    // Large enough to be stored as a blob file.
    let body = format!("Subject: large\r\n\r\n{}", "0123456789\r\n".repeat(20_000));
    let reply = send_mail(server.port("smtp"), body.as_bytes());
    assert!(reply.as_deref().is_some_and(|r| r.starts_with("250")));

    let mut pending = vec![server.dir.path().join("data")];
    let mut checked = 0;
    while let Some(path) = pending.pop() {
        let meta = std::fs::symlink_metadata(&path).expect("stat");
        let mode = meta.permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is {mode:o}", path.display());
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{} is {mode:o}", path.display());
            pending.extend(
                std::fs::read_dir(&path)
                    .expect("read dir")
                    .map(|e| e.expect("entry").path()),
            );
        }
        checked += 1;
    }
    assert!(checked >= 6, "walked only {checked} entries");
}

/// A MIME bomb: `levels` multiparts, each the only part of the one before.
fn mime_bomb(levels: usize) -> Vec<u8> {
    use std::fmt::Write as _;
    let mut body = String::from(
        "From: bob@example.test\r\nSubject: bomb\r\nContent-Type: multipart/mixed; \
         boundary=\"b0\"\r\n\r\n",
    );
    for i in 0..levels {
        let _ = write!(
            body,
            "--b{i}\r\nContent-Type: multipart/mixed; boundary=\"b{}\"\r\n\r\n",
            i + 1
        );
    }
    let _ = write!(body, "--b{levels}\r\n\r\nleaf\r\n");
    for i in (0..=levels).rev() {
        let _ = write!(body, "--b{i}--\r\n");
    }
    body.into_bytes()
}

/// A memory figure of /proc/PID/status, in KiB.
fn memory_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("status")
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("memory figure")
}

#[test]
fn a_mime_bomb_costs_no_more_than_a_small_multiple_of_its_size() {
    let server = TestServer::start("[imap]\nauth_without_tls = true\n");
    server.add_test_users();
    let bomb = mime_bomb(300_000);
    let reply = send_mail(server.port("smtp"), &bomb);
    assert!(
        reply.as_deref().is_some_and(|r| r.starts_with("250")),
        "{reply:?}"
    );
    let pid = server.pid();
    let before = memory_kib(pid, "VmHWM:");
    let mut imap = Imap::login(server.port("imap"));
    let tag = imap.send("FETCH 1 (BODYSTRUCTURE ENVELOPE)");
    let mut response = String::new();
    imap.reader.read_line(&mut response).expect("FETCH");
    imap.completion(&tag);
    let peak = memory_kib(pid, "VmHWM:");
    let size_kib = bomb.len() as u64 / 1024;
    println!(
        "a {size_kib} KiB bomb of 300,000 nested multiparts: peak RSS {before} -> {peak} KiB \
         on its first FETCH BODYSTRUCTURE"
    );
    assert!(
        response.contains("BODYSTRUCTURE (\"APPLICATION\" \"OCTET-STREAM\""),
        "served as one opaque part: {response}"
    );
    // The message is read once (its size), the parse is bounded by a constant (32 MiB).
    assert!(
        peak - before < 2 * size_kib + 40 * 1024,
        "peak grew by {} KiB for a {size_kib} KiB message",
        peak - before
    );
}

/// A digest that trips an assertion of mail-parser 0.11 in debug builds (the tests'
/// builds); release builds parse it without one.
const PARSER_PANIC: &[u8] = b"Content-Type: multipart/digest; boundary=b\r\n\r\n--b\r\n\r\nCon tent-Type: message/rfc822\r\n\r\n\r\n--b--\r\n";

#[test]
fn mail_that_breaks_the_parser_is_stored_and_served_byte_for_byte() {
    let server = TestServer::start("[imap]\nauth_without_tls = true\n");
    server.add_test_users();
    let reply = send_mail(server.port("smtp"), PARSER_PANIC);
    assert!(
        reply.as_deref().is_some_and(|r| r.starts_with("250")),
        "{reply:?}"
    );
    let mut imap = Imap::login(server.port("imap"));
    let tag = imap.send("FETCH 1 (BODYSTRUCTURE BODY.PEEK[])");
    let mut response = String::new();
    imap.reader.read_line(&mut response).expect("FETCH");
    assert!(response.contains("BODYSTRUCTURE ("), "{response}");
    let len = literal_len(&response).expect("the message as a literal");
    let mut stored = vec![0; len];
    imap.reader.read_exact(&mut stored).expect("message");
    // After the trace fields the server adds, and before the line end SMTP's final dot
    // takes with it.
    assert!(
        stored
            .windows(PARSER_PANIC.len())
            .any(|w| w == PARSER_PANIC),
        "served as delivered: {}",
        String::from_utf8_lossy(&stored)
    );
    imap.completion(&tag);
    // The server is still up for everyone.
    let again = send_mail(
        server.port("smtp"),
        b"Subject: after\r\n\r\nStill here.\r\n",
    );
    assert!(again.as_deref().is_some_and(|r| r.starts_with("250")));
}
