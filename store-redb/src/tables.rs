//! The database layout: table definitions, the byte encoding of records, and typed access.
//!
//! | table               | key                    | value                                       |
//! |---------------------|------------------------|---------------------------------------------|
//! | `meta`              | name                   | `u64`: counters and the schema version      |
//! | `domains`           | domain                 | `()`                                        |
//! | `accounts`          | account id             | [account record](encode_account)            |
//! | `account_addresses` | (domain, address)      | account id                                  |
//! | `aliases`           | (source, target)       | `()`                                        |
//! | `mailboxes`         | mailbox id             | [mailbox record](encode_mailbox)            |
//! | `mailbox_names`     | (account id, name)     | mailbox id                                  |
//! | `subscriptions`     | (account id, name)     | `()`: the mailbox names subscribed to       |
//! | `messages`          | (mailbox id, uid)      | [message record](encode_message)            |
//! | `expunged`          | (mailbox id, uid)      | modseq of the message's removal             |
//! | `message_changes`   | (mailbox id, modseq, uid) | `()`: each message by its latest modseq  |
//! | `vanished`          | (mailbox id, modseq, uid) | `()`: each removal by its modseq         |
//! | `blob_refs`         | blob id                | messages and queue entries using the body   |
//! | `blob_data`         | blob id                | the body, for bodies stored inside redb     |
//! | `blob_summaries`    | blob id                | the engine's summary of the body            |
//! | `blob_search`       | blob id                | the engine's search filter of the body      |
//! | `blob_headers`      | blob id                | the body's header section, kept apart       |
//! | `search_index`      | (mailbox id, block, row) | a row of the mailbox's [search index](crate::search_index) |
//! | `queue`             | queue id               | [outbound message](crate::queue)            |
//! | `queue_due`         | (due time, queue id)   | `()`: when a pending recipient is due       |
//! | `dkim_keys`         | (domain, selector)     | [DKIM signing key](crate::dkim)             |
//! | `bans`              | network                | [ban](crate::bans)                          |
//! | `api_tokens`        | SHA-256 of the secret  | [API token](crate::tokens)                  |
//! | `audit`             | entry id (ascending)   | [audit entry](crate::audit)                 |
//! | `greylist`          | (network, from, to)    | `i64`: its latest message, Unix seconds     |
//! | `correspondents`    | (account id, domain)   | `i64`: the latest mail sent there, Unix s.  |
//! | `recent`            | mailbox id             | the first UID no session claimed            |
//! | `sieve_scripts`     | (account id, name)     | [Sieve script](crate::sieve)                |
//! | `vacation_replies`  | (account id, key)      | `i64`: when that vacation answer went       |
//! | `disposable_aliases`| address                | [disposable alias](crate::disposable)       |
//! | `vip_senders`       | (account id, address)  | `()`: [important senders](crate::vip)       |
//! | `screener_accounts` | account id             | `()`: the [Screener](crate::screener) is on |
//! | `screened_senders`  | (account id, address)  | `u8`: approved or rejected                  |
//! | `domain_retention`  | domain                 | `i64`: seconds mail is kept                 |
//! | `webhooks`          | webhook id             | [webhook](crate::webhooks)                  |
//! | `webhook_routes`    | address or `@domain`   | webhook id                                  |
//! | `webhook_only`      | domain                 | `()`: its mail goes to webhooks only        |
//! | `webhook_calls`     | call id                | [call waiting](crate::webhooks)             |
//! | `webhook_due`       | (due time, call id)    | `()`: when a call is due                    |
//! | `webhook_log`       | (webhook id, entry id) | [attempt](crate::webhooks)                  |
//! | `held`              | held id                | [held submission](crate::held)              |
//! | `held_due`          | (release time, id)     | `()`: when a held submission goes           |
//! | `undo_send`         | account id             | `u32`: seconds its submissions are held     |
//! | `dav_*`             | see [`crate::dav`]     | calendars, address books and their items    |
//!
//! Keys and values are encoded by [`crate::typed`], which orders keys as the tuples they are
//! written from, so ranges give accounts of a domain sorted by address, mailboxes and
//! subscriptions of an account in name order and messages of a mailbox in UID order. Records
//! are our own versioned encoding; decoding one never panics, a damaged record is an error.
//!
//! A table added later (`dkim_keys`, `bans`, `api_tokens`, `audit`, `greylist`,
//! `correspondents`, `recent`, `sieve_scripts`, `vacation_replies`, `disposable_aliases`,
//! `vip_senders`, `screener_accounts`, `screened_senders`, `domain_retention`, `webhook*`, `held*`, `undo_send`, `search_index`, `dav_*`) needs no new layout: opening creates it, and a Postern
//! that predates it leaves it alone.

use crate::typed::{Def, Encoded, Open, ReadableTable, Table};
use engine::store::dav::CollectionId;
use engine::store::{
    Account, AccountId, BlobFact, BlobId, Mailbox, MailboxId, Message, SpecialUse, StoreError,
    StoreResult,
};
use redb::WriteTransaction;

use crate::error::{DbResultExt, corrupt};

