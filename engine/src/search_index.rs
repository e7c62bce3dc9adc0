//! Each mailbox's [search index](crate::mail::search_index), read and kept up.
//!
//! SEARCH reads it before looking at the messages, to pass over those it rules out, and
//! keeps it up after: a block that filled since is indexed from its messages' filters
//! (made by that search where they were missing), and one whose messages were mostly
//! expunged is dropped. Delivery does not wait for it: a delivery that fills a block names
//! the mailbox, and a background task indexes it, so the first search finds it made.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::Engine;
use crate::io::Executor;
use crate::mail::search_index::{
    BLOCK_UIDS, BLOCKS_AT_ONCE, BlockBuilder, Candidates, DENSE, SPARSE, block_of, complete_blocks,
};
use crate::store::{BlobFact, MailboxId, Message, Store, StoreError};

/// What the index says of one search, and what to do with it afterwards.
#[derive(Default)]
pub struct Index {
    /// Candidates of each complete block from the first on; `None` where it says nothing.
    candidates: Vec<Option<Candidates>>,
    /// Complete blocks with enough messages and no index yet.
    to_build: Vec<u32>,
    /// Indexed blocks with too few messages left.
    to_drop: Vec<u32>,
}

impl Index {
    /// Reads rows `rows` (of the strings searched for: [`crate::mail::index_rows`]; none
    /// to only find what to keep up) of each complete block of a mailbox whose next UID is
    /// `uid_next` and whose messages are `stored` (in UID order).
    pub fn read<S: Store>(
        store: &S,
        mailbox: MailboxId,
        uid_next: u32,
        stored: &[Message],
        rows: &[u16],
    ) -> Result<Self, StoreError> {
        let blocks = complete_blocks(uid_next);
        let mut index = Index::default();
        let mut first = blocks.start;
        while first < blocks.end {
            let next = first.saturating_add(BLOCKS_AT_ONCE).min(blocks.end);
            let read = store.search_index_rows(mailbox, first..next, rows)?;
            index.take(first..next, read, rows.is_empty(), stored);
            first = next;
        }
        Ok(index)
    }

    /// Takes in what was read of `blocks`.
    fn take(
        &mut self,
        blocks: std::ops::Range<u32>,
        read: Vec<Option<Vec<u8>>>,
        no_rows: bool,
        stored: &[Message],
    ) {
        for (block, rows_read) in blocks.zip(read) {
            let messages = in_block(stored, block).len();
            let candidates = match rows_read {
                Some(_) if messages < SPARSE => {
                    self.to_drop.push(block);
                    None
                }
                Some(bytes) => (!no_rows).then(|| Candidates::of_rows(&bytes)),
                None => {
                    if messages >= DENSE {
                        self.to_build.push(block);
                    }
                    None
                }
            };
            self.candidates.push(candidates);
        }
    }

    /// Whether the message `uid` may match: `false` only when the index rules it out.
    pub fn admits(&self, uid: u32) -> bool {
        match usize::try_from(block_of(uid))
            .ok()
            .and_then(|block| self.candidates.get(block))
        {
            Some(Some(candidates)) => candidates.contains(uid),
            _ => true,
        }
    }

    /// Indexes the blocks that filled and drops those that emptied. A block whose index
    /// cannot be kept now is indexed by a later search.
    pub fn keep_up<S: Store>(self, store: &S, mailbox: MailboxId, stored: &[Message]) {
        for block in self.to_drop {
            let _ = store.set_search_index(mailbox, block, None);
        }
        for block in self.to_build {
            let mut builder = BlockBuilder::new(block);
            for message in in_block(stored, block) {
                let filter = store
                    .blob_fact(&message.blob, BlobFact::SearchFilter)
                    .ok()
                    .flatten();
                builder.add(message.uid, filter.as_deref());
            }
            if store
                .set_search_index(mailbox, block, Some(builder.finish()))
                .is_err()
            {
                return;
            }
        }
    }
}

/// The messages of `stored` (in UID order) in a block.
fn in_block(stored: &[Message], block: u32) -> &[Message] {
    let start = stored.partition_point(|m| block_of(m.uid) < block);
    let end = stored.partition_point(|m| block_of(m.uid) <= block);
    stored.get(start..end).unwrap_or_default()
}

/// Mailboxes whose deliveries filled a block, waiting for the background task.
#[derive(Default)]
pub(crate) struct Filled {
    /// At most [`MOST_WAITING`], each once; one left out is indexed by its next search.
    mailboxes: Mutex<Vec<MailboxId>>,
    wake: event_listener::Event,
}

/// Most mailboxes waiting to be indexed.
const MOST_WAITING: usize = 1024;

/// The longest the background task sleeps without being woken.
const EVERY: Duration = Duration::from_secs(3600);

impl Filled {
    /// Notes a message stored at `uid` in `mailbox`: the one that fills its block wakes the
    /// background task.
    pub(crate) fn stored(&self, mailbox: MailboxId, uid: u32) {
        if !uid.saturating_add(1).is_multiple_of(BLOCK_UIDS) {
            return;
        }
        let mut waiting = self.mailboxes.lock().unwrap_or_else(|e| e.into_inner());
        if !waiting.contains(&mailbox) && waiting.len() < MOST_WAITING {
            waiting.push(mailbox);
        }
        drop(waiting);
        self.wake.notify(usize::MAX);
    }

    fn take(&self) -> Vec<MailboxId> {
        std::mem::take(&mut *self.mailboxes.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl<S: Store> Engine<S> {
    /// Indexes the full blocks of the mailboxes deliveries filled. Blocking.
    pub fn index_filled_blocks(&self) {
        for mailbox in self.filled.take() {
            if let Err(error) = self.index_full_blocks(mailbox) {
                tracing::debug!(%error, "a mailbox's search index is left to its next search");
            }
        }
    }

    /// Indexes the mailbox's full blocks that have no index yet (and drops those of blocks
    /// mostly expunged). Blocking.
    pub fn index_full_blocks(&self, mailbox: MailboxId) -> Result<(), StoreError> {
        let Some(found) = self.store.mailbox(mailbox)? else {
            return Ok(());
        };
        let stored = self.store.messages(mailbox)?;
        Index::read(&self.store, mailbox, found.uid_next, &stored, &[])?.keep_up(
            &self.store,
            mailbox,
            &stored,
        );
        Ok(())
    }
}

/// Indexes the blocks deliveries fill, for ever: the runtime ends it at shutdown.
pub async fn run<S: Store, E: Executor>(engine: Arc<Engine<S>>, executor: E) {
    let indexer = engine.clone();
    crate::io::every(executor, &engine.filled.wake, move || {
        indexer.index_filled_blocks();
        EVERY
    })
    .await;
}
