//! Sans-IO ManageSieve server (RFC 5804): mail clients list, read, store, check, rename,
//! activate and remove their Sieve scripts, after `STARTTLS` and a SASL login (`PLAIN`,
//! `LOGIN`).
//!
//! [`ServerSession`] is a plain state machine: it does no I/O, reads no clock and spawns
//! nothing. The runtime feeds it bytes and time and carries out the [`Action`]s it
//! returns: checking a login ([`Action::Login`](proto_core::session::Action::Login),
//! answered by [`ServerSession::login_result`]) and whatever is done to the user's scripts
//! ([`Request`], answered by [`ServerSession::answer`]). Checking a script is the runtime's
//! business too: this crate only carries it.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//! use proto_managesieve::{
//!     Action, Answer, LoginError, Peer, Refusal, Request, ServerConfig, ServerSession, Session,
//! };
//!
//! let mut config = ServerConfig::new("sieve.example.org");
//! config.auth_without_tls = true; // this example has no TLS
//! let peer = Peer { addr: "192.0.2.1:4321".parse().unwrap(), implicit_tls: false };
//! let mut session = ServerSession::new(Arc::new(config), peer, Instant::now());
//! let mut input: &[u8] = b"AUTHENTICATE \"PLAIN\" \"AGFubgBzZWNyZXQ=\"\r\n\
//!     PUTSCRIPT \"away\" {6+}\r\nkeep;\n\r\nSETACTIVE \"away\"\r\nLISTSCRIPTS\r\nLOGOUT\r\n";
//! let mut scripts: Vec<(String, bool)> = Vec::new();
//! let mut received = Vec::new();
//! loop {
//!     while let Some(action) = session.poll_action() {
//!         match action {
//!             Action::Send(bytes) => received.extend_from_slice(bytes), // write to socket
//!             Action::Login(credentials) => {
//!                 let ok = credentials.username() == "ann" && credentials.password() == "secret";
//!                 let verdict = if ok { Ok(()) } else { Err(LoginError::BadCredentials) };
//!                 session.login_result(verdict, Instant::now());
//!             }
//!             Action::Request(request) => {
//!                 let answer = match request {
//!                     Request::Put { name, .. } => {
//!                         scripts.push((name.to_string(), false));
//!                         Ok(Answer::Done)
//!                     }
//!                     Request::Activate { name } => {
//!                         scripts.iter_mut().for_each(|(n, a)| *a = Some(n.as_str()) == name);
//!                         Ok(Answer::Done)
//!                     }
//!                     Request::List => Ok(Answer::Scripts(scripts.clone())),
//!                     _ => Err(Refusal::new(None, "not in this example")),
//!                 };
//!                 session.answer(answer, Instant::now());
//!             }
//!             Action::StartTls | Action::Close => {}
//!         }
//!     }
//!     if session.is_closed() || input.is_empty() {
//!         break;
//!     }
//!     let n = session.handle_input(input, Instant::now());
//!     input = &input[n..];
//! }
//! let received = String::from_utf8(received).unwrap();
//! assert!(received.starts_with("\"IMPLEMENTATION\" \"Postern\"\r\n"));
//! assert!(received.ends_with(
//!     "\"away\" ACTIVE\r\nOK \"Listscripts completed\"\r\nOK \"Logout completed\"\r\n"
//! ));
//! ```
//!
//! # Decisions worth knowing
//!
//! - **Framing.** A command is a line, or lines joined by literals (`{n+}`, and `{n}` from
//!   older clients, taken without waiting). A command longer than
//!   [`ServerConfig::max_script_size`] and 4 KiB more is never held: its octets are
//!   dropped as they arrive and it is refused, with `QUOTA/MAXSIZE` for `PUTSCRIPT` and
//!   `CHECKSCRIPT`. Quoted strings hold at most 1,024 octets.
//! - **Logins** need TLS (implicit or `STARTTLS`) unless
//!   [`ServerConfig::auth_without_tls`]; before, the `SASL` capability is empty and
//!   `AUTHENTICATE` gets `NO (ENCRYPT-NEEDED)`. PLAIN's authorization identity must be
//!   empty or the user's own. A cancelled exchange (`"*"`) gets `NO`.
//! - **STARTTLS** drops what the client pipelined after it (CVE-2011-0411) and is followed,
//!   under TLS, by the capabilities and `OK` (RFC 5804 §2.2).
//! - **Ordering.** One command at a time: input waits while a question is out, and
//!   responses go out in one `Send` when nothing else is left to do.
//! - **Time.** Before logging in, [`ServerConfig::login_timeout`] from the greeting in
//!   all; then [`ServerConfig::timeout`] of silence. Either ends the session with `BYE`.
//! - **Errors** (unknown or malformed commands, commands out of state, failed logins) are
//!   counted; at `max_errors` the session says `BYE` and closes. Refusals of the runtime
//!   (a script that is not valid, a name that does not exist) are not errors.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
#![warn(missing_docs)]

mod command;
mod config;
mod frame;
mod reply;
mod session;

pub use command::{Command, ParseError, parse_command, parse_sasl_response};
pub use config::ServerConfig;
pub use proto_core::login::LoginError;
pub use proto_core::session::{Peer, Session};
pub use reply::Code;
pub use session::{Action, Answer, Refusal, Request, ServerSession};

/// The greeting for a client the server cannot take now: `BYE` closes the connection and
/// `TRYLATER` (RFC 5804 §1.3) says the trouble is temporary.
pub const BUSY_GREETING: &[u8] = b"BYE (TRYLATER) \"Too many connections, try again later\"\r\n";
