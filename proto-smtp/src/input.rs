//! The bounded buffer of bytes received but not yet processed, and the
//! extraction of command lines from it.

use std::ops::Range;

/// Longest command line, CRLF included (RFC 5321 4.5.3.1.4). SASL responses
/// share the limit.
pub(crate) const LINE_LIMIT: usize = 1000;

/// Most unprocessed bytes held at once: room for a pipelined burst of commands
/// (RFC 2920) plus one maximal line.
pub(crate) const INPUT_LIMIT: usize = 8 * 1024 + LINE_LIMIT;

/// Unprocessed input. Consumed bytes stay in front until the next append, so
/// lines can be referred to by range while the session handles them.
#[derive(Debug, Default)]
pub(crate) struct InputBuffer {
    buf: Vec<u8>,
    /// Start of the unprocessed bytes.
    pos: usize,
    /// Inside an over-long line: drop everything up to the next LF.
    discarding: bool,
}

/// Outcome of looking for the next line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A complete line; the range (into [`InputBuffer::line`]) excludes CRLF or LF.
    Complete(Range<usize>),
    /// The line exceeds [`LINE_LIMIT`]; its start was dropped and the rest will be.
    TooLong,
    /// No complete line buffered.
    Incomplete,
}

impl InputBuffer {
    /// Unprocessed bytes.
    pub(crate) fn len(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub(crate) fn pending(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.buf.len());
    }

    /// Appends received bytes, first dropping the processed ones (which
    /// invalidates earlier line ranges).
    pub(crate) fn extend(&mut self, data: &[u8]) {
        self.buf.drain(..self.pos);
        self.pos = 0;
        self.buf.extend_from_slice(data);
    }

    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
        self.discarding = false;
    }

    /// The bytes of a line returned by [`InputBuffer::next_line`].
    pub(crate) fn line(&self, range: Range<usize>) -> &[u8] {
        self.buf.get(range).unwrap_or_default()
    }

    /// Takes the next line. A bare LF ends a command line too: lenient, and
    /// harmless outside message bodies.
    pub(crate) fn next_line(&mut self) -> Line {
        if self.discarding {
            match line_len(self.pending()) {
                Some(len) => {
                    self.consume(len);
                    self.discarding = false;
                }
                None => {
                    self.consume(self.len());
                    return Line::Incomplete;
                }
            }
        }
        let pending = self.pending();
        let window = pending.get(..LINE_LIMIT).unwrap_or(pending);
        match line_len(window) {
            Some(len) => {
                let line = window.get(..len).unwrap_or_default();
                let line = line.strip_suffix(b"\n").unwrap_or(line);
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let start = self.pos;
                // The line lies inside `buf`, so its end offset cannot overflow.
                let end = start.saturating_add(line.len());
                self.consume(len);
                Line::Complete(start..end)
            }
            None if pending.len() >= LINE_LIMIT => {
                self.consume(LINE_LIMIT);
                self.discarding = true;
                Line::TooLong
            }
            None => Line::Incomplete,
        }
    }
}

/// Length of the first line in `bytes`, its LF included; `None` without an LF.
fn line_len(bytes: &[u8]) -> Option<usize> {
    let lf = bytes.iter().position(|&b| b == b'\n')?;
    // An index into a slice is below `isize::MAX`: one more cannot overflow.
    Some(lf.saturating_add(1))
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    fn next(buf: &mut InputBuffer) -> Option<Vec<u8>> {
        match buf.next_line() {
            Line::Complete(r) => Some(buf.line(r).to_vec()),
            _ => None,
        }
    }

    #[test]
    fn splits_crlf_and_lf_lines() {
        let mut buf = InputBuffer::default();
        buf.extend(b"A\r\nB\nC");
        assert_eq!(next(&mut buf).unwrap(), b"A");
        assert_eq!(next(&mut buf).unwrap(), b"B");
        assert_eq!(buf.next_line(), Line::Incomplete);
        buf.extend(b"\r\n");
        assert_eq!(next(&mut buf).unwrap(), b"C");
        assert_eq!(buf.len(), 0);
    }

    #[test]
    fn limit_is_inclusive_of_crlf() {
        let mut buf = InputBuffer::default();
        let mut line = vec![b'a'; LINE_LIMIT - 2];
        line.extend_from_slice(b"\r\n");
        buf.extend(&line);
        assert_eq!(next(&mut buf).unwrap().len(), LINE_LIMIT - 2);
    }

    #[test]
    fn too_long_line_is_discarded_to_its_end() {
        let mut buf = InputBuffer::default();
        buf.extend(&vec![b'a'; LINE_LIMIT + 5]);
        assert_eq!(buf.next_line(), Line::TooLong);
        assert_eq!(buf.next_line(), Line::Incomplete);
        assert_eq!(buf.len(), 0);
        buf.extend(b"aaa\r\nNOOP\r\n");
        assert_eq!(next(&mut buf).unwrap(), b"NOOP");
    }
}
