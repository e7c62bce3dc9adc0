//! Client commands (RFC 5804 §2 and §4): a name, then strings (quoted, or literals of
//! counted octets) and numbers, separated by spaces.

use std::fmt;

use crate::frame::literal_marker;

/// Longest quoted string (RFC 5804 §4: clients send anything longer as a literal).
const MAX_QUOTED: usize = 1024;

/// A parsed command. Script names and scripts are UTF-8 (RFC 5804 §1.6, RFC 5228 §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `AUTHENTICATE mechanism [initial-response]`.
    Authenticate {
        /// The SASL mechanism's name, as sent.
        mechanism: String,
        /// The initial response, base64 as sent.
        initial: Option<String>,
    },
    /// `STARTTLS`.
    StartTls,
    /// `LOGOUT`.
    Logout,
    /// `CAPABILITY`.
    Capability,
    /// `NOOP [tag]`: the tag comes back in the `TAG` response code.
    Noop {
        /// The tag to echo.
        tag: Option<String>,
    },
    /// `HAVESPACE name size`: whether a script of that size could be stored.
    HaveSpace {
        /// The script's name.
        name: String,
        /// Its size in octets.
        size: u64,
    },
    /// `PUTSCRIPT name script`.
    PutScript {
        /// The script's name.
        name: String,
        /// Its text.
        script: String,
    },
    /// `LISTSCRIPTS`.
    ListScripts,
    /// `SETACTIVE name`; an empty name makes none active.
    SetActive {
        /// The script to run from now on, or empty.
        name: String,
    },
    /// `GETSCRIPT name`.
    GetScript {
        /// The script's name.
        name: String,
    },
    /// `DELETESCRIPT name`.
    DeleteScript {
        /// The script's name.
        name: String,
    },
    /// `RENAMESCRIPT old new`.
    RenameScript {
        /// The script's name now.
        from: String,
        /// The name it is to have.
        to: String,
    },
    /// `CHECKSCRIPT script`: whether it is valid, without storing it.
    CheckScript {
        /// Its text.
        script: String,
    },
}

/// Why a command could not be parsed; [`text`](Self::text) words it for a `NO` response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// No command name, or one we do not know.
    Unknown,
    /// An argument is missing.
    Missing,
    /// More arguments than the command takes.
    Extra,
    /// A string that is not one: unterminated, a bad escape, a control character, over
    /// 1,024 octets quoted.
    BadString,
    /// A string that is not UTF-8.
    NotUtf8,
    /// A number that is not one, or too large.
    BadNumber,
}

