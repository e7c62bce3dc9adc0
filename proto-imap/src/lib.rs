//! Sans-IO IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051) for the server.
//!
//! Two layers:
//!
//! - The **session**, [`ServerSession`]: one connection as a plain state
//!   machine in the shape of `proto_smtp::ServerSession`. It does no I/O,
//!   reads no clock and spawns nothing; the runtime feeds it bytes and time
//!   and carries out the [`Action`]s it returns.
//! - The **codec** it is built on, usable on its own:
//!   - the data model: [`Command`], [`Response`] and the values inside
//!     them, independent of their wire form (the imap-types model). Strings
//!     borrow from the input as `Cow`; [`Command::into_owned`] and the
//!     `into_owned` of the values inside copy what must outlive the input;
//!   - [`parse_command`]: one complete command, literal data inline, into a
//!     [`Command`]; failures come as [`Rejected`] with the `BAD` owed;
//!   - [`CommandFramer`]: splits the client byte stream into commands,
//!     tells when a `+` continuation is due, enforces every size limit, and
//!     streams APPEND messages in chunks instead of buffering them. Read its
//!     module documentation before using it: it is where correctness
//!     matters most;
//!   - [`Response::encode`] and [`Data::encode`] write the wire format into a
//!     caller's `Vec<u8>`; large FETCH bodies are streamed by the caller
//!     after a [`FetchItem::BodySectionHeader`]. `Command::encode`, what a
//!     client writes, exists only with the `client` feature (tests, fuzz
//!     targets): the server never writes a command;
//!   - [`mailbox`]: mailbox names, with modified UTF-7 helpers.
//!
//! ```
//! use proto_imap::{CommandFramer, CommandBody, Frame, FramerConfig};
//!
//! let mut framer = CommandFramer::new(FramerConfig::default());
//! framer.feed(b"a1 LOGIN {5}\r\n");
//! assert_eq!(framer.next_frame(), Some(Frame::Continue)); // send "+ Ready"
//! framer.feed(b"alice secret\r\n");
//! let Some(Frame::Command(command)) = framer.next_frame() else { panic!() };
//! assert!(matches!(command.body, CommandBody::Login { .. }));
//! ```
//!
//! # The split of work
//!
//! The session is the protocol front end: framing, connection states
//! (RFC 9051 3) and which commands each allows, `LOGIN` and `AUTHENTICATE
//! PLAIN` (with SASL-IR), capabilities, `ENABLE`, `ID`, `NAMESPACE`,
//! `STARTTLS`, the framing of IDLE and of streamed APPEND, `LOGOUT`, error
//! counting, timeouts and output buffering. Every command that needs
//! mailbox data (`NOOP` and `CHECK` once logged in included) is handed to
//! the engine as an owned [`Command`] in [`Request::Execute`], already
//! checked against the connection state; the engine writes the untagged
//! responses through the session ([`ServerSession::write_data`],
//! [`ServerSession::write_raw`]) and ends the command with
//! [`ServerSession::complete`]. The selected-mailbox view (sequence
//! numbers, pending EXPUNGE and FETCH updates, `$`) lives in the engine; it
//! tells the session what is selected with [`ServerSession::set_selected`].
//!
//! # Driving a session
//!
//! Feed input while [`ServerSession::input_capacity`] allows, then drain
//! [`ServerSession::poll_action`] until it returns `None`; arm a timer at
//! [`ServerSession::poll_timeout`]. The session takes no input while an
//! action is pending or its output has not been taken, which is how a
//! pipelining client is answered in order with bounded buffers.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//! use proto_imap::{
//!     Action, Code, CommandBody, Data, LoginError, PlainCode, Request, Selected, ServerConfig,
//!     Peer, ServerSession, Session, Status,
//! };
//!
//! let config = Arc::new(ServerConfig::new("imap.example.org"));
//! let peer = Peer { addr: "192.0.2.1:4321".parse().unwrap(), implicit_tls: true };
//! let mut session = ServerSession::new(config, peer, Instant::now()); // port 993
//! let mut input: &[u8] = b"a LOGIN alice secret\r\nb SELECT INBOX\r\nc LOGOUT\r\n";
//! let mut received = Vec::new();
//! while !session.is_closed() {
//!     while let Some(action) = session.poll_action() {
//!         match action {
//!             Action::Send(bytes) => received.extend_from_slice(bytes), // write to socket
//!             Action::Login(credentials) => {
//!                 let ok = credentials.password() == "secret";
//!                 let result = if ok { Ok(()) } else { Err(LoginError::BadCredentials) };
//!                 session.login_result(result, Instant::now());
//!             }
//!             Action::Request(Request::Execute(command)) => match command.body {
//!                 CommandBody::Select { .. } => {
//!                     session.write_data(&Data::Exists(0));
//!                     session.set_selected(Some(Selected { read_only: false }));
//!                     let code = Code::Plain(PlainCode::ReadWrite);
//!                     session.complete(Status::Ok, Some(code), "SELECT completed", Instant::now());
//!                 }
//!                 _ => session.complete(Status::No, None, "Not here", Instant::now()),
//!             },
//!             _ => {}
//!         }
//!     }
//!     let n = session.handle_input(input, Instant::now());
//!     input = &input[n..];
//! }
//! let received = String::from_utf8(received).unwrap();
//! assert!(received.contains("* 0 EXISTS\r\nb OK [READ-WRITE] SELECT completed\r\n"));
//! assert!(received.ends_with("* BYE Logging out\r\nc OK LOGOUT completed\r\n"));
//! ```
//!
//! # Notes for the engine
//!
//! - Answer every question: [`Action::Login`](proto_core::session::Action::Login) with
//!   [`ServerSession::login_result`]; [`Request::Execute`],
//!   [`Request::AppendEnd`] and [`Request::IdleDone`] with
//!   [`ServerSession::complete`]; [`Request::AppendStart`] with
//!   [`ServerSession::append_accept`] or [`ServerSession::append_reject`].
//!   Until then the session reads nothing more, so a forgotten answer
//!   stalls the connection (and `poll_timeout` is `None` meanwhile).
//! - Time: every call that can end a wait takes `now` (input, a timeout,
//!   `tls_started`, `login_result`, `complete`, `append_accept`,
//!   `append_reject`); pass the time of the call. The login and idle
//!   timeouts run from the last input or answer, whichever came later, so
//!   the time the engine takes is not counted as the client's idleness.
//! - While executing, the engine may flush: when
//!   [`ServerSession::output_len`] grows large it calls `poll_action`,
//!   which then returns only [`Action::Send`] (of everything written so
//!   far), and writes the bytes out before writing more.
//! - A streamed FETCH body: [`Data::Fetch`] whose last item is
//!   [`FetchItem::BodySectionHeader`], then exactly that many octets with
//!   `write_raw`, then `write_raw(b")\r\n")`.
//! - APPEND: `AppendStart` (one per message, `first` on the first), each
//!   accepted message's bytes as [`Request::AppendData`] chunks, then
//!   [`Request::AppendMessageEnd`]; [`Request::AppendEnd`] once the command
//!   is complete, when the engine commits all its messages at once
//!   (MULTIAPPEND is all or nothing, RFC 3502) and completes, e.g. with
//!   `APPENDUID`. `append_reject` may come at any point and drops the whole
//!   command. If the client breaks the command after its first message
//!   (a later message over APPENDLIMIT, a syntax error between messages),
//!   the session answers and closes: [`Action::Close`] is the engine's cue
//!   to drop what it received.
//! - IDLE: between [`Request::IdleStart`] and [`Request::IdleDone`] the engine
//!   may `write_data` at any time and then drive `poll_action` to send it.
//!   [`Action::Close`] (timeout, shutdown) also ends the watch.
//! - CONDSTORE: once the client uses a CONDSTORE-enabling command, call
//!   [`ServerSession::enable_condstore`]; [`ServerSession::enabled`] says
//!   what is on (QRESYNC implies CONDSTORE), and
//!   [`ServerSession::encode_options`] is what `write_data` uses (UTF-8 in
//!   quoted strings once IMAP4rev2 is enabled).
//! - `SELECT`/`EXAMINE`: call `set_selected(Some(..))` before completing
//!   with `OK`; `CLOSE`, `UNSELECT` and a failed `SELECT` call
//!   `set_selected(None)`. The session uses it only to allow or refuse the
//!   commands of the Selected state.
//! - Response text: the session never starts text with `[` unless a code
//!   precedes it (it inserts a space), and writes `Completed` for empty
//!   text; CR and LF in text become spaces.
//!
//! - UTF-8: [`Enabled::utf8`] says whether mailbox names and quoted strings
//!   are UTF-8 (IMAP4rev2 or `UTF8=ACCEPT` enabled) rather than modified
//!   UTF-7. `ENABLE UTF8=ACCEPT` (RFC 6855) is taken only while no mailbox
//!   is selected (`BAD` after), and APPEND's `UTF8 (~{n})` form only once it
//!   is on (`BAD` before): such a message comes with
//!   [`Request::AppendStart`]'s `utf8` set and is stored as sent.
//!
//! # Not yet
//!
//! Only the PLAIN SASL mechanism is offered.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
#![warn(missing_docs)]

