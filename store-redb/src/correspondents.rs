//! The domains each account sent mail to, in `correspondents`: (account, domain) → the time
//! of the latest mail sent there, as last recorded. An account keeps the ones it wrote to
//! most recently, so the table grows with the number of accounts only.

use crate::typed::{Open, ReadableTable};
use engine::store::{AccountId, StoreResult};
use redb::ReadTransaction;

use crate::directory::account_rows;
use crate::error::DbResultExt;
use crate::group_commit::{Batch, WriteOp};
use crate::tables::{CORRESPONDENTS, Tables};

pub(crate) fn last(
    txn: &ReadTransaction,
    account: AccountId,
    domain: &str,
) -> StoreResult<Option<i64>> {
    let table = txn.open(CORRESPONDENTS).db()?;
    Ok(table.get((account, domain)).db()?.map(|last| last.value()))
}

pub(crate) struct Note {
    pub(crate) account: AccountId,
    pub(crate) domains: Vec<String>,
    pub(crate) now: i64,
    pub(crate) keep: usize,
}

impl WriteOp for Note {
    type Plan = Note;
    type Output = ();

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<Note> {
        Ok(self)
    }

    fn apply(note: Note, batch: &mut Batch<'_>) -> StoreResult<()> {
        let table = &mut batch.tables.correspondents;
        for domain in &note.domains {
            table
                .insert((note.account, domain.as_str()), note.now)
                .db()?;
        }
        let mut known = account_rows(table, note.account, |domain, last| {
            (last, domain.to_owned())
        })?;
        if known.len() > note.keep {
            known.sort_unstable();
            let excess = known.len() - note.keep;
            for (_, domain) in known.iter().take(excess) {
                table.remove((note.account, domain.as_str())).db()?;
            }
        }
        Ok(())
    }
}

/// Forgets where a removed account wrote to.
pub(crate) fn remove_account(tables: &mut Tables<'_>, account: AccountId) -> StoreResult<()> {
    let domains = account_rows(&tables.correspondents, account, |domain, _| {
        domain.to_owned()
    })?;
    for domain in domains {
        tables
            .correspondents
            .remove((account, domain.as_str()))
            .db()?;
    }
    Ok(())
}
