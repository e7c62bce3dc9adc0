//! The mail model every protocol shares: what a message is, derived once from its bytes.
//!
//! SMTP delivery derives a message's summary as it arrives; IMAP serves FETCH, SEARCH, SORT
//! and THREAD from it; [`crlf`] normalizes line ends of imported mail and [`date`] converts
//! RFC 5322 and IMAP dates.
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
//!   [`Piecewise`] undoes a large part's transfer encoding a piece at a time as it is
//!   streamed, and [`whole_message`] bounds how many large messages are read whole at
//!   once;
//! - [`matches`] evaluates a SEARCH key tree for one message, reading the message only for
//!   HEADER, BODY and TEXT keys;
//! - [`sort`] and [`thread`] answer SORT and THREAD (RFC 5256) over [`Entry`] lists.

mod address_list;
mod bounded;
mod budget;
mod criteria;
pub mod crlf;
pub mod date;
mod decoded;
mod envelope;
mod gate;
pub mod json;
mod parsed;
mod parts;
mod piecewise;
mod search_filter;
pub mod search_index;
mod section;
mod sort;
mod stored;
mod structure;
mod subject;
mod summary;
mod text;
mod thread;
mod wire;

pub use criteria::{
    LazyContent, MessageFacts, ResolvedSets, SearchScope, in_ranges, index_rows, matches,
    needs_content, ruled_out_by_filter,
};
pub use decoded::{Attached, HeaderText, Readable, body_parts, readable};
pub use parts::{PartInfo, PartKind, TransferEncoding};
pub use piecewise::Piecewise;
pub use section::{
    Content, UnknownCte, binary_section, binary_size, body_section, fields_source,
    header_fields_section, section_range, top_header_section,
};
pub use sort::{Entry, sort};
pub use summary::{SentDate, SortKeys, Summary, ThreadKeys};
pub use thread::thread;

/// Holds a large message's place among the few that may be in memory whole at once (the
/// gate of costly parses): taken before a message of `size` octets is read whole to be
/// parsed, kept while its bytes are, on the thread that reads it. Messages under a MiB
/// need none, and get none.
#[derive(Debug)]
pub struct WholeMessage {
    _permit: Option<gate::Permit>,
}

/// Waits for a place for a message of `size` octets read whole (see [`WholeMessage`]).
pub fn whole_message(size: u64) -> WholeMessage {
    WholeMessage {
        _permit: (size >= bounded::COSTLY).then(gate::permit),
    }
}

/// The filter that lets SEARCH skip `message` for strings it cannot hold (see
/// [`search_filter`]), to keep as its [`BlobFact::SearchFilter`](crate::store::BlobFact).
pub fn search_filter(message: &[u8]) -> Vec<u8> {
    search_filter::of_text(&decoded::SearchText::of_message(message))
}

#[cfg(test)]
mod tests;
