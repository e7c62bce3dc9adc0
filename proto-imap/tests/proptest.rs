//! Property tests: commands round-trip through encode and parse (directly
//! and through the framer), arbitrary input never panics and never grows the
//! framer's buffer past its bound, and encoded responses are well formed.

use std::borrow::Cow;

use proptest::collection::vec;
use proptest::prelude::*;
use proto_imap::*;
use testkit::strategies::imap::{command, encoded, response, sequence_set};

/// Feeds `input` through a framer in `chunk`-sized pieces, accepting every
/// APPEND message, and rebuilds what it saw as commands (APPENDs put back
/// together from their frames).
fn through_framer(input: &[u8], chunk: usize) -> Vec<Command<'static>> {
    let mut framer = CommandFramer::new(FramerConfig {
        max_command: 1 << 20,
        ..FramerConfig::default()
    });
    let mut commands = Vec::new();
    let mut append: Option<(Tag<'static>, Mailbox<'static>, Vec<AppendMessage<'static>>)> = None;
    let mut rest = input;
    loop {
        let n = framer.feed(&rest[..rest.len().min(chunk)]);
        rest = &rest[n..];
        while let Some(frame) = framer.next_frame() {
            let owned_info = |info: AppendInfo<'_>| AppendMessage {
                options: AppendOptions {
                    flags: info
                        .options
                        .flags
                        .into_iter()
                        .map(Flag::into_owned)
                        .collect(),
                    date: info.options.date,
                },
                binary: info.binary,
                utf8: info.utf8,
                data: Cow::Owned(Vec::new()),
            };
            match frame {
                Frame::Command(c) => commands.push(own(c)),
                Frame::Continue | Frame::AppendLiteralEnd => {}
                Frame::AppendStart {
                    tag,
                    mailbox,
                    message,
                } => {
                    append = Some((
                        tag.into_owned(),
                        mailbox.into_owned(),
                        vec![owned_info(message)],
                    ));
                    framer.accept_literal();
                }
                Frame::AppendNext(message) => {
                    append.as_mut().unwrap().2.push(owned_info(message));
                    framer.accept_literal();
                }
                Frame::LiteralChunk(data) => {
                    append
                        .as_mut()
                        .unwrap()
                        .2
                        .last_mut()
                        .unwrap()
                        .data
                        .to_mut()
                        .extend_from_slice(data);
                }
                Frame::AppendEnd => {
                    let (tag, mailbox, messages) = append.take().unwrap();
                    commands.push(Command {
                        tag,
                        body: CommandBody::Append { mailbox, messages },
                    });
                }
                Frame::Rejected(r) => panic!("rejected: {}", r.error),
            }
        }
        if rest.is_empty() {
            return commands;
        }
    }
}

