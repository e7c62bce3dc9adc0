//! The content of `BODY[section]<partial>` and `BINARY[part]<partial>` (RFC 3501 6.4.5,
//! RFC 3516), located with the [`Summary`] part table instead of parsing the message.
//!
//! Most sections are a range of the stored bytes ([`Content::Range`]), so a large body is
//! never copied: the caller sends `message[range]`. Only `HEADER.FIELDS[.NOT]` and decoded
//! BINARY content are new bytes ([`Content::Owned`]).
//!
//! Corners decided here:
//! - A part that does not exist gives the empty string (RFC 3501), for BODY and BINARY.
//! - `HEADER`, `HEADER.FIELDS` and `TEXT` of a numbered part that is not a
//!   `message/rfc822` give the empty string.
//! - `1.MIME` of a message whose body is not multipart is the message header: that part's
//!   MIME header is the message's (as Dovecot and Cyrus answer).
//! - `HEADER.FIELDS` keeps whole fields (continuation lines included), in message order,
//!   and ends with the blank line when the header has one (RFC 3501: the blank line is
//!   left out only for a message with no body and no blank line).
//! - A partial `<o.n>` past the end gives the empty string.

use std::borrow::Cow;
use std::num::NonZeroU32;
use std::ops::Range;

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use proto_imap::{Part, Partial, Section};

use super::parts::{PartInfo, PartKind, TransferEncoding};
use super::summary::Summary;

/// What to send for a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// These octets of the stored message.
    Range(Range<usize>),
    /// These octets, made for the occasion.
    Owned(Vec<u8>),
}

impl Content {
    /// The octets, given the stored message the range refers to.
    pub fn bytes<'a>(&'a self, message: &'a [u8]) -> &'a [u8] {
        match self {
            Content::Range(range) => message.get(range.clone()).unwrap_or_default(),
            Content::Owned(bytes) => bytes,
        }
    }

    /// How many octets will be sent (the literal's length).
    pub fn len(&self) -> usize {
        match self {
            Content::Range(range) => range.len(),
            Content::Owned(bytes) => bytes.len(),
        }
    }

    /// Whether nothing will be sent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Narrows to `<offset.length>`.
    fn partial(self, partial: Option<Partial>) -> Self {
        let Some(Partial { offset, length }) = partial else {
            return self;
        };
        let window = |len: usize| {
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(len);
            let end = start.saturating_add(usize::try_from(length.get()).unwrap_or(usize::MAX));
            start..end.min(len)
        };
        match self {
            Content::Range(range) => {
                let w = window(range.len());
                Content::Range(range.start + w.start..range.start + w.end)
            }
            Content::Owned(bytes) => {
                Content::Owned(bytes.get(window(bytes.len())).unwrap_or_default().to_vec())
            }
        }
    }
}

/// BINARY of a part whose content cannot be decoded: its Content-Transfer-Encoding is not
/// one we know, or the content is not valid in it. The session answers
/// `NO [UNKNOWN-CTE]` (RFC 3516).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownCte;

/// `BODY[section]<partial>`; `section` is `None` for `BODY[]` (and `RFC822`).
/// `RFC822.HEADER` is `Section::Header(None)` and `RFC822.TEXT` is `Section::Text(None)`.
pub fn body_section(
    message: &[u8],
    summary: &Summary,
    section: Option<&Section<'_>>,
    partial: Option<Partial>,
) -> Content {
    if let Some(range) = section_range(summary, message.len(), section, partial) {
        return Content::Range(range);
    }
    let picked = section.and_then(|section| {
        let header = header_range(summary, fields_of(section)?, message.len());
        header_fields_section(header.bytes(message), section, partial)
    });
    picked.unwrap_or(Content::Range(0..0))
}

/// The part whose header a `HEADER.FIELDS[.NOT]` section picks from (`None` inside: the
/// message's); `None` for every other section.
fn fields_of<'s>(section: &'s Section<'_>) -> Option<Option<&'s Part>> {
    match section {
        Section::HeaderFields(part, _) | Section::HeaderFieldsNot(part, _) => Some(part.as_ref()),
        _ => None,
    }
}

