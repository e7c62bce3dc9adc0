//! Webhooks, their waiting calls and their delivery log.
//!
//! - `webhooks`: id → scope key, URL, secret, creation time; `webhook_routes`: the scope key
//!   (an address, or `@domain`) → id, so delivery finds a recipient's hook in one lookup.
//! - `webhook_only`: the domains whose mail goes to webhooks only.
//! - `webhook_calls`: id → the call (webhook, attempts, due time, label, JSON payload), with
//!   `webhook_due` ordering them by due time as `queue_due` does the outbound queue.
//! - `webhook_log`: (webhook id, entry id) → one attempt; entry ids ascend, so a webhook's
//!   rows are in the order written and the oldest go first past [`WEBHOOK_LOG_KEPT`].

use engine::store::{
    AttemptOutcome, NewWebhookCall, StoreError, StoreResult, WEBHOOK_LOG_KEPT, Webhook,
    WebhookAttempt, WebhookCall, WebhookScope,
};
use std::collections::BTreeMap;

use crate::typed::{Open, ReadableTable};
use redb::ReadTransaction;

use crate::error::{DbResultExt, corrupt};
use crate::group_commit::{Batch, WriteOp};
use crate::tables::{
    Decoder, Encoder, Tables, WEBHOOK_CALLS, WEBHOOK_DUE, WEBHOOK_LOG, WEBHOOK_ONLY,
    WEBHOOK_ROUTES, WEBHOOKS,
};

const NEXT_WEBHOOK_ID: &str = "next_webhook_id";
const NEXT_CALL_ID: &str = "next_webhook_call_id";
const NEXT_LOG_ID: &str = "next_webhook_log_id";
const VERSION: u8 = 1;

pub(crate) fn all(txn: &ReadTransaction) -> StoreResult<Vec<Webhook>> {
    let table = txn.open(WEBHOOKS).db()?;
    let mut found = Vec::new();
    for row in table.range::<u64>(..).db()? {
        let (id, record) = row.db()?;
        found.push(decode_hook(id.value(), record.value())?);
    }
    Ok(found)
}

pub(crate) fn find(txn: &ReadTransaction, keys: &[String]) -> StoreResult<Option<Webhook>> {
    let routes = txn.open(WEBHOOK_ROUTES).db()?;
    let hooks = txn.open(WEBHOOKS).db()?;
    for key in keys {
        let key = key.to_ascii_lowercase();
        let Some(id) = routes.get(key.as_str()).db()?.map(|id| id.value()) else {
            continue;
        };
        let record = hooks
            .get(id)
            .db()?
            .ok_or_else(|| corrupt("webhook route"))?;
        return decode_hook(id, record.value()).map(Some);
    }
    Ok(None)
}

pub(crate) fn is_only(txn: &ReadTransaction, domain: &str) -> StoreResult<bool> {
    let table = txn.open(WEBHOOK_ONLY).db()?;
    Ok(table
        .get(domain.to_ascii_lowercase().as_str())
        .db()?
        .is_some())
}

pub(crate) fn only_domains(txn: &ReadTransaction) -> StoreResult<Vec<String>> {
    let table = txn.open(WEBHOOK_ONLY).db()?;
    let mut found = Vec::new();
    for row in table.range::<&str>(..).db()? {
        found.push(row.db()?.0.value().to_owned());
    }
    Ok(found)
}

pub(crate) fn due(txn: &ReadTransaction, now: i64, limit: usize) -> StoreResult<Vec<WebhookCall>> {
    let due = txn.open(WEBHOOK_DUE).db()?;
    let calls = txn.open(WEBHOOK_CALLS).db()?;
    let mut found = Vec::new();
    for row in due.range(..=(now, u64::MAX)).db()? {
        if found.len() >= limit {
            break;
        }
        let (_, id) = row.db()?.0.value();
        let record = calls
            .get(id)
            .db()?
            .ok_or_else(|| corrupt("webhook due index"))?;
        found.push(decode_call(id, record.value())?);
    }
    Ok(found)
}

pub(crate) fn next_due(txn: &ReadTransaction) -> StoreResult<Option<i64>> {
    let due = txn.open(WEBHOOK_DUE).db()?;
    Ok(due.first().db()?.map(|(key, _)| key.value().0))
}

/// Calls waiting, per webhook: one pass, reading each call's head only.
pub(crate) fn waiting(txn: &ReadTransaction) -> StoreResult<BTreeMap<u64, u64>> {
    let calls = txn.open(WEBHOOK_CALLS).db()?;
    let mut counts = BTreeMap::new();
    for row in calls.range::<u64>(..).db()? {
        let (_, record) = row.db()?;
        *counts.entry(call_head(record.value())?.0).or_default() += 1;
    }
    Ok(counts)
}

