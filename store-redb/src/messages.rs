//! Changing the messages of a mailbox: flags, expunge, copy and move; and what every change
//! of messages shares (UIDs, mod-sequences, quota).
//!
//! Mod-sequences (CONDSTORE) are per mailbox: every change takes `highest_modseq + 1` and raises
//! `highest_modseq` to it. Each new message (delivered, appended, copied or moved in) gets its
//! own; one `set_flags` call gives all the messages it changes one, and one expunge (or the
//! source side of one move) records all the messages it removes with one. A change that changes
//! nothing takes none. A removed message is remembered in the `expunged` table with the
//! mod-sequence of its removal, until its mailbox goes.

use std::collections::BTreeSet;

use crate::typed::{Open, ReadableTable};
use engine::store::{
    Account, AccountId, Copied, FlagChange, FlagsChanged, FlagsOutcome, Mailbox, MailboxChanges,
    MailboxId, Message, StoreError, StoreResult,
};
use redb::ReadTransaction;

use crate::blobs::{self, BlobFiles};
use crate::error::{DbResultExt, corrupt};
use crate::flags::apply_change;
use crate::group_commit::{Batch, WriteOp};
use crate::tables::{
    MAILBOXES, MESSAGE_CHANGES, MESSAGES, Tables, VANISHED, decode_message, existing_mailbox,
    get_account, get_mailbox, get_message,
};

/// Takes the next mod-sequence of `mailbox` for a change to it (the caller saves the mailbox).
fn next_modseq(mailbox: &mut Mailbox) -> StoreResult<u64> {
    mailbox.highest_modseq = mailbox
        .highest_modseq
        .checked_add(1)
        .ok_or_else(|| corrupt("mailbox HIGHESTMODSEQ"))?;
    Ok(mailbox.highest_modseq)
}

/// Refuses to add `count` messages to `mailbox` if it would run out of UIDs.
pub(crate) fn check_uid_room(mailbox: &Mailbox, count: u64) -> StoreResult<()> {
    if u64::from(mailbox.uid_next) + count > u64::from(u32::MAX) {
        return Err(StoreError::Io(format!(
            "mailbox {} of account {} has used up its UIDs (re-create it)",
            mailbox.name, mailbox.account
        )));
    }
    Ok(())
}

/// Refuses to charge `account` `bytes` more if that would take it past its quota.
pub(crate) fn check_quota(account: &Account, bytes: u64) -> StoreResult<()> {
    match account.quota {
        Some(quota) if account.used.saturating_add(bytes) > quota => Err(StoreError::OverQuota {
            account: account.id,
        }),
        _ => Ok(()),
    }
}

/// Adds `bytes` to what account `id` uses.
pub(crate) fn charge(tables: &mut Tables<'_>, id: AccountId, bytes: u64) -> StoreResult<()> {
    update_usage(tables, id, |used| used.saturating_add(bytes))
}

/// Takes `bytes` off what account `id` uses.
pub(crate) fn refund(tables: &mut Tables<'_>, id: AccountId, bytes: u64) -> StoreResult<()> {
    update_usage(tables, id, |used| used.saturating_sub(bytes))
}

fn update_usage(
    tables: &mut Tables<'_>,
    id: AccountId,
    update: impl FnOnce(u64) -> u64,
) -> StoreResult<()> {
    let mut account = get_account(&tables.accounts, id)?.ok_or_else(|| corrupt("account index"))?;
    account.used = update(account.used);
    tables.put_account(&account)
}

/// The bytes `messages` take.
pub(crate) fn total_size(messages: &[Message]) -> u64 {
    messages
        .iter()
        .fold(0, |total, message| total.saturating_add(message.size))
}

