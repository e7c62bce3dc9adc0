//! `\Recent` (RFC 3501 §2.3.2), in `recent`: mailbox → the first UID no session has been told
//! about yet. A session that selects the mailbox, or sees new messages arrive in it, claims
//! every UID from there up to the mailbox's `uid_next`; those messages are recent in that
//! session alone.
//!
//! The claims are not durable: after a crash some messages may show as recent once more,
//! which costs a client nothing, while an fsync on every SELECT would cost every client.

use crate::typed::{Open, ReadableTable};
use engine::store::{MailboxId, StoreResult};
use redb::ReadTransaction;

use crate::error::DbResultExt;
use crate::group_commit::{Batch, WriteOp};
use crate::tables::RECENT;

/// The first UID of `mailbox` that no session has claimed (1 for a mailbox never selected).
pub(crate) fn first_unclaimed(txn: &ReadTransaction, mailbox: MailboxId) -> StoreResult<u32> {
    let table = txn.open(RECENT).db()?;
    Ok(table.get(mailbox).db()?.map_or(1, |v| v.value()))
}

/// Claims the UIDs of `mailbox` below `uid_next` that no session has claimed; returns the
/// first of them (equal to `uid_next` or above when there is none).
pub(crate) struct Claim {
    pub(crate) mailbox: MailboxId,
    pub(crate) uid_next: u32,
}

impl WriteOp for Claim {
    type Plan = Claim;
    type Output = u32;
    const DURABLE: bool = false;

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<Claim> {
        Ok(self)
    }

    fn apply(claim: Claim, batch: &mut Batch<'_>) -> StoreResult<u32> {
        let table = &mut batch.tables.recent;
        let first = table.get(claim.mailbox).db()?.map_or(1, |v| v.value());
        if claim.uid_next > first {
            table.insert(claim.mailbox, claim.uid_next).db()?;
        }
        Ok(first)
    }
}