mod chars;
mod config;
mod encode;
mod error;
mod framer;
mod parse;
mod session;
mod types;

pub use config::ServerConfig;
pub use encode::{EncodeOptions, encode_fetch_end, encode_fetch_next, literal_safe};
pub use error::{ParseError, Rejected};
pub use framer::{AppendInfo, CommandFramer, Frame, FramerConfig};
pub use parse::{AuthenticateLine, parse_authenticate_line, parse_command, parse_idle_done};
pub use proto_core::login::LoginError;
pub use proto_core::session::{Peer, Session};
pub use session::{Action, AppendStart, Enabled, Request, Selected, ServerSession};
pub use types::body::{
    Address, BodyExtension, BodyFields, BodyParams, BodyStructure, Disposition, Envelope,
    SingleKind,
};
pub use types::command::{
    AppendMessage, AppendOptions, Command, CommandBody, IdParams, ListCommand, ListReturn,
    ListSelect, QResync, SelectParams, StatusItem, StoreMode,
};
pub use types::core::{Atom, Tag};
pub use types::datetime::{Date, DateTime};
pub use types::fetch::{FetchAttr, FetchAttrs, FetchModifiers, Part, Partial, Section};
pub use types::flag::{Flag, FlagFetch, FlagPerm, KnownAttr, MailboxAttr};
pub use types::mailbox::{self, Mailbox};
pub use types::response::{
    Code, Condition, Continue, Data, ESearch, FetchItem, ListExtended, ListItem, NamespaceDesc,
    PlainCode, QuotaResource, Response, SectionName, Status, Thread,
};
pub use types::search::{
    EntryType, SearchKey, SearchReturn, SortCriterion, SortKey, ThreadAlgorithm,
};
pub use types::sequence::{Intervals, SeqNum, SeqRange, SeqRanges, SequenceSet};

/// The greeting for a client the server cannot take now: a `BYE` greeting (RFC 9051 §7.1.5)
/// with `[UNAVAILABLE]` (RFC 5530), which clients take as "try again later".
pub const BUSY_GREETING: &[u8] = b"* BYE [UNAVAILABLE] Too many connections, try again later\r\n";
