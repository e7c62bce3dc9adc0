//! Reading a server's replies a line at a time (RFC 5321 4.2): `250-` lines
//! continue a reply, a `250 ` line (or a bare `250`) ends it.
//!
//! The lines come from the session's input buffer, which bounds their length;
//! the reader bounds the reply as a whole, so a server that never ends its
//! reply costs at most [`REPLY_LIMIT`] bytes of text.

use std::borrow::Cow;

use crate::reply::{Enhanced, enhanced_prefix, reply_line};
use crate::{ParseError, Reply};

/// Most text kept for one reply, its lines' separators included. An `EHLO`
/// reply listing every extension there is stays far below it.
pub(crate) const REPLY_LIMIT: usize = 64 * 1024;

/// Why a reply could not be read. Either way the session can no longer tell
/// where the next reply starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplyError {
    /// A line without a reply code, or with another code than the reply's
    /// first line.
    Malformed,
    /// The reply's text grew past [`REPLY_LIMIT`].
    TooLong,
}

/// The lines of one reply read so far.
#[derive(Debug, Default)]
pub(crate) struct ReplyReader {
    /// Code and enhanced code of the first line, once it was read.
    first: Option<(u16, Option<Enhanced>)>,
    text: String,
}

impl ReplyReader {
    /// Takes one line without its line end. Returns the reply once its last
    /// line is in, and is then ready for the next reply; after an error the
    /// partial reply is dropped.
    ///
    /// As in [`parse_reply`](crate::parse_reply), the enhanced code is the one
    /// of the first line, and later lines lose it when they repeat it. Text
    /// that is not UTF-8 (old servers write Latin-1) is kept with replacement
    /// characters: the verdict is in the code, and a refusal must not be lost
    /// over its wording.
    pub(crate) fn line(&mut self, line: &[u8]) -> Result<Option<Reply>, ReplyError> {
        let result = self.read(line);
        if !matches!(result, Ok(None)) {
            self.first = None;
        }
        result
    }

    fn read(&mut self, line: &[u8]) -> Result<Option<Reply>, ReplyError> {
        let (code, last, body) = reply_line(line).map_err(|_| ReplyError::Malformed)?;
        let (enhanced, body) = match self.first {
            None => {
                self.text.clear();
                let (enhanced, body) = enhanced_prefix(body);
                self.first = Some((code, enhanced));
                (enhanced, body)
            }
            Some((first, enhanced)) if first == code => {
                self.text.push('\n');
                match enhanced_prefix(body) {
                    (Some(repeated), stripped) if Some(repeated) == enhanced => {
                        (enhanced, stripped)
                    }
                    _ => (enhanced, body),
                }
            }
            Some(_) => return Err(ReplyError::Malformed),
        };
        let body = String::from_utf8_lossy(body);
        // Both are lengths of text in memory: the sum cannot overflow.
        if self.text.len().saturating_add(body.len()) > REPLY_LIMIT {
            return Err(ReplyError::TooLong);
        }
        self.text.push_str(&body);
        Ok(last.then(|| Reply {
            code,
            enhanced,
            text: Cow::Owned(std::mem::take(&mut self.text)),
        }))
    }
}

/// Parses one complete (possibly multi-line) reply from the start of `input`.
///
/// Returns the reply and the number of bytes it occupied. Lines may end in CRLF
/// or a bare LF. The enhanced code is taken from the first line and stripped from
/// the following lines that repeat it; text that is not UTF-8 is read lossily.
/// [`ParseError::Incomplete`] means the reply's last line has not arrived yet; a
/// reply whose text passes 64 KiB is a [`ParseError::Syntax`], as a malformed
/// one is.
pub fn parse_reply(input: &[u8]) -> Result<(Reply, usize), ParseError> {
    let mut reader = ReplyReader::default();
    let mut rest = input;
    loop {
        let Some((line, tail)) = split_line(rest) else {
            return Err(ParseError::Incomplete);
        };
        rest = tail;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(reply) = reader.line(line).map_err(|_| ParseError::Syntax)? {
            // `rest` is a suffix of `input`: this never saturates.
            return Ok((reply, input.len().saturating_sub(rest.len())));
        }
    }
}