pub(crate) fn log(
    txn: &ReadTransaction,
    webhook: u64,
    limit: usize,
) -> StoreResult<Vec<WebhookAttempt>> {
    let table = txn.open(WEBHOOK_LOG).db()?;
    let mut found = Vec::new();
    for row in table.range((webhook, 0)..=(webhook, u64::MAX)).db()?.rev() {
        if found.len() >= limit {
            break;
        }
        let (_, record) = row.db()?;
        found.push(decode_attempt(webhook, record.value())?);
    }
    Ok(found)
}

/// The webhooks of a domain's addresses and of the domain itself.
pub(crate) fn count(
    routes: &impl ReadableTable<&'static str, u64>,
    domain: &str,
) -> StoreResult<usize> {
    let mut count = 0;
    for row in routes.iter().db()? {
        let key = row.db()?.0;
        let key = key.value();
        if key.rsplit_once('@').is_some_and(|(_, d)| d == domain) {
            count += 1;
        }
    }
    Ok(count)
}

/// Adds a webhook; `AlreadyExists` when its scope has one.
pub(crate) struct Add {
    pub(crate) scope: WebhookScope,
    pub(crate) url: String,
    pub(crate) secret: String,
    pub(crate) created: i64,
}

impl WriteOp for Add {
    type Plan = Add;
    type Output = Webhook;

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Add> {
        let key = self.scope.key().to_ascii_lowercase();
        if batch
            .tables
            .webhook_routes
            .get(key.as_str())
            .db()?
            .is_some()
        {
            return Err(StoreError::AlreadyExists(format!("a webhook for {key}")));
        }
        Ok(self)
    }

    fn apply(add: Add, batch: &mut Batch<'_>) -> StoreResult<Webhook> {
        let tables = &mut batch.tables;
        let hook = Webhook {
            id: tables.next_id(NEXT_WEBHOOK_ID)?,
            scope: WebhookScope::from_key(&add.scope.key().to_ascii_lowercase()),
            url: add.url,
            secret: add.secret,
            created: add.created,
        };
        let key = hook.scope.key();
        tables.webhook_routes.insert(key.as_str(), hook.id).db()?;
        let record = encode_hook(&hook);
        tables.webhooks.insert(hook.id, record.as_slice()).db()?;
        Ok(hook)
    }
}

/// Removes a webhook, its route, its waiting calls and its log.
pub(crate) struct Remove(pub(crate) u64);

impl WriteOp for Remove {
    type Plan = u64;
    type Output = bool;

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<u64> {
        Ok(self.0)
    }

    fn apply(id: u64, batch: &mut Batch<'_>) -> StoreResult<bool> {
        let tables = &mut batch.tables;
        let Some(record) = tables.webhooks.remove(id).db()? else {
            return Ok(false);
        };
        let hook = decode_hook(id, record.value())?;
        drop(record);
        tables
            .webhook_routes
            .remove(hook.scope.key().as_str())
            .db()?;
        let mut calls = Vec::new();
        for row in tables.webhook_calls.range::<u64>(..).db()? {
            let (call, record) = row.db()?;
            let (webhook, due) = call_head(record.value())?;
            if webhook == id {
                calls.push((call.value(), due));
            }
        }
        for (call, due) in calls {
            tables.webhook_calls.remove(call).db()?;
            tables.webhook_due.remove((due, call)).db()?;
        }
        let entries = log_ids(tables, id)?;
        for entry in entries {
            tables.webhook_log.remove((id, entry)).db()?;
        }
        Ok(true)
    }
}

/// The entry ids of a webhook's log, oldest first.
fn log_ids(tables: &Tables<'_>, webhook: u64) -> StoreResult<Vec<u64>> {
    let mut ids = Vec::new();
    for row in tables
        .webhook_log
        .range((webhook, 0)..=(webhook, u64::MAX))
        .db()?
    {
        ids.push(row.db()?.0.value().1);
    }
    Ok(ids)
}

/// Marks a domain as one whose mail goes to webhooks only, or no longer.
pub(crate) struct SetOnly {
    pub(crate) domain: String,
    pub(crate) on: bool,
}

impl WriteOp for SetOnly {
    type Plan = SetOnly;
    type Output = ();

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<SetOnly> {
        Ok(self)
    }

    fn apply(set: SetOnly, batch: &mut Batch<'_>) -> StoreResult<()> {
        let domain = set.domain.to_ascii_lowercase();
        let table = &mut batch.tables.webhook_only;
        match set.on {
            true => table.insert(domain.as_str(), ()).db()?,
            false => table.remove(domain.as_str()).db()?,
        };
        Ok(())
    }
}

