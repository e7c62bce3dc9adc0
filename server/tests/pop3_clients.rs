//! Real POP3 clients we did not write, against the real binary on loopback.

mod common;

use std::process::Command;

use common::{TestServer, external_tool, run, run_python_client, send_with_curl};

#[test]
fn python_poplib() {
    let server = TestServer::start("");
    server.add_test_users();
    run_python_client(&server, "pop3_clients.py", &["smtp", "pop3", "pop3s"]);
}

#[test]
fn curl_pop3() {
    let server = TestServer::start("");
    server.add_test_users();
    let Some(curl) = external_tool("curl") else {
        return;
    };
    send_with_curl(&server, &curl);
    let user = ["--user", "alice@example.test:alice-secret"];
    let listing = run(Command::new(&curl)
        .args(["--silent", "--show-error", "--insecure", "--ssl-reqd"])
        .args(user)
        .arg(format!("pop3://127.0.0.1:{}/", server.port("pop3"))));
    assert!(listing.starts_with("1 "), "{listing}");
    let message = run(Command::new(&curl)
        .args(["--silent", "--show-error", "--insecure"])
        .args(user)
        .arg(format!("pop3s://127.0.0.1:{}/1", server.port("pop3s"))));
    assert!(message.contains("Subject: sent by curl"), "{message}");
    let refused = Command::new(&curl)
        .args(["--silent", "--insecure"])
        .args(user)
        .arg(format!("pop3://127.0.0.1:{}/1", server.port("pop3")))
        .output()
        .expect("curl");
    assert!(!refused.status.success(), "cleartext login must be refused");
}
