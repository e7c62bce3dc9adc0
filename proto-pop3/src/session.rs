//! The server side of one POP3 connection as a sans-IO state machine.
//!
//! The runtime feeds received bytes to [`ServerSession::handle_input`] and then
//! drains [`ServerSession::poll_action`] until it returns `None`. Work happens
//! lazily inside `poll_action`: one buffered command (or one stretch of a
//! listing) at a time, so a pipelined burst is answered in order and
//! processing stops wherever the runtime has to decide or deliver something.

mod commands;

use std::convert::Infallible;
use std::mem;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto_core::input::{InputBuffer, Line};
use proto_core::login::LoginError;
use proto_core::sasl::{Credentials, Exchange, Next as SaslNext, SaslError};
use proto_core::session::{Common, Peer, Session};

use crate::maildrop::{Mailbox, Maildrop};
use crate::reply::{self, RespCode};
use crate::transfer::Transfer;
use crate::{ServerConfig, parse_command};

/// Once this much output has accumulated it is handed out before more input
/// is processed or more message data is wanted, bounding the output buffer.
const OUTPUT_HIGH_WATER: usize = 16 * 1024;

/// Longest command line, CRLF included (RFC 2449 4).
const COMMAND_LINE: usize = 255;

/// Longest SASL response line, CRLF included. RFC 5034 sets no limit; a PLAIN
/// response with generous names and password fits easily.
const SASL_LINE: usize = 4 * 1024;

/// Most unprocessed bytes held at once: a pipelined burst of commands, and
/// always room for one line of either kind.
const INPUT_LIMIT: usize = 8 * 1024;

/// What the runtime must do next: the skeleton's actions, with the
/// credentials of `USER`/`PASS` or `AUTH` in
/// [`Action::Login`](proto_core::session::Action::Login) (answered by
/// [`ServerSession::login_result`]), and POP3's own [`Request`]s.
pub type Action<'a> = proto_core::session::Action<'a, Request<'a>>;

/// What only POP3 asks of its runtime.
#[derive(Debug)]
pub enum Request<'a> {
    /// Read a message and stream it with [`ServerSession::message_data`] and
    /// [`ServerSession::message_end`], or answer
    /// [`ServerSession::message_unavailable`]. See the [crate docs](crate).
    Retrieve {
        /// 0-based index into the [`Maildrop`] given at login.
        index: usize,
        /// `None` for `RETR`; `Some(n)` for `TOP msg n`. The session cuts the
        /// message itself; the runtime may use this only as a hint.
        top_lines: Option<u64>,
    },
    /// The client said `QUIT` in the TRANSACTION state: durably remove these
    /// messages (0-based indexes, ascending; possibly none), then answer
    /// [`ServerSession::update_result`].
    Update {
        /// Indexes of the messages marked deleted.
        deleted: &'a [usize],
    },
}

/// A question to the runtime. Commands wait until it is answered.
#[derive(Debug)]
pub enum Pending {
    Login(Credentials),
    Retrieve(Retrieval),
    /// The indexes to remove.
    Update(Vec<usize>),
}

impl Pending {
    fn action(&self) -> Action<'_> {
        match self {
            Self::Login(credentials) => Action::Login(credentials),
            Self::Retrieve(r) => Action::Request(Request::Retrieve {
                index: r.index,
                top_lines: r.top_lines,
            }),
            Self::Update(deleted) => Action::Request(Request::Update { deleted }),
        }
    }
}

/// A `RETR` or `TOP` whose message the runtime is streaming.
#[derive(Debug)]
pub struct Retrieval {
    index: usize,
    top_lines: Option<u64>,
    /// The size announced by `RETR`'s `+OK`.
    size: u64,
    /// The `+OK` line was written: the response can no longer become `-ERR`.
    started: bool,
    transfer: Transfer,
}

impl Retrieval {
    /// Writes the `+OK` line before the first message byte.
    fn start(&mut self, out: &mut Vec<u8>) {
        if mem::replace(&mut self.started, true) {
            return;
        }
        match self.top_lines {
            None => reply::ok(out, format_args!("{} octets", self.size)),
            Some(_) => reply::ok(out, format_args!("top of message follows")),
        }
    }
}

