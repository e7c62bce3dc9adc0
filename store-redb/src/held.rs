//! Held submissions (send later, undo send) in `held`: id → the owner, times, subject,
//! body, envelope and where the message goes once released; `held_due` orders them by
//! release time. A held submission holds one reference on its body, like a queue entry.
//! It is added and released by [`Deliver`](crate::delivery::Deliver), in the commit that
//! stores (or releases) the message, and cancelled here. `undo_send`: account → the seconds
//! its submissions are held.

use crate::typed::{Open, ReadableTable};
use engine::LocalRecipient;
use engine::queue::{HeldMessage, NewHeld};
use engine::store::{AccountId, BlobId, StoreError, StoreResult};
use engine::webhooks::Hooked;
use redb::ReadTransaction;

use crate::blobs::{self, BlobFiles};
use crate::error::{DbResultExt, corrupt};
use crate::group_commit::{Batch, WriteOp};
use crate::queue::{
    decode_new, encode_new, notify_bits, notify_from_bits, optional, read_optional,
};
use crate::tables::{Decoder, Encoder, HELD, HELD_DUE, Tables, UNDO_SEND};

const NEXT_HELD_ID: &str = "next_held_id";
const VERSION: u8 = 1;
const WHAT: &str = "held submission";

pub(crate) fn of(
    txn: &ReadTransaction,
    account: Option<AccountId>,
) -> StoreResult<Vec<HeldMessage>> {
    let due = txn.open(HELD_DUE).db()?;
    let held = txn.open(HELD).db()?;
    let mut found = Vec::new();
    for row in due.range::<(i64, u64)>(..).db()? {
        let (_, id) = row.db()?.0.value();
        let record = held.get(id).db()?.ok_or_else(|| corrupt("held index"))?;
        let message = decode(id, record.value())?;
        if account.is_none_or(|a| a == message.held.account) {
            found.push(message);
        }
    }
    Ok(found)
}

pub(crate) fn due(txn: &ReadTransaction, now: i64, limit: usize) -> StoreResult<Vec<HeldMessage>> {
    let due = txn.open(HELD_DUE).db()?;
    let held = txn.open(HELD).db()?;
    let mut found = Vec::new();
    for row in due.range(..=(now, u64::MAX)).db()? {
        if found.len() >= limit {
            break;
        }
        let (_, id) = row.db()?.0.value();
        let record = held.get(id).db()?.ok_or_else(|| corrupt("held index"))?;
        found.push(decode(id, record.value())?);
    }
    Ok(found)
}

pub(crate) fn next_due(txn: &ReadTransaction) -> StoreResult<Option<i64>> {
    let due = txn.open(HELD_DUE).db()?;
    Ok(due.first().db()?.map(|(key, _)| key.value().0))
}

pub(crate) fn undo_seconds(txn: &ReadTransaction, account: AccountId) -> StoreResult<u32> {
    let table = txn.open(UNDO_SEND).db()?;
    Ok(table.get(account).db()?.map_or(0, |s| s.value()))
}

/// Adds a held submission for body `blob`, in the commit that stores the body. The caller
/// counts the body reference.
pub(crate) fn add(
    tables: &mut Tables<'_>,
    blob: BlobId,
    size: u64,
    held: NewHeld,
) -> StoreResult<u64> {
    let id = tables.next_id(NEXT_HELD_ID)?;
    let message = HeldMessage {
        id,
        blob,
        size,
        held,
    };
    tables.held.insert(id, encode(&message).as_slice()).db()?;
    tables
        .held_due
        .insert((message.held.release_at, id), ())
        .db()?;
    Ok(id)
}

/// The held submission `id`, as stored: what a release checks before it commits.
pub(crate) fn get(tables: &Tables<'_>, id: u64) -> StoreResult<HeldMessage> {
    let record = tables.held.get(id).db()?;
    let record = record.ok_or_else(|| StoreError::NotFound(format!("held submission {id}")))?;
    decode(id, record.value())
}

/// Removes a held submission and drops its body reference: released or cancelled.
pub(crate) fn remove(
    batch: &mut Batch<'_>,
    files: &BlobFiles,
    message: &HeldMessage,
) -> StoreResult<()> {
    batch.tables.held.remove(message.id).db()?;
    batch
        .tables
        .held_due
        .remove((message.held.release_at, message.id))
        .db()?;
    blobs::release_one(batch, files, &message.blob)
}

/// Cancels a held submission; whether there was one.
pub(crate) struct Cancel {
    pub(crate) id: u64,
    pub(crate) blob_files: BlobFiles,
}

impl WriteOp for Cancel {
    type Plan = (Option<HeldMessage>, BlobFiles);
    type Output = bool;

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Self::Plan> {
        let found = match get(&batch.tables, self.id) {
            Ok(message) => Some(message),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        Ok((found, self.blob_files))
    }

    fn apply((found, files): Self::Plan, batch: &mut Batch<'_>) -> StoreResult<bool> {
        match found {
            Some(message) => remove(batch, &files, &message).map(|()| true),
            None => Ok(false),
        }
    }
}

/// Sets the seconds an account's submissions are held (0: none).
pub(crate) struct SetUndo {
    pub(crate) account: AccountId,
    pub(crate) seconds: u32,
}

impl WriteOp for SetUndo {
    type Plan = SetUndo;
    type Output = ();

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<SetUndo> {
        Ok(self)
    }

