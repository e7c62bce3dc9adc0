//! SMTP replies (RFC 5321 4.2) with enhanced status codes (RFC 2034, RFC 3463).
//!
//! Replies are written straight into the session's output buffer by [`write_reply`],
//! which formats, splits multi-line text and frames it without allocating.

use std::borrow::Cow;
use std::fmt;

use nom::Parser;
use nom::bytes::complete::{tag, take_while_m_n};
use nom::character::complete::{char, one_of};
use nom::combinator::{map_opt, map_res, opt};
use nom::sequence::terminated;

use crate::ParseError;

/// An enhanced status code `class.subject.detail` (RFC 3463), e.g. `(2, 1, 5)`.
pub type Enhanced = (u8, u16, u16);

/// One SMTP reply, possibly spanning several lines.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reply {
    /// Three-digit reply code.
    pub code: u16,
    /// Enhanced status code repeated on every line; `None` for the greeting,
    /// the `EHLO` lines and SASL challenges, which carry none.
    pub enhanced: Option<Enhanced>,
    /// Human-readable text; each `'\n'` starts a new reply line.
    pub text: Cow<'static, str>,
}

impl Reply {
    /// A reply with an enhanced status code.
    pub fn new(code: u16, enhanced: Enhanced, text: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            enhanced: Some(enhanced),
            text: text.into(),
        }
    }

    /// `250 2.0.0 Ok`.
    pub fn ok() -> Self {
        Self::new(250, (2, 0, 0), "Ok")
    }

    /// `451 4.3.0 Temporary failure, try again later`: what to answer when the
    /// engine could not decide (storage down, DNS timeout).
    pub fn temporary_failure() -> Self {
        Self::new(451, (4, 3, 0), "Temporary failure, try again later")
    }

    /// Whether the code is a positive completion (2xx).
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// Appends the reply in wire format: `250 2.0.0 text\r\n`, or for multi-line
    /// text `250-2.0.0 a\r\n250 2.0.0 b\r\n`.
    ///
    /// Carriage returns in the text are dropped, so a reply text (which may come
    /// from configuration or the engine) can never smuggle extra protocol lines.
    pub fn encode(&self, out: &mut Vec<u8>) {
        write_reply(out, self.code, self.enhanced, format_args!("{}", self.text));
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.enhanced {
            Some((c, s, d)) => write!(f, "{} {c}.{s}.{d} {}", self.code, self.text),
            None => write!(f, "{} {}", self.code, self.text),
        }
    }
}

/// Writes a reply whose text is given as format arguments; see [`Reply::encode`].
pub(crate) fn write_reply(
    out: &mut Vec<u8>,
    code: u16,
    enhanced: Option<Enhanced>,
    text: fmt::Arguments<'_>,
) {
    let mut writer = ReplyWriter {
        out,
        code: code.min(999),
        enhanced,
        line_start: 0,
        text_start: 0,
    };
    writer.start_line();
    // Our `write_str` never fails; a failing `Display` impl only truncates the text.
    let _ = fmt::write(&mut writer, text);
    writer.end_line();
    // Every line was written as a continuation ("250-"); turn the last one into
    // the final line ("250 ").
    if let Some(sep) = writer
        .out
        .get_mut(writer.line_start..)
        .and_then(|line| line.get_mut(3))
    {
        *sep = b' ';
    }
}

/// Streams formatted text into reply lines, prefixing each with the code.
struct ReplyWriter<'a> {
    out: &'a mut Vec<u8>,
    code: u16,
    enhanced: Option<Enhanced>,
    /// Offset of the current line in `out`.
    line_start: usize,
    /// Offset of the current line's text (after code and enhanced code).
    text_start: usize,
}

impl ReplyWriter<'_> {
    fn start_line(&mut self) {
        self.line_start = self.out.len();
        let code = self.code;
        push_display(self.out, format_args!("{code:03}-"));
        if let Some((class, subject, detail)) = self.enhanced {
            push_display(self.out, format_args!("{class}.{subject}.{detail} "));
        }
        self.text_start = self.out.len();
    }

    fn end_line(&mut self) {
        // "250 2.0.0" rather than "250 2.0.0 " when the line has no text. Without
        // an enhanced code the space stays: "334 " is a SASL empty challenge.
        if self.enhanced.is_some() && self.out.len() == self.text_start {
            self.out.pop();
        }
        self.out.extend_from_slice(b"\r\n");
    }
}

