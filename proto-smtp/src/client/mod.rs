//! The client side of SMTP: one outbound connection as a sans-IO state
//! machine, as the delivery queue uses it to hand mail to another server or to
//! a relay (RFC 5321, with PIPELINING, STARTTLS, AUTH, SIZE, 8BITMIME,
//! SMTPUTF8, DSN, ENHANCEDSTATUSCODES and REQUIRETLS).
//!
//! [`ClientSession`] is driven like the server session: the runtime feeds it
//! the server's bytes ([`handle_input`](ClientSession::handle_input)) and the
//! time, and carries out the [`ClientAction`]s it hands out. The session greets
//! (`EHLO`, falling back to `HELO`), upgrades to TLS and authenticates as its
//! [`ClientConfig`] says, then says [`ClientAction::Ready`]: the runtime hands
//! it a [`Message`] with [`send`](ClientSession::send), supplies the body when
//! asked ([`ClientAction::WantBody`]) and gets an [`Outcome`] per message
//! ([`ClientAction::Sent`]), with a status for every recipient. When the queue
//! has nothing more for this server, [`finish`](ClientSession::finish) says
//! `QUIT`.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//! use proto_smtp::{Peer, Recipient};
//! use proto_smtp::client::{ClientAction, ClientConfig, ClientSession, Message};
//!
//! let now = Instant::now();
//! let config = Arc::new(ClientConfig::new("mta.example.org"));
//! let server = Peer { addr: "192.0.2.25:25".parse().unwrap(), implicit_tls: false };
//! let mut session = ClientSession::new(config, server, now);
//! let mut queue = vec![Message {
//!     from: "alice@example.org".into(),
//!     recipients: vec![Recipient { addr: "bob@example.net".into(), ..Default::default() }],
//!     ..Default::default()
//! }];
//! // The server's side of the conversation, one read at a time.
//! let mut server = [
//!     "220 mx.example.net ESMTP\r\n",
//!     "250-mx.example.net\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
//!     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 Go ahead\r\n",
//!     "250 2.0.0 Queued as 4F2A\r\n",
//!     "221 2.0.0 Bye\r\n",
//! ]
//! .into_iter();
//! let mut wire = Vec::new();
//! let mut outcomes = Vec::new();
//! while !session.is_closed() {
//!     while let Some(action) = session.poll_action() {
//!         match action {
//!             ClientAction::Send(bytes) => wire.extend_from_slice(bytes), // write to the socket
//!             ClientAction::Ready => match queue.pop() {
//!                 Some(message) => session.send(message, now).unwrap(),
//!                 None => session.finish(now),
//!             },
//!             ClientAction::WantBody => {
//!                 // Fed while `wants_body()`, in pieces, from the spool.
//!                 let body = b"Subject: Hi\n\n.signature\n";
//!                 assert_eq!(session.body_data(body, now), body.len());
//!                 session.body_end(now);
//!             }
//!             ClientAction::Sent(outcome) => outcomes.push(outcome),
//!             ClientAction::StartTls => unreachable!("the server offers no STARTTLS"),
//!             ClientAction::Close(failure) => assert!(failure.is_none()),
//!         }
//!     }
//!     match server.next() {
//!         Some(reply) => assert_eq!(session.handle_input(reply.as_bytes(), now), reply.len()),
//!         None => session.connection_closed(now),
//!     }
//! }
//! assert_eq!(
//!     String::from_utf8(wire).unwrap(),
//!     "EHLO mta.example.org\r\n\
//!      MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n\
//!      Subject: Hi\r\n\r\n..signature\r\n.\r\n\
//!      QUIT\r\n"
//! );
//! let reply = outcomes[0].recipients[0].as_ref().unwrap();
//! assert_eq!(reply.text, "Queued as 4F2A");
//! ```
//!
//! # Decisions worth knowing
//!
//! - **Pipelining.** With `PIPELINING`, `MAIL`, every `RCPT` and `DATA` go
//!   out in one batch (RFC 2920), at most 8 KiB at a time so a long recipient
//!   list cannot fill both sides' buffers and stall; without it, each command
//!   waits for the reply to the one before. A `DATA` sent in the batch after
//!   every recipient was refused gets its refusal, which is expected; should
//!   a server say `354` anyway, the body is ended at once, empty.
//! - **Body.** `DATA`, not `BDAT`, which every server speaks and which needs
//!   no chunk sizes: the body streams through as it is, but dot-stuffed and
//!   with every line end written as CRLF, bare CRs and LFs included, so no
//!   receiver can read an end of data we did not mean (SMTP smuggling).
//!   [`body_data`](ClientSession::body_data) takes no more than the output
//!   has room for: the output never passes 8 KiB.
//! - **What the server lacks.** A message that needs `SMTPUTF8`, is larger
//!   than the server's `SIZE`, or asks for `REQUIRETLS` where it is not
//!   offered fails before `MAIL` (`5.6.7`, `5.3.4`, `5.7.30`), and the
//!   connection stays usable. An 8-bit body goes to a server without
//!   `8BITMIME` as it is, as Postfix sends it.
//! - **Failures** are replies, the server's or the session's own
//!   ([`Failure`]): 4xx is temporary, 5xx permanent. A recipient refused at
//!   `RCPT` keeps its refusal; the others share the message's fate. When the
//!   connection fails mid-message (a timeout, `421`, a lost connection, a
//!   reply that cannot be read) the message fails temporarily and the session
//!   closes, naming the failure in [`ClientAction::Close`]. Failures at the
//!   start (a `554` greeting, `AUTH` refused with `535` or `454`, TLS required
//!   but not offered) end the session the same way, for the queue to apply to
//!   every message it meant for this connection; the session says `QUIT`
//!   first where the server still listens.
//! - **TLS.** After `STARTTLS` everything learnt in cleartext is forgotten,
//!   input that arrived with the `220` included (an attacker could have put
//!   it there), and `EHLO` is said again (RFC 3207 4.2). Credentials only
//!   ever go over TLS.
//! - **Reused connections.** Every message after the first starts with
//!   `RSET`, pipelined with the rest when the server allows.
//! - **Time.** Each reply has its own deadline, from RFC 5321 4.5.3.2
//!   ([`Timeouts`]), counted from when the command went out or the reply
//!   before it came; none runs while the session is idle or the runtime does
//!   a TLS handshake. Time comes only from the caller.

