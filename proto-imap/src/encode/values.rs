//! Values shared by commands and responses.

use std::num::NonZeroU32;

use crate::encode::Writer;
use crate::types::command::IdParams;
#[cfg(feature = "client")]
use crate::types::datetime::Date;
use crate::types::datetime::{DateTime, MONTHS};
use crate::types::fetch::{Part, Section};
use crate::types::flag::{Flag, FlagFetch, FlagPerm, MailboxAttr};
use crate::types::mailbox::Mailbox;
use crate::types::sequence::{SeqNum, SequenceSet};

impl Writer<'_> {
    /// `(field value ...)` or `NIL` of ID, shared with the ID response.
    pub(crate) fn id_params(&mut self, params: Option<&IdParams<'_>>) -> &mut Self {
        match params {
            None => self.str("NIL"),
            Some(params) => self.list(params, |w, (field, value)| {
                w.string(field).sp().nstring(value.as_deref());
            }),
        }
    }

    pub(crate) fn sequence_set(&mut self, set: &SequenceSet) -> &mut Self {
        match set {
            SequenceSet::Saved => self.raw(b"$"),
            SequenceSet::Ranges(ranges) => {
                for (n, range) in ranges.as_slice().iter().enumerate() {
                    if n > 0 {
                        self.raw(b",");
                    }
                    self.seq_num(range.from);
                    if range.to != range.from {
                        self.raw(b":").seq_num(range.to);
                    }
                }
                self
            }
        }
    }

    fn seq_num(&mut self, n: SeqNum) -> &mut Self {
        match n {
            SeqNum::Value(n) => self.display(n),
            SeqNum::Largest => self.raw(b"*"),
        }
    }

    /// `d-Mon-yyyy`.
    /// `dd-Mon-yyyy`, as a SEARCH command writes a date.
    #[cfg(feature = "client")]
    pub(crate) fn date(&mut self, date: Date) -> &mut Self {
        self.display(date.day())
            .raw(b"-")
            .str(month_name(date.month()))
            .raw(b"-")
            .display(format_args!("{:04}", date.year()))
    }

    /// `"dd-Mon-yyyy hh:mm:ss +zzzz"`.
    pub(crate) fn date_time(&mut self, dt: DateTime) -> &mut Self {
        let date = dt.date();
        let (h, m, s) = dt.time();
        let offset = dt.offset_minutes();
        let sign = if offset < 0 { '-' } else { '+' };
        let offset = offset.unsigned_abs();
        self.display(format_args!(
            "\"{:02}-{}-{:04} {h:02}:{m:02}:{s:02} {sign}{:02}{:02}\"",
            date.day(),
            month_name(date.month()),
            date.year(),
            offset / 60,
            offset % 60
        ))
    }

    pub(crate) fn flag(&mut self, flag: &Flag<'_>) -> &mut Self {
        match flag {
            Flag::Seen => self.raw(b"\\Seen"),
            Flag::Answered => self.raw(b"\\Answered"),
            Flag::Flagged => self.raw(b"\\Flagged"),
            Flag::Deleted => self.raw(b"\\Deleted"),
            Flag::Draft => self.raw(b"\\Draft"),
            Flag::Keyword(atom) => self.str(atom.as_str()),
            Flag::Extension(atom) => self.raw(b"\\").str(atom.as_str()),
        }
    }

    pub(crate) fn flag_fetch(&mut self, flag: &FlagFetch<'_>) -> &mut Self {
        match flag {
            FlagFetch::Flag(flag) => self.flag(flag),
            FlagFetch::Recent => self.raw(b"\\Recent"),
        }
    }

    pub(crate) fn flag_perm(&mut self, flag: &FlagPerm<'_>) -> &mut Self {
        match flag {
            FlagPerm::Flag(flag) => self.flag(flag),
            FlagPerm::AnyKeyword => self.raw(b"\\*"),
        }
    }

    pub(crate) fn mailbox_attr(&mut self, attr: &MailboxAttr<'_>) -> &mut Self {
        self.raw(b"\\");
        match attr {
            MailboxAttr::Known(known) => self.str(known.name()),
            MailboxAttr::Extension(atom) => self.str(atom.as_str()),
        }
    }

    pub(crate) fn mailbox(&mut self, mailbox: &Mailbox<'_>) -> &mut Self {
        self.astring(mailbox.as_bytes())
    }

    /// `1.2.3`.
    pub(crate) fn part_path(&mut self, path: &[NonZeroU32]) -> &mut Self {
        for (n, number) in path.iter().enumerate() {
            if n > 0 {
                self.raw(b".");
            }
            self.display(number);
        }
        self
    }

    /// `[section]`, `[]` for the whole message.
    pub(crate) fn section(&mut self, section: Option<&Section<'_>>) -> &mut Self {
        self.raw(b"[");
        if let Some(section) = section {
            let (part, text): (Option<&Part>, Option<&str>) = match section {
                Section::Part(part) => (Some(part), None),
                Section::Header(part) => (part.as_ref(), Some("HEADER")),
                Section::HeaderFields(part, _) => (part.as_ref(), Some("HEADER.FIELDS")),
                Section::HeaderFieldsNot(part, _) => (part.as_ref(), Some("HEADER.FIELDS.NOT")),
                Section::Text(part) => (part.as_ref(), Some("TEXT")),
                Section::Mime(part) => (Some(part), Some("MIME")),
            };
            if let Some(part) = part {
                self.part_path(part.as_slice());
                if text.is_some() {
                    self.raw(b".");
                }
            }
            if let Some(text) = text {
                self.str(text);
            }
            if let Section::HeaderFields(_, names) | Section::HeaderFieldsNot(_, names) = section {
                self.sp().list(names, |w, name| {
                    w.astring(name);
                });
            }
        }
        self.raw(b"]")
    }

    /// `[1.2]` of BINARY.
    pub(crate) fn binary_section(&mut self, part: &[NonZeroU32]) -> &mut Self {
        self.raw(b"[").part_path(part).raw(b"]")
    }
}

fn month_name(month: u8) -> &'static str {
    MONTHS
        .get(usize::from(month).saturating_sub(1))
        .copied()
        .unwrap_or("Jan")
}