/// The POP3 session states (RFC 1939 3); UPDATE is `Pending::Update`.
#[derive(Debug)]
enum State {
    /// Not logged in. `user` holds the name of a `USER` command just given,
    /// which only the very next command (`PASS`) may use.
    Authorization {
        user: Option<String>,
    },
    Transaction {
        user: String,
        mailbox: Mailbox,
    },
}

/// What the next input line is, or what output is being produced.
#[derive(Debug)]
enum Phase {
    /// Command lines.
    Command,
    /// A challenge was sent; the client's SASL response line is due.
    Sasl(Exchange),
    /// A `LIST` (or `UIDL`) listing is being written from this 0-based index.
    Listing { uidl: bool, next: usize },
}

/// One POP3 server connection. See the [crate docs](crate) for the driving loop.
#[derive(Debug)]
pub struct ServerSession {
    config: Arc<ServerConfig>,
    /// Until when the client may take to log in.
    login_deadline: Option<Instant>,
    state: State,
    phase: Phase,
    common: Common<Pending>,
}

impl ServerSession {
    /// Starts a session with `peer` and queues the `+OK` greeting.
    pub fn new(config: Arc<ServerConfig>, peer: Peer, now: Instant) -> Self {
        let input = InputBuffer::new(INPUT_LIMIT);
        let mut common = Common::new(peer, input, now, OUTPUT_HIGH_WATER, config.max_errors);
        let host = &config.hostname;
        reply::ok(common.out(), format_args!("{host} POP3 server ready"));
        Self {
            login_deadline: now.checked_add(config.login_timeout),
            config,
            state: State::Authorization { user: None },
            phase: Phase::Command,
            common,
        }
    }

    /// Answers [`Action::Login`](proto_core::session::Action::Login). `Ok` enters the TRANSACTION state with this
    /// snapshot of the maildrop. A [`LoginError::BadCredentials`] counts towards
    /// `max_errors`, which bounds password guessing per connection; the other
    /// refusals are not the client's fault and do not.
    pub fn login_result(&mut self, result: Result<Maildrop, LoginError>, now: Instant) {
        let credentials = match self.common.answer(now) {
            Some(Pending::Login(credentials)) => credentials,
            other => return self.common.restore(other),
        };
        match result {
            Ok(maildrop) => {
                let mailbox = Mailbox::new(maildrop);
                maildrop_summary(self.common.out(), &mailbox);
                self.state = State::Transaction {
                    user: credentials.into_username(),
                    mailbox,
                };
            }
            Err(LoginError::BadCredentials) => {
                self.error(Some(RespCode::Auth), "Authentication failed");
            }
            Err(LoginError::InUse) => self.err(
                Some(RespCode::InUse),
                "Mailbox is locked by another POP3 session",
            ),
            Err(LoginError::Unavailable) => self.err(
                Some(RespCode::SysTemp),
                "Mailbox unavailable, try again later",
            ),
        }
    }

    /// Whether the runtime should feed the next chunk of the message asked for
    /// by [`Request::Retrieve`]. False while nothing is being retrieved, and
    /// while the output holds more than 16 KiB: then
    /// [`poll_action`](Self::poll_action) hands it out and there is room again.
    pub fn wants_message_data(&self) -> bool {
        matches!(self.common.asked(), Some(Pending::Retrieve(_))) && !self.common.output().is_full()
    }

    /// The next bytes of the message asked for by [`Request::Retrieve`], in
    /// chunks of any size. Bare LFs are sent as CRLF and lines starting with
    /// `.` are byte-stuffed; `TOP` drops what follows its lines. The output
    /// grows by at most twice the chunk, so chunks of at most 8 KiB fed only
    /// while [`wants_message_data`](Self::wants_message_data) keep it within
    /// 32 KiB. Ignored when no message is being retrieved. `now` is when the
    /// chunk came, which ends the retrieval if `TOP` has its lines.
    pub fn message_data(&mut self, chunk: &[u8], now: Instant) {
        if let Some((Pending::Retrieve(retrieval), out)) = self.common.answering() {
            retrieval.start(out);
            retrieval.transfer.feed(chunk, out);
            if retrieval.transfer.is_complete() {
                // TOP has its lines: end now rather than make the runtime read the rest.
                self.end_retrieval(now);
            }
        }
    }

    /// Whether the message asked for by [`Request::Retrieve`] still wants data. False once
    /// [`message_end`](Self::message_end) was called, and as soon as `TOP` has its lines:
    /// the runtime then stops reading the message.
    pub fn is_retrieving(&self) -> bool {
        matches!(self.common.question(), Some(Pending::Retrieve(_)))
    }