pub(crate) const META: Def<&str, u64> = Def::new("meta");
pub(crate) const DOMAINS: Def<&str, ()> = Def::new("domains");
pub(crate) const ACCOUNTS: Def<AccountId, &[u8]> = Def::new("accounts");
pub(crate) const ACCOUNT_ADDRESSES: Def<(&str, &str), AccountId> = Def::new("account_addresses");
pub(crate) const ALIASES: Def<(&str, &str), ()> = Def::new("aliases");
pub(crate) const MAILBOXES: Def<MailboxId, &[u8]> = Def::new("mailboxes");
pub(crate) const MAILBOX_NAMES: Def<(AccountId, &str), MailboxId> = Def::new("mailbox_names");
pub(crate) const SUBSCRIPTIONS: Def<(AccountId, &str), ()> = Def::new("subscriptions");
pub(crate) const MESSAGES: Def<(MailboxId, u32), &[u8]> = Def::new("messages");
pub(crate) const EXPUNGED: Def<(MailboxId, u32), u64> = Def::new("expunged");
pub(crate) const MESSAGE_CHANGES: Def<(MailboxId, u64, u32), ()> = Def::new("message_changes");
pub(crate) const VANISHED: Def<(MailboxId, u64, u32), ()> = Def::new("vanished");
pub(crate) const BLOB_REFS: Def<&[u8; 32], u64> = Def::new("blob_refs");
pub(crate) const BLOB_DATA: Def<&[u8; 32], &[u8]> = Def::new("blob_data");
pub(crate) const BLOB_SUMMARIES: Def<&[u8; 32], &[u8]> = Def::new("blob_summaries");
pub(crate) const BLOB_SEARCH: Def<&[u8; 32], &[u8]> = Def::new("blob_search");
pub(crate) const BLOB_HEADERS: Def<&[u8; 32], &[u8]> = Def::new("blob_headers");

/// The table that keeps `fact` of each body.
pub(crate) fn fact_table(fact: BlobFact) -> Def<&'static [u8; 32], &'static [u8]> {
    match fact {
        BlobFact::Summary => BLOB_SUMMARIES,
        BlobFact::SearchFilter => BLOB_SEARCH,
        BlobFact::Header => BLOB_HEADERS,
    }
}
pub(crate) const SEARCH_INDEX: Def<(MailboxId, u32, u16), &[u8]> = Def::new("search_index");
pub(crate) const QUEUE: Def<u64, &[u8]> = Def::new("queue");
pub(crate) const QUEUE_DUE: Def<(i64, u64), ()> = Def::new("queue_due");
pub(crate) const DKIM_KEYS: Def<(&str, &str), &[u8]> = Def::new("dkim_keys");
pub(crate) const BANS: Def<&str, &[u8]> = Def::new("bans");
pub(crate) const API_TOKENS: Def<&[u8; 32], &[u8]> = Def::new("api_tokens");
pub(crate) const AUDIT: Def<u64, &[u8]> = Def::new("audit");
pub(crate) const GREYLIST: Def<(&str, &str, &str), i64> = Def::new("greylist");
pub(crate) const CORRESPONDENTS: Def<(AccountId, &str), i64> = Def::new("correspondents");
pub(crate) const RECENT: Def<MailboxId, u32> = Def::new("recent");
pub(crate) const SIEVE_SCRIPTS: Def<(AccountId, &str), &[u8]> = Def::new("sieve_scripts");
pub(crate) const VACATION_REPLIES: Def<(AccountId, &str), i64> = Def::new("vacation_replies");
pub(crate) const DISPOSABLE_ALIASES: Def<&str, &[u8]> = Def::new("disposable_aliases");
pub(crate) const VIP_SENDERS: Def<(AccountId, &str), ()> = Def::new("vip_senders");
pub(crate) const SCREENER_ACCOUNTS: Def<AccountId, ()> = Def::new("screener_accounts");
pub(crate) const SCREENED_SENDERS: Def<(AccountId, &str), u8> = Def::new("screened_senders");
pub(crate) const DOMAIN_RETENTION: Def<&str, i64> = Def::new("domain_retention");
pub(crate) const WEBHOOKS: Def<u64, &[u8]> = Def::new("webhooks");
pub(crate) const WEBHOOK_ROUTES: Def<&str, u64> = Def::new("webhook_routes");
pub(crate) const WEBHOOK_ONLY: Def<&str, ()> = Def::new("webhook_only");
pub(crate) const WEBHOOK_CALLS: Def<u64, &[u8]> = Def::new("webhook_calls");
pub(crate) const WEBHOOK_DUE: Def<(i64, u64), ()> = Def::new("webhook_due");
pub(crate) const WEBHOOK_LOG: Def<(u64, u64), &[u8]> = Def::new("webhook_log");
pub(crate) const HELD: Def<u64, &[u8]> = Def::new("held");
pub(crate) const HELD_DUE: Def<(i64, u64), ()> = Def::new("held_due");
pub(crate) const UNDO_SEND: Def<AccountId, u32> = Def::new("undo_send");
pub(crate) const DAV_COLLECTIONS: Def<CollectionId, &[u8]> = Def::new("dav_collections");
pub(crate) const DAV_COLLECTION_NAMES: Def<(AccountId, u8, &str), CollectionId> =
    Def::new("dav_collection_names");
pub(crate) const DAV_ITEMS: Def<(CollectionId, &str), &[u8]> = Def::new("dav_items");
pub(crate) const DAV_DATA: Def<(CollectionId, &str), &[u8]> = Def::new("dav_data");
pub(crate) const DAV_UIDS: Def<(CollectionId, &str), &str> = Def::new("dav_uids");
pub(crate) const DAV_CHANGES: Def<(CollectionId, u64), &str> = Def::new("dav_changes");
pub(crate) const DAV_SHARES: Def<(CollectionId, AccountId), u8> = Def::new("dav_shares");
pub(crate) const DAV_SHARED_WITH: Def<(AccountId, CollectionId), u8> = Def::new("dav_shared_with");

