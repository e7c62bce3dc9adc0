//! Property tests: the input buffer never panics, never holds more than its
//! bound and gives back the lines it was fed in any chunking; SASL exchanges
//! never panic and only ever hand out credentials that keep the rules; the
//! output hands out exactly what was written and keeps little memory once it
//! did; whatever a session and its runtime do, the skeleton hands things out
//! in its order, `Close` once and last, and no deadline runs while the
//! runtime is waited for.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use proptest::prelude::*;
use proto_core::input::{InputBuffer, Line};
use proto_core::output::Output;
use proto_core::sasl::{Credentials, Exchange, Mechanism, Next, SaslError};
use proto_core::session::{Common, Peer, Turn};

/// The most capacity an output keeps once a batch was handed out (its
/// `RETAINED`).
const RETAINED: usize = 64 * 1024;

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

/// What a test does to an [`Output`].
#[derive(Debug, Clone)]
enum OutputOp {
    Write(usize),
    HandOut,
    Reclaim,
}

fn output_ops() -> impl Strategy<Value = Vec<OutputOp>> {
    let op = prop_oneof![
        3 => (0usize..40_000).prop_map(OutputOp::Write),
        2 => Just(OutputOp::HandOut),
        1 => Just(OutputOp::Reclaim),
    ];
    proptest::collection::vec(op, 0..40)
}

/// What a session or its runtime does to a [`Common`].
#[derive(Debug, Clone)]
enum Op {
    Write(usize),
    Receive(usize),
    Notify(u8),
    Ask(u8),
    Answer,
    StartTls,
    TlsStarted,
    Drain,
    Close,
    CountError,
    /// Drains `turn` until it says nothing.
    Poll,
    /// Moves the clock on.
    Wait(u64),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        3 => (0usize..3000).prop_map(Op::Write),
        1 => (0usize..100).prop_map(Op::Receive),
        2 => any::<u8>().prop_map(Op::Notify),
        2 => any::<u8>().prop_map(Op::Ask),
        2 => Just(Op::Answer),
        1 => Just(Op::StartTls),
        1 => Just(Op::TlsStarted),
        1 => Just(Op::Drain),
        1 => Just(Op::Close),
        2 => Just(Op::CountError),
        4 => Just(Op::Poll),
        1 => (0u64..100).prop_map(Op::Wait),
    ];
    proptest::collection::vec(op, 0..60)
}

proptest! {
    #[test]
    fn output_hands_out_what_was_written(ops in output_ops(), high_water in 1usize..20_000) {
        let mut out = Output::new(high_water);
        let mut pending = 0usize;
        let mut next = 0u8;
        let mut expected = Vec::new();
        for op in ops {
            match op {
                OutputOp::Write(n) => {
                    let bytes: Vec<u8> = (0..n).map(|_| { next = next.wrapping_add(1); next }).collect();
                    out.buf().extend_from_slice(&bytes);
                    expected.extend_from_slice(&bytes);
                    pending += n;
                }
                OutputOp::HandOut => {
                    prop_assert_eq!(out.hand_out(), expected.as_slice());
                    expected.clear();
                    pending = 0;
                }
                OutputOp::Reclaim => {
                    out.reclaim();
                    if pending == 0 {
                        prop_assert!(out.capacity() <= RETAINED);
                    }
                }
            }
            prop_assert_eq!(out.len(), pending);
            prop_assert_eq!(out.is_full(), pending >= high_water);
        }
    }

    #[test]
    fn the_skeleton_keeps_its_order_whatever_happens(
        ops in ops(),
        tls in any::<bool>(),
        high_water in 1usize..5000,
        max_errors in 0u32..5,
    ) {
        let start = Instant::now();
        let limit = Duration::from_secs(60);
        let mut now = start;
        let mut s: Common<u8, u8> = Common::new(
            Peer {
                addr: ([192, 0, 2, 1], 4000).into(),
                implicit_tls: tls,
            },
            InputBuffer::new(64),
            now,
            high_water,
            max_errors,
        );
        let mut question = None;
        let mut handed_out = false;
        let mut events = std::collections::VecDeque::new();
        let mut closes = 0;
        for op in ops {
            match op {
                Op::Write(n) => {
                    let out = s.out();
                    out.resize(out.len() + n, b'x');
                }
                Op::Receive(n) => {
                    let capacity = s.input_capacity();
                    let taken = s.receive(&vec![b'x'; n], now);
                    prop_assert_eq!(taken, n.min(capacity));
                    s.input_mut().consume(taken);
                }
                Op::Notify(e) => {
                    s.notify(e);
                    events.push_back(e);
                }
                Op::Ask(q) if question.is_none() && !s.is_starting_tls() => {
                    s.ask(q);
                    question = Some(q);
                    handed_out = false;
                }
                Op::Ask(_) => {}
                Op::Answer => prop_assert_eq!(s.answer(now), question.take()),
                Op::StartTls if question.is_none() && !s.is_tls() => s.start_tls(),
                Op::StartTls => {}
                Op::TlsStarted => {
                    let starting = s.is_starting_tls();
                    prop_assert_eq!(s.tls_started(now), starting);
                }
                Op::Drain => s.drain(),
                Op::Close => {
                    if s.close() {
                        question = None;
                    }
                }
                Op::CountError => {
                    if s.count_error() {
                        prop_assert!(s.close());
                        question = None;
                    }
                }
                Op::Poll => {
                    while let Some(turn) = s.turn() {
                        prop_assert_eq!(closes, 0, "nothing after Close");
                        if let Turn::Event(e) = turn {
                            prop_assert_eq!(Some(e), events.pop_front());
                            continue;
                        }
                        prop_assert!(events.is_empty(), "events come first");
                        match turn {
                            Turn::Send(bytes) => prop_assert!(!bytes.is_empty()),
                            Turn::StartTls => prop_assert!(s.output().is_empty()),
                            Turn::Ask(q) => {
                                prop_assert!(!handed_out, "a question is handed out once");
                                prop_assert_eq!(Some(*q), question);
                                handed_out = true;
                            }
                            Turn::Close => closes += 1,
                            Turn::Event(_) => {}
                        }
                    }
                    prop_assert!(s.output().is_empty() || s.is_closed());
                }
                Op::Wait(secs) => now += Duration::from_secs(secs),
            }
            if s.is_closed() {
                prop_assert!(closes == 1 && !s.is_open());
            }
            prop_assert!(closes <= 1);
            let waiting = s.question().is_some() || s.is_starting_tls();
            if waiting || !s.is_open() {
                prop_assert_eq!(s.deadline(limit), None);
                prop_assert_eq!(s.input_capacity(), 0);
                prop_assert!(!s.may_step());
            } else {
                let deadline = s.deadline(limit);
                prop_assert!(deadline.is_some_and(|d| d >= start + limit && d <= now + limit));
            }
        }
    }
}
