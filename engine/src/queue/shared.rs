//! A queue several nodes share: with `[queue] backend = "redis"`, every node's delivery
//! workers take their messages from one queue kept outside the nodes, and a lease on each
//! message it delivers keeps any other node away from it.
//!
//! Mail still enters the queue through this node's store, in the commit that makes the `250`
//! true; from there [`Engine::hand_over`] moves it to the shared queue. A message is
//! therefore never acknowledged on the word of a remote service, and one that cannot be
//! handed over (the shared queue is down) waits in the store until it can.

use std::io::Read;

use super::{QueueId, QueuedMessage};
use crate::Engine;
use crate::store::{BlobId, BlobRead, Store, StoreResult};

/// Ids a shared queue hands out start here, so they never meet the ids of this node's own
/// queue (which never get near it) and an operator's `postern queue delete ID` is never
/// ambiguous.
pub const SHARED_IDS: u64 = 1 << 40;

/// The outbound queue kept outside this node. Calls block; the engine makes them on the
/// blocking pool.
pub trait SharedQueue: Send + Sync + 'static {
    /// Takes over a message of this node's queue, body and states. Pushing the same message
    /// (same id and creation time, from this node) again is one entry: a hand-over repeated
    /// after a crash does not queue it twice.
    fn push(&self, message: &QueuedMessage, body: &mut dyn Read) -> StoreResult<QueueId>;
    /// The soonest due message no node holds, leased to this node.
    fn claim(&self, now: i64) -> StoreResult<Option<QueuedMessage>>;
    /// When the soonest pending recipient is due, held or not.
    fn next_due(&self) -> StoreResult<Option<i64>>;
    /// Saves a message's states and gives back this process's lease on it, if it holds one;
    /// a message with no recipient pending leaves the queue. `NotFound` if it left already.
    fn update(&self, message: &QueuedMessage) -> StoreResult<()>;
    /// Every message, oldest first, with its lease.
    fn list(&self) -> StoreResult<Vec<QueuedMessage>>;
    fn get(&self, id: QueueId) -> StoreResult<Option<QueuedMessage>>;
    /// Takes a message out of the queue; whether it was there.
    fn remove(&self, id: QueueId) -> StoreResult<bool>;
    /// Opens a message's body.
    fn body(&self, id: QueueId) -> StoreResult<Box<dyn BlobRead>>;
}

/// A queued message's body, from the store or the shared queue. A type of its own rather
/// than a bare `Box<dyn BlobRead>`, which async code that moves it across threads cannot
/// prove `Send` for every lifetime.
pub(crate) struct QueuedBody(Box<dyn BlobRead>);

impl Read for QueuedBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl BlobRead for QueuedBody {
    fn is_in_memory(&self) -> bool {
        self.0.is_in_memory()
    }
}

/// Where a message with this id is kept.
fn is_shared(id: QueueId) -> bool {
    id.0 >= SHARED_IDS
}

impl<S: Store> Engine<S> {
    /// Moves what waits in this node's queue to the shared queue; with none, does nothing.
    /// One caller at a time does the work; others return at once.
    pub(crate) fn hand_over(&self) -> StoreResult<()> {
        let Some(shared) = &self.shared_queue else {
            return Ok(());
        };
        let Ok(_only_one) = self.handing_over.try_lock() else {
            return Ok(());
        };
        for message in self.store.queue()? {
            let mut body = self.store.read_blob(&message.blob)?;
            let id = shared.push(&message, &mut body)?;
            self.store.remove_queued(message.id)?;
            tracing::info!(queue_id = %id, from = message.envelope.sender, "moved to the shared queue");
        }
        Ok(())
    }

    /// Due messages this node may deliver, soonest first: up to `limit` of its own queue's,
    /// or the one the shared queue leased to it (after handing over what waits here).
    pub(crate) fn queue_due(&self, now: i64, limit: usize) -> StoreResult<Vec<QueuedMessage>> {
        match &self.shared_queue {
            None => self.store.queue_due(now, limit),
            Some(shared) => {
                if let Err(error) = self.hand_over() {
                    tracing::warn!(%error, "cannot move mail to the shared queue; it waits here");
                }
                Ok(shared.claim(now)?.into_iter().collect())
            }
        }
    }

    /// When the soonest pending recipient is due, here or in the shared queue.
    pub(crate) fn queue_next_due(&self) -> StoreResult<Option<i64>> {
        let here = self.store.queue_next_due()?;
        let shared = match &self.shared_queue {
            Some(shared) => shared.next_due()?,
            None => None,
        };
        Ok(here.into_iter().chain(shared).min())
    }

    /// Saves a message's states where it is kept.
    pub(crate) fn update_queued(&self, message: &QueuedMessage) -> StoreResult<()> {
        match &self.shared_queue {
            Some(shared) if is_shared(message.id) => shared.update(message),
            _ => self.store.update_queued(message),
        }
    }

    /// Opens the body of queued message `id` where it is kept.
    pub(crate) fn queued_body(&self, id: QueueId, blob: &BlobId) -> StoreResult<QueuedBody> {
        let body: Box<dyn BlobRead> = match &self.shared_queue {
            Some(shared) if is_shared(id) => shared.body(id)?,
            _ => Box::new(self.store.read_blob(blob)?),
        };
        Ok(QueuedBody(body))
    }

    /// Every queued message, oldest first: the shared queue's, then what waits here to be
    /// handed over to it.
    pub(crate) fn queue_all(&self) -> StoreResult<Vec<QueuedMessage>> {
        let mut all = match &self.shared_queue {
            Some(shared) => shared.list()?,
            None => Vec::new(),
        };
        all.extend(self.store.queue()?);
        Ok(all)
    }

    pub(crate) fn queue_get(&self, id: QueueId) -> StoreResult<Option<QueuedMessage>> {
        match &self.shared_queue {
            Some(shared) if is_shared(id) => shared.get(id),
            _ => self.store.queued(id),
        }
    }

    pub(crate) fn queue_remove(&self, id: QueueId) -> StoreResult<bool> {
        match &self.shared_queue {
            Some(shared) if is_shared(id) => shared.remove(id),
            _ => self.store.remove_queued(id),
        }
    }
}
