//! Where a command ends. A ManageSieve command is one line, unless it carries a literal:
//! a line ending in `{n+}` (or `{n}`) is followed by n octets, and the command goes on after
//! them to the end of another line (RFC 5804 §4). Scripts travel as literals, line ends and
//! all, so a command is cut out of the input by counting, not by looking for a line end.
//!
//! A command longer than the session's limit is never held: from the moment it is known to
//! be too long, its octets are dropped as they arrive (a few are kept at a time, to see a
//! literal announced at the end of a line), and the session is told once it has ended.

use proto_core::input::{InputBuffer, line_len, strip_line_end};

/// Octets kept of a line being dropped: a literal marker at its end fits (`{`, 20 digits,
/// `+}`, CR).
const MARKER: usize = 24;

/// What [`Framer::next`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A whole command: the first `len` octets of the input, its last line end included.
    Complete(usize),
    /// A command longer than the limit ended; its octets are gone. `script`: it was a
    /// `PUTSCRIPT` or `CHECKSCRIPT`, whose script was too large.
    TooLong { script: bool },
    /// The command has not all arrived.
    Incomplete,
}

/// How far the next command has been read.
#[derive(Debug, Default)]
pub(crate) struct Framer {
    /// Octets of the input known to belong to the command.
    scanned: usize,
    /// Where the line being read starts: after the command's last literal, or at its
    /// start. Only this line can announce a literal.
    line: usize,
    /// Octets of a literal still to come.
    literal: u64,
    /// The command is too long and is being dropped; `Some(true)` for a script command.
    dropping: Option<bool>,
}

impl Framer {
    /// Looks for the end of the next command in `input`, holding at most `limit` octets of
    /// it. Octets of a command being dropped are consumed here; a complete command is left
    /// for the caller to read and consume.
    pub(crate) fn next(&mut self, input: &mut InputBuffer, limit: usize) -> Frame {
        loop {
            let pending = input.pending();
            if self.literal > 0 {
                let arrived = pending.len().saturating_sub(self.scanned);
                let taken = u64::try_from(arrived).map_or(self.literal, |n| n.min(self.literal));
                self.literal = self.literal.saturating_sub(taken);
                // `taken` is at most `arrived`, a usize.
                self.scanned = self
                    .scanned
                    .saturating_add(usize::try_from(taken).unwrap_or(usize::MAX));
                if self.literal > 0 {
                    self.shed(input);
                    return Frame::Incomplete;
                }
                self.line = self.scanned;
                continue;
            }
            let rest = pending.get(self.scanned..).unwrap_or_default();
            let Some(len) = line_len(rest) else {
                if self.dropping.is_none() && pending.len() >= limit {
                    self.dropping = Some(is_script_command(pending));
                }
                self.scanned = pending.len();
                self.shed(input);
                return Frame::Incomplete;
            };
            let end = self.scanned.saturating_add(len);
            let line = strip_line_end(pending.get(self.line..end).unwrap_or_default());
            self.scanned = end;
            if let Some(octets) = literal_marker(line) {
                self.literal = octets;
                self.line = end;
                let total = u64::try_from(end).map_or(u64::MAX, |n| n.saturating_add(octets));
                if self.dropping.is_none() && total > u64::try_from(limit).unwrap_or(u64::MAX) {
                    self.dropping = Some(is_script_command(pending));
                }
                continue;
            }
            self.scanned = 0;
            self.line = 0;
            return match self.dropping.take() {
                Some(script) => {
                    input.consume(end);
                    Frame::TooLong { script }
                }
                None => Frame::Complete(end),
            };
        }
    }

    /// Drops what was read of a command being dropped, but the last octets of a line,
    /// which may yet end in a literal marker.
    fn shed(&mut self, input: &mut InputBuffer) {
        if self.dropping.is_none() {
            return;
        }
        let keep = if self.literal > 0 { 0 } else { MARKER };
        let dropped = self.scanned.saturating_sub(keep);
        input.consume(dropped);
        self.scanned = self.scanned.saturating_sub(dropped);
        self.line = self.line.saturating_sub(dropped);
    }
}

