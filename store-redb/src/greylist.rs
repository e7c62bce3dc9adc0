//! Greylisting's triplets that got through, in `greylist`: (network, sender, recipient) →
//! the time of its latest message as last recorded. Read whole at start; old ones pruned,
//! and the oldest beyond a count.

use crate::typed::{Open, ReadableTable};
use engine::store::{GreylistPass, StoreResult};
use redb::ReadTransaction;

use crate::error::DbResultExt;
use crate::group_commit::{Batch, WriteOp};
use crate::tables::GREYLIST;

pub(crate) fn passes(txn: &ReadTransaction) -> StoreResult<Vec<GreylistPass>> {
    let table = txn.open(GREYLIST).db()?;
    let mut found = Vec::new();
    for row in table.range::<(&str, &str, &str)>(..).db()? {
        let (key, last) = row.db()?;
        let (network, sender, recipient) = key.value();
        found.push(GreylistPass {
            network: network.to_owned(),
            sender: sender.to_owned(),
            recipient: recipient.to_owned(),
            last: last.value(),
        });
    }
    Ok(found)
}

pub(crate) struct Put(pub(crate) GreylistPass);

impl WriteOp for Put {
    type Plan = GreylistPass;
    type Output = ();

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<GreylistPass> {
        Ok(self.0)
    }

    fn apply(pass: GreylistPass, batch: &mut Batch<'_>) -> StoreResult<()> {
        let key = (
            pass.network.as_str(),
            pass.sender.as_str(),
            pass.recipient.as_str(),
        );
        batch.tables.greylist.insert(key, pass.last).db()?;
        Ok(())
    }
}

/// Removes the triplets older than `before`, then the oldest beyond `keep`: the table stays
/// bounded however many senders get through.
pub(crate) struct Prune {
    pub(crate) before: i64,
    pub(crate) keep: u64,
}

impl WriteOp for Prune {
    type Plan = Prune;
    type Output = u64;

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<Prune> {
        Ok(self)
    }

    fn apply(prune: Prune, batch: &mut Batch<'_>) -> StoreResult<u64> {
        let table = &mut batch.tables.greylist;
        let mut removed = table
            .extract_if(|_, last| last < prune.before)
            .db()?
            .count();
        let excess = table.len().db()?.saturating_sub(prune.keep);
        if excess > 0 {
            // The latest message time at or below which `excess` triplets fall.
            let mut times = Vec::new();
            for row in table.iter().db()? {
                times.push(row.db()?.1.value());
            }
            times.sort_unstable();
            let cutoff = times
                .get(usize::try_from(excess - 1).unwrap_or(usize::MAX))
                .copied()
                .unwrap_or(i64::MAX);
            let mut left = excess;
            removed += table
                .extract_if(|_, last| {
                    let old = left > 0 && last <= cutoff;
                    left -= u64::from(old);
                    old
                })
                .db()?
                .count();
        }
        Ok(removed as u64)
    }
}
