//! Storing a received message: one body, any number of mailboxes, in one commit. A mailbox
//! whose account has no room is left out (and named); anything else fails the whole. And
//! storing appended messages: any number of bodies into one mailbox, all or none.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use crate::typed::ReadableTable;
use engine::queue::{HeldMessage, NewHeld, NewQueued, QueueId};
use engine::store::{
    Account, AccountId, BlobFact, BlobId, Delivered, Delivery, Flags, MailboxId, Message,
    NewWebhookCall, Onward, StoreError, StoreResult, Stored,
};

use crate::blobs::{self, BlobFiles};
use crate::directory::mailbox_name;
use crate::error::{DbResultExt, corrupt};
use crate::flags::normalize_keywords;
use crate::group_commit::{Batch, WriteOp};
use crate::messages::{add_message, charge, check_quota, check_uid_room};
use crate::queue;
use crate::spool::{BodyData, SpooledBody};
use crate::tables::{Tables, existing_mailbox, get_account, get_mailbox};
use crate::{held, webhooks};

/// The [`WriteOp`] behind `Store::deliver` and `Store::submit`.
pub(crate) struct Deliver {
    pub(crate) body: SpooledBody,
    pub(crate) recipients: Vec<Recipient>,
    /// What the commit adds besides the copies (`Store::submit`).
    pub(crate) onward: Onward,
    pub(crate) blob_files: BlobFiles,
}

/// One message to store the body as: in the mailbox `mailbox` of `account`.
pub(crate) struct Recipient {
    pub(crate) account: AccountId,
    pub(crate) mailbox: String,
    pub(crate) flags: Flags,
    pub(crate) keywords: Vec<String>,
    pub(crate) internal_date: i64,
}

impl From<&Delivery> for Recipient {
    fn from(delivery: &Delivery) -> Self {
        Recipient {
            account: delivery.account,
            mailbox: delivery.mailbox.clone(),
            flags: delivery.flags,
            keywords: delivery.keywords.clone(),
            internal_date: delivery.internal_date,
        }
    }
}

/// A delivery that passed every check.
pub(crate) struct Plan {
    blob: BlobId,
    size: u64,
    /// The body, if it is small and not stored yet.
    new_data: Option<Vec<u8>>,
    /// What the engine derived from the body, if it came with that.
    facts: Vec<(BlobFact, Vec<u8>)>,
    targets: Vec<Target>,
    /// Bytes each account is charged.
    charges: BTreeMap<AccountId, u64>,
    /// Accounts left out: the message would take them past their quota.
    over_quota: Vec<AccountId>,
    queued: Vec<NewQueued>,
    hooks: Vec<NewWebhookCall>,
    hold: Option<NewHeld>,
    /// The held submission released, with the files of bodies for dropping its reference.
    release: Option<(HeldMessage, BlobFiles)>,
}

/// One message to add.
struct Target {
    account: AccountId,
    mailbox: MailboxId,
    flags: Flags,
    keywords: Vec<String>,
    internal_date: i64,
}

/// Reads account `id` into `accounts` unless it is there already; `NotFound` if it does not exist.
fn load_account(
    accounts: &mut BTreeMap<AccountId, Account>,
    tables: &Tables<'_>,
    id: AccountId,
) -> StoreResult<()> {
    if let Entry::Vacant(slot) = accounts.entry(id) {
        slot.insert(
            get_account(&tables.accounts, id)?
                .ok_or_else(|| StoreError::NotFound(format!("account {id}")))?,
        );
    }
    Ok(())
}

