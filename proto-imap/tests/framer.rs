//! The command framer: literals, continuations, streamed APPEND, limits.

use proto_core::input::Input;
use proto_imap::*;

/// What came out of the framer, owned and easy to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    /// A command, re-encoded.
    Command(String),
    /// The response owed for a refusal, and whether it was fatal.
    Rejected(String, bool),
    Continue,
    AppendStart {
        tag: String,
        mailbox: String,
        flags: usize,
        size: u32,
        binary: bool,
        utf8: bool,
    },
    AppendNext {
        flags: usize,
        size: u32,
        binary: bool,
        utf8: bool,
    },
    /// Consecutive literal chunks, joined.
    Data(String),
    LiteralEnd,
    AppendEnd,
}

fn config() -> FramerConfig {
    FramerConfig {
        max_command: 200,
        max_literals: 3,
        max_message: 1000,
        literal_plus: true,
    }
}

/// Feeds `input` `chunk` octets at a time, draining frames after each feed
/// and then resting, as a runtime does before it waits for more; `decide`
/// accepts (`true`) or rejects each APPEND message. Checks that the buffer
/// never exceeds its bound.
fn run_with(
    config: FramerConfig,
    input: &[u8],
    chunk: usize,
    mut decide: impl FnMut(&Ev) -> bool,
) -> Vec<Ev> {
    let mut framer = CommandFramer::new(config);
    let mut events: Vec<Ev> = Vec::new();
    let mut rest = input;
    loop {
        let offer = rest.len().min(chunk);
        let taken = framer.feed(&rest[..offer]);
        rest = &rest[taken..];
        assert!(framer.buffered() <= config.max_command + 1);
        while let Some(frame) = framer.next_frame() {
            let ev = match frame {
                Frame::Command(c) => {
                    let mut out = Vec::new();
                    c.encode(&mut out);
                    Ev::Command(String::from_utf8_lossy(&out).into_owned())
                }
                Frame::Rejected(r) => {
                    let mut out = Vec::new();
                    r.response().encode(&mut out, EncodeOptions::default());
                    Ev::Rejected(String::from_utf8_lossy(&out).into_owned(), r.fatal)
                }
                Frame::Continue => Ev::Continue,
                Frame::AppendStart {
                    tag,
                    mailbox,
                    message,
                } => Ev::AppendStart {
                    tag: tag.to_string(),
                    mailbox: String::from_utf8_lossy(mailbox.as_bytes()).into_owned(),
                    flags: message.options.flags.len(),
                    size: message.size,
                    binary: message.binary,
                    utf8: message.utf8,
                },
                Frame::AppendNext(message) => Ev::AppendNext {
                    flags: message.options.flags.len(),
                    size: message.size,
                    binary: message.binary,
                    utf8: message.utf8,
                },
                Frame::LiteralChunk(data) => {
                    let data = String::from_utf8_lossy(data).into_owned();
                    if let Some(Ev::Data(prev)) = events.last_mut() {
                        prev.push_str(&data);
                        continue;
                    }
                    Ev::Data(data)
                }
                Frame::AppendLiteralEnd => Ev::LiteralEnd,
                Frame::AppendEnd => Ev::AppendEnd,
            };
            let decision = matches!(ev, Ev::AppendStart { .. } | Ev::AppendNext { .. });
            if decision && decide(&ev) {
                framer.accept_literal();
            } else if decision {
                framer.reject_command();
            }
            events.push(ev);
        }
        Input::rest(&mut framer);
        if framer.is_closed() || (rest.is_empty() && taken == 0) {
            return events;
        }
    }
}

/// Runs with every chunk size from 1 to the whole input and checks they all
/// give the same events.
fn run(input: &[u8], decide: impl Fn(&Ev) -> bool) -> Vec<Ev> {
    run_config(config(), input, decide)
}

fn run_config(config: FramerConfig, input: &[u8], decide: impl Fn(&Ev) -> bool) -> Vec<Ev> {
    let whole = run_with(config, input, input.len().max(1), &decide);
    for chunk in [1, 2, 3, 7, 64] {
        assert_eq!(
            run_with(config, input, chunk, &decide),
            whole,
            "chunk size {chunk}"
        );
    }
    whole
}

fn accept(_: &Ev) -> bool {
    true
}

