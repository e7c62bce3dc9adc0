//! What a FETCH asks for (RFC 9051 6.4.5, RFC 3516 BINARY, RFC 7162
//! CONDSTORE/QRESYNC) and the body section addresses shared with responses.

use std::borrow::Cow;
use std::num::{NonZeroU32, NonZeroU64};

use crate::types::core::owned;

/// The data items of a FETCH: a macro or an explicit list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FetchAttrs<'a> {
    /// `ALL`: `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)`.
    All,
    /// `FAST`: `(FLAGS INTERNALDATE RFC822.SIZE)`.
    Fast,
    /// `FULL`: `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY)`.
    Full,
    /// One item or a parenthesised list (never empty).
    List(Vec<FetchAttr<'a>>),
}

impl<'a> FetchAttrs<'a> {
    /// Copies the items so they can outlive their input.
    pub fn into_owned(self) -> FetchAttrs<'static> {
        match self {
            Self::All => FetchAttrs::All,
            Self::Fast => FetchAttrs::Fast,
            Self::Full => FetchAttrs::Full,
            Self::List(list) => {
                FetchAttrs::List(list.into_iter().map(FetchAttr::into_owned).collect())
            }
        }
    }

    /// The items a macro stands for, or the list itself.
    pub fn expand(&self) -> Cow<'_, [FetchAttr<'a>]> {
        use FetchAttr::{Body, Envelope, Flags, InternalDate, Rfc822Size};
        match self {
            Self::All => Cow::Owned(vec![Flags, InternalDate, Rfc822Size, Envelope]),
            Self::Fast => Cow::Owned(vec![Flags, InternalDate, Rfc822Size]),
            Self::Full => Cow::Owned(vec![Flags, InternalDate, Rfc822Size, Envelope, Body]),
            Self::List(list) => Cow::Borrowed(list),
        }
    }
}

/// One FETCH data item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FetchAttr<'a> {
    /// `ENVELOPE`.
    Envelope,
    /// `FLAGS`.
    Flags,
    /// `INTERNALDATE`.
    InternalDate,
    /// `RFC822` (rev1): the whole message; sets `\Seen`.
    Rfc822,
    /// `RFC822.HEADER` (rev1).
    Rfc822Header,
    /// `RFC822.SIZE`.
    Rfc822Size,
    /// `RFC822.TEXT` (rev1); sets `\Seen`.
    Rfc822Text,
    /// `BODY`: the structure without extension data.
    Body,
    /// `BODYSTRUCTURE`.
    BodyStructure,
    /// `UID`.
    Uid,
    /// `MODSEQ` (RFC 7162).
    ModSeq,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`.
    BodySection {
        /// `.PEEK`: do not set `\Seen`.
        peek: bool,
        /// `None` for the whole message (`BODY[]`).
        section: Option<Section<'a>>,
        /// `<offset.length>`.
        partial: Option<Partial>,
    },
    /// `BINARY[part]<partial>` or `BINARY.PEEK[...]` (RFC 3516).
    Binary {
        /// `.PEEK`.
        peek: bool,
        /// Part number path; empty for the whole message.
        part: Vec<NonZeroU32>,
        /// `<offset.length>`.
        partial: Option<Partial>,
    },
    /// `BINARY.SIZE[part]` (RFC 3516).
    BinarySize {
        /// Part number path; empty for the whole message.
        part: Vec<NonZeroU32>,
    },
}

impl FetchAttr<'_> {
    /// Copies the item so it can outlive its input.
    pub fn into_owned(self) -> FetchAttr<'static> {
        use FetchAttr as A;
        match self {
            A::Envelope => A::Envelope,
            A::Flags => A::Flags,
            A::InternalDate => A::InternalDate,
            A::Rfc822 => A::Rfc822,
            A::Rfc822Header => A::Rfc822Header,
            A::Rfc822Size => A::Rfc822Size,
            A::Rfc822Text => A::Rfc822Text,
            A::Body => A::Body,
            A::BodyStructure => A::BodyStructure,
            A::Uid => A::Uid,
            A::ModSeq => A::ModSeq,
            A::BodySection {
                peek,
                section,
                partial,
            } => A::BodySection {
                peek,
                section: section.map(Section::into_owned),
                partial,
            },
            A::Binary {
                peek,
                part,
                partial,
            } => A::Binary {
                peek,
                part,
                partial,
            },
            A::BinarySize { part } => A::BinarySize { part },
        }
    }
}

/// `<offset.length>` of a partial fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Partial {
    /// First octet wanted.
    pub offset: u64,
    /// Most octets wanted.
    pub length: NonZeroU64,
}

/// A section of a message (RFC 9051 6.4.5): a MIME part path and what of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Section<'a> {
    /// `1.2`: the body of a part.
    Part(Part),
    /// `[part.]HEADER`.
    Header(Option<Part>),
    /// `[part.]HEADER.FIELDS (names)`; the list is never empty.
    HeaderFields(Option<Part>, Vec<Cow<'a, [u8]>>),
    /// `[part.]HEADER.FIELDS.NOT (names)`; the list is never empty.
    HeaderFieldsNot(Option<Part>, Vec<Cow<'a, [u8]>>),
    /// `[part.]TEXT`.
    Text(Option<Part>),
    /// `part.MIME`: the part's MIME header.
    Mime(Part),
}

impl Section<'_> {
    /// Copies the section so it can outlive its input.
    pub fn into_owned(self) -> Section<'static> {
        let names = |names: Vec<Cow<'_, [u8]>>| names.into_iter().map(owned).collect();
        match self {
            Self::Part(part) => Section::Part(part),
            Self::Header(part) => Section::Header(part),
            Self::HeaderFields(part, list) => Section::HeaderFields(part, names(list)),
            Self::HeaderFieldsNot(part, list) => Section::HeaderFieldsNot(part, names(list)),
            Self::Text(part) => Section::Text(part),
            Self::Mime(part) => Section::Mime(part),
        }
    }
}

/// A non-empty MIME part path such as `1.2.3`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Part(Vec<NonZeroU32>);

impl Part {
    /// `None` for an empty path.
    pub fn new(path: Vec<NonZeroU32>) -> Option<Self> {
        (!path.is_empty()).then_some(Self(path))
    }

    /// The part numbers, outermost first.
    pub fn as_slice(&self) -> &[NonZeroU32] {
        &self.0
    }
}

/// FETCH modifiers (RFC 4466 syntax, RFC 7162 values).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FetchModifiers {
    /// `CHANGEDSINCE modseq`: only messages changed after it.
    pub changed_since: Option<NonZeroU64>,
    /// `VANISHED` (QRESYNC, UID FETCH only): also report expunged UIDs.
    pub vanished: bool,
}
