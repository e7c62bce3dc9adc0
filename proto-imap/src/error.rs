//! Why a command was refused, and the response that says so.

use std::borrow::Cow;
use std::fmt;

use crate::types::core::Tag;
use crate::types::response::{Code, PlainCode, Response, Status};

/// A refusal, classified by the response the server owes the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseError {
    /// The line does not start with a valid tag: `* BAD`.
    InvalidTag,
    /// Not a command we know: `BAD`.
    UnknownCommand,
    /// A known command with malformed arguments: `BAD`.
    Syntax {
        /// The command, e.g. `"UID FETCH"`.
        command: &'static str,
        /// What was expected where parsing failed, when known.
        expected: Option<&'static str>,
    },
    /// The command (line and literals) exceeds the command size limit:
    /// `BAD [TOOBIG]`.
    CommandTooLong,
    /// A literal would make the command exceed the size limit, or a
    /// non-synchronizing literal exceeds what LITERAL- allows: `BAD [TOOBIG]`.
    LiteralTooBig,
    /// More literals than the limit in one command: `BAD [LIMIT]`.
    TooManyLiterals,
    /// An APPEND message larger than the APPENDLIMIT: `NO [TOOBIG]`.
    MessageTooBig,
}

impl ParseError {
    /// Status and code of the response to this error.
    fn status_code(self) -> (Status, Option<PlainCode>) {
        match self {
            Self::InvalidTag | Self::UnknownCommand | Self::Syntax { .. } => (Status::Bad, None),
            Self::CommandTooLong | Self::LiteralTooBig => (Status::Bad, Some(PlainCode::TooBig)),
            Self::TooManyLiterals => (Status::Bad, Some(PlainCode::Limit)),
            Self::MessageTooBig => (Status::No, Some(PlainCode::TooBig)),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidTag => f.write_str("Missing or invalid tag"),
            Self::UnknownCommand => f.write_str("Unknown command"),
            Self::Syntax {
                command,
                expected: Some(expected),
            } => write!(f, "Syntax error in {command}: expected {expected}"),
            Self::Syntax {
                command,
                expected: None,
            } => write!(f, "Syntax error in {command} arguments"),
            Self::CommandTooLong => f.write_str("Command too long"),
            Self::LiteralTooBig => f.write_str("Literal too big"),
            Self::TooManyLiterals => f.write_str("Too many literals in one command"),
            Self::MessageTooBig => f.write_str("Message too big"),
        }
    }
}

impl std::error::Error for ParseError {}

/// A refused command: the error, the tag to answer with when it could be
/// read, and whether the connection must be closed afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected<'a> {
    /// The command's tag; `None` when the line did not start with one.
    pub tag: Option<Tag<'a>>,
    /// Why.
    pub error: ParseError,
    /// The rest of the input can no longer be split into commands safely
    /// (an over-long command, or a non-synchronizing literal we will not
    /// read): after the response the session says `* BYE` and closes.
    pub fatal: bool,
}

impl<'a> Rejected<'a> {
    /// The response owed: tagged when the tag is known, else `* BAD`.
    pub fn response(&self) -> Response<'a> {
        let (status, code) = self.error.status_code();
        let code = code.map(Code::Plain);
        let text = Cow::Owned(self.error.to_string());
        match &self.tag {
            Some(tag) => Response::Tagged {
                tag: tag.clone(),
                status,
                code,
                text,
            },
            None => Response::Untagged(crate::types::response::Data::Condition {
                condition: crate::types::response::Condition::Bad,
                code,
                text,
            }),
        }
    }
}
