//! The skeleton every session shares: what it holds besides its protocol,
//! and the order in which `poll_action` hands things out.
//!
//! Whatever the protocol, a session is driven the same way: the runtime
//! feeds it input and time, then drains `poll_action`. The session processes
//! its input one step (a command, a line, a stretch of body) at a time while
//! [`Common::may_step`] allows, then hands out what [`Common::turn`] says:
//!
//! ```text
//! pub fn poll_action(&mut self) -> Option<Action<'_>> {
//!     while self.common.may_step() && self.step() {}
//!     Some(match self.common.turn()? {
//!         Turn::Send(bytes) => Action::Send(bytes),
//!         /* the protocol's events and questions, and Close */
//!     })
//! }
//! ```
//!
//! The order: a queued [event](Turn::Event) first, so that what it carries is
//! handed out before the next step overwrites it; once closing, the last
//! output and then `Close`, once; the [TLS handshake](Turn::StartTls) once
//! the reply to STARTTLS is out; a new [question](Turn::Ask), once; and the
//! output, in one batch, when nothing else is left to do.
//!
//! STARTTLS works alike in every protocol, so it is kept here: while the
//! handshake is awaited nothing is processed, and the protocol drops what
//! the client pipelined after the command (it arrived in cleartext and must
//! not be taken as said under TLS, CVE-2011-0411).
//!
//! Time comes only from the caller, and with every call that can end a wait:
//! input restarts the idle clock ([`Common::received`]), and so do the
//! answer to a question ([`Common::answer`]) and the end of a handshake
//! ([`Common::tls_started`]). While the session waits for its runtime there
//! is no deadline at all: the time the runtime takes is not the client's
//! idleness.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::input::{Input, InputBuffer};
use crate::lifecycle::{ErrorBudget, Lifecycle};
use crate::output::Output;
use crate::sasl::Credentials;

mod driven;

pub use driven::Session;

/// What the runtime must do next, in every server session: the skeleton's
/// own actions, and the protocol's `R` (its other questions and
/// notifications).
pub enum Action<'a, R> {
    /// Write these bytes: every pending reply at once.
    Send(&'a [u8]),
    /// The reply accepting STARTTLS (or STLS) was in the preceding `Send`.
    /// Run the TLS handshake, then tell the session it ended. Input the
    /// client pipelined after the command was dropped.
    StartTls,
    /// Check these credentials (from a protocol's login command or a SASL
    /// exchange), then give the session the verdict, a
    /// `Result<_, `[`LoginError`](crate::login::LoginError)`>`.
    Login(&'a Credentials),
    /// What only this protocol asks or tells; see its `Request`.
    Request(R),
    /// Flush and close the connection. Nothing more will come.
    Close,
}

impl<R: fmt::Debug> fmt::Debug for Action<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Send(bytes) => write!(f, "Send({:?})", String::from_utf8_lossy(bytes)),
            Self::StartTls => f.write_str("StartTls"),
            // `Credentials` never prints the password.
            Self::Login(credentials) => f.debug_tuple("Login").field(credentials).finish(),
            Self::Request(request) => request.fmt(f),
            Self::Close => f.write_str("Close"),
        }
    }
}

/// What a session hands out next; see the [module docs](self).
#[derive(Debug, PartialEq, Eq)]
pub enum Turn<'a, Q, E> {
    /// Every pending byte of output.
    Send(&'a [u8]),
    /// A notification that needs no answer.
    Event(E),
    /// The reply to STARTTLS is out: the runtime runs the TLS handshake, and
    /// the session reports its end with [`Common::tls_started`].
    StartTls,
    /// The question the session waits on; handed out once.
    Ask(&'a mut Q),
    /// The connection is to be closed. Nothing comes after it.
    Close,
}

/// The client a session serves, as its runtime accepted the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// The client's address.
    pub addr: SocketAddr,
    /// TLS was negotiated before the protocol began (implicit TLS, RFC 8314:
    /// ports 465, 993, 995).
    pub implicit_tls: bool,
}

