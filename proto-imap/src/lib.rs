//! Sans-IO IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051) for the server.
//!
//! What exists now is the **codec**: the data model, the command parser,
//! the stream framer and the response encoder. The server session (a state
//! machine in the shape of `proto_smtp::ServerSession`) will be built on it.
//!
//! - The data model: [`Command`], [`Response`] and the values inside them,
//!   independent of their wire form (the imap-types model). Strings borrow
//!   from the input as `Cow`; tags, atoms, flags and mailboxes have
//!   `into_owned` for what must outlive the input.
//! - [`parse_command`]: one complete command, literal data inline, into a
//!   [`Command`]; failures come as [`Rejected`] with the `BAD` owed.
//! - [`CommandFramer`]: splits the client byte stream into commands, tells
//!   when a `+` continuation is due, enforces every size limit, and streams
//!   APPEND messages in chunks instead of buffering them. Read its module
//!   documentation before using it: it is where correctness matters most.
//! - [`Response::encode`] and [`Command::encode`] write the wire format into
//!   a caller's `Vec<u8>`; large FETCH bodies are streamed by the caller
//!   after a [`FetchItem::BodySectionHeader`].
//! - [`mailbox`]: mailbox names, with modified UTF-7 helpers.
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
//! # What the session will add
//!
//! Connection states (not authenticated, authenticated, selected, logout),
//! which commands each allows, capability negotiation (`ENABLE`,
//! `IMAP4rev2`, `UTF8=ACCEPT`, which switches [`EncodeOptions::utf8`]),
//! STARTTLS and SASL exchanges over [`CommandFramer::next_line`], IDLE,
//! the mailbox view (sequence numbers, pending EXPUNGE/FETCH updates, `$`),
//! and actions answered by the engine for every decision that needs data.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod chars;
mod encode;
mod error;
mod framer;
mod parse;
mod types;

pub use encode::{EncodeOptions, encode_fetch_end};
pub use error::{ParseError, Rejected};
pub use framer::{AppendInfo, CommandFramer, Frame, FramerConfig};
pub use parse::{AuthenticateLine, parse_authenticate_line, parse_command, parse_idle_done};
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
pub use types::sequence::{SeqNum, SeqRange, SeqRanges, SequenceSet};