/// `meta` key: the layout version of the database.
pub(crate) const SCHEMA_VERSION_KEY: &str = "schema_version";
/// The layout this code reads and writes. Layout 2 keeps subscriptions in their own table
/// (layout 1 had them as a flag of the mailbox record); see [`move_subscriptions_out`].
/// Layout 3 keeps messages and removals by modseq too (`message_changes`, `vanished`), so
/// a sync reads what changed; see [`index_changes`]. A Postern of layout 2 would not keep
/// them up, which is why it refuses a database of layout 3. Layout 4 declares every table
/// to redb with one type and encodes keys and values itself ([`crate::typed`]); an older
/// database is rewritten at its first open ([`crate::convert`]), and a Postern of layout 3
/// cannot open its tables.
pub(crate) const SCHEMA_VERSION: u64 = 4;
/// `meta` key: the next [`AccountId`] to hand out.
pub(crate) const NEXT_ACCOUNT_ID: &str = "next_account_id";
/// `meta` key: the next [`MailboxId`] to hand out.
pub(crate) const NEXT_MAILBOX_ID: &str = "next_mailbox_id";
/// `meta` key: the next [`CollectionId`] to hand out.
pub(crate) const NEXT_COLLECTION_ID: &str = "next_collection_id";
/// `meta` key: the UIDVALIDITY counter, see [`Tables::fresh_uid_validity`].
const LAST_UID_VALIDITY: &str = "last_uid_validity";

/// Addresses and domain names are stored, and looked up, lower-cased.
pub(crate) fn normalize(name: &str) -> String {
    name.to_lowercase()
}

/// Every table of [`Tables`] as redb holds it, in one order: `$tables.field.$view()` of each.
macro_rules! every_table {
    ($tables:expr, $view:ident) => {
        [
            $tables.meta.$view(),
            $tables.domains.$view(),
            $tables.accounts.$view(),
            $tables.account_addresses.$view(),
            $tables.aliases.$view(),
            $tables.mailboxes.$view(),
            $tables.mailbox_names.$view(),
            $tables.subscriptions.$view(),
            $tables.messages.$view(),
            $tables.expunged.$view(),
            $tables.message_changes.$view(),
            $tables.vanished.$view(),
            $tables.blob_refs.$view(),
            $tables.blob_data.$view(),
            $tables.blob_summaries.$view(),
            $tables.blob_search.$view(),
            $tables.search_index.$view(),
            $tables.blob_headers.$view(),
            $tables.queue.$view(),
            $tables.queue_due.$view(),
            $tables.dkim_keys.$view(),
            $tables.bans.$view(),
            $tables.api_tokens.$view(),
            $tables.audit.$view(),
            $tables.greylist.$view(),
            $tables.correspondents.$view(),
            $tables.recent.$view(),
            $tables.sieve_scripts.$view(),
            $tables.vacation_replies.$view(),
            $tables.disposable_aliases.$view(),
            $tables.vip_senders.$view(),
            $tables.screener_accounts.$view(),
            $tables.screened_senders.$view(),
            $tables.domain_retention.$view(),
            $tables.webhooks.$view(),
            $tables.webhook_routes.$view(),
            $tables.webhook_only.$view(),
            $tables.webhook_calls.$view(),
            $tables.webhook_due.$view(),
            $tables.webhook_log.$view(),
            $tables.held.$view(),
            $tables.held_due.$view(),
            $tables.undo_send.$view(),
            $tables.dav_collections.$view(),
            $tables.dav_collection_names.$view(),
            $tables.dav_items.$view(),
            $tables.dav_data.$view(),
            $tables.dav_uids.$view(),
            $tables.dav_changes.$view(),
            $tables.dav_shares.$view(),
            $tables.dav_shared_with.$view(),
        ]
    };
}

