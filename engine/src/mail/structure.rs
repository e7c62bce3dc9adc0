//! The MIME structure of a message: its BODYSTRUCTURE value and its part table, built from
//! the mail-parser parse.
//!
//! Part numbers follow RFC 3501 6.4.5: the children of a multipart are numbered from 1; a
//! message whose body is not multipart has a part 1 (its body); a `message/rfc822` part
//! numbers its encapsulated message's parts below its own number.
//!
//! Corners decided here:
//! - Sizes are octets of the encoded body as stored; line counts are LF counts (Dovecot's).
//! - `text/*` without a charset gets `("CHARSET" "us-ascii")`, the RFC 2045 default.
//! - A multipart with no parts gets one empty `text/plain` part: BODYSTRUCTURE requires one.
//! - `message/rfc822` with a base64 or quoted-printable encoding (forbidden by RFC 2046) and
//!   multiparts without a usable boundary are opaque `application/octet-stream` leaves: a
//!   leaf described as either would break clients' BODYSTRUCTURE parsers. So is any
//!   multipart or message nested deeper than [`MAX_DEPTH`]; parts past [`MAX_PARTS`] are
//!   left out. Both bound the size of the description.
//! - What the parse itself may cost is bounded before it starts
//!   ([`bounded`](super::bounded)): a message too costly to parse whole reaches this module
//!   as its top-level header and a body that is not parsed, and is described as that one
//!   leaf (opaque if it says it is a multipart or a message), running to the end.
//! - Parameter values mail-parser decoded (RFC 2231, RFC 2047) to non-ASCII text are written
//!   back as RFC 2231 `NAME*` values (`utf-8''...`), which every MIME client reads and
//!   which need no 8-bit strings.
//! - Content-MD5 is not reported (`NIL`).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::num::NonZeroU32;

use mail_parser::{
    ContentType, Encoding, Header, HeaderName, HeaderValue, Message, MessagePart, PartType,
};
use proto_imap::{BodyExtension, BodyFields, BodyParams, BodyStructure, Disposition, SingleKind};

use super::envelope::{envelope, field};
use super::parts::{PartInfo, PartKind, TransferEncoding};

/// Nesting (multiparts and encapsulated messages) beyond which parts are opaque leaves.
pub(super) const MAX_DEPTH: usize = 64;
/// Most parts described; the rest of a larger multipart is left out.
pub(super) const MAX_PARTS: usize = 10_000;

/// What [`build`] returns.
pub(super) struct Structure {
    /// The BODYSTRUCTURE of the whole message.
    pub(super) body: BodyStructure<'static>,
    /// Every numbered part, depth first.
    pub(super) parts: Vec<PartInfo>,
}

/// Describes `message`, whose offsets point into `raw`.
pub(super) fn build(message: &Message<'_>, raw: &[u8]) -> Structure {
    let mut builder = Builder {
        raw,
        parts: Vec::new(),
        within: (0, u32::try_from(raw.len()).unwrap_or(u32::MAX)),
    };
    let body = builder.message(message, &[], 0);
    Structure {
        body,
        parts: builder.parts,
    }
}

struct Builder<'r> {
    raw: &'r [u8],
    parts: Vec<PartInfo>,
    /// The body of the enclosing part, which every part inside must lie within: mail-parser
    /// recovering from a broken multipart can place a child's end past its parent's.
    within: (u32, u32),
}

