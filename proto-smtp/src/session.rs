//! The server side of one SMTP connection as a sans-IO state machine.
//!
//! The runtime feeds received bytes to [`ServerSession::handle_input`] and then
//! drains [`ServerSession::poll_action`] until it returns `None`. Work happens
//! lazily inside `poll_action`: one buffered command (or one slice of message
//! body) at a time, so a pipelined burst is answered in order and processing
//! stops wherever a decision is needed from the runtime.

mod commands;

use core::net::SocketAddr;
use std::fmt;
use std::mem;
use std::sync::Arc;
use std::time::Instant;

use proto_core::input::{InputBuffer, Line};
use proto_core::sasl::{Credentials, Exchange, Mechanism, Next as SaslNext, SaslError};
use proto_core::session::{Common, Turn};

use crate::data::{Body, BodyError};
use crate::envelope::{Envelope, MailParams, RcptParams, Recipient};
use crate::reply::{Enhanced, write_reply};
use crate::{ParseError, Reply, ServerConfig, parse_command};

/// Longest command line, CRLF included (RFC 5321 4.5.3.1.4). SASL responses
/// share the limit.
const LINE_LIMIT: usize = 1000;

/// Most unprocessed bytes held at once: room for a pipelined burst of commands
/// (RFC 2920) plus one maximal line.
const INPUT_LIMIT: usize = 8 * 1024 + LINE_LIMIT;

/// Once this much output has accumulated, it is handed out before more input
/// is processed, bounding the output buffer whatever the client pipelines.
const OUTPUT_HIGH_WATER: usize = 8 * 1024;

/// What the runtime must do next.
pub enum Action<'a> {
    /// Write these bytes: all pending replies at once.
    Send(&'a [u8]),
    /// `220 2.0.0 Ready to start TLS` was in the preceding `Send`. Flush, run the
    /// TLS handshake, then call [`ServerSession::tls_started`].
    StartTls,
    /// Check credentials; answer with [`ServerSession::auth_result`].
    Auth {
        /// The SASL mechanism used.
        mechanism: Mechanism,
        /// Identity to act as (PLAIN only): empty when the client gave none,
        /// else the user's own. Any other identity was refused with
        /// `535 5.7.8` before this action.
        authzid: &'a str,
        /// The authenticating user.
        username: &'a str,
        /// The password.
        password: &'a str,
    },
    /// May this sender start a transaction? Answer with [`ServerSession::mail_result`].
    Mail {
        /// Sender address; `""` for the null sender `<>`.
        from: &'a str,
        /// The `MAIL` parameters.
        params: &'a MailParams,
    },
    /// Is this recipient acceptable? Answer with [`ServerSession::rcpt_result`].
    Rcpt {
        /// Recipient address.
        to: &'a str,
        /// The `RCPT` parameters.
        params: &'a RcptParams,
    },
    /// A message body begins: open a spool. No answer needed.
    DataStart,
    /// Body bytes, dot-unstuffed, with CRLF line ends. Append them to the spool.
    Data(&'a [u8]),
    /// The body is complete and valid: commit it, then answer with
    /// [`ServerSession::data_result`]. [`ServerSession::envelope`] still holds the
    /// transaction.
    DataEnd,
    /// The session refused the body itself (too big, bare LF, `RSET` between
    /// `BDAT` chunks, connection closing): discard the spool. The session sends
    /// its own reply; no answer needed.
    DataAbort,
    /// Flush and close the connection. Nothing more will come.
    Close,
}

impl fmt::Debug for Action<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Send(bytes) => write!(f, "Send({:?})", String::from_utf8_lossy(bytes)),
            Self::StartTls => f.write_str("StartTls"),
            // The password is never printed.
            Self::Auth {
                mechanism,
                authzid,
                username,
                ..
            } => f
                .debug_struct("Auth")
                .field("mechanism", mechanism)
                .field("authzid", authzid)
                .field("username", username)
                .finish_non_exhaustive(),
            Self::Mail { from, params } => f
                .debug_struct("Mail")
                .field("from", from)
                .field("params", params)
                .finish(),
            Self::Rcpt { to, params } => f
                .debug_struct("Rcpt")
                .field("to", to)
                .field("params", params)
                .finish(),
            Self::DataStart => f.write_str("DataStart"),
            Self::Data(bytes) => write!(f, "Data({} bytes)", bytes.len()),
            Self::DataEnd => f.write_str("DataEnd"),
            Self::DataAbort => f.write_str("DataAbort"),
            Self::Close => f.write_str("Close"),
        }
    }
}