/// What every session holds besides its protocol: its client, its input `I`, its output, the question
/// `Q` it put to the runtime (credentials to check, a recipient, a command
/// to execute), the notifications `E` it queued (body bytes, the start of
/// IDLE), whether the connection is encrypted, its [`Lifecycle`], its idle
/// clock and its [`ErrorBudget`].
#[derive(Debug)]
pub struct Common<Q, E = Infallible, I = InputBuffer> {
    peer: SocketAddr,
    input: I,
    output: Output,
    question: Option<Q>,
    /// `question` was handed out.
    asked: bool,
    events: VecDeque<E>,
    tls: Tls,
    lifecycle: Lifecycle,
    errors: ErrorBudget,
    /// Since when the session waits for the client: its last input, or the
    /// answer that ended a wait for the runtime.
    idle_since: Instant,
}

/// Where the connection is with TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tls {
    Off,
    /// STARTTLS was accepted; `handed_out`: [`Turn::StartTls`] was.
    Starting {
        handed_out: bool,
    },
    On,
}

impl<Q, E, I: Input> Common<Q, E, I> {
    /// An open session with `peer`, reading into `input`, idle since `now`,
    /// whose output counts as full from `high_water` bytes on and which
    /// closes at its `max_errors`-th error.
    pub fn new(peer: Peer, input: I, now: Instant, high_water: usize, max_errors: u32) -> Self {
        Self {
            peer: peer.addr,
            input,
            output: Output::new(high_water),
            question: None,
            asked: false,
            events: VecDeque::new(),
            tls: if peer.implicit_tls { Tls::On } else { Tls::Off },
            lifecycle: Lifecycle::Open,
            errors: ErrorBudget::new(max_errors),
            idle_since: now,
        }
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The received bytes not yet processed.
    pub fn input(&self) -> &I {
        &self.input
    }

    /// The received bytes not yet processed, to read and consume.
    pub fn input_mut(&mut self) -> &mut I {
        &mut self.input
    }

    /// The buffer to write replies into.
    pub fn out(&mut self) -> &mut Vec<u8> {
        self.output.buf()
    }

    /// The pending output.
    pub fn output(&self) -> &Output {
        &self.output
    }

    /// How many bytes of input the session takes now: the room its input
    /// has, while it waits for the client; none while anything waits for the
    /// runtime (a question, a handshake, an event, output) or once closing.
    /// The runtime reads at most this much, which is how back-pressure
    /// reaches the client.
    pub fn input_capacity(&self) -> usize {
        let waits_for_client = self.lifecycle.is_open()
            && !self.waits_for_runtime()
            && self.events.is_empty()
            && self.output.is_empty();
        if waits_for_client {
            self.input.room()
        } else {
            0
        }
    }

    /// Takes as much of `data`, received at `now`, as
    /// [`input_capacity`](Self::input_capacity) allows; returns how much.
    /// Unless it took nothing, the client is not idle.
    pub fn receive(&mut self, data: &[u8], now: Instant) -> usize {
        let allowed = data.get(..self.input_capacity()).unwrap_or(data);
        let taken = self.input.feed(allowed);
        if taken > 0 {
            self.idle_since = now;
        }
        taken
    }

    /// Whether the session may process more input: it is open, and nothing
    /// (a question, a handshake, an event, a full output) waits for the
    /// runtime first.
    pub fn may_step(&self) -> bool {
        self.lifecycle.is_open()
            && !self.waits_for_runtime()
            && self.events.is_empty()
            && !self.output.is_full()
    }

    /// What to hand out now, in the order of the [module docs](self); `None`
    /// when the session waits for input or an answer, or is closed.
    pub fn turn(&mut self) -> Option<Turn<'_, Q, E>> {
        self.output.reclaim();
        if self.lifecycle.is_closed() {
            return None;
        }
        if let Some(event) = self.events.pop_front() {
            return Some(Turn::Event(event));
        }
        if self.lifecycle == Lifecycle::Closing {
            if self.output.is_empty() {
                self.lifecycle.finish();
                return Some(Turn::Close);
            }
            return Some(Turn::Send(self.output.hand_out()));
        }
        if self.tls == (Tls::Starting { handed_out: false }) {
            // The client must have the reply before the handshake starts.
            if !self.output.is_empty() {
                return Some(Turn::Send(self.output.hand_out()));
            }
            self.tls = Tls::Starting { handed_out: true };
            return Some(Turn::StartTls);
        }
        if !self.asked && self.question.is_some() {
            self.asked = true;
            return self.question.as_mut().map(Turn::Ask);
        }
        (!self.output.is_empty()).then(|| Turn::Send(self.output.hand_out()))
    }

