//! An upper bound on what parsing a message with mail-parser allocates, found in one pass
//! over its bytes without parsing it.
//!
//! mail-parser (0.11) parses a whole message at once and allocates for every MIME part and
//! header field it finds: about half a KiB per part, and up to ~150 bytes per byte of a
//! structured field once the summary's own values are counted. A message made of tiny parts
//! or fields (a "MIME bomb") would cost hundreds of times its size, so
//! [`bounded`](super::bounded) hands mail-parser only messages whose bound fits [`BUDGET`].
//!
//! The bound follows how mail-parser reads a message, and assumes the worst wherever telling
//! would take parsing MIME:
//! - A header block starts at the top of the message; after any `--` (a boundary delimiter:
//!   mail-parser finds delimiters anywhere on a line, and we do not know the boundaries)
//!   once a header has mentioned a `boundary`; and after any blank line of a header that
//!   could make its body a message (`message/rfc822`, `message/global`, a digest entry).
//! - It ends at a line of white space at the earliest, at the first empty line (white space
//!   that does not fold a field) at the latest. Each part needs a blank line of its own
//!   after its start, which bounds the number of parts.
//! - Its fields are the lines with a colon and their folded continuations, named as
//!   mail-parser names them: each costs [`FIELD`], and per byte what the parse of its kind
//!   costs at most ([`ADDRESS_BYTE`], [`LIST_BYTE`], [`STRUCTURED_BYTE`], [`TEXT_BYTE`],
//!   measured with fields of one-byte values); more in the top-level header, which the
//!   search text keeps too ([`TOP_FIELD`], [`TOP_TEXT_BYTE`]). Only Content-Type and
//!   Content-Transfer-Encoding fields say what a part is.
//! - An encapsulated message encoded base64 or quoted-printable is decoded and parsed again,
//!   and every message within it gets a copy of the whole decoded text: its `n` bytes (up to
//!   the next `--` for base64, which has no `-`; to the end for quoted-printable) cost
//!   [`ENCODED_BYTE`] each, plus `n²/4` for the copies (one per six decoded bytes at most).
//!   The parsers read Content-Transfer-Encoding as raw text, so only those words in plain
//!   letters ask for decoding.
//! - A boundary written with RFC 2047 or RFC 2231 encoding could hold line breaks, and then
//!   any line could start a header: such a message has no bound.

use mail_parser::HeaderName;

/// Most bytes a parse may be expected to allocate.
pub(super) const BUDGET: u64 = 32 << 20;
/// Per MIME part: the part and its parser state, its description in the summary, the
/// message of a digest entry (which counts as two parts).
pub(super) const PART: u64 = 1024;
/// Per field: the field itself, as mail-parser keeps it.
pub(super) const FIELD: u64 = 160;
/// Per field of the top-level header, which the search text keeps too.
const TOP_FIELD: u64 = 384;
/// Per byte of an address field, split into addresses by mail-parser and again for the
/// ENVELOPE.
const ADDRESS_BYTE: u64 = 192;
/// Per byte of a field mail-parser parses into a list of values (parameters, languages,
/// keywords).
const LIST_BYTE: u64 = 80;
/// Per byte of another field mail-parser parses into a value (dates, message IDs, trace).
const STRUCTURED_BYTE: u64 = 40;
/// Per byte of a field kept as text: lossy copies of bytes that are not UTF-8.
const TEXT_BYTE: u64 = 4;
/// Per byte of a top-level field kept as text: decoded, and folded for the search text.
const TOP_TEXT_BYTE: u64 = 16;
/// Per byte of an encoded message: decoded, parsed at up to [`ADDRESS_BYTE`] or [`PART`]
/// per five bytes, copied, and possibly holding another encoded message.
const ENCODED_BYTE: u64 = 1024;

/// What [`estimate`] finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Estimate {
    /// Bytes a parse could allocate; `u64::MAX` when there is no bound.
    pub(super) cost: u64,
    /// Where the top-level header ends at the latest: just past its first empty line.
    pub(super) header_end: usize,
    /// How much of the top-level header fits [`BUDGET`] by itself: `header_end` unless
    /// the header alone costs more.
    pub(super) header_fits: usize,
}