/// Adds the calls that report a delivered message; part of the delivery's commit.
pub(crate) fn add_calls(tables: &mut Tables<'_>, calls: Vec<NewWebhookCall>) -> StoreResult<()> {
    for new in calls {
        let call = WebhookCall {
            id: tables.next_id(NEXT_CALL_ID)?,
            webhook: new.webhook,
            created: new.created,
            attempts: 0,
            due: new.created,
            label: new.label,
            payload: new.payload,
        };
        put_call(tables, &call)?;
    }
    Ok(())
}

fn put_call(tables: &mut Tables<'_>, call: &WebhookCall) -> StoreResult<()> {
    let record = encode_call(call);
    tables
        .webhook_calls
        .insert(call.id, record.as_slice())
        .db()?;
    tables.webhook_due.insert((call.due, call.id), ()).db()?;
    Ok(())
}

/// Makes a webhook's waiting calls due now.
pub(crate) struct RetryNow {
    pub(crate) webhook: u64,
    pub(crate) now: i64,
}

impl WriteOp for RetryNow {
    type Plan = RetryNow;
    type Output = u64;

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<RetryNow> {
        Ok(self)
    }

    fn apply(retry: RetryNow, batch: &mut Batch<'_>) -> StoreResult<u64> {
        let tables = &mut batch.tables;
        let mut waiting = Vec::new();
        for row in tables.webhook_calls.range::<u64>(..).db()? {
            let (id, record) = row.db()?;
            let (webhook, due) = call_head(record.value())?;
            if webhook == retry.webhook && due > retry.now {
                waiting.push(decode_call(id.value(), record.value())?);
            }
        }
        for call in &waiting {
            tables.webhook_due.remove((call.due, call.id)).db()?;
            let again = WebhookCall {
                due: retry.now,
                ..call.clone()
            };
            put_call(tables, &again)?;
        }
        Ok(waiting.len() as u64)
    }
}

/// Logs an attempt and applies its outcome to the call.
pub(crate) struct Record(pub(crate) WebhookAttempt);

impl WriteOp for Record {
    type Plan = WebhookAttempt;
    type Output = ();
    /// Without an fsync of its own: an attempt lost in a crash is made again, and a
    /// receiver may get a call twice (its document's `id` tells), never none.
    const DURABLE: bool = false;

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<WebhookAttempt> {
        Ok(self.0)
    }

    fn apply(attempt: WebhookAttempt, batch: &mut Batch<'_>) -> StoreResult<()> {
        let tables = &mut batch.tables;
        let call = match tables.webhook_calls.remove(attempt.call).db()? {
            Some(record) => Some(decode_call(attempt.call, record.value())?),
            None => None,
        };
        // A call removed meanwhile (its webhook removed) is only logged if its hook stays.
        if let Some(call) = call {
            tables.webhook_due.remove((call.due, call.id)).db()?;
            if let AttemptOutcome::Retrying(due) = attempt.outcome {
                let again = WebhookCall {
                    attempts: attempt.attempt,
                    due,
                    ..call
                };
                put_call(tables, &again)?;
            }
        }
        if tables.webhooks.get(attempt.webhook).db()?.is_none() {
            return Ok(());
        }
        let entry = tables.next_id(NEXT_LOG_ID)?;
        let record = encode_attempt(&attempt);
        tables
            .webhook_log
            .insert((attempt.webhook, entry), record.as_slice())
            .db()?;
        let ids = log_ids(tables, attempt.webhook)?;
        let excess = ids.len().saturating_sub(WEBHOOK_LOG_KEPT);
        for old in ids.into_iter().take(excess) {
            tables.webhook_log.remove((attempt.webhook, old)).db()?;
        }
        Ok(())
    }
}

/// Layout: version, scope key, URL, secret, created (i64).
fn encode_hook(hook: &Webhook) -> Vec<u8> {
    let mut out = Encoder::new(VERSION);
    out.str(&hook.scope.key());
    out.str(&hook.url);
    out.str(&hook.secret);
    out.bytes(&hook.created.to_le_bytes());
    out.0
}

fn decode_hook(id: u64, bytes: &[u8]) -> StoreResult<Webhook> {
    let mut input = Decoder::new(bytes, "webhook record", VERSION)?;
    let scope = WebhookScope::from_key(input.str()?);
    let url = input.str()?.to_owned();
    let secret = input.str()?.to_owned();
    let created = i64::from_le_bytes(input.array()?);
    input.finish()?;
    Ok(Webhook {
        id,
        scope,
        url,
        secret,
        created,
    })
}

/// Layout: version, webhook id, created (i64), attempts, due (i64), label, payload.
fn encode_call(call: &WebhookCall) -> Vec<u8> {
    let mut out = Encoder::new(VERSION);
    out.u64(call.webhook);
    out.bytes(&call.created.to_le_bytes());
    out.u32(call.attempts);
    out.bytes(&call.due.to_le_bytes());
    out.str(&call.label);
    out.sized(&call.payload);
    out.0
}

