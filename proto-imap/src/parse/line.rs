//! The client lines that are not commands: SASL responses during
//! AUTHENTICATE and the `DONE` that ends IDLE. The session reads them with
//! [`CommandFramer::next_line`](crate::CommandFramer::next_line) when it is in
//! those states.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::ParseError;

/// A client line during AUTHENTICATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthenticateLine {
    /// A decoded response (empty for an empty line).
    Response(Vec<u8>),
    /// `*`: the client cancels; answer `BAD`.
    Cancel,
}

/// Parses a line (without its line ending) sent during AUTHENTICATE.
pub fn parse_authenticate_line(line: &[u8]) -> Result<AuthenticateLine, ParseError> {
    match line {
        b"*" => Ok(AuthenticateLine::Cancel),
        _ => STANDARD
            .decode(line)
            .map(AuthenticateLine::Response)
            .map_err(|_| ParseError::Syntax {
                command: "AUTHENTICATE",
                expected: Some("base64"),
            }),
    }
}

/// Checks that a line (without its line ending) sent during IDLE is `DONE`.
pub fn parse_idle_done(line: &[u8]) -> Result<(), ParseError> {
    if line.eq_ignore_ascii_case(b"DONE") {
        Ok(())
    } else {
        Err(ParseError::Syntax {
            command: "IDLE",
            expected: Some("DONE"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(parse_authenticate_line(b"*"), Ok(AuthenticateLine::Cancel));
        assert_eq!(
            parse_authenticate_line(b"AGEAYg=="),
            Ok(AuthenticateLine::Response(b"\0a\0b".to_vec()))
        );
        assert_eq!(
            parse_authenticate_line(b""),
            Ok(AuthenticateLine::Response(Vec::new()))
        );
        assert!(parse_authenticate_line(b"a b").is_err());
        assert_eq!(parse_idle_done(b"done"), Ok(()));
        assert!(parse_idle_done(b"DONE x").is_err());
    }
}
