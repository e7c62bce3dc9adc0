//! Property tests: the input buffer never panics, never holds more than its
//! bound and gives back the lines it was fed in any chunking; SASL exchanges
//! never panic and only ever hand out credentials that keep the rules.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use proptest::prelude::*;
use proto_core::input::{InputBuffer, Line};
use proto_core::sasl::{Credentials, Exchange, Mechanism, Next, SaslError};

/// Bytes rich in line ends.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'x'), any::<u8>()];
    proptest::collection::vec(byte, 0..3000)
}

/// Feeds `input` in chunks of the given sizes, draining lines whenever the
/// buffer is full, and returns what came out: `Some(line)` or `None` for an
/// over-long line.
fn run(
    buf: &mut InputBuffer,
    bound: usize,
    input: &[u8],
    chunks: &[usize],
    limit: usize,
) -> Result<Vec<Option<Vec<u8>>>, TestCaseError> {
    let mut out = Vec::new();
    let mut rest = input;
    let mut i = 0;
    loop {
        let size = chunks[i % chunks.len()].min(rest.len());
        i += 1;
        let room = buf.room();
        let taken = buf.extend(&rest[..size]);
        prop_assert_eq!(taken, size.min(room));
        prop_assert!(buf.len() <= bound);
        rest = &rest[taken..];
        let before = out.len();
        loop {
            match buf.next_line(limit) {
                Line::Complete(range) => out.push(Some(buf.line(range).to_vec())),
                Line::TooLong => out.push(None),
                Line::Incomplete => break,
            }
            prop_assert!(buf.len() <= bound);
        }
        if rest.is_empty() {
            return Ok(out);
        }
        // A full buffer always yields a line or an over-long one: it never stalls.
        prop_assert!(taken > 0 || out.len() > before, "stalled");
    }
}

proptest! {
    #[test]
    fn input_is_bounded_on_any_bytes(
        input in hostile_bytes(),
        chunks in proptest::collection::vec(1usize..700, 1..8),
        bound in 1usize..2000,
        limit in 0usize..3000,
    ) {
        let mut buf = InputBuffer::new(bound);
        for line in run(&mut buf, bound, &input, &chunks, limit)?.into_iter().flatten() {
            prop_assert!(line.len() < limit.min(bound).max(1));
            prop_assert!(!line.contains(&b'\n'));
        }
    }

    #[test]
    fn lines_round_trip(
        lines in proptest::collection::vec(
            ("[ -~\r]{0,40}[ -~]", prop_oneof![Just("\r\n"), Just("\n")]),
            0..40,
        ),
        chunks in proptest::collection::vec(1usize..100, 1..8),
    ) {
        let wire: String = lines.iter().map(|(line, end)| format!("{line}{end}")).collect();
        let mut buf = InputBuffer::new(256);
        let out = run(&mut buf, 256, wire.as_bytes(), &chunks, 255)?;
        let expected: Vec<_> = lines.iter().map(|(line, _)| Some(line.clone().into_bytes())).collect();
        prop_assert_eq!(out, expected);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn over_long_lines_are_reported_and_skipped(
        lines in proptest::collection::vec("[a-z]{0,30}", 1..20),
        chunks in proptest::collection::vec(1usize..50, 1..8),
    ) {
        let wire: String = lines.iter().map(|line| format!("{line}\r\n")).collect();
        let mut buf = InputBuffer::new(64);
        let out = run(&mut buf, 64, wire.as_bytes(), &chunks, 12)?;
        let expected: Vec<_> = lines
            .iter()
            .map(|line| (line.len() + 2 <= 12).then(|| line.clone().into_bytes()))
            .collect();
        prop_assert_eq!(out, expected);
    }

    #[test]
    fn exchanges_never_panic(
        login in any::<bool>(),
        initial in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..200)),
        responses in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..4),
        decoded in any::<bool>(),
    ) {
        let mechanism = if login { Mechanism::Login } else { Mechanism::Plain };
        let mut next = Exchange::start(mechanism, initial.as_deref());
        for response in &responses {
            let Next::Challenge(exchange, _) = next else { break };
            next = if decoded { exchange.respond(response) } else { exchange.advance(response) };
        }
        if let Next::Done(creds) = next {
            prop_assert!(keeps_the_rules(&creds));
        }
    }

    #[test]
    fn plain_reads_what_the_client_encoded(
        authzid in "[a-z]{0,3}",
        username in "[a-z]{0,3}",
        password in "[ -~]{0,8}",
        padded in any::<bool>(),
    ) {
        let message = format!("{authzid}\0{username}\0{password}");
        let line = if padded { STANDARD.encode(&message) } else { STANDARD_NO_PAD.encode(&message) };
        let next = Exchange::start(Mechanism::Plain, Some(line.as_bytes()));
        if username.is_empty() || password.is_empty() {
            prop_assert_eq!(next, Next::Invalid(SaslError::Malformed));
        } else if !authzid.is_empty() && authzid != username {
            prop_assert_eq!(next, Next::Invalid(SaslError::Authzid));
        } else {
            let Next::Done(creds) = next else { panic!("credentials expected") };
            prop_assert_eq!(
                (creds.authzid(), creds.username(), creds.password()),
                (authzid.as_str(), username.as_str(), password.as_str())
            );
        }
    }
}

fn keeps_the_rules(creds: &Credentials) -> bool {
    !creds.username().is_empty()
        && !creds.password().is_empty()
        && (creds.authzid().is_empty() || creds.authzid() == creds.username())
}
