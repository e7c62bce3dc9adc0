//! Server responses (RFC 9051 7): completion results, untagged data,
//! continuation requests and response codes.

use std::borrow::Cow;
use std::num::{NonZeroU32, NonZeroU64};

use crate::types::body::{BodyStructure, Envelope};
use crate::types::command::{IdParams, ListSelect, StatusItem};
use crate::types::core::{Atom, Tag, keywords};
use crate::types::datetime::DateTime;
use crate::types::fetch::Section;
use crate::types::flag::{Flag, FlagFetch, FlagPerm, MailboxAttr};
use crate::types::mailbox::Mailbox;
use crate::types::sequence::SequenceSet;

/// One response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response<'a> {
    /// `tag OK|NO|BAD [code] text`: completes a command.
    Tagged {
        /// The command's tag.
        tag: Tag<'a>,
        /// Result.
        status: Status,
        /// Response code.
        code: Option<Code<'a>>,
        /// Human-readable text; should not be empty.
        text: Cow<'a, str>,
    },
    /// `* ...`.
    Untagged(Data<'a>),
    /// `+ ...`: the server waits for more client data.
    Continue(Continue<'a>),
}

/// The result of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `OK`.
    Ok,
    /// `NO`: the command failed.
    No,
    /// `BAD`: the command was not understood or not allowed.
    Bad,
}

/// The state word of an untagged status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Condition {
    /// `* OK`: information, or the greeting.
    Ok,
    /// `* NO`: a warning.
    No,
    /// `* BAD`: a protocol error not tied to a command.
    Bad,
    /// `* PREAUTH`: greeting of a pre-authenticated connection.
    PreAuth,
    /// `* BYE`: the server closes the connection.
    Bye,
}

/// A continuation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Continue<'a> {
    /// `+ [code] text`: go on (literal, IDLE).
    Text {
        /// Response code.
        code: Option<Code<'a>>,
        /// Text, may be empty.
        text: Cow<'a, str>,
    },
    /// `+ base64`: a SASL challenge, given decoded.
    Base64(Cow<'a, [u8]>),
}

