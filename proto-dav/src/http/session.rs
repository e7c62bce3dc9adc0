//! One HTTP/1.1 server connection as a sans-IO state machine.
//!
//! The runtime feeds received bytes to `handle_input` and drains
//! [`ServerSession::poll_action`]. A connection carries one request at a
//! time: its head is a question ([`Request::Head`]), its body is handed out
//! as it arrives ([`Request::Body`]), its end is a question again
//! ([`Request::End`]), and the response ends it. Requests the client
//! pipelined wait in the input until then, which bounds them.

use std::convert::Infallible;
use std::fmt;
use std::mem;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto_core::input::InputBuffer;
use proto_core::login::LoginError;
use proto_core::sasl::Credentials;
use proto_core::session::{Common, Peer, Session};

use super::ServerConfig;
use super::basic;
use super::body::{BodyError, Decoder, Next};
use super::head::{Head, Method};
use super::parse::{self, Parsed, Read};
use super::response::{self, Connection, Response};

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

/// Once this much output has accumulated it is handed out before the next
/// pipelined request is read.
const OUTPUT_HIGH_WATER: usize = 64 * 1024;

/// Input held beyond the longest head: a body, or requests pipelined behind
/// the one being handled.
const INPUT_SLACK: usize = 8 * 1024;

/// Most body bytes read and dropped after a response that did not read them,
/// to keep the connection: more is cheaper to refuse by closing.
const DISCARD_LIMIT: u64 = 64 * 1024;

/// Empty lines ignored before a request line (RFC 9112 2.2 asks for at least
/// one, for clients that end a body with an extra CRLF).
const BLANK_LINES: u32 = 8;

/// What the runtime must do next: the skeleton's actions, with the
/// credentials of `Authorization: Basic` in
/// [`Action::Login`](proto_core::session::Action::Login) (answered by
/// [`ServerSession::login_result`]), and HTTP's own [`Request`]s.
pub type Action<'a> = proto_core::session::Action<'a, Request<'a>>;

/// What only HTTP asks or tells its runtime.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// The head of a request: a question. Answer with
    /// [`ServerSession::read_body`] (the engine wants the body) or
    /// [`ServerSession::respond`] (answer without reading the body).
    Head(&'a Head),
    /// Decoded body bytes of the request being read (`Content-Length` or
    /// chunked already undone): a notification, no answer. May come in any
    /// number of pieces.
    Body(&'a [u8]),
    /// The body is complete: a question. Answer with
    /// [`ServerSession::respond`].
    End,
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Head(head) => f.debug_tuple("Head").field(head).finish(),
            // Body bytes are no one's business in a log.
            Self::Body(bytes) => write!(f, "Body({} bytes)", bytes.len()),
            Self::End => f.write_str("End"),
        }
    }
}

/// A question to the runtime. Input waits until it is answered.
#[derive(Debug)]
pub enum Pending {
    /// Check the request's Basic credentials.
    Login(Credentials),
    /// The head: read the body, or respond.
    Head,
    /// The end of the body: respond.
    End,
}

impl Pending {
    fn action<'a>(&'a self, head: Option<&'a Head>) -> Option<Action<'a>> {
        Some(match self {
            Self::Login(credentials) => Action::Login(credentials),
            Self::Head => Action::Request(Request::Head(head?)),
            Self::End => Action::Request(Request::End),
        })
    }
}

/// What the next input bytes are.
#[derive(Debug)]
enum Phase {
    /// A head, or the empty lines a client may send before one. `since`:
    /// when its first byte (not an empty line) was seen; `blank`: how many
    /// empty lines came first.
    Head { since: Option<Instant>, blank: u32 },
    /// A request, from its head to its response.
    Request(Exchange),
    /// The response is written; the rest of the body it did not read is
    /// read and dropped before the next head.
    Discard(Decoder),
}

impl Phase {
    /// Waiting for the next request.
    fn next_request() -> Self {
        Self::Head {
            since: None,
            blank: 0,
        }
    }
}

/// A request being handled.
#[derive(Debug)]
struct Exchange {
    head: Head,
    body: Decoder,
    /// The runtime asked for the body ([`ServerSession::read_body`]).
    reading: bool,
    /// The framing was dubious: close after the response.
    close: bool,
}