impl Estimate {
    pub(super) fn fits(&self) -> bool {
        self.cost <= BUDGET
    }
}

/// Bounds what parsing `raw` costs.
pub(super) fn estimate(raw: &[u8]) -> Estimate {
    let mut scan = Scan::default();
    let mut end = 0;
    for line in raw.split_inclusive(|&b| b == b'\n') {
        end += line.len();
        scan.line(line, end);
    }
    scan.finish(raw.len())
}

/// A stretch of lines that could be one or more header blocks, up to an empty line.
#[derive(Debug, Default)]
struct Region {
    /// Whether this is the top-level header.
    top: bool,
    /// Opened by a `--`: it could be a multipart's child, a digest entry.
    dashed: bool,
    content_type: bool,
    /// Words of a Content-Type or Content-Transfer-Encoding field.
    message: bool,
    message_subtype: bool,
    base64: bool,
    quoted_printable: bool,
}

impl Region {
    /// Whether a body that follows could be a message, parsed as one more header block.
    fn holds_message(&self, digest: bool) -> bool {
        (self.message && self.message_subtype) || (digest && self.dashed && !self.content_type)
    }
}

/// What a field's bytes cost, from its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rate {
    Text,
    Structured,
    List,
    Address,
}

impl Rate {
    /// The rate of a field mail-parser names `name`, as the summary's and the search's
    /// parsers read it (they parse the fields below, and keep any other as text); the
    /// worst one when the name is not known.
    fn of(name: Option<&HeaderName<'_>>) -> Rate {
        let Some(name) = name else {
            return Rate::Address;
        };
        match name {
            HeaderName::From
            | HeaderName::To
            | HeaderName::Cc
            | HeaderName::Bcc
            | HeaderName::ReplyTo
            | HeaderName::Sender
            | HeaderName::ResentTo
            | HeaderName::ResentFrom
            | HeaderName::ResentBcc
            | HeaderName::ResentCc
            | HeaderName::ResentSender
            | HeaderName::ListArchive
            | HeaderName::ListHelp
            | HeaderName::ListId
            | HeaderName::ListOwner
            | HeaderName::ListPost
            | HeaderName::ListSubscribe
            | HeaderName::ListUnsubscribe => Rate::Address,
            HeaderName::ContentType
            | HeaderName::ContentDisposition
            | HeaderName::ContentLanguage
            | HeaderName::Keywords => Rate::List,
            HeaderName::ContentId
            | HeaderName::Date
            | HeaderName::ResentDate
            | HeaderName::MessageId
            | HeaderName::ResentMessageId
            | HeaderName::References
            | HeaderName::InReplyTo
            | HeaderName::ReturnPath
            | HeaderName::Received => Rate::Structured,
            _ => Rate::Text,
        }
    }

    fn per_byte(self, top: bool) -> u64 {
        match self {
            Rate::Text if top => TOP_TEXT_BYTE,
            Rate::Text => TEXT_BYTE,
            Rate::Structured => STRUCTURED_BYTE,
            Rate::List => LIST_BYTE,
            Rate::Address => ADDRESS_BYTE,
        }
    }
}

/// The field a line belongs to, for folded continuations.
#[derive(Debug, Clone, Copy)]
struct Field {
    rate: Rate,
    /// A Content-Type or Content-Transfer-Encoding field, which describes its part, or one
    /// that could be.
    describes: bool,
    /// Whether `boundary` appeared in it: its value must be plain.
    boundary: bool,
}

/// An encoded message being decoded: how far, and how many bytes so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Encoded {
    until: Until,
    bytes: u64,
}

