//! FETCH response items, ENVELOPE and BODYSTRUCTURE.

use crate::encode::Writer;
use crate::types::body::{
    Address, BodyExtension, BodyFields, BodyParams, BodyStructure, Envelope, SingleKind,
};
use crate::types::response::{FetchItem, SectionName};

impl Writer<'_> {
    /// Writes the items separated by spaces; `false` if the last one was a
    /// streamed content header (nothing may follow it).
    pub(crate) fn fetch_items(&mut self, items: &[FetchItem<'_>]) -> bool {
        for (n, item) in items.iter().enumerate() {
            if n > 0 {
                self.sp();
            }
            if !self.fetch_item(item) {
                return false;
            }
        }
        true
    }

    fn fetch_item(&mut self, item: &FetchItem<'_>) -> bool {
        match item {
            FetchItem::Flags(flags) => {
                self.str("FLAGS ").list(flags, |w, f| {
                    w.flag_fetch(f);
                });
            }
            FetchItem::InternalDate(date) => {
                self.str("INTERNALDATE ").date_time(*date);
            }
            FetchItem::Rfc822Size(n) => {
                self.str("RFC822.SIZE ").display(n);
            }
            FetchItem::Uid(n) => {
                self.str("UID ").display(n);
            }
            FetchItem::ModSeq(n) => {
                self.str("MODSEQ (").display(n).str(")");
            }
            FetchItem::Encoded { name, value } => {
                self.str(name).sp().raw(value);
            }
            FetchItem::Envelope(envelope) => {
                self.str("ENVELOPE ").envelope(envelope);
            }
            FetchItem::Body(body) => {
                self.str("BODY ").body_structure(body, false);
            }
            FetchItem::BodyStructure(body) => {
                self.str("BODYSTRUCTURE ").body_structure(body, true);
            }
            FetchItem::BinarySize { part, size } => {
                self.str("BINARY.SIZE")
                    .binary_section(part)
                    .sp()
                    .display(size);
            }
            FetchItem::BodySection { name, data } => {
                self.section_name(name).sp();
                match data {
                    None => self.str("NIL"),
                    // Only BINARY may carry NUL, in a literal8 (RFC 3516 §4.2).
                    Some(data)
                        if matches!(name, SectionName::Binary { .. }) && data.contains(&0) =>
                    {
                        self.literal_header(data.len() as u64, true).raw(data)
                    }
                    Some(data) => self.literal(data),
                };
            }
            FetchItem::BodySectionHeader { name, len } => {
                let binary = matches!(name, SectionName::Binary { .. });
                self.section_name(name).sp().literal_header(*len, binary);
                return false;
            }
        }
        true
    }

    fn section_name(&mut self, name: &SectionName<'_>) -> &mut Self {
        let origin = match name {
            SectionName::Rfc822 => return self.str("RFC822"),
            SectionName::Rfc822Header => return self.str("RFC822.HEADER"),
            SectionName::Rfc822Text => return self.str("RFC822.TEXT"),
            SectionName::Body { section, origin } => {
                self.str("BODY").section(section.as_ref());
                origin
            }
            SectionName::Binary { part, origin } => {
                self.str("BINARY").binary_section(part);
                origin
            }
        };
        match origin {
            Some(origin) => self.str("<").display(origin).str(">"),
            None => self,
        }
    }

    fn envelope(&mut self, e: &Envelope<'_>) -> &mut Self {
        self.str("(")
            .nstring(e.date.as_deref())
            .sp()
            .nstring(e.subject.as_deref());
        for list in [&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc] {
            self.sp().addresses(list);
        }
        self.sp()
            .nstring(e.in_reply_to.as_deref())
            .sp()
            .nstring(e.message_id.as_deref())
            .str(")")
    }

    fn addresses(&mut self, list: &[Address<'_>]) -> &mut Self {
        self.nil_or_group(list, |w, a| {
            w.list(&[&a.name, &a.adl, &a.mailbox, &a.host], |w, part| {
                w.nstring(part.as_deref());
            });
        })
    }

    /// BODY (`extended == false`) or BODYSTRUCTURE.
    fn body_structure(&mut self, body: &BodyStructure<'_>, extended: bool) -> &mut Self {
        self.str("(");
        match body {
            BodyStructure::Single {
                fields,
                kind,
                md5,
                extension,
            } => {
                self.single(fields, kind, extended);
                if extended {
                    self.sp()
                        .nstring(md5.as_deref())
                        .sp()
                        .body_extension(extension);
                }
            }
            BodyStructure::Multipart {
                parts,
                subtype,
                params,
                extension,
            } => {
                for part in parts {
                    self.body_structure(part, extended);
                }
                self.sp().string(subtype);
                if extended {
                    self.sp().params(params).sp().body_extension(extension);
                }
            }
        }
        self.str(")")
    }

    fn single(&mut self, fields: &BodyFields<'_>, kind: &SingleKind<'_>, extended: bool) {
        let (media_type, subtype): (&[u8], &[u8]) = match kind {
            SingleKind::Basic {
                media_type,
                subtype,
            } => (media_type, subtype),
            SingleKind::Text { subtype, .. } => (b"TEXT", subtype),
            SingleKind::Message { subtype, .. } => (b"MESSAGE", subtype),
        };
        self.string(media_type)
            .sp()
            .string(subtype)
            .sp()
            .params(&fields.params);
        self.sp()
            .nstring(fields.id.as_deref())
            .sp()
            .nstring(fields.description.as_deref())
            .sp()
            .string(&fields.encoding)
            .sp()
            .display(fields.size);
        match kind {
            SingleKind::Basic { .. } => {}
            SingleKind::Text { lines, .. } => {
                self.sp().display(lines);
            }
            SingleKind::Message {
                envelope,
                body,
                lines,
                ..
            } => {
                self.sp()
                    .envelope(envelope)
                    .sp()
                    .body_structure(body, extended);
                self.sp().display(lines);
            }
        }
    }

    fn params(&mut self, params: &BodyParams<'_>) -> &mut Self {
        self.nil_or_list(params, |w, (name, value)| {
            w.string(name).sp().string(value);
        })
    }

    /// `dsp lang loc`.
    fn body_extension(&mut self, ext: &BodyExtension<'_>) -> &mut Self {
        match &ext.disposition {
            Some(disposition) => {
                self.str("(")
                    .string(&disposition.kind)
                    .sp()
                    .params(&disposition.params)
                    .str(")");
            }
            None => {
                self.str("NIL");
            }
        }
        self.sp().nil_or_list(&ext.language, |w, lang| {
            w.string(lang);
        });
        self.sp().nstring(ext.location.as_deref())
    }
}