/// What is left of a request's body once it is answered.
enum Unread {
    /// Nothing.
    Nothing,
    /// Little enough to read and drop.
    Discard(Decoder),
    /// Too much, of unknown length, or never coming (the client waits for a
    /// `100 Continue` that will not come): the connection closes.
    Close,
}

impl Exchange {
    fn unread(self) -> Unread {
        match self.body.remaining() {
            Some(0) => Unread::Nothing,
            Some(n) if n <= DISCARD_LIMIT && (self.reading || !self.head.expect_continue) => {
                Unread::Discard(self.body)
            }
            _ => Unread::Close,
        }
    }
}

/// One HTTP/1.1 server connection. See the [module docs](crate::http) for
/// the driving loop.
#[derive(Debug)]
pub struct ServerSession {
    config: Arc<ServerConfig>,
    phase: Phase,
    /// The credentials the runtime accepted last on this connection: a
    /// client sends them with every request, and they are checked once.
    accepted: Option<Credentials>,
    /// Requests whose head was read.
    requests: u32,
    /// Body bytes at the start of the input, found by the last step, to hand
    /// out.
    piece: usize,
    /// Body bytes handed out; consumed at the next call, since the runtime
    /// borrows them until then.
    handed: usize,
    common: Common<Pending>,
}

impl ServerSession {
    /// A session with `peer`, connected at `now`, waiting for its first
    /// request.
    pub fn new(config: Arc<ServerConfig>, peer: Peer, now: Instant) -> Self {
        let input = InputBuffer::new(config.max_head.saturating_add(INPUT_SLACK));
        let common = Common::new(peer, input, now, OUTPUT_HIGH_WATER, config.max_errors);
        Self {
            config,
            phase: Phase::next_request(),
            accepted: None,
            requests: 0,
            piece: 0,
            handed: 0,
            common,
        }
    }

    /// Answers [`Action::Login`](proto_core::session::Action::Login). `Ok`
    /// makes the user the head's [`Head::user`] and asks
    /// [`Request::Head`]; the same credentials on a later request of this
    /// connection are not asked about again. [`LoginError::BadCredentials`]
    /// gets `401` with a Basic challenge and counts towards `max_errors`;
    /// the other refusals get `503` with `Retry-After: 5`.
    pub fn login_result(&mut self, result: Result<(), LoginError>, now: Instant) {
        let credentials = match self.common.answer(now) {
            Some(Pending::Login(credentials)) => credentials,
            other => return self.common.restore(other),
        };
        match result {
            Ok(()) => {
                if let Phase::Request(exchange) = &mut self.phase {
                    exchange.head.user = Some(credentials.username().to_owned());
                }
                self.accepted = Some(credentials);
                self.common.ask(Pending::Head);
            }
            Err(LoginError::BadCredentials) => {
                let realm = response::quoted(&self.config.realm);
                let challenge = format!("Basic realm={realm}, charset=\"UTF-8\"");
                self.reject(Response::new(401).header("WWW-Authenticate", challenge));
            }
            Err(LoginError::Unavailable | LoginError::InUse) => {
                self.finish(Response::new(503).header("Retry-After", "5"), false);
            }
        }
    }

    /// Answers [`Request::Head`]: the engine wants the body. It comes as
    /// [`Request::Body`] pieces, then [`Request::End`] (at once for a request
    /// without a body). A client that sent `Expect: 100-continue` is told
    /// `100 Continue` now, and only now.
    pub fn read_body(&mut self, now: Instant) {
        match self.common.answer(now) {
            Some(Pending::Head) => {}
            other => return self.common.restore(other),
        }
        let Phase::Request(exchange) = &mut self.phase else {
            return;
        };
        if exchange.body.remaining() == Some(0) {
            return self.common.ask(Pending::End);
        }
        if exchange.head.expect_continue {
            self.common.out().extend_from_slice(response::CONTINUE);
        }
        exchange.reading = true;
    }

    /// Answers [`Request::Head`] or [`Request::End`] with `response`; also
    /// allowed while the body is being read, to give up on it.
    ///
    /// A body not read to its end is read and dropped if `Content-Length`
    /// says that at most 64 KiB remain (and the client is not waiting for a
    /// `100 Continue`); otherwise the response says `Connection: close` and
    /// the connection closes after it, as it does when the client asked for
    /// that, for the `max_requests`-th request, and while the server shuts
    /// down.
    pub fn respond(&mut self, response: Response, now: Instant) {
        self.settle();
        let reading = matches!(&self.phase, Phase::Request(exchange) if exchange.reading);
        match self.common.answer(now) {
            Some(Pending::Head | Pending::End) => {}
            None if reading => {}
            other => return self.common.restore(other),
        }
        self.finish(response, false);
    }