/// A parsed command with every borrow turned into an owned copy, by way of
/// the wire format (which the round-trip property says is lossless).
fn own(command: Command<'_>) -> Command<'static> {
    let bytes: &'static [u8] = Box::leak(encoded(&command).into_boxed_slice());
    parse_command(bytes).unwrap()
}

// ---------------------------------------------------------------- responses

/// Checks the shape of encoded responses: each ends in CRLF, CR and LF occur
/// only there or inside literals, quoted strings close, literals have their
/// announced length, brackets and parentheses balance.
fn assert_well_formed(mut wire: &[u8]) {
    while !wire.is_empty() {
        let mut depth: i64 = 0;
        let mut i = 0;
        loop {
            match wire.get(i).copied() {
                None => panic!(
                    "response not terminated: {:?}",
                    String::from_utf8_lossy(wire)
                ),
                Some(b'"') => {
                    i += 1;
                    loop {
                        match wire.get(i).copied() {
                            Some(b'\\') => i += 2,
                            Some(b'"') => break,
                            Some(b'\r' | b'\n') | None => panic!("bad quoted string"),
                            Some(_) => i += 1,
                        }
                    }
                    i += 1;
                }
                Some(b'{') => {
                    let close = i + wire[i..]
                        .iter()
                        .position(|&b| b == b'}')
                        .expect("literal header");
                    let n: usize = std::str::from_utf8(&wire[i + 1..close])
                        .unwrap()
                        .parse()
                        .unwrap();
                    assert_eq!(&wire[close + 1..close + 3], b"\r\n");
                    i = close + 3 + n;
                    assert!(i <= wire.len(), "literal overruns");
                }
                Some(b'(') => {
                    depth += 1;
                    i += 1;
                }
                Some(b')') => {
                    depth -= 1;
                    assert!(depth >= 0, "unbalanced )");
                    i += 1;
                }
                Some(b'\r') => {
                    assert_eq!(wire.get(i + 1), Some(&b'\n'));
                    assert_eq!(depth, 0, "unbalanced (");
                    wire = &wire[i + 2..];
                    break;
                }
                Some(b'\n') => panic!("bare LF"),
                Some(_) => i += 1,
            }
        }
    }
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn commands_round_trip(command in command()) {
        let wire = encoded(&command);
        let parsed = parse_command(&wire);
        prop_assert_eq!(parsed.as_ref().map_err(|r| r.error), Ok(&command), "{}", String::from_utf8_lossy(&wire));
        // What the session hands to the engine: the same command, owned.
        if let Ok(parsed) = parsed {
            prop_assert_eq!(parsed.into_owned(), command);
        }
    }

    #[test]
    fn framer_agrees_with_the_parser(commands in vec(command(), 1..4), chunk in 1usize..50) {
        let mut wire = Vec::new();
        for command in &commands {
            command.encode(&mut wire);
        }
        prop_assert_eq!(through_framer(&wire, chunk), commands);
    }

    #[test]
    fn sequence_sets_round_trip(set in sequence_set()) {
        let command = Command { tag: Tag::new("t").unwrap(), body: CommandBody::UidExpunge(set) };
        let wire = encoded(&command);
        prop_assert_eq!(parse_command(&wire).map_err(|r| r.error), Ok(command));
    }

    #[test]
    fn parser_never_panics(input in vec(any::<u8>(), 0..200)) {
        let _ = parse_command(&input);
    }

    #[test]
    fn parser_never_panics_on_near_commands(command in command(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut wire = encoded(&command);
        let at = cut.index(wire.len());
        wire[at] = byte;
        let _ = parse_command(&wire);
        let _ = parse_command(&wire[..at]);
    }

    #[test]
    fn framer_is_bounded_and_never_panics(
        pieces in vec(proptest::sample::select(vec![
            &b"a "[..], b"APPEND ", b"INBOX ", b"{3}\r\n", b"{3+}\r\n", b"~{2+}\r\n", b"abc", b"\r\n",
            b"\n", b"LOGIN ", b"(\\Seen) ", b"{999999+}\r\n", b"{40}\r\n", b"x", b" ",
            b"UID FETCH 1 BODY[]\r\n", b"UTF8 (", b"UTF8 (~{2}\r\n", b")",
        ]), 0..60),
        noise in vec(any::<u8>(), 0..40),
        chunk in 1usize..30,
        decisions in vec(any::<bool>(), 8),
        line_reads in any::<bool>(),
    ) {
        let mut input: Vec<u8> = pieces.concat();
        input.extend_from_slice(&noise);
        let config = FramerConfig { max_command: 64, max_literals: 2, max_message: 100, literal_plus: true };
        let mut framer = CommandFramer::new(config);
        let mut rest = &input[..];
        let mut decision = decisions.iter().cycle();
        while !rest.is_empty() && !framer.is_closed() {
            let n = framer.feed(&rest[..rest.len().min(chunk)]);
            rest = &rest[n..];
            prop_assert!(framer.buffered() <= config.max_command + 1);
            if line_reads {
                let _ = framer.next_line();
            }
            let mut progressed = n > 0;
            while let Some(frame) = framer.next_frame() {
                progressed = true;
                let accept = *decision.next().unwrap();
                match frame {
                    Frame::AppendStart { .. } | Frame::AppendNext(_) if accept => framer.accept_literal(),
                    Frame::AppendStart { .. } | Frame::AppendNext(_) | Frame::LiteralChunk(_) if !accept => {
                        framer.reject_command();
                    }
                    _ => {}
                }
            }
            prop_assert!(progressed || framer.is_closed(), "stuck with {} buffered", framer.buffered());
        }
    }

    #[test]
    fn responses_are_well_formed(responses in vec(response(), 1..4), utf8 in any::<bool>()) {
        let mut out = Vec::new();
        for response in &responses {
            response.encode(&mut out, EncodeOptions { utf8 });
        }
        assert_well_formed(&out);
    }
}