mod body;
mod config;
mod extensions;
mod failure;
mod handshake;
pub(crate) mod reply;
mod transaction;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::fmt;
use std::mem;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto_core::input::{InputBuffer, Line};
use proto_core::session::{Common, Peer, Turn};

use self::body::Stuffer;
use self::reply::{ReplyError, ReplyReader};
use self::transaction::{AfterData, Transaction};
use crate::Reply;

pub use self::config::{ClientConfig, Timeouts, Tls};
pub use self::extensions::Extensions;
pub use self::failure::{Failure, Stage};
pub use self::transaction::{Message, Outcome, Status};
pub use proto_core::sasl::Credentials;

/// Longest reply line taken, CRLF included. RFC 5321 4.5.3.1.5 says 512
/// octets, but servers write longer refusals, and they are worth reading.
const LINE_LIMIT: usize = 4096;

/// Most unprocessed bytes held at once: the replies to a pipelined batch
/// plus one maximal line.
const INPUT_LIMIT: usize = 8 * 1024 + LINE_LIMIT;

/// Once this much output is pending it is handed out before anything more is
/// written: it bounds a pipelined batch and each piece of body.
const OUTPUT_HIGH_WATER: usize = 8 * 1024;

/// What the runtime must do next.
pub enum ClientAction<'a> {
    /// Write these bytes to the server.
    Send(&'a [u8]),
    /// The server accepted `STARTTLS`. Run the TLS handshake, then call
    /// [`ClientSession::tls_started`]. If the handshake fails the connection
    /// is unusable: drop the session (an opportunistic sender may then try
    /// again in cleartext, on a new connection with [`Tls::Never`]).
    StartTls,
    /// The session can take a message: call [`ClientSession::send`], or
    /// [`ClientSession::finish`] when there is none. Handed out once per wait.
    Ready,
    /// The server waits for the body of the message being sent: feed it with
    /// [`ClientSession::body_data`] while [`ClientSession::wants_body`], then
    /// call [`ClientSession::body_end`].
    WantBody,
    /// A message is through, delivered or not.
    Sent(Outcome),
    /// Close the connection. `None` when the session ended as asked (after
    /// `QUIT`), else why it ended. Nothing more will come.
    Close(Option<&'a Failure>),
}

impl fmt::Debug for ClientAction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The bytes may carry credentials (`AUTH`): only their number.
            Self::Send(bytes) => write!(f, "Send({} bytes)", bytes.len()),
            Self::StartTls => f.write_str("StartTls"),
            Self::Ready => f.write_str("Ready"),
            Self::WantBody => f.write_str("WantBody"),
            Self::Sent(outcome) => f.debug_tuple("Sent").field(outcome).finish(),
            Self::Close(failure) => f.debug_tuple("Close").field(failure).finish(),
        }
    }
}