/// Stores `message` at the end of `mailbox` with the next UID and mod-sequence, whatever its
/// own were, and returns the UID. The caller saves the mailbox record.
pub(crate) fn add_message(
    tables: &mut Tables<'_>,
    mailbox: &mut Mailbox,
    mut message: Message,
) -> StoreResult<u32> {
    message.uid = mailbox.uid_next;
    mailbox.uid_next = message
        .uid
        .checked_add(1)
        .ok_or_else(|| corrupt("mailbox UIDNEXT"))?;
    message.modseq = next_modseq(mailbox)?;
    tables.put_message(mailbox.id, &message)?;
    Ok(message.uid)
}

/// Removes the messages `uids` (which exist) from mailbox `id`, records them as expunged with
/// one new mod-sequence, and returns them. Their bodies and quota are the caller's business.
fn expunge_messages(
    tables: &mut Tables<'_>,
    id: MailboxId,
    uids: &[u32],
) -> StoreResult<Vec<Message>> {
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let mut mailbox =
        get_mailbox(&tables.mailboxes, id)?.ok_or_else(|| corrupt("mailbox index"))?;
    let modseq = next_modseq(&mut mailbox)?;
    let mut removed = Vec::with_capacity(uids.len());
    for &uid in uids {
        let record = tables
            .messages
            .remove((id, uid))
            .db()?
            .ok_or_else(|| corrupt("message index"))?;
        let message = decode_message(uid, record.value())?;
        drop(record);
        tables
            .message_changes
            .remove((id, message.modseq, uid))
            .db()?;
        tables.expunged.insert((id, uid), modseq).db()?;
        tables.vanished.insert((id, modseq, uid), ()).db()?;
        removed.push(message);
    }
    tables.put_mailbox(&mailbox)?;
    Ok(removed)
}

/// Removes every message of mailbox `id`, the record of those expunged from it and its
/// search index, for deleting the mailbox; returns the messages. Their bodies and quota are
/// the caller's business.
pub(crate) fn clear_mailbox(tables: &mut Tables<'_>, id: MailboxId) -> StoreResult<Vec<Message>> {
    let keys = (id, 0)..=(id, u32::MAX);
    let mut removed = Vec::new();
    for entry in tables
        .messages
        .extract_from_if(keys.clone(), |_, _| true)
        .db()?
    {
        let (key, record) = entry.db()?;
        removed.push(decode_message(key.value().1, record.value())?);
    }
    tables.expunged.retain_in(keys, |_, _| false).db()?;
    let by_modseq = (id, 0, 0)..=(id, u64::MAX, u32::MAX);
    tables
        .message_changes
        .retain_in(by_modseq.clone(), |_, _| false)
        .db()?;
    tables.vanished.retain_in(by_modseq, |_, _| false).db()?;
    tables
        .search_index
        .retain_in((id, 0, 0)..=(id, u32::MAX, u16::MAX), |_, _| false)
        .db()?;
    Ok(removed)
}

/// The messages of `mailbox` among `uids`, in UID order; unknown UIDs are left out.
fn existing_messages(
    tables: &Tables<'_>,
    mailbox: MailboxId,
    uids: &[u32],
) -> StoreResult<Vec<Message>> {
    let mut found = Vec::new();
    for uid in uids.iter().copied().collect::<BTreeSet<_>>() {
        if let Some(message) = get_message(&tables.messages, mailbox, uid)? {
            found.push(message);
        }
    }
    Ok(found)
}

/// UIDs expunged from `mailbox` at a mod-sequence above `modseq`, ascending.
pub(crate) fn expunged_since(
    txn: &ReadTransaction,
    mailbox: MailboxId,
    modseq: u64,
) -> StoreResult<Vec<u32>> {
    existing_mailbox(&txn.open(MAILBOXES).db()?, mailbox)?;
    vanished_since(txn, mailbox, modseq)
}

/// UIDs expunged from `mailbox` above `modseq`, ascending: read by modseq, so a recent
/// modseq reads few.
fn vanished_since(txn: &ReadTransaction, mailbox: MailboxId, modseq: u64) -> StoreResult<Vec<u32>> {
    let vanished = txn.open(VANISHED).db()?;
    let Some(after) = modseq.checked_add(1) else {
        return Ok(Vec::new());
    };
    let mut uids = Vec::new();
    for entry in vanished
        .range((mailbox, after, 0)..=(mailbox, u64::MAX, u32::MAX))
        .db()?
    {
        uids.push(entry.db()?.0.value().2);
    }
    uids.sort_unstable();
    Ok(uids)
}