impl fmt::Write for ReplyWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut lines = s.split('\n');
        if let Some(first) = lines.next() {
            push_text(self.out, first);
        }
        for line in lines {
            self.end_line();
            self.start_line();
            push_text(self.out, line);
        }
        Ok(())
    }
}

fn push_text(out: &mut Vec<u8>, text: &str) {
    out.extend(text.bytes().filter(|&b| b != b'\r'));
}

fn push_display(out: &mut Vec<u8>, args: fmt::Arguments<'_>) {
    struct Bytes<'a>(&'a mut Vec<u8>);
    impl fmt::Write for Bytes<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0.extend_from_slice(s.as_bytes());
            Ok(())
        }
    }
    let _ = fmt::write(&mut Bytes(out), args);
}

/// Splits a reply line into code, "is last line" and the rest.
pub(crate) fn reply_line(line: &[u8]) -> Result<(u16, bool, &[u8]), ParseError> {
    let digits = take_while_m_n(3, 3, |b: u8| b.is_ascii_digit());
    let code = map_res(digits, |d: &[u8]| {
        std::str::from_utf8(d)
            .map_err(drop)?
            .parse::<u16>()
            .map_err(drop)
    });
    let (rest, (code, sep)) = (code, opt(one_of(" -")))
        .parse(line)
        .map_err(|_: nom::Err<nom::error::Error<&[u8]>>| ParseError::Syntax)?;
    match sep {
        Some(sep) => Ok((code, sep == ' ', rest)),
        None if rest.is_empty() => Ok((code, true, rest)),
        None => Err(ParseError::Syntax),
    }
}

/// Recognises a leading `class.subject.detail` followed by a space or the end.
pub(crate) fn enhanced_prefix(text: &[u8]) -> (Option<Enhanced>, &[u8]) {
    fn number<T: std::str::FromStr>(i: &[u8]) -> nom::IResult<&[u8], T> {
        map_res(take_while_m_n(1, 3, |b: u8| b.is_ascii_digit()), |d| {
            std::str::from_utf8(d)
                .map_err(drop)?
                .parse::<T>()
                .map_err(drop)
        })
        .parse(i)
    }
    let class = map_opt(one_of("245"), |c: char| {
        c.to_digit(10).and_then(|d| u8::try_from(d).ok())
    });
    let parsed = (
        terminated(class, char('.')),
        terminated(number::<u16>, char('.')),
        number::<u16>,
    )
        .parse(text);
    match parsed {
        Ok(([], e)) => (Some(e), &[]),
        Ok((rest, e)) => match tag::<_, _, nom::error::Error<&[u8]>>(" ").parse(rest) {
            Ok((rest, _)) => (Some(e), rest),
            Err(_) => (None, text),
        },
        Err(_) => (None, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(r: &Reply) -> String {
        let mut out = Vec::new();
        r.encode(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn single_line() {
        assert_eq!(encoded(&Reply::ok()), "250 2.0.0 Ok\r\n");
    }

    #[test]
    fn multi_line_repeats_codes() {
        let r = Reply::new(550, (5, 7, 1), "a\nb");
        assert_eq!(encoded(&r), "550-5.7.1 a\r\n550 5.7.1 b\r\n");
    }

    #[test]
    fn without_enhanced_code() {
        let r = Reply {
            code: 334,
            enhanced: None,
            text: "".into(),
        };
        assert_eq!(encoded(&r), "334 \r\n");
    }

    #[test]
    fn empty_text_has_no_trailing_space() {
        assert_eq!(encoded(&Reply::new(250, (2, 0, 0), "")), "250 2.0.0\r\n");
    }

    #[test]
    fn carriage_returns_cannot_inject_lines() {
        let r = Reply::new(550, (5, 0, 0), "x\r\n250 fake");
        assert_eq!(encoded(&r), "550-5.0.0 x\r\n550 5.0.0 250 fake\r\n");
    }
}
