//! What an operator reads: one line per SMTP transaction, per login and per management
//! change, with addresses (not internal ids), as text or JSON.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use common::TestServer;

/// Sends `lines` one at a time, reading one reply line after each (and the greeting).
fn converse(port: u16, lines: &[&str]) -> Vec<String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    let mut read = || {
        let mut line = String::new();
        reader.read_line(&mut line).expect("reply");
        line
    };
    let mut replies = vec![read()];
    for line in lines {
        writer.write_all(line.as_bytes()).expect("send");
        // Multi-line replies (EHLO) end with a line whose code is followed by a space.
        loop {
            let reply = read();
            let last = reply.as_bytes().get(3) != Some(&b'-');
            replies.push(reply);
            if last {
                break;
            }
        }
    }
    replies
}

#[test]
fn transactions_logins_and_changes_are_logged_with_addresses() {
    let mut server = TestServer::configure("[imap]\nauth_without_tls = true\n");
    let log = server.dir.path().join("server.log");
    server.log = Some(log.clone());
    server.restart();
    server.add_test_users();
    let replies = converse(
        server.port("smtp"),
        &[
            "EHLO client.example.net\r\n",
            "MAIL FROM:<carol@example.net>\r\n",
            "RCPT TO:<alice@example.test>\r\n",
            "DATA\r\n",
            "Subject: logged\r\n\r\nhello\r\n.\r\n",
            "QUIT\r\n",
        ],
    );
    assert!(
        replies.iter().any(|r| r.starts_with("250 2.0.0")),
        "{replies:?}"
    );
    let replies = converse(
        server.port("imap"),
        &[
            "a LOGIN alice@example.test alice-secret\r\n",
            "b LOGOUT\r\n",
        ],
    );
    assert!(replies.iter().any(|r| r.starts_with("a OK")), "{replies:?}");
    server.stop();

    let text = std::fs::read_to_string(&log).expect("the log");
    let line = |needle: &str| {
        text.lines()
            .find(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in\n{text}"))
            .to_string()
    };
    let received = line("message received");
    for field in [
        "from=\"carol@example.net\"",
        "to=alice@example.test",
        "reply=250",
        "peer=127.0.0.1",
    ] {
        assert!(received.contains(field), "{field} in {received}");
    }
    let login = line("logged in");
    assert!(
        login.contains("user=alice@example.test") && login.contains("protocol=\"imap\""),
        "{login}"
    );
    let change = line("change=\"user add bob@example.test\"");
    assert!(change.contains("changed with the command line"), "{change}");
    // No colour codes in a file, and no internal ids: every line names addresses.
    assert!(!text.contains('\u{1b}'));

    // The same events as JSON fields.
    let out = server.cli_output(
        &[
            "--log-format",
            "json",
            "alias",
            "add",
            "info@example.test",
            "alice@example.test",
        ],
        "",
    );
    let json = String::from_utf8_lossy(&out.stderr);
    let event = json
        .lines()
        .find(|line| line.contains("changed with the command line"))
        .unwrap_or_else(|| panic!("{json}"));
    assert!(
        event.starts_with('{')
            && event.contains("\"change\":\"alias add info@example.test alice@example.test\""),
        "{event}"
    );
}
