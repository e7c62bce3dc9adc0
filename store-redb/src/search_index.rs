//! Each mailbox's search index (the engine's [`engine::mail::search_index`]): a row per key
//! `(mailbox, block, row)`, so a search reads the few rows it needs of each block, and a
//! block's rows, written together, sit together.

use std::ops::Range;

use crate::typed::{Open, ReadableTable};
use engine::mail::search_index::{ROW_BYTES, ROWS};
use engine::store::{MailboxId, StoreError, StoreResult};
use redb::ReadTransaction;

use crate::error::DbResultExt;
use crate::group_commit::{Batch, WriteOp};
use crate::tables::{SEARCH_INDEX, existing_mailbox};

/// Rows `rows` of each block in `blocks`, one after the other; `None` for a block without
/// its index (a block's rows are written in one transaction: its first row stands for all).
pub(crate) fn rows(
    txn: &ReadTransaction,
    mailbox: MailboxId,
    blocks: Range<u32>,
    rows: &[u16],
) -> StoreResult<Vec<Option<Vec<u8>>>> {
    let table = txn.open(SEARCH_INDEX).db()?;
    let mut found = Vec::with_capacity(blocks.len());
    for block in blocks {
        if table.get((mailbox, block, 0)).db()?.is_none() {
            found.push(None);
            continue;
        }
        let mut bytes = Vec::with_capacity(rows.len() * ROW_BYTES);
        for &row in rows {
            match table.get((mailbox, block, row)).db()? {
                Some(value) => bytes.extend_from_slice(value.value()),
                None => return Err(crate::error::corrupt("search index row")),
            }
        }
        found.push(Some(bytes));
    }
    Ok(found)
}

/// The [`WriteOp`] behind `Store::set_search_index`.
pub(crate) struct SetSearchIndex {
    pub(crate) mailbox: MailboxId,
    pub(crate) block: u32,
    pub(crate) rows: Option<Vec<u8>>,
}

impl WriteOp for SetSearchIndex {
    type Plan = SetSearchIndex;
    type Output = ();

    /// The index can always be made again from the messages' filters.
    const DURABLE: bool = false;

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<SetSearchIndex> {
        existing_mailbox(&batch.tables.mailboxes, self.mailbox)?;
        if let Some(rows) = &self.rows
            && rows.len() != ROWS * ROW_BYTES
        {
            return Err(StoreError::Io(format!(
                "a search index block is {} bytes, not {}",
                rows.len(),
                ROWS * ROW_BYTES
            )));
        }
        Ok(self)
    }

    fn apply(plan: SetSearchIndex, batch: &mut Batch<'_>) -> StoreResult<()> {
        let table = &mut batch.tables.search_index;
        let (mailbox, block) = (plan.mailbox, plan.block);
        match plan.rows {
            Some(rows) => {
                for (row, bytes) in (0..=u16::MAX).zip(rows.chunks_exact(ROW_BYTES)) {
                    table.insert((mailbox, block, row), bytes).db()?;
                }
            }
            None => {
                table
                    .retain_in((mailbox, block, 0)..=(mailbox, block, u16::MAX), |_, _| {
                        false
                    })
                    .db()?;
            }
        }
        Ok(())
    }
}