impl Builder<'_> {
    /// The structure of a (possibly encapsulated) message whose part number is `prefix`.
    fn message(
        &mut self,
        message: &Message<'_>,
        prefix: &[NonZeroU32],
        depth: usize,
    ) -> BodyStructure<'static> {
        let Some(root) = message.parts.first() else {
            return self.empty_text(path(prefix, NonZeroU32::MIN), 0);
        };
        match &root.body {
            PartType::Multipart(children) if depth < MAX_DEPTH => {
                self.multipart(message, root, children, prefix, depth)
            }
            _ => self.part(message, root, path(prefix, NonZeroU32::MIN), depth),
        }
    }

    /// A numbered part: records it in the table, then describes it.
    fn part(
        &mut self,
        message: &Message<'_>,
        part: &MessagePart<'_>,
        number: Vec<NonZeroU32>,
        depth: usize,
    ) -> BodyStructure<'static> {
        let depth = depth + 1;
        match &part.body {
            PartType::Multipart(children) if depth < MAX_DEPTH => {
                self.record(part, number.clone(), PartKind::Multipart);
                self.multipart(message, part, children, &number, depth)
            }
            PartType::Message(inner) if part.encoding == Encoding::None && depth < MAX_DEPTH => {
                let inner_root = inner.parts.first();
                let (_, body, end) = self.offsets(part);
                let header_end = inner_root.map_or(body, |root| root.offset_body.clamp(body, end));
                self.record(part, number.clone(), PartKind::Message { header_end });
                let envelope = envelope(inner_root.map_or(&[], |root| &root.headers[..]), self.raw);
                let outer = std::mem::replace(&mut self.within, (body, end));
                let body = self.message(inner, &number, depth);
                self.within = outer;
                let (fields, extension) = self.fields(part);
                BodyStructure::Single {
                    kind: SingleKind::Message {
                        subtype: upper(
                            content_type(part)
                                .and_then(ContentType::subtype)
                                .unwrap_or("rfc822"),
                        ),
                        envelope: Box::new(envelope),
                        body: Box::new(body),
                        lines: self.lines(part),
                    },
                    fields,
                    md5: None,
                    extension,
                }
            }
            _ => {
                self.record(part, number, PartKind::Leaf);
                self.leaf(part)
            }
        }
    }

    fn multipart(
        &mut self,
        message: &Message<'_>,
        part: &MessagePart<'_>,
        children: &[u32],
        prefix: &[NonZeroU32],
        depth: usize,
    ) -> BodyStructure<'static> {
        let mut parts = Vec::new();
        let (_, body, end) = self.offsets(part);
        let outer = std::mem::replace(&mut self.within, (body, end));
        for child in children
            .iter()
            .filter_map(|&id| message.parts.get(id as usize))
        {
            if !parts.is_empty() && self.parts.len() >= MAX_PARTS {
                break;
            }
            let count = u32::try_from(parts.len()).unwrap_or(u32::MAX);
            let number = NonZeroU32::MIN.saturating_add(count);
            parts.push(self.part(message, child, path(prefix, number), depth));
        }
        self.within = outer;
        if parts.is_empty() {
            parts.push(self.empty_text(path(prefix, NonZeroU32::MIN), part.offset_end));
        }
        let ct = content_type(part);
        BodyStructure::Multipart {
            parts,
            subtype: upper(ct.and_then(ContentType::subtype).unwrap_or("mixed")),
            params: params(ct),
            extension: extension(&part.headers, self.raw),
        }
    }

    /// A leaf part: anything but a multipart or an encapsulated message we descend into.
    fn leaf(&self, part: &MessagePart<'_>) -> BodyStructure<'static> {
        let (media_type, subtype) = leaf_media(content_type(part));
        let (mut fields, extension) = self.fields(part);
        let kind = if media_type == "TEXT" {
            if !fields
                .params
                .iter()
                .any(|(name, _)| name.as_ref() == b"CHARSET")
            {
                fields.params.insert(
                    0,
                    (b"CHARSET".as_slice().into(), b"us-ascii".as_slice().into()),
                );
            }
            SingleKind::Text {
                subtype,
                lines: self.lines(part),
            }
        } else {
            SingleKind::Basic {
                media_type: string(&media_type),
                subtype,
            }
        };
        BodyStructure::Single {
            fields,
            kind,
            md5: None,
            extension,
        }
    }

    /// The empty `text/plain` that stands in for the missing parts of a multipart.
    fn empty_text(&mut self, number: Vec<NonZeroU32>, at: u32) -> BodyStructure<'static> {
        let part = MessagePart {
            offset_header: at,
            offset_body: at,
            offset_end: at,
            ..MessagePart::default()
        };
        self.record(&part, number, PartKind::Leaf);
        self.leaf(&part)
    }

    /// Header start, body start and end of a part, clamped to the message: mail-parser may
    /// place the body of a header-only message one past its end.
    /// A part's header start, body start and end, within the enclosing body.
    fn offsets(&self, part: &MessagePart<'_>) -> (u32, u32, u32) {
        let (low, high) = self.within;
        let end = part.offset_end.clamp(low, high);
        let body = part.offset_body.clamp(low, end);
        (part.offset_header.clamp(low, body), body, end)
    }

    fn fields(&self, part: &MessagePart<'_>) -> (BodyFields<'static>, BodyExtension<'static>) {
        let text =
            |name: HeaderName<'static>| field(&part.headers, self.raw, &name).map(Cow::Owned);
        let fields = BodyFields {
            params: params(content_type(part)),
            id: text(HeaderName::ContentId),
            description: text(HeaderName::ContentDescription),
            encoding: Cow::Owned(transfer_encoding(part).name().into_bytes()),
            size: {
                let (_, body, end) = self.offsets(part);
                end - body
            },
        };
        (fields, extension(&part.headers, self.raw))
    }

    fn lines(&self, part: &MessagePart<'_>) -> u32 {
        let (_, start, end) = self.offsets(part);
        let body = self.raw.get(start as usize..end as usize);
        let lines = body
            .unwrap_or_default()
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        u32::try_from(lines).unwrap_or(u32::MAX)
    }

    fn record(&mut self, part: &MessagePart<'_>, number: Vec<NonZeroU32>, kind: PartKind) {
        let (header_start, body_start, end) = self.offsets(part);
        self.parts.push(PartInfo {
            number,
            header_start,
            body_start,
            end,
            kind,
            encoding: transfer_encoding(part),
            charset: content_type(part)
                .and_then(|ct| ct.attribute("charset"))
                .map(str::to_owned),
        });
    }
}

