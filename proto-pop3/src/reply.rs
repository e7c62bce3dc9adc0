//! POP3 responses (RFC 1939 3): status lines with optional response codes
//! (RFC 2449 8, RFC 3206) and the lines of multi-line responses.
//!
//! Everything is written straight into the session's output buffer, formatted
//! without allocating. Text may come from configuration or the engine, so
//! carriage returns are dropped and line feeds become spaces: no text can
//! forge an extra response line.

use std::fmt;

/// A response code (RFC 2449 8): `-ERR [CODE] text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RespCode {
    /// The credentials were refused (RFC 3206 5).
    Auth,
    /// The maildrop is locked by another session (RFC 2449 8.1.2).
    InUse,
    /// A temporary server problem (RFC 3206 4).
    SysTemp,
}

impl RespCode {
    fn tag(self) -> &'static str {
        match self {
            Self::Auth => "[AUTH] ",
            Self::InUse => "[IN-USE] ",
            Self::SysTemp => "[SYS/TEMP] ",
        }
    }
}

/// Appends `+OK text`, or a bare `+OK` when the text is empty.
pub(crate) fn ok(out: &mut Vec<u8>, text: fmt::Arguments<'_>) {
    status(out, "+OK ", text);
}

/// Appends `-ERR [code] text`.
pub(crate) fn err(out: &mut Vec<u8>, code: Option<RespCode>, text: fmt::Arguments<'_>) {
    let tag = code.map_or("", RespCode::tag);
    status(out, "-ERR ", format_args!("{tag}{text}"));
}

/// Appends one line of a multi-line response, dot-stuffed (RFC 1939 3).
pub(crate) fn line(out: &mut Vec<u8>, text: fmt::Arguments<'_>) {
    write_text(out, true, text);
    out.extend_from_slice(b"\r\n");
}

/// Appends a SASL challenge: `+ ` and base64 text, possibly empty (RFC 5034
/// 4). Base64 needs no filtering.
pub(crate) fn continuation(out: &mut Vec<u8>, challenge: &str) {
    out.extend_from_slice(b"+ ");
    out.extend_from_slice(challenge.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends the line that ends a multi-line response.
pub(crate) fn end(out: &mut Vec<u8>) {
    out.extend_from_slice(b".\r\n");
}

fn status(out: &mut Vec<u8>, prefix: &str, text: fmt::Arguments<'_>) {
    out.extend_from_slice(prefix.as_bytes());
    let text_start = out.len();
    write_text(out, false, text);
    if out.len() == text_start {
        out.pop();
    }
    out.extend_from_slice(b"\r\n");
}

fn write_text(out: &mut Vec<u8>, stuff: bool, text: fmt::Arguments<'_>) {
    let mut writer = Text {
        out,
        at_start: stuff,
    };
    // Our `write_str` never fails; a failing `Display` impl only truncates the text.
    let _ = fmt::write(&mut writer, text);
}

/// Filters formatted text into the output.
struct Text<'a> {
    out: &'a mut Vec<u8>,
    /// Nothing was written yet and a leading `.` must be doubled.
    at_start: bool,
}

impl fmt::Write for Text<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            match b {
                b'\r' => continue,
                b'\n' => self.out.push(b' '),
                b'.' if self.at_start => self.out.extend_from_slice(b".."),
                _ => self.out.push(b),
            }
            self.at_start = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn status_lines() {
        assert_eq!(written(|o| ok(o, format_args!("2 320"))), "+OK 2 320\r\n");
        assert_eq!(written(|o| ok(o, format_args!(""))), "+OK\r\n");
        assert_eq!(
            written(|o| err(o, None, format_args!("no such message"))),
            "-ERR no such message\r\n"
        );
        assert_eq!(
            written(|o| err(o, Some(RespCode::InUse), format_args!("locked"))),
            "-ERR [IN-USE] locked\r\n"
        );
    }

    #[test]
    fn text_cannot_inject_lines() {
        assert_eq!(
            written(|o| ok(o, format_args!("{}", "a\r\n+OK b"))),
            "+OK a +OK b\r\n"
        );
    }

    #[test]
    fn multi_line_lines_are_stuffed() {
        let out = written(|o| {
            line(o, format_args!(".hidden"));
            line(o, format_args!("a.b"));
            end(o);
        });
        assert_eq!(out, "..hidden\r\na.b\r\n.\r\n");
    }
}