impl WriteOp for Deliver {
    type Plan = Plan;
    type Output = Stored;

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Plan> {
        let tables = &batch.tables;
        let size = self.body.size;
        let mut accounts = BTreeMap::<AccountId, Account>::new();
        let mut charges = BTreeMap::<AccountId, u64>::new();
        let mut targets = Vec::with_capacity(self.recipients.len());
        for recipient in self.recipients {
            let id = recipient.account;
            load_account(&mut accounts, tables, id)?;
            let name = mailbox_name(&recipient.mailbox);
            let mailbox = tables
                .mailbox_names
                .get((id, name.as_str()))
                .db()?
                .ok_or_else(|| StoreError::NotFound(format!("mailbox {name} of account {id}")))?
                .value();
            let charge = charges.entry(id).or_default();
            *charge = charge.saturating_add(size);
            targets.push(Target {
                account: id,
                mailbox,
                flags: recipient.flags,
                keywords: normalize_keywords(recipient.keywords),
                internal_date: recipient.internal_date,
            });
        }

        let mut over_quota = Vec::new();
        for (id, charge) in &charges {
            match check_quota(&accounts[id], *charge) {
                Ok(()) => {}
                Err(StoreError::OverQuota { account }) => over_quota.push(account),
                Err(error) => return Err(error),
            }
        }
        charges.retain(|id, _| !over_quota.contains(id));
        targets.retain(|target| !over_quota.contains(&target.account));
        let mut new_uids = BTreeMap::<MailboxId, u64>::new();
        for target in &targets {
            *new_uids.entry(target.mailbox).or_default() += 1;
        }
        for (id, count) in new_uids {
            let mailbox =
                get_mailbox(&tables.mailboxes, id)?.ok_or_else(|| corrupt("mailbox index"))?;
            check_uid_room(&mailbox, count)?;
        }

        // A release of a held submission cancelled meanwhile fails here, and delivers nothing.
        let release = match self.onward.release {
            Some(id) => Some((held::get(tables, id)?, self.blob_files.clone())),
            None => None,
        };
        // Last, as it may place a file: nothing after this can reject the delivery. A body
        // nothing refers to (every account full, nothing queued or held) is not kept at all.
        let onward = self.onward;
        let unused = targets.is_empty() && onward.queued.is_empty() && onward.hold.is_none();
        let stored = tables.blob_refs.get(&self.body.id.0).db()?.is_some();
        let new_data = match self.body.data {
            _ if stored || unused => None,
            BodyData::Memory(data) => Some(data),
            BodyData::File(temp) => {
                self.blob_files
                    .place(&mut batch.files, &self.body.id, size, temp)?;
                None
            }
        };
        Ok(Plan {
            blob: self.body.id,
            size,
            new_data,
            facts: self.body.facts,
            targets,
            charges,
            over_quota,
            queued: onward.queued,
            hooks: onward.hooks,
            hold: onward.hold,
            release,
        })
    }

    fn apply(mut plan: Plan, batch: &mut Batch<'_>) -> StoreResult<Self::Output> {
        let release = plan.release.take();
        let over_quota = std::mem::take(&mut plan.over_quota);
        let hooked = !plan.hooks.is_empty();
        let stored = add(plan, batch)?;
        // After the new references: a released body that is delivered again stays. One
        // that nothing kept (every recipient refused it) stays held, for its sender to be
        // told from it.
        let kept = !stored.delivered.is_empty() || !stored.queued.is_empty() || hooked;
        if let Some((message, files)) = release.filter(|_| kept) {
            held::remove(batch, &files, &message)?;
        }
        Ok(Stored {
            over_quota,
            ..stored
        })
    }
}