/// A notification queued for the runtime; handed out before pending output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    DataStart,
    /// The body bytes are in `ServerSession::data`.
    Data,
    DataAbort,
}

impl Event {
    fn action(self, data: &[u8]) -> Action<'_> {
        match self {
            Self::DataStart => Action::DataStart,
            Self::Data => Action::Data(data),
            Self::DataAbort => Action::DataAbort,
        }
    }
}

/// A question to the runtime. Input processing stops until it is answered.
#[derive(Debug)]
enum Pending {
    Auth(Mechanism, Credentials),
    Mail {
        from: String,
        params: MailParams,
    },
    Rcpt(Recipient),
    /// Waiting for `data_result`.
    Data,
}

impl Pending {
    fn action(&self) -> Action<'_> {
        match self {
            Self::Auth(mechanism, c) => Action::Auth {
                mechanism: *mechanism,
                authzid: c.authzid(),
                username: c.username(),
                password: c.password(),
            },
            Self::Mail { from, params } => Action::Mail { from, params },
            Self::Rcpt(r) => Action::Rcpt {
                to: &r.addr,
                params: &r.params,
            },
            Self::Data => Action::DataEnd,
        }
    }
}

/// What the next input bytes are.
#[derive(Debug)]
enum Phase {
    /// Command lines.
    Command,
    /// A SASL response line.
    Sasl(Exchange),
    /// A `DATA` body.
    Data(Body),
    /// The octets of a `BDAT` chunk.
    Chunk(Chunk),
}

/// A `BDAT` chunk being read.
#[derive(Debug)]
struct Chunk {
    remaining: u64,
    size: u64,
    last: bool,
    /// The message body; `None` when the command was out of sequence and the
    /// octets are read only to be dropped.
    body: Option<Body>,
}

/// One SMTP server connection. See the [crate docs](crate) for the driving loop.
pub struct ServerSession {
    config: Arc<ServerConfig>,
    peer: SocketAddr,
    helo: Option<String>,
    /// The client greeted with EHLO (not HELO): trace headers say ESMTP.
    esmtp: bool,
    authenticated: Option<String>,
    envelope: Envelope,
    phase: Phase,
    /// A `BDAT` body between chunks.
    bdat: Option<Body>,
    input: InputBuffer,
    /// The body bytes of the last `Data` event; reused.
    data: Vec<u8>,
    common: Common<Pending, Event>,
}

impl fmt::Debug for ServerSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Buffers are left out: they may hold credentials (`Common` prints none
        // of its output, and `Credentials` no password).
        f.debug_struct("ServerSession")
            .field("peer", &self.peer)
            .field("helo", &self.helo)
            .field("authenticated", &self.authenticated)
            .field("envelope", &self.envelope)
            .field("common", &self.common)
            .finish_non_exhaustive()
    }
}

impl ServerSession {
    /// Starts a session and queues the `220` greeting. `implicit_tls` is true on
    /// a port where TLS was negotiated before SMTP began (RFC 8314).
    pub fn new(
        config: Arc<ServerConfig>,
        peer: SocketAddr,
        implicit_tls: bool,
        now: Instant,
    ) -> Self {
        let mut common = Common::new(now, implicit_tls, OUTPUT_HIGH_WATER, config.max_errors);
        write_reply(
            common.out(),
            220,
            None,
            format_args!("{} ESMTP Postern", config.hostname),
        );
        Self {
            config,
            peer,
            helo: None,
            esmtp: false,
            authenticated: None,
            envelope: Envelope::default(),
            phase: Phase::Command,
            bdat: None,
            input: InputBuffer::new(INPUT_LIMIT),
            data: Vec::new(),
            common,
        }
    }

    /// How many bytes [`handle_input`](Self::handle_input) accepts now. Zero while
    /// a decision is awaited, while actions or output are waiting to be taken, or
    /// once closing: the runtime reads at most this many bytes, which is how
    /// back-pressure reaches the client.
    pub fn input_capacity(&self) -> usize {
        self.common.input_capacity(self.input.room())
    }

