//! Spooling that also summarizes: while a message is written to the store's spool, its
//! first bytes are kept so that the summary IMAP needs (ENVELOPE, BODYSTRUCTURE, part
//! offsets, sort and thread keys), its search filter and its header section apart are
//! derived once, at delivery, and stored in the same commit. Messages too large to keep get them on first use instead.

use std::io::{self, Write};

use crate::io::Executor;
use crate::mail::{self, Summary};
use crate::store::{BlobFact, Spool};

/// Bytes of a message a driver gathers from its client before the blocking pool writes them
/// to the spool: writing (to a file, once a message is large) and hashing a body are
/// blocking work, kept off the async threads.
pub const STAGED_MAX: usize = 32 * 1024;

/// Writes `staged` to `spool` on the blocking pool. Gives the spool back, and the buffer
/// emptied with its room kept for what comes next.
pub async fn write_staged<W: Write + Send + 'static>(
    executor: &impl Executor,
    mut spool: W,
    mut staged: Vec<u8>,
) -> (W, Vec<u8>, io::Result<()>) {
    executor
        .unblock(move || {
            let written = spool.write_all(&staged);
            staged.clear();
            (spool, staged, written)
        })
        .await
}

/// Messages up to this size are summarized at delivery.
const SUMMARIZE_MAX: usize = 256 * 1024;

/// A message's header section is kept up to this size, for the checks made on it at the
/// end (whose `From:` it is); Postfix's `header_size_limit` is 100 KiB.
const HEADER_KEEP: usize = 100 * 1024;

/// A store spool and a copy of the message while it is small enough.
pub struct SummarizingSpool<W> {
    inner: W,
    /// The message so far; `None` once it grew past [`SUMMARIZE_MAX`].
    copy: Option<Vec<u8>>,
    header: HeaderScan,
    /// The fields put before the message ([`prepend`](Self::prepend)): its trace and the
    /// checks' results, which filters look at too.
    prepended: Vec<u8>,
}

/// Reads a message's header section as it streams by: counts its `Received:` fields (each
/// is a hop, and a message that went through too many is caught in a loop, RFC 5321 6.3)
/// and keeps it, up to [`HEADER_KEEP`].
#[derive(Default)]
struct HeaderScan {
    /// The first bytes of the current line: enough to recognise `Received:`.
    line: Vec<u8>,
    hops: usize,
    /// The blank line that ends the header was seen.
    done: bool,
    /// The header section so far, up to a little past [`HEADER_KEEP`].
    kept: Vec<u8>,
}

impl HeaderScan {
    const FIELD: &'static [u8] = b"received:";

    fn feed(&mut self, bytes: &[u8]) {
        if !self.done {
            self.keep(bytes);
        }
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

    /// Keeps `bytes`, up to a little past [`HEADER_KEEP`] (enough to see whether the
    /// header ended within it); what runs past the header is trimmed when it is read.
    fn keep(&mut self, bytes: &[u8]) {
        let room = (HEADER_KEEP + 4).saturating_sub(self.kept.len());
        self.kept
            .extend_from_slice(bytes.get(..bytes.len().min(room)).unwrap_or_default());
    }

    /// The complete header section, blank line excluded; `None` when it was too long to
    /// keep.
    fn header(&self) -> Option<&[u8]> {
        let end = match header_end(&self.kept) {
            Some(end) => end,
            // A message that is all header.
            None if self.kept.len() <= HEADER_KEEP => self.kept.len(),
            None => return None,
        };
        self.kept.get(..end).filter(|_| end <= HEADER_KEEP)
    }
}

/// Where the blank line that ends a header section starts, if it is in `bytes`.
fn header_end(bytes: &[u8]) -> Option<usize> {
    if bytes.starts_with(b"\r\n") || bytes.starts_with(b"\n") {
        return Some(0);
    }
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 2);
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|at| at + 1);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl<W: Spool> SummarizingSpool<W> {
    pub fn new(inner: W) -> Self {
        SummarizingSpool {
            inner,
            copy: Some(Vec::new()),
            header: HeaderScan::default(),
            prepended: Vec::new(),
        }
    }

    /// The `Received:` fields of the message so far: how many servers it went through.
    pub fn hops(&self) -> usize {
        self.header.hops
    }

    /// The message's header section as received (blank line excluded), when it is within
    /// [`HEADER_KEEP`].
    pub fn header(&self) -> Option<&[u8]> {
        self.header.header()
    }

    /// The message's size so far, in octets.
    pub fn size(&self) -> u64 {
        self.inner.len()
    }

    /// The fields put before the message since it was received.
    pub fn prepended(&self) -> &[u8] {
        &self.prepended
    }

    /// The message with the fields put before it, when it is small enough to be kept.
    pub fn kept(&self) -> Option<&[u8]> {
        self.copy.as_deref()
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
        self.prepended.splice(0..0, header.iter().copied());
        if let Some(copy) = &mut self.copy {
            if copy.len() + header.len() > SUMMARIZE_MAX {
                self.copy = None;
            } else {
                copy.splice(0..0, header.iter().copied());
            }
        }
        Ok(())
    }

    /// The spool to store, with the message's summary, search filter and header section
    /// attached when it was kept.
    pub fn finish(mut self) -> W {
        if let Some(copy) = self.copy.take() {
            let summary = Summary::derive(&copy);
            if let Some(header) = copy.get(..summary.header_end as usize) {
                self.inner.attach_fact(BlobFact::Header, header.to_vec());
            }
            self.inner
                .attach_fact(BlobFact::Summary, summary.to_bytes());
            self.inner
                .attach_fact(BlobFact::SearchFilter, mail::search_filter(&copy));
        }
        self.inner
    }
}

impl<W: Spool> Write for SummarizingSpool<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.header.feed(&bytes[..written]);
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
    use super::*;

    #[test]
    fn received_fields_of_the_header_are_counted_however_the_bytes_come() {
        let message = b"Received: a\r\nRECEIVED:b\r\n received: folded\r\nX-Received: no\r\n\
                        Subject: x\r\n\r\nReceived: in the body\r\n";
        for split in 1..message.len() {
            let mut counter = HeaderScan::default();
            for chunk in message.chunks(split) {
                counter.feed(chunk);
            }
            assert_eq!(counter.hops, 2, "split every {split} bytes");
        }
    }
}
