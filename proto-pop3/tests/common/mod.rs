//! A scripted runtime for driving a `ServerSession` without sockets.
#![allow(dead_code)] // each test binary uses a different part

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto_pop3::{
    Action, LoginError, Maildrop, MaildropEntry, Peer, Request, ServerConfig, ServerSession,
    Session,
};

/// Largest unprocessed input: the session's 8 KiB.
pub const MAX_BUFFERED: usize = 8 * 1024;
/// Largest `Send`: the 16 KiB high-water mark, plus one message chunk of at most
/// 8 KiB that stuffing and CRLF normalization can double, plus a few lines.
pub const MAX_SEND: usize = 16 * 1024 + 2 * 8 * 1024 + 1024;

/// What the session asked of the runtime, owned so the session can be used again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    Send(String),
    StartTls,
    Login {
        username: String,
        password: String,
    },
    Retrieve {
        index: usize,
        top_lines: Option<u64>,
    },
    Update(Vec<usize>),
    Close,
}

impl Ev {
    fn from_action(action: Action<'_>) -> Self {
        match action {
            Action::Send(b) => Ev::Send(String::from_utf8_lossy(b).into_owned()),
            Action::StartTls => Ev::StartTls,
            Action::Login(credentials) => Ev::Login {
                username: credentials.username().into(),
                password: credentials.password().into(),
            },
            Action::Request(Request::Retrieve { index, top_lines }) => {
                Ev::Retrieve { index, top_lines }
            }
            Action::Request(Request::Update { deleted }) => Ev::Update(deleted.to_vec()),
            Action::Close => Ev::Close,
        }
    }
}

/// The default maildrop: three messages, the second with lines to stuff.
pub fn messages() -> Vec<Vec<u8>> {
    [
        "Subject: one\r\n\r\nFirst body\r\n",
        "Subject: two\r\nFrom: b@example.org\r\n\r\nline 1\r\n.dot line\r\nline 3\r\n",
        "Subject: three\r\n\r\nThird\r\n",
    ]
    .iter()
    .map(|m| m.as_bytes().to_vec())
    .collect()
}

/// Drives a session like a runtime would, answering from a script: password
/// "secret" logs in to `messages`, "locked" is [`LoginError::InUse`], "down" is
/// [`LoginError::Unavailable`], anything else is refused. Retrievals stream the
/// message in `chunk`-sized pieces while the session wants data; indexes in
/// `unreadable` get `message_unavailable`. Updates succeed unless `update_fails`.
pub struct Harness {
    pub session: ServerSession,
    pub now: Instant,
    /// Every action, in order.
    pub log: Vec<Ev>,
    pub messages: Vec<Vec<u8>>,
    pub unreadable: Vec<usize>,
    pub update_fails: bool,
    /// Size of the `message_data` chunks.
    pub chunk: usize,
    /// Answer questions automatically (otherwise the test calls the `*_result`s).
    pub auto: bool,
    /// Call `tls_started` right after `StartTls`.
    pub auto_tls: bool,
    /// The message being streamed and how far.
    retrieving: Option<(usize, usize)>,
    /// The largest `Send` seen.
    pub max_send: usize,
}

pub fn peer() -> SocketAddr {
    "192.0.2.7:40000".parse().unwrap()
}

pub fn config() -> ServerConfig {
    ServerConfig::new("pop.example.org")
}

impl Harness {
    /// A session on an implicit-TLS connection, where logins are allowed.
    pub fn new() -> Self {
        Self::start(config(), true)
    }