fn cmd(s: &str) -> Ev {
    Ev::Command(s.to_owned())
}

fn rejected(s: &str, fatal: bool) -> Ev {
    Ev::Rejected(s.to_owned(), fatal)
}

#[test]
fn synchronizing_literal_asks_for_continuation() {
    assert_eq!(
        run(b"a LOGIN {5}\r\nalice {6}\r\nsecret\r\nb NOOP\r\n", accept),
        vec![
            Ev::Continue,
            Ev::Continue,
            cmd("a LOGIN alice secret\r\n"),
            cmd("b NOOP\r\n")
        ]
    );
}

#[test]
fn non_synchronizing_literal_does_not() {
    assert_eq!(
        run(b"a LOGIN {5+}\r\nalice {2+}\r\n\r\n\r\n", accept),
        vec![cmd("a LOGIN alice {2}\r\n\r\n\r\n")]
    );
}

#[test]
fn literal_data_that_looks_like_commands_stays_data() {
    assert_eq!(
        run(b"a SEARCH TEXT {11+}\r\nb LOGOUT\r\n{ SEEN\r\n", accept),
        vec![cmd("a SEARCH TEXT {11}\r\nb LOGOUT\r\n{ SEEN\r\n")]
    );
}

#[test]
fn empty_lines_between_commands_are_ignored() {
    assert_eq!(
        run(b"\r\n\na NOOP\r\n\r\n", accept),
        vec![cmd("a NOOP\r\n")]
    );
}

#[test]
fn bad_command_is_refused_and_the_next_one_parsed() {
    assert_eq!(
        run(b"a FROB {3+}\r\nx\r\n\r\nb NOOP\r\n", accept),
        vec![
            rejected("a BAD Unknown command\r\n", false),
            cmd("b NOOP\r\n")
        ]
    );
}

#[test]
fn no_continuation_for_a_command_that_cannot_be_valid() {
    assert_eq!(
        run(b"{5}\r\na FROB {3}\r\nb NOOP\r\n", accept),
        vec![
            rejected("* BAD Missing or invalid tag\r\n", false),
            rejected("a BAD Unknown command\r\n", false),
            cmd("b NOOP\r\n"),
        ]
    );
}

#[test]
fn append_streams_the_message() {
    let input = b"A1 APPEND Drafts (\\Draft \\Seen) \"01-Feb-1994 12:34:56 +0100\" {11}\r\nHello\r\nBob!\r\nA2 NOOP\r\n";
    assert_eq!(
        run(input, accept),
        vec![
            Ev::AppendStart {
                tag: "A1".into(),
                mailbox: "Drafts".into(),
                flags: 2,
                size: 11,
                binary: false,
                utf8: false
            },
            Ev::Continue,
            Ev::Data("Hello\r\nBob!".into()),
            Ev::LiteralEnd,
            Ev::AppendEnd,
            cmd("A2 NOOP\r\n"),
        ]
    );
}

#[test]
fn multiappend_with_literal8_and_mailbox_literal() {
    let input =
        b"a APPEND {5+}\r\nIn Bx {3+}\r\none (\\Seen) ~{4+}\r\nt\0wo {0+}\r\n\r\nb NOOP\r\n";
    assert_eq!(
        run(input, accept),
        vec![
            Ev::AppendStart {
                tag: "a".into(),
                mailbox: "In Bx".into(),
                flags: 0,
                size: 3,
                binary: false,
                utf8: false
            },
            Ev::Data("one".into()),
            Ev::LiteralEnd,
            Ev::AppendNext {
                flags: 1,
                size: 4,
                binary: true,
                utf8: false
            },
            Ev::Data("t\0wo".into()),
            Ev::LiteralEnd,
            Ev::AppendNext {
                flags: 0,
                size: 0,
                binary: false,
                utf8: false
            },
            Ev::LiteralEnd,
            Ev::AppendEnd,
            cmd("b NOOP\r\n"),
        ]
    );
}