/// What changed in `mailbox` above `modseq` (`Store::mailbox_changes`): read by modseq,
/// so a session that synced lately reads little; `None` if the mailbox no longer exists.
pub(crate) fn changes_since(
    txn: &ReadTransaction,
    mailbox: MailboxId,
    modseq: u64,
) -> StoreResult<Option<MailboxChanges>> {
    let Some(found) = get_mailbox(&txn.open(MAILBOXES).db()?, mailbox)? else {
        return Ok(None);
    };
    let messages = txn.open(MESSAGES).db()?;
    let changes = txn.open(MESSAGE_CHANGES).db()?;
    let mut changed = Vec::new();
    if let Some(after) = modseq.checked_add(1) {
        for entry in changes
            .range((mailbox, after, 0)..=(mailbox, u64::MAX, u32::MAX))
            .db()?
        {
            let uid = entry.db()?.0.value().2;
            let record = messages
                .get((mailbox, uid))
                .db()?
                .ok_or_else(|| corrupt("message changes index"))?;
            changed.push(decode_message(uid, record.value())?);
        }
    }
    changed.sort_unstable_by_key(|message| message.uid);
    Ok(Some(MailboxChanges {
        mailbox: found,
        changed,
        vanished: vanished_since(txn, mailbox, modseq)?,
    }))
}

/// The [`WriteOp`] behind `Store::set_flags`.
pub(crate) struct SetFlags {
    pub(crate) mailbox: MailboxId,
    pub(crate) uids: Vec<u32>,
    pub(crate) change: FlagChange,
    pub(crate) unchanged_since: Option<u64>,
}

pub(crate) struct SetFlagsPlan {
    /// The mailbox with its new `highest_modseq`, if any message changes.
    mailbox: Option<Mailbox>,
    changed: Vec<Message>,
    outcome: FlagsOutcome,
}

impl WriteOp for SetFlags {
    type Plan = SetFlagsPlan;
    type Output = FlagsOutcome;

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<SetFlagsPlan> {
        let tables = &batch.tables;
        let mut mailbox = existing_mailbox(&tables.mailboxes, self.mailbox)?;
        let modseq = next_modseq(&mut mailbox)?;
        let mut outcome = FlagsOutcome::default();
        let mut changed = Vec::new();
        for mut message in existing_messages(tables, mailbox.id, &self.uids)? {
            if self
                .unchanged_since
                .is_some_and(|since| message.modseq > since)
            {
                outcome.modified.push(message.uid);
                continue;
            }
            if !apply_change(&mut message.flags, &mut message.keywords, &self.change) {
                continue;
            }
            message.modseq = modseq;
            outcome.changed.push(FlagsChanged {
                uid: message.uid,
                flags: message.flags,
                keywords: message.keywords.clone(),
                modseq,
            });
            changed.push(message);
        }
        Ok(SetFlagsPlan {
            mailbox: (!changed.is_empty()).then_some(mailbox),
            changed,
            outcome,
        })
    }

    fn apply(plan: SetFlagsPlan, batch: &mut Batch<'_>) -> StoreResult<FlagsOutcome> {
        let tables = &mut batch.tables;
        if let Some(mailbox) = plan.mailbox {
            for message in &plan.changed {
                tables.put_message(mailbox.id, message)?;
            }
            tables.put_mailbox(&mailbox)?;
        }
        Ok(plan.outcome)
    }
}

/// The [`WriteOp`] behind `Store::expunge`.
pub(crate) struct Expunge {
    pub(crate) mailbox: MailboxId,
    pub(crate) uids: Vec<u32>,
    pub(crate) blob_files: BlobFiles,
}