/// Every table, opened in one write transaction. A batch of writes opens them once.
pub(crate) struct Tables<'txn> {
    pub(crate) meta: Table<'txn, &'static str, u64>,
    pub(crate) domains: Table<'txn, &'static str, ()>,
    pub(crate) accounts: Table<'txn, AccountId, &'static [u8]>,
    pub(crate) account_addresses: Table<'txn, (&'static str, &'static str), AccountId>,
    pub(crate) aliases: Table<'txn, (&'static str, &'static str), ()>,
    pub(crate) mailboxes: Table<'txn, MailboxId, &'static [u8]>,
    pub(crate) mailbox_names: Table<'txn, (AccountId, &'static str), MailboxId>,
    pub(crate) subscriptions: Table<'txn, (AccountId, &'static str), ()>,
    pub(crate) messages: Table<'txn, (MailboxId, u32), &'static [u8]>,
    pub(crate) expunged: Table<'txn, (MailboxId, u32), u64>,
    pub(crate) message_changes: Table<'txn, (MailboxId, u64, u32), ()>,
    pub(crate) vanished: Table<'txn, (MailboxId, u64, u32), ()>,
    pub(crate) blob_refs: Table<'txn, &'static [u8; 32], u64>,
    pub(crate) blob_data: Table<'txn, &'static [u8; 32], &'static [u8]>,
    pub(crate) blob_summaries: Table<'txn, &'static [u8; 32], &'static [u8]>,
    pub(crate) blob_search: Table<'txn, &'static [u8; 32], &'static [u8]>,
    pub(crate) search_index: Table<'txn, (MailboxId, u32, u16), &'static [u8]>,
    pub(crate) blob_headers: Table<'txn, &'static [u8; 32], &'static [u8]>,
    pub(crate) queue: Table<'txn, u64, &'static [u8]>,
    pub(crate) queue_due: Table<'txn, (i64, u64), ()>,
    pub(crate) dkim_keys: Table<'txn, (&'static str, &'static str), &'static [u8]>,
    pub(crate) bans: Table<'txn, &'static str, &'static [u8]>,
    pub(crate) api_tokens: Table<'txn, &'static [u8; 32], &'static [u8]>,
    pub(crate) audit: Table<'txn, u64, &'static [u8]>,
    pub(crate) greylist: Table<'txn, (&'static str, &'static str, &'static str), i64>,
    pub(crate) correspondents: Table<'txn, (AccountId, &'static str), i64>,
    pub(crate) recent: Table<'txn, MailboxId, u32>,
    pub(crate) sieve_scripts: Table<'txn, (AccountId, &'static str), &'static [u8]>,
    pub(crate) vacation_replies: Table<'txn, (AccountId, &'static str), i64>,
    pub(crate) disposable_aliases: Table<'txn, &'static str, &'static [u8]>,
    pub(crate) vip_senders: Table<'txn, (AccountId, &'static str), ()>,
    pub(crate) screener_accounts: Table<'txn, AccountId, ()>,
    pub(crate) screened_senders: Table<'txn, (AccountId, &'static str), u8>,
    pub(crate) domain_retention: Table<'txn, &'static str, i64>,
    pub(crate) webhooks: Table<'txn, u64, &'static [u8]>,
    pub(crate) webhook_routes: Table<'txn, &'static str, u64>,
    pub(crate) webhook_only: Table<'txn, &'static str, ()>,
    pub(crate) webhook_calls: Table<'txn, u64, &'static [u8]>,
    pub(crate) webhook_due: Table<'txn, (i64, u64), ()>,
    pub(crate) webhook_log: Table<'txn, (u64, u64), &'static [u8]>,
    pub(crate) held: Table<'txn, u64, &'static [u8]>,
    pub(crate) held_due: Table<'txn, (i64, u64), ()>,
    pub(crate) undo_send: Table<'txn, AccountId, u32>,
    pub(crate) dav_collections: Table<'txn, CollectionId, &'static [u8]>,
    pub(crate) dav_collection_names: Table<'txn, (AccountId, u8, &'static str), CollectionId>,
    pub(crate) dav_items: Table<'txn, (CollectionId, &'static str), &'static [u8]>,
    pub(crate) dav_data: Table<'txn, (CollectionId, &'static str), &'static [u8]>,
    pub(crate) dav_uids: Table<'txn, (CollectionId, &'static str), &'static str>,
    pub(crate) dav_changes: Table<'txn, (CollectionId, u64), &'static str>,
    pub(crate) dav_shares: Table<'txn, (CollectionId, AccountId), u8>,
    pub(crate) dav_shared_with: Table<'txn, (AccountId, CollectionId), u8>,
}

impl<'txn> Tables<'txn> {
    /// Opens (creating on first use) every table.
    pub(crate) fn open(txn: &'txn WriteTransaction) -> StoreResult<Self> {
        Ok(Tables {
            meta: txn.open(META).db()?,
            domains: txn.open(DOMAINS).db()?,
            accounts: txn.open(ACCOUNTS).db()?,
            account_addresses: txn.open(ACCOUNT_ADDRESSES).db()?,
            aliases: txn.open(ALIASES).db()?,
            mailboxes: txn.open(MAILBOXES).db()?,
            mailbox_names: txn.open(MAILBOX_NAMES).db()?,
            subscriptions: txn.open(SUBSCRIPTIONS).db()?,
            messages: txn.open(MESSAGES).db()?,
            expunged: txn.open(EXPUNGED).db()?,
            message_changes: txn.open(MESSAGE_CHANGES).db()?,
            vanished: txn.open(VANISHED).db()?,
            blob_refs: txn.open(BLOB_REFS).db()?,
            blob_data: txn.open(BLOB_DATA).db()?,
            blob_summaries: txn.open(BLOB_SUMMARIES).db()?,
            blob_search: txn.open(BLOB_SEARCH).db()?,
            search_index: txn.open(SEARCH_INDEX).db()?,
            blob_headers: txn.open(BLOB_HEADERS).db()?,
            queue: txn.open(QUEUE).db()?,
            queue_due: txn.open(QUEUE_DUE).db()?,
            dkim_keys: txn.open(DKIM_KEYS).db()?,
            bans: txn.open(BANS).db()?,
            api_tokens: txn.open(API_TOKENS).db()?,
            audit: txn.open(AUDIT).db()?,
            greylist: txn.open(GREYLIST).db()?,
            correspondents: txn.open(CORRESPONDENTS).db()?,
            recent: txn.open(RECENT).db()?,
            sieve_scripts: txn.open(SIEVE_SCRIPTS).db()?,
            vacation_replies: txn.open(VACATION_REPLIES).db()?,
            disposable_aliases: txn.open(DISPOSABLE_ALIASES).db()?,
            vip_senders: txn.open(VIP_SENDERS).db()?,
            screener_accounts: txn.open(SCREENER_ACCOUNTS).db()?,
            screened_senders: txn.open(SCREENED_SENDERS).db()?,
            domain_retention: txn.open(DOMAIN_RETENTION).db()?,
            webhooks: txn.open(WEBHOOKS).db()?,
            webhook_routes: txn.open(WEBHOOK_ROUTES).db()?,
            webhook_only: txn.open(WEBHOOK_ONLY).db()?,
            webhook_calls: txn.open(WEBHOOK_CALLS).db()?,
            webhook_due: txn.open(WEBHOOK_DUE).db()?,
            webhook_log: txn.open(WEBHOOK_LOG).db()?,
            held: txn.open(HELD).db()?,
            held_due: txn.open(HELD_DUE).db()?,
            undo_send: txn.open(UNDO_SEND).db()?,
            dav_collections: txn.open(DAV_COLLECTIONS).db()?,
            dav_collection_names: txn.open(DAV_COLLECTION_NAMES).db()?,
            dav_items: txn.open(DAV_ITEMS).db()?,
            dav_data: txn.open(DAV_DATA).db()?,
            dav_uids: txn.open(DAV_UIDS).db()?,
            dav_changes: txn.open(DAV_CHANGES).db()?,
            dav_shares: txn.open(DAV_SHARES).db()?,
            dav_shared_with: txn.open(DAV_SHARED_WITH).db()?,
        })
    }

