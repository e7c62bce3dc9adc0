//! The server side of one POP3 connection as a sans-IO state machine.
//!
//! The runtime feeds received bytes to [`ServerSession::handle_input`] and then
//! drains [`ServerSession::poll_action`] until it returns `None`. Work happens
//! lazily inside `poll_action`: one buffered command (or one stretch of a
//! listing) at a time, so a pipelined burst is answered in order and
//! processing stops wherever the runtime has to decide or deliver something.

mod commands;

use core::net::SocketAddr;
use std::fmt;
use std::mem;
use std::sync::Arc;
use std::time::Instant;

use proto_core::input::{InputBuffer, Line};
use proto_core::sasl::{Credentials, Exchange, Next as SaslNext};
use proto_core::session::{Common, Turn};

use crate::maildrop::{Mailbox, Maildrop};
use crate::reply::{self, RespCode};
use crate::transfer::Transfer;
use crate::{LoginError, ServerConfig, parse_command};

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

/// What the runtime must do next.
pub enum Action<'a> {
    /// Write these bytes: all pending responses at once.
    Send(&'a [u8]),
    /// `+OK Begin TLS negotiation` was in the preceding `Send`. Run the TLS
    /// handshake, then call [`ServerSession::tls_started`].
    StartTls,
    /// Check the credentials and open the maildrop; answer with
    /// [`ServerSession::login_result`].
    Login {
        /// The user, from `USER` or the PLAIN authcid.
        username: &'a str,
        /// The password.
        password: &'a str,
    },
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
    /// Flush and close the connection. Nothing more will come.
    Close,
}

impl fmt::Debug for Action<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Send(bytes) => write!(f, "Send({:?})", String::from_utf8_lossy(bytes)),
            Self::StartTls => f.write_str("StartTls"),
            // The password is never printed.
            Self::Login { username, .. } => f
                .debug_struct("Login")
                .field("username", username)
                .finish_non_exhaustive(),
            Self::Retrieve { index, top_lines } => f
                .debug_struct("Retrieve")
                .field("index", index)
                .field("top_lines", top_lines)
                .finish(),
            Self::Update { deleted } => f.debug_struct("Update").field("deleted", deleted).finish(),
            Self::Close => f.write_str("Close"),
        }
    }
}

/// A question to the runtime. Commands wait until it is answered.
#[derive(Debug)]
enum Pending {
    Login(Credentials),
    Retrieve(Retrieval),
    /// The indexes to remove.
    Update(Vec<usize>),
}

impl Pending {
    fn action(&self) -> Action<'_> {
        match self {
            Self::Login(c) => Action::Login {
                username: c.username(),
                password: c.password(),
            },
            Self::Retrieve(r) => Action::Retrieve {
                index: r.index,
                top_lines: r.top_lines,
            },
            Self::Update(deleted) => Action::Update { deleted },
        }
    }
}

/// A `RETR` or `TOP` whose message the runtime is streaming.
#[derive(Debug)]
struct Retrieval {
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
pub struct ServerSession {
    config: Arc<ServerConfig>,
    peer: SocketAddr,
    state: State,
    phase: Phase,
    input: InputBuffer,
    common: Common<Pending>,
}

impl fmt::Debug for ServerSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Buffers are left out: they may hold credentials (`Common` prints none
        // of its output, and `Credentials` no password).
        f.debug_struct("ServerSession")
            .field("peer", &self.peer)
            .field("user", &self.user())
            .field("phase", &self.phase)
            .field("common", &self.common)
            .finish_non_exhaustive()
    }
}

impl ServerSession {
    /// Starts a session and queues the greeting. `implicit_tls` is true on a
    /// port where TLS was negotiated before POP3 began (port 995, RFC 8314).
    pub fn new(
        config: Arc<ServerConfig>,
        peer: SocketAddr,
        implicit_tls: bool,
        now: Instant,
    ) -> Self {
        let mut common = Common::new(now, implicit_tls, OUTPUT_HIGH_WATER, config.max_errors);
        let host = &config.hostname;
        reply::ok(common.out(), format_args!("{host} POP3 server ready"));
        Self {
            config,
            peer,
            state: State::Authorization { user: None },
            phase: Phase::Command,
            input: InputBuffer::new(INPUT_LIMIT),
            common,
        }
    }

    /// How many bytes [`handle_input`](Self::handle_input) accepts now. Zero
    /// while a decision or a message is awaited, while output is waiting to be
    /// taken, or once closing: the runtime reads at most this many bytes, which
    /// is how back-pressure reaches the client.
    pub fn input_capacity(&self) -> usize {
        self.common.input_capacity(self.input.room())
    }

    /// Buffers bytes received at `now` from the client; returns how many were
    /// taken (at most [`input_capacity`](Self::input_capacity)). They are
    /// processed by [`poll_action`](Self::poll_action).
    pub fn handle_input(&mut self, data: &[u8], now: Instant) -> usize {
        self.common.receive(&mut self.input, data, now)
    }

