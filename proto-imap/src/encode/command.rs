//! Commands in wire format, as a client sends them. The server never sends
//! commands; this exists for tests, fuzzing and the round-trip property
//! `parse_command(encode(c)) == c`. Literals are synchronizing (`{n}`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::encode::Writer;
use crate::types::command::{
    AppendOptions, Command, CommandBody, ListCommand, ListReturn, SelectParams, StatusItem,
    StoreMode,
};
use crate::types::fetch::{FetchAttr, FetchAttrs, FetchModifiers, Partial};
use crate::types::search::SearchKey;

impl Command<'_> {
    /// Appends the command, literals inline, ending in CRLF.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let w = &mut Writer::for_commands(out);
        w.str(self.tag.as_str()).sp();
        w.body(&self.body);
        w.crlf();
    }
}

impl Writer<'_> {
    fn body(&mut self, body: &CommandBody<'_>) {
        use CommandBody as C;
        match body {
            C::Capability => self.str("CAPABILITY"),
            C::Noop => self.str("NOOP"),
            C::Logout => self.str("LOGOUT"),
            C::StartTls => self.str("STARTTLS"),
            C::Namespace => self.str("NAMESPACE"),
            C::Idle => self.str("IDLE"),
            C::Check => self.str("CHECK"),
            C::Close => self.str("CLOSE"),
            C::Unselect => self.str("UNSELECT"),
            C::Expunge => self.str("EXPUNGE"),
            C::Authenticate { mechanism, initial } => {
                self.str("AUTHENTICATE ").str(mechanism.as_str());
                match initial.as_deref() {
                    Some([]) => self.str(" ="),
                    Some(data) => self.sp().str(&STANDARD.encode(data)),
                    None => self,
                }
            }
            C::Login { username, password } => {
                self.str("LOGIN ").astring(username).sp().astring(password)
            }
            C::Enable(caps) => self.str("ENABLE ").join(caps, |w, cap| {
                w.str(cap.as_str());
            }),
            C::Select { mailbox, params } => {
                self.str("SELECT ").mailbox(mailbox).select_params(params)
            }
            C::Examine { mailbox, params } => {
                self.str("EXAMINE ").mailbox(mailbox).select_params(params)
            }
            C::Create {
                mailbox,
                special_use,
            } => {
                self.str("CREATE ").mailbox(mailbox);
                if !special_use.is_empty() {
                    self.str(" (USE ").list(special_use, |w, a| {
                        w.mailbox_attr(a);
                    });
                    self.str(")");
                }
                self
            }
            C::Delete(mailbox) => self.str("DELETE ").mailbox(mailbox),
            C::Rename { from, to } => self.str("RENAME ").mailbox(from).sp().mailbox(to),
            C::Subscribe(mailbox) => self.str("SUBSCRIBE ").mailbox(mailbox),
            C::Unsubscribe(mailbox) => self.str("UNSUBSCRIBE ").mailbox(mailbox),
            C::List(list) => self.list_command(list),
            C::Lsub { reference, pattern } => self
                .str("LSUB ")
                .mailbox(reference)
                .sp()
                .list_mailbox(pattern),
            C::Status { mailbox, items } => self
                .str("STATUS ")
                .mailbox(mailbox)
                .sp()
                .status_items(items),
            C::Append { mailbox, messages } => {
                self.str("APPEND ").mailbox(mailbox);
                for message in messages {
                    self.append_options(&message.options).sp();
                    if message.utf8 {
                        self.str("UTF8 (");
                    }
                    self.literal_header(message.data.len() as u64, message.binary)
                        .raw(&message.data);
                    if message.utf8 {
                        self.raw(b")");
                    }
                }
                self
            }
            C::UidExpunge(set) => self.str("UID EXPUNGE ").sequence_set(set),
            C::Search {
                uid,
                returns,
                charset,
                keys,
            } => {
                self.uid(*uid).str("SEARCH");
                if let Some(returns) = returns {
                    self.str(" RETURN ").list(returns, |w, r| {
                        w.str(r.name());
                    });
                }
                if let Some(charset) = charset {
                    self.str(" CHARSET ").astring(charset);
                }
                self.search_keys(keys)
            }
            C::Fetch {
                uid,
                set,
                attrs,
                modifiers,
            } => {
                self.uid(*uid).str("FETCH ").sequence_set(set).sp();
                self.fetch_attrs(attrs).fetch_modifiers(modifiers)
            }
            C::Store {
                uid,
                set,
                unchanged_since,
                mode,
                silent,
                flags,
            } => {
                self.uid(*uid).str("STORE ").sequence_set(set);
                if let Some(n) = unchanged_since {
                    self.str(" (UNCHANGEDSINCE ").display(n).str(")");
                }
                self.str(match mode {
                    StoreMode::Replace => " FLAGS",
                    StoreMode::Add => " +FLAGS",
                    StoreMode::Remove => " -FLAGS",
                });
                if *silent {
                    self.str(".SILENT");
                }
                self.sp().list(flags, |w, f| {
                    w.flag(f);
                })
            }
            C::Copy { uid, set, mailbox } => self
                .uid(*uid)
                .str("COPY ")
                .sequence_set(set)
                .sp()
                .mailbox(mailbox),
            C::Move { uid, set, mailbox } => self
                .uid(*uid)
                .str("MOVE ")
                .sequence_set(set)
                .sp()
                .mailbox(mailbox),
            C::Sort {
                uid,
                criteria,
                charset,
                keys,
            } => {
                self.uid(*uid).str("SORT ").list(criteria, |w, c| {
                    if c.reverse {
                        w.str("REVERSE ");
                    }
                    w.str(c.key.name());
                });
                self.sp().astring(charset).search_keys(keys)
            }
            C::Thread {
                uid,
                algorithm,
                charset,
                keys,
            } => {
                self.uid(*uid).str("THREAD ").str(algorithm.name());
                self.sp().astring(charset).search_keys(keys)
            }
            C::GetQuota(root) => self.str("GETQUOTA ").astring(root),
            C::GetQuotaRoot(mailbox) => self.str("GETQUOTAROOT ").mailbox(mailbox),
            C::SetQuota { root, limits } => {
                self.str("SETQUOTA ").astring(root).sp();
                self.list(limits, |w, (name, limit)| {
                    w.str(name.as_str()).sp().display(limit);
                })
            }
            C::Id(params) => self.str("ID ").id_params(params.as_ref()),
            C::Compress(mechanism) => self.str("COMPRESS ").str(mechanism.as_str()),
        };
    }

    fn uid(&mut self, uid: bool) -> &mut Self {
        if uid { self.str("UID ") } else { self }
    }

    fn select_params(&mut self, params: &SelectParams) -> &mut Self {
        if !params.condstore && params.qresync.is_none() {
            return self;
        }
        self.str(" (");
        if params.condstore {
            self.str("CONDSTORE");
            if params.qresync.is_some() {
                self.sp();
            }
        }
        if let Some(q) = &params.qresync {
            self.str("QRESYNC (")
                .display(q.uid_validity)
                .sp()
                .display(q.modseq);
            if let Some(known) = &q.known_uids {
                self.sp().sequence_set(known);
            }
            if let Some((seqs, uids)) = &q.seq_match {
                self.str(" (")
                    .sequence_set(seqs)
                    .sp()
                    .sequence_set(uids)
                    .str(")");
            }
            self.str(")");
        }
        self.str(")")
    }

    fn list_command(&mut self, list: &ListCommand<'_>) -> &mut Self {
        self.str("LIST ");
        if !list.selection.is_empty() {
            self.list(&list.selection, |w, s| {
                w.str(s.name());
            });
            self.sp();
        }
        self.mailbox(&list.reference).sp();
        match list.patterns.as_slice() {
            [single] => self.list_mailbox(single),
            patterns => self.list(patterns, |w, p| {
                w.list_mailbox(p);
            }),
        };
        if !list.returns.is_empty() {
            self.str(" RETURN ").list(&list.returns, |w, r| {
                match r {
                    ListReturn::Subscribed => w.str("SUBSCRIBED"),
                    ListReturn::Children => w.str("CHILDREN"),
                    ListReturn::SpecialUse => w.str("SPECIAL-USE"),
                    ListReturn::Status(items) => w.str("STATUS ").status_items(items),
                };
            });
        }
        self
    }

    /// A `list-mailbox`: bare when every byte is a list character.
    fn list_mailbox(&mut self, pattern: &[u8]) -> &mut Self {
        if !pattern.is_empty() && pattern.iter().all(|&b| crate::chars::is_list_char(b)) {
            self.raw(pattern)
        } else {
            self.string(pattern)
        }
    }

    pub(crate) fn status_items(&mut self, items: &[StatusItem]) -> &mut Self {
        self.list(items, |w, item| {
            w.str(item.name());
        })
    }

    fn append_options(&mut self, options: &AppendOptions<'_>) -> &mut Self {
        if !options.flags.is_empty() {
            self.sp().list(&options.flags, |w, f| {
                w.flag(f);
            });
        }
        if let Some(date) = options.date {
            self.sp().date_time(date);
        }
        self
    }

    fn search_keys(&mut self, keys: &[SearchKey<'_>]) -> &mut Self {
        for key in keys {
            self.sp().search_key(key);
        }
        self
    }

    fn search_key(&mut self, key: &SearchKey<'_>) -> &mut Self {
        use SearchKey as K;
        match key {
            K::All => self.str("ALL"),
            K::Answered => self.str("ANSWERED"),
            K::Deleted => self.str("DELETED"),
            K::Draft => self.str("DRAFT"),
            K::Flagged => self.str("FLAGGED"),
            K::New => self.str("NEW"),
            K::Old => self.str("OLD"),
            K::Recent => self.str("RECENT"),
            K::Seen => self.str("SEEN"),
            K::Unanswered => self.str("UNANSWERED"),
            K::Undeleted => self.str("UNDELETED"),
            K::Undraft => self.str("UNDRAFT"),
            K::Unflagged => self.str("UNFLAGGED"),
            K::Unseen => self.str("UNSEEN"),
            K::Bcc(s) => self.str("BCC ").astring(s),
            K::Body(s) => self.str("BODY ").astring(s),
            K::Cc(s) => self.str("CC ").astring(s),
            K::From(s) => self.str("FROM ").astring(s),
            K::Subject(s) => self.str("SUBJECT ").astring(s),
            K::Text(s) => self.str("TEXT ").astring(s),
            K::To(s) => self.str("TO ").astring(s),
            K::Before(d) => self.str("BEFORE ").date(*d),
            K::On(d) => self.str("ON ").date(*d),
            K::Since(d) => self.str("SINCE ").date(*d),
            K::SentBefore(d) => self.str("SENTBEFORE ").date(*d),
            K::SentOn(d) => self.str("SENTON ").date(*d),
            K::SentSince(d) => self.str("SENTSINCE ").date(*d),
            K::Header(name, value) => self.str("HEADER ").astring(name).sp().astring(value),
            K::Keyword(k) => self.str("KEYWORD ").str(k.as_str()),
            K::Unkeyword(k) => self.str("UNKEYWORD ").str(k.as_str()),
            K::Larger(n) => self.str("LARGER ").display(n),
            K::Smaller(n) => self.str("SMALLER ").display(n),
            K::Older(n) => self.str("OLDER ").display(n),
            K::Younger(n) => self.str("YOUNGER ").display(n),
            K::Uid(set) => self.str("UID ").sequence_set(set),
            K::SequenceSet(set) => self.sequence_set(set),
            K::Not(key) => self.str("NOT ").search_key(key),
            K::Or(a, b) => self.str("OR ").search_key(a).sp().search_key(b),
            K::And(keys) => self.list(keys, |w, k| {
                w.search_key(k);
            }),
            K::ModSeq { entry, modseq } => {
                self.str("MODSEQ ");
                if let Some((name, kind)) = entry {
                    self.string(name).sp().str(kind.name()).sp();
                }
                self.display(modseq)
            }
        }
    }

    fn fetch_attrs(&mut self, attrs: &FetchAttrs<'_>) -> &mut Self {
        match attrs {
            FetchAttrs::All => self.str("ALL"),
            FetchAttrs::Fast => self.str("FAST"),
            FetchAttrs::Full => self.str("FULL"),
            FetchAttrs::List(list) => match list.as_slice() {
                [single] => self.fetch_attr(single),
                list => self.list(list, |w, a| {
                    w.fetch_attr(a);
                }),
            },
        }
    }

    fn fetch_attr(&mut self, attr: &FetchAttr<'_>) -> &mut Self {
        use FetchAttr as A;
        match attr {
            A::Envelope => self.str("ENVELOPE"),
            A::Flags => self.str("FLAGS"),
            A::InternalDate => self.str("INTERNALDATE"),
            A::Rfc822 => self.str("RFC822"),
            A::Rfc822Header => self.str("RFC822.HEADER"),
            A::Rfc822Size => self.str("RFC822.SIZE"),
            A::Rfc822Text => self.str("RFC822.TEXT"),
            A::Body => self.str("BODY"),
            A::BodyStructure => self.str("BODYSTRUCTURE"),
            A::Uid => self.str("UID"),
            A::ModSeq => self.str("MODSEQ"),
            A::BodySection {
                peek,
                section,
                partial,
            } => {
                self.str(if *peek { "BODY.PEEK" } else { "BODY" });
                self.section(section.as_ref()).partial(*partial)
            }
            A::Binary {
                peek,
                part,
                partial,
            } => {
                self.str(if *peek { "BINARY.PEEK" } else { "BINARY" });
                self.binary_section(part).partial(*partial)
            }
            A::BinarySize { part } => self.str("BINARY.SIZE").binary_section(part),
        }
    }

    fn partial(&mut self, partial: Option<Partial>) -> &mut Self {
        match partial {
            Some(p) => self.display(format_args!("<{}.{}>", p.offset, p.length)),
            None => self,
        }
    }

    fn fetch_modifiers(&mut self, modifiers: &FetchModifiers) -> &mut Self {
        match (modifiers.changed_since, modifiers.vanished) {
            (None, false) => self,
            (Some(n), false) => self.str(" (CHANGEDSINCE ").display(n).str(")"),
            (None, true) => self.str(" (VANISHED)"),
            (Some(n), true) => self.str(" (CHANGEDSINCE ").display(n).str(" VANISHED)"),
        }
    }
}
