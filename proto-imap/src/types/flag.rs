//! Message flags (RFC 9051 2.3.2) and the mailbox attributes of LIST
//! (RFC 9051 7.3.1, RFC 5258, RFC 6154).

use crate::types::core::{Atom, keywords};

/// A flag a client may store or search for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Flag<'a> {
    /// `\Seen`.
    Seen,
    /// `\Answered`.
    Answered,
    /// `\Flagged`.
    Flagged,
    /// `\Deleted`.
    Deleted,
    /// `\Draft`.
    Draft,
    /// A keyword such as `$Forwarded` or `$Junk`.
    Keyword(Atom<'a>),
    /// Another `\`-flag (`flag-extension`), without the backslash. `\Recent`
    /// lands here when a client tries to store it; the session refuses it.
    Extension(Atom<'a>),
}

impl Flag<'_> {
    /// Copies the flag so it can outlive its input.
    pub fn into_owned(self) -> Flag<'static> {
        match self {
            Self::Seen => Flag::Seen,
            Self::Answered => Flag::Answered,
            Self::Flagged => Flag::Flagged,
            Self::Deleted => Flag::Deleted,
            Self::Draft => Flag::Draft,
            Self::Keyword(atom) => Flag::Keyword(atom.into_owned()),
            Self::Extension(atom) => Flag::Extension(atom.into_owned()),
        }
    }
}

/// A flag in a FETCH response: any flag, or `\Recent` (IMAP4rev1 only).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FlagFetch<'a> {
    /// A storable flag.
    Flag(Flag<'a>),
    /// `\Recent`.
    Recent,
}

/// A flag in `PERMANENTFLAGS`: any flag, or `\*` (new keywords can be made).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FlagPerm<'a> {
    /// A storable flag.
    Flag(Flag<'a>),
    /// `\*`.
    AnyKeyword,
}

/// A mailbox attribute of a LIST response or a special-use of `CREATE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MailboxAttr<'a> {
    /// A well-known attribute.
    Known(KnownAttr),
    /// Any other `\`-attribute, without the backslash.
    Extension(Atom<'a>),
}

impl MailboxAttr<'_> {
    /// Copies the attribute so it can outlive its input.
    pub fn into_owned(self) -> MailboxAttr<'static> {
        match self {
            Self::Known(known) => MailboxAttr::Known(known),
            Self::Extension(atom) => MailboxAttr::Extension(atom.into_owned()),
        }
    }
}

keywords! {
    /// The mailbox attributes and special uses we know by name.
    pub enum KnownAttr {
        /// `\NoInferiors`: no child mailboxes are possible.
        NoInferiors => "NoInferiors",
        /// `\Noselect`: not a selectable mailbox.
        NoSelect => "Noselect",
        /// `\NonExistent` (RFC 5258).
        NonExistent => "NonExistent",
        /// `\Marked`.
        Marked => "Marked",
        /// `\Unmarked`.
        Unmarked => "Unmarked",
        /// `\HasChildren` (RFC 3348).
        HasChildren => "HasChildren",
        /// `\HasNoChildren` (RFC 3348).
        HasNoChildren => "HasNoChildren",
        /// `\Subscribed` (RFC 5258).
        Subscribed => "Subscribed",
        /// `\Remote` (RFC 5258).
        Remote => "Remote",
        /// `\All` special use (RFC 6154).
        All => "All",
        /// `\Archive`.
        Archive => "Archive",
        /// `\Drafts`.
        Drafts => "Drafts",
        /// `\Flagged`.
        Flagged => "Flagged",
        /// `\Junk`.
        Junk => "Junk",
        /// `\Sent`.
        Sent => "Sent",
        /// `\Trash`.
        Trash => "Trash",
    }
}
