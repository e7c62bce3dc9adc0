//! The stored form of a [`Summary`]: a version byte, then every field in a fixed order,
//! byte strings and lists prefixed by their length (u32 little-endian), numbers
//! little-endian, options by a 0/1 byte.
//!
//! The bytes come back from disk, so [`Summary::from_bytes`] trusts nothing: any short,
//! overlong, inconsistent or unknown-version input gives `None` (the caller derives the
//! summary again), and lengths are checked against what is left before anything is
//! allocated. A change of layout must bump [`VERSION`].

use std::num::NonZeroU32;

use super::decoded::HeaderText;
use super::parts::{PartInfo, PartKind, TransferEncoding};
use super::summary::{SentDate, SortKeys, Summary, ThreadKeys};

/// The layout written by [`Summary::to_bytes`].
const VERSION: u8 = 2;

impl Summary {
    /// The stored form, for [`Store::set_blob_fact`](crate::store::Store::set_blob_fact).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(256 + self.body_structure.len() * 2));
        w.u8(VERSION);
        w.bytes(&self.envelope);
        w.bytes(&self.body_structure);
        w.bytes(&self.body);
        w.u32(self.header_end);
        w.len(self.parts.len());
        for part in &self.parts {
            w.part(part);
        }
        w.sort_keys(&self.sort);
        w.opt_str(self.thread.message_id.as_deref());
        w.len(self.thread.references.len());
        for id in &self.thread.references {
            w.str(id);
        }
        w.bool(self.thread.is_reply);
        let s = &self.search;
        for text in [&s.subject, &s.from, &s.to, &s.cc, &s.bcc] {
            w.str(text);
        }
        w.0
    }

    /// Reads [`Summary::to_bytes`] output; `None` for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Option<Summary> {
        let mut r = Reader(bytes);
        if r.u8()? != VERSION {
            return None;
        }
        let envelope = r.bytes()?.to_vec();
        let body_structure = r.bytes()?.to_vec();
        let body = r.bytes()?.to_vec();
        let header_end = r.u32()?;
        let parts = r.list(Reader::part)?;
        let sort = r.sort_keys()?;
        let thread = ThreadKeys {
            message_id: r.opt_string()?,
            references: r.list(Reader::string)?,
            is_reply: r.bool()?,
        };
        let search = HeaderText {
            subject: r.string()?,
            from: r.string()?,
            to: r.string()?,
            cc: r.string()?,
            bcc: r.string()?,
        };
        r.0.is_empty().then_some(Summary {
            envelope,
            body_structure,
            body,
            header_end,
            parts,
            sort,
            thread,
            search,
        })
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, n: u8) {
        self.0.push(n);
    }

    fn bool(&mut self, b: bool) {
        self.u8(u8::from(b));
    }

    fn u32(&mut self, n: u32) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }

    fn i64(&mut self, n: i64) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }

    /// A length; nothing in a summary comes near 4 GiB, but saturate rather than wrap.
    fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }

    fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.0.extend_from_slice(b);
    }

    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    fn opt_str(&mut self, s: Option<&str>) {
        self.bool(s.is_some());
        if let Some(s) = s {
            self.str(s);
        }
    }

    fn part(&mut self, part: &PartInfo) {
        self.len(part.number.len());
        for n in &part.number {
            self.u32(n.get());
        }
        self.u32(part.header_start);
        self.u32(part.body_start);
        self.u32(part.end);
        match part.kind {
            PartKind::Leaf => self.u8(0),
            PartKind::Multipart => self.u8(1),
            PartKind::Message { header_end } => {
                self.u8(2);
                self.u32(header_end);
            }
        }
        self.str(&part.encoding.name());
        self.opt_str(part.charset.as_deref());
    }

    fn sort_keys(&mut self, sort: &SortKeys) {
        self.bool(sort.sent.is_some());
        if let Some(sent) = sort.sent {
            self.i64(sent.unix);
            self.i64(i64::from(sent.offset_seconds));
        }
        for text in [
            &sort.subject,
            &sort.from,
            &sort.to,
            &sort.cc,
            &sort.display_from,
            &sort.display_to,
        ] {
            self.str(text);
        }
    }
}

struct Reader<'b>(&'b [u8]);

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Option<&'b [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn bool(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<&'b [u8]> {
        let len = self.u32()?;
        self.take(usize::try_from(len).ok()?)
    }

    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }

    fn opt_string(&mut self) -> Option<Option<String>> {
        if self.bool()? {
            self.string().map(Some)
        } else {
            Some(None)
        }
    }

    /// A counted list. Every item takes at least one byte, so a count larger than what is
    /// left is refused before anything is allocated.
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let count = usize::try_from(self.u32()?).ok()?;
        if count > self.0.len() {
            return None;
        }
        (0..count).map(|_| item(self)).collect()
    }

    fn part(&mut self) -> Option<PartInfo> {
        let number = self.list(|r| NonZeroU32::new(r.u32()?))?;
        let (header_start, body_start, end) = (self.u32()?, self.u32()?, self.u32()?);
        let kind = match self.u8()? {
            0 => PartKind::Leaf,
            1 => PartKind::Multipart,
            2 => PartKind::Message {
                header_end: self.u32()?,
            },
            _ => return None,
        };
        let encoding = TransferEncoding::from_token(&self.string()?);
        let charset = self.opt_string()?;
        let ordered = header_start <= body_start && body_start <= end;
        (ordered && !number.is_empty()).then_some(PartInfo {
            number,
            header_start,
            body_start,
            end,
            kind,
            encoding,
            charset,
        })
    }

    fn sort_keys(&mut self) -> Option<SortKeys> {
        let sent = if self.bool()? {
            Some(SentDate {
                unix: self.i64()?,
                offset_seconds: i32::try_from(self.i64()?).ok()?,
            })
        } else {
            None
        };
        Some(SortKeys {
            sent,
            subject: self.string()?,
            from: self.string()?,
            to: self.string()?,
            cc: self.string()?,
            display_from: self.string()?,
            display_to: self.string()?,
        })
    }
}
