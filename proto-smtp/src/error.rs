//! Why a command line or a reply could not be parsed.

use std::fmt;

use crate::Reply;

/// A parse failure, classified by the reply the server owes the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseError {
    /// Not a command we know: `500 5.5.1`.
    UnknownCommand,
    /// A known command with malformed arguments: `501 5.5.4`.
    Syntax,
    /// `MAIL FROM:` without a well-formed reverse-path: `501 5.1.7`.
    InvalidSender,
    /// `RCPT TO:` without a well-formed forward-path: `501 5.1.3`.
    InvalidRecipient,
    /// A well-formed `MAIL`/`RCPT` parameter we do not implement: `555 5.5.4`.
    UnsupportedParameter,
    /// [`parse_reply`](crate::parse_reply) needs more bytes.
    Incomplete,
}

impl ParseError {
    /// The reply a server sends for this error. [`ParseError::Incomplete`] never
    /// reaches a server (it reads whole lines) and maps to the generic syntax error.
    pub fn reply(self) -> Reply {
        match self {
            Self::UnknownCommand => Reply::new(500, (5, 5, 1), "Error: command not recognized"),
            Self::Syntax | Self::Incomplete => {
                Reply::new(501, (5, 5, 4), "Syntax error in parameters or arguments")
            }
            Self::InvalidSender => Reply::new(501, (5, 1, 7), "Bad sender address syntax"),
            Self::InvalidRecipient => Reply::new(501, (5, 1, 3), "Bad recipient address syntax"),
            Self::UnsupportedParameter => Reply::new(555, (5, 5, 4), "Unsupported parameter"),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Incomplete => f.write_str("incomplete reply"),
            other => f.write_str(&other.reply().text),
        }
    }
}

impl std::error::Error for ParseError {}
