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
}

impl<W: Spool> SummarizingSpool<W> {
    pub fn new(inner: W) -> Self {
        SummarizingSpool {
            inner,
            copy: Some(Vec::new()),
        }
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
