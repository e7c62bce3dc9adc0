//! Greylisting's triplets that got through, in `greylist`: (network, sender, recipient) →
//! the time of its latest message as last recorded. Read whole at start; old ones pruned.

use engine::store::{GreylistPass, StoreResult};
use redb::ReadTransaction;

use crate::error::DbResultExt;
use crate::group_commit::{Batch, WriteOp};
use crate::tables::GREYLIST;

pub(crate) fn passes(txn: &ReadTransaction) -> StoreResult<Vec<GreylistPass>> {
    let table = txn.open_table(GREYLIST).db()?;
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

pub(crate) struct Prune(pub(crate) i64);

impl WriteOp for Prune {
    type Plan = i64;
    type Output = u64;

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<i64> {
        Ok(self.0)
    }

    fn apply(before: i64, batch: &mut Batch<'_>) -> StoreResult<u64> {
        let removed = batch
            .tables
            .greylist
            .extract_if(|_, last| last < before)
            .db()?
            .count();
        Ok(removed as u64)
    }
}
