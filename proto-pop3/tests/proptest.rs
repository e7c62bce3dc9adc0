//! Property tests: command line round-trips, no panic and bounded memory on any
//! input, and `RETR`/`TOP` transparency for any message in any chunking.

mod common;

use common::{Harness, MAX_BUFFERED, config, reference, unstuff};
use proptest::prelude::*;
use proto_pop3::{Session, parse_command};
use testkit::strategies::pop3::{canonical_line, hostile_input};

/// Message text from the characters that matter to stuffing and line ends.
fn message() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        Just(b'a'),
        Just(b':'),
        Just(b'.'),
        Just(b'\r'),
        Just(b'\n'),
        Just(b' ')
    ];
    proptest::collection::vec(byte, 0..300)
}

proptest! {
    #[test]
    fn canonical_lines_round_trip(line in canonical_line()) {
        let command = parse_command(line.as_bytes());
        prop_assert!(command.is_ok(), "{:?}", command);
        let mut wire = Vec::new();
        command.unwrap().encode(&mut wire);
        prop_assert_eq!(String::from_utf8(wire).unwrap(), format!("{line}\r\n"));
    }

    #[test]
    fn parser_never_panics(line in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_command(&line);
    }

    #[test]
    fn any_input_in_any_chunks_stays_bounded(
        input in hostile_input(),
        steps in proptest::collection::vec(1usize..3000, 1..8),
        chunk in 1usize..=8192,
        tls in any::<bool>(),
        cleartext_logins in any::<bool>(),
    ) {
        let mut c = config();
        c.stls = true;
        c.auth_without_tls = cleartext_logins;
        c.max_errors = 50;
        let mut h = Harness::start(c, tls);
        h.chunk = chunk;
        let mut rest = &input[..];
        let mut i = 0;
        while !rest.is_empty() && !h.session.is_closed() {
            let step = steps[i % steps.len()].min(rest.len());
            i += 1;
            h.feed(&rest[..step]);
            rest = &rest[step..];
            prop_assert!(h.session.buffered_input() <= MAX_BUFFERED);
        }
        h.session.shutdown();
        h.drive();
        prop_assert!(h.session.is_closed());
    }

    #[test]
    fn retr_is_transparent(
        lines in proptest::collection::vec("[.]{0,3}[ -~]{0,40}", 0..30),
        chunk in 1usize..64,
    ) {
        let body: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
        let mut h = Harness::new();
        h.messages = vec![body.clone().into_bytes()];
        h.chunk = chunk;
        h.feed("USER a\r\nPASS secret\r\n");
        let out = h.feed("RETR 1\r\n");
        let status = format!("+OK {} octets\r\n", body.len());
        let response = out.strip_prefix(&status).unwrap();
        prop_assert_eq!(unstuff(response), Some(body));
    }

    #[test]
    fn any_message_matches_the_reference(
        message in message(),
        top in proptest::option::of(0u64..6),
        chunk in 1usize..64,
    ) {
        let mut h = Harness::new();
        h.messages = vec![message.clone()];
        h.chunk = chunk;
        h.feed("USER a\r\nPASS secret\r\n");
        let out = match top {
            None => h.feed("RETR 1\r\n"),
            Some(n) => h.feed(format!("TOP 1 {n}\r\n")),
        };
        let (_, response) = out.split_once("\r\n").unwrap();
        prop_assert_eq!(response, reference(&message, top));
    }
}
