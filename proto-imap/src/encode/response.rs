//! Responses in wire format.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::encode::{EncodeOptions, Writer};
use crate::types::command::ListSelect;
use crate::types::response::{
    Code, Condition, Continue, Data, ESearch, FetchItem, ListExtended, ListItem, NamespaceDesc,
    Response, SectionName, Status, Thread,
};

impl Response<'_> {
    /// Appends the response. A FETCH whose last item is a
    /// [`BodySectionHeader`](crate::FetchItem::BodySectionHeader) stops after
    /// the literal header; see [`encode_fetch_end`].
    pub fn encode(&self, out: &mut Vec<u8>, options: EncodeOptions) {
        let w = &mut Writer::new(out, options);
        match self {
            Self::Tagged {
                tag,
                status,
                code,
                text,
            } => {
                w.str(tag.as_str()).sp().str(match status {
                    Status::Ok => "OK",
                    Status::No => "NO",
                    Status::Bad => "BAD",
                });
                w.resp_text(code.as_ref(), text).crlf();
            }
            Self::Untagged(data) => data.encode(w.out, options),
            Self::Continue(Continue::Text { code, text }) => {
                w.str("+");
                if code.is_none() && text.is_empty() {
                    w.sp();
                }
                w.resp_text(code.as_ref(), text).crlf();
            }
            Self::Continue(Continue::Base64(data)) => {
                w.str("+ ").str(&STANDARD.encode(data)).crlf();
            }
        }
    }
}

impl Data<'_> {
    /// Appends the untagged response `* ...`, as [`Response::encode`] does
    /// for [`Response::Untagged`], without having to wrap (or copy) the data.
    pub fn encode(&self, out: &mut Vec<u8>, options: EncodeOptions) {
        let w = &mut Writer::new(out, options);
        if w.data(self) {
            w.crlf();
        }
    }
}

/// Ends a FETCH response after the caller streamed the content announced by
/// a [`BodySectionHeader`](crate::FetchItem::BodySectionHeader).
pub fn encode_fetch_end(out: &mut Vec<u8>) {
    out.extend_from_slice(b")\r\n");
}

/// After the content a [`BodySectionHeader`](crate::FetchItem::BodySectionHeader)
/// announced, announces another item the caller streams: the same response goes on with
/// ` NAME {len}` (`~{len}` for BINARY), then exactly `len` octets; it ends with
/// [`encode_fetch_end`].
pub fn encode_fetch_next(out: &mut Vec<u8>, name: SectionName<'_>, len: u64) {
    let w = &mut Writer::new(out, EncodeOptions::default());
    w.sp();
    w.fetch_items(&[FetchItem::BodySectionHeader { name, len }]);
}

/// Makes content the caller streams into a `{n}` literal valid there: NUL is no CHAR8
/// (RFC 3501 §9, RFC 9051 §9), so each becomes 0x80, as Dovecot sends it. The length stays
/// the same, so a literal announced before the content was read stays right. Content in a
/// literal8 (`~{n}`, BINARY) needs none of this.
pub fn literal_safe(bytes: &mut [u8]) {
    for byte in bytes.iter_mut().filter(|b| **b == 0) {
        *byte = NUL_STANDIN;
    }
}

/// What NUL is sent as inside a `{n}` literal.
const NUL_STANDIN: u8 = 0x80;