#[test]
fn utf8_append_form_streams_like_any_message() {
    // RFC 6855 4: `UTF8 (` literal8 `)`; MULTIAPPEND goes on after the `)`,
    // and a plain literal inside is taken too.
    let input =
        b"a APPEND INBOX (\\Seen) UTF8 (~{5}\r\nhe)lo) UTF8 ({3+}\r\ntwo) {1+}\r\n3\r\nb NOOP\r\n";
    let start = Ev::AppendStart {
        tag: "a".into(),
        mailbox: "INBOX".into(),
        flags: 1,
        size: 5,
        binary: true,
        utf8: true,
    };
    let next = |size, utf8| Ev::AppendNext {
        flags: 0,
        size,
        binary: false,
        utf8,
    };
    assert_eq!(
        run(input, accept),
        vec![
            start.clone(),
            Ev::Continue,
            Ev::Data("he)lo".into()),
            Ev::LiteralEnd,
            next(3, true),
            Ev::Data("two".into()),
            Ev::LiteralEnd,
            next(1, false),
            Ev::Data("3".into()),
            Ev::LiteralEnd,
            Ev::AppendEnd,
            cmd("b NOOP\r\n"),
        ]
    );
    // Refused, the data and its `)` are skipped.
    let input = b"a APPEND INBOX (\\Seen) UTF8 (~{5+}\r\nhello)\r\nb NOOP\r\n";
    assert_eq!(run(input, |_| false), vec![start, cmd("b NOOP\r\n")]);
}

#[test]
fn utf8_append_form_must_be_well_formed() {
    // The `)` is missing (the rest of the line is dropped with the command),
    // or one comes where none is owed.
    for (input, expected) in [
        (
            &b"a APPEND INBOX UTF8 (~{3+}\r\nabc {1+}\r\nx\r\nb NOOP\r\n"[..],
            "\")\" after the UTF8 message",
        ),
        (
            b"a APPEND INBOX {3+}\r\nabc)\r\nb NOOP\r\n",
            "another message or end of line",
        ),
    ] {
        let events = run(input, accept);
        let refusal = format!("a BAD Syntax error in APPEND: expected {expected}\r\n");
        assert_eq!(events[3..], [rejected(&refusal, false), cmd("b NOOP\r\n")]);
    }
    // No parenthesis, or no literal in it: refused before any data.
    for input in [
        &b"a APPEND INBOX UTF8 ~{3+}\r\nabc\r\nb NOOP\r\n"[..],
        b"a APPEND INBOX UTF8 (\"abc\") {3+}\r\nabc\r\nb NOOP\r\n",
    ] {
        let events = run(input, accept);
        assert!(matches!(&events[0], Ev::Rejected(text, false) if text.starts_with("a BAD")));
        assert_eq!(events[1..], [cmd("b NOOP\r\n")]);
    }
}

#[test]
fn rejected_sync_append_sends_nothing_more() {
    let events = run(b"a APPEND Nope {5}\r\nb NOOP\r\n", |_| false);
    assert_eq!(
        events,
        vec![
            Ev::AppendStart {
                tag: "a".into(),
                mailbox: "Nope".into(),
                flags: 0,
                size: 5,
                binary: false,
                utf8: false
            },
            cmd("b NOOP\r\n"),
        ]
    );
}

#[test]
fn rejected_non_sync_multiappend_is_skipped_whole() {
    let input = b"a APPEND Nope {10+}\r\nb LOGOUT\r\n {10+}\r\nc LOGOUT\r\n {3}\r\nd NOOP\r\n";
    assert_eq!(
        run(input, |_| false),
        vec![
            Ev::AppendStart {
                tag: "a".into(),
                mailbox: "Nope".into(),
                flags: 0,
                size: 10,
                binary: false,
                utf8: false
            },
            cmd("d NOOP\r\n"),
        ]
    );
}

#[test]
fn rejecting_the_second_message_drops_the_rest() {
    let input = b"a APPEND X {1+}\r\n1 {10+}\r\nb LOGOUT\r\n\r\nc NOOP\r\n";
    let mut n = 0;
    let events = run_with(config(), input, input.len(), |_| {
        n += 1;
        n == 1
    });
    assert_eq!(
        events,
        vec![
            Ev::AppendStart {
                tag: "a".into(),
                mailbox: "X".into(),
                flags: 0,
                size: 1,
                binary: false,
                utf8: false
            },
            Ev::Data("1".into()),
            Ev::LiteralEnd,
            Ev::AppendNext {
                flags: 0,
                size: 10,
                binary: false,
                utf8: false
            },
            cmd("c NOOP\r\n"),
        ]
    );
}