impl ParseError {
    /// A sentence for the `NO` response.
    pub fn text(self) -> &'static str {
        match self {
            Self::Unknown => "Unknown command",
            Self::Missing => "Missing argument",
            Self::Extra => "Too many arguments",
            Self::BadString => "Invalid string",
            Self::NotUtf8 => "Strings must be UTF-8",
            Self::BadNumber => "Invalid number",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

impl std::error::Error for ParseError {}

/// Parses a whole command, its last line end included (what the framer cut out).
pub fn parse_command(bytes: &[u8]) -> Result<Command, ParseError> {
    let mut cursor = Cursor(bytes);
    let name = cursor.atom();
    let command = match name.to_ascii_uppercase().as_slice() {
        b"AUTHENTICATE" => Command::Authenticate {
            mechanism: cursor.string()?,
            initial: cursor.optional_string()?,
        },
        b"STARTTLS" => Command::StartTls,
        b"LOGOUT" => Command::Logout,
        b"CAPABILITY" => Command::Capability,
        b"NOOP" => Command::Noop {
            tag: cursor.optional_string()?,
        },
        b"HAVESPACE" => Command::HaveSpace {
            name: cursor.string()?,
            size: cursor.number()?,
        },
        b"PUTSCRIPT" => Command::PutScript {
            name: cursor.string()?,
            script: cursor.string()?,
        },
        b"LISTSCRIPTS" => Command::ListScripts,
        b"SETACTIVE" => Command::SetActive {
            name: cursor.string()?,
        },
        b"GETSCRIPT" => Command::GetScript {
            name: cursor.string()?,
        },
        b"DELETESCRIPT" => Command::DeleteScript {
            name: cursor.string()?,
        },
        b"RENAMESCRIPT" => Command::RenameScript {
            from: cursor.string()?,
            to: cursor.string()?,
        },
        b"CHECKSCRIPT" => Command::CheckScript {
            script: cursor.string()?,
        },
        _ => return Err(ParseError::Unknown),
    };
    cursor.end()?;
    Ok(command)
}

/// Parses a client's response in a SASL exchange: one string (RFC 5804 §2.1), its line end
/// included. The base64 is left to the exchange.
pub fn parse_sasl_response(bytes: &[u8]) -> Result<String, ParseError> {
    let mut cursor = Cursor(bytes);
    let response = cursor.value()?;
    cursor.end()?;
    Ok(response)
}

/// What is left of a command to parse.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    /// The command name: the octets up to a space or the line end.
    fn atom(&mut self) -> &[u8] {
        let len = self
            .0
            .iter()
            .position(|&b| matches!(b, b' ' | b'\r' | b'\n'))
            .unwrap_or(self.0.len());
        let (atom, rest) = self.0.split_at(len);
        self.0 = rest;
        atom
    }

    /// Skips the spaces before an argument; whether there was one.
    fn space(&mut self) -> bool {
        let spaces = self.0.iter().take_while(|&&b| b == b' ').count();
        self.0 = self.0.get(spaces..).unwrap_or_default();
        spaces > 0
    }

    /// Whether the line ends here.
    fn at_end(&self) -> bool {
        matches!(self.0, [] | [b'\n'] | [b'\r', b'\n'])
    }

    /// The next argument, a string.
    fn string(&mut self) -> Result<String, ParseError> {
        self.optional_string()?.ok_or(ParseError::Missing)
    }

    /// The next argument, a string, if the line goes on.
    fn optional_string(&mut self) -> Result<Option<String>, ParseError> {
        let spaced = self.space();
        if self.at_end() {
            return Ok(None);
        }
        if !spaced {
            return Err(ParseError::BadString);
        }
        self.value().map(Some)
    }

    /// A string right here: quoted or a literal.
    fn value(&mut self) -> Result<String, ParseError> {
        let octets = match self.0.first() {
            Some(b'"') => self.quoted()?,
            Some(b'{') => self.literal()?,
            _ => return Err(ParseError::BadString),
        };
        String::from_utf8(octets).map_err(|_| ParseError::NotUtf8)
    }

    /// `"…"` with `\"` and `\\` escaped (RFC 5804 §4: QUOTED-SPECIALS only).
    fn quoted(&mut self) -> Result<Vec<u8>, ParseError> {
        let mut text = Vec::new();
        let mut octets = self.0.iter().enumerate().skip(1);
        while let Some((at, &b)) = octets.next() {
            match b {
                b'"' => {
                    self.0 = self.0.get(at.saturating_add(1)..).unwrap_or_default();
                    return Ok(text);
                }
                b'\\' => match octets.next() {
                    Some((_, &escaped @ (b'"' | b'\\'))) => text.push(escaped),
                    _ => return Err(ParseError::BadString),
                },
                0 | b'\r' | b'\n' => return Err(ParseError::BadString),
                _ => text.push(b),
            }
            if text.len() > MAX_QUOTED {
                return Err(ParseError::BadString);
            }
        }
        Err(ParseError::BadString)
    }

    /// `{n+}` CRLF and n octets. The framer has made sure they are all here.
    fn literal(&mut self) -> Result<Vec<u8>, ParseError> {
        let line_end = self
            .0
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(ParseError::BadString)?;
        let marker = self.0.get(..line_end).unwrap_or_default();
        let marker = marker.strip_suffix(b"\r").unwrap_or(marker);
        let count = literal_marker(marker).ok_or(ParseError::BadString)?;
        // The marker must be the whole token: `{` right here, `}` at the line end.
        if marker.iter().rposition(|&b| b == b'{') != Some(0) {
            return Err(ParseError::BadString);
        }
        let rest = self.0.get(line_end.saturating_add(1)..).unwrap_or_default();
        let count = usize::try_from(count).map_err(|_| ParseError::BadString)?;
        let octets = rest.get(..count).ok_or(ParseError::BadString)?;
        self.0 = rest.get(count..).unwrap_or_default();
        Ok(octets.to_vec())
    }

    /// The next argument, a number (RFC 5804 §4: up to 4,294,967,295).
    fn number(&mut self) -> Result<u64, ParseError> {
        if !self.space() || self.at_end() {
            return Err(ParseError::Missing);
        }
        let digits = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        let (number, rest) = self.0.split_at(digits);
        let number = std::str::from_utf8(number)
            .ok()
            .and_then(|n| n.parse::<u32>().ok())
            .ok_or(ParseError::BadNumber)?;
        self.0 = rest;
        Ok(u64::from(number))
    }

    /// Nothing but the line end is left.
    fn end(&mut self) -> Result<(), ParseError> {
        self.space();
        if self.at_end() {
            Ok(())
        } else {
            Err(ParseError::Extra)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Command, ParseError> {
        parse_command(text.as_bytes())
    }

    #[test]
    fn commands_without_arguments() {
        assert_eq!(parse("LISTSCRIPTS\r\n"), Ok(Command::ListScripts));
        assert_eq!(parse("capability\n"), Ok(Command::Capability));
        assert_eq!(parse("StartTls\r\n"), Ok(Command::StartTls));
        assert_eq!(parse("LOGOUT \r\n"), Ok(Command::Logout));
        assert_eq!(parse("NOOP\r\n"), Ok(Command::Noop { tag: None }));
        assert_eq!(parse("LOGOUT x\r\n"), Err(ParseError::Extra));
        assert_eq!(parse("FROB\r\n"), Err(ParseError::Unknown));
        assert_eq!(parse("\r\n"), Err(ParseError::Unknown));
    }

    #[test]
    fn quoted_strings_and_literals() {
        assert_eq!(
            parse("PUTSCRIPT \"my \\\"list\\\\\" {9+}\r\nkeep;\r\n\r\n\r\n"),
            Ok(Command::PutScript {
                name: "my \"list\\".into(),
                script: "keep;\r\n\r\n".into()
            })
        );
        assert_eq!(
            parse("RENAMESCRIPT {1}\r\na \"b\"\r\n"),
            Ok(Command::RenameScript {
                from: "a".into(),
                to: "b".into()
            })
        );
        assert_eq!(
            parse("AUTHENTICATE \"PLAIN\" \"AHUAcA==\"\r\n"),
            Ok(Command::Authenticate {
                mechanism: "PLAIN".into(),
                initial: Some("AHUAcA==".into())
            })
        );
        assert_eq!(
            parse("NOOP \"STARTTLS-SYNC-42\"\r\n"),
            Ok(Command::Noop {
                tag: Some("STARTTLS-SYNC-42".into())
            })
        );
        assert_eq!(
            parse("SETACTIVE \"\"\r\n"),
            Ok(Command::SetActive {
                name: String::new()
            })
        );
    }

    #[test]
    fn bad_strings() {
        assert_eq!(parse("GETSCRIPT\r\n"), Err(ParseError::Missing));
        assert_eq!(parse("GETSCRIPT \"a\r\n"), Err(ParseError::BadString));
        assert_eq!(parse("GETSCRIPT \"a\\b\"\r\n"), Err(ParseError::BadString));
        assert_eq!(parse("GETSCRIPT a\r\n"), Err(ParseError::BadString));
        assert_eq!(parse("GETSCRIPT \"a\"\"b\"\r\n"), Err(ParseError::Extra));
        assert_eq!(parse("GETSCRIPT x{1}\r\na\r\n"), Err(ParseError::BadString));
        assert_eq!(
            parse_command(b"GETSCRIPT \"\xff\"\r\n"),
            Err(ParseError::NotUtf8)
        );
        let long = format!("GETSCRIPT \"{}\"\r\n", "a".repeat(1025));
        assert_eq!(parse(&long), Err(ParseError::BadString));
    }

    #[test]
    fn numbers() {
        assert_eq!(
            parse("HAVESPACE \"a\" 4294967295\r\n"),
            Ok(Command::HaveSpace {
                name: "a".into(),
                size: 4_294_967_295
            })
        );
        assert_eq!(
            parse("HAVESPACE \"a\" 4294967296\r\n"),
            Err(ParseError::BadNumber)
        );
        assert_eq!(parse("HAVESPACE \"a\" x\r\n"), Err(ParseError::BadNumber));
        assert_eq!(parse("HAVESPACE \"a\"\r\n"), Err(ParseError::Missing));
    }

    #[test]
    fn sasl_responses() {
        assert_eq!(parse_sasl_response(b"\"\"\r\n").as_deref(), Ok(""));
        assert_eq!(
            parse_sasl_response(b"{4+}\r\nAAAA\r\n").as_deref(),
            Ok("AAAA")
        );
        assert_eq!(parse_sasl_response(b"\"*\"\r\n").as_deref(), Ok("*"));
        assert_eq!(parse_sasl_response(b"AAAA\r\n"), Err(ParseError::BadString));
    }
}
