//! Spooling that also summarizes: while a message is written to the store's spool, its
//! first bytes are kept so that the summary IMAP needs (ENVELOPE, BODYSTRUCTURE, part
//! offsets, sort and thread keys) is derived once, at delivery, and stored in the same
//! commit. Messages too large to keep are summarized on first use instead.

use std::io::{self, Write};

use crate::mail::Summary;
use crate::store::Spool;

/// Messages up to this size are summarized at delivery.
const SUMMARIZE_MAX: usize = 256 * 1024;

/// A store spool and a copy of the message while it is small enough.
pub struct SummarizingSpool<W> {
    inner: W,
    /// The message so far; `None` once it grew past [`SUMMARIZE_MAX`].
    copy: Option<Vec<u8>>,
    hops: HopCounter,
}

/// Counts the `Received:` fields of a message's header as it streams by: each is a hop,
/// and a message that went through too many is caught in a loop (RFC 5321 6.3).
#[derive(Default)]
struct HopCounter {
    /// The first bytes of the current line: enough to recognise `Received:`.
    line: Vec<u8>,
    hops: usize,
    /// The blank line that ends the header was seen.
    done: bool,
}

impl HopCounter {
    const FIELD: &'static [u8] = b"received:";

    fn feed(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if self.done {
                return;
            }
            if byte == b'\n' {
                let line = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
                if line.is_empty() {
                    self.done = true;
                } else if line.len() >= Self::FIELD.len()
                    && line[..Self::FIELD.len()].eq_ignore_ascii_case(Self::FIELD)
                {
                    self.hops += 1;
                }
                self.line.clear();
            } else if self.line.len() < Self::FIELD.len() + 1 {
                self.line.push(byte);
            }
        }
    }
}

impl<W: Spool> SummarizingSpool<W> {
    pub fn new(inner: W) -> Self {
        SummarizingSpool {
            inner,
            copy: Some(Vec::new()),
            hops: HopCounter::default(),
        }
    }

    /// The `Received:` fields of the message so far: how many servers it went through.
    pub fn hops(&self) -> usize {
        self.hops.hops
    }

    /// Whether the message so far is kept in memory (it is small enough to summarize).
    pub fn is_kept(&self) -> bool {
        self.copy.is_some()
    }

    /// The message so far, for checks that need it whole: the copy kept for the summary,
    /// else read back from the store's spool.
    pub fn contents(&mut self) -> io::Result<Vec<u8>> {
        match &self.copy {
            Some(copy) => Ok(copy.clone()),
            None => self.inner.read_back(),
        }
    }

    /// Puts `header` before the message (see [`Spool::prepend`]).
    pub fn prepend(&mut self, header: &[u8]) -> io::Result<()> {
        self.inner.prepend(header)?;
        if let Some(copy) = &mut self.copy {
            if copy.len() + header.len() > SUMMARIZE_MAX {
                self.copy = None;
            } else {
                copy.splice(0..0, header.iter().copied());
            }
        }
        Ok(())
    }

    /// The spool to store, with the message's summary attached when it was kept.
    pub fn finish(mut self) -> W {
        if let Some(copy) = self.copy.take() {
            self.inner.attach_summary(Summary::derive(&copy).to_bytes());
        }
        self.inner
    }
}

impl<W: Spool> Write for SummarizingSpool<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.hops.feed(&bytes[..written]);
        if let Some(copy) = &mut self.copy {
            if copy.len() + written > SUMMARIZE_MAX {
                self.copy = None;
            } else {
                copy.extend_from_slice(&bytes[..written]);
            }
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::HopCounter;

    #[test]
    fn received_fields_of_the_header_are_counted_however_the_bytes_come() {
        let message = b"Received: a\r\nRECEIVED:b\r\n received: folded\r\nX-Received: no\r\n\
                        Subject: x\r\n\r\nReceived: in the body\r\n";
        for split in 1..message.len() {
            let mut counter = HopCounter::default();
            for chunk in message.chunks(split) {
                counter.feed(chunk);
            }
            assert_eq!(counter.hops, 2, "split every {split} bytes");
        }
    }
}
