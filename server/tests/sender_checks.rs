//! Who sent mail from outside: SPF, DKIM and DMARC checked on the MX port against
//! `[dns.static]`, messages signed by dkimpy and sent with Python's smtplib; the results in
//! one `Authentication-Results:` field, DMARC's `p=reject` refused and `p=quarantine` sent
//! to Junk, and results forged in our name removed.

mod common;

use std::process::Command;

use common::{TestServer, dkimpy, run, test_file};

#[test]
fn mail_from_outside_is_checked_and_policies_applied() {
    let Some(python) = dkimpy() else {
        return;
    };
    let script = test_file("clients/sender_checks.py");
    let keys = run(Command::new(&python).arg(&script).arg("keygen"));
    let (seed, public) = keys.trim().split_once(' ').expect("seed and public key");
    let server = TestServer::start(&format!(
        r#"
[security]
# Loopback is trusted by default; here it stands for the internet.
trusted_networks = []
[greylisting]
enabled = false
[dns.static]
"sender.example" = {{ txt = ["v=spf1 ip4:127.0.0.1 -all"] }}
"_dmarc.sender.example" = {{ txt = ["v=DMARC1; p=reject"] }}
"s1._domainkey.sender.example" = {{ txt = ["v=DKIM1; k=ed25519; p={public}"] }}
"spoof.example" = {{ txt = ["v=spf1 -all"] }}
"_dmarc.spoof.example" = {{ txt = ["v=DMARC1; p=reject"] }}
"doubtful.example" = {{ txt = ["v=spf1 -all"] }}
"_dmarc.doubtful.example" = {{ txt = ["v=DMARC1; p=quarantine"] }}
# DMARC's tree walk (RFC 9989) asks the parent domains too; without a name server to say
# they have no record, the table must.
"_dmarc.example" = {{}}
"#
    ));
    server.add_test_users();
    print!(
        "{}",
        run(Command::new(&python)
            .arg(&script)
            .args(["send", seed])
            .arg(server.port("smtp").to_string()))
    );

    let mail = server.export("bob@example.test");
    assert_eq!(mail.len(), 2, "the spoofed message was refused");
    let find = |subject: &str| {
        mail.iter()
            .find(|(_, bytes)| String::from_utf8_lossy(bytes).contains(subject))
            .map(|(folder, bytes)| (folder.clone(), String::from_utf8_lossy(bytes).into_owned()))
            .unwrap_or_else(|| panic!("no message {subject:?}"))
    };

    let (folder, signed) = find("Subject: signed and listed");
    assert!(!folder.contains("Junk"), "{folder}");
    let results: Vec<&str> = signed
        .split("\r\n")
        .filter(|line| line.starts_with("Authentication-Results:"))
        .collect();
    assert_eq!(
        results.len(),
        1,
        "ours only, the forged one removed:\n{signed}"
    );
    let header_end = signed.find("\r\n\r\n").expect("a header");
    let header = &signed[..header_end];
    assert!(
        header.starts_with(
            "Return-Path: <someone@sender.example>\r\nAuthentication-Results: mx.test;"
        ),
        "{header}"
    );
    for result in [
        "dkim=pass",
        "header.i=@sender.example",
        "spf=pass",
        "dmarc=pass",
    ] {
        assert!(header.contains(result), "{result} in\n{header}");
    }
    assert!(!header.contains("bank.example"), "{header}");

    let (folder, doubtful) = find("Subject: doubtful");
    assert!(
        folder.contains("Junk"),
        "quarantined mail goes to Junk, not {folder:?}"
    );
    assert!(doubtful.contains("dmarc=fail"), "{doubtful}");
    assert!(doubtful.contains("policy.dmarc=quarantine"), "{doubtful}");
}

#[test]
fn loopback_and_logged_in_clients_are_not_checked() {
    let server = TestServer::start("");
    server.add_test_users();
    let python = common::external_tool("python3");
    let Some(python) = python else {
        return;
    };
    run(Command::new(python).arg("-c").arg(format!(
        "import smtplib\n\
         s = smtplib.SMTP('127.0.0.1', {})\n\
         s.sendmail('a@nowhere.example', ['bob@example.test'], \
         b'From: a@nowhere.example\\r\\nSubject: local\\r\\n\\r\\nhi\\r\\n')\n\
         s.quit()\n",
        server.port("smtp")
    )));
    let mail = server.export("bob@example.test");
    assert_eq!(mail.len(), 1);
    let text = String::from_utf8_lossy(&mail[0].1);
    assert!(!text.contains("Authentication-Results"), "{text}");
    assert!(
        text.starts_with("Return-Path: <a@nowhere.example>\r\nReceived: from "),
        "{text}"
    );
}

#[test]
fn a_client_a_dns_blocklist_names_is_refused() {
    let Some(python) = common::external_tool("python3") else {
        return;
    };
    // Listed in zen.example (static DNS); down.example cannot be asked (no name server),
    // which never stops mail.
    let server = TestServer::start(
        r#"
[security]
trusted_networks = []
check_senders = false
dnsbl = ["down.example", "zen.example"]
[greylisting]
enabled = false
[dns.static]
"1.0.0.127.zen.example" = { a = ["127.0.0.2"] }
"#,
    );
    server.add_test_users();
    let send = |server: &TestServer| {
        run(Command::new(&python).arg("-c").arg(format!(
            "import smtplib\n\
             s = smtplib.SMTP('127.0.0.1', {})\n\
             try:\n\
             \x20   s.sendmail('a@remote.test', ['bob@example.test'], b'Subject: x\\r\\n\\r\\nx\\r\\n')\n\
             \x20   print('accepted')\n\
             except smtplib.SMTPRecipientsRefused as e:\n\
             \x20   code, text = e.recipients['bob@example.test']\n\
             \x20   print(code, text.decode())\n",
            server.port("smtp")
        )))
    };
    let refused = send(&server);
    assert!(
        refused.starts_with(
            "554 5.7.1 Service unavailable; client [127.0.0.1] blocked using zen.example"
        ),
        "{refused}"
    );
    let clean = TestServer::start(
        "[security]\ntrusted_networks = []\ncheck_senders = false\ndnsbl = [\"down.example\"]\n\
         [greylisting]\nenabled = false\n",
    );
    clean.add_test_users();
    assert_eq!(send(&clean).trim(), "accepted");
}
