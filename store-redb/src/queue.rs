//! The outbound queue: one record per queued message in `queue`, and in `queue_due` the time
//! its next pending recipient is due, so the delivery worker finds due messages without
//! reading the others. A queued message holds one reference on its body, like a stored copy.

use crate::typed::{Open, ReadableTable};
use engine::queue::{
    Body, NewQueued, Notify, Outbound, OutboundEnvelope, QueueId, QueuedMessage, Ret, State,
};
use engine::store::{BlobId, StoreError, StoreResult};
use redb::ReadTransaction;

use crate::blobs::{self, BlobFiles};
use crate::error::{DbResultExt, corrupt};
use crate::group_commit::{Batch, WriteOp};
use crate::tables::{Decoder, Encoder, QUEUE, QUEUE_DUE, Tables};

/// `meta` key: the next [`QueueId`] to hand out.
const NEXT_QUEUE_ID: &str = "next_queue_id";
/// The first byte of queue records: layout 2 added whether a delay was reported, layout 3
/// REQUIRETLS.
const QUEUE_RECORD_VERSION: u8 = 3;

/// Queues `new` for body `blob`, in the transaction that stores the body (see
/// [`Deliver`](crate::delivery::Deliver)). The caller counts the body reference.
pub(crate) fn add(
    tables: &mut Tables<'_>,
    blob: BlobId,
    size: u64,
    new: NewQueued,
) -> StoreResult<QueueId> {
    let message = QueuedMessage {
        id: QueueId(tables.next_id(NEXT_QUEUE_ID)?),
        blob,
        size,
        created: new.created,
        envelope: new.envelope,
        recipients: new.recipients,
        lease: None,
    };
    put(tables, &message, None)?;
    Ok(message.id)
}

/// Writes `message`, moving its `queue_due` entry from `old_due`.
fn put(tables: &mut Tables<'_>, message: &QueuedMessage, old_due: Option<i64>) -> StoreResult<()> {
    let id = message.id.0;
    if let Some(due) = old_due {
        tables.queue_due.remove((due, id)).db()?;
    }
    if let Some(due) = message.next_attempt() {
        tables.queue_due.insert((due, id), ()).db()?;
    }
    tables.queue.insert(id, encode(message).as_slice()).db()?;
    Ok(())
}

/// Every queued message, in queue order.
pub(crate) fn all(txn: &ReadTransaction) -> StoreResult<Vec<QueuedMessage>> {
    let queue = txn.open(QUEUE).db()?;
    queue
        .iter()
        .db()?
        .map(|row| {
            let (id, record) = row.db()?;
            decode(QueueId(id.value()), record.value())
        })
        .collect()
}

/// How many messages are queued: the table keeps its length.
pub(crate) fn len(txn: &ReadTransaction) -> StoreResult<u64> {
    txn.open(QUEUE).db()?.len().db()
}

/// One queued message.
pub(crate) fn get(txn: &ReadTransaction, id: QueueId) -> StoreResult<Option<QueuedMessage>> {
    let queue = txn.open(QUEUE).db()?;
    let record = queue.get(id.0).db()?;
    record.map(|r| decode(id, r.value())).transpose()
}

/// Up to `limit` messages with a recipient due at `now` or before, soonest first.
pub(crate) fn due(
    txn: &ReadTransaction,
    now: i64,
    limit: usize,
) -> StoreResult<Vec<QueuedMessage>> {
    let schedule = txn.open(QUEUE_DUE).db()?;
    let queue = txn.open(QUEUE).db()?;
    let mut found = Vec::new();
    for row in schedule
        .range((i64::MIN, 0)..=(now, u64::MAX))
        .db()?
        .take(limit)
    {
        let (key, _) = row.db()?;
        let (_, id) = key.value();
        let record = queue
            .get(id)
            .db()?
            .ok_or_else(|| corrupt("queue schedule"))?;
        found.push(decode(QueueId(id), record.value())?);
    }
    Ok(found)
}

/// When the soonest pending recipient is due.
pub(crate) fn next_due(txn: &ReadTransaction) -> StoreResult<Option<i64>> {
    let schedule = txn.open(QUEUE_DUE).db()?;
    let first = schedule.first().db()?;
    Ok(first.map(|(key, _)| key.value().0))
}

/// Saves a queued message's recipients after an attempt; a message with none pending leaves
/// the queue and gives up its body.
pub(crate) struct Update {
    pub(crate) message: QueuedMessage,
    pub(crate) blob_files: BlobFiles,
}

impl WriteOp for Update {
    /// The message and the due time it was filed under.
    type Plan = (Update, Option<i64>);
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Self::Plan> {
        let due = stored(&batch.tables, self.message.id)?.next_attempt();
        Ok((self, due))
    }

    fn apply((update, old_due): Self::Plan, batch: &mut Batch<'_>) -> StoreResult<()> {
        if update.message.next_attempt().is_some() {
            return put(&mut batch.tables, &update.message, old_due);
        }
        remove(batch, &update.blob_files, &update.message, old_due)
    }
}

/// Takes a message out of the queue, whatever its recipients' states.
pub(crate) struct Remove {
    pub(crate) id: QueueId,
    pub(crate) blob_files: BlobFiles,
}

