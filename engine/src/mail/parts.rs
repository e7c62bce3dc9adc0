//! The table of a message's MIME parts: where each lies in the stored bytes and how its
//! body is encoded, so sections are served without parsing the message again.

use std::num::NonZeroU32;

/// One MIME part and where it lies in the message, so that `BODY[1.2]`, `BODY[1.2.MIME]`,
/// `BINARY[1.2]`... are served from the stored bytes without parsing them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    /// The IMAP part number, e.g. `[2, 1, 3]` for `2.1.3`.
    pub number: Vec<NonZeroU32>,
    /// Offset of the part's MIME header.
    pub header_start: u32,
    /// Offset of the part's body (just after the header's blank line).
    pub body_start: u32,
    /// Offset just past the part's body.
    pub end: u32,
    /// What the body holds.
    pub kind: PartKind,
    /// Content-Transfer-Encoding of the body.
    pub encoding: TransferEncoding,
    /// The `charset` parameter of its Content-Type.
    pub charset: Option<String>,
}

/// What a part's body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    /// Content: text, an attachment, an opaque encapsulated message.
    Leaf,
    /// A multipart; its children are numbered below it.
    Multipart,
    /// A `message/rfc822` (or `message/global`) whose body is a message: `HEADER` and
    /// `TEXT` of this part are the encapsulated message's.
    Message {
        /// Where the encapsulated message's header ends (with its blank line).
        header_end: u32,
    },
}

/// A Content-Transfer-Encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferEncoding {
    /// `7bit` (and the default).
    SevenBit,
    /// `8bit`.
    EightBit,
    /// `binary`.
    Binary,
    /// `base64`.
    Base64,
    /// `quoted-printable`.
    QuotedPrintable,
    /// Anything else, upper-cased; BINARY answers it with `NO [UNKNOWN-CTE]`.
    Other(String),
}

impl TransferEncoding {
    /// Reads a Content-Transfer-Encoding token, case-insensitively.
    pub fn from_token(token: &str) -> Self {
        match token.to_ascii_uppercase().as_str() {
            "7BIT" => Self::SevenBit,
            "8BIT" => Self::EightBit,
            "BINARY" => Self::Binary,
            "BASE64" => Self::Base64,
            "QUOTED-PRINTABLE" => Self::QuotedPrintable,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The token as BODYSTRUCTURE writes it.
    pub fn name(&self) -> String {
        match self {
            Self::SevenBit => "7BIT".into(),
            Self::EightBit => "8BIT".into(),
            Self::Binary => "BINARY".into(),
            Self::Base64 => "BASE64".into(),
            Self::QuotedPrintable => "QUOTED-PRINTABLE".into(),
            Self::Other(token) => token.clone(),
        }
    }
}
