//! Domains, accounts, aliases, mailboxes and subscriptions: reads over a read transaction, and
//! writes as [`WriteOp`]s for the group committer.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::typed::{Open, ReadableTable, Value};
use engine::store::{
    Account, AccountChange, AccountId, Alias, DEFAULT_MAILBOXES, Mailbox, MailboxId, Message,
    NewAccount, SpecialUse, StoreError, StoreResult,
};
use redb::ReadTransaction;

use crate::blobs::{self, BlobFiles};
use crate::dkim;
use crate::error::{DbResultExt, corrupt};
use crate::group_commit::{Batch, WriteOp};
use crate::messages::{clear_mailbox, refund, total_size};
use crate::tables::{
    ACCOUNT_ADDRESSES, ACCOUNTS, ALIASES, DOMAINS, MAILBOX_NAMES, MAILBOXES, MESSAGES,
    NEXT_ACCOUNT_ID, NEXT_MAILBOX_ID, SUBSCRIPTIONS, Tables, account_id, decode_account,
    decode_message, domain_of, existing_mailbox, get_account, get_mailbox, normalize,
};

/// IMAP's INBOX is case-insensitive and always spelled in upper case.
pub(crate) fn mailbox_name(name: &str) -> String {
    if name.eq_ignore_ascii_case("INBOX") {
        "INBOX".to_owned()
    } else {
        name.to_owned()
    }
}

pub(crate) fn domains(txn: &ReadTransaction) -> StoreResult<Vec<String>> {
    let domains = txn.open(DOMAINS).db()?;
    domains
        .iter()
        .db()?
        .map(|entry| entry.db().map(|(name, _)| name.value().to_owned()))
        .collect()
}

pub(crate) fn domain_exists(txn: &ReadTransaction, name: &str) -> StoreResult<bool> {
    let domains = txn.open(DOMAINS).db()?;
    Ok(domains.get(normalize(name).as_str()).db()?.is_some())
}

pub(crate) fn account(txn: &ReadTransaction, email: &str) -> StoreResult<Option<Account>> {
    let addresses = txn.open(ACCOUNT_ADDRESSES).db()?;
    let Some(id) = account_id(&addresses, &normalize(email))? else {
        return Ok(None);
    };
    let accounts = txn.open(ACCOUNTS).db()?;
    get_account(&accounts, id)?
        .ok_or_else(|| corrupt("account index"))
        .map(Some)
}

pub(crate) fn account_by_id(txn: &ReadTransaction, id: AccountId) -> StoreResult<Option<Account>> {
    get_account(&txn.open(ACCOUNTS).db()?, id)
}

/// All accounts, or those of `domain`, sorted by address.
pub(crate) fn accounts(txn: &ReadTransaction, domain: Option<&str>) -> StoreResult<Vec<Account>> {
    let accounts = txn.open(ACCOUNTS).db()?;
    let Some(domain) = domain else {
        let mut all = accounts
            .iter()
            .db()?
            .map(|entry| {
                let (id, record) = entry.db()?;
                decode_account(id.value(), record.value())
            })
            .collect::<StoreResult<Vec<_>>>()?;
        all.sort_by(|a, b| a.email.cmp(&b.email));
        return Ok(all);
    };
    let domain = normalize(domain);
    let addresses = txn.open(ACCOUNT_ADDRESSES).db()?;
    let mut found = Vec::new();
    for entry in addresses.range((domain.as_str(), "")..).db()? {
        let (key, id) = entry.db()?;
        if key.value().0 != domain {
            break;
        }
        found.push(get_account(&accounts, id.value())?.ok_or_else(|| corrupt("account index"))?);
    }
    Ok(found)
}

/// All aliases, or those whose source is in `domain`, sorted.
pub(crate) fn aliases(txn: &ReadTransaction, domain: Option<&str>) -> StoreResult<Vec<Alias>> {
    let domain = domain.map(normalize);
    let aliases = txn.open(ALIASES).db()?;
    let mut found = Vec::new();
    for entry in aliases.iter().db()? {
        let (key, _) = entry.db()?;
        let (source, target) = key.value();
        if domain
            .as_deref()
            .is_none_or(|domain| domain_of(source) == domain)
        {
            found.push(Alias {
                source: source.to_owned(),
                target: target.to_owned(),
            });
        }
    }
    Ok(found)
}

