//! Sieve scripts in `sieve_scripts`: (account, name) → whether it is the active one and its
//! source. An account has a handful, so reading them all is one short range. And the
//! vacation answers sent, in `vacation_replies`: (account, handle NUL sender) → when.

use crate::typed::{Open, ReadableTable};
use engine::store::{AccountId, SieveScript, StoreError, StoreResult, VACATION_KEPT};
use redb::ReadTransaction;

use crate::directory::account_rows;
use crate::error::DbResultExt;
use crate::group_commit::{Batch, WriteOp};
use crate::tables::{Decoder, Encoder, SIEVE_SCRIPTS, Tables};

const SIEVE_RECORD_VERSION: u8 = 1;
const WHAT: &str = "Sieve script record";

pub(crate) fn scripts(txn: &ReadTransaction, account: AccountId) -> StoreResult<Vec<SieveScript>> {
    let table = txn.open(SIEVE_SCRIPTS).db()?;
    account_scripts(&table, account)
}

fn account_scripts(
    table: &impl ReadableTable<(AccountId, &'static str), &'static [u8]>,
    account: AccountId,
) -> StoreResult<Vec<SieveScript>> {
    account_rows(table, account, |name, record| {
        (name.to_owned(), record.to_vec())
    })?
    .into_iter()
    .map(|(name, record)| decode(name, &record))
    .collect()
}

pub(crate) struct Put {
    pub(crate) account: AccountId,
    pub(crate) name: String,
    pub(crate) source: String,
}

impl WriteOp for Put {
    type Plan = Put;
    type Output = ();

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<Put> {
        Ok(self)
    }

    fn apply(put: Put, batch: &mut Batch<'_>) -> StoreResult<()> {
        let table = &mut batch.tables.sieve_scripts;
        let key = (put.account, put.name.as_str());
        let active = match table.get(key).db()? {
            Some(record) => decode(put.name.clone(), record.value())?.active,
            None => false,
        };
        table
            .insert(key, encode(active, &put.source).as_slice())
            .db()?;
        Ok(())
    }
}

pub(crate) struct Activate {
    pub(crate) account: AccountId,
    pub(crate) name: Option<String>,
}

impl WriteOp for Activate {
    type Plan = Activate;
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Activate> {
        if let Some(name) = &self.name {
            let key = (self.account, name.as_str());
            if batch.tables.sieve_scripts.get(key).db()?.is_none() {
                return Err(StoreError::NotFound(format!("Sieve script {name}")));
            }
        }
        Ok(self)
    }

    fn apply(activate: Activate, batch: &mut Batch<'_>) -> StoreResult<()> {
        let table = &mut batch.tables.sieve_scripts;
        for script in account_scripts(table, activate.account)? {
            let active = activate.name.as_deref() == Some(script.name.as_str());
            if active != script.active {
                let record = encode(active, &script.source);
                let key = (activate.account, script.name.as_str());
                table.insert(key, record.as_slice()).db()?;
            }
        }
        Ok(())
    }
}

pub(crate) struct Remove {
    pub(crate) account: AccountId,
    pub(crate) name: String,
}

impl WriteOp for Remove {
    type Plan = Remove;
    type Output = bool;

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<Remove> {
        Ok(self)
    }

    fn apply(remove: Remove, batch: &mut Batch<'_>) -> StoreResult<bool> {
        let key = (remove.account, remove.name.as_str());
        Ok(batch.tables.sieve_scripts.remove(key).db()?.is_some())
    }
}

pub(crate) struct Rename {
    pub(crate) account: AccountId,
    pub(crate) from: String,
    pub(crate) to: String,
}

impl WriteOp for Rename {
    /// The rename and the record it moves.
    type Plan = (Rename, Vec<u8>);
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<(Rename, Vec<u8>)> {
        let table = &batch.tables.sieve_scripts;
        if table.get((self.account, self.to.as_str())).db()?.is_some() {
            return Err(StoreError::AlreadyExists(format!(
                "Sieve script {}",
                self.to
            )));
        }
        let record = match table.get((self.account, self.from.as_str())).db()? {
            Some(record) => record.value().to_vec(),
            None => return Err(StoreError::NotFound(format!("Sieve script {}", self.from))),
        };
        Ok((self, record))
    }

    fn apply((rename, record): (Rename, Vec<u8>), batch: &mut Batch<'_>) -> StoreResult<()> {
        let table = &mut batch.tables.sieve_scripts;
        table.remove((rename.account, rename.from.as_str())).db()?;
        table
            .insert((rename.account, rename.to.as_str()), record.as_slice())
            .db()?;
        Ok(())
    }
}

pub(crate) struct NoteVacation {
    pub(crate) account: AccountId,
    /// The handle, a NUL, the sender (lower-cased).
    pub(crate) key: String,
    pub(crate) now: i64,
    pub(crate) interval: i64,
}

impl WriteOp for NoteVacation {
    type Plan = NoteVacation;
    type Output = bool;

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<NoteVacation> {
        Ok(self)
    }

    fn apply(note: NoteVacation, batch: &mut Batch<'_>) -> StoreResult<bool> {
        let table = &mut batch.tables.vacation_replies;
        let key = (note.account, note.key.as_str());
        if let Some(last) = table.get(key).db()?
            && last.value() > note.now.saturating_sub(note.interval)
        {
            return Ok(false);
        }
        table.insert(key, note.now).db()?;
        let mut sent = account_rows(table, note.account, |key, when| (when, key.to_owned()))?;
        if sent.len() > VACATION_KEPT {
            sent.sort_unstable();
            for (_, key) in sent.iter().take(sent.len() - VACATION_KEPT) {
                table.remove((note.account, key.as_str())).db()?;
            }
        }
        Ok(true)
    }
}

/// Forgets a removed account's scripts and the answers they sent.
pub(crate) fn remove_account(tables: &mut Tables<'_>, account: AccountId) -> StoreResult<()> {
    for script in account_scripts(&tables.sieve_scripts, account)? {
        tables
            .sieve_scripts
            .remove((account, script.name.as_str()))
            .db()?;
    }
    let sent = account_rows(&tables.vacation_replies, account, |key, _| key.to_owned())?;
    for key in sent {
        tables
            .vacation_replies
            .remove((account, key.as_str()))
            .db()?;
    }
    Ok(())
}

/// Layout: version, active (bool), the source.
fn encode(active: bool, source: &str) -> Vec<u8> {
    let mut out = Encoder::new(SIEVE_RECORD_VERSION);
    out.bool(active);
    out.str(source);
    out.0
}

fn decode(name: String, bytes: &[u8]) -> StoreResult<SieveScript> {
    let mut input = Decoder::new(bytes, WHAT, SIEVE_RECORD_VERSION)?;
    let active = input.bool()?;
    let source = input.str()?.to_owned();
    input.finish()?;
    Ok(SieveScript {
        name,
        active,
        source,
    })
}
