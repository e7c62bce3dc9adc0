//! `RETR` and `TOP` output does not depend on how the message is chunked:
//! byte-stuffing, CRLF normalization and `TOP` line counting checked against a
//! line-based reference at every chunk boundary.

mod common;

use common::{Harness, reference};

/// Messages with dots at line starts, bare LFs, bare CRs, CRLFs to split, a
/// missing final line end, no body separator, and an embedded end marker.
const MESSAGES: &[&[u8]] = &[
    b"Subject: a\r\n\r\n.line\r\n..two\r\n.\r\nend\r\n",
    b"A: b\n\n.x\n\n.\nlast",
    b"A: 1\r\n\r\n\r\n.\r\n\r\n..",
    b"A: 1\r\nB: 2\r\n",
    b"\r\n.body\r\nx\r\n",
    b"A\r\r\n\r\n.\rx\r\n\r",
    b"X: y\r\n\r\nfoo\r\n.\r\nQUIT\r\n",
    b".",
    b"",
];

const TOPS: &[Option<u64>] = &[None, Some(0), Some(1), Some(2), Some(5)];

fn command(top: Option<u64>) -> String {
    match top {
        None => "RETR 1\r\n".to_string(),
        Some(n) => format!("TOP 1 {n}\r\n"),
    }
}

fn status(message: &[u8], top: Option<u64>) -> String {
    match top {
        None => format!("+OK {} octets\r\n", message.len()),
        Some(_) => "+OK top of message follows\r\n".to_string(),
    }
}

fn logged_in_with(message: &[u8]) -> Harness {
    let mut h = Harness::new();
    h.messages = vec![message.to_vec()];
    let out = h.feed("USER a\r\nPASS secret\r\n");
    let summary = format!("+OK maildrop has 1 messages ({} octets)\r\n", message.len());
    assert!(out.ends_with(&summary), "{out}");
    h
}

/// Retrieves the message fed in the given pieces, by hand.
fn retrieve_in_pieces(message: &[u8], top: Option<u64>, cuts: &[usize]) -> String {
    let mut h = logged_in_with(message);
    h.auto = false;
    let mut out = h.feed(command(top));
    let mut start = 0;
    for &end in cuts.iter().chain([&message.len()]) {
        // TOP ends by itself once it has its lines; until then, drained, it wants data.
        if !h.session.is_retrieving() {
            break;
        }
        assert!(h.session.wants_message_data());
        h.session.message_data(&message[start..end], h.now);
        out += &h.drive();
        start = end;
    }
    h.session.message_end(h.now);
    out + &h.drive()
}

#[test]
fn reference_examples() {
    assert_eq!(
        reference(MESSAGES[0], None),
        "Subject: a\r\n\r\n..line\r\n...two\r\n..\r\nend\r\n.\r\n"
    );
    assert_eq!(reference(MESSAGES[1], Some(1)), "A: b\r\n\r\n..x\r\n.\r\n");
    assert_eq!(
        reference(MESSAGES[5], None),
        "A\r\r\n\r\n..\rx\r\n\r\n.\r\n"
    );
}

#[test]
fn byte_by_byte() {
    for &message in MESSAGES {
        for &top in TOPS {
            let mut h = logged_in_with(message);
            h.chunk = 1;
            let expected = status(message, top) + &reference(message, top);
            assert_eq!(h.feed(command(top)), expected, "{message:?} {top:?}");
        }
    }
}

#[test]
fn every_chunk_size() {
    for &message in MESSAGES {
        for &top in TOPS {
            let expected = status(message, top) + &reference(message, top);
            for chunk in 1..=message.len().max(1) {
                let mut h = logged_in_with(message);
                h.chunk = chunk;
                assert_eq!(
                    h.feed(command(top)),
                    expected,
                    "{message:?} {top:?} {chunk}"
                );
            }
        }
    }
}

#[test]
fn every_split_point() {
    for &message in MESSAGES {
        for &top in TOPS {
            let expected = status(message, top) + &reference(message, top);
            for cut in 0..=message.len() {
                let out = retrieve_in_pieces(message, top, &[cut]);
                assert_eq!(out, expected, "{message:?} {top:?} cut at {cut}");
            }
        }
    }
}

#[test]
fn every_pair_of_split_points() {
    for &message in MESSAGES {
        let expected = status(message, None) + &reference(message, None);
        for first in 0..=message.len() {
            for second in first..=message.len() {
                let out = retrieve_in_pieces(message, None, &[first, second]);
                assert_eq!(out, expected, "{message:?} cut at {first}, {second}");
            }
        }
    }
}

#[test]
fn empty_chunks_change_nothing() {
    let message = MESSAGES[0];
    let cuts: Vec<usize> = (0..=message.len()).flat_map(|i| [i, i]).collect();
    assert_eq!(
        retrieve_in_pieces(message, Some(1), &cuts),
        status(message, Some(1)) + &reference(message, Some(1))
    );
}
