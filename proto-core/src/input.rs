//! Received bytes waiting to be processed, and the command lines in them.
//!
//! Clients pipeline: one read may carry several command lines, or half of
//! one. [`InputBuffer`] keeps what arrived until the session gets to it and
//! hands it out a line at a time, under two bounds that keep a hostile client
//! from growing it: the bytes held at all, fixed per buffer, and the length of
//! one line, given per call because a protocol may allow different lengths at
//! different moments (POP3: 255 octets for a command, 4 KiB for a SASL
//! response).

use std::ops::Range;

/// Unprocessed input, never more than the bound given to [`InputBuffer::new`].
///
/// Processed bytes are dropped on the next [`extend`](Self::extend) only, so a
/// line handed out by range stays valid while the session acts on it. `Debug`
/// shows how much is held, not what: input may hold a password.
pub struct InputBuffer {
    bytes: Vec<u8>,
    /// Where the unprocessed bytes start.
    start: usize,
    /// The rest of an over-long line is being dropped.
    skipping: bool,
    /// Most bytes held at once.
    bound: usize,
}

impl std::fmt::Debug for InputBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputBuffer")
            .field("pending", &self.len())
            .field("bound", &self.bound)
            .field("skipping", &self.skipping)
            .finish_non_exhaustive()
    }
}

/// Where a session keeps the bytes it received and has not processed: an
/// [`InputBuffer`] for the line protocols, IMAP's command framer. The
/// skeleton feeds it and bounds it through this interface; the protocol
/// reads it its own way.
pub trait Input {
    /// How many more bytes it takes now.
    fn room(&self) -> usize;
    /// Takes what fits of `data`; returns how much.
    fn feed(&mut self, data: &[u8]) -> usize;
    /// Unprocessed bytes held.
    fn buffered(&self) -> usize;
    /// Drops every unprocessed byte.
    fn discard(&mut self);
    /// Gives back the buffer's memory if it holds no unprocessed byte: the runtime is about
    /// to wait for more, maybe for hours, and the next bytes need no more room than a new
    /// buffer has.
    fn rest(&mut self);
}

impl Input for InputBuffer {
    fn room(&self) -> usize {
        InputBuffer::room(self)
    }

    fn feed(&mut self, data: &[u8]) -> usize {
        self.extend(data)
    }

    fn buffered(&self) -> usize {
        self.len()
    }

    fn discard(&mut self) {
        self.clear();
    }

    fn rest(&mut self) {
        if self.is_empty() {
            self.bytes = Vec::new();
            self.start = 0;
        }
    }
}

/// What [`InputBuffer::next_line`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A whole line, as a range for [`InputBuffer::line`], without its CRLF
    /// (or bare LF).
    Complete(Range<usize>),
    /// A line longer than the limit: what arrived of it is gone, and the rest
    /// will be dropped up to its LF. Reported once per line.
    TooLong,
    /// The line has not ended yet.
    Incomplete,
}

impl InputBuffer {
    /// An empty buffer that holds at most `bound` bytes. It allocates nothing
    /// until input arrives, so `InputBuffer::new(0)` is a free stand-in while
    /// the real buffer is lent out.
    pub const fn new(bound: usize) -> Self {
        Self {
            bytes: Vec::new(),
            start: 0,
            skipping: false,
            bound,
        }
    }

    /// Takes the buffer out of its place, leaving a stand-in that holds and
    /// allocates nothing: a session lends its input out this way while a
    /// command borrowed from it is handled by code that needs the whole
    /// session, then puts it back.
    pub fn lend(&mut self) -> Self {
        std::mem::replace(self, Self::new(0))
    }

    /// Unprocessed bytes.
    pub fn len(&self) -> usize {
        self.pending().len()
    }

    /// Whether no unprocessed byte is left.
    pub fn is_empty(&self) -> bool {
        self.pending().is_empty()
    }

    /// How many more bytes [`extend`](Self::extend) takes now.
    pub fn room(&self) -> usize {
        self.bound.saturating_sub(self.len())
    }

