//! Disposable aliases in `disposable_aliases`: address (lowercased) → the account it
//! delivers to, when it was made, how often and when last it was used, whether it is on,
//! and the user's note. An account keeps a bounded number, so listing one account's reads
//! the table through.

use crate::typed::{Open, ReadableTable};
use engine::store::{AccountId, DisposableAlias, StoreError, StoreResult};
use redb::ReadTransaction;

use crate::error::{DbResultExt, corrupt};
use crate::group_commit::{Batch, WriteOp};
use crate::tables::{DISPOSABLE_ALIASES, Decoder, Encoder, Tables};

const RECORD_VERSION: u8 = 1;
const WHAT: &str = "disposable alias record";

pub(crate) fn find(txn: &ReadTransaction, address: &str) -> StoreResult<Option<DisposableAlias>> {
    let table = txn.open(DISPOSABLE_ALIASES).db()?;
    let key = address.to_ascii_lowercase();
    match table.get(key.as_str()).db()? {
        Some(record) => decode(&key, record.value()).map(Some),
        None => Ok(None),
    }
}

pub(crate) fn of_account(
    txn: &ReadTransaction,
    account: AccountId,
) -> StoreResult<Vec<DisposableAlias>> {
    let table = txn.open(DISPOSABLE_ALIASES).db()?;
    all(&table).map(|found| found.into_iter().filter(|a| a.account == account).collect())
}

fn all(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
) -> StoreResult<Vec<DisposableAlias>> {
    let mut found = Vec::new();
    for row in table.range::<&str>(..).db()? {
        let (address, record) = row.db()?;
        found.push(decode(address.value(), record.value())?);
    }
    Ok(found)
}

/// Adds a new alias; `AlreadyExists` when the address is taken (as an account's or an
/// alias's too).
pub(crate) struct Add(pub(crate) DisposableAlias);

impl WriteOp for Add {
    type Plan = DisposableAlias;
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<DisposableAlias> {
        let address = self.0.address.to_ascii_lowercase();
        let tables = &batch.tables;
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        let taken = tables
            .disposable_aliases
            .get(address.as_str())
            .db()?
            .is_some()
            || tables
                .account_addresses
                .get((domain, address.as_str()))
                .db()?
                .is_some()
            || tables
                .aliases
                .range((address.as_str(), "")..)
                .db()?
                .next()
                .transpose()
                .db()?
                .is_some_and(|(key, _)| key.value().0 == address);
        if taken {
            return Err(StoreError::AlreadyExists(address));
        }
        Ok(DisposableAlias { address, ..self.0 })
    }

    fn apply(alias: DisposableAlias, batch: &mut Batch<'_>) -> StoreResult<()> {
        let record = encode(&alias);
        batch
            .tables
            .disposable_aliases
            .insert(alias.address.as_str(), record.as_slice())
            .db()?;
        Ok(())
    }
}

/// Turns an alias on or off; `NotFound` for an address that is not one.
pub(crate) struct SetEnabled {
    pub(crate) address: String,
    pub(crate) enabled: bool,
}

impl WriteOp for SetEnabled {
    type Plan = DisposableAlias;
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<DisposableAlias> {
        let address = self.address.to_ascii_lowercase();
        let table = &batch.tables.disposable_aliases;
        let record = table.get(address.as_str()).db()?;
        let alias = match record {
            Some(record) => decode(&address, record.value())?,
            None => return Err(StoreError::NotFound(format!("disposable alias {address}"))),
        };
        Ok(DisposableAlias {
            enabled: self.enabled,
            ..alias
        })
    }

    fn apply(alias: DisposableAlias, batch: &mut Batch<'_>) -> StoreResult<()> {
        Add::apply(alias, batch)
    }
}

/// Counts a message to the alias, at `now`. Not made durable on its own: a count lost in a
/// crash is a count, not mail.
pub(crate) struct NoteUse {
    pub(crate) address: String,
    pub(crate) now: i64,
}

impl WriteOp for NoteUse {
    type Plan = NoteUse;
    type Output = ();
    const DURABLE: bool = false;

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<NoteUse> {
        Ok(self)
    }

    fn apply(note: NoteUse, batch: &mut Batch<'_>) -> StoreResult<()> {
        let address = note.address.to_ascii_lowercase();
        let table = &mut batch.tables.disposable_aliases;
        let record = table
            .get(address.as_str())
            .db()?
            .map(|r| r.value().to_vec());
        if let Some(record) = record {
            let alias = decode(&address, &record)?;
            let used = DisposableAlias {
                uses: alias.uses.saturating_add(1),
                last_used: Some(note.now),
                ..alias
            };
            table
                .insert(address.as_str(), encode(&used).as_slice())
                .db()?;
        }
        Ok(())
    }
}

/// Forgets a removed account's disposable aliases.
pub(crate) fn remove_account(tables: &mut Tables<'_>, account: AccountId) -> StoreResult<()> {
    for alias in all(&tables.disposable_aliases)? {
        if alias.account == account {
            tables
                .disposable_aliases
                .remove(alias.address.as_str())
                .db()?;
        }
    }
    Ok(())
}

/// Layout: version, account (u64), created (i64), uses (u64), last used (bool, i64),
/// enabled (bool), note. The address is the key.
fn encode(alias: &DisposableAlias) -> Vec<u8> {
    let mut out = Encoder::new(RECORD_VERSION);
    out.u64(alias.account);
    out.bytes(&alias.created.to_le_bytes());
    out.u64(alias.uses);
    out.bool(alias.last_used.is_some());
    out.bytes(&alias.last_used.unwrap_or(0).to_le_bytes());
    out.bool(alias.enabled);
    out.str(&alias.note);
    out.0
}

fn decode(address: &str, bytes: &[u8]) -> StoreResult<DisposableAlias> {
    let mut input = Decoder::new(bytes, WHAT, RECORD_VERSION)?;
    let account = input.u64()?;
    let created = i64::from_le_bytes(input.array()?);
    let uses = input.u64()?;
    let used = input.bool()?;
    let last_used = i64::from_le_bytes(input.array()?);
    let enabled = input.bool()?;
    let note = input.str()?.to_owned();
    input.finish()?;
    if address.is_empty() {
        return Err(corrupt(WHAT));
    }
    Ok(DisposableAlias {
        address: address.to_owned(),
        account,
        created,
        uses,
        last_used: used.then_some(last_used),
        enabled,
        note,
    })
}
