//! Sans-IO HTTP/1.1 server (RFC 9110, RFC 9112): the connection under
//! WebDAV, CalDAV and CardDAV.
//!
//! [`ServerSession`] is a plain state machine on `proto-core`'s skeleton: it
//! does no I/O, reads no clock and spawns nothing. The runtime feeds it
//! bytes and time and carries out the [`Action`]s it returns. Everything
//! about the wire is decided here (where a head ends, how a body is framed,
//! whether the connection persists, what a response looks like on the
//! wire); what a request means is the engine's, asked through
//! [`Request`]s. Every buffer is bounded and no input can make it panic.
//!
//! # Driving a session
//!
//! A request's [`Request::Head`] is a question: the runtime answers
//! [`ServerSession::read_body`] to have the body, which then comes as
//! [`Request::Body`] pieces followed by the question [`Request::End`], or
//! [`ServerSession::respond`] at once. Credentials in `Authorization: Basic`
//! are checked before the head is handed out ([`Action::Login`](proto_core::session::Action::Login),
//! answered with [`ServerSession::login_result`]), so a head says whose it
//! is in [`Head::user`].
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//! use proto_dav::{Action, LoginError, Peer, Request, Response, ServerConfig, ServerSession, Session};
//!
//! let config = Arc::new(ServerConfig::new("Postern"));
//! let peer = Peer { addr: "192.0.2.1:4321".parse().unwrap(), implicit_tls: true };
//! let mut session = ServerSession::new(config, peer, Instant::now());
//! let mut input: &[u8] = b"PUT /cal/a.ics HTTP/1.1\r\nHost: dav.example.org\r\n\
//!     Authorization: Basic YWxpY2U6c2VjcmV0\r\nContent-Length: 5\r\n\r\nhello\
//!     GET /cal/a.ics HTTP/1.1\r\nHost: dav.example.org\r\nConnection: close\r\n\r\n";
//! let mut received = Vec::new();
//! let mut body = Vec::new(); // the body being received
//! loop {
//!     while let Some(action) = session.poll_action() {
//!         match action {
//!             Action::Send(bytes) => received.extend_from_slice(bytes), // write to socket
//!             Action::Login(credentials) => {
//!                 let result = match credentials.password() {
//!                     "secret" => Ok(()),
//!                     _ => Err(LoginError::BadCredentials),
//!                 };
//!                 session.login_result(result, Instant::now());
//!             }
//!             Action::Request(Request::Head(head)) if head.has_body() => {
//!                 session.read_body(Instant::now());
//!             }
//!             Action::Request(Request::Head(head)) => {
//!                 let response = Response::new(200).body("text/calendar", body.clone());
//!                 session.respond(response, Instant::now());
//!             }
//!             Action::Request(Request::Body(bytes)) => body.extend_from_slice(bytes),
//!             Action::Request(Request::End) => {
//!                 let user = session.head().and_then(|head| head.user.clone());
//!                 assert_eq!(user.as_deref(), Some("alice"));
//!                 session.respond(Response::new(201), Instant::now());
//!             }
//!             Action::StartTls | Action::Close => {}
//!         }
//!     }
//!     if session.is_closed() {
//!         break;
//!     }
//!     let n = session.handle_input(input, Instant::now());
//!     input = &input[n..];
//! }
//! assert_eq!(
//!     String::from_utf8(received).unwrap(),
//!     "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n\
//!      HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nContent-Length: 5\r\n\
//!      Connection: close\r\n\r\nhello",
//! );
//! ```
//!
//! # Decisions worth knowing
//!
//! - **One request at a time.** Pipelined requests wait in the input (at most
//!   `max_head` + 8 KiB) until the one before is answered; responses go out
//!   in order.
//! - **Framing** (RFC 9112 6): `Transfer-Encoding: chunked` is the only
//!   coding undone (anything else: `501`); with `Content-Length` too, the
//!   connection closes after the response; a bad or conflicting
//!   `Content-Length` is `400`, one above `max_body` is `413` before the
//!   engine hears of the request. Chunked framing lines must end in CRLF.
//!   Every refusal of a head or body closes the connection: the next request
//!   could not be found reliably.
//! - **Unread bodies.** A response given without reading the body keeps the
//!   connection only if at most 64 KiB of `Content-Length` body remain, which
//!   the session reads and drops; otherwise it says `Connection: close`.
//!   `100 Continue` goes out only when the engine asks for the body.
//! - **Logins.** Basic credentials are asked about once per connection while
//!   they stay the same; other schemes are left to the engine. A refusal is
//!   `401` with `WWW-Authenticate: Basic realm="...", charset="UTF-8"` and
//!   counts towards `max_errors`, like every client error the session finds.
//! - **Responses.** The session writes `Content-Length` and `Connection`
//!   itself and drops the engine's (and `Transfer-Encoding`); it writes no
//!   body for `HEAD`, `204` and `304`. CR, LF and NUL in header values become
//!   spaces.
//! - **Time.** `idle_timeout` between requests (then a silent close),
//!   `request_timeout` of silence within one and `head_deadline` for a whole
//!   head (then `408`). The runtime's time is not counted: the clock runs
//!   from the last input or answer.
//! - **Shutdown** waits for the request in progress; its response says
//!   `Connection: close`. A connection between requests closes silently.
//! - A body the runtime was reading ends with [`Action::Close`](proto_core::session::Action::Close)
//!   instead of [`Request::End`] when the client stops sending it or breaks
//!   its framing; the session has answered it itself (`408`, `400`, `413`).

#![warn(missing_docs)]

mod basic;
mod body;
mod config;
mod head;
mod parse;
mod response;
mod session;

pub use config::ServerConfig;
pub use head::{Head, Method};
pub use proto_core::login::LoginError;
pub use proto_core::session::{Peer, Session};
pub use response::Response;
pub(crate) use response::reason;
pub use session::{Action, Request, ServerSession};

/// What a listener writes when it cannot serve a connection now: `503` with
/// a hint to come back, and the connection closes.
pub const BUSY_RESPONSE: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
