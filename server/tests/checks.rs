//! `postern preflight` and `postern doctor` against the real binary, with DNS answered from
//! `[dns.static]` and every peer on loopback.

mod common;

use std::io::Write;
use std::net::TcpListener;

use common::{TestServer, cli_in};

/// The report's line that starts with `start`.
fn line(report: &str, start: &str) -> String {
    report
        .lines()
        .find(|line| line.starts_with(start))
        .unwrap_or_else(|| panic!("no line {start:?} in\n{report}"))
        .to_string()
}

/// A pretend mail exchanger: greets each connection, for the "mail out" check.
fn greeter() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten().take(16) {
            let _ = stream.write_all(b"220 mx.probe.test ESMTP\r\n");
        }
    });
    port
}

#[test]
fn preflight_says_what_is_ready_and_what_is_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken_port = taken.local_addr().expect("address").port();
    let config = dir.path().join("postern.toml");
    std::fs::write(
        &config,
        format!(
            r#"hostname = "mx.test"
data_dir = "data"
[listen]
smtp = ["127.0.0.1:{taken_port}"]
submission = ["127.0.0.1:0"]
submissions = []
imap = []
imaps = ["127.0.0.1:0"]
pop3 = []
pop3s = []
https = []
http = []
managesieve = []
[delivery]
remote_port = {}
[dns]
nameservers = []
[dns.static]
"probe.test" = {{ mx = ["mx.probe.test"] }}
"mx.probe.test" = {{ a = ["127.0.0.1"] }}
"mx.test" = {{ a = ["203.0.113.7"] }}
"203.0.113.7" = {{ ptr = ["mx.test"] }}
"203.0.113.8" = {{ ptr = ["someone.else.test"] }}
"#,
            greeter()
        ),
    )
    .expect("config");
    let args = [
        "preflight",
        "--probe",
        "probe.test",
        "--public-ip",
        "203.0.113.7",
        "--public-ip",
        "203.0.113.8",
    ];
    let out = cli_in(&config, &args, "");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    let line = |start: &str| line(&stdout, start);
    assert!(line("OK    configuration").contains("postern.toml"));
    assert!(line("OK    data directory").contains("made at the first start"));
    assert!(line(&format!("FAIL  port smtp 127.0.0.1:{taken_port}")).contains("in use"));
    assert!(line("OK    port submission 127.0.0.1:0").ends_with("free"));
    assert!(line("OK    disk").contains("free for"));
    assert!(line("OK    mail out").contains("mx.probe.test port"));
    // The second address is not the host name's.
    assert!(line("WARN  host name").contains("mx.test is 203.0.113.7 in DNS, not 203.0.113.8"));
    assert!(line("OK    reverse DNS 203.0.113.7").contains("names mx.test"));
    assert!(line("WARN  reverse DNS 203.0.113.8").contains("someone.else.test"));
    // The clock's verdict depends on the machine; it is there.
    assert!(stdout.contains("  clock  "), "{stdout}");
    // A failure makes the exit status say so.
    assert!(!out.status.success());
    assert!(stderr.contains("1 check failed"), "{stderr}{stdout}");
    // Nothing was made.
    assert!(!dir.path().join("data").exists());
    drop(taken);
}

#[test]
fn doctor_checks_a_running_server_end_to_end() {
    let server = TestServer::start("");
    // Without a server, doctor says so and fails.
    let dir = tempfile::tempdir().expect("temp dir");
    let nowhere = dir.path().join("postern.toml");
    std::fs::write(&nowhere, "data_dir = \"data\"\n").expect("config");
    let out = cli_in(&nowhere, &["doctor"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL  server  no server runs on"));

    server.add_test_users();
    let out = server.cli_output(&["doctor"], "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |start: &str| line(&stdout, start);
    assert!(line("OK    server").contains("runs on"));
    assert!(line("OK    storage").contains("free"));
    for (name, greeting) in [
        ("smtp", "220 mx.test"),
        ("submissions", "220 mx.test"),
        ("imap", "* OK"),
        ("imaps", "* OK"),
        ("pop3s", "+OK"),
        ("https", "HTTP/1.1 200"),
        ("http", "HTTP/1.1 200"),
    ] {
        let address = server.ports[name];
        assert!(
            line(&format!("OK    {name} {address}")).contains(greeting),
            "{name}: {stdout}"
        );
    }
    // The self-signed certificate works, but no client trusts it by itself.
    assert!(line("WARN  certificate").contains("not trusted for mx.test"));
    // Nothing is published for example.test in this test's DNS.
    assert!(line("WARN  DNS example.test").contains("postern dns --domain example.test"));
    assert!(line("OK    test delivery").contains("postmaster@example.test"));
    assert!(line("OK    queue").contains("empty"));
    // The test message is in the postmaster's mailbox (the first account's).
    let alice = server.export("alice@example.test");
    assert!(
        alice
            .iter()
            .any(|(_, m)| String::from_utf8_lossy(m).contains("Postern doctor: test delivery"))
    );
}