/// Adds the copies, queue entries, webhook calls and held submission of a plan, with
/// their references on the body.
fn add(plan: Plan, batch: &mut Batch<'_>) -> StoreResult<Stored> {
    let tables = &mut batch.tables;
    let mut delivered = Vec::with_capacity(plan.targets.len());
    let queued = plan
        .queued
        .into_iter()
        .map(|new| queue::add(tables, plan.blob, plan.size, new))
        .collect::<StoreResult<Vec<QueueId>>>()?;
    // The calls carry their own document: they need no reference to the body.
    webhooks::add_calls(tables, plan.hooks)?;
    let held = match plan.hold {
        Some(hold) => Some(held::add(tables, plan.blob, plan.size, hold)?),
        None => None,
    };
    // One reference per copy, one per queue entry, one for a held submission.
    let count = (plan.targets.len() + queued.len() + usize::from(held.is_some())) as u64;
    if count == 0 {
        return Ok(Stored {
            blob: plan.blob,
            delivered,
            over_quota: Vec::new(),
            queued,
            held,
        });
    }
    for target in plan.targets {
        let mut mailbox = get_mailbox(&tables.mailboxes, target.mailbox)?
            .ok_or_else(|| corrupt("mailbox index"))?;
        // `add_message` gives it its UID and modseq.
        let message = Message {
            uid: 0,
            blob: plan.blob,
            size: plan.size,
            internal_date: target.internal_date,
            flags: target.flags,
            keywords: target.keywords,
            modseq: 0,
        };
        let uid = add_message(tables, &mut mailbox, message)?;
        tables.put_mailbox(&mailbox)?;
        delivered.push(Delivered {
            mailbox: target.mailbox,
            uid,
        });
    }
    for (id, bytes) in plan.charges {
        charge(tables, id, bytes)?;
    }
    blobs::add_refs(tables, &plan.blob, count, plan.new_data.as_deref())?;
    for (fact, bytes) in plan.facts {
        tables
            .blob_facts(fact)
            .insert(&plan.blob.0, bytes.as_slice())
            .db()?;
    }
    Ok(Stored {
        blob: plan.blob,
        delivered,
        over_quota: Vec::new(),
        queued,
        held,
    })
}

/// One message of an [`AppendAll`].
pub(crate) struct Appended {
    pub(crate) body: SpooledBody,
    pub(crate) flags: Flags,
    pub(crate) keywords: Vec<String>,
    pub(crate) internal_date: i64,
}

/// The [`WriteOp`] behind `Store::append_all`: messages into one mailbox, in order, all or
/// none, charged to its account together.
pub(crate) struct AppendAll {
    pub(crate) mailbox: MailboxId,
    pub(crate) messages: Vec<Appended>,
    pub(crate) blob_files: BlobFiles,
}

impl WriteOp for AppendAll {
    /// One delivery plan per message, applied in order.
    type Plan = Vec<Plan>;
    type Output = Vec<Delivered>;

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Vec<Plan>> {
        let tables = &batch.tables;
        let mailbox = existing_mailbox(&tables.mailboxes, self.mailbox)?;
        let account = get_account(&tables.accounts, mailbox.account)?
            .ok_or_else(|| StoreError::NotFound(format!("account {}", mailbox.account)))?;
        let total = self
            .messages
            .iter()
            .fold(0u64, |sum, m| sum.saturating_add(m.body.size));
        check_quota(&account, total)?;
        check_uid_room(&mailbox, self.messages.len() as u64)?;

        // Last, as it may place files: nothing after this can reject the append. A body
        // that comes twice is stored once.
        let mut seen = BTreeSet::new();
        let mut plans = Vec::with_capacity(self.messages.len());
        for message in self.messages {
            let body = message.body;
            let stored = !seen.insert(body.id) || tables.blob_refs.get(&body.id.0).db()?.is_some();
            let new_data = match body.data {
                _ if stored => None,
                BodyData::Memory(data) => Some(data),
                BodyData::File(temp) => {
                    self.blob_files
                        .place(&mut batch.files, &body.id, body.size, temp)?;
                    None
                }
            };
            plans.push(Plan {
                blob: body.id,
                size: body.size,
                new_data,
                facts: body.facts,
                targets: vec![Target {
                    account: account.id,
                    mailbox: self.mailbox,
                    flags: message.flags,
                    keywords: normalize_keywords(message.keywords),
                    internal_date: message.internal_date,
                }],
                charges: BTreeMap::from([(account.id, body.size)]),
                over_quota: Vec::new(),
                queued: Vec::new(),
                hooks: Vec::new(),
                hold: None,
                release: None,
            });
        }
        Ok(plans)
    }

    fn apply(plans: Vec<Plan>, batch: &mut Batch<'_>) -> StoreResult<Vec<Delivered>> {
        let mut delivered = Vec::with_capacity(plans.len());
        for plan in plans {
            delivered.extend(Deliver::apply(plan, batch)?.delivered);
        }
        Ok(delivered)
    }
}
