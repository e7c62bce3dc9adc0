//! Writing commands and responses in wire format into a caller's buffer.
//!
//! Strings take the lightest form that is safe: an atom where the grammar
//! allows an astring and the bytes allow it, a quoted string when every byte
//! can be quoted (8-bit only as UTF-8 and only with `UTF8=ACCEPT` or
//! IMAP4rev2 in force), a literal otherwise. Message content is always a
//! literal, which is what clients expect.

#[cfg(feature = "client")]
mod command;
mod fetch;
mod response;
mod values;

use std::fmt::Display;
use std::io::Write as _;

pub use response::{encode_fetch_end, encode_fetch_next, literal_safe};

use crate::chars::{is_astring_char, is_quotable};

/// How responses may be written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncodeOptions {
    /// The client enabled `UTF8=ACCEPT` or `IMAP4rev2`: UTF-8 may be sent in
    /// quoted strings instead of literals.
    pub utf8: bool,
}

/// A cursor over the output buffer with the string rules above.
pub(crate) struct Writer<'o> {
    out: &'o mut Vec<u8>,
    utf8: bool,
    /// Responses: a NUL in a `{n}` literal goes out as 0x80 (see [`literal_safe`]).
    char8: bool,
}

impl<'o> Writer<'o> {
    /// A writer of responses.
    pub(crate) fn new(out: &'o mut Vec<u8>, options: EncodeOptions) -> Self {
        Self {
            out,
            utf8: options.utf8,
            char8: true,
        }
    }

    /// A writer of commands, which sends every byte it is given as it is, so that what a
    /// parsed command holds encodes back to the same command.
    #[cfg(feature = "client")]
    pub(crate) fn for_commands(out: &'o mut Vec<u8>) -> Self {
        Self {
            out,
            utf8: false,
            char8: false,
        }
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.out.extend_from_slice(bytes);
        self
    }

    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        self.raw(s.as_bytes())
    }

    pub(crate) fn sp(&mut self) -> &mut Self {
        self.raw(b" ")
    }

    /// Anything displayable, e.g. numbers.
    pub(crate) fn display(&mut self, value: impl Display) -> &mut Self {
        // Writing into a Vec cannot fail.
        let _ = write!(self.out, "{value}");
        self
    }

    pub(crate) fn crlf(&mut self) -> &mut Self {
        self.raw(b"\r\n")
    }

    /// Free text of a response: CR and LF become spaces so that text from
    /// configuration or the engine can never forge a response line.
    pub(crate) fn text(&mut self, text: &str) -> &mut Self {
        self.out.extend(
            text.bytes()
                .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        self
    }

    /// An astring: bare when every byte is an `ASTRING-CHAR`.
    pub(crate) fn astring(&mut self, bytes: &[u8]) -> &mut Self {
        if !bytes.is_empty() && bytes.iter().all(|&b| is_astring_char(b)) {
            self.raw(bytes)
        } else {
            self.string(bytes)
        }
    }

    /// A string: quoted when possible, else a literal.
    pub(crate) fn string(&mut self, bytes: &[u8]) -> &mut Self {
        if self.quotable(bytes) {
            self.raw(b"\"");
            for &b in bytes {
                if b == b'"' || b == b'\\' {
                    self.out.push(b'\\');
                }
                self.out.push(b);
            }
            self.raw(b"\"")
        } else {
            self.literal(bytes)
        }
    }

    fn quotable(&self, bytes: &[u8]) -> bool {
        bytes.iter().all(|&b| is_quotable(b))
            && (bytes.is_ascii() || (self.utf8 && std::str::from_utf8(bytes).is_ok()))
    }

    /// `NIL` or a string.
    pub(crate) fn nstring(&mut self, bytes: Option<&[u8]>) -> &mut Self {
        match bytes {
            Some(bytes) => self.string(bytes),
            None => self.raw(b"NIL"),
        }
    }

    /// `{n}` CRLF and the bytes; in a response, any NUL as [`literal_safe`] sends it.
    pub(crate) fn literal(&mut self, bytes: &[u8]) -> &mut Self {
        self.literal_header(bytes.len() as u64, false);
        let start = self.out.len();
        self.out.extend_from_slice(bytes);
        if self.char8
            && let Some(written) = self.out.get_mut(start..)
        {
            literal_safe(written);
        }
        self
    }

    /// `{n}` CRLF, or `~{n}` CRLF for a literal8.
    pub(crate) fn literal_header(&mut self, len: u64, binary: bool) -> &mut Self {
        if binary {
            self.raw(b"~");
        }
        self.raw(b"{").display(len).raw(b"}\r\n")
    }

    /// Items separated by spaces.
    pub(crate) fn join<T>(
        &mut self,
        items: &[T],
        mut each: impl FnMut(&mut Self, &T),
    ) -> &mut Self {
        for (n, item) in items.iter().enumerate() {
            if n > 0 {
                self.sp();
            }
            each(self, item);
        }
        self
    }

    /// `(item item ...)`.
    pub(crate) fn list<T>(&mut self, items: &[T], each: impl FnMut(&mut Self, &T)) -> &mut Self {
        self.raw(b"(").join(items, each).raw(b")")
    }

    /// `NIL` for no items, else `(` the items back to back `)`, the shape of
    /// address lists and namespace lists.
    pub(crate) fn nil_or_group<T>(
        &mut self,
        items: &[T],
        mut each: impl FnMut(&mut Self, &T),
    ) -> &mut Self {
        if items.is_empty() {
            return self.raw(b"NIL");
        }
        self.raw(b"(");
        for item in items {
            each(self, item);
        }
        self.raw(b")")
    }

    /// `NIL` for no items, else `(item ...)`.
    pub(crate) fn nil_or_list<T>(
        &mut self,
        items: &[T],
        each: impl FnMut(&mut Self, &T),
    ) -> &mut Self {
        if items.is_empty() {
            self.raw(b"NIL")
        } else {
            self.list(items, each)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(
        utf8: bool,
        f: impl for<'w, 'o> FnOnce(&'w mut Writer<'o>) -> &'w mut Writer<'o>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut Writer::new(&mut out, EncodeOptions { utf8 }));
        out
    }

    #[test]
    fn a_response_literal_holds_no_nul() {
        assert_eq!(with(false, |w| w.literal(b"a\0b")), b"{3}\r\na\x80b");
        assert_eq!(with(false, |w| w.string(b"\0")), b"{1}\r\n\x80");
    }

    #[test]
    fn picks_the_lightest_safe_form() {
        let e_acute = "\u{e9}".as_bytes();
        assert_eq!(with(false, |w| w.astring(b"INBOX")), b"INBOX");
        assert_eq!(with(false, |w| w.astring(b"")), b"\"\"");
        assert_eq!(with(false, |w| w.astring(b"a b\"\\")), b"\"a b\\\"\\\\\"");
        assert_eq!(with(false, |w| w.string(b"a\r\nb")), b"{4}\r\na\r\nb");
        assert_eq!(with(false, |w| w.string(e_acute)), b"{2}\r\n\xc3\xa9");
        assert_eq!(with(true, |w| w.string(e_acute)), "\"\u{e9}\"".as_bytes());
        assert_eq!(with(true, |w| w.string(b"\xff")), b"{1}\r\n\xff");
        assert_eq!(with(false, |w| w.nstring(None)), b"NIL");
        assert_eq!(with(false, |w| w.text("a\r\n* BYE")), b"a  * BYE");
    }
}