/// The `HEADER` section a `HEADER.FIELDS[.NOT]` section picks its fields from; `None` for
/// every other section.
pub fn fields_source(section: &Section<'_>) -> Option<Section<'static>> {
    fields_of(section).map(|part| Section::Header(part.cloned()))
}

/// A section of the top-level header made of that header alone (the octets `HEADER` is,
/// as kept apart at delivery): `HEADER`, `HEADER.FIELDS` or `HEADER.FIELDS.NOT` of the
/// message, with `partial`; `None` for every other section.
pub fn top_header_section(
    header: &[u8],
    section: &Section<'_>,
    partial: Option<Partial>,
) -> Option<Content> {
    match section {
        Section::Header(None) => Some(Content::Range(0..header.len()).partial(partial)),
        Section::HeaderFields(None, _) | Section::HeaderFieldsNot(None, _) => {
            header_fields_section(header, section, partial)
        }
        _ => None,
    }
}

/// `HEADER.FIELDS[.NOT]<partial>` made of the header it picks from alone (the octets of
/// its [`fields_source`]): how a large message answers it without reading the rest.
/// `None` for every other section.
pub fn header_fields_section(
    header: &[u8],
    section: &Section<'_>,
    partial: Option<Partial>,
) -> Option<Content> {
    let fields = match section {
        Section::HeaderFields(_, names) => header_fields(header, names, true),
        Section::HeaderFieldsNot(_, names) => header_fields(header, names, false),
        _ => return None,
    };
    Some(Content::Owned(fields).partial(partial))
}

/// The octets of a message of `len` octets that `BODY[section]<partial>` is, for every
/// section that is such a range (all but `HEADER.FIELDS[.NOT]`): what a large one is
/// streamed from, without the message in memory.
pub fn section_range(
    summary: &Summary,
    len: usize,
    section: Option<&Section<'_>>,
    partial: Option<Partial>,
) -> Option<Range<usize>> {
    let content = match section {
        None => Content::Range(0..len),
        Some(Section::Part(part)) => range_of(summary, part, len, |p| Some(p.body_start..p.end)),
        Some(Section::Mime(part)) => {
            range_of(summary, part, len, |p| Some(p.header_start..p.body_start))
        }
        Some(Section::Header(part)) => header_range(summary, part.as_ref(), len),
        Some(Section::Text(None)) => Content::Range(clamp(summary.header_end..u32::MAX, len)),
        Some(Section::Text(Some(part))) => range_of(summary, part, len, |p| match p.kind {
            PartKind::Message { header_end } => Some(header_end..p.end),
            _ => None,
        }),
        Some(Section::HeaderFields(..) | Section::HeaderFieldsNot(..)) => return None,
    };
    match content.partial(partial) {
        Content::Range(range) => Some(range),
        Content::Owned(_) => None,
    }
}

/// `BINARY[part]<partial>`: the part's content with its transfer encoding undone. An empty
/// `part` is the whole message, as stored.
pub fn binary_section(
    message: &[u8],
    summary: &Summary,
    part: &[NonZeroU32],
    partial: Option<Partial>,
) -> Result<Content, UnknownCte> {
    Ok(decoded(message, summary, part)?.partial(partial))
}

/// `BINARY.SIZE[part]`: the length of [`binary_section`] without a partial.
pub fn binary_size(
    message: &[u8],
    summary: &Summary,
    part: &[NonZeroU32],
) -> Result<u64, UnknownCte> {
    Ok(decoded(message, summary, part)?.len() as u64)
}

fn decoded(message: &[u8], summary: &Summary, part: &[NonZeroU32]) -> Result<Content, UnknownCte> {
    let len = message.len();
    if part.is_empty() {
        return Ok(Content::Range(0..len));
    }
    let Some(info) = summary.part(part) else {
        return Ok(Content::Range(0..0));
    };
    let range = clamp(info.body_start..info.end, len);
    let body = message.get(range.clone()).unwrap_or_default();
    let decoded = match &info.encoding {
        TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary => {
            return Ok(Content::Range(range));
        }
        TransferEncoding::Base64 => base64_decode(body),
        TransferEncoding::QuotedPrintable => quoted_printable_decode(body),
        TransferEncoding::Other(_) => None,
    };
    decoded.map(Content::Owned).ok_or(UnknownCte)
}

/// A range of a numbered part; empty when the part does not exist or `pick` has nothing.
fn range_of(
    summary: &Summary,
    part: &Part,
    len: usize,
    pick: impl Fn(&PartInfo) -> Option<Range<u32>>,
) -> Content {
    let range = summary.part(part.as_slice()).and_then(pick);
    Content::Range(range.map_or(0..0, |r| clamp(r, len)))
}

/// The header of the message (`part` is `None`) or of the message a part encapsulates.
fn header_range(summary: &Summary, part: Option<&Part>, len: usize) -> Content {
    match part {
        None => Content::Range(clamp(0..summary.header_end, len)),
        Some(part) => range_of(summary, part, len, |p| match p.kind {
            PartKind::Message { header_end } => Some(p.body_start..header_end),
            _ => None,
        }),
    }
}

/// A stored range made safe to slice `len` octets with.
fn clamp(range: Range<u32>, len: usize) -> Range<usize> {
    let end = (range.end as usize).min(len);
    (range.start as usize).min(end)..end
}

/// The fields of `header` whose names are (`keep_matching`) or are not in `names`,
/// compared case-insensitively, followed by the blank line if `header` has one.
fn header_fields(header: &[u8], names: &[Cow<'_, [u8]>], keep_matching: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut field: Option<(&[u8], Vec<&[u8]>)> = None;
    let mut blank = false;
    let flush = |field: Option<(&[u8], Vec<&[u8]>)>, out: &mut Vec<u8>| {
        let Some((name, lines)) = field else { return };
        if names.iter().any(|n| n.eq_ignore_ascii_case(name)) == keep_matching {
            for line in lines {
                out.extend_from_slice(line);
            }
            if !out.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    };
    for line in header.split_inclusive(|&b| b == b'\n') {
        if line == b"\r\n" || line == b"\n" {
            blank = true;
            break;
        }
        match (line.first(), field.as_mut()) {
            (Some(b' ' | b'\t'), Some((_, lines))) => lines.push(line),
            (Some(b' ' | b'\t'), None) => {}
            _ => {
                flush(field.take(), &mut out);
                field = field_name(line).map(|name| (name, vec![line]));
            }
        }
    }
    flush(field, &mut out);
    if blank {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The name of the field a line starts, `None` for a line that starts none.
fn field_name(line: &[u8]) -> Option<&[u8]> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = line.get(..colon)?;
    let end = name.iter().rposition(|&b| b != b' ' && b != b'\t')? + 1;
    name.get(..end)
}