    /// The head of the request being handled, from its arrival to its
    /// response: for the runtime's log.
    pub fn head(&self) -> Option<&Head> {
        match &self.phase {
            Phase::Request(exchange) => Some(&exchange.head),
            Phase::Head { .. } | Phase::Discard(_) => None,
        }
    }

    /// Consumes the body bytes handed out last.
    fn settle(&mut self) {
        let handed = mem::take(&mut self.handed);
        self.common.input_mut().consume(handed);
    }

    /// Reads the next head, or skips an empty line before it.
    fn step_head(&mut self) -> bool {
        let Phase::Head { since, blank } = &mut self.phase else {
            return false;
        };
        match parse::read(self.common.input().pending(), &self.config) {
            Read::Incomplete => {
                if since.is_none() && !self.common.input().is_empty() {
                    // The input that brought it, or the response after which
                    // it was found already buffered.
                    *since = Some(self.common.idle_since());
                }
                false
            }
            Read::Blank(len) => {
                self.common.input_mut().consume(len);
                *blank = blank.saturating_add(1);
                if *blank > BLANK_LINES {
                    self.refuse(400);
                }
                true
            }
            Read::Reject(status) => {
                self.refuse(status);
                true
            }
            Read::Head(parsed) => {
                self.common.input_mut().consume(parsed.len);
                self.start(parsed);
                true
            }
        }
    }

    /// A head was read: check its credentials, or ask about it.
    fn start(&mut self, parsed: Parsed) {
        self.requests = self.requests.saturating_add(1);
        let Parsed {
            head,
            framing,
            close,
            ..
        } = parsed;
        let authorization = head.header("authorization").map(basic::credentials);
        self.phase = Phase::Request(Exchange {
            head,
            body: Decoder::new(framing, self.config.max_body),
            reading: false,
            close,
        });
        match authorization {
            None | Some(Ok(None)) => self.common.ask(Pending::Head),
            Some(Err(basic::Malformed)) => self.reject(Response::new(400)),
            Some(Ok(Some(credentials))) if self.accepted.as_ref() == Some(&credentials) => {
                if let Phase::Request(exchange) = &mut self.phase {
                    exchange.head.user = Some(credentials.into_username());
                }
                self.common.ask(Pending::Head);
            }
            Some(Ok(Some(credentials))) => self.common.ask(Pending::Login(credentials)),
        }
    }

    /// Finds the next body bytes for the runtime, or the body's end.
    fn step_body(&mut self) -> bool {
        let Phase::Request(exchange) = &mut self.phase else {
            return false;
        };
        if !exchange.reading || self.piece > 0 {
            return false;
        }
        match exchange.body.next(self.common.input().pending()) {
            Next::Data(n) => self.piece = n,
            Next::Framing(n) => self.common.input_mut().consume(n),
            Next::End(n) => {
                self.common.input_mut().consume(n);
                exchange.reading = false;
                self.common.ask(Pending::End);
            }
            Next::More => return false,
            Next::Error(BodyError::TooLarge) => self.refuse(413),
            Next::Error(BodyError::Malformed) => self.refuse(400),
        }
        true
    }

    /// Drops body bytes no one read.
    fn step_discard(&mut self) -> bool {
        let Phase::Discard(decoder) = &mut self.phase else {
            return false;
        };
        match decoder.next(self.common.input().pending()) {
            Next::Data(n) | Next::Framing(n) => self.common.input_mut().consume(n),
            Next::End(n) => {
                self.common.input_mut().consume(n);
                self.phase = Phase::next_request();
            }
            Next::More => return false,
            // Only `Content-Length` bodies are discarded, and they cannot be
            // broken; should one be, the connection cannot go on.
            Next::Error(_) => self.close(),
        }
        true
    }