    fn apply(set: SetUndo, batch: &mut Batch<'_>) -> StoreResult<()> {
        let table = &mut batch.tables.undo_send;
        match set.seconds {
            0 => table.remove(set.account).db()?,
            seconds => table.insert(set.account, seconds).db()?,
        };
        Ok(())
    }
}

/// Drops a removed account's held submissions and setting.
pub(crate) fn remove_account(
    batch: &mut Batch<'_>,
    files: &BlobFiles,
    account: AccountId,
) -> StoreResult<()> {
    batch.tables.undo_send.remove(account).db()?;
    let mut held = Vec::new();
    for row in batch.tables.held.range::<u64>(..).db()? {
        let (id, record) = row.db()?;
        let message = decode(id.value(), record.value())?;
        if message.held.account == account {
            held.push(message);
        }
    }
    for message in &held {
        remove(batch, files, message)?;
    }
    Ok(())
}

/// Layout: version, body id, size, account, created, release time, subject, envelope and
/// queue entries (each a queue record), local recipients (account, ORCPT, NOTIFY), hooked
/// recipients (webhook, address).
fn encode(message: &HeldMessage) -> Vec<u8> {
    let held = &message.held;
    let mut out = Encoder::new(VERSION);
    out.bytes(&message.blob.0);
    out.u64(message.size);
    out.u64(held.account);
    out.bytes(&held.created.to_le_bytes());
    out.bytes(&held.release_at.to_le_bytes());
    out.str(&held.subject);
    out.sized(&encode_new(&engine::queue::NewQueued {
        created: held.created,
        envelope: held.envelope.clone(),
        recipients: Vec::new(),
    }));
    out.u64(held.queued.len() as u64);
    for entry in &held.queued {
        out.sized(&encode_new(entry));
    }
    out.u64(held.local.len() as u64);
    for local in &held.local {
        out.u64(local.account);
        optional(&mut out, local.orcpt.as_deref());
        out.u8(local.notify.map_or(0, notify_bits));
    }
    out.u64(held.hooked.len() as u64);
    for hooked in &held.hooked {
        out.u64(hooked.webhook);
        out.str(&hooked.address);
    }
    out.0
}

fn decode(id: u64, bytes: &[u8]) -> StoreResult<HeldMessage> {
    let mut input = Decoder::new(bytes, WHAT, VERSION)?;
    let blob = BlobId(input.array()?);
    let size = input.u64()?;
    let account = input.u64()?;
    let created = i64::from_le_bytes(input.array()?);
    let release_at = i64::from_le_bytes(input.array()?);
    let subject = input.str()?.to_owned();
    let envelope = decode_new(input.sized()?)?.envelope;
    // No capacity from the counts: a damaged count must not allocate.
    let mut queued = Vec::new();
    for _ in 0..input.u64()? {
        queued.push(decode_new(input.sized()?)?);
    }
    let mut local = Vec::new();
    for _ in 0..input.u64()? {
        local.push(LocalRecipient {
            account: input.u64()?,
            orcpt: read_optional(&mut input)?,
            notify: notify_from_bits(input.u8()?),
        });
    }
    let mut hooked = Vec::new();
    for _ in 0..input.u64()? {
        hooked.push(Hooked {
            webhook: input.u64()?,
            address: input.str()?.to_owned(),
        });
    }
    input.finish()?;
    Ok(HeldMessage {
        id,
        blob,
        size,
        held: NewHeld {
            account,
            created,
            release_at,
            subject,
            envelope,
            local,
            hooked,
            queued,
        },
    })
}

#[cfg(test)]
mod tests {
    use engine::queue::{Notify, Outbound, OutboundEnvelope};

    use super::*;

    #[test]
    fn records_round_trip() {
        let envelope = OutboundEnvelope {
            sender: "ann@example.org".into(),
            envid: Some("e1".into()),
            ..OutboundEnvelope::default()
        };
        let message = HeldMessage {
            id: 4,
            blob: BlobId([7; 32]),
            size: 1234,
            held: NewHeld {
                account: 2,
                created: 1_800_000_000,
                release_at: 1_800_003_600,
                subject: "Later".into(),
                envelope: envelope.clone(),
                local: vec![LocalRecipient {
                    account: 3,
                    orcpt: Some("rfc822;bob@example.org".into()),
                    notify: Some(Notify {
                        failure: true,
                        ..Notify::default()
                    }),
                }],
                hooked: vec![Hooked {
                    webhook: 1,
                    address: "in@example.org".into(),
                }],
                queued: vec![engine::queue::NewQueued {
                    created: 1_800_000_000,
                    envelope,
                    recipients: vec![Outbound::new(
                        "carl@example.net".into(),
                        None,
                        None,
                        1_800_003_600,
                    )],
                }],
            },
        };
        assert_eq!(decode(4, &encode(&message)).unwrap(), message);
        assert!(decode(4, &[1, 0]).is_err());
    }
}