impl Writer<'_> {
    /// ` [code] text`, each part only when present.
    fn resp_text(&mut self, code: Option<&Code<'_>>, text: &str) -> &mut Self {
        if let Some(code) = code {
            self.str(" [").code(code).str("]");
        }
        if !text.is_empty() {
            self.sp().text(text);
        }
        self
    }

    fn code(&mut self, code: &Code<'_>) -> &mut Self {
        match code {
            Code::Plain(plain) => self.str(plain.name()),
            Code::BadCharset(charsets) => {
                self.str("BADCHARSET");
                if !charsets.is_empty() {
                    self.sp().list(charsets, |w, c| {
                        w.astring(c);
                    });
                }
                self
            }
            Code::Capability(caps) => self.str("CAPABILITY ").join(caps, |w, c| {
                w.str(c.as_str());
            }),
            Code::PermanentFlags(flags) => self.str("PERMANENTFLAGS ").list(flags, |w, f| {
                w.flag_perm(f);
            }),
            Code::UidNext(n) => self.str("UIDNEXT ").display(n),
            Code::UidValidity(n) => self.str("UIDVALIDITY ").display(n),
            Code::Unseen(n) => self.str("UNSEEN ").display(n),
            Code::AppendUid { uid_validity, uids } => self
                .str("APPENDUID ")
                .display(uid_validity)
                .sp()
                .sequence_set(uids),
            Code::CopyUid {
                uid_validity,
                source,
                destination,
            } => self
                .str("COPYUID ")
                .display(uid_validity)
                .sp()
                .sequence_set(source)
                .sp()
                .sequence_set(destination),
            Code::HighestModSeq(n) => self.str("HIGHESTMODSEQ ").display(n),
            Code::Modified(set) => self.str("MODIFIED ").sequence_set(set),
        }
    }

    /// Writes `* ...`; `false` when the line must stay open because a
    /// streamed literal follows.
    fn data(&mut self, data: &Data<'_>) -> bool {
        self.str("* ");
        match data {
            Data::Condition {
                condition,
                code,
                text,
            } => {
                self.str(match condition {
                    Condition::Ok => "OK",
                    Condition::No => "NO",
                    Condition::Bad => "BAD",
                    Condition::PreAuth => "PREAUTH",
                    Condition::Bye => "BYE",
                });
                self.resp_text(code.as_ref(), text);
            }
            Data::Capability(caps) => {
                self.str("CAPABILITY").atoms(caps);
            }
            Data::Enabled(caps) => {
                self.str("ENABLED").atoms(caps);
            }
            Data::List(item) => {
                self.str("LIST ").list_item(item);
            }
            Data::Lsub(item) => {
                self.str("LSUB ").list_item(item);
            }
            Data::Status { mailbox, items } => {
                self.str("STATUS ").string(mailbox.as_bytes()).sp();
                self.list(items, |w, (item, value)| {
                    w.str(item.name()).sp().display(value);
                });
            }
            Data::Search { ids, modseq } => {
                self.str("SEARCH").numbers(ids, *modseq);
            }
            Data::Sort { ids, modseq } => {
                self.str("SORT").numbers(ids, *modseq);
            }
            Data::ESearch(esearch) => {
                self.esearch(esearch);
            }
            Data::Thread(threads) => {
                self.str("THREAD");
                if !threads.is_empty() {
                    self.sp();
                }
                for thread in threads {
                    self.thread(thread);
                }
            }
            Data::Flags(flags) => {
                self.str("FLAGS ").list(flags, |w, f| {
                    w.flag(f);
                });
            }
            Data::Exists(n) => {
                self.display(n).str(" EXISTS");
            }
            Data::Recent(n) => {
                self.display(n).str(" RECENT");
            }
            Data::Expunge(n) => {
                self.display(n).str(" EXPUNGE");
            }
            Data::Vanished { earlier, uids } => {
                self.str(if *earlier {
                    "VANISHED (EARLIER) "
                } else {
                    "VANISHED "
                });
                self.sequence_set(uids);
            }
            Data::Fetch { seq, items } => {
                self.display(seq).str(" FETCH (");
                if !self.fetch_items(items) {
                    return false;
                }
                self.str(")");
            }
            Data::Namespace {
                personal,
                other,
                shared,
            } => {
                self.str("NAMESPACE ")
                    .namespaces(personal)
                    .sp()
                    .namespaces(other)
                    .sp()
                    .namespaces(shared);
            }
            Data::Quota { root, resources } => {
                self.str("QUOTA ").astring(root).sp();
                self.list(resources, |w, r| {
                    w.str(r.name.as_str())
                        .sp()
                        .display(r.usage)
                        .sp()
                        .display(r.limit);
                });
            }
            Data::QuotaRoot { mailbox, roots } => {
                self.str("QUOTAROOT ").mailbox(mailbox);
                for root in roots {
                    self.sp().astring(root);
                }
            }
            Data::Id(params) => {
                self.str("ID ").id_params(params.as_ref());
            }
        }
        true
    }

    fn atoms(&mut self, atoms: &[crate::types::core::Atom<'_>]) -> &mut Self {
        for atom in atoms {
            self.sp().str(atom.as_str());
        }
        self
    }

    fn list_item(&mut self, item: &ListItem<'_>) -> &mut Self {
        self.list(&item.attributes, |w, a| {
            w.mailbox_attr(a);
        })
        .sp()
        .delimiter(item.delimiter)
        .sp()
        .string(item.mailbox.as_bytes());
        if !item.extended.is_empty() {
            self.sp().list(&item.extended, |w, ext| match ext {
                ListExtended::ChildInfo(opts) => {
                    w.str("\"CHILDINFO\" ").list(opts, |w, o: &ListSelect| {
                        w.string(o.name().as_bytes());
                    });
                }
                ListExtended::OldName(name) => {
                    w.str("\"OLDNAME\" (").string(name.as_bytes()).str(")");
                }
            });
        }
        self
    }

    fn delimiter(&mut self, delimiter: Option<char>) -> &mut Self {
        match delimiter {
            Some(c) => self.string(c.encode_utf8(&mut [0; 4]).as_bytes()),
            None => self.str("NIL"),
        }
    }

    fn numbers(
        &mut self,
        ids: &[std::num::NonZeroU32],
        modseq: Option<std::num::NonZeroU64>,
    ) -> &mut Self {
        for id in ids {
            self.sp().display(id);
        }
        if let Some(modseq) = modseq {
            self.str(" (MODSEQ ").display(modseq).str(")");
        }
        self
    }

    fn esearch(&mut self, e: &ESearch<'_>) -> &mut Self {
        self.str("ESEARCH");
        if let Some(tag) = &e.tag {
            self.str(" (TAG ").string(tag.as_str().as_bytes()).str(")");
        }
        if e.uid {
            self.str(" UID");
        }
        if let Some(n) = e.min {
            self.str(" MIN ").display(n);
        }
        if let Some(n) = e.max {
            self.str(" MAX ").display(n);
        }
        if let Some(set) = &e.all {
            self.str(" ALL ").sequence_set(set);
        }
        if let Some(n) = e.count {
            self.str(" COUNT ").display(n);
        }
        if let Some(n) = e.modseq {
            self.str(" MODSEQ ").display(n);
        }
        self
    }

    /// `(1 2 (3)(4 5))`: the chain, then the branches; a single branch is
    /// written as a continuation of the chain, as the grammar requires.
    fn thread(&mut self, thread: &Thread) -> &mut Self {
        self.str("(");
        let mut first = true;
        let mut current = thread;
        loop {
            for id in &current.messages {
                if !first {
                    self.sp();
                }
                self.display(id);
                first = false;
            }
            match current.children.as_slice() {
                [only] => current = only,
                children => {
                    if !first && !children.is_empty() {
                        self.sp();
                    }
                    for child in children {
                        self.thread(child);
                    }
                    break;
                }
            }
        }
        self.str(")")
    }

    fn namespaces(&mut self, list: &[NamespaceDesc<'_>]) -> &mut Self {
        self.nil_or_group(list, |w, ns| {
            w.str("(")
                .string(&ns.prefix)
                .sp()
                .delimiter(ns.delimiter)
                .str(")");
        })
    }
}
