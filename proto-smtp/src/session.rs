//! The server side of one SMTP connection as a sans-IO state machine.
//!
//! The runtime feeds received bytes to [`ServerSession::handle_input`] and then
//! drains [`ServerSession::poll_action`] until it returns `None`. Work happens
//! lazily inside `poll_action`: one buffered command (or one slice of message
//! body) at a time, so a pipelined burst is answered in order and processing
//! stops wherever a decision is needed from the runtime.

mod commands;

use std::fmt;
use std::mem;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto_core::input::{InputBuffer, Line};
use proto_core::login::LoginError;
use proto_core::opaque::Opaque;
use proto_core::sasl::{Credentials, Exchange, Next as SaslNext, SaslError};
use proto_core::session::{Common, Peer, Session};

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

/// What the runtime must do next: the skeleton's actions, with the
/// credentials of `AUTH` in [`Action::Login`](proto_core::session::Action::Login)
/// (answered by [`ServerSession::login_result`]), and SMTP's own
/// [`Request`]s.
pub type Action<'a> = proto_core::session::Action<'a, Request<'a>>;

/// What only SMTP asks of or tells its runtime.
pub enum Request<'a> {
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
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
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
        }
    }
}

/// A notification queued for the runtime; handed out before pending output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    DataStart,
    /// The body bytes are in `ServerSession::data`.
    Data,
    DataAbort,
}

impl Event {
    fn request(self, data: &[u8]) -> Request<'_> {
        match self {
            Self::DataStart => Request::DataStart,
            Self::Data => Request::Data(data),
            Self::DataAbort => Request::DataAbort,
        }
    }
}

/// A question to the runtime. Input processing stops until it is answered.
#[derive(Debug)]
pub enum Pending {
    Login(Credentials),
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
            Self::Login(credentials) => Action::Login(credentials),
            Self::Mail { from, params } => Action::Request(Request::Mail { from, params }),
            Self::Rcpt(r) => Action::Request(Request::Rcpt {
                to: &r.addr,
                params: &r.params,
            }),
            Self::Data => Action::Request(Request::DataEnd),
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
#[derive(Debug)]
pub struct ServerSession {
    config: Arc<ServerConfig>,
    helo: Option<String>,
    /// The client greeted with EHLO (not HELO): trace headers say ESMTP.
    esmtp: bool,
    authenticated: Option<String>,
    envelope: Envelope,
    phase: Phase,
    /// A `BDAT` body between chunks.
    bdat: Option<Body>,
    /// The body bytes of the last `Data` event; reused.
    data: Opaque,
    /// When the message body being received must be complete.
    body_deadline: Option<Instant>,
    common: Common<Pending, Event>,
}

impl ServerSession {
    /// Starts a session with `peer` and queues the `220` greeting.
    pub fn new(config: Arc<ServerConfig>, peer: Peer, now: Instant) -> Self {
        let input = InputBuffer::new(INPUT_LIMIT);
        let mut common = Common::new(peer, input, now, OUTPUT_HIGH_WATER, config.max_errors);
        write_reply(
            common.out(),
            220,
            None,
            format_args!("{} ESMTP Postern", config.hostname),
        );
        Self {
            config,
            helo: None,
            esmtp: false,
            authenticated: None,
            envelope: Envelope::default(),
            phase: Phase::Command,
            bdat: None,
            data: Opaque::default(),
            body_deadline: None,
            common,
        }
    }

    /// Answers [`Action::Login`](proto_core::session::Action::Login), the
    /// credentials of `AUTH`. Bad credentials count towards `max_errors`,
    /// which bounds password guessing per connection; a temporary refusal is
    /// `454 4.7.0` (RFC 4954 6) and is not counted.
    pub fn login_result(&mut self, verdict: Result<(), LoginError>, now: Instant) {
        let credentials = match self.common.answer(now) {
            Some(Pending::Login(credentials)) => credentials,
            other => return self.common.restore(other),
        };
        match verdict {
            Ok(()) => {
                self.authenticated = Some(credentials.into_username());
                self.reply(235, (2, 7, 0), "Authentication successful");
            }
            Err(LoginError::BadCredentials) => {
                self.error(535, (5, 7, 8), "Authentication credentials invalid");
            }
            Err(LoginError::Unavailable | LoginError::InUse) => {
                self.reply(454, (4, 7, 0), "Temporary authentication failure");
            }
        }
    }

    /// Answers [`Request::Mail`]: `Ok` starts the transaction (`250 2.1.0 Ok`),
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

    /// Answers [`Request::Rcpt`]: `Ok` adds the recipient to the envelope
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

    /// Answers [`Request::DataEnd`] with the final reply for the message; the
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

    fn step_command(&mut self) -> bool {
        let range = match self.common.input_mut().next_line(LINE_LIMIT) {
            Line::Incomplete => return false,
            Line::TooLong => {
                self.error(500, (5, 5, 2), "Line too long");
                return true;
            }
            Line::Complete(range) => range,
        };
        // Handlers never touch `self.input` while it is lent out.
        let input = self.common.input_mut().lend();
        match parse_command(input.line(range)) {
            Ok(command) => self.handle_command(command),
            Err(error) => self.reject(error),
        }
        *self.common.input_mut() = input;
        true
    }