    /// Takes as much of `data` as there is [`room`](Self::room) for and says
    /// how much that was. Processed bytes are dropped first, so ranges handed
    /// out before are invalid afterwards.
    pub fn extend(&mut self, data: &[u8]) -> usize {
        self.bytes.drain(..self.start);
        self.start = 0;
        let taken = data.get(..self.room()).unwrap_or(data);
        self.bytes.extend_from_slice(taken);
        taken.len()
    }

    /// The unprocessed bytes, for data that is not read by lines (an SMTP
    /// message body).
    pub fn pending(&self) -> &[u8] {
        self.bytes.get(self.start..).unwrap_or_default()
    }

    /// Marks the next `n` bytes processed (all of them, if fewer remain).
    pub fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.bytes.len());
    }

    /// Drops everything, the remainder of an over-long line included: what a
    /// session does when the connection changes under it (STARTTLS).
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.start = 0;
        self.skipping = false;
    }

    /// The line behind a range from [`next_line`](Self::next_line).
    pub fn line(&self, range: Range<usize>) -> &[u8] {
        self.bytes.get(range).unwrap_or_default()
    }

    /// Takes the next line of at most `limit` octets, line end included; a
    /// limit beyond the buffer's bound is the bound. A bare LF ends a line
    /// too: clients are sloppy, and it is harmless outside message bodies,
    /// which are not read as lines.
    pub fn next_line(&mut self, limit: usize) -> Line {
        // A line must fit in the buffer, and its end is an octet at least.
        let limit = limit.min(self.bound).max(1);
        if self.skipping {
            let Some(len) = line_len(self.pending()) else {
                self.start = self.bytes.len();
                return Line::Incomplete;
            };
            self.consume(len);
            self.skipping = false;
        }
        let pending = self.pending();
        let searched = pending.get(..limit).unwrap_or(pending);
        if let Some(len) = line_len(searched) {
            let content = strip_line_end(searched.get(..len).unwrap_or_default()).len();
            let begin = self.start;
            self.consume(len);
            // The line lies inside `bytes`, so its end offset cannot overflow.
            return Line::Complete(begin..begin.saturating_add(content));
        }
        if pending.len() < limit {
            return Line::Incomplete;
        }
        self.consume(limit);
        self.skipping = true;
        Line::TooLong
    }
}

/// Length of the first line in `bytes`, its LF included; `None` until the LF
/// has arrived.
pub fn line_len(bytes: &[u8]) -> Option<usize> {
    let lf = bytes.iter().position(|&b| b == b'\n')?;
    // An index into a slice is below `isize::MAX`: one more cannot overflow.
    Some(lf.saturating_add(1))
}

