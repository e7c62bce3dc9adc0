//! Real SMTP clients we did not write, against the real binary on loopback.

mod common;

use std::process::Command;

use common::{TestServer, external_tool, run, run_python_client, run_python_source, test_file};

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[test]
fn python_smtplib() {
    let server = TestServer::start("");
    server.add_test_users();
    if !run_python_client(
        &server,
        "smtp_clients.py",
        &["smtp", "submission", "submissions"],
    ) {
        return;
    }

    let alice = server.export("alice@example.test");
    let bob = server.export("bob@example.test");
    let subjects = |mail: &[(String, Vec<u8>)]| {
        let mut found: Vec<&str> = [
            "plain-mx",
            "pipelined",
            "bdat",
            "large",
            "starttls-submission",
            "smtps-login",
            "outbound",
        ]
        .into_iter()
        .filter(|s| {
            mail.iter()
                .any(|(_, m)| contains(m, &format!("Subject: {s}\r\n")))
        })
        .collect();
        found.sort_unstable();
        found
    };
    assert_eq!(subjects(&alice), ["bdat", "large", "pipelined", "plain-mx"]);
    let large = &alice
        .iter()
        .find(|(_, m)| contains(m, "Subject: large\r\n"))
        .expect("large")
        .1;
    let lines: Vec<&[u8]> = large
        .split(|&b| b == b'\n')
        .filter(|line| line.starts_with(b"line "))
        .collect();
    assert_eq!(lines.len(), 50_000, "every line, once");
    for (i, line) in lines.iter().enumerate() {
        assert!(
            line.starts_with(format!("line {i:06} ").as_bytes()),
            "in order"
        );
    }
    assert_eq!(
        subjects(&bob),
        ["outbound", "plain-mx", "smtps-login", "starttls-submission"]
    );
    // The outside recipient of the same message waits in the outbound queue.
    let queue = server.cli(&["queue", "list"], "");
    assert!(
        queue.contains("from alice@example.test") && queue.contains("  carol@elsewhere.test  "),
        "{queue}"
    );
    assert!(queue.ends_with("1 queued\n"), "{queue}");
    let plain = &alice
        .iter()
        .find(|(_, m)| contains(m, "plain-mx"))
        .expect("plain-mx")
        .1;
    assert!(plain.starts_with(b"Return-Path: <sender@remote.test>\r\nReceived: from client.test"));
    assert!(
        contains(plain, "\r\n.A line that starts with a dot.\r\n"),
        "dot-unstuffed once"
    );
    assert!(
        !alice
            .iter()
            .any(|(_, m)| contains(m, "Subject: unknown") || contains(m, "Subject: relay")),
        "refused mail must not be stored"
    );
}

#[test]
fn swaks() {
    let server = TestServer::start("");
    server.add_test_users();
    let Some(swaks) = external_tool("swaks") else {
        return;
    };
    let smtp = format!("127.0.0.1:{}", server.port("smtp"));
    let submission = format!("127.0.0.1:{}", server.port("submission"));
    let submissions = format!("127.0.0.1:{}", server.port("submissions"));
    let base = |server_addr: &str| {
        let mut command = Command::new(&swaks);
        command
            .args([
                "--server",
                server_addr,
                "--helo",
                "swaks.test",
                "--to",
                "alice@example.test",
            ])
            .args(["--from", "bob@example.test", "--timeout", "30"]);
        command
    };
    run(base(&smtp).args(["--header", "Subject: swaks-plain"]));
    run(base(&smtp).args(["--header", "Subject: swaks-pipeline", "--pipeline"]));
    run(base(&submission).args([
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "bob@example.test",
        "--auth-password",
        "bob-secret",
        "--header",
        "Subject: swaks-starttls",
    ]));
    run(base(&submissions).args([
        "--tlsc",
        "--auth",
        "LOGIN",
        "--auth-user",
        "bob@example.test",
        "--auth-password",
        "bob-secret",
        "--header",
        "Subject: swaks-smtps",
    ]));
    let refused = base(&smtp)
        .args(["--to", "nobody@elsewhere.test"])
        .output()
        .expect("swaks");
    assert!(!refused.status.success(), "relaying must be refused");
    assert!(String::from_utf8_lossy(&refused.stdout).contains("554 5.7.1"));

    let alice = server.export("alice@example.test");
    for subject in [
        "swaks-plain",
        "swaks-pipeline",
        "swaks-starttls",
        "swaks-smtps",
    ] {
        assert!(
            alice
                .iter()
                .any(|(_, m)| contains(m, &format!("Subject: {subject}\r\n"))),
            "{subject} not delivered"
        );
    }
}

