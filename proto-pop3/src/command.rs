//! POP3 commands (RFC 1939, RFC 2449 `CAPA`, RFC 5034 `AUTH`, RFC 2595 `STLS`):
//! parsing of one command line and encoding back to the wire.
//!
//! Keywords are case-insensitive; arguments may be separated by several
//! blanks. `PASS` is the exception: its argument is the rest of the line,
//! spaces included (RFC 1939 7), since passwords contain spaces.

use std::io::Write as _;

use crate::ParseError;

/// One parsed command line. Strings borrow from the line.
///
/// Message numbers are 1-based as on the wire. A number too big for a `u64`
/// saturates: it names no message either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// `CAPA` (RFC 2449 5).
    Capa,
    /// `USER name`.
    User(&'a str),
    /// `PASS string`.
    Pass(&'a str),
    /// `AUTH` without arguments: list the SASL mechanisms.
    AuthList,
    /// `AUTH mechanism [initial-response]` (RFC 5034 4).
    Auth {
        /// SASL mechanism name, as sent.
        mechanism: &'a str,
        /// Base64 initial response; `"="` stands for an empty one.
        initial: Option<&'a str>,
    },
    /// `STLS` (RFC 2595 4).
    Stls,
    /// `QUIT`.
    Quit,
    /// `STAT`.
    Stat,
    /// `LIST [msg]`.
    List(Option<u64>),
    /// `RETR msg`.
    Retr(u64),
    /// `DELE msg`.
    Dele(u64),
    /// `NOOP`.
    Noop,
    /// `RSET`.
    Rset,
    /// `TOP msg n`: the header and the first `lines` lines of the body.
    Top {
        /// Message number.
        msg: u64,
        /// Body lines wanted.
        lines: u64,
    },
    /// `UIDL [msg]`.
    Uidl(Option<u64>),
}

/// Parses one command line, given without its line ending.
pub fn parse_command(line: &[u8]) -> Result<Command<'_>, ParseError> {
    let mut parts = line.splitn(2, |&b| is_blank(b));
    let keyword = parts.next().unwrap_or_default();
    let rest = parts.next();
    // Keywords have three or four letters: upper-case into a stack buffer.
    let mut buffer = [0u8; 4];
    let upper = buffer
        .get_mut(..keyword.len())
        .ok_or(ParseError::UnknownCommand)?;
    upper.copy_from_slice(keyword);
    upper.make_ascii_uppercase();
    if upper == b"PASS" {
        return password(rest.unwrap_or_default()).map(Command::Pass);
    }
    let mut args = rest
        .unwrap_or_default()
        .split(|&b| is_blank(b))
        .filter(|arg| !arg.is_empty());
    let command = match &*upper {
        b"CAPA" => Command::Capa,
        b"USER" => Command::User(user(args.next())?),
        b"AUTH" => match args.next() {
            None => Command::AuthList,
            Some(mechanism) => Command::Auth {
                mechanism: mechanism_name(mechanism)?,
                initial: args.next().map(initial_response).transpose()?,
            },
        },
        b"STLS" => Command::Stls,
        b"QUIT" => Command::Quit,
        b"STAT" => Command::Stat,
        b"LIST" => Command::List(args.next().map(number).transpose()?),
        b"RETR" => Command::Retr(required(args.next())?),
        b"DELE" => Command::Dele(required(args.next())?),
        b"NOOP" => Command::Noop,
        b"RSET" => Command::Rset,
        b"TOP" => Command::Top {
            msg: required(args.next())?,
            lines: required(args.next())?,
        },
        b"UIDL" => Command::Uidl(args.next().map(number).transpose()?),
        _ => return Err(ParseError::UnknownCommand),
    };
    match args.next() {
        None => Ok(command),
        Some(_) => Err(ParseError::Syntax),
    }
}

impl Command<'_> {
    /// Appends the command line, with CRLF, as a client sends it.
    pub fn encode(&self, out: &mut Vec<u8>) {
        // Writing to a `Vec` cannot fail.
        let _ = match self {
            Self::Capa => write!(out, "CAPA"),
            Self::User(name) => write!(out, "USER {name}"),
            Self::Pass(password) => write!(out, "PASS {password}"),
            Self::AuthList => write!(out, "AUTH"),
            Self::Auth {
                mechanism,
                initial: None,
            } => write!(out, "AUTH {mechanism}"),
            Self::Auth {
                mechanism,
                initial: Some(initial),
            } => write!(out, "AUTH {mechanism} {initial}"),
            Self::Stls => write!(out, "STLS"),
            Self::Quit => write!(out, "QUIT"),
            Self::Stat => write!(out, "STAT"),
            Self::List(None) => write!(out, "LIST"),
            Self::List(Some(msg)) => write!(out, "LIST {msg}"),
            Self::Retr(msg) => write!(out, "RETR {msg}"),
            Self::Dele(msg) => write!(out, "DELE {msg}"),
            Self::Noop => write!(out, "NOOP"),
            Self::Rset => write!(out, "RSET"),
            Self::Top { msg, lines } => write!(out, "TOP {msg} {lines}"),
            Self::Uidl(None) => write!(out, "UIDL"),
            Self::Uidl(Some(msg)) => write!(out, "UIDL {msg}"),
        };
        out.extend_from_slice(b"\r\n");
    }
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// A message number or line count: decimal digits, saturating.
fn number(arg: &[u8]) -> Result<u64, ParseError> {
    if arg.is_empty() {
        return Err(ParseError::Syntax);
    }
    arg.iter().try_fold(0u64, |n, &b| {
        let digit = char::from(b).to_digit(10).ok_or(ParseError::Syntax)?;
        Ok(n.saturating_mul(10).saturating_add(u64::from(digit)))
    })
}

