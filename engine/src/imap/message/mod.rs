//! What IMAP needs to know about one message, derived once from its bytes.
//!
//! [`Summary::derive`] parses a message once (with mail-parser) into everything FETCH,
//! SEARCH, SORT and THREAD need: the ENVELOPE, BODYSTRUCTURE and BODY already in wire form,
//! a table of MIME parts with their byte offsets, and the sort, thread and search keys.
//! Every parse is bounded first: one that could cost more than a fixed budget (a "MIME
//! bomb") reads only the top-level header, and at most two costly parses run at once.
//! [`Summary::to_bytes`] is what the store keeps next to the body; [`Summary::from_bytes`]
//! reads it back. With it:
//!
//! - [`body_section`], [`binary_section`], [`binary_size`] locate `BODY[...]` and
//!   `BINARY[...]` content as ranges of the stored bytes, so FETCH never re-parses;
//! - [`matches`] evaluates a SEARCH key tree for one message, reading the message only for
//!   HEADER, BODY and TEXT keys;
//! - [`sort`] and [`thread`] answer SORT and THREAD (RFC 5256) over [`Entry`] lists.

mod address;
mod bounded;
mod budget;
mod decoded;
mod envelope;
mod gate;
mod parsed;
mod search;
mod section;
mod sort;
mod stored;
mod structure;
mod subject;
mod summary;
mod text;
mod thread;
mod wire;

pub use decoded::HeaderText;
pub use search::{LazyContent, MessageFacts, SearchScope, matches, needs_content};
pub use section::{Content, UnknownCte, binary_section, binary_size, body_section};
pub use sort::{Entry, sort};
pub use summary::{PartInfo, PartKind, SentDate, SortKeys, Summary, ThreadKeys, TransferEncoding};
pub use thread::thread;

#[cfg(test)]
mod tests;
