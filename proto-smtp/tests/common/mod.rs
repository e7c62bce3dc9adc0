//! A scripted runtime for driving a `ServerSession` without sockets.
#![allow(dead_code)] // each test binary uses a different part

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto_smtp::{Action, LoginError, Peer, Reply, Request, ServerConfig, ServerSession, Session};

/// Largest `Send` the session may produce: its 8 KiB high-water mark plus one reply.
pub const MAX_SEND: usize = 16 * 1024;
/// Largest unprocessed input: 8 KiB plus one command line.
pub const MAX_BUFFERED: usize = 8 * 1024 + 1000;

/// What the session asked of the runtime, owned so the session can be used again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    Send(String),
    StartTls,
    Login {
        authzid: String,
        username: String,
        password: String,
    },
    Mail(String),
    Rcpt(String),
    DataStart,
    Data(Vec<u8>),
    DataEnd,
    DataAbort,
    Close,
}

impl Ev {
    fn from_action(action: Action<'_>) -> Self {
        match action {
            Action::Send(b) => Ev::Send(String::from_utf8_lossy(b).into_owned()),
            Action::StartTls => Ev::StartTls,
            Action::Login(credentials) => Ev::Login {
                authzid: credentials.authzid().into(),
                username: credentials.username().into(),
                password: credentials.password().into(),
            },
            Action::Request(Request::Mail { from, .. }) => Ev::Mail(from.into()),
            Action::Request(Request::Rcpt { to, .. }) => Ev::Rcpt(to.into()),
            Action::Request(Request::DataStart) => Ev::DataStart,
            Action::Request(Request::Data(d)) => Ev::Data(d.to_vec()),
            Action::Request(Request::DataEnd) => Ev::DataEnd,
            Action::Request(Request::DataAbort) => Ev::DataAbort,
            Action::Close => Ev::Close,
        }
    }
}

/// Drives a session like a runtime would, answering decisions from a script:
/// passwords equal to "secret" authenticate, "unavailable" is refused for
/// now, recipients starting with "unknown"
/// are refused, queued `mail_verdicts` answer `MAIL` (default accept), messages
/// are queued with "250 2.0.0 Queued".
pub struct Harness {
    pub session: ServerSession,
    pub now: Instant,
    /// Every action, in order.
    pub log: Vec<Ev>,
    /// The body being spooled.
    pub spool: Vec<u8>,
    /// Bodies committed after `DataEnd`.
    pub messages: Vec<Vec<u8>>,
    pub mail_verdicts: VecDeque<Result<(), Reply>>,
    /// Answer decisions automatically (otherwise the test calls the `*_result`s).
    pub auto: bool,
    /// Call `tls_started` right after `StartTls`.
    pub auto_tls: bool,
}

pub fn peer() -> SocketAddr {
    "192.0.2.7:40000".parse().unwrap()
}

pub fn config() -> ServerConfig {
    ServerConfig::new("mx.example.org")
}

impl Harness {
    pub fn new() -> Self {
        Self::with(config())
    }

    pub fn with(config: ServerConfig) -> Self {
        Self::start(config, false)
    }

    pub fn start(config: ServerConfig, implicit_tls: bool) -> Self {
        let now = Instant::now();
        let session = ServerSession::new(
            Arc::new(config),
            Peer {
                addr: peer(),
                implicit_tls,
            },
            now,
        );
        let mut h = Harness {
            session,
            now,
            log: Vec::new(),
            spool: Vec::new(),
            messages: Vec::new(),
            mail_verdicts: VecDeque::new(),
            auto: true,
            auto_tls: true,
        };
        let greeting = h.drive();
        assert_eq!(greeting, "220 mx.example.org ESMTP Postern\r\n");
        h
    }

    /// A session that already said EHLO.
    pub fn ehlo() -> Self {
        Self::ehlo_with(config())
    }

