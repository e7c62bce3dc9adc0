//! Property tests: wire round-trips, no panic and bounded memory on any input,
//! and dot-stuffing transparency.

mod common;

use common::{Ev, Harness, MAX_BUFFERED, config, dot_stuff};
use proptest::prelude::*;
use proto_smtp::{Session, parse_command, parse_reply};
use testkit::strategies::smtp::{command, hostile_input, reply};

proptest! {
    #[test]
    fn command_round_trip(owned in command()) {
        let command = owned.command();
        let mut wire = Vec::new();
        command.encode(&mut wire);
        prop_assert!(wire.ends_with(b"\r\n"));
        let parsed = parse_command(&wire[..wire.len() - 2]);
        prop_assert_eq!(parsed, Ok(command));
    }

    #[test]
    fn reply_round_trip(reply in reply()) {
        let mut wire = Vec::new();
        reply.encode(&mut wire);
        wire.extend_from_slice(b"250 next\r\n");
        let (parsed, used) = parse_reply(&wire).unwrap();
        prop_assert_eq!(parsed, reply);
        prop_assert_eq!(&wire[used..], b"250 next\r\n");
    }

    #[test]
    fn parsers_never_panic(line in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_command(&line);
        let _ = parse_reply(&line);
    }

    #[test]
    fn any_input_in_any_chunks_stays_bounded(
        input in hostile_input(),
        steps in proptest::collection::vec(1usize..3000, 1..8),
        tls in any::<bool>(),
        reject in any::<bool>(),
    ) {
        let mut c = config();
        c.starttls = true;
        c.auth_without_tls = true;
        c.max_message_size = 1000;
        c.max_errors = 50;
        if reject {
            c.bare_lf = proto_smtp::BareLf::Reject;
        }
        let mut h = Harness::start(c, tls);
        let mut rest = &input[..];
        let mut i = 0;
        while !rest.is_empty() && !h.session.is_closed() {
            let step = steps[i % steps.len()].min(rest.len());
            i += 1;
            h.feed(&rest[..step]);
            rest = &rest[step..];
            prop_assert!(h.session.buffered_input() <= MAX_BUFFERED);
        }
        for ev in &h.log {
            if let Ev::Data(d) = ev {
                prop_assert!(!d.is_empty() && d.len() <= 2 * MAX_BUFFERED);
            }
        }
        // Bodies never exceed the limit and starts and ends pair up.
        prop_assert!(h.messages.iter().all(|m| m.len() <= 1000));
        let starts = h.count(&Ev::DataStart);
        let ends = h.count(&Ev::DataEnd) + h.count(&Ev::DataAbort);
        prop_assert!(starts == ends || starts == ends + 1);
        h.session.shutdown();
        h.drive();
    }

    #[test]
    fn dot_stuffing_is_transparent(
        lines in proptest::collection::vec("[.]{0,3}[ -~]{0,40}", 0..30),
        steps in proptest::collection::vec(1usize..50, 1..5),
    ) {
        let body: Vec<u8> = lines.iter().flat_map(|l| format!("{l}\r\n").into_bytes()).collect();
        let mut h = Harness::ehlo();
        h.in_transaction();
        h.feed("DATA\r\n");
        let wire = dot_stuff(&body);
        let mut rest = &wire[..];
        let mut i = 0;
        while !rest.is_empty() {
            let step = steps[i % steps.len()].min(rest.len());
            i += 1;
            h.feed(&rest[..step]);
            rest = &rest[step..];
        }
        prop_assert_eq!(&h.messages, &vec![body]);
    }
}
