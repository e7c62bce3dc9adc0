//! SASL PLAIN and LOGIN decoding, through the sessions that do it: SMTP `AUTH PLAIN|LOGIN`,
//! POP3 `AUTH PLAIN` and IMAP `AUTHENTICATE PLAIN`, each with the response on the command
//! line (initial response, SASL-IR) or after the challenge. Nothing panics, and every
//! credential a session hands the engine is checked against a plain reading of RFC 4616
//! and RFC 4954 / 5034 / 9051:
//! - what a session asks the engine about decodes from the responses as sent, unchanged,
//!   with a user name and a password, and no one else's authorization identity (one rule
//!   for every protocol, proto-core's: empty or the user's own);
//! - a response the session reads exactly as sent (no blanks, short), in padded base64, of
//!   a well-formed message with an empty or the user's own authorization identity, is
//!   handed to the engine.
//! Whether unpadded base64 is taken is left open: IMAP's SASL-IR grammar wants padding,
//! the other responses are read leniently.
//!
//! Input: one mode octet, then responses separated by CR or LF (up to 16 exchanges). Mode:
//! bits 0-1 the protocol (0 SMTP, 1 POP3, 2 IMAP, 3 SMTP LOGIN, which takes two responses);
//! bit 2 the first response on the command line; bit 3 the responses are raw SASL
//! messages the target base64-encodes (bit 4: without padding) rather than lines as sent.
#![no_main]

use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{
    GeneralPurpose, GeneralPurposeConfig, STANDARD, STANDARD_NO_PAD,
};
use libfuzzer_sys::fuzz_target;
use proto_core::login::LoginError;
use proto_core::session::{Action, Peer, Session as _};

/// What a session hands the engine: authzid, user name, password.
type Creds = (String, String, String);

#[derive(Clone, Copy, PartialEq)]
enum Protocol {
    Smtp,
    SmtpLogin,
    Pop3,
    Imap,
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, payload)) = data.split_first() else {
        return;
    };
    let protocol = [
        Protocol::Smtp,
        Protocol::Pop3,
        Protocol::Imap,
        Protocol::SmtpLogin,
    ][usize::from(mode & 3)];
    let inline = mode & 4 != 0;
    let encode = |piece: &[u8]| match (mode & 8 != 0, mode & 16 != 0) {
        (false, _) => piece.to_vec(),
        (true, false) => STANDARD.encode(piece).into_bytes(),
        (true, true) => STANDARD_NO_PAD.encode(piece).into_bytes(),
    };
    let mut lines = payload
        .split(|&b| b == b'\n' || b == b'\r')
        .map(encode)
        .take(16);
    let mut session = Session::new(protocol);
    while let Some(first) = lines.next() {
        if session.closed() {
            return;
        }
        let responses = match protocol {
            Protocol::SmtpLogin => vec![first, lines.next().unwrap_or_default()],
            _ => vec![first],
        };
        let shown = || {
            responses
                .iter()
                .map(|r| String::from_utf8_lossy(r).into_owned())
                .collect::<Vec<_>>()
        };
        let emitted = session.exchange(&responses, inline);
        assert!(
            emitted.len() <= 1,
            "one exchange, several credentials: {emitted:?}"
        );
        // POP3 and SMTP separate a command's arguments by blanks and ignore blanks around
        // them (RFC 1939 §3 and RFC 5321 §4.1.1 ask for one space; tabs and extra spaces are
        // taken too): a response on the command line is read without them.
        let as_read: Vec<Vec<u8>> = responses
            .iter()
            .enumerate()
            .map(|(i, r)| match (protocol, inline, i) {
                (Protocol::Pop3 | Protocol::Smtp | Protocol::SmtpLogin, true, 0) => {
                    trim_blanks(r).to_vec()
                }
                _ => r.clone(),
            })
            .collect();
        match emitted.into_iter().next() {
            Some((authzid, user, pass)) => {
                let (ref_authzid, ref_user, ref_pass) = reference(protocol, &as_read, lenient)
                    .unwrap_or_else(|| {
                        panic!("credentials from malformed responses {:?}", shown())
                    });
                assert_eq!(
                    (&user, &pass),
                    (&ref_user, &ref_pass),
                    "responses {:?}",
                    shown()
                );
                assert_eq!(authzid, ref_authzid, "responses {:?}", shown());
                assert!(
                    ref_authzid.is_empty() || ref_authzid == user,
                    "acting for {ref_authzid:?}: {:?}",
                    shown()
                );
            }
            None => {
                let exact = responses
                    .iter()
                    .all(|r| r.len() <= 200 && !r.iter().any(u8::is_ascii_whitespace));
                if let Some((authzid, user, _)) =
                    reference(protocol, &responses, padded).filter(|_| exact)
                {
                    assert!(
                        !(authzid.is_empty() || authzid == user),
                        "well-formed credentials not handed over: {:?}",
                        shown()
                    );
                }
            }
        }
    }
});

