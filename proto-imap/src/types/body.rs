//! ENVELOPE and BODYSTRUCTURE values (RFC 9051 7.5.2), which the session
//! builds from the engine's message index and FETCH writes out.
//!
//! Strings are the raw header bytes (still RFC 2047 encoded, as IMAP
//! requires); `None` is written as `NIL`.

use std::borrow::Cow;

/// MIME parameters (`name value` pairs); an empty list is written `NIL`.
pub type BodyParams<'a> = Vec<(Cow<'a, [u8]>, Cow<'a, [u8]>)>;

/// The ENVELOPE of a message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Envelope<'a> {
    /// `Date:`.
    pub date: Option<Cow<'a, [u8]>>,
    /// `Subject:`.
    pub subject: Option<Cow<'a, [u8]>>,
    /// `From:`; an empty list is written `NIL`.
    pub from: Vec<Address<'a>>,
    /// `Sender:` (the From address when absent, says RFC 9051).
    pub sender: Vec<Address<'a>>,
    /// `Reply-To:` (the From address when absent).
    pub reply_to: Vec<Address<'a>>,
    /// `To:`.
    pub to: Vec<Address<'a>>,
    /// `Cc:`.
    pub cc: Vec<Address<'a>>,
    /// `Bcc:`.
    pub bcc: Vec<Address<'a>>,
    /// `In-Reply-To:`.
    pub in_reply_to: Option<Cow<'a, [u8]>>,
    /// `Message-ID:`.
    pub message_id: Option<Cow<'a, [u8]>>,
}

/// One address of an envelope. Groups are written as an address with a
/// `None` host and the group name as mailbox, ending with an all-`None` one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Address<'a> {
    /// Display name.
    pub name: Option<Cow<'a, [u8]>>,
    /// Source route (obsolete, normally `None`).
    pub adl: Option<Cow<'a, [u8]>>,
    /// Local part, or the group name.
    pub mailbox: Option<Cow<'a, [u8]>>,
    /// Domain.
    pub host: Option<Cow<'a, [u8]>>,
}

/// A MIME structure.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BodyStructure<'a> {
    /// A leaf part.
    Single {
        /// Fields every leaf has.
        fields: BodyFields<'a>,
        /// What depends on the media type.
        kind: SingleKind<'a>,
        /// `BODYSTRUCTURE` only: MD5 and the common extension data.
        md5: Option<Cow<'a, [u8]>>,
        /// `BODYSTRUCTURE` only: disposition, language, location.
        extension: BodyExtension<'a>,
    },
    /// A `multipart/*` part.
    Multipart {
        /// The parts, at least one.
        parts: Vec<BodyStructure<'a>>,
        /// Subtype, e.g. `MIXED`.
        subtype: Cow<'a, [u8]>,
        /// `BODYSTRUCTURE` only: Content-Type parameters.
        params: BodyParams<'a>,
        /// `BODYSTRUCTURE` only: disposition, language, location.
        extension: BodyExtension<'a>,
    },
}

/// `body-fields` of a leaf part.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BodyFields<'a> {
    /// Content-Type parameters.
    pub params: BodyParams<'a>,
    /// `Content-ID`.
    pub id: Option<Cow<'a, [u8]>>,
    /// `Content-Description`.
    pub description: Option<Cow<'a, [u8]>>,
    /// `Content-Transfer-Encoding`, e.g. `7BIT`.
    pub encoding: Cow<'a, [u8]>,
    /// Size in octets of the encoded body.
    pub size: u32,
}

/// The media-type dependent part of a leaf.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SingleKind<'a> {
    /// Any type but `text/*` and `message/rfc822`.
    Basic {
        /// Media type, e.g. `APPLICATION`.
        media_type: Cow<'a, [u8]>,
        /// Subtype, e.g. `PDF`.
        subtype: Cow<'a, [u8]>,
    },
    /// `text/subtype` with its line count.
    Text {
        /// Subtype, e.g. `PLAIN`.
        subtype: Cow<'a, [u8]>,
        /// Lines of the encoded body.
        lines: u32,
    },
    /// `message/rfc822` (or `message/global`) with the inner message.
    Message {
        /// Subtype, `RFC822` or `GLOBAL`.
        subtype: Cow<'a, [u8]>,
        /// The inner message's envelope.
        envelope: Box<Envelope<'a>>,
        /// The inner message's structure.
        body: Box<BodyStructure<'a>>,
        /// Lines of the encoded body.
        lines: u32,
    },
}

/// Extension data shared by leaf and multipart parts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct BodyExtension<'a> {
    /// `Content-Disposition`.
    pub disposition: Option<Disposition<'a>>,
    /// `Content-Language` tags; empty is written `NIL`.
    pub language: Vec<Cow<'a, [u8]>>,
    /// `Content-Location`.
    pub location: Option<Cow<'a, [u8]>>,
}

/// A `Content-Disposition`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Disposition<'a> {
    /// Type, e.g. `attachment`.
    pub kind: Cow<'a, [u8]>,
    /// Parameters, e.g. `filename`.
    pub params: BodyParams<'a>,
}
