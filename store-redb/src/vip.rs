//! Each account's important senders in `vip_senders`: (account, address lowercased) → ().
//! A handful per account, read one by one at delivery and listed in address order.

use crate::typed::{Open, ReadableTable};
use engine::store::{AccountId, StoreResult};
use redb::ReadTransaction;

use crate::directory::account_rows;
use crate::error::DbResultExt;
use crate::group_commit::{Batch, WriteOp};
use crate::tables::{Tables, VIP_SENDERS};

pub(crate) fn senders(txn: &ReadTransaction, account: AccountId) -> StoreResult<Vec<String>> {
    let table = txn.open(VIP_SENDERS).db()?;
    account_rows(&table, account, |address, ()| address.to_owned())
}

pub(crate) fn any(
    txn: &ReadTransaction,
    account: AccountId,
    addresses: &[String],
) -> StoreResult<bool> {
    let table = txn.open(VIP_SENDERS).db()?;
    for address in addresses {
        let key = address.to_ascii_lowercase();
        if table.get((account, key.as_str())).db()?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Adds (`add`) or removes a sender; whether the table changed.
pub(crate) struct Set {
    pub(crate) account: AccountId,
    pub(crate) address: String,
    pub(crate) add: bool,
}

impl WriteOp for Set {
    type Plan = Set;
    type Output = bool;

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<Set> {
        Ok(self)
    }

    fn apply(set: Set, batch: &mut Batch<'_>) -> StoreResult<bool> {
        let key = set.address.to_ascii_lowercase();
        let table = &mut batch.tables.vip_senders;
        Ok(match set.add {
            true => table
                .insert((set.account, key.as_str()), ())
                .db()?
                .is_none(),
            false => table.remove((set.account, key.as_str())).db()?.is_some(),
        })
    }
}

/// Forgets a removed account's senders.
pub(crate) fn remove_account(tables: &mut Tables<'_>, account: AccountId) -> StoreResult<()> {
    let senders = account_rows(&tables.vip_senders, account, |address, ()| {
        address.to_owned()
    })?;
    for address in senders {
        tables
            .vip_senders
            .remove((account, address.as_str()))
            .db()?;
    }
    Ok(())
}
