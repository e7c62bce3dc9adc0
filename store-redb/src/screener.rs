//! The Screener's state: the accounts that have it on, in `screener_accounts` (account →
//! ()), and each account's verdicts on senders, in `screened_senders` ((account, address
//! lowercased) → 1 approved, 2 rejected).

use crate::typed::{Open, ReadableTable};
use engine::store::{AccountId, StoreResult, Verdict};
use redb::ReadTransaction;

use crate::directory::account_rows;
use crate::error::{DbResultExt, corrupt};
use crate::group_commit::{Batch, WriteOp};
use crate::tables::{SCREENED_SENDERS, SCREENER_ACCOUNTS, Tables};

const WHAT: &str = "Screener verdict";

pub(crate) fn is_on(txn: &ReadTransaction, account: AccountId) -> StoreResult<bool> {
    let table = txn.open(SCREENER_ACCOUNTS).db()?;
    Ok(table.get(account).db()?.is_some())
}

pub(crate) fn verdict(
    txn: &ReadTransaction,
    account: AccountId,
    addresses: &[String],
) -> StoreResult<Option<Verdict>> {
    let table = txn.open(SCREENED_SENDERS).db()?;
    for address in addresses {
        let key = address.to_ascii_lowercase();
        if let Some(value) = table.get((account, key.as_str())).db()? {
            return decode(value.value()).map(Some);
        }
    }
    Ok(None)
}

pub(crate) fn verdicts(
    txn: &ReadTransaction,
    account: AccountId,
) -> StoreResult<Vec<(String, Verdict)>> {
    let table = txn.open(SCREENED_SENDERS).db()?;
    account_rows(&table, account, |address, value| {
        (address.to_owned(), value)
    })?
    .into_iter()
    .map(|(address, value)| decode(value).map(|verdict| (address, verdict)))
    .collect()
}

pub(crate) struct SetOn {
    pub(crate) account: AccountId,
    pub(crate) on: bool,
}

impl WriteOp for SetOn {
    type Plan = SetOn;
    type Output = ();

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<SetOn> {
        Ok(self)
    }

    fn apply(set: SetOn, batch: &mut Batch<'_>) -> StoreResult<()> {
        let table = &mut batch.tables.screener_accounts;
        match set.on {
            true => table.insert(set.account, ()).db()?,
            false => table.remove(set.account).db()?,
        };
        Ok(())
    }
}

/// Records a verdict on each address (`None`: forgets it); an address that has one already
/// keeps it when `keep` (what mail the user sends approves, never overriding them).
pub(crate) struct Judge {
    pub(crate) account: AccountId,
    pub(crate) addresses: Vec<String>,
    pub(crate) verdict: Option<Verdict>,
    pub(crate) keep: bool,
}

impl WriteOp for Judge {
    type Plan = Judge;
    type Output = ();

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<Judge> {
        Ok(self)
    }

    fn apply(judge: Judge, batch: &mut Batch<'_>) -> StoreResult<()> {
        let table = &mut batch.tables.screened_senders;
        for address in &judge.addresses {
            let address = address.to_ascii_lowercase();
            let key = (judge.account, address.as_str());
            if judge.keep && table.get(key).db()?.is_some() {
                continue;
            }
            match judge.verdict {
                Some(verdict) => table.insert(key, encode(verdict)).db()?,
                None => table.remove(key).db()?,
            };
        }
        Ok(())
    }
}

/// Forgets a removed account's Screener.
pub(crate) fn remove_account(tables: &mut Tables<'_>, account: AccountId) -> StoreResult<()> {
    tables.screener_accounts.remove(account).db()?;
    let senders = account_rows(&tables.screened_senders, account, |a, _| a.to_owned())?;
    for address in senders {
        tables
            .screened_senders
            .remove((account, address.as_str()))
            .db()?;
    }
    Ok(())
}

fn encode(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Approved => 1,
        Verdict::Rejected => 2,
    }
}

fn decode(value: u8) -> StoreResult<Verdict> {
    match value {
        1 => Ok(Verdict::Approved),
        2 => Ok(Verdict::Rejected),
        _ => Err(corrupt(WHAT)),
    }
}