fn path(prefix: &[NonZeroU32], number: NonZeroU32) -> Vec<NonZeroU32> {
    let mut path = prefix.to_vec();
    path.push(number);
    path
}

/// The Content-Type mail-parser used to read the part (the last one, if repeated).
fn content_type<'p>(part: &'p MessagePart<'_>) -> Option<&'p ContentType<'p>> {
    last(&part.headers, &HeaderName::ContentType).and_then(HeaderValue::as_content_type)
}

fn last<'h, 'x>(headers: &'h [Header<'x>], name: &HeaderName<'_>) -> Option<&'h HeaderValue<'x>> {
    headers
        .iter()
        .rev()
        .find(|h| &h.name == name)
        .map(|h| &h.value)
}

/// The Content-Transfer-Encoding; `7BIT` when absent or not a token.
fn transfer_encoding(part: &MessagePart<'_>) -> TransferEncoding {
    let value =
        last(&part.headers, &HeaderName::ContentTransferEncoding).and_then(HeaderValue::as_text);
    let token = value.map(str::trim).filter(|t| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
    });
    token.map_or(TransferEncoding::SevenBit, TransferEncoding::from_token)
}

/// Media type and subtype of a leaf, upper-cased. Types that must not be described as
/// leaves (multipart, an encapsulated message we do not descend into) become
/// `application/octet-stream`.
fn leaf_media(ct: Option<&ContentType<'_>>) -> (String, Cow<'static, [u8]>) {
    let Some(ct) = ct else {
        return ("TEXT".into(), upper("plain"));
    };
    let media_type = ct.ctype().to_ascii_uppercase();
    let opaque = media_type == "MULTIPART"
        || (media_type == "MESSAGE"
            && ct.subtype().is_some_and(|s| {
                s.eq_ignore_ascii_case("rfc822") || s.eq_ignore_ascii_case("global")
            }));
    if opaque || media_type.is_empty() {
        return ("APPLICATION".into(), upper("octet-stream"));
    }
    let default = if media_type == "TEXT" {
        "plain"
    } else {
        "octet-stream"
    };
    let subtype = upper(ct.subtype().unwrap_or(default));
    (media_type, subtype)
}

fn upper(text: &str) -> Cow<'static, [u8]> {
    string(&text.to_ascii_uppercase())
}

/// A value mail-parser decoded, as an IMAP string: NUL, which no IMAP string may carry,
/// becomes a space.
fn string(text: &str) -> Cow<'static, [u8]> {
    Cow::Owned(text.replace('\0', " ").into_bytes())
}

/// Content-Type or Content-Disposition parameters, names upper-cased.
fn params(ct: Option<&ContentType<'_>>) -> BodyParams<'static> {
    let attributes = ct.and_then(ContentType::attributes).unwrap_or_default();
    attributes
        .iter()
        .map(|a| {
            let name = a.name.to_ascii_uppercase();
            if a.value.is_ascii() {
                (string(&name), string(&a.value))
            } else {
                let value = format!("utf-8''{}", percent_encode(&a.value));
                (string(&format!("{name}*")), string(&value))
            }
        })
        .collect()
}

/// RFC 2231 `extended-other-values`: attribute characters as they are, the rest `%XX`.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Disposition, language and location: the extension data of every part.
fn extension(headers: &[Header<'_>], raw: &[u8]) -> BodyExtension<'static> {
    let disposition = last(headers, &HeaderName::ContentDisposition)
        .and_then(HeaderValue::as_content_type)
        .map(|d| Disposition {
            kind: upper(d.ctype()),
            params: params(Some(d)),
        });
    let language = match last(headers, &HeaderName::ContentLanguage) {
        Some(HeaderValue::TextList(list)) => list.iter().map(|l| string(l)).collect(),
        Some(HeaderValue::Text(one)) => vec![string(one)],
        _ => Vec::new(),
    };
    BodyExtension {
        disposition,
        language,
        location: field(headers, raw, &HeaderName::ContentLocation).map(Cow::Owned),
    }
}