/// `bytes` without the spaces and tabs around it.
fn trim_blanks(bytes: &[u8]) -> &[u8] {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !blank(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// Base64 with or without padding; `=` alone is the empty response.
fn lenient(response: &[u8]) -> Option<Vec<u8>> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    match response {
        b"=" => Some(Vec::new()),
        _ => LENIENT.decode(response).ok(),
    }
}

/// Padded base64 only, which every protocol must take.
fn padded(response: &[u8]) -> Option<Vec<u8>> {
    match response {
        b"=" => Some(Vec::new()),
        _ => STANDARD.decode(response).ok(),
    }
}

/// The credentials the responses carry, read with `decode`; `None` when they carry none
/// (not base64, not UTF-8, not `authzid NUL user NUL password`, an empty user or password).
fn reference(
    protocol: Protocol,
    responses: &[Vec<u8>],
    decode: fn(&[u8]) -> Option<Vec<u8>>,
) -> Option<(String, String, String)> {
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).ok().filter(|t| !t.is_empty());
    if protocol == Protocol::SmtpLogin {
        let user = text(decode(&responses[0])?)?;
        let pass = text(decode(&responses[1])?)?;
        return Some((String::new(), user, pass));
    }
    let message = String::from_utf8(decode(&responses[0])?).ok()?;
    let [authzid, user, pass] =
        <[&str; 3]>::try_from(message.split('\0').collect::<Vec<_>>()).ok()?;
    if user.is_empty() || pass.is_empty() {
        return None;
    }
    Some((authzid.into(), user.into(), pass.into()))
}

/// A session of one protocol, and what it last sent.
struct Session {
    inner: Inner,
    output: Vec<u8>,
    /// The clock stands still: no timeout interferes.
    now: Instant,
}

enum Inner {
    Smtp(proto_smtp::ServerSession),
    Pop3(proto_pop3::ServerSession),
    Imap(proto_imap::ServerSession),
}

impl Session {
    fn new(protocol: Protocol) -> Self {
        let now = Instant::now();
        let peer = ([127, 0, 0, 1], 4000).into();
        let inner = match protocol {
            Protocol::Smtp | Protocol::SmtpLogin => {
                let mut config = proto_smtp::ServerConfig::new("fuzz.test");
                config.auth_without_tls = true;
                config.max_errors = u32::MAX;
                Inner::Smtp(proto_smtp::ServerSession::new(
                    Arc::new(config),
                    Peer {
                        addr: peer,
                        implicit_tls: false,
                    },
                    now,
                ))
            }
            Protocol::Pop3 => {
                let mut config = proto_pop3::ServerConfig::new("fuzz.test");
                config.auth_without_tls = true;
                config.max_errors = u32::MAX;
                Inner::Pop3(proto_pop3::ServerSession::new(
                    Arc::new(config),
                    Peer {
                        addr: peer,
                        implicit_tls: false,
                    },
                    now,
                ))
            }
            Protocol::Imap => {
                let mut config = proto_imap::ServerConfig::new("fuzz.test");
                config.auth_without_tls = true;
                config.max_errors = u32::MAX;
                Inner::Imap(proto_imap::ServerSession::new(
                    Arc::new(config),
                    Peer {
                        addr: peer,
                        implicit_tls: false,
                    },
                    now,
                ))
            }
        };
        let smtp = matches!(inner, Inner::Smtp(_));
        let mut session = Session {
            inner,
            output: Vec::new(),
            now,
        };
        if smtp {
            assert!(session.send(b"EHLO client.test").is_empty());
        }
        session
    }