impl WriteOp for Remove {
    type Plan = (Remove, Option<QueuedMessage>);
    type Output = bool;

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Self::Plan> {
        let found = match stored(&batch.tables, self.id) {
            Ok(message) => Some(message),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        Ok((self, found))
    }

    fn apply((op, found): Self::Plan, batch: &mut Batch<'_>) -> StoreResult<bool> {
        let Some(message) = found else {
            return Ok(false);
        };
        let due = message.next_attempt();
        remove(batch, &op.blob_files, &message, due)?;
        Ok(true)
    }
}

fn stored(tables: &Tables<'_>, id: QueueId) -> StoreResult<QueuedMessage> {
    let record = tables.queue.get(id.0).db()?;
    let record = record.ok_or_else(|| StoreError::NotFound(format!("queued message {id}")))?;
    decode(id, record.value())
}

fn remove(
    batch: &mut Batch<'_>,
    files: &BlobFiles,
    message: &QueuedMessage,
    due: Option<i64>,
) -> StoreResult<()> {
    let id = message.id.0;
    if let Some(due) = due {
        batch.tables.queue_due.remove((due, id)).db()?;
    }
    batch.tables.queue.remove(id).db()?;
    blobs::release_one(batch, files, &message.blob)
}

/// An entry to queue, as a held submission keeps it (a queue record without id or body).
pub(crate) fn encode_new(new: &NewQueued) -> Vec<u8> {
    encode(&QueuedMessage {
        id: QueueId(0),
        blob: BlobId([0; 32]),
        size: 0,
        created: new.created,
        envelope: new.envelope.clone(),
        recipients: new.recipients.clone(),
        lease: None,
    })
}

pub(crate) fn decode_new(bytes: &[u8]) -> StoreResult<NewQueued> {
    let message = decode(QueueId(0), bytes)?;
    Ok(NewQueued {
        created: message.created,
        envelope: message.envelope,
        recipients: message.recipients,
    })
}

fn encode(message: &QueuedMessage) -> Vec<u8> {
    let mut out = Encoder::new(QUEUE_RECORD_VERSION);
    out.bytes(&message.blob.0);
    out.u64(message.size);
    out.bytes(&message.created.to_le_bytes());
    let envelope = &message.envelope;
    out.str(&envelope.sender);
    out.u8(match envelope.body {
        None => 0,
        Some(Body::SevenBit) => 1,
        Some(Body::EightBitMime) => 2,
    });
    out.bool(envelope.smtputf8);
    out.u8(match envelope.ret {
        None => 0,
        Some(Ret::Full) => 1,
        Some(Ret::Hdrs) => 2,
    });
    optional(&mut out, envelope.envid.as_deref());
    out.bool(envelope.require_tls);
    out.u64(message.recipients.len() as u64);
    for recipient in &message.recipients {
        out.str(&recipient.address);
        optional(&mut out, recipient.orcpt.as_deref());
        out.u8(recipient.notify.map_or(0, notify_bits));
        out.u8(match recipient.state {
            State::Pending => 0,
            State::Delivered => 1,
            State::Failed => 2,
        });
        out.u32(recipient.attempts);
        out.bytes(&recipient.next_attempt.to_le_bytes());
        optional(&mut out, recipient.last_result.as_deref());
        out.bool(recipient.delay_reported);
    }
    out.0
}

fn decode(id: QueueId, bytes: &[u8]) -> StoreResult<QueuedMessage> {
    const WHAT: &str = "queue record";
    let mut input = Decoder::new(bytes, WHAT, QUEUE_RECORD_VERSION)?;
    let blob = BlobId(input.array()?);
    let size = input.u64()?;
    let created = i64::from_le_bytes(input.array()?);
    let envelope = OutboundEnvelope {
        sender: input.str()?.to_owned(),
        body: match input.u8()? {
            0 => None,
            1 => Some(Body::SevenBit),
            2 => Some(Body::EightBitMime),
            _ => return Err(corrupt(WHAT)),
        },
        smtputf8: input.bool()?,
        ret: match input.u8()? {
            0 => None,
            1 => Some(Ret::Full),
            2 => Some(Ret::Hdrs),
            _ => return Err(corrupt(WHAT)),
        },
        envid: read_optional(&mut input)?,
        require_tls: input.version >= 3 && input.bool()?,
    };
    let mut recipients = Vec::new();
    // No capacity from the count: a damaged count must not allocate.
    for _ in 0..input.u64()? {
        recipients.push(Outbound {
            address: input.str()?.to_owned(),
            orcpt: read_optional(&mut input)?,
            notify: notify_from_bits(input.u8()?),
            state: match input.u8()? {
                0 => State::Pending,
                1 => State::Delivered,
                2 => State::Failed,
                _ => return Err(corrupt(WHAT)),
            },
            attempts: input.u32()?,
            next_attempt: i64::from_le_bytes(input.array()?),
            last_result: read_optional(&mut input)?,
            delay_reported: input.version >= 2 && input.bool()?,
        });
    }
    input.finish()?;
    Ok(QueuedMessage {
        id,
        blob,
        size,
        created,
        envelope,
        recipients,
        lease: None,
    })
}

pub(crate) fn optional(out: &mut Encoder, value: Option<&str>) {
    out.bool(value.is_some());
    if let Some(value) = value {
        out.str(value);
    }
}

pub(crate) fn read_optional(input: &mut Decoder<'_>) -> StoreResult<Option<String>> {
    Ok(match input.bool()? {
        true => Some(input.str()?.to_owned()),
        false => None,
    })
}

/// Bit 0: NOTIFY was given; then NEVER, SUCCESS, FAILURE, DELAY.
pub(crate) fn notify_bits(notify: Notify) -> u8 {
    1 | u8::from(notify.never) << 1
        | u8::from(notify.success) << 2
        | u8::from(notify.failure) << 3
        | u8::from(notify.delay) << 4
}

pub(crate) fn notify_from_bits(bits: u8) -> Option<Notify> {
    (bits & 1 == 1).then_some(Notify {
        never: bits & 2 != 0,
        success: bits & 4 != 0,
        failure: bits & 8 != 0,
        delay: bits & 16 != 0,
    })
}