    /// Every table, as redb holds it: for copying a database row by row as stored.
    pub(crate) fn raw(&self) -> [&redb::Table<'txn, Encoded, Encoded>; 51] {
        every_table!(self, raw)
    }

    /// [`Tables::raw`], to write.
    pub(crate) fn raw_mut(&mut self) -> [&mut redb::Table<'txn, Encoded, Encoded>; 51] {
        every_table!(self, raw_mut)
    }

    /// The open table that keeps `fact` of each body.
    pub(crate) fn blob_facts(
        &mut self,
        fact: BlobFact,
    ) -> &mut Table<'txn, &'static [u8; 32], &'static [u8]> {
        match fact {
            BlobFact::Summary => &mut self.blob_summaries,
            BlobFact::SearchFilter => &mut self.blob_search,
            BlobFact::Header => &mut self.blob_headers,
        }
    }

    /// Hands out the next value of the `meta` counter `key` (starting at 1).
    pub(crate) fn next_id(&mut self, key: &'static str) -> StoreResult<u64> {
        let id = self.meta.get(key).db()?.map_or(1, |v| v.value());
        let next = id
            .checked_add(1)
            .ok_or_else(|| StoreError::Io(format!("the {key} counter is exhausted")))?;
        self.meta.insert(key, next).db()?;
        Ok(id)
    }

    /// A UIDVALIDITY never handed out before in this database.
    ///
    /// Like Dovecot's, it is the creation time in Unix seconds, but drawn from a counter that
    /// only goes up: a mailbox deleted and re-created within the same second (or after the
    /// clock went back) still gets a different value. It is non-zero, as IMAP requires.
    pub(crate) fn fresh_uid_validity(&mut self, now: u64) -> StoreResult<u32> {
        let last = self
            .meta
            .get(LAST_UID_VALIDITY)
            .db()?
            .map_or(0, |v| v.value());
        let counter = now.max(last.saturating_add(1));
        self.meta.insert(LAST_UID_VALIDITY, counter).db()?;
        // The counter fits in 32 bits until 2106; from then on it wraps around over 1..=u32::MAX.
        let value = (counter - 1) % u64::from(u32::MAX) + 1;
        u32::try_from(value).map_err(|_| corrupt("UIDVALIDITY counter"))
    }

    /// Writes an account record.
    pub(crate) fn put_account(&mut self, account: &Account) -> StoreResult<()> {
        self.accounts
            .insert(account.id, encode_account(account).as_slice())
            .db()?;
        Ok(())
    }

    /// Writes a mailbox record.
    pub(crate) fn put_mailbox(&mut self, mailbox: &Mailbox) -> StoreResult<()> {
        self.mailboxes
            .insert(mailbox.id, encode_mailbox(mailbox).as_slice())
            .db()?;
        Ok(())
    }

    /// Writes a message record into `mailbox`, and keeps it under its modseq in
    /// `message_changes` (no longer under the one it had).
    pub(crate) fn put_message(&mut self, mailbox: MailboxId, message: &Message) -> StoreResult<()> {
        let uid = message.uid;
        let before = self
            .messages
            .insert((mailbox, uid), encode_message(message).as_slice())
            .db()?
            .map(|old| decode_message(uid, old.value()).map(|old| old.modseq))
            .transpose()?;
        if let Some(modseq) = before.filter(|&modseq| modseq != message.modseq) {
            self.message_changes.remove((mailbox, modseq, uid)).db()?;
        }
        self.message_changes
            .insert((mailbox, message.modseq, uid), ())
            .db()?;
        Ok(())
    }
}

/// The account `id`, if it exists.
pub(crate) fn get_account(
    accounts: &impl ReadableTable<AccountId, &'static [u8]>,
    id: AccountId,
) -> StoreResult<Option<Account>> {
    accounts
        .get(id)
        .db()?
        .map(|v| decode_account(id, v.value()))
        .transpose()
}

/// The mailbox `id`, if it exists.
pub(crate) fn get_mailbox(
    mailboxes: &impl ReadableTable<MailboxId, &'static [u8]>,
    id: MailboxId,
) -> StoreResult<Option<Mailbox>> {
    mailboxes
        .get(id)
        .db()?
        .map(|v| decode_mailbox(id, v.value()))
        .transpose()
}

/// The mailbox `id`, or `NotFound`.
pub(crate) fn existing_mailbox(
    mailboxes: &impl ReadableTable<MailboxId, &'static [u8]>,
    id: MailboxId,
) -> StoreResult<Mailbox> {
    get_mailbox(mailboxes, id)?.ok_or_else(|| StoreError::NotFound(format!("mailbox {id}")))
}

/// The message `uid` of `mailbox`, if it exists.
pub(crate) fn get_message(
    messages: &impl ReadableTable<(MailboxId, u32), &'static [u8]>,
    mailbox: MailboxId,
    uid: u32,
) -> StoreResult<Option<Message>> {
    messages
        .get((mailbox, uid))
        .db()?
        .map(|v| decode_message(uid, v.value()))
        .transpose()
}

