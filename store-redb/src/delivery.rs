//! Storing a received message: one body, any number of mailboxes, all or nothing.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use engine::store::{
    Account, AccountId, BlobId, Delivered, Delivery, Flags, MailboxId, Message, StoreError,
    StoreResult,
};
use redb::ReadableTable;

use crate::blobs::{self, BlobFiles};
use crate::directory::mailbox_name;
use crate::error::{DbResultExt, corrupt};
use crate::group_commit::{Batch, WriteOp};
use crate::spool::{BodyData, SpooledBody};
use crate::tables::{encode_account, encode_mailbox, encode_message, get_account, get_mailbox};

/// The [`WriteOp`] behind `Store::deliver`.
pub(crate) struct Deliver {
    pub(crate) body: SpooledBody,
    pub(crate) deliveries: Vec<Delivery>,
    pub(crate) blob_files: BlobFiles,
}

/// A delivery that passed every check.
pub(crate) struct Plan {
    blob: BlobId,
    size: u64,
    /// The body, if it is small and not stored yet.
    new_data: Option<Vec<u8>>,
    targets: Vec<Target>,
    /// Bytes each account is charged.
    charges: BTreeMap<AccountId, u64>,
}

/// One message to add.
struct Target {
    mailbox: MailboxId,
    flags: Flags,
    internal_date: i64,
}

impl WriteOp for Deliver {
    type Plan = Plan;
    type Output = Vec<Delivered>;

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Plan> {
        let tables = &batch.tables;
        let size = self.body.size;
        let mut accounts = BTreeMap::<AccountId, Account>::new();
        let mut charges = BTreeMap::<AccountId, u64>::new();
        let mut new_uids = BTreeMap::<MailboxId, u64>::new();
        let mut targets = Vec::with_capacity(self.deliveries.len());
        for delivery in &self.deliveries {
            let id = delivery.account;
            if let Entry::Vacant(slot) = accounts.entry(id) {
                slot.insert(
                    get_account(&tables.accounts, id)?
                        .ok_or_else(|| StoreError::NotFound(format!("account {id}")))?,
                );
            }
            let name = mailbox_name(&delivery.mailbox);
            let mailbox = tables
                .mailbox_names
                .get((id, name.as_str()))
                .db()?
                .ok_or_else(|| StoreError::NotFound(format!("mailbox {name} of account {id}")))?
                .value();
            let charge = charges.entry(id).or_default();
            *charge = charge.saturating_add(size);
            *new_uids.entry(mailbox).or_default() += 1;
            targets.push(Target {
                mailbox,
                flags: delivery.flags,
                internal_date: delivery.internal_date,
            });
        }

        for (id, charge) in &charges {
            let account = &accounts[id];
            if let Some(quota) = account.quota
                && account.used.saturating_add(*charge) > quota
            {
                return Err(StoreError::OverQuota { account: *id });
            }
        }
        for (id, count) in new_uids {
            let mailbox =
                get_mailbox(&tables.mailboxes, id)?.ok_or_else(|| corrupt("mailbox index"))?;
            if u64::from(mailbox.uid_next) + count > u64::from(u32::MAX) {
                return Err(StoreError::Io(format!(
                    "mailbox {} of account {} has used up its UIDs (re-create it)",
                    mailbox.name, mailbox.account
                )));
            }
        }

        // Last, as it may place a file: nothing after this can reject the delivery.
        let stored = tables.blob_refs.get(&self.body.id.0).db()?.is_some();
        let new_data = match self.body.data {
            _ if stored => None,
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
            targets,
            charges,
        })
    }

    fn apply(plan: Plan, batch: &mut Batch<'_>) -> StoreResult<Vec<Delivered>> {
        let tables = &mut batch.tables;
        let mut delivered = Vec::with_capacity(plan.targets.len());
        for target in &plan.targets {
            let mut mailbox = get_mailbox(&tables.mailboxes, target.mailbox)?
                .ok_or_else(|| corrupt("mailbox index"))?;
            let uid = mailbox.uid_next;
            mailbox.uid_next = uid
                .checked_add(1)
                .ok_or_else(|| corrupt("mailbox UIDNEXT"))?;
            mailbox.highest_modseq = mailbox
                .highest_modseq
                .checked_add(1)
                .ok_or_else(|| corrupt("mailbox HIGHESTMODSEQ"))?;
            let message = Message {
                uid,
                blob: plan.blob,
                size: plan.size,
                internal_date: target.internal_date,
                flags: target.flags,
                modseq: mailbox.highest_modseq,
            };
            tables
                .messages
                .insert((target.mailbox, uid), encode_message(&message).as_slice())
                .db()?;
            tables
                .mailboxes
                .insert(target.mailbox, encode_mailbox(&mailbox).as_slice())
                .db()?;
            delivered.push(Delivered {
                mailbox: target.mailbox,
                uid,
            });
        }
        for (id, charge) in plan.charges {
            let mut account =
                get_account(&tables.accounts, id)?.ok_or_else(|| corrupt("account index"))?;
            account.used = account.used.saturating_add(charge);
            tables
                .accounts
                .insert(id, encode_account(&account).as_slice())
                .db()?;
        }
        blobs::add_refs(
            tables,
            &plan.blob,
            plan.targets.len() as u64,
            plan.new_data.as_deref(),
        )?;
        Ok(delivered)
    }
}