/// What the runtime is asked for; input waits until it is answered.
#[derive(Debug)]
enum Pending {
    /// The message body, after the server's `354`.
    Body,
}

/// A notification for the runtime.
#[derive(Debug)]
enum Event {
    Sent(Outcome),
}

/// The reply the session waits for, oldest command first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    /// The reply to `AUTH` or to one of our responses; `next` is what a `334`
    /// asks for (LOGIN asks twice).
    Auth {
        next: Option<Secret>,
    },
    Rset,
    Mail,
    /// The `RCPT` of this recipient.
    Rcpt(usize),
    Data,
    EndOfData,
    Quit,
}

/// What LOGIN's next challenge asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Secret {
    Username,
    Password,
}

impl Expect {
    fn stage(self) -> Stage {
        match self {
            Self::Greeting => Stage::Greeting,
            Self::Ehlo => Stage::Ehlo,
            Self::Helo => Stage::Helo,
            Self::StartTls => Stage::StartTls,
            Self::Auth { .. } => Stage::Auth,
            Self::Rset => Stage::Rset,
            Self::Mail => Stage::Mail,
            Self::Rcpt(_) => Stage::Rcpt,
            Self::Data => Stage::Data,
            Self::EndOfData => Stage::EndOfData,
            Self::Quit => Stage::Quit,
        }
    }

    fn timeout(self, timeouts: &Timeouts) -> Duration {
        match self {
            Self::Greeting => timeouts.greeting,
            Self::Ehlo
            | Self::Helo
            | Self::StartTls
            | Self::Auth { .. }
            | Self::Rset
            | Self::Quit => timeouts.ehlo,
            Self::Mail => timeouts.mail,
            Self::Rcpt(_) => timeouts.rcpt,
            Self::Data => timeouts.data_init,
            Self::EndOfData => timeouts.data_end,
        }
    }
}

/// Where the connection is.
#[derive(Debug)]
enum Phase {
    /// Greeting, `EHLO`/`HELO`, `STARTTLS`, `AUTH`.
    Setup,
    /// Between messages.
    Idle,
    /// A message is on its way.
    Sending(Box<Transaction>),
    /// `QUIT` was said, or the session failed: no more mail.
    Ending,
}

/// One outbound SMTP connection. See the [module docs](self) for the driving
/// loop.
pub struct ClientSession {
    config: Arc<ClientConfig>,
    phase: Phase,
    /// Replies still to come, in the order the commands went out.
    expect: VecDeque<Expect>,
    extensions: Extensions,
    authenticated: bool,
    /// A message went out on this connection: the next one starts with `RSET`.
    reused: bool,
    /// [`finish`](Self::finish) was called: `QUIT` once idle.
    quit_requested: bool,
    /// [`ClientAction::Ready`] was handed out for this wait.
    ready_announced: bool,
    /// The connection ended; the replies already buffered are still read.
    eof: bool,
    /// Why the session ended, if it failed.
    failure: Option<Failure>,
    /// The time given with the latest call.
    clock: Instant,
    /// Since when the session waits for the reply at the head of `expect`,
    /// or for the next piece of body.
    since: Instant,
    reader: ReplyReader,
    stuffer: Stuffer,
    common: Common<Pending, Event>,
}