/// The id of the account with the (normalized) address `email`.
pub(crate) fn account_id(
    addresses: &impl ReadableTable<(&'static str, &'static str), AccountId>,
    email: &str,
) -> StoreResult<Option<AccountId>> {
    Ok(addresses
        .get((domain_of(email), email))
        .db()?
        .map(|v| v.value()))
}

/// The domain part of an address, or of an `@domain` catch-all; empty if there is none.
pub(crate) fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, domain)| domain)
}

/// Encodes an account record (the id is the key). Layout: version, email, password hash,
/// quota (presence byte + u64), used, disabled, admin (from layout 2), one-time code
/// secret (from layout 3: length-prefixed, empty for none).
pub(crate) fn encode_account(account: &Account) -> Vec<u8> {
    let mut out = Encoder::new(RECORD_VERSION);
    out.str(&account.email);
    out.str(&account.password_hash);
    out.bool(account.quota.is_some());
    out.u64(account.quota.unwrap_or(0));
    out.u64(account.used);
    out.bool(account.disabled);
    out.bool(account.admin);
    out.sized(account.totp.as_deref().unwrap_or_default());
    out.0
}

pub(crate) fn decode_account(id: AccountId, bytes: &[u8]) -> StoreResult<Account> {
    let mut input = Decoder::new(bytes, "account record", RECORD_VERSION)?;
    let email = input.str()?.to_owned();
    let password_hash = input.str()?.to_owned();
    let has_quota = input.bool()?;
    let quota = input.u64()?;
    let mut account = Account {
        id,
        email,
        password_hash,
        quota: has_quota.then_some(quota),
        used: input.u64()?,
        disabled: input.bool()?,
        admin: false,
        totp: None,
    };
    if input.version >= 2 {
        account.admin = input.bool()?;
    }
    if input.version >= 3 {
        let secret = input.sized()?;
        account.totp = (!secret.is_empty()).then(|| secret.to_vec());
    }
    input.finish()?;
    Ok(account)
}

/// Encodes a mailbox record (the id is the key). Layout: version
/// ([`MAILBOX_RECORD_VERSION`]), account, name, uid_validity, uid_next, highest_modseq, special
/// use (0 for none).
pub(crate) fn encode_mailbox(mailbox: &Mailbox) -> Vec<u8> {
    let mut out = Encoder::new(MAILBOX_RECORD_VERSION);
    out.u64(mailbox.account);
    out.str(&mailbox.name);
    out.u32(mailbox.uid_validity);
    out.u32(mailbox.uid_next);
    out.u64(mailbox.highest_modseq);
    out.u8(match mailbox.special_use {
        None => 0,
        Some(SpecialUse::Drafts) => 1,
        Some(SpecialUse::Sent) => 2,
        Some(SpecialUse::Junk) => 3,
        Some(SpecialUse::Trash) => 4,
        Some(SpecialUse::Archive) => 5,
    });
    out.0
}

/// Decodes a mailbox record of any layout up to [`MAILBOX_RECORD_VERSION`].
pub(crate) fn decode_mailbox(id: MailboxId, bytes: &[u8]) -> StoreResult<Mailbox> {
    decode_mailbox_record(id, bytes).map(|(mailbox, _)| mailbox)
}

/// Decodes a mailbox record, with the subscribed flag that layout 1 records end with (`None`
/// for later layouts, which keep subscriptions in their own table).
fn decode_mailbox_record(id: MailboxId, bytes: &[u8]) -> StoreResult<(Mailbox, Option<bool>)> {
    let mut input = Decoder::new(bytes, "mailbox record", MAILBOX_RECORD_VERSION)?;
    let mailbox = Mailbox {
        id,
        account: input.u64()?,
        name: input.str()?.to_owned(),
        uid_validity: input.u32()?,
        uid_next: input.u32()?,
        highest_modseq: input.u64()?,
        special_use: match input.u8()? {
            0 => None,
            1 => Some(SpecialUse::Drafts),
            2 => Some(SpecialUse::Sent),
            3 => Some(SpecialUse::Junk),
            4 => Some(SpecialUse::Trash),
            5 => Some(SpecialUse::Archive),
            _ => return Err(corrupt("mailbox record")),
        },
    };
    let subscribed = if input.version == 1 {
        Some(input.bool()?)
    } else {
        None
    };
    input.finish()?;
    Ok((mailbox, subscribed))
}

/// Upgrades a database of layout 1, whose mailbox records carried the subscribed flag: the
/// subscribed mailboxes' names go into `subscriptions`, and every mailbox record is rewritten
/// in the current layout.
pub(crate) fn move_subscriptions_out(tables: &mut Tables<'_>) -> StoreResult<()> {
    let mut records = Vec::new();
    for entry in tables.mailboxes.iter().db()? {
        let (id, record) = entry.db()?;
        records.push(decode_mailbox_record(id.value(), record.value())?);
    }
    for (mailbox, subscribed) in records {
        if subscribed == Some(true) {
            tables
                .subscriptions
                .insert((mailbox.account, mailbox.name.as_str()), ())
                .db()?;
        }
        tables.put_mailbox(&mailbox)?;
    }
    Ok(())
}