/// Splits `bytes` at its first LF into the line before it and the bytes after it.
fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let lf = bytes.iter().position(|&b| b == b'\n')?;
    let (line, rest) = bytes.split_at_checked(lf)?;
    Some((line, rest.get(1..)?))
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn read(wire: &[u8]) -> Vec<Result<Reply, ReplyError>> {
        let mut reader = ReplyReader::default();
        let mut replies = Vec::new();
        for line in wire.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            match reader.line(line) {
                Ok(Some(reply)) => replies.push(Ok(reply)),
                Ok(None) => {}
                Err(error) => replies.push(Err(error)),
            }
        }
        replies
    }

    #[test]
    fn single_line_replies() {
        assert_eq!(
            read(b"220 mx.example ESMTP\r\n"),
            [Ok(Reply {
                code: 220,
                enhanced: None,
                text: "mx.example ESMTP".into()
            })]
        );
        assert_eq!(
            read(b"550 5.1.1 No such user\r\n"),
            [Ok(Reply::new(550, (5, 1, 1), "No such user"))]
        );
        assert_eq!(
            read(b"250\r\n250 2.0.0\r\n"),
            [
                Ok(Reply {
                    code: 250,
                    enhanced: None,
                    text: "".into()
                }),
                Ok(Reply::new(250, (2, 0, 0), "")),
            ]
        );
    }

    #[test]
    fn multi_line_replies_keep_their_lines() {
        let replies = read(b"250-mx\r\n250-PIPELINING\r\n250 SIZE 10\r\n");
        let expected = Reply {
            code: 250,
            enhanced: None,
            text: "mx\nPIPELINING\nSIZE 10".into(),
        };
        assert_eq!(replies, [Ok(expected)]);
        // The repeated enhanced code goes; another one stays as text.
        assert_eq!(
            read(b"550-5.7.1 a\r\n550-5.7.1 b\r\n550 4.0.0 c\r\n"),
            [Ok(Reply::new(550, (5, 7, 1), "a\nb\n4.0.0 c"))]
        );
    }

    #[test]
    fn malformed_lines_are_errors_and_the_reader_starts_over() {
        assert_eq!(read(b"25x ok\r\n"), [Err(ReplyError::Malformed)]);
        assert_eq!(read(b"250ok\r\n"), [Err(ReplyError::Malformed)]);
        assert_eq!(read(b"hello\r\n"), [Err(ReplyError::Malformed)]);
        assert_eq!(
            read(b"250-a\r\n251 b\r\n250 c\r\n"),
            [
                Err(ReplyError::Malformed),
                Ok(Reply {
                    code: 250,
                    enhanced: None,
                    text: "c".into()
                }),
            ]
        );
    }

    #[test]
    fn latin1_text_is_kept_lossily() {
        let replies = read(b"550 5.1.1 Unbekannter Empf\xe4nger\r\n");
        let [Ok(reply)] = &replies[..] else {
            panic!("{replies:?}")
        };
        assert_eq!(reply.text, "Unbekannter Empf\u{fffd}nger");
    }

    #[test]
    fn an_endless_reply_is_cut_off() {
        let line = format!("250-{}\r\n", "x".repeat(900));
        let wire = line.repeat(REPLY_LIMIT / 900 + 1);
        assert_eq!(read(wire.as_bytes()), [Err(ReplyError::TooLong)]);
        // Just under the limit is fine.
        let lines = REPLY_LIMIT / 901;
        let wire = format!("{}250 end\r\n", line.repeat(lines - 1));
        assert!(matches!(&read(wire.as_bytes())[..], [Ok(_)]));
    }

    proptest! {
        #[test]
        fn any_line_is_read_or_refused(lines in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..80), 0..20,
        )) {
            let mut reader = ReplyReader::default();
            for line in &lines {
                if let Ok(Some(reply)) = reader.line(line) {
                    prop_assert!(reply.text.len() <= REPLY_LIMIT);
                    prop_assert!((0..1000).contains(&reply.code));
                }
            }
        }
    }

    #[test]
    fn parses_multi_line() {
        let (r, n) = parse_reply(b"250-host\r\n250-PIPELINING\r\n250 SIZE 10\r\nrest").unwrap();
        assert_eq!(n, 39);
        assert_eq!(r.code, 250);
        assert_eq!(r.enhanced, None);
        assert_eq!(r.text, "host\nPIPELINING\nSIZE 10");
    }

    #[test]
    fn parses_enhanced_and_bare_code() {
        let (r, _) = parse_reply(b"550 5.1.1 No such user\r\n").unwrap();
        assert_eq!(r, Reply::new(550, (5, 1, 1), "No such user"));
        let (r, _) = parse_reply(b"250\r\n").unwrap();
        assert_eq!((r.code, r.text.as_ref()), (250, ""));
    }

    #[test]
    fn reports_incomplete_and_garbage() {
        assert_eq!(parse_reply(b"250-a\r\n250 b"), Err(ParseError::Incomplete));
        assert_eq!(parse_reply(b"25x ok\r\n"), Err(ParseError::Syntax));
        assert_eq!(parse_reply(b"250-a\r\n251 b\r\n"), Err(ParseError::Syntax));
    }
}
