//! Property tests: wire round-trips, no panic and bounded memory on any input,
//! and dot-stuffing transparency.

mod common;

use std::borrow::Cow;

use common::{Ev, Harness, MAX_BUFFERED, config, dot_stuff};
use proptest::prelude::*;
use proto_smtp::{
    Body, Command, MailParams, Notify, RcptParams, Reply, Ret, Session, parse_command, parse_reply,
};

fn domain() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{1,10}(\\.[a-z0-9-]{1,10}){0,3}",
        "\\[[0-9]{1,3}(\\.[0-9]{1,3}){3}\\]",
        "b\u{fc}cher\\.[a-z]{2,5}",
    ]
}

fn address() -> impl Strategy<Value = String> {
    let local = prop_oneof![
        "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,16}(\\.[a-z0-9]{1,8}){0,2}",
        "\"[a-z @,;<>]{0,10}\"",
        "j\u{f6}rg",
    ];
    (local, domain()).prop_map(|(l, d)| format!("{l}@{d}"))
}

fn text() -> impl Strategy<Value = String> {
    "[!-~]([ -~]{0,20}[!-~])?"
}

fn mail_params() -> impl Strategy<Value = MailParams> {
    (
        proptest::option::of(any::<u64>()),
        proptest::option::of(prop_oneof![Just(Body::SevenBit), Just(Body::EightBitMime)]),
        any::<bool>(),
        proptest::option::of(prop_oneof![Just(Ret::Full), Just(Ret::Hdrs)]),
        proptest::option::of("[ -~\u{e9}]{1,20}"),
        proptest::option::of(prop_oneof![Just("<>".to_string()), address()]),
        any::<bool>(),
    )
        .prop_map(
            |(size, body, smtputf8, ret, envid, auth, require_tls)| MailParams {
                size,
                body,
                smtputf8,
                ret,
                envid,
                auth,
                require_tls,
            },
        )
}

fn rcpt_params() -> impl Strategy<Value = RcptParams> {
    let notify = prop_oneof![
        Just(Notify {
            never: true,
            ..Notify::default()
        }),
        (any::<bool>(), any::<bool>(), any::<bool>())
            .prop_filter("one flag", |(s, f, d)| *s || *f || *d)
            .prop_map(|(success, failure, delay)| Notify {
                never: false,
                success,
                failure,
                delay
            }),
    ];
    let orcpt = ("rfc822|utf-8", "[ -~]{1,30}").prop_map(|(k, a)| format!("{k};{a}"));
    (proptest::option::of(notify), proptest::option::of(orcpt))
        .prop_map(|(notify, orcpt)| RcptParams { notify, orcpt })
}

/// Commands own their strings here; `Command` borrows them.
#[derive(Debug, Clone)]
enum Owned {
    Ehlo(String),
    Helo(String),
    Mail(String, MailParams),
    Rcpt(String, RcptParams),
    Data,
    Bdat(u64, bool),
    Rset,
    Noop,
    Quit,
    Vrfy(String),
    Expn(String),
    Help(Option<String>),
    StartTls,
    Auth(String, Option<String>),
}

impl Owned {
    fn command(&self) -> Command<'_> {
        match self {
            Owned::Ehlo(d) => Command::Ehlo(d),
            Owned::Helo(d) => Command::Helo(d),
            Owned::Mail(from, params) => Command::Mail {
                from,
                params: params.clone(),
            },
            Owned::Rcpt(to, params) => Command::Rcpt {
                to,
                params: params.clone(),
            },
            Owned::Data => Command::Data,
            Owned::Bdat(size, last) => Command::Bdat {
                size: *size,
                last: *last,
            },
            Owned::Rset => Command::Rset,
            Owned::Noop => Command::Noop,
            Owned::Quit => Command::Quit,
            Owned::Vrfy(s) => Command::Vrfy(s),
            Owned::Expn(s) => Command::Expn(s),
            Owned::Help(s) => Command::Help(s.as_deref()),
            Owned::StartTls => Command::StartTls,
            Owned::Auth(m, i) => Command::Auth {
                mechanism: m,
                initial: i.as_deref(),
            },
        }
    }
}

fn command() -> impl Strategy<Value = Owned> {
    prop_oneof![
        domain().prop_map(Owned::Ehlo),
        domain().prop_map(Owned::Helo),
        (prop_oneof![Just(String::new()), address()], mail_params())
            .prop_map(|(a, p)| Owned::Mail(a, p)),
        (address(), rcpt_params()).prop_map(|(a, p)| Owned::Rcpt(a, p)),
        Just(Owned::Data),
        (any::<u64>(), any::<bool>()).prop_map(|(s, l)| Owned::Bdat(s, l)),
        Just(Owned::Rset),
        Just(Owned::Noop),
        Just(Owned::Quit),
        text().prop_map(Owned::Vrfy),
        text().prop_map(Owned::Expn),
        proptest::option::of(text()).prop_map(Owned::Help),
        Just(Owned::StartTls),
        (
            "[A-Z0-9_-]{1,20}",
            proptest::option::of("[A-Za-z0-9+/]{1,30}={0,2}|=")
        )
            .prop_map(|(m, i)| Owned::Auth(m, i)),
    ]
}

fn reply() -> impl Strategy<Value = Reply> {
    let enhanced = proptest::option::of((
        prop_oneof![Just(2u8), Just(4), Just(5)],
        0u16..1000,
        0u16..1000,
    ));
    (
        200u16..600,
        enhanced,
        proptest::collection::vec("[ -~\u{e9}]{0,30}", 1..4),
    )
        .prop_map(|(code, enhanced, lines)| {
            let mut text = lines.join("\n");
            if enhanced.is_none() && text.starts_with(|c: char| c.is_ascii_digit()) {
                // "2.0.0 x" without an enhanced code would read back as one.
                text.insert(0, 'x');
            }
            Reply {
                code,
                enhanced,
                text: Cow::Owned(text),
            }
        })
}

/// Input fragments that reach deep states, mixed with arbitrary bytes.
fn hostile_input() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"EHLO x\r\n".to_vec()),
        Just(b"MAIL FROM:<a@b> SIZE=10\r\n".to_vec()),
        Just(b"RCPT TO:<c@d>\r\n".to_vec()),
        Just(b"RCPT TO:<unknown@d>\r\n".to_vec()),
        Just(b"DATA\r\n".to_vec()),
        Just(b"BDAT 5\r\n".to_vec()),
        Just(b"BDAT 3 LAST\r\n".to_vec()),
        Just(b"RSET\r\n".to_vec()),
        Just(b"STARTTLS\r\n".to_vec()),
        Just(b"AUTH LOGIN\r\n".to_vec()),
        Just(b"AUTH PLAIN AHVzZXIAc2VjcmV0\r\n".to_vec()),
        Just(b"\r\n.\r\n".to_vec()),
        Just(b"\n.\n".to_vec()),
        Just(b"*\r\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(
            prop_oneof![Just(b'x'), Just(b'\r'), Just(b'\n'), Just(b'.')],
            0..2000
        ),
    ];
    proptest::collection::vec(token, 0..40).prop_map(|parts| parts.concat())
}

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