/// Upgrades a database of layout 1 or 2: every message goes into `message_changes` under
/// its modseq, and every removal remembered into `vanished`.
pub(crate) fn index_changes(tables: &mut Tables<'_>) -> StoreResult<()> {
    let mut changes = Vec::new();
    for entry in tables.messages.iter().db()? {
        let (key, record) = entry.db()?;
        let (mailbox, uid) = key.value();
        changes.push((mailbox, decode_message(uid, record.value())?.modseq, uid));
    }
    for key in changes {
        tables.message_changes.insert(key, ()).db()?;
    }
    let mut removals = Vec::new();
    for entry in tables.expunged.iter().db()? {
        let (key, modseq) = entry.db()?;
        let (mailbox, uid) = key.value();
        removals.push((mailbox, modseq.value(), uid));
    }
    for key in removals {
        tables.vanished.insert(key, ()).db()?;
    }
    Ok(())
}

/// Encodes a message record (the mailbox and uid are the key). Layout: version
/// ([`MESSAGE_RECORD_VERSION`]), blob id, size, internal date, flags, modseq, keywords (count as
/// u64, then each as a string).
pub(crate) fn encode_message(message: &Message) -> Vec<u8> {
    let mut out = Encoder::new(MESSAGE_RECORD_VERSION);
    out.bytes(&message.blob.0);
    out.u64(message.size);
    out.bytes(&message.internal_date.to_le_bytes());
    out.u8(message.flags);
    out.u64(message.modseq);
    out.u64(message.keywords.len() as u64);
    for keyword in &message.keywords {
        out.str(keyword);
    }
    out.0
}

/// Decodes a message record of any version up to [`MESSAGE_RECORD_VERSION`]; version 1 records
/// have no keywords.
pub(crate) fn decode_message(uid: u32, bytes: &[u8]) -> StoreResult<Message> {
    let mut input = Decoder::new(bytes, "message record", MESSAGE_RECORD_VERSION)?;
    let mut message = Message {
        uid,
        blob: BlobId(input.array()?),
        size: input.u64()?,
        internal_date: i64::from_le_bytes(input.array()?),
        flags: input.u8()?,
        keywords: Vec::new(),
        modseq: input.u64()?,
    };
    if input.version >= 2 {
        // No capacity from the count: a damaged count must not allocate; a damaged string
        // fails as soon as the record runs out.
        for _ in 0..input.u64()? {
            message.keywords.push(input.str()?.to_owned());
        }
    }
    input.finish()?;
    Ok(message)
}

/// The first byte of account records: layout 2 added the admin flag, 3 the one-time code
/// secret.
const RECORD_VERSION: u8 = 3;
/// The first byte of mailbox records: layout 2 moved the subscribed flag to `subscriptions`.
const MAILBOX_RECORD_VERSION: u8 = 2;
/// The first byte of message records: layout 2 added keywords.
const MESSAGE_RECORD_VERSION: u8 = 2;

/// Appends little-endian fields to a record.
pub(crate) struct Encoder(pub(crate) Vec<u8>);