    fn step_sasl(&mut self) -> bool {
        let Phase::Sasl(exchange) = mem::replace(&mut self.phase, Phase::Command) else {
            return false;
        };
        match exchange.read_line(self.common.input_mut(), LINE_LIMIT) {
            Ok(next) => self.sasl(next),
            // Not all of the line is in: wait for the rest.
            Err(exchange) => {
                self.phase = Phase::Sasl(exchange);
                return false;
            }
        }
        true
    }

    fn step_data(&mut self) -> bool {
        let Phase::Data(body) = &mut self.phase else {
            return false;
        };
        let fed = body.feed(self.common.input_mut().pending(), &mut self.data);
        let error = body.error();
        self.common.input_mut().consume(fed.consumed);
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
            let pending = self.common.input_mut().pending();
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
            self.common.input_mut().consume(n);
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
    fn sasl(&mut self, next: SaslNext) {
        match next {
            SaslNext::Cancelled => self.reply(501, (5, 0, 0), "Authentication cancelled"),
            // Refused before the engine is asked, as Postfix (with Cyrus or
            // Dovecot SASL) and Dovecot refuse an identity the user may not
            // act as: a failed authentication, not a syntax error.
            SaslNext::Invalid(error @ SaslError::Authzid) => {
                self.error(535, (5, 7, 8), error.text());
            }
            SaslNext::Invalid(error @ SaslError::TooLong) => {
                self.error(500, (5, 5, 2), error.text())
            }
            SaslNext::Invalid(error) => self.error(501, (5, 5, 2), error.text()),
            SaslNext::Challenge(exchange, challenge) => {
                write_reply(self.common.out(), 334, None, format_args!("{challenge}"));
                self.phase = Phase::Sasl(exchange);
            }
            SaslNext::Done(credentials) => self.common.ask(Pending::Login(credentials)),
        }
    }

    /// A message body begins (`DATA` accepted, or the first `BDAT` chunk): the runtime
    /// is told, and the time the body may take starts with the command's arrival.
    fn start_body(&mut self) {
        self.common.notify(Event::DataStart);
        self.body_deadline = self.common.idle_since().checked_add(self.config.data_limit);
    }

    /// Ends the transaction (`RSET`, `EHLO`), dropping a half-received `BDAT` body.
    fn reset_transaction(&mut self) {
        if self.bdat.take().is_some() {
            self.common.notify(Event::DataAbort);
        }
        self.envelope.clear();
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

impl Session for ServerSession {
    type Request<'a> = Request<'a>;
    type Question = Pending;
    type Input = InputBuffer;
    type Event = Event;

    fn poll_action(&mut self) -> Option<Action<'_>> {
        self.process();
        let data = &self.data;
        self.common.poll(
            |event| event.request(data),
            |pending| Some(pending.action()),
        )
    }

    /// Processes one command, SASL line or slice of body. Returns whether it
    /// made progress.
    fn step(&mut self) -> bool {
        match self.phase {
            Phase::Command => self.step_command(),
            Phase::Sasl(_) => self.step_sasl(),
            Phase::Data(_) => self.step_data(),
            Phase::Chunk(_) => self.step_chunk(),
        }
    }

    fn common(&self) -> &Common<Pending, Event> {
        &self.common
    }

    fn common_mut(&mut self) -> &mut Common<Pending, Event> {
        &mut self.common
    }

    /// The data timeout within a message, the command timeout elsewhere.
    fn idle_limit(&self) -> Duration {
        if self.busy() {
            self.config.data_timeout
        } else {
            self.config.command_timeout
        }
    }

    /// `421 4.4.2`, then `Close`.
    fn timed_out(&mut self) {
        let host = &self.config.hostname;
        write_reply(
            self.common.out(),
            421,
            Some((4, 4, 2)),
            format_args!("{host} Error: timeout exceeded"),
        );
        self.close();
    }

    /// HELO, authentication and envelope (RFC 3207 4.2): the client must say
    /// `EHLO` again.
    fn forget_cleartext(&mut self) {
        self.helo = None;
        self.authenticated = None;
        self.envelope.clear();
    }

    /// A message body being received or committed.
    /// While a body is received: the end of the time it may take in all.
    fn phase_deadline(&self) -> Option<Instant> {
        self.body_deadline.filter(|_| self.busy())
    }

    fn busy(&self) -> bool {
        matches!(self.phase, Phase::Data(_) | Phase::Chunk(_))
            || self.bdat.is_some()
            || matches!(self.common.question(), Some(Pending::Data))
    }

    /// `421 4.3.2`, then `Close`.
    fn leave(&mut self) {
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

    /// The last stretch of message body was handed out and written.
    fn rest_own(&mut self) {
        self.data = Opaque::default();
    }
}
