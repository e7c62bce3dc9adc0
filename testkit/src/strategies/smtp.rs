//! SMTP (RFC 5321 and the extensions of RFC 1870, 3030, 3207, 3461, 4954, 6152, 6531, 8689):
//! commands as a client sends them, replies as a server does, and hostile input.

use std::borrow::Cow;

use proptest::prelude::*;
use proto_smtp::{Body, Command, MailParams, Notify, RcptParams, Reply, Ret};

/// A command's bytes on the wire, CRLF included.
pub fn command_line() -> impl Strategy<Value = Vec<u8>> {
    command().prop_map(|owned| {
        let mut wire = Vec::new();
        owned.command().encode(&mut wire);
        wire
    })
}

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

/// A command with what it borrows owned, so a strategy can make it; [`OwnedCommand::command`]
/// lends the `proto-smtp` command.
#[derive(Clone, Debug)]
pub enum OwnedCommand {
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

impl OwnedCommand {
    pub fn command(&self) -> Command<'_> {
        match self {
            OwnedCommand::Ehlo(d) => Command::Ehlo(d),
            OwnedCommand::Helo(d) => Command::Helo(d),
            OwnedCommand::Mail(from, params) => Command::Mail {
                from,
                params: params.clone(),
            },
            OwnedCommand::Rcpt(to, params) => Command::Rcpt {
                to,
                params: params.clone(),
            },
            OwnedCommand::Data => Command::Data,
            OwnedCommand::Bdat(size, last) => Command::Bdat {
                size: *size,
                last: *last,
            },
            OwnedCommand::Rset => Command::Rset,
            OwnedCommand::Noop => Command::Noop,
            OwnedCommand::Quit => Command::Quit,
            OwnedCommand::Vrfy(s) => Command::Vrfy(s),
            OwnedCommand::Expn(s) => Command::Expn(s),
            OwnedCommand::Help(s) => Command::Help(s.as_deref()),
            OwnedCommand::StartTls => Command::StartTls,
            OwnedCommand::Auth(m, i) => Command::Auth {
                mechanism: m,
                initial: i.as_deref(),
            },
        }
    }
}

/// Any command a client may send, every parameter the extensions Postern offers included.
pub fn command() -> impl Strategy<Value = OwnedCommand> {
    prop_oneof![
        domain().prop_map(OwnedCommand::Ehlo),
        domain().prop_map(OwnedCommand::Helo),
        (prop_oneof![Just(String::new()), address()], mail_params())
            .prop_map(|(a, p)| OwnedCommand::Mail(a, p)),
        (address(), rcpt_params()).prop_map(|(a, p)| OwnedCommand::Rcpt(a, p)),
        Just(OwnedCommand::Data),
        (any::<u64>(), any::<bool>()).prop_map(|(s, l)| OwnedCommand::Bdat(s, l)),
        Just(OwnedCommand::Rset),
        Just(OwnedCommand::Noop),
        Just(OwnedCommand::Quit),
        text().prop_map(OwnedCommand::Vrfy),
        text().prop_map(OwnedCommand::Expn),
        proptest::option::of(text()).prop_map(OwnedCommand::Help),
        Just(OwnedCommand::StartTls),
        (
            "[A-Z0-9_-]{1,20}",
            proptest::option::of("[A-Za-z0-9+/]{1,30}={0,2}|=")
        )
            .prop_map(|(m, i)| OwnedCommand::Auth(m, i)),
    ]
}

/// Any reply a server may send: one or more lines, with or without an enhanced code.
pub fn reply() -> impl Strategy<Value = Reply> {
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

/// Input fragments that reach a server's deep states, mixed with arbitrary bytes: what a
/// server must survive, in any chunks.
pub fn hostile_input() -> impl Strategy<Value = Vec<u8>> {
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