    pub fn ehlo_with(config: ServerConfig) -> Self {
        let mut h = Self::with(config);
        let reply = h.feed("EHLO client.example\r\n");
        assert!(reply.starts_with("250-mx.example.org\r\n"), "{reply}");
        h
    }

    /// Feeds everything (respecting `input_capacity`), driving between reads;
    /// returns all output produced meanwhile.
    pub fn feed(&mut self, input: impl AsRef<[u8]>) -> String {
        let mut input = input.as_ref();
        let mut out = self.drive();
        while !input.is_empty() {
            let n = self.session.handle_input(input, self.now);
            assert!(self.session.buffered_input() <= MAX_BUFFERED);
            input = &input[n..];
            out += &self.drive();
            if n == 0 && self.session.input_capacity() == 0 {
                break; // closed, or a decision left unanswered on purpose
            }
        }
        out
    }

    /// Feeds `input` in pieces of `step` bytes.
    pub fn feed_in(&mut self, input: impl AsRef<[u8]>, step: usize) -> String {
        input
            .as_ref()
            .chunks(step)
            .map(|piece| self.feed(piece))
            .collect()
    }

    /// Polls until idle; returns the output sent.
    pub fn drive(&mut self) -> String {
        let mut out = String::new();
        while let Some(action) = self.session.poll_action() {
            let ev = Ev::from_action(action);
            match &ev {
                Ev::Send(text) => {
                    assert!(!text.is_empty());
                    assert!(text.len() <= MAX_SEND, "oversized send: {}", text.len());
                    out += text;
                }
                Ev::DataStart => self.spool.clear(),
                Ev::Data(bytes) => self.spool.extend_from_slice(bytes),
                Ev::DataAbort => self.spool.clear(),
                Ev::DataEnd => self.messages.push(std::mem::take(&mut self.spool)),
                _ => {}
            }
            self.log.push(ev.clone());
            if self.auto {
                self.answer(&ev);
            }
        }
        out
    }

    fn answer(&mut self, ev: &Ev) {
        match ev {
            Ev::StartTls if self.auto_tls => self.session.tls_started(self.now),
            Ev::Login { password, .. } => {
                let verdict = match password.as_str() {
                    "secret" => Ok(()),
                    "unavailable" => Err(LoginError::Unavailable),
                    _ => Err(LoginError::BadCredentials),
                };
                self.session.login_result(verdict, self.now);
            }
            Ev::Mail(_) => {
                let verdict = self.mail_verdicts.pop_front().unwrap_or(Ok(()));
                self.session.mail_result(verdict, self.now);
            }
            Ev::Rcpt(to) if to.starts_with("unknown") => self
                .session
                .rcpt_result(Err(Reply::new(550, (5, 1, 1), "No such user")), self.now),
            Ev::Rcpt(_) => self.session.rcpt_result(Ok(()), self.now),
            Ev::DataEnd => self
                .session
                .data_result(Reply::new(250, (2, 0, 0), "Queued"), self.now),
            _ => {}
        }
    }

    /// Actions other than `Send` and `Data`, for asserting the sequence of events.
    pub fn events(&self) -> Vec<Ev> {
        self.log
            .iter()
            .filter(|e| !matches!(e, Ev::Send(_) | Ev::Data(_)))
            .cloned()
            .collect()
    }

    pub fn count(&self, wanted: &Ev) -> usize {
        self.log.iter().filter(|e| *e == wanted).count()
    }

    pub fn sends(&self) -> usize {
        self.log.iter().filter(|e| matches!(e, Ev::Send(_))).count()
    }

    pub fn advance(&mut self, by: Duration) {
        self.now += by;
    }

    /// MAIL and RCPT accepted, ready for DATA or BDAT.
    pub fn in_transaction(&mut self) {
        let out = self.feed("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\n");
        assert_eq!(out, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
    }
}

/// Dot-stuffs a body made of CRLF lines and appends the end marker.
pub fn dot_stuff(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 8);
    let mut at_line_start = true;
    for &b in body {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
    }
    if !body.is_empty() && !body.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}