#[test]
fn reject_in_the_middle_of_a_message() {
    let mut framer = CommandFramer::new(config());
    framer.feed(b"a APPEND X {20+}\r\n0123456789");
    assert!(matches!(
        framer.next_frame(),
        Some(Frame::AppendStart { .. })
    ));
    framer.accept_literal();
    assert_eq!(
        framer.next_frame(),
        Some(Frame::LiteralChunk(b"0123456789"))
    );
    assert_eq!(framer.next_frame(), None);
    framer.reject_command();
    framer.feed(b"b LOGOUT\r\n\r\nc NOOP\r\n");
    let Some(Frame::Command(c)) = framer.next_frame() else {
        panic!()
    };
    assert_eq!(c.tag.as_str(), "c");
}

#[test]
fn message_too_big() {
    assert_eq!(
        run(b"a APPEND X {1001}\r\nb NOOP\r\n", accept),
        vec![
            rejected("a NO [TOOBIG] Message too big\r\n", false),
            cmd("b NOOP\r\n")
        ]
    );
    assert_eq!(
        run(b"a APPEND X {1001+}\r\nb NOOP\r\n", accept),
        vec![rejected("a NO [TOOBIG] Message too big\r\n", true)]
    );
    assert_eq!(
        run(b"a APPEND X {1+}\r\nx {99999999999}\r\nb NOOP\r\n", accept),
        vec![
            Ev::AppendStart {
                tag: "a".into(),
                mailbox: "X".into(),
                flags: 0,
                size: 1,
                binary: false,
                utf8: false
            },
            Ev::Data("x".into()),
            Ev::LiteralEnd,
            rejected(
                "a BAD Syntax error in APPEND: expected another message or end of line\r\n",
                false
            ),
            cmd("b NOOP\r\n"),
        ]
    );
}

#[test]
fn malformed_append_prefix_skips_its_literal() {
    assert_eq!(
        run(b"a APPEND X (\\Seen {5+}\r\nb BAD\r\nc NOOP\r\n", accept),
        vec![
            rejected(
                "a BAD Syntax error in APPEND: expected flag list\r\n",
                false
            ),
            cmd("c NOOP\r\n")
        ]
    );
}

#[test]
fn small_literals_are_bounded() {
    assert_eq!(
        run(b"a LOGIN {300}\r\nb NOOP\r\n", accept),
        vec![
            rejected("a BAD [TOOBIG] Literal too big\r\n", false),
            cmd("b NOOP\r\n")
        ]
    );
    // A non-synchronizing one the framer can afford to skip is skipped.
    let mut input = b"a LOGIN {300+}\r\n".to_vec();
    input.extend_from_slice(&[b'x'; 300]);
    input.extend_from_slice(b" y\r\nb NOOP\r\n");
    assert_eq!(
        run(&input, accept),
        vec![
            rejected("a BAD [TOOBIG] Literal too big\r\n", false),
            cmd("b NOOP\r\n")
        ]
    );
    assert_eq!(
        run(b"a LOGIN {4294967296+}\r\nb NOOP\r\n", accept),
        vec![rejected("a BAD [TOOBIG] Literal too big\r\n", true)]
    );
}

#[test]
fn literal_count_is_bounded() {
    let input =
        b"a SEARCH TEXT {1+}\r\na TEXT {1+}\r\nb TEXT {1+}\r\nc TEXT {1+}\r\nd\r\ne NOOP\r\n";
    assert_eq!(
        run(input, accept),
        vec![
            rejected("a BAD [LIMIT] Too many literals in one command\r\n", false),
            cmd("e NOOP\r\n")
        ]
    );
}

#[test]
fn over_long_command_is_fatal() {
    let mut input = b"a1 SEARCH TEXT ".to_vec();
    input.extend_from_slice(&[b'x'; 300]);
    input.extend_from_slice(b"\r\nb NOOP\r\n");
    assert_eq!(
        run(&input, accept),
        vec![rejected("a1 BAD [TOOBIG] Command too long\r\n", true)]
    );
    // Literal data counts towards the limit.
    let mut input = b"a LOGIN {150}\r\n".to_vec();
    input.extend_from_slice(&[b'x'; 150]);
    input.extend_from_slice(b" {40}\r\n");
    input.extend_from_slice(&[b'y'; 40]);
    input.extend_from_slice(b"\r\n");
    let events = run(&input, accept);
    assert_eq!(
        events[..2],
        [
            Ev::Continue,
            rejected("a BAD [TOOBIG] Literal too big\r\n", false)
        ]
    );
}

