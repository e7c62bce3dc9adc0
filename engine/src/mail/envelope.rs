//! The ENVELOPE of a message (RFC 3501 7.4.2) from its header fields.
//!
//! Values are the raw header text, unfolded, still RFC 2047 encoded: that is what IMAP
//! clients expect and decode themselves, and it keeps the original charset. mail-parser
//! finds the fields and their byte ranges; the address lists are split by
//! [`parse_addresses`](super::address_list::parse_addresses). The first occurrence of a repeated
//! field counts. Sender and Reply-To default to From when absent or empty.

use std::borrow::Cow;

use mail_parser::{Header, HeaderName};
use proto_imap::{Address, Envelope};

use super::address_list::parse_addresses;
use super::text::raw_value;

/// Builds the envelope of the message whose header fields are `headers`; their offsets
/// point into `raw`.
pub(super) fn envelope(headers: &[Header<'_>], raw: &[u8]) -> Envelope<'static> {
    let text = |name: HeaderName<'static>| field(headers, raw, &name).map(Cow::Owned);
    let addresses = |name: HeaderName<'static>| {
        field(headers, raw, &name).map_or_else(Vec::new, |v| parse_addresses(&v))
    };
    let from = addresses(HeaderName::From);
    let or_from = |list: Vec<Address<'static>>| if list.is_empty() { from.clone() } else { list };
    Envelope {
        date: text(HeaderName::Date),
        subject: text(HeaderName::Subject),
        sender: or_from(addresses(HeaderName::Sender)),
        reply_to: or_from(addresses(HeaderName::ReplyTo)),
        to: addresses(HeaderName::To),
        cc: addresses(HeaderName::Cc),
        bcc: addresses(HeaderName::Bcc),
        in_reply_to: text(HeaderName::InReplyTo),
        message_id: text(HeaderName::MessageId),
        from,
    }
}

/// The unfolded raw value of the first field called `name`; `None` if absent or empty.
pub(super) fn field(headers: &[Header<'_>], raw: &[u8], name: &HeaderName<'_>) -> Option<Vec<u8>> {
    let header = headers.iter().find(|h| &h.name == name)?;
    raw.get(header.offset_start as usize..header.offset_end as usize)
        .and_then(raw_value)
}