    /// Buffers bytes received at `now` from the client; returns how many were
    /// taken (at most [`input_capacity`](Self::input_capacity)). They are
    /// processed by [`poll_action`](Self::poll_action).
    pub fn handle_input(&mut self, data: &[u8], now: Instant) -> usize {
        self.common.receive(&mut self.input, data, now)
    }

    /// The next thing for the runtime to do, or `None` when the session waits for
    /// input or for the answer to a decision. Output is batched: a `Send` comes
    /// when nothing else is left to do, and always before `StartTls` and `Close`.
    pub fn poll_action(&mut self) -> Option<Action<'_>> {
        while self.common.may_step() && self.step() {}
        Some(match self.common.turn()? {
            Turn::Send(bytes) => Action::Send(bytes),
            Turn::Event(event) => event.action(&self.data),
            Turn::StartTls => Action::StartTls,
            Turn::Ask(pending) => pending.action(),
            Turn::Close => {
                self.input.clear();
                Action::Close
            }
        })
    }

    /// Whether [`Action::Close`] was handed out.
    pub fn is_closed(&self) -> bool {
        self.common.is_closed()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called: the last
    /// input (or answer to a decision) plus the command or data timeout. `None`
    /// while the runtime is deciding something, or once closing.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let limit = if self.in_transfer() {
            self.config.data_timeout
        } else {
            self.config.command_timeout
        };
        self.common.deadline(limit)
    }

    /// Closes the session with `421 4.4.2` if `now` is past the deadline.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|deadline| now >= deadline) {
            let host = &self.config.hostname;
            write_reply(
                self.common.out(),
                421,
                Some((4, 4, 2)),
                format_args!("{host} Error: timeout exceeded"),
            );
            self.close();
        }
    }

    /// The TLS handshake requested by [`Action::StartTls`] succeeded at `now`.
    /// As RFC 3207 4.2 requires, the session forgets everything learnt in
    /// cleartext: the client must say `EHLO` again.
    pub fn tls_started(&mut self, now: Instant) {
        if self.common.tls_started(now) {
            self.helo = None;
            self.authenticated = None;
            self.envelope.clear();
            self.input.clear();
        }
    }

    /// Answers [`Action::Auth`]. A failure counts towards `max_errors`, which
    /// bounds password guessing per connection.
    pub fn auth_result(&mut self, ok: bool, now: Instant) {
        match self.common.answer(now) {
            Some(Pending::Auth(_, credentials)) if ok => {
                self.authenticated = Some(credentials.into_username());
                self.reply(235, (2, 7, 0), "Authentication successful");
            }
            Some(Pending::Auth(..)) => {
                self.error(535, (5, 7, 8), "Authentication credentials invalid");
            }
            other => self.common.restore(other),
        }
    }

    /// Answers [`Action::Mail`]: `Ok` starts the transaction (`250 2.1.0 Ok`),
    /// `Err` sends the given refusal.
    pub fn mail_result(&mut self, verdict: Result<(), Reply>, now: Instant) {
        match self.common.answer(now) {
            Some(Pending::Mail { from, params }) => match verdict {
                Ok(()) => {
                    self.envelope.mail_from = Some(from);
                    self.envelope.mail_params = params;
                    self.reply(250, (2, 1, 0), "Ok");
                }
                Err(reply) => reply.encode(self.common.out()),
            },
            other => self.common.restore(other),
        }
    }

    /// Answers [`Action::Rcpt`]: `Ok` adds the recipient to the envelope
    /// (`250 2.1.5 Ok`), `Err` sends the given refusal.
    pub fn rcpt_result(&mut self, verdict: Result<(), Reply>, now: Instant) {
        match self.common.answer(now) {
            Some(Pending::Rcpt(recipient)) => match verdict {
                Ok(()) => {
                    self.envelope.rcpts.push(recipient);
                    self.reply(250, (2, 1, 5), "Ok");
                }
                Err(reply) => reply.encode(self.common.out()),
            },
            other => self.common.restore(other),
        }
    }

    /// Answers [`Action::DataEnd`] with the final reply for the message; the
    /// transaction then ends (the HELO and authentication state remain).
    pub fn data_result(&mut self, reply: Reply, now: Instant) {
        match self.common.answer(now) {
            Some(Pending::Data) => {
                reply.encode(self.common.out());
                self.envelope.clear();
            }
            other => self.common.restore(other),
        }
    }

    /// Graceful shutdown: `421 4.3.2` and `Close` now, or, if a message is being
    /// received or committed, right after its final reply.
    pub fn shutdown(&mut self) {
        self.common.drain();
        if !self.in_transfer() {
            self.shutdown_now();
        }
    }

    /// The current transaction.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The domain given in the last `EHLO`/`HELO`.
    pub fn helo(&self) -> Option<&str> {
        self.helo.as_deref()
    }

    /// Whether the client greeted with `EHLO` rather than `HELO`.
    pub fn is_esmtp(&self) -> bool {
        self.helo.is_some() && self.esmtp
    }

    /// The user who authenticated on this connection.
    pub fn authenticated(&self) -> Option<&str> {
        self.authenticated.as_deref()
    }

    /// Whether the connection is encrypted (implicit TLS or after `STARTTLS`).
    pub fn is_tls(&self) -> bool {
        self.common.is_tls()
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Unprocessed input bytes; for tests asserting the bound.
    #[doc(hidden)]
    pub fn buffered_input(&self) -> usize {
        self.input.len()
    }

    /// Processes one command, SASL line or slice of body. Returns whether it
    /// made progress.
    fn step(&mut self) -> bool {
        if self.common.is_draining() && !self.in_transfer() {
            self.shutdown_now();
            return true;
        }
        match self.phase {
            Phase::Command => self.step_command(),
            Phase::Sasl(_) => self.step_sasl(),
            Phase::Data(_) => self.step_data(),
            Phase::Chunk(_) => self.step_chunk(),
        }
    }

    fn step_command(&mut self) -> bool {
        let range = match self.input.next_line(LINE_LIMIT) {
            Line::Incomplete => return false,
            Line::TooLong => {
                self.error(500, (5, 5, 2), "Line too long");
                return true;
            }
            Line::Complete(range) => range,
        };
        // The command borrows the line while its handler needs `&mut self`:
        // lend the buffer out meanwhile (handlers never touch `self.input`;
        // the stand-in holds nothing).
        let input = mem::replace(&mut self.input, InputBuffer::new(0));
        match parse_command(input.line(range)) {
            Ok(command) => self.handle_command(command),
            Err(error) => self.reject(error),
        }
        self.input = input;
        if self.common.is_starting_tls() {
            // Anything pipelined after STARTTLS arrived in cleartext and must not
            // be taken as said under TLS (CVE-2011-0411).
            self.input.clear();
        }
        true
    }

    fn step_sasl(&mut self) -> bool {
        let range = match self.input.next_line(LINE_LIMIT) {
            Line::Incomplete => return false,
            Line::TooLong => {
                self.phase = Phase::Command;
                self.error(500, (5, 5, 2), "Line too long");
                return true;
            }
            Line::Complete(range) => range,
        };
        if let Phase::Sasl(exchange) = mem::replace(&mut self.phase, Phase::Command) {
            let mechanism = exchange.mechanism();
            let next = exchange.advance(self.input.line(range));
            self.sasl(mechanism, next);
        }
        true
    }

    fn step_data(&mut self) -> bool {
        let Phase::Data(body) = &mut self.phase else {
            return false;
        };
        let fed = body.feed(self.input.pending(), &mut self.data);
        let error = body.error();
        self.input.consume(fed.consumed);
        if !self.data.is_empty() {
            self.common.notify(Event::Data);
        }
        if fed.end {
            self.phase = Phase::Command;
            self.finish_body(error);
        }
        fed.consumed > 0
    }

    fn step_chunk(&mut self) -> bool {
        let Phase::Chunk(chunk) = &mut self.phase else {
            return false;
        };
        if chunk.remaining > 0 {
            let pending = self.input.pending();
            let n = usize::try_from(chunk.remaining)
                .unwrap_or(usize::MAX)
                .min(pending.len());
            if n == 0 {
                return false;
            }
            self.data.clear();
            if let Some(body) = &mut chunk.body {
                body.feed(pending.get(..n).unwrap_or_default(), &mut self.data);
            }
            // `n` is at most `chunk.remaining`, so this never saturates.
            chunk.remaining = chunk.remaining.saturating_sub(n as u64);
            self.input.consume(n);
            if !self.data.is_empty() {
                self.common.notify(Event::Data);
            }
            if chunk.remaining > 0 {
                return true;
            }
        }
        if let Phase::Chunk(chunk) = mem::replace(&mut self.phase, Phase::Command) {
            self.finish_chunk(chunk);
        }
        true
    }

    /// All octets of a `BDAT` chunk are in.
    fn finish_chunk(&mut self, chunk: Chunk) {
        let Some(body) = chunk.body else {
            return self.error(503, (5, 5, 1), "Error: need MAIL and RCPT before BDAT");
        };
        match body.error() {
            // An oversized chunk fails the transaction at once (RFC 3030 2).
            Some(BodyError::TooBig) => self.finish_body(Some(BodyError::TooBig)),
            error if chunk.last => self.finish_body(error),
            _ => {
                self.bdat = Some(body);
                write_reply(
                    self.common.out(),
                    250,
                    Some((2, 0, 0)),
                    format_args!("{} octets received", chunk.size),
                );
            }
        }
    }

    /// The body is complete: ask the runtime to commit it, or refuse it.
    fn finish_body(&mut self, error: Option<BodyError>) {
        match error {
            None => self.common.ask(Pending::Data),
            Some(error) => {
                self.common.notify(Event::DataAbort);
                error.reply().encode(self.common.out());
                self.envelope.clear();
            }
        }
    }

    /// Carries out a step of the SASL exchange (RFC 4954 4, 6).
    fn sasl(&mut self, mechanism: Mechanism, next: SaslNext) {
        match next {
            SaslNext::Cancelled => self.reply(501, (5, 0, 0), "Authentication cancelled"),
            // Refused before the engine is asked, as Postfix (with Cyrus or
            // Dovecot SASL) and Dovecot refuse an identity the user may not
            // act as: a failed authentication, not a syntax error.
            SaslNext::Invalid(error @ SaslError::Authzid) => {
                self.error(535, (5, 7, 8), error.text());
            }
            SaslNext::Invalid(error) => self.error(501, (5, 5, 2), error.text()),
            SaslNext::Challenge(exchange, challenge) => {
                write_reply(self.common.out(), 334, None, format_args!("{challenge}"));
                self.phase = Phase::Sasl(exchange);
            }
            SaslNext::Done(credentials) => self.common.ask(Pending::Auth(mechanism, credentials)),
        }
    }

    /// Whether a message body is being received or committed.
    fn in_transfer(&self) -> bool {
        matches!(self.phase, Phase::Data(_) | Phase::Chunk(_))
            || self.bdat.is_some()
            || matches!(self.common.question(), Some(Pending::Data))
    }

    /// Ends the transaction (`RSET`, `EHLO`), dropping a half-received `BDAT` body.
    fn reset_transaction(&mut self) {
        if self.bdat.take().is_some() {
            self.common.notify(Event::DataAbort);
        }
        self.envelope.clear();
    }

    fn shutdown_now(&mut self) {
        if self.common.is_open() {
            let host = &self.config.hostname;
            write_reply(
                self.common.out(),
                421,
                Some((4, 3, 2)),
                format_args!("{host} Service shutting down"),
            );
            self.close();
        }
    }

    /// Queues `Close` after whatever output is pending; a body in progress is
    /// aborted first so the runtime drops its spool.
    fn close(&mut self) {
        if !self.common.close() {
            return;
        }
        let phase = mem::replace(&mut self.phase, Phase::Command);
        let body_started = matches!(
            phase,
            Phase::Data(_) | Phase::Chunk(Chunk { body: Some(_), .. })
        );
        if self.bdat.take().is_some() || body_started {
            self.common.notify(Event::DataAbort);
        }
    }

    fn reply(&mut self, code: u16, enhanced: Enhanced, text: &str) {
        write_reply(
            self.common.out(),
            code,
            Some(enhanced),
            format_args!("{text}"),
        );
    }

    /// Replies to a bad command and counts it.
    fn error(&mut self, code: u16, enhanced: Enhanced, text: &str) {
        self.reply(code, enhanced, text);
        self.count_error();
    }

    fn reject(&mut self, error: ParseError) {
        error.reply().encode(self.common.out());
        self.count_error();
    }

    /// Counts a bad command; at `max_errors` the client is shown the door.
    fn count_error(&mut self) {
        if self.common.count_error() {
            let host = &self.config.hostname;
            write_reply(
                self.common.out(),
                421,
                Some((4, 7, 0)),
                format_args!("{host} Too many errors"),
            );
            self.close();
        }
    }
}