impl fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Buffers are left out: the output may hold credentials.
        f.debug_struct("ClientSession")
            .field("phase", &self.phase)
            .field("expect", &self.expect)
            .field("extensions", &self.extensions)
            .field("authenticated", &self.authenticated)
            .field("failure", &self.failure)
            .field("common", &self.common)
            .finish_non_exhaustive()
    }
}

impl ClientSession {
    /// Starts a session on a new connection to `server`, waiting for the
    /// greeting. With `implicit_tls` (RFC 8314) there is no `STARTTLS`.
    pub fn new(config: Arc<ClientConfig>, server: Peer, now: Instant) -> Self {
        let input = InputBuffer::new(INPUT_LIMIT);
        Self {
            config,
            phase: Phase::Setup,
            expect: VecDeque::from([Expect::Greeting]),
            extensions: Extensions::default(),
            authenticated: false,
            reused: false,
            quit_requested: false,
            ready_announced: false,
            eof: false,
            failure: None,
            clock: now,
            since: now,
            reader: ReplyReader::default(),
            stuffer: Stuffer::default(),
            common: Common::new(server, input, now, OUTPUT_HIGH_WATER, u32::MAX),
        }
    }

    /// How many bytes [`handle_input`](Self::handle_input) takes now: none
    /// while output, a notification, the body or a TLS handshake waits for
    /// the runtime, or once closing.
    pub fn input_capacity(&self) -> usize {
        self.common.input_capacity()
    }

    /// Buffers bytes received from the server at `now`; returns how many
    /// were taken (at most [`input_capacity`](Self::input_capacity)). They
    /// are processed by [`poll_action`](Self::poll_action).
    pub fn handle_input(&mut self, data: &[u8], now: Instant) -> usize {
        self.clock = now;
        self.common.receive(data, now)
    }

