//! SEARCH criteria (RFC 9051 6.4.4, RFC 3501 6.4.4, RFC 7162 CONDSTORE,
//! RFC 5032 WITHIN), ESEARCH return options (RFC 4731, RFC 5182) and the
//! SORT (RFC 5256) and THREAD criteria that reuse them.

use std::borrow::Cow;
use std::num::NonZeroU32;

use crate::types::core::{Atom, keywords, owned};
use crate::types::datetime::Date;
use crate::types::sequence::SequenceSet;

/// One search key. A command's top-level keys, like a parenthesised list,
/// must all match (AND).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SearchKey<'a> {
    /// `ALL`.
    All,
    /// `ANSWERED`.
    Answered,
    /// `BCC string`.
    Bcc(Cow<'a, [u8]>),
    /// `BEFORE date`: internal date earlier than the date.
    Before(Date),
    /// `BODY string`.
    Body(Cow<'a, [u8]>),
    /// `CC string`.
    Cc(Cow<'a, [u8]>),
    /// `DELETED`.
    Deleted,
    /// `DRAFT`.
    Draft,
    /// `FLAGGED`.
    Flagged,
    /// `FROM string`.
    From(Cow<'a, [u8]>),
    /// `HEADER field-name string`.
    Header(Cow<'a, [u8]>, Cow<'a, [u8]>),
    /// `KEYWORD flag-keyword`.
    Keyword(Atom<'a>),
    /// `LARGER n`.
    Larger(u64),
    /// `NEW` (rev1): recent and unseen.
    New,
    /// `NOT key`.
    Not(Box<SearchKey<'a>>),
    /// `OLD` (rev1): not recent.
    Old,
    /// `OLDER seconds` (RFC 5032).
    Older(NonZeroU32),
    /// `ON date`.
    On(Date),
    /// `OR key key`.
    Or(Box<SearchKey<'a>>, Box<SearchKey<'a>>),
    /// `RECENT` (rev1).
    Recent,
    /// `SEEN`.
    Seen,
    /// `SENTBEFORE date`.
    SentBefore(Date),
    /// `SENTON date`.
    SentOn(Date),
    /// `SENTSINCE date`.
    SentSince(Date),
    /// `SINCE date`.
    Since(Date),
    /// `SMALLER n`.
    Smaller(u64),
    /// `SUBJECT string`.
    Subject(Cow<'a, [u8]>),
    /// `TEXT string`.
    Text(Cow<'a, [u8]>),
    /// `TO string`.
    To(Cow<'a, [u8]>),
    /// `UID sequence-set`.
    Uid(SequenceSet),
    /// `UNANSWERED`.
    Unanswered,
    /// `UNDELETED`.
    Undeleted,
    /// `UNDRAFT`.
    Undraft,
    /// `UNFLAGGED`.
    Unflagged,
    /// `UNKEYWORD flag-keyword`.
    Unkeyword(Atom<'a>),
    /// `UNSEEN`.
    Unseen,
    /// `YOUNGER seconds` (RFC 5032).
    Younger(NonZeroU32),
    /// `MODSEQ [entry-name entry-type] mod-sequence-valzer` (RFC 7162).
    ModSeq {
        /// Metadata item to compare (`"/flags/\\seen" priv`); the session may
        /// ignore it and compare the message's mod-sequence.
        entry: Option<(Cow<'a, [u8]>, EntryType)>,
        /// Mod-sequence to compare with.
        modseq: u64,
    },
    /// A message sequence set, including `$`.
    SequenceSet(SequenceSet),
    /// A parenthesised list: all keys must match.
    And(Vec<SearchKey<'a>>),
}

impl SearchKey<'_> {
    /// Copies the key so it can outlive its input.
    pub fn into_owned(self) -> SearchKey<'static> {
        use SearchKey as K;
        match self {
            K::All => K::All,
            K::Answered => K::Answered,
            K::Bcc(s) => K::Bcc(owned(s)),
            K::Before(d) => K::Before(d),
            K::Body(s) => K::Body(owned(s)),
            K::Cc(s) => K::Cc(owned(s)),
            K::Deleted => K::Deleted,
            K::Draft => K::Draft,
            K::Flagged => K::Flagged,
            K::From(s) => K::From(owned(s)),
            K::Header(name, value) => K::Header(owned(name), owned(value)),
            K::Keyword(atom) => K::Keyword(atom.into_owned()),
            K::Larger(n) => K::Larger(n),
            K::New => K::New,
            K::Not(key) => K::Not(Box::new(key.into_owned())),
            K::Old => K::Old,
            K::Older(n) => K::Older(n),
            K::On(d) => K::On(d),
            K::Or(a, b) => K::Or(Box::new(a.into_owned()), Box::new(b.into_owned())),
            K::Recent => K::Recent,
            K::Seen => K::Seen,
            K::SentBefore(d) => K::SentBefore(d),
            K::SentOn(d) => K::SentOn(d),
            K::SentSince(d) => K::SentSince(d),
            K::Since(d) => K::Since(d),
            K::Smaller(n) => K::Smaller(n),
            K::Subject(s) => K::Subject(owned(s)),
            K::Text(s) => K::Text(owned(s)),
            K::To(s) => K::To(owned(s)),
            K::Uid(set) => K::Uid(set),
            K::Unanswered => K::Unanswered,
            K::Undeleted => K::Undeleted,
            K::Undraft => K::Undraft,
            K::Unflagged => K::Unflagged,
            K::Unkeyword(atom) => K::Unkeyword(atom.into_owned()),
            K::Unseen => K::Unseen,
            K::Younger(n) => K::Younger(n),
            K::ModSeq { entry, modseq } => K::ModSeq {
                entry: entry.map(|(name, kind)| (owned(name), kind)),
                modseq,
            },
            K::SequenceSet(set) => K::SequenceSet(set),
            K::And(keys) => K::And(keys.into_iter().map(SearchKey::into_owned).collect()),
        }
    }
}

keywords! {
    /// `entry-type-req` of a MODSEQ search key (RFC 7162).
    pub enum EntryType {
        /// `priv`: the user's private flags.
        Private => "priv",
        /// `shared`: shared flags.
        Shared => "shared",
        /// `all`: both.
        All => "all",
    }
}

keywords! {
    /// A `RETURN` option of an extended SEARCH (RFC 4731, RFC 5182).
    pub enum SearchReturn {
        /// `MIN`.
        Min => "MIN",
        /// `MAX`.
        Max => "MAX",
        /// `ALL`.
        All => "ALL",
        /// `COUNT`.
        Count => "COUNT",
        /// `SAVE`: remember the result as `$`.
        Save => "SAVE",
    }
}

keywords! {
    /// A SORT key (RFC 5256, RFC 5957).
    pub enum SortKey {
        /// `ARRIVAL`: internal date.
        Arrival => "ARRIVAL",
        /// `CC`.
        Cc => "CC",
        /// `DATE`: Date header.
        Date => "DATE",
        /// `FROM`.
        From => "FROM",
        /// `SIZE`.
        Size => "SIZE",
        /// `SUBJECT`: base subject.
        Subject => "SUBJECT",
        /// `TO`.
        To => "TO",
        /// `DISPLAYFROM` (RFC 5957).
        DisplayFrom => "DISPLAYFROM",
        /// `DISPLAYTO` (RFC 5957).
        DisplayTo => "DISPLAYTO",
    }
}

/// `[REVERSE] sort-key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SortCriterion {
    /// Descending order.
    pub reverse: bool,
    /// What to sort by.
    pub key: SortKey,
}

keywords! {
    /// A THREAD algorithm (RFC 5256).
    pub enum ThreadAlgorithm {
        /// `ORDEREDSUBJECT`.
        OrderedSubject => "ORDEREDSUBJECT",
        /// `REFERENCES`.
        References => "REFERENCES",
    }
}
