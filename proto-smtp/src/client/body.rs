//! A message body on its way out after `DATA` (RFC 5321 4.5.2): every line
//! ends in CRLF, a line starting with `.` gets another one, and `.` CRLF ends
//! the body.
//!
//! Bare CRs and bare LFs both become CRLF. A receiver that takes either for a
//! line end would otherwise read a `.` after one as the end of data while we
//! meant it as text: that disagreement is what SMTP smuggling exploits
//! (CVE-2023-51764), and a sender that only ever writes CRLF cannot take part.

/// How the body stands after the bytes written so far; nothing else is kept,
/// so the output does not depend on where the runtime splits the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stuffer {
    /// The next byte starts a line.
    line_start: bool,
    /// The last byte was a CR, already written as CRLF: an LF right after it
    /// belongs to that line end.
    after_cr: bool,
}

impl Default for Stuffer {
    fn default() -> Self {
        Self {
            line_start: true,
            after_cr: false,
        }
    }
}

impl Stuffer {
    /// Writes a piece of the body. Each byte becomes at most two: the output
    /// grows by at most twice the input.
    pub(crate) fn feed(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        if self.after_cr && !data.is_empty() {
            self.after_cr = false;
            if let Some(rest) = data.strip_prefix(b"\n") {
                data = rest;
            }
        }
        while let Some(&first) = data.first() {
            if self.line_start && first == b'.' {
                out.push(b'.');
            }
            let end = data.iter().position(|&b| b == b'\r' || b == b'\n');
            let (text, rest) = data.split_at(end.unwrap_or(data.len()));
            out.extend_from_slice(text);
            self.line_start = text.is_empty() && self.line_start;
            let Some((&line_end, rest)) = rest.split_first() else {
                return;
            };
            out.extend_from_slice(b"\r\n");
            self.line_start = true;
            data = match (line_end, rest.split_first()) {
                (b'\r', Some((b'\n', after))) => after,
                (b'\r', None) => {
                    self.after_cr = true;
                    rest
                }
                _ => rest,
            };
        }
    }

    /// Ends the body: completes a last line that lacks its line end, then
    /// writes the end-of-data line. The stuffer is ready for another body.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        *self = Self::default();
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn stuffed(chunks: &[&[u8]]) -> Vec<u8> {
        let mut stuffer = Stuffer::default();
        let mut out = Vec::new();
        for chunk in chunks {
            stuffer.feed(chunk, &mut out);
        }
        stuffer.finish(&mut out);
        out
    }

    #[test]
    fn dots_at_line_starts_are_doubled() {
        assert_eq!(
            stuffed(&[b".a\r\nb.\r\n..\r\n.\r\n"]),
            b"..a\r\nb.\r\n...\r\n..\r\n.\r\n"
        );
        assert_eq!(stuffed(&[b"x\r\n", b".", b"\r\n"]), b"x\r\n..\r\n.\r\n");
        assert_eq!(stuffed(&[]), b".\r\n");
    }

    #[test]
    fn every_line_end_becomes_crlf() {
        assert_eq!(
            stuffed(&[b"a\nb\r", b"\nc\rd"]),
            b"a\r\nb\r\nc\r\nd\r\n.\r\n"
        );
        assert_eq!(stuffed(&[b"a\r"]), b"a\r\n.\r\n");
        assert_eq!(stuffed(&[b"a\r", b"\r", b"\n"]), b"a\r\n\r\n.\r\n");
        assert_eq!(stuffed(&[b"a\r", b"", b"\nb"]), b"a\r\nb\r\n.\r\n");
        assert_eq!(stuffed(&[b"\n\n"]), b"\r\n\r\n.\r\n");
    }

    #[test]
    fn smuggling_sequences_become_text() {
        // Each would end the body at a receiver that accepts a bare line end
        // around the dot; written out, the dot is stuffed.
        for body in [&b"a\n.\nb"[..], b"a\r.\rb", b"a\r\n.\nb", b"a\n.\r\nb"] {
            let out = stuffed(&[body]);
            assert_eq!(out, b"a\r\n..\r\nb\r\n.\r\n", "{body:?}");
        }
    }

    /// What a receiver reads: lines up to CRLF, unstuffed, until `.` alone.
    fn unstuff(wire: &[u8]) -> Option<Vec<u8>> {
        let mut body = Vec::new();
        let mut rest = wire;
        loop {
            let end = rest.windows(2).position(|w| w == b"\r\n")?;
            let (line, tail) = rest.split_at(end);
            rest = &tail[2..];
            if line == b"." {
                return rest.is_empty().then_some(body);
            }
            body.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
            body.extend_from_slice(b"\r\n");
        }
    }

    proptest! {
        #[test]
        fn the_wire_reads_back_as_the_normalized_body(
            body in proptest::collection::vec(
                prop_oneof![Just(b'.'), Just(b'\r'), Just(b'\n'), Just(b'x'), any::<u8>()],
                0..200,
            ),
            cuts in proptest::collection::vec(0usize..200, 0..6),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(body.len())).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut from = 0;
            for cut in cuts {
                chunks.push(&body[from..cut]);
                from = cut;
            }
            chunks.push(&body[from..]);
            let wire = stuffed(&chunks);
            prop_assert_eq!(&wire, &stuffed(&[&body]));
            prop_assert!(wire.len() <= 2 * body.len() + 5);
            // No bare CR or LF reaches the wire.
            for (i, &b) in wire.iter().enumerate() {
                match b {
                    b'\r' => prop_assert_eq!(wire.get(i + 1), Some(&b'\n')),
                    b'\n' => prop_assert_eq!(wire[i - 1], b'\r'),
                    _ => {}
                }
            }
            let mut normalized = Vec::new();
            let mut bytes = body.iter().peekable();
            while let Some(&b) = bytes.next() {
                match b {
                    b'\r' => {
                        normalized.extend_from_slice(b"\r\n");
                        bytes.next_if_eq(&&b'\n');
                    }
                    b'\n' => normalized.extend_from_slice(b"\r\n"),
                    b => normalized.push(b),
                }
            }
            if !body.is_empty() && !normalized.ends_with(b"\r\n") {
                normalized.extend_from_slice(b"\r\n");
            }
            prop_assert_eq!(unstuff(&wire), Some(normalized));
        }
    }
}