#[test]
fn curl_smtp() {
    let server = TestServer::start("");
    server.add_test_users();
    let Some(curl) = external_tool("curl") else {
        return;
    };
    let mail = test_file("clients/curl-mail.txt");
    run(Command::new(&curl)
        .args([
            "--silent",
            "--show-error",
            "--mail-from",
            "bob@example.test",
        ])
        .args(["--mail-rcpt", "alice@example.test", "--upload-file"])
        .arg(&mail)
        .arg(format!(
            "smtp://127.0.0.1:{}/curl.test",
            server.port("smtp")
        )));
    run(Command::new(&curl)
        .args(["--silent", "--show-error", "--insecure", "--ssl-reqd"])
        .args([
            "--user",
            "bob@example.test:bob-secret",
            "--mail-from",
            "bob@example.test",
        ])
        .args(["--mail-rcpt", "alice@example.test", "--upload-file"])
        .arg(&mail)
        .arg(format!(
            "smtp://127.0.0.1:{}/curl.test",
            server.port("submission")
        )));
    run(Command::new(&curl)
        .args(["--silent", "--show-error", "--insecure"])
        .args([
            "--user",
            "bob@example.test:bob-secret",
            "--mail-from",
            "bob@example.test",
        ])
        .args(["--mail-rcpt", "alice@example.test", "--upload-file"])
        .arg(&mail)
        .arg(format!(
            "smtps://127.0.0.1:{}/curl.test",
            server.port("submissions")
        )));
    let alice = server.export("alice@example.test");
    let from_curl = alice
        .iter()
        .filter(|(_, m)| contains(m, "Subject: sent by curl"))
        .count();
    assert_eq!(from_curl, 3);
}

#[test]
fn a_full_mailbox_after_data_bounces_for_itself_only() {
    if external_tool("python3").is_none() {
        return;
    }
    let server = TestServer::start("");
    server.add_test_users();
    server.cli(
        &["user", "add", "carol@example.test", "--password-stdin"],
        "carol-secret\n",
    );
    // Room for the messages as smtplib declares them (SIZE), not as stored with their trace
    // header: RCPT cannot tell, only the message once whole.
    server.cli(&["user", "quota", "bob@example.test", "100"], "");
    let script = r#"
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    refused = s.sendmail("alice@example.test", ["bob@example.test", "carol@example.test"],
                         "Subject: too big for bob\r\n\r\nHi.\r\n")
    assert refused == {}, refused
    try:
        s.sendmail("alice@example.test", ["bob@example.test"],
                   "Subject: only for bob\r\n\r\nHi.\r\n")
        raise SystemExit("a message for a full mailbox alone was accepted")
    except smtplib.SMTPDataError as e:
        assert e.smtp_code == 552 and e.smtp_error.startswith(b"5.2.2"), e
print("ok python: 250 while one recipient had room, 552 5.2.2 when none had")
"#;
    assert!(run_python_source(&server, script, &["smtp"]));

    let carol = server.export("carol@example.test");
    assert_eq!(carol.len(), 1);
    assert!(contains(&carol[0].1, "Subject: too big for bob\r\n"));
    assert!(server.export("bob@example.test").is_empty());
    // One report, for the first message only: the second was refused whole.
    let alice = server.export("alice@example.test");
    assert_eq!(alice.len(), 1);
    let report = String::from_utf8_lossy(&alice[0].1);
    for expected in [
        "Return-Path: <>\r\n",
        "Subject: Undelivered Mail Returned to Sender\r\n",
        "<bob@example.test>: the mailbox of bob@example.test is full\r\n",
        "Final-Recipient: rfc822; bob@example.test\r\nAction: failed\r\nStatus: 5.2.2\r\n",
        "Subject: too big for bob\r\n",
    ] {
        assert!(
            report.contains(expected),
            "{expected:?} missing from:\n{report}"
        );
    }
}
