//! The `testkit` binary against a tiny server of the test's own: what it prints, its exit
//! status and its TAP and JUnit reports.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_testkit");

/// Greets, then answers each line with `250 ok` (at most 16 connections).
fn server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten().take(16) {
            let mut writer = stream.try_clone().expect("clone");
            let _ = writer.write_all(b"220 tiny ESMTP\r\n");
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if writer.write_all(b"250 ok\r\n").is_err() || line == "QUIT" {
                    break;
                }
            }
        }
    });
    port
}

#[test]
fn scripts_pass_fail_and_skip_with_reports() {
    let dir = tempfile::tempdir().expect("temp dir");
    let write =
        |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
    write("a-pass.script", "S: 220 tiny *\nC: HELO me\nS: 250 ok\n");
    write(
        "b-fail.script",
        "S: 220 tiny *\nC: HELO me\nS: 250 something else\n",
    );
    write("c-skip.script", "S: 220 *\n@timeout\n");
    let (tap, junit) = (dir.path().join("report.tap"), dir.path().join("report.xml"));
    let out = Command::new(BIN)
        .args(["run", &format!("smtp://127.0.0.1:{}", server())])
        .arg(dir.path())
        .arg("--tap")
        .arg(&tap)
        .arg("--junit")
        .arg(&junit)
        .output()
        .expect("run testkit");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("PASS  ") && stdout.contains("a-pass.script"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "b-fail.script: line 3: expected \"250 something else\", received \"250 ok\""
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("c-skip.script: line 2: @timeout needs the in-process engine"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("1 passed, 1 failed, 1 skipped\n"),
        "{stdout}"
    );
    let tap = std::fs::read_to_string(&tap).expect("tap");
    assert!(tap.starts_with("1..3\nok 1 - "), "{tap}");
    assert!(
        tap.contains("\nnot ok 2 - ") && tap.contains("# SKIP"),
        "{tap}"
    );
    let junit = std::fs::read_to_string(&junit).expect("junit");
    assert!(
        junit.contains("tests=\"3\" failures=\"1\" skipped=\"1\""),
        "{junit}"
    );
    assert!(
        junit.contains("<failure message=\"line 3: expected &quot;250 something else&quot;"),
        "{junit}"
    );

    // A URL it cannot use is a usage error, status 2.
    let out = Command::new(BIN)
        .args(["run", "http://x"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("use smtp, smtps, imap"));
}