impl Encoded {
    fn cost(&self) -> u64 {
        let copies = self.bytes.saturating_mul(self.bytes) / 4;
        ENCODED_BYTE
            .saturating_mul(self.bytes)
            .saturating_add(copies)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Until {
    /// The first `--` after the header (its first empty line).
    Dashes { past_header: bool },
    /// The end of the message.
    End,
}

#[derive(Debug)]
struct Scan {
    /// A header mentioned a boundary: `--` may delimit parts from now on.
    multipart: bool,
    /// A header could be a multipart/digest's.
    digest: bool,
    /// A boundary could hold a line break.
    unbounded: bool,
    cost: u64,
    /// A header block may have started since the last blank line.
    pending: bool,
    region: Option<Region>,
    /// A header block may start on the next line.
    next_starts: bool,
    field: Option<Field>,
    encoded: Option<Encoded>,
    header_end: Option<usize>,
    header_fits: usize,
}

impl Default for Scan {
    fn default() -> Self {
        Scan {
            multipart: false,
            digest: false,
            unbounded: false,
            cost: 0,
            pending: true,
            region: Some(Region {
                top: true,
                ..Region::default()
            }),
            next_starts: false,
            field: None,
            encoded: None,
            header_end: None,
            header_fits: 0,
        }
    }
}

impl Scan {
    fn charge(&mut self, cost: u64) {
        self.cost = self.cost.saturating_add(cost);
    }

    /// One line, with its line feed if it has one; `end` is the offset just past it.
    fn line(&mut self, line: &[u8], end: usize) {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let blank = text.iter().all(u8::is_ascii_whitespace);
        let empty = blank && !matches!(text.first(), Some(b' ' | b'\t'));
        let dash = if self.multipart || self.encoded.is_some() {
            find(text, b"--")
        } else {
            None
        };
        self.count_encoded(dash, line.len(), empty);
        if std::mem::take(&mut self.next_starts) {
            self.open(false);
        }
        if self.multipart && dash.is_some() {
            self.open(true);
        }
        if blank {
            if std::mem::take(&mut self.pending) {
                self.charge(PART);
            }
            // White space after a field may fold it: its next lines may still belong to it.
            if empty {
                self.field = None;
            }
            self.next_starts = self
                .region
                .as_ref()
                .is_some_and(|r| r.holds_message(self.digest));
        } else if self.region.is_some() {
            self.header_line(text, dash.is_some() && self.multipart);
        }
        if self.region.as_ref().is_some_and(|r| r.top) {
            if self.cost_so_far() <= BUDGET {
                self.header_fits = end;
            }
            if empty {
                self.header_end = Some(end);
            }
        }
        if empty {
            self.region = None;
        }
    }

    /// A header block may start here: opens a region, or widens the open one.
    fn open(&mut self, dashed: bool) {
        self.pending = true;
        self.region.get_or_insert_with(Region::default).dashed |= dashed;
    }

    /// A non-blank line of a region: charges its field, notes what it says.
    fn header_line(&mut self, text: &[u8], dashed: bool) {
        // After `--boundary`, where the block starts is unknown: the name could be any part
        // of what precedes the colon, so it is taken as unknown (`Some(None)`).
        let name = text
            .contains(&b':')
            .then(|| if dashed { None } else { name(text) });
        let own = name.as_ref().map(|name| Field {
            rate: Rate::of(name.as_ref()),
            describes: matches!(
                name,
                None | Some(HeaderName::ContentType | HeaderName::ContentTransferEncoding)
            ),
            boundary: false,
        });
        let folded = matches!(text.first(), Some(b' ' | b'\t'));
        let continued = if folded { self.field } else { None };
        let field = match (continued, own) {
            (Some(field), Some(own)) => Field {
                rate: field.rate.max(own.rate),
                describes: field.describes || own.describes,
                boundary: field.boundary,
            },
            (Some(field), None) => field,
            (None, Some(own)) => own,
            (None, None) => {
                self.field = None;
                return;
            }
        };
        let top = self.region.as_ref().is_some_and(|r| r.top);
        let len = text.len() as u64 + 1;
        self.charge(field.rate.per_byte(top) * len);
        if continued.is_none() {
            self.charge(if top { TOP_FIELD } else { FIELD });
        }
        let is_content_type = !folded && matches!(name, Some(Some(HeaderName::ContentType)));
        self.field = Some(if field.describes {
            self.description(text, field, is_content_type)
        } else {
            field
        });
    }

    /// Notes what a line of a field that describes its part says.
    fn description(&mut self, text: &[u8], field: Field, is_content_type: bool) -> Field {
        let lower = text.to_ascii_lowercase();
        let has = |word: &[u8]| find(&lower, word).is_some();
        let boundary_at = find(&lower, b"boundary");
        let boundary_value = match boundary_at {
            Some(at) => Some(&lower[at..]),
            None => field.boundary.then_some(&lower[..]),
        };
        if boundary_value.is_some_and(|v| find(v, b"=?").is_some() || v.contains(&b'%')) {
            self.unbounded = true;
        }
        self.multipart |= boundary_at.is_some();
        self.digest |= has(b"digest");
        if let Some(region) = self.region.as_mut() {
            region.content_type |= is_content_type;
            region.message |= has(b"message");
            region.message_subtype |= has(b"rfc822") || has(b"global");
            region.base64 |= has(b"base64");
            region.quoted_printable |= has(b"quoted-printable");
            if region.holds_message(self.digest) && (region.base64 || region.quoted_printable) {
                let until = if region.quoted_printable {
                    Until::End
                } else {
                    Until::Dashes { past_header: false }
                };
                match &mut self.encoded {
                    // One already being decoded runs on: its copies grow with it.
                    Some(encoded) if encoded.until == Until::End => {}
                    Some(encoded) => encoded.until = until,
                    None => self.encoded = Some(Encoded { until, bytes: 0 }),
                }
            }
        }
        Field {
            boundary: field.boundary || boundary_at.is_some(),
            ..field
        }
    }

    /// Counts a line of an encoded message being decoded; `dash` is where its first `--`
    /// is.
    fn count_encoded(&mut self, dash: Option<usize>, len: usize, empty: bool) {
        let Some(encoded) = self.encoded.as_mut() else {
            return;
        };
        let counted = match encoded.until {
            Until::End => len,
            Until::Dashes { past_header: false } => {
                if empty {
                    encoded.until = Until::Dashes { past_header: true };
                }
                len
            }
            Until::Dashes { past_header: true } => dash.unwrap_or(len),
        };
        encoded.bytes += counted as u64;
        if encoded.until == (Until::Dashes { past_header: true }) && dash.is_some() {
            self.charge_encoded();
        }
    }

    /// Charges the encoded message counted so far.
    fn charge_encoded(&mut self) {
        if let Some(encoded) = self.encoded.take() {
            self.charge(encoded.cost());
        }
    }

    /// What parsing up to here costs, with what is still to be charged.
    fn cost_so_far(&self) -> u64 {
        let part = if self.pending { PART } else { 0 };
        let encoded = self.encoded.map_or(0, |e| e.cost());
        self.cost.saturating_add(part).saturating_add(encoded)
    }

    fn finish(mut self, len: usize) -> Estimate {
        self.charge_encoded();
        if self.pending {
            self.charge(PART);
        }
        let header_end = self.header_end.unwrap_or(len);
        Estimate {
            cost: if self.unbounded { u64::MAX } else { self.cost },
            header_end,
            header_fits: self.header_fits.min(header_end),
        }
    }
}

/// The name mail-parser gives the field on a line with a colon: what precedes the colon,
/// without white space, looked up as mail-parser does (`Other` when not a name it knows).
/// `None` when there is no name: then mail-parser reads no field there, but we assume the
/// worst.
fn name(text: &[u8]) -> Option<HeaderName<'static>> {
    let start = text
        .iter()
        .position(|&b| b != b':' && !b.is_ascii_whitespace())?;
    let rest = &text[start..];
    let end = rest.iter().position(|&b| b == b':')?;
    let name: String = rest[..end]
        .iter()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|&b| char::from(b))
        .collect();
    Some(HeaderName::parse(name).unwrap_or(HeaderName::Other("".into())))
}

/// Where `word` first occurs in `text`.
fn find(text: &[u8], word: &[u8]) -> Option<usize> {
    let (&first, rest) = word.split_first()?;
    let mut from = 0;
    while let Some(at) = text.get(from..)?.iter().position(|&b| b == first) {
        let start = from + at;
        if text.get(start + 1..)?.starts_with(rest) {
            return Some(start);
        }
        from = start + 1;
    }
    None
}