#[test]
fn literal_minus_limits_non_synchronizing_literals() {
    let minus = FramerConfig {
        literal_plus: false,
        max_command: 10_000,
        max_message: 10_000,
        ..config()
    };
    let mut ok = b"a LOGIN {4096+}\r\n".to_vec();
    ok.extend_from_slice(&[b'x'; 4096]);
    ok.extend_from_slice(b" y\r\n");
    assert!(matches!(
        run_config(minus, &ok, accept)[..],
        [Ev::Command(_)]
    ));
    assert_eq!(
        run_config(minus, b"a LOGIN {4097}\r\n", accept),
        vec![Ev::Continue],
        "synchronizing literals are not limited by LITERAL-"
    );
    let mut append = b"a APPEND X {5000+}\r\n".to_vec();
    append.extend_from_slice(&[b'x'; 5000]);
    append.extend_from_slice(b"\r\nb NOOP\r\n");
    assert_eq!(
        run_config(minus, &append, accept),
        vec![
            rejected("a BAD [TOOBIG] Literal too big\r\n", false),
            cmd("b NOOP\r\n")
        ]
    );
}

#[test]
fn raw_lines_for_idle_and_authenticate() {
    let mut framer = CommandFramer::new(config());
    framer.feed(b"a IDLE\r\nDONE\r\nb AUTHENTICATE PLAIN\r\nAGEAYg==\r\n*\r\n");
    assert!(matches!(framer.next_frame(), Some(Frame::Command(_))));
    assert_eq!(framer.next_line().unwrap().map(parse_idle_done), Ok(Ok(())));
    assert!(matches!(framer.next_frame(), Some(Frame::Command(_))));
    let line = framer.next_line().unwrap().unwrap();
    assert_eq!(
        parse_authenticate_line(line),
        Ok(AuthenticateLine::Response(b"\0a\0b".to_vec()))
    );
    assert_eq!(framer.next_line(), Some(Ok(&b"*"[..])));
    assert_eq!(framer.next_line(), None);
    framer.feed(&[b'x'; 300]);
    assert_eq!(framer.next_line(), Some(Err(ParseError::CommandTooLong)));
    assert!(framer.is_closed());
    assert_eq!(framer.feed(b"more"), 0);
}

#[test]
fn big_message_streams_through_a_small_buffer() {
    let config = FramerConfig {
        max_command: 100,
        max_message: 2_000_000,
        ..config()
    };
    let mut input = b"a APPEND INBOX {1000000+}\r\n".to_vec();
    let message: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    input.extend_from_slice(&message);
    input.extend_from_slice(b"\r\nb NOOP\r\n");
    let mut framer = CommandFramer::new(config);
    let mut rest = &input[..];
    let mut received = Vec::new();
    let mut done = false;
    while !done {
        let n = framer.feed(rest);
        rest = &rest[n..];
        assert!(framer.buffered() <= 101);
        while let Some(frame) = framer.next_frame() {
            match frame {
                Frame::AppendStart { .. } => framer.accept_literal(),
                Frame::LiteralChunk(chunk) => received.extend_from_slice(chunk),
                Frame::Command(c) => {
                    assert_eq!(c.tag.as_str(), "b");
                    done = true;
                }
                Frame::AppendLiteralEnd | Frame::AppendEnd => {}
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(received, message);
}

/// `max_command: usize::MAX` is how an embedder says "no limit of my own";
/// computing the buffer's room (`max_command + 1`) used to overflow, a panic
/// in debug builds and a framer that never took input in release builds.
#[test]
fn unbounded_command_limit() {
    let config = FramerConfig {
        max_command: usize::MAX,
        ..config()
    };
    let mut framer = CommandFramer::new(config);
    assert_eq!(framer.feed(b"a NOOP\r\nb LOGIN {5}\r\n"), 21);
    assert!(matches!(framer.next_frame(), Some(Frame::Command(c)) if c.tag.as_str() == "a"));
    assert_eq!(framer.next_frame(), Some(Frame::Continue));
}
