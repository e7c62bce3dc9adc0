//! Streaming a message into a `RETR` or `TOP` response (RFC 1939 3, 7):
//! CRLF line ends, byte-stuffing, and the cut after the lines `TOP` asked for.
//!
//! The message arrives in chunks of any size; the few bytes of state kept
//! between them (at a line start? after a CR? how long is the line?) make the
//! output independent of where the chunks split.

/// Where a `TOP` stands; `RETR` is always `Whole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// Send everything.
    Whole,
    /// In the header; after the empty line, send this many body lines.
    Header { body_lines: u64 },
    /// In the body, this many lines still to send (at least one).
    Body { remaining: u64 },
    /// Everything wanted was sent; the rest of the message is ignored.
    Done,
}

/// One message being written into a multi-line response.
#[derive(Debug)]
pub(crate) struct Transfer {
    cut: Cut,
    /// Nothing of the current line was written yet.
    line_start: bool,
    /// The last byte written was a CR.
    after_cr: bool,
    /// Bytes in the current line so far, saturating; only 0, 1 and more matter.
    line_len: usize,
}

impl Transfer {
    /// A transfer for `RETR` (`top_lines == None`) or `TOP msg top_lines`.
    pub(crate) fn new(top_lines: Option<u64>) -> Self {
        let cut = match top_lines {
            None => Cut::Whole,
            Some(body_lines) => Cut::Header { body_lines },
        };
        Self {
            cut,
            line_start: true,
            after_cr: false,
            line_len: 0,
        }
    }

    /// Writes a chunk of message: bare LFs become CRLF, lines starting with
    /// `.` get another one. Output grows by at most twice the chunk.
    pub(crate) fn feed(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        while let Some(&first) = data.first() {
            if self.cut == Cut::Done {
                return;
            }
            if self.line_start && first == b'.' {
                out.push(b'.');
            }
            let lf = data.iter().position(|&b| b == b'\n');
            let (text, rest) = data.split_at(lf.unwrap_or(data.len()));
            out.extend_from_slice(text);
            if let Some(&last) = text.last() {
                self.line_start = false;
                self.after_cr = last == b'\r';
                self.line_len = self.line_len.saturating_add(text.len());
            }
            if lf.is_some() {
                let line_end: &[u8] = if self.after_cr { b"\n" } else { b"\r\n" };
                out.extend_from_slice(line_end);
                self.end_line();
            }
            data = rest.get(1..).unwrap_or_default();
        }
    }

    /// Whether `TOP` has all it asked for: the rest of the message is not needed.
    pub(crate) fn is_complete(&self) -> bool {
        self.cut == Cut::Done
    }

    /// Ends the response: completes a last line left open, then `.` CRLF.
    pub(crate) fn finish(&self, out: &mut Vec<u8>) {
        if !self.line_start {
            let line_end: &[u8] = if self.after_cr { b"\n" } else { b"\r\n" };
            out.extend_from_slice(line_end);
        }
        out.extend_from_slice(b".\r\n");
    }

    fn end_line(&mut self) {
        // Empty, or only the CR of its CRLF: the line between header and body.
        let empty = self.line_len == 0 || (self.line_len == 1 && self.after_cr);
        self.cut = match self.cut {
            Cut::Header { body_lines: 0 } if empty => Cut::Done,
            Cut::Header { body_lines } if empty => Cut::Body {
                remaining: body_lines,
            },
            Cut::Body { remaining } => match remaining.checked_sub(1) {
                Some(remaining @ 1..) => Cut::Body { remaining },
                _ => Cut::Done,
            },
            other => other,
        };
        self.line_start = true;
        self.after_cr = false;
        self.line_len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer(top: Option<u64>, chunks: &[&str]) -> String {
        let mut t = Transfer::new(top);
        let mut out = Vec::new();
        for chunk in chunks {
            t.feed(chunk.as_bytes(), &mut out);
        }
        t.finish(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn stuffs_dots_at_line_starts() {
        assert_eq!(
            transfer(None, &[".a\r\nb.\r\n..\r\n"]),
            "..a\r\nb.\r\n...\r\n.\r\n"
        );
        assert_eq!(transfer(None, &["x\r\n", ".", "\r\n"]), "x\r\n..\r\n.\r\n");
        assert_eq!(transfer(None, &[]), ".\r\n");
    }

    #[test]
    fn normalizes_line_ends() {
        assert_eq!(
            transfer(None, &["a\nb\r", "\nc\rd"]),
            "a\r\nb\r\nc\rd\r\n.\r\n"
        );
        assert_eq!(transfer(None, &["a\r"]), "a\r\n.\r\n");
    }

    #[test]
    fn top_cuts_after_the_body_lines() {
        let message = "A: 1\r\nB: 2\r\n\r\none\r\ntwo\r\nthree\r\n";
        assert_eq!(transfer(Some(0), &[message]), "A: 1\r\nB: 2\r\n\r\n.\r\n");
        assert_eq!(
            transfer(Some(2), &[message]),
            "A: 1\r\nB: 2\r\n\r\none\r\ntwo\r\n.\r\n"
        );
        assert_eq!(transfer(Some(9), &[message]), format!("{message}.\r\n"));
        // A header without a body, and an LF-only blank line.
        assert_eq!(transfer(Some(1), &["A: 1\r\n"]), "A: 1\r\n.\r\n");
        assert_eq!(
            transfer(Some(1), &["A: 1\n\nx\ny\n"]),
            "A: 1\r\n\r\nx\r\n.\r\n"
        );
    }

    #[test]
    fn top_drops_the_rest() {
        let mut t = Transfer::new(Some(0));
        let mut out = Vec::new();
        t.feed(b"A: 1\r\n\r", &mut out);
        assert_eq!(t.cut, Cut::Header { body_lines: 0 });
        t.feed(b"\nbody\r\n", &mut out);
        assert_eq!(t.cut, Cut::Done);
        t.feed(b"more\r\n", &mut out);
        t.finish(&mut out);
        assert_eq!(out, b"A: 1\r\n\r\n.\r\n");
    }
}