pub(crate) struct ExpungePlan {
    mailbox: Mailbox,
    /// The UIDs that exist, ascending.
    uids: Vec<u32>,
    blob_files: BlobFiles,
}

impl WriteOp for Expunge {
    type Plan = ExpungePlan;
    type Output = Vec<u32>;

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<ExpungePlan> {
        let tables = &batch.tables;
        let mailbox = existing_mailbox(&tables.mailboxes, self.mailbox)?;
        let uids = existing_messages(tables, mailbox.id, &self.uids)?
            .iter()
            .map(|message| message.uid)
            .collect();
        Ok(ExpungePlan {
            mailbox,
            uids,
            blob_files: self.blob_files,
        })
    }

    fn apply(plan: ExpungePlan, batch: &mut Batch<'_>) -> StoreResult<Vec<u32>> {
        let removed = expunge_messages(&mut batch.tables, plan.mailbox.id, &plan.uids)?;
        refund(
            &mut batch.tables,
            plan.mailbox.account,
            total_size(&removed),
        )?;
        blobs::release(batch, &plan.blob_files, &removed)?;
        Ok(plan.uids)
    }
}

/// Whether a [`Transfer`] leaves the messages where they were.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransferKind {
    Copy,
    Move,
}

/// The [`WriteOp`] behind `Store::copy_messages` and `Store::move_messages`.
pub(crate) struct Transfer {
    pub(crate) kind: TransferKind,
    pub(crate) source: MailboxId,
    pub(crate) uids: Vec<u32>,
    pub(crate) target: MailboxId,
}

pub(crate) struct TransferPlan {
    kind: TransferKind,
    account: AccountId,
    source: MailboxId,
    target: MailboxId,
    /// The messages to copy or move, in UID order.
    messages: Vec<Message>,
}

impl WriteOp for Transfer {
    type Plan = TransferPlan;
    type Output = Vec<Copied>;

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<TransferPlan> {
        let tables = &batch.tables;
        let source = existing_mailbox(&tables.mailboxes, self.source)?;
        let target = existing_mailbox(&tables.mailboxes, self.target)?;
        if target.account != source.account {
            return Err(StoreError::NotFound(format!(
                "mailbox {} of account {} (messages go only between mailboxes of one account)",
                target.id, source.account
            )));
        }
        let messages = existing_messages(tables, source.id, &self.uids)?;
        check_uid_room(&target, messages.len() as u64)?;
        if self.kind == TransferKind::Copy {
            let account = get_account(&tables.accounts, source.account)?
                .ok_or_else(|| corrupt("account index"))?;
            check_quota(&account, total_size(&messages))?;
        }
        Ok(TransferPlan {
            kind: self.kind,
            account: source.account,
            source: source.id,
            target: target.id,
            messages,
        })
    }

    fn apply(plan: TransferPlan, batch: &mut Batch<'_>) -> StoreResult<Vec<Copied>> {
        if plan.messages.is_empty() {
            return Ok(Vec::new());
        }
        let tables = &mut batch.tables;
        // Read here, not in `prepare`: the source may be the target, and a move changes both.
        let mut target =
            get_mailbox(&tables.mailboxes, plan.target)?.ok_or_else(|| corrupt("mailbox index"))?;
        let mut copied = Vec::with_capacity(plan.messages.len());
        for message in &plan.messages {
            copied.push(Copied {
                source_uid: message.uid,
                target_uid: add_message(tables, &mut target, message.clone())?,
            });
        }
        tables.put_mailbox(&target)?;
        match plan.kind {
            TransferKind::Copy => {
                charge(tables, plan.account, total_size(&plan.messages))?;
                blobs::share(tables, &plan.messages)?;
            }
            TransferKind::Move => {
                // Each message only changes mailbox: its body keeps its references and the
                // account its usage.
                let uids: Vec<u32> = plan.messages.iter().map(|message| message.uid).collect();
                expunge_messages(tables, plan.source, &uids)?;
            }
        }
        Ok(copied)
    }
}