    /// The next thing for the runtime to do, or `None` when the session
    /// waits for the server, for the body, or for a message.
    pub fn poll_action(&mut self) -> Option<ClientAction<'_>> {
        while self.common.may_step() && self.step() {}
        // Handing things out changes neither the phase nor whether the
        // session is open.
        let announce = self.is_ready() && !self.ready_announced;
        match self.common.turn() {
            Some(Turn::Send(bytes)) => Some(ClientAction::Send(bytes)),
            Some(Turn::Event(Event::Sent(outcome))) => Some(ClientAction::Sent(outcome)),
            Some(Turn::StartTls) => Some(ClientAction::StartTls),
            Some(Turn::Ask(Pending::Body)) => Some(ClientAction::WantBody),
            Some(Turn::Close) => Some(ClientAction::Close(self.failure.as_ref())),
            None => {
                self.ready_announced |= announce;
                announce.then_some(ClientAction::Ready)
            }
        }
    }

    /// Whether [`ClientAction::Close`] was handed out.
    pub fn is_closed(&self) -> bool {
        self.common.is_closed()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due: the deadline of
    /// the reply awaited, or of the next piece of body. `None` while idle,
    /// during a TLS handshake, and once closing.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.common.is_open() || self.common.is_starting_tls() {
            return None;
        }
        let timeouts = &self.config.timeouts;
        let limit = if self.common.question().is_some() {
            timeouts.data_block
        } else {
            self.expect.front()?.timeout(timeouts)
        };
        self.since.checked_add(limit)
    }

    /// Fails the session, temporarily (`4.4.2`), if `now` is past the
    /// deadline; an unanswered `QUIT` just closes.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.clock = now;
        if self.poll_timeout().is_none_or(|deadline| now < deadline) {
            return;
        }
        if matches!(self.phase, Phase::Ending) {
            return self.close();
        }
        let stage = self.stage();
        let text = match stage {
            Stage::Body => "The message body was not supplied in time".to_owned(),
            stage => format!("Timed out waiting for the reply to {stage}"),
        };
        self.fail(Failure::temporary(stage, (4, 4, 2), text), false);
    }

    /// The connection ended at `now` (the server closed it, or reading or
    /// writing failed), after the bytes received before the end were fed.
    /// Replies already buffered are still read; then, unless the session had
    /// said `QUIT`, it fails temporarily (`4.4.2`).
    pub fn connection_closed(&mut self, now: Instant) {
        self.clock = now;
        self.eof = true;
        if self.common.question().is_some() || self.common.is_starting_tls() {
            self.lost();
        }
    }

    /// The TLS handshake asked for by [`ClientAction::StartTls`] succeeded
    /// at `now`. The session forgets what the server said in cleartext and
    /// greets it again (RFC 3207 4.2).
    pub fn tls_started(&mut self, now: Instant) {
        if self.common.tls_started(now) {
            self.clock = now;
            self.common.input_mut().clear();
            self.reader = ReplyReader::default();
            self.extensions = Extensions::default();
            self.ehlo();
        }
    }

    /// Whether the session can take a message now.
    pub fn is_ready(&self) -> bool {
        matches!(self.phase, Phase::Idle) && self.common.is_open()
    }

    /// Starts sending `message` at `now`, or hands it back when the session
    /// cannot take it (it is not [ready](Self::is_ready)).
    ///
    /// A message the server cannot take as it is fails at once, permanently,
    /// with no command sent: it needs `SMTPUTF8` and the server lacks it
    /// (`5.6.7`), its `SIZE` is above the server's limit (`5.3.4`), it asks
    /// for `REQUIRETLS` and the server does not offer it over TLS (`5.7.30`),
    /// or its sender cannot be written in `MAIL` (`5.1.7`). A recipient whose
    /// address cannot be written in `RCPT` fails alone (`5.1.3`).
    #[allow(
        clippy::result_large_err,
        reason = "the message goes back as it came; a box would cost every send"
    )]
    pub fn send(&mut self, message: Message, now: Instant) -> Result<(), Message> {
        if !self.is_ready() {
            return Err(message);
        }
        self.clock = now;
        let transaction = Transaction::new(message, self.reused);
        match transaction.refusal(&self.extensions, self.common.is_tls()) {
            Some(failure) => {
                let outcome = transaction.settle(Some(Err(failure)));
                self.common.notify(Event::Sent(outcome));
                self.ready_announced = false;
            }
            None => {
                self.reused = true;
                self.phase = Phase::Sending(Box::new(transaction));
            }
        }
        Ok(())
    }

    /// Whether [`body_data`](Self::body_data) takes bytes now: the body was
    /// asked for and the output has room.
    pub fn wants_body(&self) -> bool {
        matches!(self.common.asked(), Some(Pending::Body)) && self.body_room() > 0
    }

    /// Takes the next bytes of the body asked for by
    /// [`ClientAction::WantBody`], at `now`, in pieces of any size; returns
    /// how many it took, no more than keeps the output within its bound
    /// (none unless [`wants_body`](Self::wants_body)). The rest is for the
    /// next call, once the output was handed out. Line ends become CRLF and
    /// lines starting with `.` are stuffed.
    pub fn body_data(&mut self, chunk: &[u8], now: Instant) -> usize {
        if !self.wants_body() {
            return 0;
        }
        self.clock = now;
        self.since = now;
        let piece = chunk.get(..self.body_room()).unwrap_or(chunk);
        self.stuffer.feed(piece, self.common.out());
        piece.len()
    }

    /// The body asked for by [`ClientAction::WantBody`] is complete at
    /// `now`: ends it (completing a last line without its line end) and
    /// waits for the server's verdict.
    pub fn body_end(&mut self, now: Instant) {
        if !matches!(self.common.asked(), Some(Pending::Body)) {
            return;
        }
        self.common.answer(now);
        self.clock = now;
        self.stuffer.finish(self.common.out());
        if let Phase::Sending(transaction) = &mut self.phase {
            transaction.body_sent();
        }
        self.await_reply(Expect::EndOfData);
    }

    /// No more messages: says `QUIT` now if idle, else once the message in
    /// progress (or the greeting) is through.
    pub fn finish(&mut self, now: Instant) {
        self.clock = now;
        self.quit_requested = true;
        if self.is_ready() {
            self.quit();
        }
    }

    /// What the server offers, from its last `EHLO` reply.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Whether the connection is encrypted (implicit TLS, or after `STARTTLS`).
    pub fn is_tls(&self) -> bool {
        self.common.is_tls()
    }

    /// Whether the session authenticated to the server.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Why the session ended, if it failed.
    pub fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    /// Unprocessed input bytes; for tests asserting the bound.
    #[doc(hidden)]
    pub fn buffered_input(&self) -> usize {
        self.common.input().len()
    }

    /// Bytes of body the output has room for: each may become two.
    fn body_room(&self) -> usize {
        OUTPUT_HIGH_WATER.saturating_sub(self.common.output().len()) / 2
    }

    /// Writes the next command of the message, ends the message, or reads a
    /// reply. Returns whether anything happened.
    fn step(&mut self) -> bool {
        self.step_transaction() || self.read_reply()
    }

    fn step_transaction(&mut self) -> bool {
        let Phase::Sending(transaction) = &mut self.phase else {
            return false;
        };
        let answered = self.expect.is_empty();
        let out = self.common.out();
        if let Some(expect) =
            transaction.next_command(&self.extensions, self.authenticated, answered, out)
        {
            self.await_reply(expect);
            return true;
        }
        if !(answered && transaction.is_done()) {
            return false;
        }
        if let Phase::Sending(transaction) = mem::replace(&mut self.phase, Phase::Idle) {
            self.common.notify(Event::Sent(transaction.settle(None)));
        }
        self.idle();
        true
    }

    fn read_reply(&mut self) -> bool {
        let range = match self.common.input_mut().next_line(LINE_LIMIT) {
            Line::Incomplete if self.eof => {
                self.lost();
                return true;
            }
            Line::Incomplete => return false,
            Line::TooLong => {
                self.garbled("a line too long");
                return true;
            }
            Line::Complete(range) => range,
        };
        match self.reader.line(self.common.input_mut().line(range)) {
            Ok(None) => {}
            Ok(Some(reply)) => self.dispatch(reply),
            Err(ReplyError::Malformed) => self.garbled("malformed"),
            Err(ReplyError::TooLong) => self.garbled("too long"),
        }
        true
    }

    /// Acts on a complete reply.
    fn dispatch(&mut self, reply: Reply) {
        self.since = self.clock;
        let Some(expect) = self.expect.pop_front() else {
            // Nothing was asked: only a server closing the connection speaks
            // unbidden (RFC 5321 3.8).
            return if reply.code == 421 {
                self.fail(Failure::remote(self.stage(), reply), false)
            } else {
                self.unexpected(self.stage(), &reply)
            };
        };
        let intermediate = matches!(expect, Expect::Data | Expect::Auth { .. });
        match reply.code {
            // Whatever the server says to QUIT, the conversation is over.
            _ if expect == Expect::Quit => {}
            // The server is closing the connection, whatever it was asked.
            421 => return self.fail(Failure::remote(expect.stage(), reply), false),
            200..300 | 400..600 => {}
            300..400 if intermediate => {}
            _ => return self.unexpected(expect.stage(), &reply),
        }
        match expect {
            Expect::Greeting => self.greeting(reply),
            Expect::Ehlo => self.ehlo_reply(reply),
            Expect::Helo => self.helo_reply(reply),
            Expect::StartTls => self.starttls_reply(reply),
            Expect::Auth { next } => self.auth_reply(next, reply),
            Expect::Rset if !reply.is_positive() => self.unexpected(Stage::Rset, &reply),
            Expect::Rset => {}
            Expect::Quit => self.close(),
            Expect::Mail | Expect::Rcpt(_) | Expect::Data | Expect::EndOfData => {
                self.transaction_reply(expect, reply);
            }
        }
    }

    /// Acts on the reply to a command of the message being sent.
    fn transaction_reply(&mut self, expect: Expect, reply: Reply) {
        let Phase::Sending(transaction) = &mut self.phase else {
            return self.unexpected(expect.stage(), &reply);
        };
        match expect {
            Expect::Mail => transaction.mail_reply(reply),
            Expect::Rcpt(index) => transaction.rcpt_reply(index, reply),
            Expect::Data if reply.is_positive() => self.unexpected(Stage::Data, &reply),
            Expect::Data => {
                let go_ahead = reply.code / 100 == 3;
                match transaction.data_reply(reply, go_ahead) {
                    AfterData::Body => {
                        self.stuffer = Stuffer::default();
                        self.common.ask(Pending::Body);
                    }
                    AfterData::Discard => {
                        self.common.out().extend_from_slice(b".\r\n");
                        self.await_reply(Expect::EndOfData);
                    }
                    AfterData::Nothing => {}
                }
            }
            _ => transaction.end_reply(reply),
        }
    }

    /// Waits for the reply to a command just written.
    fn await_reply(&mut self, expect: Expect) {
        if self.expect.is_empty() {
            self.since = self.clock;
        }
        self.expect.push_back(expect);
    }

    /// Between messages: `QUIT` if asked for, else ready for the next one.
    fn idle(&mut self) {
        if self.quit_requested {
            self.quit();
        } else {
            self.phase = Phase::Idle;
            self.ready_announced = false;
        }
    }

    fn quit(&mut self) {
        crate::Command::Quit.encode(self.common.out());
        self.await_reply(Expect::Quit);
        self.phase = Phase::Ending;
    }

    /// What the session is waiting for.
    fn stage(&self) -> Stage {
        if self.common.question().is_some() {
            Stage::Body
        } else if let Some(expect) = self.expect.front() {
            expect.stage()
        } else if self.common.is_starting_tls() {
            Stage::StartTls
        } else {
            Stage::Idle
        }
    }

    /// The connection is gone.
    fn lost(&mut self) {
        if matches!(self.phase, Phase::Ending) {
            return self.close();
        }
        let stage = self.stage();
        let text = format!("Lost connection with the server during {stage}");
        self.fail(Failure::temporary(stage, (4, 4, 2), text), false);
    }

    /// A reply that cannot be read: where the next one starts is unknown.
    fn garbled(&mut self, what: &str) {
        let stage = self.stage();
        let text = format!("Unreadable reply from the server to {stage}: {what}");
        self.fail(Failure::temporary(stage, (4, 5, 0), text), false);
    }

    /// A reply that makes no sense where it came: the server and the session
    /// no longer agree on where they are.
    fn unexpected(&mut self, stage: Stage, reply: &Reply) {
        let text = format!("Unexpected reply from the server to {stage}: {reply}");
        self.fail(Failure::temporary(stage, (4, 5, 0), text), false);
    }

    /// Ends the session with `failure`, failing the message in progress with
    /// it. `polite`: the server still follows the conversation, so it is
    /// told `QUIT` first.
    fn fail(&mut self, failure: Failure, polite: bool) {
        if !self.common.is_open() {
            return;
        }
        if let Phase::Sending(transaction) = mem::replace(&mut self.phase, Phase::Ending) {
            let outcome = transaction.settle(Some(Err(failure.clone())));
            self.common.notify(Event::Sent(outcome));
        }
        self.failure = Some(failure);
        if polite && self.expect.is_empty() {
            self.quit();
        } else {
            self.close();
        }
    }

    /// Hands out what is pending, then `Close`.
    fn close(&mut self) {
        if self.common.close() {
            self.phase = Phase::Ending;
            self.expect.clear();
        }
    }
}
