//! The audit log: entries in `audit` under ascending ids (a `meta` counter), so the table is
//! in the order written, which is time order; old entries are removed from the start.

use crate::typed::{Open, ReadableTable};
use engine::store::{AuditEntry, StoreResult};
use redb::ReadTransaction;

use crate::error::{DbResultExt, corrupt};
use crate::group_commit::{Batch, WriteOp};
use crate::tables::{AUDIT, Decoder, Encoder};

const NEXT_AUDIT_ID: &str = "next_audit_id";
const ENTRY_VERSION: u8 = 1;
const WHAT: &str = "audit entry";

pub(crate) fn entries(
    txn: &ReadTransaction,
    since: i64,
    limit: usize,
) -> StoreResult<Vec<AuditEntry>> {
    let table = txn.open(AUDIT).db()?;
    let mut found = Vec::new();
    for row in table.range::<u64>(..).db()? {
        let (_, record) = row.db()?;
        let entry = decode(record.value())?;
        if entry.time >= since {
            found.push(entry);
            if found.len() >= limit {
                break;
            }
        }
    }
    Ok(found)
}

pub(crate) struct Append(pub(crate) AuditEntry);

impl WriteOp for Append {
    type Plan = AuditEntry;
    type Output = ();

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<AuditEntry> {
        Ok(self.0)
    }

    fn apply(entry: AuditEntry, batch: &mut Batch<'_>) -> StoreResult<()> {
        let id = batch.tables.next_id(NEXT_AUDIT_ID)?;
        batch
            .tables
            .audit
            .insert(id, encode(&entry).as_slice())
            .db()?;
        Ok(())
    }
}

/// Removes the entries older than `before`, then the oldest beyond `keep`: the log stays
/// bounded however many logins a flood makes fail.
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
        let excess = batch.tables.audit.len().db()?.saturating_sub(prune.keep);
        let mut old = Vec::new();
        for row in batch.tables.audit.range::<u64>(..).db()? {
            let (id, record) = row.db()?;
            let too_many = (old.len() as u64) < excess;
            if !too_many && decode(record.value())?.time >= prune.before {
                break;
            }
            old.push(id.value());
        }
        for id in &old {
            batch.tables.audit.remove(id).db()?;
        }
        Ok(old.len() as u64)
    }
}

/// Layout: version, time (i64), kind, actor, client (empty: none), detail (each
/// length-prefixed).
fn encode(entry: &AuditEntry) -> Vec<u8> {
    let mut out = Encoder::new(ENTRY_VERSION);
    out.bytes(&entry.time.to_le_bytes());
    out.str(&entry.kind);
    out.str(&entry.actor);
    out.str(entry.client.as_deref().unwrap_or(""));
    out.str(&entry.detail);
    out.0
}

fn decode(bytes: &[u8]) -> StoreResult<AuditEntry> {
    let mut input = Decoder::new(bytes, WHAT, ENTRY_VERSION)?;
    let time = i64::from_le_bytes(input.array()?);
    let kind = input.str()?.to_owned();
    let actor = input.str()?.to_owned();
    let client = Some(input.str()?.to_owned()).filter(|c| !c.is_empty());
    let detail = input.str()?.to_owned();
    input.finish()?;
    if kind.is_empty() {
        return Err(corrupt(WHAT));
    }
    Ok(AuditEntry {
        time,
        kind,
        actor,
        client,
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip() {
        let entry = AuditEntry {
            time: 1_800_000_000,
            kind: "login".into(),
            actor: "alice@example.test".into(),
            client: Some("192.0.2.1".into()),
            detail: "imap".into(),
        };
        assert_eq!(decode(&encode(&entry)).unwrap(), entry);
        let bare = AuditEntry {
            client: None,
            ..entry
        };
        assert_eq!(decode(&encode(&bare)).unwrap(), bare);
        assert!(decode(&[1, 2, 3]).is_err());
    }
}
