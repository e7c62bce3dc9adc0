//! Client commands (RFC 3501, RFC 9051 and the extensions we advertise).

use std::borrow::Cow;
use std::num::{NonZeroU32, NonZeroU64};

use crate::types::core::{Atom, Tag, keywords, owned};
use crate::types::datetime::DateTime;
use crate::types::fetch::{FetchAttrs, FetchModifiers};
use crate::types::flag::{Flag, MailboxAttr};
use crate::types::mailbox::Mailbox;
use crate::types::search::{SearchKey, SearchReturn, SortCriterion, ThreadAlgorithm};
use crate::types::sequence::SequenceSet;

/// A tagged command. Strings borrow from the input where they can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command<'a> {
    /// The client's tag, echoed in the completion response.
    pub tag: Tag<'a>,
    /// What the client asks for.
    pub body: CommandBody<'a>,
}

impl Command<'_> {
    /// Copies the command so it can outlive its input (the session hands
    /// commands to the engine this way).
    pub fn into_owned(self) -> Command<'static> {
        Command {
            tag: self.tag.into_owned(),
            body: self.body.into_owned(),
        }
    }
}

/// The command proper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandBody<'a> {
    /// `CAPABILITY`.
    Capability,
    /// `NOOP`.
    Noop,
    /// `LOGOUT`.
    Logout,
    /// `STARTTLS`.
    StartTls,
    /// `AUTHENTICATE mechanism [initial-response]` (RFC 4959 SASL-IR).
    Authenticate {
        /// SASL mechanism name, as sent.
        mechanism: Atom<'a>,
        /// Decoded initial response; `Some` of an empty vector for `=`.
        initial: Option<Vec<u8>>,
    },
    /// `LOGIN user password`.
    Login {
        /// User name.
        username: Cow<'a, [u8]>,
        /// Password.
        password: Cow<'a, [u8]>,
    },
    /// `ENABLE capability...` (RFC 5161).
    Enable(Vec<Atom<'a>>),
    /// `SELECT mailbox [(params)]`.
    Select {
        /// Mailbox to open read-write.
        mailbox: Mailbox<'a>,
        /// CONDSTORE / QRESYNC parameters.
        params: SelectParams,
    },
    /// `EXAMINE mailbox [(params)]`.
    Examine {
        /// Mailbox to open read-only.
        mailbox: Mailbox<'a>,
        /// CONDSTORE / QRESYNC parameters.
        params: SelectParams,
    },
    /// `CREATE mailbox [(USE (attrs))]` (RFC 6154 CREATE-SPECIAL-USE).
    Create {
        /// Mailbox to create.
        mailbox: Mailbox<'a>,
        /// Special uses asked for; empty without a `USE` parameter.
        special_use: Vec<MailboxAttr<'a>>,
    },
    /// `DELETE mailbox`.
    Delete(Mailbox<'a>),
    /// `RENAME from to`.
    Rename {
        /// Existing name.
        from: Mailbox<'a>,
        /// New name.
        to: Mailbox<'a>,
    },
    /// `SUBSCRIBE mailbox`.
    Subscribe(Mailbox<'a>),
    /// `UNSUBSCRIBE mailbox`.
    Unsubscribe(Mailbox<'a>),
    /// `LIST`, basic or extended (RFC 5258, RFC 6154, RFC 5819).
    List(ListCommand<'a>),
    /// `LSUB reference pattern` (rev1).
    Lsub {
        /// Reference name.
        reference: Mailbox<'a>,
        /// Pattern with `%` and `*` wildcards.
        pattern: Cow<'a, [u8]>,
    },
    /// `NAMESPACE` (RFC 2342).
    Namespace,
    /// `STATUS mailbox (items)`.
    Status {
        /// Mailbox asked about.
        mailbox: Mailbox<'a>,
        /// Items wanted (never empty).
        items: Vec<StatusItem>,
    },
    /// `APPEND mailbox message...` with every message literal in memory.
    ///
    /// Only [`parse_command`](crate::parse_command) produces it; the
    /// [`CommandFramer`](crate::CommandFramer) streams APPEND instead.
    Append {
        /// Destination.
        mailbox: Mailbox<'a>,
        /// One message, or several (RFC 3502 MULTIAPPEND).
        messages: Vec<AppendMessage<'a>>,
    },
    /// `IDLE` (RFC 2177); ended by a `DONE` line.
    Idle,
    /// `CHECK` (rev1).
    Check,
    /// `CLOSE`.
    Close,
    /// `UNSELECT` (RFC 3691).
    Unselect,
    /// `EXPUNGE`.
    Expunge,
    /// `UID EXPUNGE set` (RFC 4315).
    UidExpunge(SequenceSet),
    /// `[UID] SEARCH [RETURN (...)] [CHARSET cs] keys`.
    Search {
        /// `UID SEARCH`.
        uid: bool,
        /// `RETURN (...)`: `None` for a classic SEARCH answer, `Some` (maybe
        /// empty, meaning `ALL`) for ESEARCH.
        returns: Option<Vec<SearchReturn>>,
        /// `CHARSET` of the strings.
        charset: Option<Cow<'a, [u8]>>,
        /// Keys, all of which must match (never empty).
        keys: Vec<SearchKey<'a>>,
    },
    /// `[UID] FETCH set items [(modifiers)]`.
    Fetch {
        /// `UID FETCH`.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// Data items.
        attrs: FetchAttrs<'a>,
        /// CHANGEDSINCE / VANISHED.
        modifiers: FetchModifiers,
    },
    /// `[UID] STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] flags`.
    Store {
        /// `UID STORE`.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// `UNCHANGEDSINCE` (RFC 7162).
        unchanged_since: Option<u64>,
        /// Replace, add or remove.
        mode: StoreMode,
        /// `.SILENT`: no FETCH responses for the change.
        silent: bool,
        /// The flags.
        flags: Vec<Flag<'a>>,
    },
    /// `[UID] COPY set mailbox`.
    Copy {
        /// `UID COPY`.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// Destination.
        mailbox: Mailbox<'a>,
    },
    /// `[UID] MOVE set mailbox` (RFC 6851).
    Move {
        /// `UID MOVE`.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// Destination.
        mailbox: Mailbox<'a>,
    },
    /// `[UID] SORT (criteria) charset keys` (RFC 5256).
    Sort {
        /// `UID SORT`.
        uid: bool,
        /// Sort order (never empty).
        criteria: Vec<SortCriterion>,
        /// Charset of the search strings.
        charset: Cow<'a, [u8]>,
        /// Search keys (never empty).
        keys: Vec<SearchKey<'a>>,
    },
    /// `[UID] THREAD algorithm charset keys` (RFC 5256).
    Thread {
        /// `UID THREAD`.
        uid: bool,
        /// Threading algorithm.
        algorithm: ThreadAlgorithm,
        /// Charset of the search strings.
        charset: Cow<'a, [u8]>,
        /// Search keys (never empty).
        keys: Vec<SearchKey<'a>>,
    },
    /// `GETQUOTA root` (RFC 9208).
    GetQuota(Cow<'a, [u8]>),
    /// `GETQUOTAROOT mailbox` (RFC 9208).
    GetQuotaRoot(Mailbox<'a>),
    /// `SETQUOTA root (resource limit ...)` (RFC 9208).
    SetQuota {
        /// Quota root.
        root: Cow<'a, [u8]>,
        /// Resource names with their new limits.
        limits: Vec<(Atom<'a>, u64)>,
    },
    /// `ID (field value ...)` or `ID NIL` (RFC 2971).
    Id(Option<IdParams<'a>>),
    /// `COMPRESS mechanism` (RFC 4978).
    Compress(Atom<'a>),
}

impl CommandBody<'_> {
    /// Copies the command so it can outlive its input.
    pub fn into_owned(self) -> CommandBody<'static> {
        use CommandBody as C;
        match self {
            C::Capability => C::Capability,
            C::Noop => C::Noop,
            C::Logout => C::Logout,
            C::StartTls => C::StartTls,
            C::Authenticate { mechanism, initial } => C::Authenticate {
                mechanism: mechanism.into_owned(),
                initial,
            },
            C::Login { username, password } => C::Login {
                username: owned(username),
                password: owned(password),
            },
            C::Enable(caps) => C::Enable(caps.into_iter().map(Atom::into_owned).collect()),
            C::Select { mailbox, params } => C::Select {
                mailbox: mailbox.into_owned(),
                params,
            },
            C::Examine { mailbox, params } => C::Examine {
                mailbox: mailbox.into_owned(),
                params,
            },
            C::Create {
                mailbox,
                special_use,
            } => C::Create {
                mailbox: mailbox.into_owned(),
                special_use: special_use
                    .into_iter()
                    .map(MailboxAttr::into_owned)
                    .collect(),
            },
            C::Delete(mailbox) => C::Delete(mailbox.into_owned()),
            C::Rename { from, to } => C::Rename {
                from: from.into_owned(),
                to: to.into_owned(),
            },
            C::Subscribe(mailbox) => C::Subscribe(mailbox.into_owned()),
            C::Unsubscribe(mailbox) => C::Unsubscribe(mailbox.into_owned()),
            C::List(list) => C::List(list.into_owned()),
            C::Lsub { reference, pattern } => C::Lsub {
                reference: reference.into_owned(),
                pattern: owned(pattern),
            },
            C::Namespace => C::Namespace,
            C::Status { mailbox, items } => C::Status {
                mailbox: mailbox.into_owned(),
                items,
            },
            C::Append { mailbox, messages } => C::Append {
                mailbox: mailbox.into_owned(),
                messages: messages
                    .into_iter()
                    .map(AppendMessage::into_owned)
                    .collect(),
            },
            C::Idle => C::Idle,
            C::Check => C::Check,
            C::Close => C::Close,
            C::Unselect => C::Unselect,
            C::Expunge => C::Expunge,
            C::UidExpunge(set) => C::UidExpunge(set),
            C::Search {
                uid,
                returns,
                charset,
                keys,
            } => C::Search {
                uid,
                returns,
                charset: charset.map(owned),
                keys: owned_keys(keys),
            },
            C::Fetch {
                uid,
                set,
                attrs,
                modifiers,
            } => C::Fetch {
                uid,
                set,
                attrs: attrs.into_owned(),
                modifiers,
            },
            C::Store {
                uid,
                set,
                unchanged_since,
                mode,
                silent,
                flags,
            } => C::Store {
                uid,
                set,
                unchanged_since,
                mode,
                silent,
                flags: owned_flags(flags),
            },
            C::Copy { uid, set, mailbox } => C::Copy {
                uid,
                set,
                mailbox: mailbox.into_owned(),
            },
            C::Move { uid, set, mailbox } => C::Move {
                uid,
                set,
                mailbox: mailbox.into_owned(),
            },
            C::Sort {
                uid,
                criteria,
                charset,
                keys,
            } => C::Sort {
                uid,
                criteria,
                charset: owned(charset),
                keys: owned_keys(keys),
            },
            C::Thread {
                uid,
                algorithm,
                charset,
                keys,
            } => C::Thread {
                uid,
                algorithm,
                charset: owned(charset),
                keys: owned_keys(keys),
            },
            C::GetQuota(root) => C::GetQuota(owned(root)),
            C::GetQuotaRoot(mailbox) => C::GetQuotaRoot(mailbox.into_owned()),
            C::SetQuota { root, limits } => C::SetQuota {
                root: owned(root),
                limits: limits
                    .into_iter()
                    .map(|(name, limit)| (name.into_owned(), limit))
                    .collect(),
            },
            C::Id(params) => C::Id(params.map(owned_id_params)),
            C::Compress(mechanism) => C::Compress(mechanism.into_owned()),
        }
    }
}

fn owned_keys(keys: Vec<SearchKey<'_>>) -> Vec<SearchKey<'static>> {
    keys.into_iter().map(SearchKey::into_owned).collect()
}

/// Copies flags so they can outlive their input.
pub(crate) fn owned_flags(flags: Vec<Flag<'_>>) -> Vec<Flag<'static>> {
    flags.into_iter().map(Flag::into_owned).collect()
}

/// Copies `ID` parameters so they can outlive their input.
fn owned_id_params(params: IdParams<'_>) -> IdParams<'static> {
    params
        .into_iter()
        .map(|(field, value)| (owned(field), value.map(owned)))
        .collect()
}

/// `ID` field-value pairs; a value may be `NIL`.
pub type IdParams<'a> = Vec<(Cow<'a, [u8]>, Option<Cow<'a, [u8]>>)>;

/// SELECT/EXAMINE parameters (RFC 7162).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SelectParams {
    /// `CONDSTORE`.
    pub condstore: bool,
    /// `QRESYNC (...)`.
    pub qresync: Option<QResync>,
}

/// `QRESYNC (uidvalidity modseq [known-uids] [(seqs uids)])` (RFC 7162 3.2.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QResync {
    /// The client's last known UIDVALIDITY.
    pub uid_validity: NonZeroU32,
    /// The client's last known HIGHESTMODSEQ.
    pub modseq: NonZeroU64,
    /// UIDs the client knows about.
    pub known_uids: Option<SequenceSet>,
    /// `(known-sequence-set known-uid-set)`: sequence numbers matched to UIDs.
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// An extended or basic LIST.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListCommand<'a> {
    /// Selection options; empty for a basic LIST.
    pub selection: Vec<ListSelect>,
    /// Reference name.
    pub reference: Mailbox<'a>,
    /// Patterns (never empty; more than one only in extended syntax).
    pub patterns: Vec<Cow<'a, [u8]>>,
    /// Return options; empty without `RETURN`.
    pub returns: Vec<ListReturn>,
}

impl ListCommand<'_> {
    /// Copies the command so it can outlive its input.
    pub fn into_owned(self) -> ListCommand<'static> {
        ListCommand {
            selection: self.selection,
            reference: self.reference.into_owned(),
            patterns: self.patterns.into_iter().map(owned).collect(),
            returns: self.returns,
        }
    }
}

keywords! {
    /// LIST selection options (RFC 5258, RFC 6154).
    pub enum ListSelect {
        /// `SUBSCRIBED`.
        Subscribed => "SUBSCRIBED",
        /// `REMOTE`.
        Remote => "REMOTE",
        /// `RECURSIVEMATCH`.
        RecursiveMatch => "RECURSIVEMATCH",
        /// `SPECIAL-USE`.
        SpecialUse => "SPECIAL-USE",
    }
}

/// A LIST return option.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListReturn {
    /// `SUBSCRIBED`.
    Subscribed,
    /// `CHILDREN`.
    Children,
    /// `SPECIAL-USE`.
    SpecialUse,
    /// `STATUS (items)` (RFC 5819).
    Status(Vec<StatusItem>),
}

keywords! {
    /// A STATUS data item.
    pub enum StatusItem {
        /// `MESSAGES`.
        Messages => "MESSAGES",
        /// `UIDNEXT`.
        UidNext => "UIDNEXT",
        /// `UIDVALIDITY`.
        UidValidity => "UIDVALIDITY",
        /// `UNSEEN`.
        Unseen => "UNSEEN",
        /// `DELETED` (rev2).
        Deleted => "DELETED",
        /// `SIZE` (rev2).
        Size => "SIZE",
        /// `RECENT` (rev1).
        Recent => "RECENT",
        /// `HIGHESTMODSEQ` (RFC 7162).
        HighestModSeq => "HIGHESTMODSEQ",
        /// `APPENDLIMIT` (RFC 7889).
        AppendLimit => "APPENDLIMIT",
    }
}

/// How STORE combines the given flags with the message's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreMode {
    /// `FLAGS`: replace.
    Replace,
    /// `+FLAGS`: add.
    Add,
    /// `-FLAGS`: remove.
    Remove,
}

/// The options of one APPEND message and how its literal is announced.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppendOptions<'a> {
    /// Flags to set.
    pub flags: Vec<Flag<'a>>,
    /// Internal date to set.
    pub date: Option<DateTime>,
}

/// One message of an APPEND parsed whole.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppendMessage<'a> {
    /// Flags and date.
    pub options: AppendOptions<'a>,
    /// `~{n}` literal8 (RFC 3516): the message may contain NUL and binary.
    pub binary: bool,
    /// Sent as `UTF8 (~{n})` (RFC 6855 4): a message that may have UTF-8
    /// header fields (`message/global`). Only valid once the client enabled
    /// `UTF8=ACCEPT`.
    pub utf8: bool,
    /// The message.
    pub data: Cow<'a, [u8]>,
}

impl AppendOptions<'_> {
    /// Copies the options so they can outlive their input.
    pub fn into_owned(self) -> AppendOptions<'static> {
        AppendOptions {
            flags: owned_flags(self.flags),
            date: self.date,
        }
    }
}

impl AppendMessage<'_> {
    /// Copies the message so it can outlive its input.
    pub fn into_owned(self) -> AppendMessage<'static> {
        AppendMessage {
            options: self.options.into_owned(),
            binary: self.binary,
            utf8: self.utf8,
            data: owned(self.data),
        }
    }
}