    /// The message asked for by [`Request::Retrieve`] is complete: ends the
    /// response with `.` CRLF (completing a last line that lacks its CRLF).
    pub fn message_end(&mut self, now: Instant) {
        self.end_retrieval(now);
    }

    /// The message asked for by [`Request::Retrieve`] cannot be read. Before any
    /// [`message_data`](Self::message_data) the client gets
    /// `-ERR [SYS/TEMP] Message could not be read` and the session goes on.
    /// Once data was sent the response cannot be taken back, and ending it
    /// would pass a truncated message off as whole: the session closes instead.
    pub fn message_unavailable(&mut self, now: Instant) {
        match self.common.answer(now) {
            Some(Pending::Retrieve(retrieval)) if retrieval.started => self.close(),
            Some(Pending::Retrieve(_)) => {
                self.err(Some(RespCode::SysTemp), "Message could not be read");
            }
            other => self.common.restore(other),
        }
    }

    /// Answers [`Request::Update`]: signs off with the number of messages left,
    /// or says that the deletion failed; then closes.
    pub fn update_result(&mut self, ok: bool, now: Instant) {
        match self.common.answer(now) {
            Some(Pending::Update(_)) if ok => {
                let left = match &self.state {
                    State::Transaction { mailbox, .. } => mailbox.stat().0,
                    State::Authorization { .. } => 0,
                };
                let host = &self.config.hostname;
                reply::ok(
                    self.common.out(),
                    format_args!("{host} POP3 server signing off ({left} messages left)"),
                );
                self.close();
            }
            Some(Pending::Update(_)) => {
                self.err(Some(RespCode::SysTemp), "some deleted messages not removed");
                self.close();
            }
            other => self.common.restore(other),
        }
    }

    /// The user logged in on this connection (TRANSACTION state).
    pub fn user(&self) -> Option<&str> {
        match &self.state {
            State::Transaction { user, .. } => Some(user),
            State::Authorization { .. } => None,
        }
    }

    fn step_command(&mut self) -> bool {
        let range = match self.common.input_mut().next_line(COMMAND_LINE) {
            Line::Incomplete => return false,
            Line::TooLong => None,
            Line::Complete(range) => Some(range),
        };
        // A name given by USER serves only the very next line, if it is PASS.
        let user = match &mut self.state {
            State::Authorization { user } => user.take(),
            State::Transaction { .. } => None,
        };
        let Some(range) = range else {
            self.error(None, "line too long");
            return true;
        };
        // Handlers never touch `self.input` while it is lent out.
        let input = self.common.input_mut().lend();
        match parse_command(input.line(range)) {
            Ok(command) => self.handle_command(command, user),
            Err(error) => self.error(None, error.text()),
        }
        *self.common.input_mut() = input;
        true
    }

    fn step_sasl(&mut self) -> bool {
        let Phase::Sasl(exchange) = mem::replace(&mut self.phase, Phase::Command) else {
            return false;
        };
        match exchange.read_line(self.common.input_mut(), SASL_LINE) {
            Ok(next) => self.sasl(next),
            // Not all of the line is in: wait for the rest.
            Err(exchange) => {
                self.phase = Phase::Sasl(exchange);
                return false;
            }
        }
        true
    }

    /// Carries out a step of the SASL exchange (RFC 5034 4).
    fn sasl(&mut self, next: SaslNext) {
        match next {
            SaslNext::Cancelled => self.err(None, "Authentication cancelled"),
            // Worded as for a command line.
            SaslNext::Invalid(SaslError::TooLong) => self.error(None, "line too long"),
            SaslNext::Invalid(error) => self.error(None, error.text()),
            SaslNext::Challenge(exchange, challenge) => {
                reply::continuation(self.common.out(), challenge);
                self.phase = Phase::Sasl(exchange);
            }
            SaslNext::Done(credentials) => self.common.ask(Pending::Login(credentials)),
        }
    }

