//! The message being received on one SMTP connection: its spool, where it goes, and the
//! header filter its bytes pass through on the way in.

use std::io::Write;

use proto_smtp::Reply;

use crate::Recipients;
use crate::delivery::spool::{STAGED_MAX, write_staged};
use crate::directory::routing::spool_failure;
use crate::io::Executor;
use crate::queue::Outbound;
use crate::trust::SpfCheck;
use crate::trust::forged::ForgedResults;

/// The message being received: its spool and where it goes.
pub(super) struct Transaction<W> {
    pub(super) spool: Option<W>,
    /// Its `Return-Path:` and `Received:` fields, put first once it is in.
    pub(super) trace: Option<(String, String)>,
    /// Drops results that claim our name from its header as it streams in.
    pub(super) forged: Option<ForgedResults>,
    /// What the filter kept of the chunks received, on its way to the spool.
    kept: Vec<u8>,
    pub(super) recipients: Recipients,
    /// Recipients in other domains, for the outbound queue.
    pub(super) remote: Vec<Outbound>,
    /// Outside addresses local recipients forward to, with the local domain that forwards:
    /// queued with the sender rewritten (SRS) in that domain.
    pub(super) forwards: Vec<(String, Outbound)>,
    /// Recipients that are disposable aliases: each counted once the message is in.
    pub(super) disposable: Vec<String>,
    /// Set when the spool could not be created or written: the reply that refuses the
    /// message.
    pub(super) failed: Option<Reply>,
    /// The DNS blocklist naming the client, once looked up for this message.
    pub(super) blocklisted: Option<Option<String>>,
    /// SPF on the envelope sender, begun at `MAIL FROM` for a client that is checked.
    pub(super) spf: SpfCheck,
    /// Recipients greylisting let through on their word that the sender is one they wrote
    /// to: the message must prove it with a DKIM signature of that domain, or is deferred
    /// with this reply.
    pub(super) vouched: Option<Vouched>,
}

/// Recipients let through by greylisting because they wrote to the sender's domain before;
/// the SPF check did not confirm it (yet), so a DKIM signature of the domain must, or SPF
/// passing in the checks at the end.
pub(super) struct Vouched {
    /// The envelope sender's domain.
    pub(super) domain: String,
    /// Greylisting's refusal, given at the end of the message if it is not signed so.
    pub(super) refusal: proto_smtp::Reply,
}

impl<W> Default for Transaction<W> {
    fn default() -> Self {
        Transaction {
            spool: None,
            trace: None,
            forged: None,
            kept: Vec::new(),
            recipients: Recipients::default(),
            remote: Vec::new(),
            forwards: Vec::new(),
            disposable: Vec::new(),
            failed: None,
            blocklisted: None,
            spf: SpfCheck::default(),
            vouched: None,
        }
    }
}

/// Takes the next bytes of the message, less any results forged in our name; whether
/// enough is gathered to be written out ([`flush`]).
pub(super) fn write_chunk<W>(tx: &mut Transaction<W>, chunk: &[u8]) -> bool {
    if let Some(forged) = tx.forged.as_mut() {
        forged.filter(chunk, &mut tx.kept);
    }
    tx.kept.len() >= STAGED_MAX
}

/// The end of the message: what the filter still held goes to the spool with the rest
/// gathered, on the blocking pool (a large message's spool is a file).
pub(super) async fn end_filter<W: Write + Send + 'static>(
    executor: &impl Executor,
    tx: &mut Transaction<W>,
) {
    if let Some(mut forged) = tx.forged.take() {
        forged.finish(&mut tx.kept);
    }
    flush(executor, tx).await;
}

/// Writes what was gathered to the spool, on the blocking pool.
pub(super) async fn flush<W: Write + Send + 'static>(
    executor: &impl Executor,
    tx: &mut Transaction<W>,
) {
    let kept = std::mem::take(&mut tx.kept);
    let Some(spool) = tx.spool.take() else {
        return;
    };
    let (spool, kept, written) = write_staged(executor, spool, kept).await;
    match written {
        Ok(()) => {
            tx.spool = Some(spool);
            tx.kept = kept;
        }
        Err(e) => tx.failed = Some(spool_failure(&e)),
    }
}
