//! Parsing within the budget. A message whose parse [`budget`] bounds within
//! [`BUDGET`](budget::BUDGET) is parsed whole by mail-parser; any other is parsed as its
//! top-level header (as much of it as fits the budget) and one opaque body that runs to the
//! end of the message. Costly parses are made under a [`gate`] permit, which the caller
//! holds (in [`Bounded`]) for as long as it works on the parse.

use std::borrow::Cow;

use mail_parser::{Message, MessageParser, MessagePart, PartType};

use super::budget::{self, Estimate};
use super::gate;
use super::parsed::Parsed;

/// Messages at least this large, or whose parse could cost this much, are parsed under a
/// [`gate`] permit; smaller and cheaper ones (most mail) never wait.
pub(super) const COSTLY: u64 = 1 << 20;

/// What [`parse`] returns.
pub(super) struct Bounded<'x> {
    /// The parse; `None` when mail-parser finds no header at all.
    pub(super) message: Option<Parsed<'x>>,
    /// The top-level header, or as much of it as fits the budget.
    pub(super) header: &'x [u8],
    /// Held until the caller is done with the parse and the header.
    _permit: Option<gate::Permit>,
}

/// Parses `raw` with `parser`, which must read Content-Transfer-Encoding as raw text (the
/// budget counts on it).
pub(super) fn parse<'x>(parser: &MessageParser, raw: &'x [u8]) -> Bounded<'x> {
    let estimate = budget::estimate(raw);
    let size = u64::try_from(raw.len()).unwrap_or(u64::MAX);
    let permit = (size.max(estimate.cost) >= COSTLY).then(gate::permit);
    let message = if estimate.fits() {
        parser.parse(raw)
    } else {
        Some(header_only(parser, raw, &estimate))
    };
    Bounded {
        message: message.map(Parsed::new),
        header: &raw[..estimate.header_fits],
        _permit: permit,
    }
}

/// The message as its top-level header and one body part holding everything after it.
fn header_only<'x>(parser: &MessageParser, raw: &'x [u8], estimate: &Estimate) -> Message<'x> {
    let header = &raw[..estimate.header_fits];
    let root = parser
        .parse(header)
        .map(Parsed::new)
        .and_then(Parsed::into_header);
    let body_start = match &root {
        Some(root) if estimate.header_fits == estimate.header_end => root.offset_body,
        // A header cut short, or without a field: it ends, for us, at its first empty line.
        _ => u32::try_from(estimate.header_end).unwrap_or(u32::MAX),
    };
    Message {
        parts: vec![MessagePart {
            body: PartType::Binary(Cow::Borrowed(&[])),
            offset_header: 0,
            offset_body: body_start,
            offset_end: u32::try_from(raw.len()).unwrap_or(u32::MAX),
            ..root.unwrap_or_default()
        }],
        raw_message: Cow::Borrowed(raw),
        ..Message::default()
    }
}
