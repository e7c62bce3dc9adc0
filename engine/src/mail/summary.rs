//! [`Summary`]: everything FETCH, SEARCH, SORT and THREAD need about a message without
//! parsing it again, derived once from its bytes and kept with the body in the store
//! ([`Store::set_blob_fact`](crate::store::Store::set_blob_fact)).

use std::num::NonZeroU32;

use mail_parser::{
    Addr, Header, HeaderName, HeaderValue, Message, MessageParser, MessagePart, PartType,
};

use super::decoded::HeaderText;
use super::parsed::Parsed;
use super::parts::PartInfo;
use super::subject::base_subject;
use super::text::fold;
use super::{bounded, envelope, structure, wire};
use proto_imap::{Address, Envelope};

/// What IMAP needs to know about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The ENVELOPE, ready to write after `ENVELOPE `.
    pub envelope: Vec<u8>,
    /// The BODYSTRUCTURE, ready to write after `BODYSTRUCTURE `.
    pub body_structure: Vec<u8>,
    /// The BODY (BODYSTRUCTURE without extension data), ready to write after `BODY `.
    pub body: Vec<u8>,
    /// Where the top-level body starts: `..header_end` is the header with its blank line
    /// (`BODY[HEADER]`, `RFC822.HEADER`), `header_end..` the text (`BODY[TEXT]`).
    pub header_end: u32,
    /// Every numbered MIME part, depth first.
    pub parts: Vec<PartInfo>,
    /// What SORT orders by.
    pub sort: SortKeys,
    /// What THREAD links by.
    pub thread: ThreadKeys,
    /// Decoded header text for the SEARCH keys that need no other header.
    pub search: HeaderText,
}

/// SORT keys (RFC 5256 2.2, RFC 5957). Strings are case-folded for `i;unicode-casemap`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SortKeys {
    /// The `Date:` header, when present and valid.
    pub sent: Option<SentDate>,
    /// The base subject (RFC 5256 2.1).
    pub subject: String,
    /// The local part (addr-mailbox) of the first From address.
    pub from: String,
    /// The local part of the first To address.
    pub to: String,
    /// The local part of the first Cc address.
    pub cc: String,
    /// The decoded display name of the first From address, else its address (RFC 5957).
    pub display_from: String,
    /// The same for To.
    pub display_to: String,
}

/// When a message says it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentDate {
    /// The instant, as Unix seconds.
    pub unix: i64,
    /// The sender's offset from UTC in seconds: SENTON and friends compare the day the
    /// sender wrote, not the UTC day.
    pub offset_seconds: i32,
}

/// THREAD keys (RFC 5256 3). Message IDs are without their angle brackets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadKeys {
    /// The Message-ID.
    pub message_id: Option<String>,
    /// The References, or when there are none the first In-Reply-To ID, oldest first.
    pub references: Vec<String>,
    /// Whether the subject marked a reply or forward (`Re:`, `Fwd:`, `(fwd)`, `[Fwd: ]`).
    pub is_reply: bool,
}

impl Summary {
    /// Derives the summary of a message. Never fails: whatever the bytes, the summary
    /// describes some message, at worst one `text/plain` part. A message too costly to
    /// parse whole (a "MIME bomb") is described as its header and one opaque part, and so
    /// is one whose parse panics: mail from anyone is parsed at delivery, and a flaw in a
    /// parser must not keep it from being stored and served byte for byte.
    pub fn derive(message: &[u8]) -> Summary {
        let parse = || {
            let bounded = bounded::parse(&parser(), message);
            let parsed = bounded
                .message
                .unwrap_or_else(|| Parsed::new(opaque(message)));
            Self::describe(parsed, message, bounded.header)
        };
        std::panic::catch_unwind(parse).unwrap_or_else(|_| {
            tracing::warn!(
                size = message.len(),
                "a message could not be parsed; it is described as one part without a header"
            );
            Self::describe(Parsed::new(opaque(message)), message, &[])
        })
    }

    /// The summary of `message` as `parsed`; `header` is the top-level header to search.
    fn describe(parsed: Parsed<'_>, message: &[u8], header: &[u8]) -> Summary {
        let root = parsed.parts.first();
        let headers = root.map_or(&[][..], |root| &root.headers[..]);
        let structure = structure::build(&parsed, message);
        let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
        let subject = first(headers, HeaderName::Subject).and_then(HeaderValue::as_text);
        let (base, is_reply) = base_subject(subject.unwrap_or_default());
        let envelope = envelope::envelope(headers, message);
        let header_end = root.map_or(0, |root| root.offset_body).min(len);
        let sort = sort_keys(headers, &envelope, base);
        let thread = thread_keys(headers, is_reply);
        // The header is parsed again for search text: not while the first parse is held.
        drop(parsed);
        let search = HeaderText::of(header, &envelope);
        Summary {
            envelope: wire::envelope(envelope),
            body: wire::body(structure.body.clone(), false),
            body_structure: wire::body(structure.body, true),
            header_end,
            parts: structure.parts,
            sort,
            thread,
            search,
        }
    }