/// A line without its CRLF or bare LF.
pub fn strip_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    /// SMTP's command line limit (RFC 5321 4.5.3.1.4).
    const LIMIT: usize = 1000;

    fn take(buf: &mut InputBuffer, limit: usize) -> Option<String> {
        match buf.next_line(limit) {
            Line::Complete(range) => Some(String::from_utf8_lossy(buf.line(range)).into_owned()),
            _ => None,
        }
    }

    #[test]
    fn lines_end_in_crlf_or_lf() {
        let mut buf = InputBuffer::new(8192);
        buf.extend(b"STAT\r\nNOOP\nLI");
        assert_eq!(take(&mut buf, 255).as_deref(), Some("STAT"));
        assert_eq!(take(&mut buf, 255).as_deref(), Some("NOOP"));
        assert_eq!(buf.next_line(255), Line::Incomplete);
        buf.extend(b"ST\r\n");
        assert_eq!(take(&mut buf, 255).as_deref(), Some("LIST"));
        assert!(buf.is_empty());
        // Only the CR of the line end goes.
        buf.extend(b"A\rB\r\r\n");
        assert_eq!(take(&mut buf, 255).as_deref(), Some("A\rB\r"));
    }

    #[test]
    fn limit_counts_the_line_end() {
        let mut buf = InputBuffer::new(8192);
        buf.extend(format!("{}\r\n", "a".repeat(LIMIT - 2)).as_bytes());
        assert_eq!(take(&mut buf, LIMIT).map(|l| l.len()), Some(LIMIT - 2));
        buf.extend(format!("{}\n", "a".repeat(LIMIT - 1)).as_bytes());
        assert_eq!(take(&mut buf, LIMIT).map(|l| l.len()), Some(LIMIT - 1));
        buf.extend(format!("{}\r\n", "a".repeat(LIMIT - 1)).as_bytes());
        assert_eq!(buf.next_line(LIMIT), Line::TooLong);
        assert_eq!(buf.next_line(LIMIT), Line::Incomplete);
        assert!(buf.is_empty());
    }

    #[test]
    fn over_long_line_is_dropped_up_to_its_end() {
        let mut buf = InputBuffer::new(8192);
        buf.extend(&[b'x'; 300]);
        assert_eq!(buf.next_line(255), Line::TooLong);
        assert_eq!(buf.next_line(255), Line::Incomplete);
        assert!(buf.is_empty());
        buf.extend(b"xx\r\nQUIT\r\n");
        assert_eq!(take(&mut buf, 255).as_deref(), Some("QUIT"));
        // A longer limit accepts what the command limit refuses.
        buf.extend(format!("{}\r\n", "b".repeat(1000)).as_bytes());
        assert_eq!(take(&mut buf, 4096).map(|l| l.len()), Some(1000));
    }

    #[test]
    fn rest_keeps_unprocessed_bytes_and_gives_back_the_rest() {
        let mut buf = InputBuffer::new(LIMIT);
        buf.extend(b"NOOP\r\nQU");
        assert_eq!(take(&mut buf, LIMIT).as_deref(), Some("NOOP"));
        buf.rest();
        assert_eq!(buf.pending(), b"QU");
        buf.extend(b"IT\r\n");
        assert_eq!(take(&mut buf, LIMIT).as_deref(), Some("QUIT"));
        buf.rest();
        assert_eq!(buf.bytes.capacity(), 0);
        buf.extend(b"HELO\r\n");
        assert_eq!(take(&mut buf, LIMIT).as_deref(), Some("HELO"));
    }

    #[test]
    fn clear_forgets_a_partial_line() {
        let mut buf = InputBuffer::new(8192);
        buf.extend(&[b'x'; 300]);
        assert_eq!(buf.next_line(255), Line::TooLong);
        buf.clear();
        buf.extend(b"NOOP\r\n");
        assert_eq!(take(&mut buf, 255).as_deref(), Some("NOOP"));
    }

    #[test]
    fn holds_no_more_than_its_bound() {
        let mut buf = InputBuffer::new(10);
        assert_eq!(buf.extend(b"NOOP\r\nQUIT\r\nRSET\r\n"), 10);
        assert_eq!((buf.len(), buf.room()), (10, 0));
        assert_eq!(take(&mut buf, LIMIT).as_deref(), Some("NOOP"));
        assert_eq!(buf.room(), 6);
        assert_eq!(buf.extend(b"\r\nRSET\r\n"), 6);
        assert_eq!(take(&mut buf, LIMIT).as_deref(), Some("QUIT"));
        // A full buffer without a line end is an over-long line, whatever the
        // limit asked for: waiting would never end.
        let mut buf = InputBuffer::new(10);
        buf.extend(&[b'x'; 20]);
        assert_eq!(buf.next_line(LIMIT), Line::TooLong);
        assert_eq!(InputBuffer::new(0).extend(b"x"), 0);
        assert_eq!(InputBuffer::new(0).next_line(LIMIT), Line::Incomplete);
    }

    #[test]
    fn raw_bytes_are_consumed_past_lines() {
        let mut buf = InputBuffer::new(100);
        buf.extend(b"DATA\r\nbody");
        assert_eq!(take(&mut buf, LIMIT).as_deref(), Some("DATA"));
        assert_eq!(buf.pending(), b"body");
        buf.consume(2);
        assert_eq!(buf.pending(), b"dy");
        buf.consume(10);
        assert!(buf.is_empty());
    }
}