fn required(arg: Option<&[u8]>) -> Result<u64, ParseError> {
    number(arg.ok_or(ParseError::Syntax)?)
}

/// A user name: UTF-8 without blanks or control characters.
fn user(arg: Option<&[u8]>) -> Result<&str, ParseError> {
    let arg = arg.ok_or(ParseError::Syntax)?;
    if arg.iter().any(|&b| b.is_ascii_control()) {
        return Err(ParseError::Syntax);
    }
    std::str::from_utf8(arg).map_err(|_| ParseError::Syntax)
}

/// The `PASS` argument: the whole rest of the line, UTF-8 without control
/// characters, not empty.
fn password(rest: &[u8]) -> Result<&str, ParseError> {
    if rest.is_empty() || rest.iter().any(|&b| b.is_ascii_control()) {
        return Err(ParseError::Syntax);
    }
    std::str::from_utf8(rest).map_err(|_| ParseError::Syntax)
}

/// RFC 4422 3.1: 1 to 20 of upper-case letters, digits, `-` and `_`; lower
/// case is tolerated.
fn mechanism_name(arg: &[u8]) -> Result<&str, ParseError> {
    let valid = arg.len() <= 20
        && arg
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ascii(arg, valid)
}

/// Base64 or `=`; decoding happens later, this only keeps out what could never be.
fn initial_response(arg: &[u8]) -> Result<&str, ParseError> {
    ascii(arg, arg.iter().all(u8::is_ascii_graphic))
}

fn ascii(arg: &[u8], valid: bool) -> Result<&str, ParseError> {
    match std::str::from_utf8(arg) {
        Ok(text) if valid => Ok(text),
        _ => Err(ParseError::Syntax),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Command<'_>, ParseError> {
        parse_command(line.as_bytes())
    }

    #[test]
    fn keywords_in_any_case() {
        assert_eq!(parse("capa"), Ok(Command::Capa));
        assert_eq!(parse("Stat"), Ok(Command::Stat));
        assert_eq!(parse("NOOP"), Ok(Command::Noop));
        assert_eq!(parse("rset "), Ok(Command::Rset));
        assert_eq!(parse("QUIT"), Ok(Command::Quit));
        assert_eq!(parse("stls"), Ok(Command::Stls));
        assert_eq!(parse("AUTH"), Ok(Command::AuthList));
    }

    #[test]
    fn message_numbers() {
        assert_eq!(parse("LIST"), Ok(Command::List(None)));
        assert_eq!(parse("list  2 "), Ok(Command::List(Some(2))));
        assert_eq!(parse("RETR 1"), Ok(Command::Retr(1)));
        assert_eq!(parse("DELE\t10"), Ok(Command::Dele(10)));
        assert_eq!(parse("UIDL 3"), Ok(Command::Uidl(Some(3))));
        assert_eq!(parse("TOP 1 0"), Ok(Command::Top { msg: 1, lines: 0 }));
        assert_eq!(
            parse("RETR 99999999999999999999999"),
            Ok(Command::Retr(u64::MAX))
        );
    }

    #[test]
    fn credentials() {
        assert_eq!(
            parse("USER alice@example.org"),
            Ok(Command::User("alice@example.org"))
        );
        assert_eq!(parse("PASS  two words "), Ok(Command::Pass(" two words ")));
        assert_eq!(
            parse("auth plain AGEAYg=="),
            Ok(Command::Auth {
                mechanism: "plain",
                initial: Some("AGEAYg==")
            })
        );
    }

    #[test]
    fn error_classes() {
        assert_eq!(parse(""), Err(ParseError::UnknownCommand));
        assert_eq!(parse("APOP a b"), Err(ParseError::UnknownCommand));
        assert_eq!(parse("STATS"), Err(ParseError::UnknownCommand));
        assert_eq!(parse("TOPS 1 1"), Err(ParseError::UnknownCommand));
        assert_eq!(parse("TOP"), Err(ParseError::Syntax));
        assert_eq!(parse("RETR"), Err(ParseError::Syntax));
        assert_eq!(parse("RETR x"), Err(ParseError::Syntax));
        assert_eq!(parse("RETR -1"), Err(ParseError::Syntax));
        assert_eq!(parse("DELE 1 2"), Err(ParseError::Syntax));
        assert_eq!(parse("TOP 1"), Err(ParseError::Syntax));
        assert_eq!(parse("STAT now"), Err(ParseError::Syntax));
        assert_eq!(parse("USER"), Err(ParseError::Syntax));
        assert_eq!(parse("USER a b"), Err(ParseError::Syntax));
        assert_eq!(parse("PASS"), Err(ParseError::Syntax));
        assert_eq!(parse("PASS a\u{7f}"), Err(ParseError::Syntax));
        assert_eq!(parse("AUTH PLAIN a b"), Err(ParseError::Syntax));
        assert_eq!(parse("AUTH PL@IN"), Err(ParseError::Syntax));
        assert_eq!(parse_command(b"USER \xff"), Err(ParseError::Syntax));
    }

    #[test]
    fn encodes() {
        let mut out = Vec::new();
        Command::Top { msg: 2, lines: 5 }.encode(&mut out);
        Command::Uidl(None).encode(&mut out);
        Command::Pass("a b").encode(&mut out);
        assert_eq!(out, b"TOP 2 5\r\nUIDL\r\nPASS a b\r\n");
    }
}
