//! Why a command line could not be parsed.

use std::fmt;

/// A parse failure, classified by the response the server owes the client.
/// Both kinds count towards [`ServerConfig::max_errors`](crate::ServerConfig).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseError {
    /// Not a command we know (APOP included): `-ERR Unknown command`.
    UnknownCommand,
    /// A known command with missing, extra or malformed arguments:
    /// `-ERR Syntax error`.
    Syntax,
}

impl ParseError {
    /// The text of the `-ERR` response for this error.
    pub fn text(self) -> &'static str {
        match self {
            Self::UnknownCommand => "Unknown command",
            Self::Syntax => "Syntax error",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

impl std::error::Error for ParseError {}