/// Targets of the aliases whose source is exactly `source`.
pub(crate) fn alias_targets(txn: &ReadTransaction, source: &str) -> StoreResult<Vec<String>> {
    let source = normalize(source);
    let aliases = txn.open(ALIASES).db()?;
    let mut targets = Vec::new();
    for entry in aliases.range((source.as_str(), "")..).db()? {
        let (key, _) = entry.db()?;
        let (from, target) = key.value();
        if from != source {
            break;
        }
        targets.push(target.to_owned());
    }
    Ok(targets)
}

/// Fails with `NotFound` unless the account `id` exists.
fn require_account(
    accounts: &impl ReadableTable<AccountId, &'static [u8]>,
    id: AccountId,
) -> StoreResult<()> {
    match get_account(accounts, id)? {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound(format!("account {id}"))),
    }
}

/// The mailboxes of `account`, in the order they were created (INBOX first).
pub(crate) fn mailboxes(txn: &ReadTransaction, account: AccountId) -> StoreResult<Vec<Mailbox>> {
    require_account(&txn.open(ACCOUNTS).db()?, account)?;
    let mailboxes = txn.open(MAILBOXES).db()?;
    let mut found = Vec::new();
    for (_, id) in account_mailboxes(&txn.open(MAILBOX_NAMES).db()?, account)? {
        found.push(get_mailbox(&mailboxes, id)?.ok_or_else(|| corrupt("mailbox index"))?);
    }
    found.sort_by_key(|mailbox| mailbox.id);
    Ok(found)
}

/// The mailbox `id`, if it exists.
pub(crate) fn mailbox(txn: &ReadTransaction, id: MailboxId) -> StoreResult<Option<Mailbox>> {
    get_mailbox(&txn.open(MAILBOXES).db()?, id)
}

/// The messages of `mailbox` in UID order.
pub(crate) fn messages(txn: &ReadTransaction, mailbox: MailboxId) -> StoreResult<Vec<Message>> {
    messages_from(txn, mailbox, 0)
}

/// The messages of `mailbox` from UID `first` on, in UID order.
pub(crate) fn messages_from(
    txn: &ReadTransaction,
    mailbox: MailboxId,
    first: u32,
) -> StoreResult<Vec<Message>> {
    if get_mailbox(&txn.open(MAILBOXES).db()?, mailbox)?.is_none() {
        return Err(StoreError::NotFound(format!("mailbox {mailbox}")));
    }
    let messages = txn.open(MESSAGES).db()?;
    messages
        .range((mailbox, first)..=(mailbox, u32::MAX))
        .db()?
        .map(|entry| {
            let (key, record) = entry.db()?;
            decode_message(key.value().1, record.value())
        })
        .collect()
}

/// The names `account` is subscribed to, sorted.
pub(crate) fn subscriptions(txn: &ReadTransaction, account: AccountId) -> StoreResult<Vec<String>> {
    require_account(&txn.open(ACCOUNTS).db()?, account)?;
    account_subscriptions(&txn.open(SUBSCRIPTIONS).db()?, account)
}

