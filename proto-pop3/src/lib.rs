//! Sans-IO POP3 server (RFC 1939) with the extensions clients look for:
//! `CAPA`, `RESP-CODES`, `AUTH-RESP-CODE`, `PIPELINING`, `TOP`, `UIDL`
//! (RFC 2449), `AUTH PLAIN` (RFC 5034) and `STLS` (RFC 2595).
//!
//! [`ServerSession`] is a plain state machine: it does no I/O, reads no clock
//! and spawns nothing. The runtime feeds it bytes and time and carries out the
//! [`Action`]s it returns; what needs the engine (checking a login and taking a
//! snapshot of the maildrop, reading a message, removing deleted messages) is
//! an action answered by a `*_result` or `message_*` call. Every buffer is
//! bounded and no input can make it panic.
//!
//! # Driving a session
//!
//! Besides the usual loop (feed input, drain `poll_action`), the runtime streams
//! the message asked for by [`Request::Retrieve`]: while
//! [`ServerSession::wants_message_data`] is true it feeds the next chunk with
//! [`ServerSession::message_data`], and at the end of the message it calls
//! [`ServerSession::message_end`]. When the output passes 16 KiB,
//! `wants_message_data` turns false until `poll_action` has handed the output
//! out, so a 50 MB message goes through a small buffer: after draining
//! `poll_action` there is always room again. For `TOP` the runtime streams the
//! whole message too; the session drops what follows the lines asked for.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//! use proto_pop3::{
//!     Action, LoginError, Maildrop, MaildropEntry, Peer, Request, ServerConfig, ServerSession,
//!     Session,
//! };
//!
//! let message: &[u8] = b"Subject: hi\r\n\r\nHello\r\n.sig\r\n";
//! let mut config = ServerConfig::new("pop.example.org");
//! config.auth_without_tls = true; // this example has no TLS
//! let peer = Peer { addr: "192.0.2.1:4321".parse().unwrap(), implicit_tls: false };
//! let mut session = ServerSession::new(Arc::new(config), peer, Instant::now());
//! let mut input: &[u8] = b"USER alice\r\nPASS secret\r\nRETR 1\r\nDELE 1\r\nQUIT\r\n";
//! let mut received = Vec::new();
//! let mut reader: Option<&[u8]> = None; // the message being retrieved
//! loop {
//!     while let Some(action) = session.poll_action() {
//!         match action {
//!             Action::Send(bytes) => received.extend_from_slice(bytes), // write to socket
//!             Action::Login(credentials) => {
//!                 let result = match credentials.password() {
//!                     "secret" => Ok(Maildrop {
//!                         messages: vec![MaildropEntry { size: message.len() as u64, uid: "m1".into() }],
//!                     }),
//!                     _ => Err(LoginError::BadCredentials),
//!                 };
//!                 session.login_result(result, Instant::now());
//!             }
//!             Action::Request(Request::Retrieve { index, .. }) => reader = Some([message][index]),
//!             Action::Request(Request::Update { deleted }) => {
//!                 let ok = deleted == [0]; // remove them durably
//!                 session.update_result(ok, Instant::now());
//!             }
//!             Action::StartTls | Action::Close => {}
//!         }
//!     }
//!     if session.is_closed() {
//!         break;
//!     }
//!     // Poll-drained, so a retrieval in progress has room for a chunk.
//!     if let Some(rest) = reader.as_mut()
//!         && session.wants_message_data()
//!     {
//!         let (chunk, tail) = rest.split_at(rest.len().min(8 * 1024));
//!         if chunk.is_empty() {
//!             session.message_end(Instant::now());
//!             reader = None;
//!         } else {
//!             session.message_data(chunk, Instant::now());
//!             *rest = tail;
//!         }
//!         continue;
//!     }
//!     let n = session.handle_input(input, Instant::now());
//!     input = &input[n..];
//! }
//! let received = String::from_utf8(received).unwrap();
//! assert!(received.contains("+OK 28 octets\r\nSubject: hi\r\n\r\nHello\r\n..sig\r\n.\r\n"));
//! assert!(received.ends_with("+OK pop.example.org POP3 server signing off (0 messages left)\r\n"));
//! ```
//!
//! # Decisions worth knowing
//!
//! - **Ordering.** `poll_action` hands out an unanswered question first, then
//!   processes more input; responses accumulate and go out in one `Send` when
//!   nothing else is left (RFC 2449 PIPELINING), always before `StartTls` and
//!   `Close`. Input waits while a question or a message is outstanding.
//! - **Bounds.** Command lines are at most 255 octets (RFC 2449 4), SASL
//!   responses 4 KiB; a longer line gets `-ERR line too long` and is dropped
//!   up to its end. At most 8 KiB of input is buffered. `LIST` and `UIDL`
//!   listings are written in 16 KiB stretches, and message data is wanted only
//!   while the output is below 16 KiB.
//! - **Logins** need TLS (implicit or `STLS`) unless
//!   [`ServerConfig::auth_without_tls`]; in cleartext, `USER` and `AUTH` get
//!   `-ERR [AUTH] Plaintext authentication disallowed on non-secure
//!   connections; use STLS` (without the hint where STLS is not offered), and
//!   `CAPA` lists neither `USER` nor `SASL`. `PASS` is valid only right after
//!   `USER`. `AUTH PLAIN` accepts an authorization identity only if it is
//!   empty or the user's own.
//! - **QUIT** in the TRANSACTION state always asks [`Request::Update`], even
//!   with no message deleted (the runtime may then answer at once): it is the
//!   one place where the runtime learns that the session ended cleanly.
//!   A connection that drops without `QUIT` deletes nothing; there is nothing
//!   to tell the session.
//! - **STLS** drops whatever the client pipelined after the command
//!   (CVE-2011-0411) and forgets a `USER` given in cleartext.
//! - **Timeout.** Past [`ServerConfig::timeout`] of silence the session closes
//!   without a response and deletes nothing (RFC 1939 3). Time the runtime
//!   spends answering (a login, streaming a message) is not counted: the
//!   clock runs from the last input or the last answer, whichever came later.
//!   Time comes only from the caller: every call that can end a wait (input,
//!   a timeout, an answer, a chunk of a message) takes `now`.
//! - **Errors** (unknown or malformed commands, commands out of state, over-long
//!   lines, bad SASL responses, failed logins) are counted; at `max_errors` the
//!   session says `-ERR Too many errors` and closes.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
#![warn(missing_docs)]

mod command;
mod config;
mod error;
mod maildrop;
mod reply;
mod session;
mod transfer;

pub use command::{Command, parse_command};
pub use config::ServerConfig;
pub use error::ParseError;
pub use maildrop::{Maildrop, MaildropEntry};
pub use proto_core::login::LoginError;
pub use proto_core::session::{Peer, Session};
pub use session::{Action, Request, ServerSession};

/// The greeting for a client the server cannot take now: `-ERR` closes the connection
/// (RFC 1939 §4) and `[SYS/TEMP]` (RFC 3206) says the trouble is temporary.
pub const BUSY_GREETING: &[u8] = b"-ERR [SYS/TEMP] Too many connections, try again later\r\n";