impl Encoder {
    /// A record starting with its layout `version`.
    pub(crate) fn new(version: u8) -> Self {
        Encoder(vec![version])
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    pub(crate) fn u8(&mut self, value: u8) {
        self.0.push(value);
    }

    pub(crate) fn bool(&mut self, value: bool) {
        self.u8(u8::from(value));
    }

    pub(crate) fn u32(&mut self, value: u32) {
        self.bytes(&value.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, value: u64) {
        self.bytes(&value.to_le_bytes());
    }

    /// Bytes prefixed by their length as u64.
    pub(crate) fn sized(&mut self, value: &[u8]) {
        self.u64(value.len() as u64);
        self.bytes(value);
    }

    /// A string, prefixed by its length in bytes as u64.
    pub(crate) fn str(&mut self, value: &str) {
        self.sized(value.as_bytes());
    }
}

/// Reads the fields of a record written by [`Encoder`]; any mismatch is a corruption error.
pub(crate) struct Decoder<'a> {
    /// The record's layout version, for fields that later layouts added.
    pub(crate) version: u8,
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Decoder<'a> {
    /// Starts reading a record of layout 1 to `newest`.
    pub(crate) fn new(bytes: &'a [u8], what: &'static str, newest: u8) -> StoreResult<Self> {
        match bytes.split_first() {
            Some((&version, rest)) if (1..=newest).contains(&version) => Ok(Decoder {
                version,
                rest,
                what,
            }),
            _ => Err(corrupt(what)),
        }
    }

    pub(crate) fn take(&mut self, len: usize) -> StoreResult<&'a [u8]> {
        let (head, rest) = self
            .rest
            .split_at_checked(len)
            .ok_or_else(|| corrupt(self.what))?;
        self.rest = rest;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> StoreResult<[u8; N]> {
        let (head, rest) = self
            .rest
            .split_first_chunk()
            .ok_or_else(|| corrupt(self.what))?;
        self.rest = rest;
        Ok(*head)
    }

    pub(crate) fn u8(&mut self) -> StoreResult<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn bool(&mut self) -> StoreResult<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(corrupt(self.what)),
        }
    }

    pub(crate) fn u32(&mut self) -> StoreResult<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> StoreResult<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Bytes written by [`Encoder::sized`].
    pub(crate) fn sized(&mut self) -> StoreResult<&'a [u8]> {
        let len = usize::try_from(self.u64()?).map_err(|_| corrupt(self.what))?;
        self.take(len)
    }

    pub(crate) fn str(&mut self) -> StoreResult<&'a str> {
        std::str::from_utf8(self.sized()?).map_err(|_| corrupt(self.what))
    }

    /// Checks that nothing is left over.
    pub(crate) fn finish(self) -> StoreResult<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(corrupt(self.what))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let account = Account {
            id: 7,
            email: "ann@example.org".into(),
            password_hash: "$argon2id$v=19$...".into(),
            quota: Some(1 << 30),
            used: 1234,
            disabled: true,
            admin: true,
            totp: Some(vec![1, 2, 3]),
        };
        assert_eq!(
            decode_account(7, &encode_account(&account)).unwrap(),
            account
        );
        let unlimited = Account {
            quota: None,
            ..account
        };
        assert_eq!(
            decode_account(7, &encode_account(&unlimited)).unwrap(),
            unlimited
        );

        for special_use in [None, Some(SpecialUse::Junk), Some(SpecialUse::Archive)] {
            let mailbox = Mailbox {
                id: 3,
                account: 7,
                name: "Lists/rust".into(),
                uid_validity: 1_700_000_000,
                uid_next: 42,
                highest_modseq: 99,
                special_use,
            };
            assert_eq!(
                decode_mailbox(3, &encode_mailbox(&mailbox)).unwrap(),
                mailbox
            );
        }

        let message = Message {
            uid: 5,
            blob: BlobId([0xab; 32]),
            size: 100_000,
            internal_date: -1,
            flags: 0b1_0101,
            keywords: vec!["$Forwarded".into(), "$Junk".into(), "Ünïcode".into()],
            modseq: 17,
        };
        assert_eq!(
            decode_message(5, &encode_message(&message)).unwrap(),
            message
        );
        let plain = Message {
            keywords: Vec::new(),
            ..message
        };
        assert_eq!(decode_message(5, &encode_message(&plain)).unwrap(), plain);
    }

    #[test]
    fn message_records_of_layout_1_have_no_keywords() {
        let message = Message {
            uid: 2,
            blob: BlobId([3; 32]),
            size: 4,
            internal_date: 5,
            flags: 6,
            keywords: Vec::new(),
            modseq: 7,
        };
        let mut version_1 = Encoder::new(1);
        version_1.bytes(&message.blob.0);
        version_1.u64(message.size);
        version_1.bytes(&message.internal_date.to_le_bytes());
        version_1.u8(message.flags);
        version_1.u64(message.modseq);
        assert_eq!(decode_message(2, &version_1.0).unwrap(), message);
    }

    #[test]
    fn mailbox_records_of_layout_1_carry_the_subscribed_flag() {
        let mailbox = Mailbox {
            id: 4,
            account: 2,
            name: "Work".into(),
            uid_validity: 9,
            uid_next: 3,
            highest_modseq: 8,
            special_use: Some(SpecialUse::Sent),
        };
        let current = encode_mailbox(&mailbox);
        assert_eq!(
            decode_mailbox_record(4, &current).unwrap(),
            (mailbox.clone(), None)
        );
        let mut version_1 = current.clone();
        version_1[0] = 1;
        // Without the flag a layout 1 record is cut short.
        assert!(decode_mailbox(4, &version_1).is_err());
        for subscribed in [false, true] {
            let mut with_flag = version_1.clone();
            with_flag.push(u8::from(subscribed));
            assert_eq!(
                decode_mailbox_record(4, &with_flag).unwrap(),
                (mailbox.clone(), Some(subscribed))
            );
            assert_eq!(decode_mailbox(4, &with_flag).unwrap(), mailbox);
        }
        // A current record has no flag.
        let mut longer = current;
        longer.push(1);
        assert!(decode_mailbox(4, &longer).is_err());
    }

    #[test]
    fn damaged_records_are_errors() {
        let message = Message {
            uid: 1,
            blob: BlobId([1; 32]),
            size: 1,
            internal_date: 0,
            flags: 0,
            keywords: vec!["$Seen-ish".into(), "x".into()],
            modseq: 1,
        };
        let bytes = encode_message(&message);
        for len in 0..bytes.len() {
            assert!(decode_message(1, &bytes[..len]).is_err());
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_message(1, &longer).is_err());
        for version in [0, MESSAGE_RECORD_VERSION + 1] {
            let mut wrong_version = bytes.clone();
            wrong_version[0] = version;
            assert!(decode_message(1, &wrong_version).is_err());
        }
        // A keyword count far beyond the record fails without allocating for it.
        let count_at = bytes.len() - (8 + 8 + "$Seen-ish".len() + 8 + 1);
        let mut huge_count = bytes.clone();
        huge_count[count_at..count_at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode_message(1, &huge_count).is_err());
        // An account record is not read as a later layout.
        let mut account = encode_account(&Account {
            id: 1,
            email: "a@b".into(),
            password_hash: String::new(),
            quota: None,
            used: 0,
            disabled: false,
            admin: true,
            totp: None,
        });
        assert!(decode_account(1, &account).unwrap().admin);
        account[0] = RECORD_VERSION + 1;
        assert!(decode_account(1, &account).is_err());
        // Layout 2 ended with the admin flag; layout 1 (before it) is no administrator's.
        account.truncate(account.len() - 8);
        account[0] = 2;
        assert!(decode_account(1, &account).unwrap().admin);
        account[0] = 1;
        account.pop();
        assert!(!decode_account(1, &account).unwrap().admin);

        assert!(
            decode_account(
                1,
                &[
                    RECORD_VERSION,
                    0xff,
                    0xff,
                    0xff,
                    0xff,
                    0xff,
                    0xff,
                    0xff,
                    0xff
                ]
            )
            .is_err()
        );
        assert!(decode_mailbox(1, &[]).is_err());
    }

    #[test]
    fn domain_of_addresses_and_catch_alls() {
        assert_eq!(domain_of("ann@example.org"), "example.org");
        assert_eq!(domain_of("@example.org"), "example.org");
        assert_eq!(domain_of("\"a@b\"@example.org"), "example.org");
        assert_eq!(domain_of("postmaster"), "");
    }
}
