//! SMTP smuggling (CVE-2023-51764 and friends): only CR LF . CR LF ends DATA,
//! however the bytes are split into reads.

mod common;

use common::{Ev, Harness, config};
use proto_smtp::BareLf;

/// End-of-data look-alikes that some servers accepted.
const FAKE_ENDS: &[&str] = &[
    "\n.\n",
    "\r\n.\n",
    "\n.\r\n",
    "\r.\r\n",
    "\r\n.\r",
    "\r\n.\r\r\n",
    "\n.\r\r\n",
    "\r\n\x00.\r\n",
    "\r\n .\r\n",
];

const SMUGGLED: &str =
    "MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nSpoofed\r\n";

fn message_with(fake_end: &str) -> String {
    format!("Subject: test\r\n\r\nhello{fake_end}{SMUGGLED}\r\n.\r\nNOOP\r\n")
}

fn run(bare_lf: BareLf, input: &str, step: usize) -> Harness {
    let mut c = config();
    c.bare_lf = bare_lf;
    let mut h = Harness::ehlo_with(c);
    h.in_transaction();
    h.feed("DATA\r\n");
    h.feed_in(input, step);
    h
}

#[test]
fn fake_ends_are_content_when_normalizing() {
    for fake in FAKE_ENDS {
        for step in [1, 2, 3, 7, 4096] {
            let h = run(BareLf::Normalize, &message_with(fake), step);
            assert_eq!(h.count(&Ev::DataEnd), 1, "{fake:?} step {step}");
            assert_eq!(
                h.count(&Ev::Mail("evil@attacker.example".into())),
                0,
                "{fake:?}"
            );
            let body = String::from_utf8_lossy(&h.messages[0]).into_owned();
            assert!(
                body.contains("MAIL FROM:<evil@attacker.example>"),
                "{fake:?}: {body:?}"
            );
            // Every line of the stored body ends in CRLF, and the NOOP after
            // the real end was answered.
            assert!(
                !body.replace("\r\n", "").contains('\n'),
                "{fake:?}: {body:?}"
            );
            let last_send = h.log.iter().rev().find_map(|e| match e {
                Ev::Send(s) => Some(s.clone()),
                _ => None,
            });
            assert!(last_send.unwrap().ends_with("250 2.0.0 Ok\r\n"));
        }
    }
}

#[test]
fn fake_ends_are_content_when_rejecting() {
    for fake in FAKE_ENDS {
        let h = run(BareLf::Reject, &message_with(fake), 5);
        assert_eq!(
            h.count(&Ev::Mail("evil@attacker.example".into())),
            0,
            "{fake:?}"
        );
        // Variants with a bare LF are refused as a whole; the rest are content.
        let refused = h.count(&Ev::DataAbort) == 1;
        assert_eq!(refused, fake.replace("\r\n", "").contains('\n'), "{fake:?}");
        assert_eq!(h.count(&Ev::DataEnd), usize::from(!refused), "{fake:?}");
    }
}

#[test]
fn terminator_split_at_every_boundary() {
    let input = b"abc\r\n..x\r\n.\r\nNOOP\r\n";
    for split in 0..=input.len() {
        let mut h = Harness::ehlo();
        h.in_transaction();
        h.feed("DATA\r\n");
        let mut out = h.feed(&input[..split]);
        out += &h.feed(&input[split..]);
        assert_eq!(
            out, "250 2.0.0 Queued\r\n250 2.0.0 Ok\r\n",
            "split at {split}"
        );
        assert_eq!(h.messages, [b"abc\r\n.x\r\n".to_vec()], "split at {split}");
    }
}

#[test]
fn terminator_byte_by_byte() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    h.feed("DATA\r\n");
    let out = h.feed_in("line\r\n.\r\nQUIT\r\n", 1);
    assert_eq!(out, "250 2.0.0 Queued\r\n221 2.0.0 Bye\r\n");
    assert_eq!(h.messages, [b"line\r\n".to_vec()]);
}

#[test]
fn dot_line_right_after_data_command() {
    for step in [1, 2, 100] {
        let mut h = Harness::ehlo();
        h.in_transaction();
        let out = h.feed_in("DATA\r\n.\r\nNOOP\r\n", step);
        assert!(
            out.ends_with("250 2.0.0 Queued\r\n250 2.0.0 Ok\r\n"),
            "{out}"
        );
        assert_eq!(h.messages, [Vec::<u8>::new()]);
    }
}

#[test]
fn bare_lf_dot_at_body_start_is_content() {
    let mut h = Harness::ehlo();
    h.in_transaction();
    h.feed("DATA\r\n");
    assert_eq!(h.feed(".\nQUIT\r\n"), "");
    assert_eq!(h.feed(".\r\n"), "250 2.0.0 Queued\r\n");
    assert_eq!(h.messages, [b"\r\nQUIT\r\n".to_vec()]);
}