    /// The part numbered `number`, if the message has it.
    pub fn part(&self, number: &[NonZeroU32]) -> Option<&PartInfo> {
        self.parts.iter().find(|p| p.number == number)
    }
}

/// mail-parser's default reading of every field, except Content-Transfer-Encoding: read as
/// raw text (RFC 2045 makes it a token, never encoded words), so that only the plain words
/// make mail-parser decode a body, as the parse budget assumes.
pub(super) fn parser() -> MessageParser {
    MessageParser::new()
        .with_mime_headers()
        .with_date_headers()
        .with_address_headers()
        .header_address(HeaderName::ListArchive)
        .header_address(HeaderName::ListHelp)
        .header_address(HeaderName::ListId)
        .header_address(HeaderName::ListOwner)
        .header_address(HeaderName::ListPost)
        .header_address(HeaderName::ListSubscribe)
        .header_address(HeaderName::ListUnsubscribe)
        .header_text(HeaderName::Subject)
        .header_text(HeaderName::Comments)
        .header_id(HeaderName::MessageId)
        .header_id(HeaderName::References)
        .header_id(HeaderName::InReplyTo)
        .header_id(HeaderName::ReturnPath)
        .header_id(HeaderName::ResentMessageId)
        .header_comma_separated(HeaderName::Keywords)
        .header_comma_separated(HeaderName::ContentLanguage)
        .header_received(HeaderName::Received)
        .header_raw(HeaderName::ContentTransferEncoding)
}

/// A message of one empty-headed text part, for bytes mail-parser finds no header in.
fn opaque(message: &[u8]) -> Message<'_> {
    Message {
        parts: vec![MessagePart {
            body: PartType::Binary(Default::default()),
            offset_end: u32::try_from(message.len()).unwrap_or(u32::MAX),
            ..MessagePart::default()
        }],
        ..Message::default()
    }
}

fn first<'h, 'x>(headers: &'h [Header<'x>], name: HeaderName<'_>) -> Option<&'h HeaderValue<'x>> {
    headers.iter().find(|h| h.name == name).map(|h| &h.value)
}

fn sort_keys(headers: &[Header<'_>], envelope: &Envelope<'_>, subject: String) -> SortKeys {
    let first_addr = |name| match first(headers, name) {
        Some(HeaderValue::Address(address)) => address.first(),
        _ => None,
    };
    // The addr-mailbox of the first entry of the envelope's list (RFC 5256 §2.2): for a
    // group, its name.
    let mailbox = |list: &[Address<'_>]| {
        let mailbox = list.first().and_then(|a| a.mailbox.as_deref());
        fold(&String::from_utf8_lossy(mailbox.unwrap_or_default()))
    };
    let display = |name| {
        let addr = first_addr(name);
        let display_name = addr
            .and_then(Addr::name)
            .map(str::trim)
            .filter(|n| !n.is_empty());
        fold(
            display_name
                .or_else(|| addr.and_then(Addr::address))
                .unwrap_or_default(),
        )
    };
    let sent = match first(headers, HeaderName::Date) {
        Some(HeaderValue::DateTime(date)) if date.is_valid() => {
            let offset = i32::from(date.tz_hour) * 3600 + i32::from(date.tz_minute) * 60;
            Some(SentDate {
                unix: date.to_timestamp(),
                offset_seconds: if date.tz_before_gmt { -offset } else { offset },
            })
        }
        _ => None,
    };
    SortKeys {
        sent,
        subject,
        from: mailbox(&envelope.from),
        to: mailbox(&envelope.to),
        cc: mailbox(&envelope.cc),
        display_from: display(HeaderName::From),
        display_to: display(HeaderName::To),
    }
}

fn thread_keys(headers: &[Header<'_>], is_reply: bool) -> ThreadKeys {
    let ids = |name| match first(headers, name) {
        Some(HeaderValue::Text(id)) => vec![id.trim().to_owned()],
        Some(HeaderValue::TextList(ids)) => ids.iter().map(|id| id.trim().to_owned()).collect(),
        _ => Vec::new(),
    };
    let valid = |ids: Vec<String>| {
        ids.into_iter()
            .filter(|id| !id.is_empty())
            .collect::<Vec<_>>()
    };
    let mut references = valid(ids(HeaderName::References));
    if references.is_empty() {
        references = valid(ids(HeaderName::InReplyTo))
            .into_iter()
            .take(1)
            .collect();
    }
    ThreadKeys {
        message_id: valid(ids(HeaderName::MessageId)).into_iter().next(),
        references,
        is_reply,
    }
}
