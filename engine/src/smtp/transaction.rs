//! The message being received on one SMTP connection: its spool, where it goes, and the
//! header filter its bytes pass through on the way in.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::LocalRecipient;
use crate::queue::Outbound;
use crate::trust::forged::ForgedResults;

/// The message being received: its spool and where it goes.
pub(super) struct Transaction<W> {
    pub(super) spool: Option<W>,
    /// Its `Return-Path:` and `Received:` fields, put first once it is in.
    pub(super) trace: Option<(String, String)>,
    /// Drops results that claim our name from its header as it streams in.
    pub(super) forged: Option<ForgedResults>,
    /// What the filter keeps of one chunk, on its way to the spool.
    kept: Vec<u8>,
    pub(super) recipients: Vec<LocalRecipient>,
    /// Recipients in other domains, for the outbound queue.
    pub(super) remote: Vec<Outbound>,
    /// Outside addresses local recipients forward to, with the local domain that forwards:
    /// queued with the sender rewritten (SRS) in that domain.
    pub(super) forwards: Vec<(String, Outbound)>,
    /// Set when the spool could not be created or written; the message is then refused.
    pub(super) failed: bool,
    /// The DNS blocklist naming the client, once looked up for this message.
    pub(super) blocklisted: Option<Option<String>>,
}

impl<W> Default for Transaction<W> {
    fn default() -> Self {
        Transaction {
            spool: None,
            trace: None,
            forged: None,
            kept: Vec::new(),
            recipients: Vec::new(),
            remote: Vec::new(),
            forwards: Vec::new(),
            failed: false,
            blocklisted: None,
        }
    }
}

/// Writes the next bytes of the message to its spool, less any results forged in our name.
pub(super) fn write_chunk<W: Write>(tx: &mut Transaction<W>, chunk: &[u8]) {
    if let Some(forged) = tx.forged.as_mut() {
        forged.filter(chunk, &mut tx.kept);
    }
    write_kept(tx);
}

/// The end of the message: what the filter still held goes to the spool.
pub(super) fn end_filter<W: Write>(tx: &mut Transaction<W>) {
    if let Some(mut forged) = tx.forged.take() {
        forged.finish(&mut tx.kept);
    }
    write_kept(tx);
    tx.kept = Vec::new();
}

fn write_kept<W: Write>(tx: &mut Transaction<W>) {
    let mut kept = std::mem::take(&mut tx.kept);
    if let Some(spool) = tx.spool.as_mut()
        && let Err(e) = spool.write_all(&kept)
    {
        tracing::error!(error = %e, "cannot write to the message spool");
        tx.spool = None;
        tx.failed = true;
    }
    kept.clear();
    tx.kept = kept;
}

/// A short identifier, unique within this process and very likely across restarts.
pub(super) fn message_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!(
        "{nanos:x}{:04x}",
        COUNTER.fetch_add(1, Ordering::Relaxed) & 0xffff
    )
}