/// The octet count of a literal announced at the end of `line` (`{n+}` or `{n}`); a count
/// that does not fit is the most there can be, so that it is dropped.
pub(crate) fn literal_marker(line: &[u8]) -> Option<u64> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = inner.get(open.saturating_add(1)..)?;
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .try_fold(0u64, |n, &d| {
                n.checked_mul(10)?
                    .checked_add(u64::from(d.wrapping_sub(b'0')))
            })
            .unwrap_or(u64::MAX),
    )
}

/// Whether the command starting `bytes` carries a script: `PUTSCRIPT` or `CHECKSCRIPT`.
fn is_script_command(bytes: &[u8]) -> bool {
    let name = bytes.split(|&b| b == b' ').next().unwrap_or_default();
    name.eq_ignore_ascii_case(b"PUTSCRIPT") || name.eq_ignore_ascii_case(b"CHECKSCRIPT")
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    fn feed(input: &mut InputBuffer, framer: &mut Framer, bytes: &[u8], limit: usize) -> Frame {
        assert_eq!(input.extend(bytes), bytes.len());
        framer.next(input, limit)
    }

    #[test]
    fn markers() {
        assert_eq!(literal_marker(b"PUTSCRIPT \"a\" {12+}"), Some(12));
        assert_eq!(literal_marker(b"PUTSCRIPT \"a\" {0}"), Some(0));
        assert_eq!(
            literal_marker(b"X {99999999999999999999999+}"),
            Some(u64::MAX)
        );
        assert_eq!(literal_marker(b"X {+}"), None);
        assert_eq!(literal_marker(b"X {1a}"), None);
        assert_eq!(literal_marker(b"X \"{1}\""), None);
        assert_eq!(literal_marker(b"LISTSCRIPTS"), None);
    }

    #[test]
    fn a_line_or_a_line_with_literals() {
        let (mut input, mut framer) = (InputBuffer::new(1024), Framer::default());
        assert_eq!(
            feed(&mut input, &mut framer, b"LISTSCRIPTS\r\n", 1024),
            Frame::Complete(13)
        );
        input.consume(13);
        let command = b"PUTSCRIPT {1+}\r\na {5+}\r\nk\r\n\r\n\r\n";
        assert_eq!(
            feed(&mut input, &mut framer, &command[..20], 1024),
            Frame::Incomplete
        );
        assert_eq!(
            feed(&mut input, &mut framer, &command[20..], 1024),
            Frame::Complete(command.len())
        );
        input.consume(command.len());
        // A literal's own text announces nothing, even where the line goes on after it.
        let command = b"PUTSCRIPT \"s\" {5+}\r\nabc{5}\r\n";
        assert_eq!(
            feed(&mut input, &mut framer, command, 1024),
            Frame::Complete(command.len())
        );
    }

    #[test]
    fn a_script_too_large_is_dropped_as_it_comes() {
        let (mut input, mut framer) = (InputBuffer::new(64), Framer::default());
        assert_eq!(
            feed(
                &mut input,
                &mut framer,
                b"PUTSCRIPT \"big\" {1000+}\r\n",
                64
            ),
            Frame::Incomplete
        );
        for _ in 0..20 {
            assert_eq!(
                feed(&mut input, &mut framer, &[b'x'; 50], 64),
                Frame::Incomplete
            );
            assert!(input.len() <= MARKER);
        }
        assert_eq!(
            feed(&mut input, &mut framer, b"\r\nNOOP\r\n", 64),
            Frame::TooLong { script: true }
        );
        assert_eq!(framer.next(&mut input, 64), Frame::Complete(6));
    }

    #[test]
    fn a_long_line_is_dropped_literals_after_it_too() {
        let (mut input, mut framer) = (InputBuffer::new(64), Framer::default());
        assert_eq!(
            feed(&mut input, &mut framer, &[b'a'; 64], 64),
            Frame::Incomplete
        );
        assert!(input.len() <= MARKER);
        assert_eq!(
            feed(&mut input, &mut framer, b"aaa {3+}\r\n\r\n\r", 64),
            Frame::Incomplete
        );
        assert_eq!(
            feed(&mut input, &mut framer, b"\nLOGOUT\r\n", 64),
            Frame::TooLong { script: false }
        );
        assert_eq!(framer.next(&mut input, 64), Frame::Complete(8));
    }
}