    /// Whether the last reply is a SASL challenge (`334 `, `+ `), which asks for a response.
    fn challenged(&self) -> bool {
        let last = self.output.strip_suffix(b"\r\n").unwrap_or(&self.output);
        let last = last.rsplit(|&b| b == b'\n').next().unwrap_or_default();
        last.starts_with(b"334 ") || last.starts_with(b"+ ") || last == b"+"
    }

    fn closed(&self) -> bool {
        match &self.inner {
            Inner::Smtp(s) => s.is_closed(),
            Inner::Pop3(s) => s.is_closed(),
            Inner::Imap(s) => s.is_closed(),
        }
    }

    /// One AUTH exchange; what the session asked the engine (always refused, so the next
    /// exchange can follow).
    fn exchange(&mut self, responses: &[Vec<u8>], inline: bool) -> Vec<Creds> {
        let verb: &[u8] = match self.inner {
            Inner::Smtp(_) | Inner::Pop3(_) => b"AUTH",
            Inner::Imap(_) => b"a AUTHENTICATE",
        };
        let mechanism: &[u8] = if responses.len() == 2 {
            b"LOGIN"
        } else {
            b"PLAIN"
        };
        let mut command = [verb, b" ", mechanism].concat();
        let mut rest = responses;
        if inline && !responses[0].is_empty() {
            command.extend_from_slice(b" ");
            command.extend_from_slice(&responses[0]);
            rest = &responses[1..];
        }
        let mut emitted = self.send(&command);
        for response in rest {
            if !emitted.is_empty() || self.closed() || !self.challenged() {
                break;
            }
            emitted.extend(self.send(response));
        }
        emitted
    }

    /// Sends a line and runs the session until it waits again.
    fn send(&mut self, line: &[u8]) -> Vec<Creds> {
        let bytes = [line, b"\r\n"].concat();
        let mut rest = &bytes[..];
        let mut emitted = Vec::new();
        self.output.clear();
        for _ in 0..1000 {
            self.drain(&mut emitted);
            if rest.is_empty() || self.closed() {
                return emitted;
            }
            let now = self.now;
            let used = match &mut self.inner {
                Inner::Smtp(s) => s.handle_input(rest, now),
                Inner::Pop3(s) => s.handle_input(rest, now),
                Inner::Imap(s) => s.handle_input(rest, now),
            };
            assert!(used > 0, "the session takes no input while waiting for it");
            rest = &rest[used..];
        }
        panic!("a line never processed");
    }

    fn drain(&mut self, emitted: &mut Vec<Creds>) {
        let (output, now) = (&mut self.output, self.now);
        /// Every session hands out the same `Login` and takes the same refusal.
        macro_rules! drain {
            ($session:expr, $action:ty) => {
                while let Some(action) = $session.poll_action() {
                    let action: $action = action;
                    match action {
                        Action::Login(credentials) => {
                            emitted.push((
                                credentials.authzid().into(),
                                credentials.username().into(),
                                credentials.password().into(),
                            ));
                            $session.login_result(Err(LoginError::BadCredentials), now);
                        }
                        Action::Send(bytes) => output.extend_from_slice(bytes),
                        Action::Close => break,
                        _ => {}
                    }
                }
            };
        }
        match &mut self.inner {
            Inner::Smtp(s) => drain!(s, proto_smtp::Action<'_>),
            Inner::Pop3(s) => drain!(s, proto_pop3::Action<'_>),
            Inner::Imap(s) => drain!(s, proto_imap::Action<'_>),
        }
    }
}