    /// Writes the response to the request being handled, and decides
    /// whether the connection goes on: `spent` if the error budget is.
    fn finish(&mut self, response: Response, spent: bool) {
        self.piece = 0;
        let Phase::Request(exchange) = mem::replace(&mut self.phase, Phase::next_request()) else {
            return;
        };
        let head_request = exchange.head.method == Method::Head;
        let http_1_0 = exchange.head.minor_version == 0;
        let keep = !spent
            && !exchange.close
            && exchange.head.keep_alive
            && self.requests < self.config.max_requests
            && !self.common.is_draining();
        let unread = if keep {
            exchange.unread()
        } else {
            Unread::Close
        };
        let connection = match unread {
            Unread::Close => Connection::Close,
            Unread::Nothing | Unread::Discard(_) if http_1_0 => Connection::KeepAlive,
            Unread::Nothing | Unread::Discard(_) => Connection::Default,
        };
        response::write(self.common.out(), &response, head_request, connection);
        match unread {
            Unread::Nothing => {}
            Unread::Discard(decoder) => self.phase = Phase::Discard(decoder),
            Unread::Close => self.close(),
        }
    }

    /// Answers the request being handled with a client error the session
    /// found itself (a failed login, malformed credentials), counting it.
    fn reject(&mut self, response: Response) {
        let spent = self.common.count_error();
        self.finish(response, spent);
    }

    /// Answers with `status` and closes: the input cannot be trusted to go
    /// on with a request (a head or body the session refused, a timeout).
    /// Client errors count, for the record: the connection closes anyway.
    fn refuse(&mut self, status: u16) {
        if !self.common.is_open() {
            return;
        }
        if status < 500 {
            self.common.count_error();
        }
        response::write(
            self.common.out(),
            &Response::new(status),
            false,
            Connection::Close,
        );
        self.close();
    }

    /// Queues `Close` after whatever output is pending; the question
    /// awaited, if any, is dropped (its late answer is ignored).
    fn close(&mut self) {
        if self.common.close() {
            self.phase = Phase::next_request();
            self.piece = 0;
        }
    }
}

impl Session for ServerSession {
    type Request<'a> = Request<'a>;
    type Question = Pending;
    type Input = InputBuffer;
    type Event = Infallible;

    fn poll_action(&mut self) -> Option<Action<'_>> {
        self.settle();
        self.process();
        if self.piece > 0 {
            self.handed = mem::take(&mut self.piece);
            let pending = self.common.input().pending();
            return Some(Action::Request(Request::Body(
                pending.get(..self.handed).unwrap_or(pending),
            )));
        }
        let head = match &self.phase {
            Phase::Request(exchange) => Some(&exchange.head),
            Phase::Head { .. } | Phase::Discard(_) => None,
        };
        self.common
            .poll(|never| match never {}, |pending| pending.action(head))
    }

    /// Reads one head or empty line, finds one stretch of body, or drops
    /// one stretch of an unread body. Returns whether it made progress.
    fn step(&mut self) -> bool {
        match self.phase {
            Phase::Head { .. } => self.step_head(),
            Phase::Request(_) => self.step_body(),
            Phase::Discard(_) => self.step_discard(),
        }
    }

    fn common(&self) -> &Common<Pending> {
        &self.common
    }

    fn common_mut(&mut self) -> &mut Common<Pending> {
        &mut self.common
    }

    /// `idle_timeout` between requests, `request_timeout` while one is being
    /// received.
    fn idle_limit(&self) -> Duration {
        match self.phase {
            Phase::Head { since: None, .. } => self.config.idle_timeout,
            Phase::Head { .. } | Phase::Request(_) | Phase::Discard(_) => {
                self.config.request_timeout
            }
        }
    }

    /// While a head is being received: `head_deadline` from its first byte.
    fn phase_deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Head {
                since: Some(since), ..
            } => since.checked_add(self.config.head_deadline),
            Phase::Head { .. } | Phase::Request(_) | Phase::Discard(_) => None,
        }
    }

    /// `408` within a request, a silent close between requests (the client
    /// may be sending one right now, and would take a `408` for its answer).
    fn timed_out(&mut self) {
        match self.phase {
            Phase::Head { since: Some(_), .. } | Phase::Request(_) => self.refuse(408),
            Phase::Head { since: None, .. } | Phase::Discard(_) => self.close(),
        }
    }

    /// HTTP has no STARTTLS: nothing was learnt in cleartext.
    fn forget_cleartext(&mut self) {}

    /// From a head's arrival to its response: a shutdown lets the request
    /// end, and its response says `Connection: close`.
    fn busy(&self) -> bool {
        matches!(self.phase, Phase::Request(_))
    }

    /// Closes: between requests HTTP has nothing to say.
    fn leave(&mut self) {
        self.close();
    }
}
