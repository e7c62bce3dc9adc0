//! Greylisting on the MX port, seen by Python's smtplib: a new (network, sender, recipient)
//! is told 451 4.7.1, a retry before the delay too, one after it passes and is remembered;
//! another recipient is a new triplet; triplets that got through outlast a restart.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{TestServer, external_tool, run};

const SEND: &str = r#"
import smtplib, sys
port, sender, recipient = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with smtplib.SMTP("127.0.0.1", port) as s:
    try:
        s.sendmail(sender, [recipient], b"From: " + sender.encode() + b"\r\nSubject: hi\r\n\r\nhi\r\n")
        print("250")
    except smtplib.SMTPRecipientsRefused as e:
        code, text = e.recipients[recipient]
        print(code, text.decode())
"#;

fn send(python: &std::path::Path, server: &TestServer, sender: &str, recipient: &str) -> String {
    let out = run(Command::new(python)
        .args(["-c", SEND])
        .arg(server.port("smtp").to_string())
        .args([sender, recipient]));
    out.trim().to_string()
}

#[test]
fn a_new_triplet_is_told_to_retry_and_a_retry_passes() {
    let Some(python) = external_tool("python3") else {
        return;
    };
    let mut server = TestServer::start(
        "[security]\n# Loopback stands for the internet here.\ntrusted_networks = []\n\
         check_senders = false\n[greylisting]\nmin_delay = \"2s\"\n",
    );
    server.add_test_users();
    let first = send(&python, &server, "ann@remote.test", "alice@example.test");
    assert!(first.starts_with("451 4.7.1 Greylisted"), "{first}");
    let early = send(&python, &server, "ann@remote.test", "alice@example.test");
    assert!(early.starts_with("451 4.7.1"), "{early}");
    std::thread::sleep(Duration::from_millis(2_500));
    assert_eq!(
        send(&python, &server, "ann@remote.test", "alice@example.test"),
        "250"
    );
    assert_eq!(
        send(&python, &server, "ann@remote.test", "alice@example.test"),
        "250",
        "remembered"
    );
    let other = send(&python, &server, "ann@remote.test", "bob@example.test");
    assert!(other.starts_with("451 4.7.1"), "another recipient: {other}");
    assert_eq!(server.export("alice@example.test").len(), 2);

    // Known senders are remembered across a restart; the half-waited one starts again.
    server.stop();
    server.restart();
    assert_eq!(
        send(&python, &server, "ann@remote.test", "alice@example.test"),
        "250"
    );
    let again = send(&python, &server, "ann@remote.test", "bob@example.test");
    assert!(again.starts_with("451 4.7.1"), "{again}");
}

#[test]
fn loopback_and_unknown_recipients_are_not_greylisted() {
    let Some(python) = external_tool("python3") else {
        return;
    };
    let server = TestServer::start("");
    server.add_test_users();
    assert_eq!(
        send(&python, &server, "ann@remote.test", "alice@example.test"),
        "250"
    );
    let unknown = send(&python, &server, "ann@remote.test", "nobody@example.test");
    assert!(unknown.starts_with("550 5.1.1"), "{unknown}");
}

#[test]
fn a_correspondent_that_proves_its_domain_is_not_greylisted() {
    let Some(python) = common::dkimpy() else {
        return;
    };
    let keys = run(Command::new(&python)
        .arg(common::test_file("clients/sender_checks.py"))
        .arg("keygen"));
    let (seed, public) = keys.trim().split_once(' ').expect("seed and public key");
    let server = TestServer::start(&format!(
        r#"
[security]
# Loopback stands for the internet here.
trusted_networks = []
[greylisting]
min_delay = "1h"
[dns.static]
"friend.example" = {{ txt = ["v=spf1 ip4:127.0.0.1 -all"] }}
"stranger.example" = {{ txt = ["v=spf1 ip4:127.0.0.1 -all"] }}
"signer.example" = {{ txt = ["v=spf1 -all"] }}
"mail.signer.example" = {{ txt = ["v=spf1 -all"] }}
"s1._domainkey.signer.example" = {{ txt = ["v=DKIM1; k=ed25519; p={public}"] }}
# DMARC's tree walk asks the parent domains too; without a name server to say they have
# no record, the table must.
"_dmarc.example" = {{}}
"#
    ));
    server.add_test_users();
    print!(
        "{}",
        run(Command::new(&python)
            .arg(common::test_file("clients/correspondents.py"))
            .arg(seed)
            .arg(server.port("submission").to_string())
            .arg(server.port("smtp").to_string()))
    );
    assert_eq!(server.export("alice@example.test").len(), 3);
}