/// A call's webhook and due time, without reading its document: what scans over every
/// call look at.
fn call_head(bytes: &[u8]) -> StoreResult<(u64, i64)> {
    let mut input = Decoder::new(bytes, "webhook call", VERSION)?;
    let webhook = input.u64()?;
    let _created: [u8; 8] = input.array()?;
    let _attempts = input.u32()?;
    let due = i64::from_le_bytes(input.array()?);
    Ok((webhook, due))
}

fn decode_call(id: u64, bytes: &[u8]) -> StoreResult<WebhookCall> {
    let mut input = Decoder::new(bytes, "webhook call", VERSION)?;
    let webhook = input.u64()?;
    let created = i64::from_le_bytes(input.array()?);
    let attempts = input.u32()?;
    let due = i64::from_le_bytes(input.array()?);
    let label = input.str()?.to_owned();
    let payload = input.sized()?.to_vec();
    input.finish()?;
    Ok(WebhookCall {
        id,
        webhook,
        created,
        attempts,
        due,
        label,
        payload,
    })
}

/// Layout: version, call id, time (i64), attempt, status (0: none), outcome (0 delivered,
/// 1 retrying, 2 failed), the retry's time (i64), detail, label.
fn encode_attempt(attempt: &WebhookAttempt) -> Vec<u8> {
    let mut out = Encoder::new(VERSION);
    out.u64(attempt.call);
    out.bytes(&attempt.time.to_le_bytes());
    out.u32(attempt.attempt);
    out.u32(attempt.status.map_or(0, u32::from));
    let (outcome, next) = match attempt.outcome {
        AttemptOutcome::Delivered => (0, 0),
        AttemptOutcome::Retrying(next) => (1, next),
        AttemptOutcome::Failed => (2, 0),
    };
    out.u8(outcome);
    out.bytes(&next.to_le_bytes());
    out.str(&attempt.detail);
    out.str(&attempt.label);
    out.0
}

fn decode_attempt(webhook: u64, bytes: &[u8]) -> StoreResult<WebhookAttempt> {
    const WHAT: &str = "webhook log entry";
    let mut input = Decoder::new(bytes, WHAT, VERSION)?;
    let call = input.u64()?;
    let time = i64::from_le_bytes(input.array()?);
    let attempt = input.u32()?;
    let status = match input.u32()? {
        0 => None,
        code => Some(u16::try_from(code).map_err(|_| corrupt(WHAT))?),
    };
    let kind = input.u8()?;
    let next = i64::from_le_bytes(input.array()?);
    let outcome = match kind {
        0 => AttemptOutcome::Delivered,
        1 => AttemptOutcome::Retrying(next),
        2 => AttemptOutcome::Failed,
        _ => return Err(corrupt(WHAT)),
    };
    let detail = input.str()?.to_owned();
    let label = input.str()?.to_owned();
    input.finish()?;
    Ok(WebhookAttempt {
        webhook,
        call,
        time,
        attempt,
        status,
        outcome,
        detail,
        label,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let hook = Webhook {
            id: 3,
            scope: WebhookScope::Domain("example.org".into()),
            url: "https://hooks.example.net/in".into(),
            secret: "s3cret".into(),
            created: 1_800_000_000,
        };
        assert_eq!(decode_hook(3, &encode_hook(&hook)).unwrap(), hook);
        let call = WebhookCall {
            id: 9,
            webhook: 3,
            created: 1_800_000_000,
            attempts: 2,
            due: 1_800_000_120,
            label: "a@x.test → b@example.org".into(),
            payload: b"{}".to_vec(),
        };
        assert_eq!(decode_call(9, &encode_call(&call)).unwrap(), call);
        assert_eq!(call_head(&encode_call(&call)).unwrap(), (3, 1_800_000_120));
        for outcome in [
            AttemptOutcome::Delivered,
            AttemptOutcome::Retrying(1_800_000_300),
            AttemptOutcome::Failed,
        ] {
            let attempt = WebhookAttempt {
                webhook: 3,
                call: 9,
                time: 1_800_000_120,
                attempt: 3,
                status: Some(503),
                outcome,
                detail: "503 Service Unavailable".into(),
                label: call.label.clone(),
            };
            assert_eq!(
                decode_attempt(3, &encode_attempt(&attempt)).unwrap(),
                attempt
            );
        }
        assert!(decode_hook(1, &[1, 2]).is_err());
        assert!(decode_call(1, &[]).is_err());
        assert!(decode_attempt(1, &[9]).is_err());
    }
}