    /// A session on a cleartext connection.
    pub fn cleartext(config: ServerConfig) -> Self {
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
            messages: messages(),
            unreadable: Vec::new(),
            update_fails: false,
            chunk: 4096,
            auto: true,
            auto_tls: true,
            retrieving: None,
            max_send: 0,
        };
        let greeting = h.drive();
        assert_eq!(greeting, "+OK pop.example.org POP3 server ready\r\n");
        h
    }

    /// A session in the TRANSACTION state over the default maildrop.
    pub fn logged_in() -> Self {
        let mut h = Self::new();
        h.login();
        h
    }

    /// Logs in with USER/PASS.
    pub fn login(&mut self) {
        let out = self.feed("USER alice\r\nPASS secret\r\n");
        assert!(
            out.ends_with("+OK maildrop has 3 messages (117 octets)\r\n"),
            "{out}"
        );
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
                break; // closed, or a question left unanswered on purpose
            }
        }
        out
    }

    /// Stops answering, buffers `input` whole and returns the first action,
    /// which the test then answers by hand.
    pub fn question(&mut self, input: &str) -> Ev {
        self.auto = false;
        let taken = self.session.handle_input(input.as_bytes(), self.now);
        assert_eq!(taken, input.len());
        let ev = Ev::from_action(self.session.poll_action().expect("an action"));
        self.log.push(ev.clone());
        ev
    }

    /// Feeds `input` in pieces of `step` bytes.
    pub fn feed_in(&mut self, input: impl AsRef<[u8]>, step: usize) -> String {
        input
            .as_ref()
            .chunks(step)
            .map(|piece| self.feed(piece))
            .collect()
    }

    /// Polls until idle, streaming messages as asked; returns the output sent.
    pub fn drive(&mut self) -> String {
        let mut out = String::new();
        loop {
            while let Some(action) = self.session.poll_action() {
                let ev = Ev::from_action(action);
                if let Ev::Send(text) = &ev {
                    assert!(!text.is_empty());
                    assert!(text.len() <= MAX_SEND, "oversized send: {}", text.len());
                    self.max_send = self.max_send.max(text.len());
                    out += text;
                }
                self.log.push(ev.clone());
                if self.auto {
                    self.answer(&ev);
                }
            }
            if !self.stream() {
                return out;
            }
        }
    }

    /// Feeds the next chunk of the message being retrieved, if the session
    /// wants it; returns whether it did anything.
    fn stream(&mut self) -> bool {
        let Some((index, pos)) = self.retrieving else {
            return false;
        };
        if !self.session.wants_message_data() {
            // Drained, so there is room unless the session closed.
            self.retrieving = None;
            return false;
        }
        let message = &self.messages[index];
        if pos == message.len() {
            self.session.message_end(self.now);
            self.retrieving = None;
        } else {
            let end = message.len().min(pos + self.chunk);
            self.session.message_data(&message[pos..end], self.now);
            self.retrieving = Some((index, end));
        }
        true
    }

    fn answer(&mut self, ev: &Ev) {
        match ev {
            Ev::StartTls if self.auto_tls => self.session.tls_started(self.now),
            Ev::Login { password, .. } => {
                let result = match password.as_str() {
                    "secret" => Ok(self.maildrop()),
                    "locked" => Err(LoginError::InUse),
                    "down" => Err(LoginError::Unavailable),
                    _ => Err(LoginError::BadCredentials),
                };
                self.session.login_result(result, self.now);
            }
            Ev::Retrieve { index, .. } if self.unreadable.contains(index) => {
                self.session.message_unavailable(self.now);
            }
            Ev::Retrieve { index, .. } => self.retrieving = Some((*index, 0)),
            Ev::Update(_) => self.session.update_result(!self.update_fails, self.now),
            _ => {}
        }
    }

    /// The maildrop `messages` make, with uids `uid-1`, `uid-2`...
    pub fn maildrop(&self) -> Maildrop {
        let messages = self
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| MaildropEntry {
                size: m.len() as u64,
                uid: format!("uid-{}", i + 1),
            })
            .collect();
        Maildrop { messages }
    }

    /// Actions other than `Send`, for asserting the sequence of events.
    pub fn events(&self) -> Vec<Ev> {
        self.log
            .iter()
            .filter(|e| !matches!(e, Ev::Send(_)))
            .cloned()
            .collect()
    }

    /// The session closed and never asked to remove anything.
    pub fn assert_closed_without_update(&self) {
        assert!(self.session.is_closed());
        assert_eq!(self.log.last(), Some(&Ev::Close));
        assert!(self.log.iter().all(|e| !matches!(e, Ev::Update(_))));
    }

    pub fn sends(&self) -> usize {
        self.log.iter().filter(|e| matches!(e, Ev::Send(_))).count()
    }

    pub fn advance(&mut self, by: Duration) {
        self.now += by;
    }
}

/// Undoes byte-stuffing of a multi-line response body (without its status
/// line), checking that it ends with the terminating line.
pub fn unstuff(response: &str) -> Option<String> {
    let body = response.strip_suffix(".\r\n")?;
    let mut out = String::new();
    for line in body.split_inclusive("\r\n") {
        out += line.strip_prefix('.').unwrap_or(line);
    }
    Some(out)
}

/// What the response body must be: each line (LF-terminated, or the
/// unterminated rest) loses one trailing CR, gains CRLF and, if it starts with
/// `.`, another `.`; `TOP n` keeps the header, the empty line and n lines.
pub fn reference(message: &[u8], top: Option<u64>) -> String {
    let mut lines: Vec<&[u8]> = message.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut out = Vec::new();
    let mut in_header = top.is_some();
    let mut remaining = top.unwrap_or(u64::MAX);
    for line in lines {
        if !in_header && remaining == 0 {
            break;
        }
        let content = line.strip_suffix(b"\r").unwrap_or(line);
        if content.starts_with(b".") {
            out.push(b'.');
        }
        out.extend_from_slice(content);
        out.extend_from_slice(b"\r\n");
        if in_header {
            in_header = !content.is_empty();
        } else {
            remaining -= 1;
        }
    }
    out.extend_from_slice(b".\r\n");
    String::from_utf8(out).unwrap()
}