    /// Writes listing lines from `next` until the output is full or the
    /// listing complete.
    fn step_listing(&mut self, uidl: bool, mut next: usize) {
        let State::Transaction { mailbox, .. } = &self.state else {
            self.phase = Phase::Command;
            return;
        };
        while next < mailbox.len() && !self.common.output().is_full() {
            // Message numbers are 1-based; `next < mailbox.len()` keeps this exact.
            let msg = next.saturating_add(1);
            if let Some(entry) = mailbox.visible(next) {
                let out = self.common.out();
                match uidl {
                    false => reply::line(out, format_args!("{msg} {}", entry.size)),
                    true => reply::line(out, format_args!("{msg} {}", entry.uid)),
                }
            }
            next = msg;
        }
        self.phase = if next < mailbox.len() {
            Phase::Listing { uidl, next }
        } else {
            reply::end(self.common.out());
            Phase::Command
        };
    }

    /// Finishes the message being retrieved, if any.
    fn end_retrieval(&mut self, now: Instant) {
        match self.common.answer(now) {
            Some(Pending::Retrieve(mut retrieval)) => {
                let out = self.common.out();
                retrieval.start(out);
                retrieval.transfer.finish(out);
            }
            other => self.common.restore(other),
        }
    }

    /// Queues `Close` after whatever output is pending; any question to the
    /// runtime is dropped (its late answer is ignored).
    fn close(&mut self) {
        if self.common.close() {
            self.phase = Phase::Command;
        }
    }

    fn ok(&mut self, text: &str) {
        reply::ok(self.common.out(), format_args!("{text}"));
    }

    fn err(&mut self, code: Option<RespCode>, text: &str) {
        reply::err(self.common.out(), code, format_args!("{text}"));
    }

    /// Answers a bad command and counts it.
    fn error(&mut self, code: Option<RespCode>, text: &str) {
        self.err(code, text);
        self.count_error();
    }

    /// Counts a bad command; at `max_errors` the client is shown the door.
    fn count_error(&mut self) {
        if self.common.count_error() {
            self.err(None, "Too many errors");
            self.close();
        }
    }
}

/// `+OK maildrop has N messages (S octets)`, after login and `RSET`.
fn maildrop_summary(out: &mut Vec<u8>, mailbox: &Mailbox) {
    let (count, size) = mailbox.stat();
    reply::ok(
        out,
        format_args!("maildrop has {count} messages ({size} octets)"),
    );
}

impl Session for ServerSession {
    type Request<'a> = Request<'a>;
    type Question = Pending;
    type Input = InputBuffer;
    type Event = Infallible;

    fn poll_action(&mut self) -> Option<Action<'_>> {
        self.process();
        self.common
            .poll(|never| match never {}, |pending| Some(pending.action()))
    }

    /// Processes one command or SASL line, or one stretch of a listing.
    /// Returns whether it made progress.
    fn step(&mut self) -> bool {
        match self.phase {
            Phase::Command => self.step_command(),
            Phase::Sasl(_) => self.step_sasl(),
            Phase::Listing { uidl, next } => {
                self.step_listing(uidl, next);
                true
            }
        }
    }

    fn common(&self) -> &Common<Pending> {
        &self.common
    }

    fn common_mut(&mut self) -> &mut Common<Pending> {
        &mut self.common
    }

    fn idle_limit(&self) -> Duration {
        self.config.timeout
    }

    /// In the AUTHORIZATION state: `login_timeout` from the greeting in all.
    fn phase_deadline(&self) -> Option<Instant> {
        self.login_deadline
            .filter(|_| matches!(self.state, State::Authorization { .. }))
    }

    /// Just `Close`, with no response and without entering the UPDATE state,
    /// so nothing is deleted (RFC 1939 3).
    fn timed_out(&mut self) {
        self.close();
    }

    /// Back to the start of the AUTHORIZATION state: a `USER` given before
    /// is forgotten.
    fn forget_cleartext(&mut self) {
        self.state = State::Authorization { user: None };
        self.phase = Phase::Command;
    }

    /// A multi-line response (a message being retrieved, a listing) or an
    /// update: a shutdown lets it end with its own response, and deletes
    /// nothing.
    fn busy(&self) -> bool {
        matches!(self.phase, Phase::Listing { .. })
            || matches!(
                self.common.question(),
                Some(Pending::Retrieve(_) | Pending::Update(_))
            )
    }

    /// `-ERR [SYS/TEMP] server shutting down`, then `Close`.
    fn leave(&mut self) {
        if self.common.is_open() {
            self.err(Some(RespCode::SysTemp), "server shutting down");
            self.close();
        }
    }
}