    /// The next thing for the runtime to do, or `None` when the session waits
    /// for input, for an answer, or for message data. Output is batched: a
    /// `Send` comes when nothing else is left to do, and always before
    /// `StartTls` and `Close`.
    pub fn poll_action(&mut self) -> Option<Action<'_>> {
        while self.common.may_step() && self.step() {}
        Some(match self.common.turn()? {
            Turn::Send(bytes) => Action::Send(bytes),
            Turn::StartTls => Action::StartTls,
            Turn::Ask(pending) => pending.action(),
            Turn::Close => {
                self.input.clear();
                Action::Close
            }
            Turn::Event(never) => match never {},
        })
    }

    /// Whether [`Action::Close`] was handed out.
    pub fn is_closed(&self) -> bool {
        self.common.is_closed()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called: the last
    /// input (or answer) plus [`ServerConfig::timeout`]. `None` while the
    /// runtime is deciding or retrieving something, or once closing.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.common.deadline(self.config.timeout)
    }

    /// Closes the session if `now` is past the deadline: just `Close`, with no
    /// response and without entering the UPDATE state, so nothing is deleted
    /// (RFC 1939 3).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|deadline| now >= deadline) {
            self.close();
        }
    }

    /// The TLS handshake requested by [`Action::StartTls`] succeeded at `now`.
    /// The session is back at the start of the AUTHORIZATION state: a `USER` given
    /// before is forgotten and input pipelined after `STLS` was already dropped.
    pub fn tls_started(&mut self, now: Instant) {
        if self.common.tls_started(now) {
            self.state = State::Authorization { user: None };
            self.phase = Phase::Command;
            self.input.clear();
        }
    }

    /// Answers [`Action::Login`]. `Ok` enters the TRANSACTION state with this
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
    /// by [`Action::Retrieve`]. False while nothing is being retrieved, and
    /// while the output holds more than 16 KiB: then
    /// [`poll_action`](Self::poll_action) hands it out and there is room again.
    pub fn wants_message_data(&self) -> bool {
        matches!(self.common.asked(), Some(Pending::Retrieve(_))) && !self.common.output().is_full()
    }

    /// The next bytes of the message asked for by [`Action::Retrieve`], in
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

    /// Whether the message asked for by [`Action::Retrieve`] still wants data. False once
    /// [`message_end`](Self::message_end) was called, and as soon as `TOP` has its lines:
    /// the runtime then stops reading the message.
    pub fn is_retrieving(&self) -> bool {
        matches!(self.common.question(), Some(Pending::Retrieve(_)))
    }

    /// The message asked for by [`Action::Retrieve`] is complete: ends the
    /// response with `.` CRLF (completing a last line that lacks its CRLF).
    pub fn message_end(&mut self, now: Instant) {
        self.end_retrieval(now);
    }

    /// The message asked for by [`Action::Retrieve`] cannot be read. Before any
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

    /// Answers [`Action::Update`]: signs off with the number of messages left,
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

    /// Graceful shutdown: `-ERR [SYS/TEMP] server shutting down` and `Close`,
    /// deleting nothing. A multi-line response in progress (a message being
    /// retrieved, a listing) is finished first, and an update in progress
    /// ends with its own response.
    pub fn shutdown(&mut self) {
        self.common.drain();
        if !self.in_response() {
            self.shutdown_now();
        }
    }

    /// Whether the connection is encrypted (implicit TLS or after `STLS`).
    pub fn is_tls(&self) -> bool {
        self.common.is_tls()
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The user logged in on this connection (TRANSACTION state).
    pub fn user(&self) -> Option<&str> {
        match &self.state {
            State::Transaction { user, .. } => Some(user),
            State::Authorization { .. } => None,
        }
    }

    /// Unprocessed input bytes; for tests asserting the bound.
    #[doc(hidden)]
    pub fn buffered_input(&self) -> usize {
        self.input.len()
    }

    /// Processes one command or SASL line, or one stretch of a listing.
    /// Returns whether it made progress.
    fn step(&mut self) -> bool {
        if self.common.is_draining() && !self.in_response() {
            self.shutdown_now();
            return true;
        }
        match self.phase {
            Phase::Command => self.step_command(),
            Phase::Sasl(_) => self.step_sasl(),
            Phase::Listing { uidl, next } => {
                self.step_listing(uidl, next);
                true
            }
        }
    }

    fn step_command(&mut self) -> bool {
        let range = match self.input.next_line(COMMAND_LINE) {
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
        // The command borrows the line while its handler needs `&mut self`:
        // lend the buffer out meanwhile (handlers never touch `self.input`;
        // the stand-in holds nothing).
        let input = mem::replace(&mut self.input, InputBuffer::new(0));
        match parse_command(input.line(range)) {
            Ok(command) => self.handle_command(command, user),
            Err(error) => self.error(None, error.text()),
        }
        self.input = input;
        if self.common.is_starting_tls() {
            // Anything pipelined after STLS arrived in cleartext and must not
            // be taken as said under TLS (RFC 2595 4, CVE-2011-0411).
            self.input.clear();
        }
        true
    }

    fn step_sasl(&mut self) -> bool {
        let range = match self.input.next_line(SASL_LINE) {
            Line::Incomplete => return false,
            Line::TooLong => {
                self.phase = Phase::Command;
                self.error(None, "line too long");
                return true;
            }
            Line::Complete(range) => range,
        };
        if let Phase::Sasl(exchange) = mem::replace(&mut self.phase, Phase::Command) {
            let next = exchange.advance(self.input.line(range));
            self.sasl(next);
        }
        true
    }

    /// Carries out a step of the SASL exchange (RFC 5034 4).
    fn sasl(&mut self, next: SaslNext) {
        match next {
            SaslNext::Cancelled => self.err(None, "Authentication cancelled"),
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

    /// Whether a multi-line response or the update is in progress.
    fn in_response(&self) -> bool {
        matches!(self.phase, Phase::Listing { .. })
            || matches!(
                self.common.question(),
                Some(Pending::Retrieve(_) | Pending::Update(_))
            )
    }

    fn shutdown_now(&mut self) {
        if self.common.is_open() {
            self.err(Some(RespCode::SysTemp), "server shutting down");
            self.close();
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
