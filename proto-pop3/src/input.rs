//! Received bytes waiting to be processed, and the command lines in them.

use std::ops::Range;

/// Longest command line, CRLF included (RFC 2449 4).
pub(crate) const COMMAND_LINE: usize = 255;

/// Longest SASL response line, CRLF included. RFC 5034 sets no limit; a PLAIN
/// response with generous names and password fits easily.
pub(crate) const SASL_LINE: usize = 4 * 1024;

/// Most unprocessed bytes held at once: a pipelined burst of commands, and
/// always room for one line of either kind.
pub(crate) const INPUT_LIMIT: usize = 8 * 1024;

/// Unprocessed input. Processed bytes are dropped on the next append only, so
/// a line handed out by range stays valid while the session acts on it.
#[derive(Debug, Default)]
pub(crate) struct InputBuffer {
    bytes: Vec<u8>,
    /// Where the unprocessed bytes start.
    start: usize,
    /// The rest of an over-long line is being dropped.
    skipping: bool,
}

/// What [`InputBuffer::next_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A whole line, as a range for [`InputBuffer::line`], without CRLF (or LF).
    Complete(Range<usize>),
    /// A line longer than the limit: what arrived is gone, the rest will be.
    TooLong,
    /// The line has not ended yet.
    Incomplete,
}

impl InputBuffer {
    /// Unprocessed bytes.
    pub(crate) fn len(&self) -> usize {
        self.unprocessed().len()
    }

    fn unprocessed(&self) -> &[u8] {
        self.bytes.get(self.start..).unwrap_or_default()
    }

    /// Marks the next `n` bytes processed (all of them, if fewer remain).
    fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.bytes.len());
    }

    /// Appends received bytes; ranges handed out before are invalid afterwards.
    pub(crate) fn extend(&mut self, data: &[u8]) {
        self.bytes.drain(..self.start);
        self.start = 0;
        self.bytes.extend_from_slice(data);
    }

    /// Drops everything, including the remainder of an over-long line.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.start = 0;
        self.skipping = false;
    }

    /// The line behind a range from [`InputBuffer::next_line`].
    pub(crate) fn line(&self, range: Range<usize>) -> &[u8] {
        self.bytes.get(range).unwrap_or_default()
    }

    /// Takes the next line of at most `limit` octets, line end included. A
    /// bare LF ends a line too: clients are sloppy and no message body ever
    /// travels from client to server in POP3.
    pub(crate) fn next_line(&mut self, limit: usize) -> Line {
        if self.skipping {
            let Some(len) = line_len(self.unprocessed()) else {
                self.start = self.bytes.len();
                return Line::Incomplete;
            };
            self.consume(len);
            self.skipping = false;
        }
        let unprocessed = self.unprocessed();
        let searched = unprocessed.get(..limit).unwrap_or(unprocessed);
        if let Some(len) = line_len(searched) {
            let line = searched.get(..len).unwrap_or_default();
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            let content = line.strip_suffix(b"\r").unwrap_or(line).len();
            let begin = self.start;
            self.consume(len);
            // The line lies inside `bytes`, so its end offset cannot overflow.
            return Line::Complete(begin..begin.saturating_add(content));
        }
        if unprocessed.len() < limit {
            return Line::Incomplete;
        }
        self.consume(limit);
        self.skipping = true;
        Line::TooLong
    }
}

/// Length of the first line in `bytes`, its LF included; `None` without an LF.
fn line_len(bytes: &[u8]) -> Option<usize> {
    let lf = bytes.iter().position(|&b| b == b'\n')?;
    // An index into a slice is below `isize::MAX`: one more cannot overflow.
    Some(lf.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(buf: &mut InputBuffer, limit: usize) -> Option<String> {
        match buf.next_line(limit) {
            Line::Complete(range) => Some(String::from_utf8_lossy(buf.line(range)).into_owned()),
            _ => None,
        }
    }

    #[test]
    fn lines_end_in_crlf_or_lf() {
        let mut buf = InputBuffer::default();
        buf.extend(b"STAT\r\nNOOP\nLI");
        assert_eq!(take(&mut buf, COMMAND_LINE).as_deref(), Some("STAT"));
        assert_eq!(take(&mut buf, COMMAND_LINE).as_deref(), Some("NOOP"));
        assert_eq!(buf.next_line(COMMAND_LINE), Line::Incomplete);
        buf.extend(b"ST\r\n");
        assert_eq!(take(&mut buf, COMMAND_LINE).as_deref(), Some("LIST"));
        assert_eq!(buf.len(), 0);
    }

    #[test]
    fn limit_counts_the_line_end() {
        let mut buf = InputBuffer::default();
        buf.extend(format!("{}\r\n", "a".repeat(COMMAND_LINE - 2)).as_bytes());
        assert_eq!(take(&mut buf, COMMAND_LINE).map(|l| l.len()), Some(253));
        buf.extend(format!("{}\r\n", "a".repeat(COMMAND_LINE - 1)).as_bytes());
        assert_eq!(buf.next_line(COMMAND_LINE), Line::TooLong);
        assert_eq!(buf.next_line(COMMAND_LINE), Line::Incomplete);
        assert_eq!(buf.len(), 0);
    }

    #[test]
    fn over_long_line_is_dropped_up_to_its_end() {
        let mut buf = InputBuffer::default();
        buf.extend(&[b'x'; 300]);
        assert_eq!(buf.next_line(COMMAND_LINE), Line::TooLong);
        assert_eq!(buf.next_line(COMMAND_LINE), Line::Incomplete);
        buf.extend(b"xx\r\nQUIT\r\n");
        assert_eq!(take(&mut buf, COMMAND_LINE).as_deref(), Some("QUIT"));
        // A longer limit accepts what the command limit refuses.
        buf.extend(format!("{}\r\n", "b".repeat(1000)).as_bytes());
        assert_eq!(take(&mut buf, SASL_LINE).map(|l| l.len()), Some(1000));
    }

    #[test]
    fn clear_forgets_a_partial_line() {
        let mut buf = InputBuffer::default();
        buf.extend(&[b'x'; 300]);
        assert_eq!(buf.next_line(COMMAND_LINE), Line::TooLong);
        buf.clear();
        buf.extend(b"NOOP\r\n");
        assert_eq!(take(&mut buf, COMMAND_LINE).as_deref(), Some("NOOP"));
    }
}
