//! Sans-IO SMTP server (RFC 5321) with the ESMTP extensions a modern MX and
//! submission server needs: PIPELINING, SIZE, 8BITMIME, SMTPUTF8,
//! ENHANCEDSTATUSCODES, CHUNKING, DSN, STARTTLS and AUTH (PLAIN, LOGIN).
//!
//! [`ServerSession`] is a plain state machine: it does no I/O, reads no clock
//! and spawns nothing. The runtime feeds it bytes and time and carries out the
//! [`Action`]s it returns; decisions that need the engine (credentials, sender,
//! recipients, committing a message) are actions answered by a `*_result` call.
//! Every buffer is bounded and no input can make it panic.
//!
//! The [`client`] module is the other side, the same way: the outbound session
//! the delivery queue uses to hand mail to other servers and relays.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//! use proto_smtp::{Action, Peer, Reply, Request, ServerConfig, ServerSession, Session};
//!
//! let config = Arc::new(ServerConfig::new("mx.example.org"));
//! let peer = Peer { addr: "192.0.2.1:4321".parse().unwrap(), implicit_tls: false };
//! let mut session = ServerSession::new(config, peer, Instant::now());
//! let mut received = Vec::new();
//! let mut input: &[u8] = b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nHi\r\n.\r\nQUIT\r\n";
//! loop {
//!     let n = session.handle_input(input, Instant::now());
//!     input = &input[n..];
//!     while let Some(action) = session.poll_action() {
//!         match action {
//!             Action::Send(bytes) => received.extend_from_slice(bytes), // write to socket
//!             Action::Request(Request::Mail { .. }) => session.mail_result(Ok(()), Instant::now()),
//!             Action::Request(Request::Rcpt { .. }) => session.rcpt_result(Ok(()), Instant::now()),
//!             Action::Request(Request::DataEnd) => {
//!                 let reply = Reply::new(250, (2, 0, 0), "Queued");
//!                 session.data_result(reply, Instant::now());
//!             }
//!             _ => {}
//!         }
//!     }
//!     if session.is_closed() {
//!         break;
//!     }
//! }
//! assert!(String::from_utf8(received).unwrap().ends_with("250 2.0.0 Queued\r\n221 2.0.0 Bye\r\n"));
//! ```
//!
//! # Decisions worth knowing
//!
//! - **Ordering.** `poll_action` hands out queued notifications (`DataStart`,
//!   `Data`, `DataAbort`) first, then an unanswered decision, then processes more
//!   input; replies accumulate and go out in one `Send` when nothing else is left
//!   (RFC 2920 batching), always before `StartTls` and `Close`.
//! - **Back-pressure.** [`ServerSession::input_capacity`] is zero while anything
//!   is waiting for the runtime; at most 8 KiB plus one line is ever buffered,
//!   and output is handed out once it passes 8 KiB.
//! - **End of DATA.** Only the raw bytes CR LF `.` CR LF end a body (SMTP
//!   smuggling). Bare LFs are stored as CRLF ([`BareLf::Normalize`]) or refuse
//!   the message with `550 5.5.2` at its real end ([`BareLf::Reject`]); no
//!   enhanced code is registered for bare LFs and 5.5.2 is Postfix's choice.
//! - **AUTH** is offered only under TLS unless
//!   [`ServerConfig::auth_without_tls`]. A PLAIN authorization identity must
//!   be empty or the user's own, the rule POP3 and IMAP keep too: any other
//!   gets `535 5.7.8` (what Postfix and Dovecot answer when the identity may
//!   not be used) before the engine is asked, and counts as a failed `AUTH`.
//! - **STARTTLS** drops whatever the client pipelined after the command
//!   (CVE-2011-0411) and forgets HELO, authentication and envelope (RFC 3207).
//! - **Timeouts.** The command timeout (the data timeout within a message)
//!   runs from the last input or the answer to the last decision, whichever
//!   came later; no deadline runs while the runtime decides. Time comes only
//!   from the caller: every call that can end a wait (input, a timeout, an
//!   answer) takes `now`.
//! - **Errors** (syntax, unknown or out-of-sequence commands, failed `AUTH`)
//!   are counted; at `max_errors` the session says `421 4.7.0` and closes.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
#![warn(missing_docs)]

pub mod client;
mod command;
mod config;
mod data;
mod envelope;
mod error;
mod params;
mod path;
mod reply;
mod session;
mod xtext;

pub use client::reply::parse_reply;
pub use command::{Command, parse_command};
pub use config::{BareLf, Mode, ServerConfig};
pub use envelope::{Body, Envelope, MailParams, Notify, RcptParams, Recipient, Ret};
pub use error::ParseError;
pub use proto_core::login::LoginError;
pub use proto_core::sasl::Mechanism;
pub use proto_core::session::{Peer, Session};
pub use reply::{Enhanced, Reply};
pub use session::{Action, Request, ServerSession};

/// The greeting for a client the server cannot take now: 421 closes the connection and
/// tells the client to try again later (RFC 5321 §3.8, §4.2.3).
pub const BUSY_GREETING: &[u8] = b"421 4.3.2 Too many connections, try again later\r\n";
