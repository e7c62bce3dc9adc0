//! SMTP commands (RFC 5321 4.1 and the extensions we advertise): parsing of one
//! command line and encoding back to the wire.
//!
//! The parser is lenient where real clients are sloppy (verb case, a space after
//! `FROM:`, trailing blanks, source routes) and strict where leniency has bitten
//! mail servers before (angle brackets, parameter syntax, control characters).

use std::io::Write as _;

use nom::Parser;
use nom::bytes::complete::{tag_no_case, take_while_m_n, take_while1};
use nom::character::complete::{digit1, space0, space1};
use nom::combinator::{all_consuming, map_res, opt};
use nom::sequence::preceded;

use crate::envelope::{MailParams, RcptParams};
use crate::params::{parse_mail_params, parse_rcpt_params};
use crate::{ParseError, path};

/// One parsed command line. Strings borrow from the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// `EHLO domain`.
    Ehlo(&'a str),
    /// `HELO domain`.
    Helo(&'a str),
    /// `MAIL FROM:<from> params`; `from` is `""` for the null sender.
    Mail {
        /// Sender address, without brackets or source route.
        from: &'a str,
        /// ESMTP parameters.
        params: MailParams,
    },
    /// `RCPT TO:<to> params`.
    Rcpt {
        /// Recipient address, without brackets or source route.
        to: &'a str,
        /// ESMTP parameters.
        params: RcptParams,
    },
    /// `DATA`.
    Data,
    /// `BDAT size [LAST]` (RFC 3030).
    Bdat {
        /// Exact number of octets following the command line.
        size: u64,
        /// Whether this is the message's last chunk.
        last: bool,
    },
    /// `RSET`.
    Rset,
    /// `NOOP` (any argument is ignored, RFC 5321 4.1.1.9).
    Noop,
    /// `QUIT`.
    Quit,
    /// `VRFY string`.
    Vrfy(&'a str),
    /// `EXPN string`.
    Expn(&'a str),
    /// `HELP [string]`.
    Help(Option<&'a str>),
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954).
    Auth {
        /// SASL mechanism name, as sent.
        mechanism: &'a str,
        /// Base64 initial response; `"="` stands for an empty one.
        initial: Option<&'a str>,
    },
}

type NomError<'a> = nom::Err<nom::error::Error<&'a [u8]>>;

/// Parses one command line, given without its line ending.
pub fn parse_command(line: &[u8]) -> Result<Command<'_>, ParseError> {
    let line = trim_end(line);
    let (rest, verb) = take_while1(|b: u8| b.is_ascii_alphabetic())
        .parse(line)
        .map_err(|_: NomError<'_>| ParseError::UnknownCommand)?;
    let args = match rest {
        [] => None,
        [b' ', args @ ..] => Some(trim_start(args)),
        _ => return Err(ParseError::UnknownCommand),
    };
    // Verbs are at most 8 letters (STARTTLS): upper-case into a stack buffer.
    let mut upper = [0u8; 8];
    let verb_upper = upper
        .get_mut(..verb.len())
        .ok_or(ParseError::UnknownCommand)?;
    verb_upper.copy_from_slice(verb);
    verb_upper.make_ascii_uppercase();
    match &*verb_upper {
        b"EHLO" => Ok(Command::Ehlo(text(args)?)),
        b"HELO" => Ok(Command::Helo(text(args)?)),
        b"MAIL" => mail(args.ok_or(ParseError::Syntax)?),
        b"RCPT" => rcpt(args.ok_or(ParseError::Syntax)?),
        b"DATA" => no_args(args, Command::Data),
        b"BDAT" => bdat(args.ok_or(ParseError::Syntax)?),
        b"RSET" => no_args(args, Command::Rset),
        b"NOOP" => Ok(Command::Noop),
        b"QUIT" => no_args(args, Command::Quit),
        b"VRFY" => Ok(Command::Vrfy(text(args)?)),
        b"EXPN" => Ok(Command::Expn(text(args)?)),
        b"HELP" => Ok(Command::Help(args.map(|a| text(Some(a))).transpose()?)),
        b"STARTTLS" => no_args(args, Command::StartTls),
        b"AUTH" => auth(args.ok_or(ParseError::Syntax)?),
        _ => Err(ParseError::UnknownCommand),
    }
}

impl Command<'_> {
    /// Appends the command line, with CRLF, as a client sends it.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Ehlo(domain) => push(out, &["EHLO ", domain]),
            Self::Helo(domain) => push(out, &["HELO ", domain]),
            Self::Mail { from, params } => {
                push(out, &["MAIL FROM:<", from, ">"]);
                params.encode(out);
            }
            Self::Rcpt { to, params } => {
                push(out, &["RCPT TO:<", to, ">"]);
                params.encode(out);
            }
            Self::Data => push(out, &["DATA"]),
            Self::Bdat { size, last } => {
                let _ = write!(out, "BDAT {size}");
                if *last {
                    out.extend_from_slice(b" LAST");
                }
            }
            Self::Rset => push(out, &["RSET"]),
            Self::Noop => push(out, &["NOOP"]),
            Self::Quit => push(out, &["QUIT"]),
            Self::Vrfy(arg) => push(out, &["VRFY ", arg]),
            Self::Expn(arg) => push(out, &["EXPN ", arg]),
            Self::Help(None) => push(out, &["HELP"]),
            Self::Help(Some(arg)) => push(out, &["HELP ", arg]),
            Self::StartTls => push(out, &["STARTTLS"]),
            Self::Auth { mechanism, initial } => {
                push(out, &["AUTH ", mechanism]);
                if let Some(initial) = initial {
                    push(out, &[" ", initial]);
                }
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}

fn push(out: &mut Vec<u8>, parts: &[&str]) {
    for part in parts {
        out.extend_from_slice(part.as_bytes());
    }
}

fn trim_end(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t'] = line {
        line = rest;
    }
    line
}

fn trim_start(mut line: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = line {
        line = rest;
    }
    line
}

/// A required free-text argument: UTF-8 without control characters.
fn text(args: Option<&[u8]>) -> Result<&str, ParseError> {
    let args = args.filter(|a| !a.is_empty()).ok_or(ParseError::Syntax)?;
    if args.iter().any(|&b| b < b' ' || b == 0x7f) {
        return Err(ParseError::Syntax);
    }
    std::str::from_utf8(args).map_err(|_| ParseError::Syntax)
}

fn no_args(args: Option<&[u8]>, command: Command<'static>) -> Result<Command<'static>, ParseError> {
    match args {
        None => Ok(command),
        Some(_) => Err(ParseError::Syntax),
    }
}

fn mail(args: &[u8]) -> Result<Command<'_>, ParseError> {
    let (rest, _) = (tag_no_case("FROM:"), space0)
        .parse(args)
        .map_err(|_: NomError<'_>| ParseError::Syntax)?;
    let (rest, from) = path::reverse_path(rest).ok_or(ParseError::InvalidSender)?;
    let params = parse_mail_params(rest)?;
    Ok(Command::Mail { from, params })
}

fn rcpt(args: &[u8]) -> Result<Command<'_>, ParseError> {
    let (rest, _) = (tag_no_case("TO:"), space0)
        .parse(args)
        .map_err(|_: NomError<'_>| ParseError::Syntax)?;
    let (rest, to) = path::forward_path(rest).ok_or(ParseError::InvalidRecipient)?;
    let params = parse_rcpt_params(rest)?;
    Ok(Command::Rcpt { to, params })
}

fn bdat(args: &[u8]) -> Result<Command<'static>, ParseError> {
    let size = map_res(digit1, |digits: &[u8]| {
        std::str::from_utf8(digits)
            .map_err(drop)?
            .parse::<u64>()
            .map_err(drop)
    });
    let last = opt(preceded(space1, tag_no_case("LAST")));
    let (_, (size, last)) = all_consuming((size, last))
        .parse(args)
        .map_err(|_: NomError<'_>| ParseError::Syntax)?;
    Ok(Command::Bdat {
        size,
        last: last.is_some(),
    })
}

fn auth(args: &[u8]) -> Result<Command<'_>, ParseError> {
    // RFC 4954: sasl-mech is 1-20 of upper-case letters, digits, '-' and '_';
    // lower case is tolerated.
    let mechanism = take_while_m_n(1, 20, |b: u8| {
        b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
    });
    let initial = opt(preceded(space1, take_while1(|b: u8| b.is_ascii_graphic())));
    let (_, (mechanism, initial)) = all_consuming((mechanism, initial))
        .parse(args)
        .map_err(|_: NomError<'_>| ParseError::Syntax)?;
    // Both are ASCII by construction.
    let mechanism = std::str::from_utf8(mechanism).map_err(|_| ParseError::Syntax)?;
    let initial = initial
        .map(|i| std::str::from_utf8(i).map_err(|_| ParseError::Syntax))
        .transpose()?;
    Ok(Command::Auth { mechanism, initial })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Notify;

    fn parse(line: &str) -> Result<Command<'_>, ParseError> {
        parse_command(line.as_bytes())
    }

    #[test]
    fn simple_verbs_any_case() {
        assert_eq!(
            parse("ehlo client.example"),
            Ok(Command::Ehlo("client.example"))
        );
        assert_eq!(parse("HeLo x  "), Ok(Command::Helo("x")));
        assert_eq!(parse("data"), Ok(Command::Data));
        assert_eq!(parse("RSET"), Ok(Command::Rset));
        assert_eq!(parse("NOOP whatever"), Ok(Command::Noop));
        assert_eq!(parse("QUIT"), Ok(Command::Quit));
        assert_eq!(parse("starttls"), Ok(Command::StartTls));
        assert_eq!(parse("HELP"), Ok(Command::Help(None)));
        assert_eq!(parse("HELP mail"), Ok(Command::Help(Some("mail"))));
        assert_eq!(parse("VRFY bob"), Ok(Command::Vrfy("bob")));
        assert_eq!(parse("EXPN staff"), Ok(Command::Expn("staff")));
    }

    #[test]
    fn error_classes() {
        assert_eq!(parse("FOO"), Err(ParseError::UnknownCommand));
        assert_eq!(parse("STARTTLSX"), Err(ParseError::UnknownCommand));
        assert_eq!(parse("MAILFROM:<a@b>"), Err(ParseError::UnknownCommand));
        assert_eq!(parse(""), Err(ParseError::UnknownCommand));
        assert_eq!(parse("EHLO"), Err(ParseError::Syntax));
        assert_eq!(parse("EHLO a\u{1}b"), Err(ParseError::Syntax));
        assert_eq!(parse("DATA now"), Err(ParseError::Syntax));
        assert_eq!(parse("MAIL TO:<a@b>"), Err(ParseError::Syntax));
        assert_eq!(parse("MAIL FROM:a@b"), Err(ParseError::InvalidSender));
        assert_eq!(parse("RCPT TO:a@b"), Err(ParseError::InvalidRecipient));
        assert_eq!(
            parse("RCPT TO:<a@b> FOO"),
            Err(ParseError::UnsupportedParameter)
        );
        assert_eq!(parse("MAIL FROM:<a@b>SIZE=1"), Err(ParseError::Syntax));
        assert_eq!(parse("BDAT"), Err(ParseError::Syntax));
        assert_eq!(parse("BDAT x"), Err(ParseError::Syntax));
        assert_eq!(
            parse("BDAT 99999999999999999999999"),
            Err(ParseError::Syntax)
        );
        assert_eq!(parse("BDAT 1 FIRST"), Err(ParseError::Syntax));
        assert_eq!(parse("AUTH"), Err(ParseError::Syntax));
        assert_eq!(parse("AUTH PLAIN a b"), Err(ParseError::Syntax));
    }

    #[test]
    fn mail_and_rcpt() {
        let cmd = parse("mail from: <@relay:a@b.example> SIZE=10 smtputf8").unwrap();
        let params = MailParams {
            size: Some(10),
            smtputf8: true,
            ..MailParams::default()
        };
        assert_eq!(
            cmd,
            Command::Mail {
                from: "a@b.example",
                params
            }
        );
        assert_eq!(
            parse("MAIL FROM:<>"),
            Ok(Command::Mail {
                from: "",
                params: MailParams::default()
            })
        );
        let cmd = parse("RCPT TO:<c@d> NOTIFY=NEVER").unwrap();
        let notify = Notify {
            never: true,
            ..Notify::default()
        };
        let params = RcptParams {
            notify: Some(notify),
            orcpt: None,
        };
        assert_eq!(cmd, Command::Rcpt { to: "c@d", params });
    }

    #[test]
    fn bdat_and_auth() {
        assert_eq!(
            parse("BDAT 0 last"),
            Ok(Command::Bdat {
                size: 0,
                last: true
            })
        );
        assert_eq!(
            parse("BDAT 4096"),
            Ok(Command::Bdat {
                size: 4096,
                last: false
            })
        );
        assert_eq!(
            parse("AUTH LOGIN"),
            Ok(Command::Auth {
                mechanism: "LOGIN",
                initial: None
            })
        );
        assert_eq!(
            parse("AUTH PLAIN AGEAYg=="),
            Ok(Command::Auth {
                mechanism: "PLAIN",
                initial: Some("AGEAYg==")
            })
        );
    }

    #[test]
    fn encodes() {
        let mut out = Vec::new();
        Command::Bdat {
            size: 7,
            last: true,
        }
        .encode(&mut out);
        Command::Help(None).encode(&mut out);
        assert_eq!(out, b"BDAT 7 LAST\r\nHELP\r\n");
    }
}