/// What `each` makes of the rows of `account` in a table keyed by (account id, name), in name
/// order.
pub(crate) fn account_rows<V: Value, T>(
    table: &impl ReadableTable<(AccountId, &'static str), V>,
    account: AccountId,
    mut each: impl FnMut(&str, V::SelfType<'_>) -> T,
) -> StoreResult<Vec<T>> {
    let mut found = Vec::new();
    for entry in table.range((account, "")..).db()? {
        let (key, value) = entry.db()?;
        let (owner, name) = key.value();
        if owner != account {
            break;
        }
        found.push(each(name, value.value()));
    }
    Ok(found)
}

/// The names and ids of `account`'s mailboxes, in name order.
fn account_mailboxes(
    names: &impl ReadableTable<(AccountId, &'static str), MailboxId>,
    account: AccountId,
) -> StoreResult<Vec<(String, MailboxId)>> {
    account_rows(names, account, |name, id| (name.to_owned(), id))
}

/// The names `account` is subscribed to, in name order.
fn account_subscriptions(
    subscriptions: &impl ReadableTable<(AccountId, &'static str), ()>,
    account: AccountId,
) -> StoreResult<Vec<String>> {
    account_rows(subscriptions, account, |name, ()| name.to_owned())
}

/// Seconds since the Unix epoch (0 if the clock is before it).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Inserts a new, empty mailbox.
fn insert_mailbox(
    tables: &mut Tables<'_>,
    account: AccountId,
    name: &str,
    special_use: Option<SpecialUse>,
) -> StoreResult<Mailbox> {
    let mailbox = Mailbox {
        id: tables.next_id(NEXT_MAILBOX_ID)?,
        account,
        name: name.to_owned(),
        uid_validity: tables.fresh_uid_validity(unix_now())?,
        uid_next: 1,
        // Mod-sequences are positive; a message stored later gets 2.
        highest_modseq: 1,
        special_use,
    };
    tables.put_mailbox(&mailbox)?;
    tables
        .mailbox_names
        .insert((account, name), mailbox.id)
        .db()?;
    Ok(mailbox)
}

/// The id of the account with address `email`, or `NotFound`.
fn existing_account(batch: &Batch<'_>, email: &str) -> StoreResult<AccountId> {
    account_id(&batch.tables.account_addresses, email)?
        .ok_or_else(|| StoreError::NotFound(format!("account {email}")))
}

pub(crate) struct AddDomain {
    pub(crate) name: String,
}

impl WriteOp for AddDomain {
    type Plan = String;
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<String> {
        let name = normalize(&self.name);
        if batch.tables.domains.get(name.as_str()).db()?.is_some() {
            return Err(StoreError::AlreadyExists(format!("domain {name}")));
        }
        Ok(name)
    }

    fn apply(name: String, batch: &mut Batch<'_>) -> StoreResult<()> {
        batch.tables.domains.insert(name.as_str(), ()).db()?;
        Ok(())
    }
}

pub(crate) struct RemoveDomain {
    pub(crate) name: String,
}

impl WriteOp for RemoveDomain {
    type Plan = String;
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<String> {
        let name = normalize(&self.name);
        let tables = &batch.tables;
        if tables.domains.get(name.as_str()).db()?.is_none() {
            return Err(StoreError::NotFound(format!("domain {name}")));
        }
        let mut accounts = 0;
        for entry in tables.account_addresses.range((name.as_str(), "")..).db()? {
            if entry.db()?.0.value().0 != name {
                break;
            }
            accounts += 1;
        }
        let mut aliases = 0;
        for entry in tables.aliases.iter().db()? {
            if domain_of(entry.db()?.0.value().0) == name {
                aliases += 1;
            }
        }
        let keys = dkim::count(&tables.dkim_keys, &name)?;
        let hooks = crate::webhooks::count(&tables.webhook_routes, &name)?;
        if accounts + aliases + keys + hooks > 0 {
            return Err(StoreError::InUse(format!(
                "domain {name} (it has {accounts} account(s), {aliases} alias(es), {keys} \
                 DKIM key(s) and {hooks} webhook(s))"
            )));
        }
        Ok(name)
    }

    fn apply(name: String, batch: &mut Batch<'_>) -> StoreResult<()> {
        batch.tables.domains.remove(name.as_str()).db()?;
        batch.tables.domain_retention.remove(name.as_str()).db()?;
        batch.tables.webhook_only.remove(name.as_str()).db()?;
        Ok(())
    }
}

pub(crate) struct CreateAccount {
    pub(crate) new: NewAccount,
}

impl WriteOp for CreateAccount {
    type Plan = NewAccount;
    type Output = Account;

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<NewAccount> {
        let email = normalize(&self.new.email);
        let domain = domain_of(&email);
        if domain.is_empty() {
            return Err(StoreError::NoSuchDomain(email));
        }
        if batch.tables.domains.get(domain).db()?.is_none() {
            return Err(StoreError::NoSuchDomain(domain.to_owned()));
        }
        if account_id(&batch.tables.account_addresses, &email)?.is_some() {
            return Err(StoreError::AlreadyExists(format!("account {email}")));
        }
        Ok(NewAccount { email, ..self.new })
    }

    fn apply(new: NewAccount, batch: &mut Batch<'_>) -> StoreResult<Account> {
        let tables = &mut batch.tables;
        let account = Account {
            id: tables.next_id(NEXT_ACCOUNT_ID)?,
            email: new.email,
            password_hash: new.password_hash,
            quota: new.quota,
            used: 0,
            disabled: false,
            admin: new.admin,
            totp: None,
        };
        tables.put_account(&account)?;
        tables
            .account_addresses
            .insert(
                (domain_of(&account.email), account.email.as_str()),
                account.id,
            )
            .db()?;
        for (name, special_use) in DEFAULT_MAILBOXES {
            insert_mailbox(tables, account.id, name, special_use)?;
            tables.subscriptions.insert((account.id, name), ()).db()?;
        }
        Ok(account)
    }
}

pub(crate) struct UpdateAccount {
    pub(crate) email: String,
    pub(crate) change: AccountChange,
}

impl WriteOp for UpdateAccount {
    type Plan = Account;
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Account> {
        let id = existing_account(batch, &normalize(&self.email))?;
        let mut account =
            get_account(&batch.tables.accounts, id)?.ok_or_else(|| corrupt("account index"))?;
        match self.change {
            AccountChange::PasswordHash(hash) => account.password_hash = hash,
            AccountChange::Quota(quota) => account.quota = quota,
            AccountChange::Disabled(disabled) => account.disabled = disabled,
            AccountChange::Admin(admin) => account.admin = admin,
            AccountChange::Totp(secret) => account.totp = secret,
        }
        Ok(account)
    }

    fn apply(account: Account, batch: &mut Batch<'_>) -> StoreResult<()> {
        batch.tables.put_account(&account)
    }
}

pub(crate) struct RemoveAccount {
    pub(crate) email: String,
    pub(crate) blob_files: BlobFiles,
}

impl WriteOp for RemoveAccount {
    type Plan = (AccountId, String, BlobFiles);
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Self::Plan> {
        let email = normalize(&self.email);
        let id = existing_account(batch, &email)?;
        Ok((id, email, self.blob_files))
    }

    fn apply((id, email, blob_files): Self::Plan, batch: &mut Batch<'_>) -> StoreResult<()> {
        let tables = &mut batch.tables;
        tables.accounts.remove(id).db()?;
        tables
            .account_addresses
            .remove((domain_of(&email), email.as_str()))
            .db()?;
        let mut removed = Vec::new();
        for (name, mailbox) in account_mailboxes(&tables.mailbox_names, id)? {
            removed.extend(remove_mailbox(tables, id, &name, mailbox)?);
        }
        for name in account_subscriptions(&tables.subscriptions, id)? {
            tables.subscriptions.remove((id, name.as_str())).db()?;
        }
        crate::dav::remove_account_collections(tables, id)?;
        crate::correspondents::remove_account(tables, id)?;
        crate::sieve::remove_account(tables, id)?;
        crate::disposable::remove_account(tables, id)?;
        crate::vip::remove_account(tables, id)?;
        crate::screener::remove_account(tables, id)?;
        crate::held::remove_account(batch, &blob_files, id)?;
        blobs::release(batch, &blob_files, &removed)
    }
}

/// Removes a mailbox, its messages and the record of those expunged from it; returns the
/// messages, whose bodies and quota are the caller's business.
fn remove_mailbox(
    tables: &mut Tables<'_>,
    account: AccountId,
    name: &str,
    id: MailboxId,
) -> StoreResult<Vec<Message>> {
    tables.mailbox_names.remove((account, name)).db()?;
    tables.mailboxes.remove(id).db()?;
    tables.recent.remove(id).db()?;
    clear_mailbox(tables, id)
}

/// An alias as stored: both sides lower-cased.
fn normalize_alias(alias: &Alias) -> Alias {
    Alias {
        source: normalize(&alias.source),
        target: normalize(&alias.target),
    }
}

pub(crate) struct AddAlias {
    pub(crate) alias: Alias,
}

impl WriteOp for AddAlias {
    type Plan = Alias;
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Alias> {
        let alias = normalize_alias(&self.alias);
        let domain = domain_of(&alias.source);
        if domain.is_empty() {
            return Err(StoreError::NoSuchDomain(alias.source));
        }
        if batch.tables.domains.get(domain).db()?.is_none() {
            return Err(StoreError::NoSuchDomain(domain.to_owned()));
        }
        let key = (alias.source.as_str(), alias.target.as_str());
        if batch.tables.aliases.get(key).db()?.is_some() {
            return Err(StoreError::AlreadyExists(describe_alias(&alias)));
        }
        Ok(alias)
    }

    fn apply(alias: Alias, batch: &mut Batch<'_>) -> StoreResult<()> {
        let key = (alias.source.as_str(), alias.target.as_str());
        batch.tables.aliases.insert(key, ()).db()?;
        Ok(())
    }
}

pub(crate) struct RemoveAlias {
    pub(crate) alias: Alias,
}

impl WriteOp for RemoveAlias {
    type Plan = Alias;
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Alias> {
        let alias = normalize_alias(&self.alias);
        let key = (alias.source.as_str(), alias.target.as_str());
        if batch.tables.aliases.get(key).db()?.is_none() {
            return Err(StoreError::NotFound(describe_alias(&alias)));
        }
        Ok(alias)
    }

    fn apply(alias: Alias, batch: &mut Batch<'_>) -> StoreResult<()> {
        let key = (alias.source.as_str(), alias.target.as_str());
        batch.tables.aliases.remove(key).db()?;
        Ok(())
    }
}

fn describe_alias(alias: &Alias) -> String {
    format!("alias {} -> {}", alias.source, alias.target)
}

pub(crate) struct CreateMailbox {
    pub(crate) account: AccountId,
    pub(crate) name: String,
}

impl WriteOp for CreateMailbox {
    type Plan = (AccountId, String);
    type Output = Mailbox;

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Self::Plan> {
        let account = self.account;
        require_account(&batch.tables.accounts, account)?;
        let name = mailbox_name(&self.name);
        let key = (account, name.as_str());
        if batch.tables.mailbox_names.get(key).db()?.is_some() {
            return Err(StoreError::AlreadyExists(format!("mailbox {name}")));
        }
        Ok((account, name))
    }

    fn apply((account, name): Self::Plan, batch: &mut Batch<'_>) -> StoreResult<Mailbox> {
        insert_mailbox(&mut batch.tables, account, &name, None)
    }
}

/// Refuses to rename or delete INBOX, which every account keeps.
fn refuse_inbox(mailbox: &Mailbox, action: &str) -> StoreResult<()> {
    if mailbox.name == "INBOX" {
        return Err(StoreError::Io(format!(
            "INBOX of account {} cannot be {action}",
            mailbox.account
        )));
    }
    Ok(())
}

pub(crate) struct RenameMailbox {
    pub(crate) id: MailboxId,
    pub(crate) new_name: String,
}

/// The mailboxes a rename changes, each as it will be, with its old name; and the
/// subscriptions it moves, as (old name, new name).
pub(crate) struct Renames {
    account: AccountId,
    renamed: Vec<(String, Mailbox)>,
    subscriptions: Vec<(String, String)>,
}

impl WriteOp for RenameMailbox {
    type Plan = Renames;
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Renames> {
        let tables = &batch.tables;
        let mailbox = existing_mailbox(&tables.mailboxes, self.id)?;
        refuse_inbox(&mailbox, "renamed (the engine moves its messages instead)")?;
        let account = mailbox.account;
        let new_name = mailbox_name(&self.new_name);
        let names = account_mailboxes(&tables.mailbox_names, account)?;
        if names.iter().any(|(name, _)| *name == new_name) {
            return Err(StoreError::AlreadyExists(format!("mailbox {new_name}")));
        }

        // The mailbox and its children, `old/...`, move to `new_name/...`, and so do the
        // subscriptions to those names, whether a mailbox has the name or not.
        let child_prefix = format!("{}/", mailbox.name);
        let moves = |name: &str| name == mailbox.name || name.starts_with(&child_prefix);
        let new_name_of = |old_name: &str| format!("{new_name}{}", &old_name[mailbox.name.len()..]);
        let (moving, staying): (Vec<_>, Vec<_>) =
            names.into_iter().partition(|(name, _)| moves(name));
        let staying: BTreeSet<String> = staying.into_iter().map(|(name, _)| name).collect();
        let mut renamed = Vec::with_capacity(moving.len());
        for (old_name, id) in moving {
            let mut moved =
                get_mailbox(&tables.mailboxes, id)?.ok_or_else(|| corrupt("mailbox index"))?;
            moved.name = new_name_of(&old_name);
            // Names among the moving mailboxes cannot clash: the rename keeps them apart.
            if staying.contains(&moved.name) {
                return Err(StoreError::AlreadyExists(format!("mailbox {}", moved.name)));
            }
            renamed.push((old_name, moved));
        }
        let subscriptions = account_subscriptions(&tables.subscriptions, account)?
            .into_iter()
            .filter(|name| moves(name))
            .map(|old_name| {
                let new_name = new_name_of(&old_name);
                (old_name, new_name)
            })
            .collect();
        Ok(Renames {
            account,
            renamed,
            subscriptions,
        })
    }

    fn apply(plan: Renames, batch: &mut Batch<'_>) -> StoreResult<()> {
        let tables = &mut batch.tables;
        // All old names go first: a new name may be the old name of another moving mailbox.
        for (old_name, _) in &plan.renamed {
            tables
                .mailbox_names
                .remove((plan.account, old_name.as_str()))
                .db()?;
        }
        for (_, mailbox) in &plan.renamed {
            tables
                .mailbox_names
                .insert((plan.account, mailbox.name.as_str()), mailbox.id)
                .db()?;
            tables.put_mailbox(mailbox)?;
        }
        // Likewise; a new name that is subscribed already stays so.
        for (old_name, _) in &plan.subscriptions {
            tables
                .subscriptions
                .remove((plan.account, old_name.as_str()))
                .db()?;
        }
        for (_, new_name) in &plan.subscriptions {
            tables
                .subscriptions
                .insert((plan.account, new_name.as_str()), ())
                .db()?;
        }
        Ok(())
    }
}

pub(crate) struct DeleteMailbox {
    pub(crate) id: MailboxId,
    pub(crate) blob_files: BlobFiles,
}

impl WriteOp for DeleteMailbox {
    type Plan = (Mailbox, BlobFiles);
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Self::Plan> {
        let mailbox = existing_mailbox(&batch.tables.mailboxes, self.id)?;
        refuse_inbox(&mailbox, "deleted")?;
        Ok((mailbox, self.blob_files))
    }

    fn apply((mailbox, blob_files): Self::Plan, batch: &mut Batch<'_>) -> StoreResult<()> {
        let tables = &mut batch.tables;
        let removed = remove_mailbox(tables, mailbox.account, &mailbox.name, mailbox.id)?;
        refund(tables, mailbox.account, total_size(&removed))?;
        blobs::release(batch, &blob_files, &removed)
    }
}

pub(crate) struct Subscribe {
    pub(crate) account: AccountId,
    pub(crate) name: String,
    pub(crate) subscribed: bool,
}

impl WriteOp for Subscribe {
    type Plan = Subscribe;
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Subscribe> {
        require_account(&batch.tables.accounts, self.account)?;
        Ok(Subscribe {
            name: mailbox_name(&self.name),
            ..self
        })
    }

    fn apply(plan: Subscribe, batch: &mut Batch<'_>) -> StoreResult<()> {
        let key = (plan.account, plan.name.as_str());
        if plan.subscribed {
            batch.tables.subscriptions.insert(key, ()).db()?;
        } else {
            batch.tables.subscriptions.remove(key).db()?;
        }
        Ok(())
    }
}
