//! What a runtime does with every server session: one interface, written
//! once.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{Action, Common};
use crate::input::Input;

/// A server session as its runtime drives it, whatever the protocol: feed it
/// input and time, drain its actions, tell it when TLS is up and when the
/// server is shutting down.
///
/// A protocol implements the parts marked *protocol's part*; the calls a
/// runtime makes are provided here from them, so they behave alike in every
/// protocol.
pub trait Session {
    /// What only this protocol asks or tells ([`Action::Request`]).
    type Request<'a>
    where
        Self: 'a;
    /// The questions the protocol puts to its runtime.
    type Question;
    /// The notifications the protocol queues for its runtime.
    type Event;
    /// Where the protocol keeps what it received.
    type Input: Input;

    /// The next thing for the runtime to do, or `None` when the session
    /// waits for input or for an answer. Output is batched: a `Send` comes
    /// when nothing else is left to do, and always before `StartTls` and
    /// `Close`.
    fn poll_action(&mut self) -> Option<Action<'_, Self::Request<'_>>>;

    /// *Protocol's part:* processes one unit of input (a command, a line, a
    /// stretch of body or of a listing); returns whether it made progress.
    fn step(&mut self) -> bool;

    /// *Protocol's part:* the skeleton's state.
    fn common(&self) -> &Common<Self::Question, Self::Event, Self::Input>;

    /// *Protocol's part:* the skeleton's state, to change.
    fn common_mut(&mut self) -> &mut Common<Self::Question, Self::Event, Self::Input>;

    /// *Protocol's part:* how long the client may stay idle at this point of
    /// the conversation.
    fn idle_limit(&self) -> Duration;

    /// *Protocol's part:* the end of the phase the session is in, if the
    /// phase has one that input does not move: logging in, receiving a
    /// message. A client trickling a byte at a time stays within its idle
    /// limit, not within this.
    fn phase_deadline(&self) -> Option<Instant> {
        None
    }

    /// *Protocol's part:* the client stayed idle too long, or its phase ran
    /// past its deadline: say so if the protocol does, and close.
    fn timed_out(&mut self);

    /// *Protocol's part:* the TLS handshake ended; forget what was learnt in
    /// cleartext.
    fn forget_cleartext(&mut self);

    /// *Protocol's part:* whether something is under way that a shutdown
    /// lets finish (a message being received, a response being streamed, a
    /// command executing).
    fn busy(&self) -> bool;

    /// *Protocol's part:* the server is going away: say goodbye and close.
    fn leave(&mut self);

    /// *Protocol's part:* gives back buffers of the protocol's own that only its work
    /// needs (the last chunk of a message handed out). Nothing by default.
    fn rest_own(&mut self) {}

    /// The runtime has carried out every action and waits for the peer now, maybe for
    /// hours (an IMAP client in IDLE): the session gives back what its buffers grew to, so
    /// that one at rest holds its state and little more. Buffers that still hold something
    /// are kept.
    fn rest(&mut self) {
        self.rest_own();
        self.common_mut().rest();
    }

    /// Processes input one [`step`](Self::step) at a time while the
    /// skeleton allows it; a shutdown that waited for the session to be
    /// between commands comes first, and a step that accepted STARTTLS
    /// discards what followed it. What `poll_action`
    /// runs before it hands anything out.
    fn process(&mut self) {
        while self.common().may_step() {
            if self.common().is_draining() && !self.busy() {
                self.leave();
            } else if !self.step() {
                break;
            } else if self.common().is_starting_tls() {
                // What the client pipelined after STARTTLS arrived in
                // cleartext and must not be taken as said under TLS
                // (CVE-2011-0411).
                self.common_mut().input_mut().discard();
            }
        }
    }

    /// How many bytes [`handle_input`](Self::handle_input) accepts now: none
    /// while anything waits for the runtime (an answer, a handshake, output
    /// to take) or once closing. The runtime reads at most this many bytes,
    /// which is how back-pressure reaches the client.
    fn input_capacity(&self) -> usize {
        self.common().input_capacity()
    }

    /// Buffers bytes received at `now` from the client; returns how many were
    /// taken (at most [`input_capacity`](Self::input_capacity)). They are
    /// processed by [`poll_action`](Self::poll_action).
    fn handle_input(&mut self, data: &[u8], now: Instant) -> usize {
        self.common_mut().receive(data, now)
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called: the
    /// last input (or answer) plus the protocol's idle limit, or the end of
    /// its phase if that comes first. `None` while the runtime decides
    /// something, and once closing.
    fn poll_timeout(&self) -> Option<Instant> {
        let idle = self.common().deadline(self.idle_limit())?;
        Some(self.phase_deadline().map_or(idle, |phase| phase.min(idle)))
    }

    /// Closes the session, the protocol's way, if `now` is past the deadline.
    fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|deadline| now >= deadline) {
            self.timed_out();
        }
    }

    /// The TLS handshake asked for by [`Action::StartTls`] succeeded at
    /// `now`. The session starts again as the protocol says (RFC 3207 4.2,
    /// RFC 2595 4): what it learnt in cleartext is forgotten, and input
    /// pipelined after the command was already dropped.
    fn tls_started(&mut self, now: Instant) {
        if self.common_mut().tls_started(now) {
            self.forget_cleartext();
        }
    }

    /// Graceful shutdown: the protocol's goodbye and `Close` now, or, if
    /// something is under way, right after it ends.
    fn shutdown(&mut self) {
        self.common_mut().drain();
        if !self.busy() {
            self.leave();
        }
    }

    /// Unprocessed input bytes, what tests check against the bounds.
    fn buffered_input(&self) -> usize {
        self.common().input().buffered()
    }

    /// The client's address.
    fn peer(&self) -> SocketAddr {
        self.common().peer()
    }

    /// Whether the connection is encrypted (implicit TLS, or after
    /// STARTTLS).
    fn is_tls(&self) -> bool {
        self.common().is_tls()
    }

    /// Whether [`Action::Close`] was handed out.
    fn is_closed(&self) -> bool {
        self.common().is_closed()
    }
}