    /// [`turn`](Self::turn) as an [`Action`]: `event` makes the protocol's
    /// request of a notification, and `ask` the action of a question (`None`
    /// when there is nothing to hand out after all).
    pub fn poll<'a, R>(
        &'a mut self,
        event: impl FnOnce(E) -> R,
        ask: impl FnOnce(&'a mut Q) -> Option<Action<'a, R>>,
    ) -> Option<Action<'a, R>> {
        Some(match self.turn()? {
            Turn::Send(bytes) => Action::Send(bytes),
            Turn::Event(notification) => Action::Request(event(notification)),
            Turn::StartTls => Action::StartTls,
            Turn::Ask(question) => return ask(question),
            Turn::Close => Action::Close,
        })
    }

    /// Asks the runtime `question`; the session processes nothing more until
    /// it is answered.
    pub fn ask(&mut self, question: Q) {
        self.question = Some(question);
        self.asked = false;
    }

    /// The question waiting for an answer, handed out or not.
    pub fn question(&self) -> Option<&Q> {
        self.question.as_ref()
    }

    /// The question waiting for an answer, once handed out.
    pub fn asked(&self) -> Option<&Q> {
        self.question.as_ref().filter(|_| self.asked)
    }

    /// The question being answered in parts (a message streamed in chunks),
    /// with the buffer to write replies into.
    pub fn answering(&mut self) -> Option<(&mut Q, &mut Vec<u8>)> {
        let question = self.question.as_mut()?;
        Some((question, self.output.buf()))
    }

    /// The runtime answers at `now`: takes the question, and the session
    /// waits for the client again from `now`. An answer to another question
    /// than the one taken is ignored by giving it back with
    /// [`restore`](Self::restore).
    pub fn answer(&mut self, now: Instant) -> Option<Q> {
        let question = self.question.take()?;
        self.idle_since = now;
        Some(question)
    }

    /// Gives back a question [`answer`](Self::answer) took: it still waits
    /// for its answer. (There is no deadline while it does, so the clock
    /// `answer` restarted does not matter.)
    pub fn restore(&mut self, question: Option<Q>) {
        self.question = question;
    }

    /// Queues a notification for the runtime, handed out before anything
    /// else.
    pub fn notify(&mut self, event: E) {
        self.events.push_back(event);
    }

    /// Gives back what the buffers grew to while nothing is in them: the runtime waits for
    /// the peer now. See [`Session::rest`](driven::Session::rest).
    pub fn rest(&mut self) {
        self.input.rest();
        self.output.rest();
        if self.events.is_empty() {
            self.events = VecDeque::new();
        }
    }

    /// Drops the notifications not yet handed out.
    pub fn clear_events(&mut self) {
        self.events.clear();
    }

    /// Whether the connection is encrypted (implicit TLS, or after
    /// STARTTLS).
    pub fn is_tls(&self) -> bool {
        self.tls == Tls::On
    }

    /// The client's STARTTLS was accepted and its reply written: once that
    /// reply is out, [`Turn::StartTls`] comes, and nothing is processed until
    /// [`tls_started`](Self::tls_started).
    pub fn start_tls(&mut self) {
        self.tls = Tls::Starting { handed_out: false };
    }

    /// Whether the session waits for a TLS handshake.
    pub fn is_starting_tls(&self) -> bool {
        matches!(self.tls, Tls::Starting { .. })
    }

    /// The handshake ended at `now`. Returns whether one was awaited, that
    /// is whether the protocol should now forget what it learnt in
    /// cleartext.
    pub fn tls_started(&mut self, now: Instant) -> bool {
        let awaited = self.is_starting_tls();
        if awaited {
            self.tls = Tls::On;
            self.idle_since = now;
        }
        awaited
    }

    /// Since when the session waits for the client: its last input, or the
    /// answer that ended a wait for the runtime. A phase that starts on
    /// input starts then.
    pub fn idle_since(&self) -> Instant {
        self.idle_since
    }

    /// When the client has been idle for `limit`: `None` while the session
    /// waits for its runtime (the runtime's time is not the client's
    /// idleness) and once closing.
    pub fn deadline(&self, limit: Duration) -> Option<Instant> {
        if !self.lifecycle.is_open() || self.waits_for_runtime() {
            return None;
        }
        self.idle_since.checked_add(limit)
    }

    /// Whether the session still processes input and answers.
    pub fn is_open(&self) -> bool {
        self.lifecycle.is_open()
    }

    /// Whether `Close` was handed out.
    pub fn is_closed(&self) -> bool {
        self.lifecycle.is_closed()
    }

    /// The server is shutting down; see [`Lifecycle::Draining`].
    pub fn drain(&mut self) {
        self.lifecycle.drain();
    }

    /// Whether a shutdown waits for the session to be between commands.
    pub fn is_draining(&self) -> bool {
        self.lifecycle.is_draining()
    }

    /// Starts closing: `Close` comes once the output is out, and the question
    /// or handshake awaited, if any, is dropped (a late answer is ignored).
    /// Returns whether the session was open, that is whether the caller
    /// should tear down what it had in progress.
    pub fn close(&mut self) -> bool {
        let open = self.lifecycle.close();
        if open {
            self.question = None;
            if self.is_starting_tls() {
                self.tls = Tls::Off;
            }
        }
        open
    }

    /// Counts a protocol error. Returns whether the session is to say goodbye
    /// and [`close`](Self::close) now: the error budget is spent, and it is
    /// still open.
    pub fn count_error(&mut self) -> bool {
        self.errors.count() && self.lifecycle.is_open()
    }

    /// Whether a question or a handshake is awaited.
    fn waits_for_runtime(&self) -> bool {
        self.question.is_some() || self.is_starting_tls()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Session = Common<&'static str, u8>;

    fn session() -> (Session, Instant) {
        let now = Instant::now();
        let peer = Peer {
            addr: ([192, 0, 2, 1], 4000).into(),
            implicit_tls: false,
        };
        (Common::new(peer, InputBuffer::new(100), now, 16, 2), now)
    }

    #[test]
    fn events_then_question_then_output() {
        let (mut s, _) = session();
        s.out().extend_from_slice(b"354 Go\r\n");
        s.notify(1);
        s.ask("commit?");
        assert!(!s.may_step());
        assert_eq!(s.input_capacity(), 0);
        assert_eq!(s.turn(), Some(Turn::Event(1)));
        assert_eq!(s.turn(), Some(Turn::Ask(&mut "commit?")));
        assert_eq!(s.asked(), Some(&"commit?"));
        assert_eq!(s.turn(), Some(Turn::Send(&b"354 Go\r\n"[..])));
        assert_eq!(s.turn(), None);
    }

    #[test]
    fn the_handshake_starts_after_the_reply_to_starttls() {
        let (mut s, start) = session();
        s.out().extend_from_slice(b"220 Go ahead\r\n");
        s.start_tls();
        assert!(!s.may_step() && !s.is_tls());
        assert_eq!(s.deadline(Duration::from_secs(1)), None);
        assert_eq!(s.turn(), Some(Turn::Send(&b"220 Go ahead\r\n"[..])));
        assert_eq!(s.turn(), Some(Turn::StartTls));
        assert_eq!(s.turn(), None);
        let later = start + Duration::from_secs(5);
        assert!(s.tls_started(later) && s.is_tls() && s.may_step());
        assert!(!s.tls_started(later));
        assert_eq!(
            s.deadline(Duration::from_secs(1)),
            Some(later + Duration::from_secs(1))
        );
    }

    #[test]
    fn the_clock_stops_while_a_question_is_out() {
        let (mut s, start) = session();
        let limit = Duration::from_secs(60);
        assert_eq!(s.deadline(limit), Some(start + limit));
        s.ask("login?");
        assert_eq!(s.deadline(limit), None);
        let later = start + Duration::from_secs(600);
        assert_eq!(s.answer(later), Some("login?"));
        assert_eq!(s.deadline(limit), Some(later + limit));
        assert_eq!(s.answer(later + limit), None);
        assert_eq!(s.deadline(limit), Some(later + limit));
    }

    #[test]
    fn closing_sends_the_last_output_then_close_once() {
        let (mut s, _) = session();
        s.ask("rcpt?");
        assert!(!s.count_error());
        assert!(s.count_error());
        s.out().extend_from_slice(b"421 Too many errors\r\n");
        assert!(s.close() && !s.close());
        assert!(!s.count_error());
        assert_eq!(s.question(), None);
        assert_eq!(s.deadline(Duration::from_secs(1)), None);
        assert_eq!(s.turn(), Some(Turn::Send(&b"421 Too many errors\r\n"[..])));
        assert!(!s.is_closed());
        assert_eq!(s.turn(), Some(Turn::Close));
        assert!(s.is_closed());
        assert_eq!(s.turn(), None);
    }
}