/// Untagged data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data<'a> {
    /// `* OK|NO|BAD|PREAUTH|BYE [code] text`.
    Condition {
        /// State word.
        condition: Condition,
        /// Response code.
        code: Option<Code<'a>>,
        /// Human-readable text.
        text: Cow<'a, str>,
    },
    /// `* CAPABILITY ...`.
    Capability(Vec<Atom<'a>>),
    /// `* LIST (attrs) delim name [ext]`.
    List(ListItem<'a>),
    /// `* LSUB (attrs) delim name` (rev1).
    Lsub(ListItem<'a>),
    /// `* STATUS mailbox (item value ...)`.
    Status {
        /// Mailbox.
        mailbox: Mailbox<'a>,
        /// Item values.
        items: Vec<(StatusItem, u64)>,
    },
    /// `* SEARCH n... [(MODSEQ m)]` (rev1).
    Search {
        /// Matching numbers.
        ids: Vec<NonZeroU32>,
        /// Highest mod-sequence of the matches (RFC 7162).
        modseq: Option<NonZeroU64>,
    },
    /// `* ESEARCH ...` (RFC 4731, rev2).
    ESearch(ESearch<'a>),
    /// `* SORT n... [(MODSEQ m)]` (RFC 5256).
    Sort {
        /// Numbers in sorted order.
        ids: Vec<NonZeroU32>,
        /// Highest mod-sequence of the matches.
        modseq: Option<NonZeroU64>,
    },
    /// `* THREAD (...)...` (RFC 5256).
    Thread(Vec<Thread>),
    /// `* FLAGS (flags)`.
    Flags(Vec<Flag<'a>>),
    /// `* n EXISTS`.
    Exists(u32),
    /// `* n RECENT` (rev1).
    Recent(u32),
    /// `* n EXPUNGE`.
    Expunge(NonZeroU32),
    /// `* VANISHED [(EARLIER)] uids` (RFC 7162).
    Vanished {
        /// `(EARLIER)`: answer to a FETCH or SELECT, not a new expunge.
        earlier: bool,
        /// Expunged UIDs.
        uids: SequenceSet,
    },
    /// `* n FETCH (items)`.
    Fetch {
        /// Message sequence number.
        seq: NonZeroU32,
        /// Items; a [`FetchItem::BodySectionHeader`] may only come last.
        items: Vec<FetchItem<'a>>,
    },
    /// `* ENABLED caps` (RFC 5161).
    Enabled(Vec<Atom<'a>>),
    /// `* NAMESPACE personal other shared` (RFC 2342).
    Namespace {
        /// Personal namespaces; empty is `NIL`.
        personal: Vec<NamespaceDesc<'a>>,
        /// Other users' namespaces.
        other: Vec<NamespaceDesc<'a>>,
        /// Shared namespaces.
        shared: Vec<NamespaceDesc<'a>>,
    },
    /// `* QUOTA root (resource usage limit ...)` (RFC 9208).
    Quota {
        /// Quota root.
        root: Cow<'a, [u8]>,
        /// Resources.
        resources: Vec<QuotaResource<'a>>,
    },
    /// `* QUOTAROOT mailbox root...` (RFC 9208).
    QuotaRoot {
        /// Mailbox asked about.
        mailbox: Mailbox<'a>,
        /// Its quota roots.
        roots: Vec<Cow<'a, [u8]>>,
    },
    /// `* ID (...)` or `* ID NIL` (RFC 2971).
    Id(Option<IdParams<'a>>),
}

/// A LIST or LSUB entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem<'a> {
    /// Attributes.
    pub attributes: Vec<MailboxAttr<'a>>,
    /// Hierarchy delimiter; `None` for a flat namespace.
    pub delimiter: Option<char>,
    /// Name.
    pub mailbox: Mailbox<'a>,
    /// Extended data (RFC 5258).
    pub extended: Vec<ListExtended<'a>>,
}

/// An extended data item of a LIST response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListExtended<'a> {
    /// `("CHILDINFO" (...))`: why a non-matching parent is listed.
    ChildInfo(Vec<ListSelect>),
    /// `("OLDNAME" (name))`: the name before a RENAME (rev2).
    OldName(Mailbox<'a>),
}

/// The result of an extended SEARCH.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ESearch<'a> {
    /// `(TAG "tag")`: the command this answers.
    pub tag: Option<Tag<'a>>,
    /// `UID`: the numbers are UIDs.
    pub uid: bool,
    /// `MIN n`.
    pub min: Option<NonZeroU32>,
    /// `MAX n`.
    pub max: Option<NonZeroU32>,
    /// `ALL set`.
    pub all: Option<SequenceSet>,
    /// `COUNT n`.
    pub count: Option<u32>,
    /// `MODSEQ m` (RFC 7162).
    pub modseq: Option<NonZeroU64>,
}

/// A thread: messages in a chain, then the branches below the last one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Thread {
    /// Parent-to-child chain; may be empty for a missing (dummy) parent.
    pub messages: Vec<NonZeroU32>,
    /// Sub-threads below the last message of the chain.
    pub children: Vec<Thread>,
}

/// One namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceDesc<'a> {
    /// Prefix, e.g. `""` or `"Other Users/"`.
    pub prefix: Cow<'a, [u8]>,
    /// Hierarchy delimiter.
    pub delimiter: Option<char>,
}

/// A quota resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaResource<'a> {
    /// Name, e.g. `STORAGE` (in KiB) or `MESSAGE`.
    pub name: Atom<'a>,
    /// Current usage.
    pub usage: u64,
    /// Limit.
    pub limit: u64,
}

/// One item of a FETCH response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchItem<'a> {
    /// An item whose value the caller encoded beforehand, e.g. an ENVELOPE or
    /// BODYSTRUCTURE derived once at delivery and stored: written as `NAME value`.
    Encoded {
        /// The item name, e.g. `ENVELOPE`.
        name: &'static str,
        /// The encoded value, written as it is.
        value: Cow<'a, [u8]>,
    },
    /// `FLAGS (...)`.
    Flags(Vec<FlagFetch<'a>>),
    /// `INTERNALDATE "..."`.
    InternalDate(DateTime),
    /// `RFC822.SIZE n`.
    Rfc822Size(u64),
    /// `UID n`.
    Uid(NonZeroU32),
    /// `MODSEQ (n)` (RFC 7162).
    ModSeq(NonZeroU64),
    /// `ENVELOPE (...)`.
    Envelope(Box<Envelope<'a>>),
    /// `BODY (...)`: the structure without extension data.
    Body(Box<BodyStructure<'a>>),
    /// `BODYSTRUCTURE (...)`.
    BodyStructure(Box<BodyStructure<'a>>),
    /// `BINARY.SIZE[part] n` (RFC 3516).
    BinarySize {
        /// Part path; empty for the whole message.
        part: Vec<NonZeroU32>,
        /// Decoded size.
        size: u64,
    },
    /// Message content held in memory: `BODY[...]<o> data`, `RFC822 data`...
    /// `None` is written `NIL`.
    BodySection {
        /// Which content.
        name: SectionName<'a>,
        /// The bytes.
        data: Option<Cow<'a, [u8]>>,
    },
    /// Message content the caller streams: the encoder writes the item name
    /// and the literal header `{len}` (`~{len}` for BINARY) and stops; the
    /// caller sends exactly `len` octets and then
    /// [`encode_fetch_end`](crate::encode_fetch_end), or
    /// [`encode_fetch_next`](crate::encode_fetch_next) for another item it streams. Must
    /// be the last item.
    BodySectionHeader {
        /// Which content.
        name: SectionName<'a>,
        /// Octets that will follow.
        len: u64,
    },
}

/// The name of a content item in a FETCH response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionName<'a> {
    /// `RFC822`.
    Rfc822,
    /// `RFC822.HEADER`.
    Rfc822Header,
    /// `RFC822.TEXT`.
    Rfc822Text,
    /// `BODY[section]<origin>`.
    Body {
        /// `None` for the whole message.
        section: Option<Section<'a>>,
        /// Start offset of a partial fetch.
        origin: Option<u64>,
    },
    /// `BINARY[part]<origin>` (RFC 3516).
    Binary {
        /// Part path; empty for the whole message.
        part: Vec<NonZeroU32>,
        /// Start offset of a partial fetch.
        origin: Option<u64>,
    },
}

/// A response code (`[...]` after the status word).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code<'a> {
    /// A code without arguments.
    Plain(PlainCode),
    /// `BADCHARSET (charsets)`.
    BadCharset(Vec<Cow<'a, [u8]>>),
    /// `CAPABILITY caps`.
    Capability(Vec<Atom<'a>>),
    /// `PERMANENTFLAGS (flags)`.
    PermanentFlags(Vec<FlagPerm<'a>>),
    /// `UIDNEXT n`.
    UidNext(NonZeroU32),
    /// `UIDVALIDITY n`.
    UidValidity(NonZeroU32),
    /// `UNSEEN n` (rev1).
    Unseen(NonZeroU32),
    /// `APPENDUID uidvalidity uids` (RFC 4315).
    AppendUid {
        /// UIDVALIDITY of the destination.
        uid_validity: NonZeroU32,
        /// UIDs given to the appended messages.
        uids: SequenceSet,
    },
    /// `COPYUID uidvalidity source-uids dest-uids` (RFC 4315).
    CopyUid {
        /// UIDVALIDITY of the destination.
        uid_validity: NonZeroU32,
        /// UIDs copied.
        source: SequenceSet,
        /// Their new UIDs, in the same order.
        destination: SequenceSet,
    },
    /// `HIGHESTMODSEQ n` (RFC 7162).
    HighestModSeq(NonZeroU64),
    /// `MODIFIED set` (RFC 7162): messages UNCHANGEDSINCE refused to store.
    Modified(SequenceSet),
}

keywords! {
    /// Response codes that carry no argument.
    pub enum PlainCode {
        /// `ALERT`: show the text to the user.
        Alert => "ALERT",
        /// `PARSE`: a message could not be parsed.
        Parse => "PARSE",
        /// `READ-ONLY`.
        ReadOnly => "READ-ONLY",
        /// `READ-WRITE`.
        ReadWrite => "READ-WRITE",
        /// `TRYCREATE`: the target mailbox does not exist.
        TryCreate => "TRYCREATE",
        /// `UIDNOTSTICKY` (RFC 4315).
        UidNotSticky => "UIDNOTSTICKY",
        /// `NOMODSEQ` (RFC 7162).
        NoModSeq => "NOMODSEQ",
        /// `CLOSED` (RFC 7162): the previous mailbox was closed.
        Closed => "CLOSED",
        /// `ALREADYEXISTS` (RFC 5530).
        AlreadyExists => "ALREADYEXISTS",
        /// `NONEXISTENT`.
        NonExistent => "NONEXISTENT",
        /// `CANNOT`.
        Cannot => "CANNOT",
        /// `LIMIT`.
        Limit => "LIMIT",
        /// `OVERQUOTA`.
        OverQuota => "OVERQUOTA",
        /// `TOOBIG` (RFC 7888, RFC 7889).
        TooBig => "TOOBIG",
        /// `AUTHENTICATIONFAILED`.
        AuthenticationFailed => "AUTHENTICATIONFAILED",
        /// `AUTHORIZATIONFAILED`.
        AuthorizationFailed => "AUTHORIZATIONFAILED",
        /// `UNAVAILABLE`.
        Unavailable => "UNAVAILABLE",
        /// `SERVERBUG`.
        ServerBug => "SERVERBUG",
        /// `INUSE`.
        InUse => "INUSE",
        /// `EXPUNGEISSUED`.
        ExpungeIssued => "EXPUNGEISSUED",
        /// `CLIENTBUG`.
        ClientBug => "CLIENTBUG",
        /// `NOPERM`.
        NoPerm => "NOPERM",
        /// `CONTACTADMIN`.
        ContactAdmin => "CONTACTADMIN",
        /// `PRIVACYREQUIRED`.
        PrivacyRequired => "PRIVACYREQUIRED",
        /// `EXPIRED`.
        Expired => "EXPIRED",
        /// `CORRUPTION`.
        Corruption => "CORRUPTION",
        /// `HASCHILDREN` (rev2).
        HasChildren => "HASCHILDREN",
        /// `UNKNOWN-CTE` (RFC 3516).
        UnknownCte => "UNKNOWN-CTE",
    }
}
