//! Real IMAP clients we did not write, against the real binary on loopback.

mod common;

use std::process::Command;

use common::{TestServer, external_tool, run, run_python_client, send_with_curl, test_file};

#[test]
fn python_imaplib() {
    let server = TestServer::start("");
    server.add_test_users();
    run_python_client(&server, "imap_clients.py", &["smtp", "imap", "imaps"]);
}

/// The self-signed certificate made at first start verifies however a client connects to
/// it: by the configured hostname, by `localhost` or by the address.
#[test]
fn self_signed_certificate_verifies_by_name_and_address() {
    let server = TestServer::start("");
    server.add_test_users();
    let Some(curl) = external_tool("curl") else {
        return;
    };
    let cert = server.dir.path().join("data/tls/self-signed.crt");
    let port = server.port("imaps");
    let resolve = format!("mx.test:{port}:127.0.0.1");
    for host in ["127.0.0.1", "localhost", "mx.test"] {
        let listing = run(Command::new(&curl)
            .args(["--silent", "--show-error", "--cacert"])
            .arg(&cert)
            .args(["--resolve", &resolve])
            .args(["--user", "alice@example.test:alice-secret"])
            .arg(format!("imaps://{host}:{port}/")));
        assert!(listing.contains("INBOX"), "{host}: {listing}");
    }
}

#[test]
fn curl_imap() {
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
        .arg(format!("imap://127.0.0.1:{}/", server.port("imap"))));
    assert!(
        listing.contains("INBOX") && listing.contains("Sent"),
        "{listing}"
    );
    let message = run(Command::new(&curl)
        .args(["--silent", "--show-error", "--insecure"])
        .args(user)
        .arg(format!(
            "imaps://127.0.0.1:{}/INBOX;UID=1",
            server.port("imaps")
        )));
    assert!(message.contains("Subject: sent by curl"), "{message}");
    let search = run(Command::new(&curl)
        .args(["--silent", "--show-error", "--insecure"])
        .args(user)
        .args(["--request", "SEARCH SUBJECT curl"])
        .arg(format!("imaps://127.0.0.1:{}/INBOX", server.port("imaps"))));
    assert!(search.contains("SEARCH 1"), "{search}");
    run(Command::new(&curl)
        .args(["--silent", "--show-error", "--insecure", "--upload-file"])
        .arg(test_file("clients/curl-mail.txt"))
        .args(user)
        .arg(format!("imaps://127.0.0.1:{}/Drafts", server.port("imaps"))));
    let draft = run(Command::new(&curl)
        .args(["--silent", "--show-error", "--insecure"])
        .args(user)
        .arg(format!(
            "imaps://127.0.0.1:{}/Drafts;UID=1",
            server.port("imaps")
        )));
    assert!(
        draft.contains("Hello from curl."),
        "APPENDed by curl: {draft}"
    );
    let refused = Command::new(&curl)
        .args(["--silent", "--insecure"])
        .args(user)
        .arg(format!("imap://127.0.0.1:{}/", server.port("imap")))
        .output()
        .expect("curl");
    assert!(!refused.status.success(), "cleartext login must be refused");
}
