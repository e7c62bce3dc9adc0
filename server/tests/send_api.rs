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
