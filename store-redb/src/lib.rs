//! The engine's [`Store`] on [redb]: everything in one data directory, every write fsync'd,
//! concurrent writes sharing commits.
//!
//! ```text
//! data_dir/
//!   postern.redb   directory, mailboxes, message metadata, small bodies (see `tables`)
//!   blobs/ab/cd…   bodies larger than SMALL_BLOB_MAX, named by their SHA-256
//!   spool/         bodies being received, before delivery
//! ```
//!
//! Reads run in redb read transactions and never wait for writers. Writes go through a group
//! committer: writers arriving while a commit is in progress are batched into the next write
//! transaction, so many deliveries share one fsync. Message bodies are stored once however many
//! mailboxes receive them, and removed when the last message using them goes.
//!
//! redb lets a single process open the database; [`RedbStore::open`] says so clearly when
//! another process (normally `postern serve`) has it open.
//!
//! Only the owner may read the data directory (`files`). A storage failure such as a full disk
//! fails the writes it hits, and the database is reopened once it can be written again
//! (`database`), with no restart.

mod audit;
mod backup;
mod bans;
mod blobs;
mod convert;
mod correspondents;
mod database;
mod dav;
mod delivery;
mod directory;
mod disposable;
mod dkim;
mod error;
mod file_changes;
mod files;
mod flags;
mod greylist;
mod group_commit;
mod held;
mod messages;
mod queue;
mod recent;
mod retention;
mod screener;
mod search_index;
mod sieve;
mod spool;
mod tables;
mod tokens;
mod typed;
mod vip;
mod webhooks;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::typed::ReadableTable;
use engine::dkim::DkimKey;
use engine::queue::{HeldMessage, QueueId, QueuedMessage};
use engine::store::dav::{
    Access, Collection, CollectionId, CollectionKind, Expect, Item, ItemWrite, NewCollection,
    PutItem,
};
use engine::store::{
    Account, AccountChange, AccountId, Alias, ApiToken, AuditEntry, BackupReport, Ban, BlobFact,
    BlobId, Copied, Delivered, Delivery, DiskSpace, DisposableAlias, FlagChange, FlagsOutcome,
    GreylistPass, Mailbox, MailboxChanges, MailboxId, Message, NewAccount, NewMessage, Onward,
    SieveScript, Store, StoreError, StoreResult, Stored, Verdict, Webhook, WebhookAttempt,
    WebhookCall, WebhookScope,
};
use redb::{Database, ReadTransaction, ReadableDatabase};

pub use blobs::BlobReader;
pub use spool::RedbSpool;

use crate::blobs::BlobFiles;
use crate::database::{Db, OpenFile};
use crate::delivery::{AppendAll, Appended, Deliver, Recipient};
use crate::error::{DbResultExt, file_error};
use crate::group_commit::{GroupCommit, WriteOp};
use crate::messages::{Transfer, TransferKind};
use crate::spool::SpoolDir;
use crate::tables::{SCHEMA_VERSION, SCHEMA_VERSION_KEY, Tables};

/// Bodies of at most this many bytes are kept in memory while spooling and stored inside the
/// database; larger ones are written to a file as they arrive and stored as files.
pub const SMALL_BLOB_MAX: usize = 64 * 1024;

/// The page cache of the database unless told otherwise: enough for the directory, the
/// message lists of the mailboxes in use and the small bodies being read; a server with many
/// busy accounts or large mailboxes reads faster with more (`[storage] cache_size`). redb's
/// own default, 1 GiB, would let the cache alone outgrow a small machine.
pub const DEFAULT_CACHE_SIZE: usize = 16 << 20;

/// The database file inside the data directory.
const DATABASE_FILE: &str = "postern.redb";
/// The directory of large bodies inside the data directory.
const BLOBS_DIR: &str = "blobs";
/// The directory of bodies being received inside the data directory.
const SPOOL_DIR: &str = "spool";
/// After a storage failure, how long to wait between attempts to reopen the database: long
/// enough that a disk that is still full does not make every call pay for an open.
const REOPEN_INTERVAL: Duration = Duration::from_secs(5);

/// The [`Store`] on redb.
pub struct RedbStore {
    data_dir: PathBuf,
    db: Db,
    writer: GroupCommit,
    blob_files: BlobFiles,
    spool_dir: Arc<SpoolDir>,
}

impl RedbStore {
    /// Opens the store in `data_dir`, creating the directory and an empty database if needed.
    ///
    /// Fails with a message saying so if another process has the database open.
    pub fn open(data_dir: &Path) -> Result<RedbStore, StoreError> {
        RedbStore::open_with_cache(data_dir, DEFAULT_CACHE_SIZE)
    }

    /// Puts the backup in `src` (made by [`Store::backup`]) into `data_dir`, which must not
    /// hold a store, and checks every body in it.
    pub fn restore(src: &Path, data_dir: &Path) -> StoreResult<BackupReport> {
        if !RedbStore::holds_data(src) {
            return Err(StoreError::Io(format!(
                "{} holds no Postern backup (no {DATABASE_FILE})",
                src.display()
            )));
        }
        if RedbStore::holds_data(data_dir) {
            return Err(StoreError::Io(format!(
                "{} holds a store already: restore into a new or empty data directory",
                data_dir.display()
            )));
        }
        backup::restore(src, data_dir).map_err(|e| file_error("restoring into", data_dir, e))?;
        check_copy(data_dir)
    }

    /// Whether `data_dir` holds a store (its database file), so that a caller can refuse to
    /// make a new, empty one where it expected the one in use.
    pub fn holds_data(data_dir: &Path) -> bool {
        data_dir.join(DATABASE_FILE).is_file()
    }

    /// Closes the database, once the calls in progress are done, so that the next open finds
    /// it shut down cleanly and needs no repair. Every later call fails: this is for a
    /// process that is stopping, whose sessions have ended.
    pub fn close(&self) -> StoreResult<()> {
        self.db.close()
    }

    /// [`open`](Self::open), with a page cache of at most `cache_size` bytes.
    pub fn open_with_cache(data_dir: &Path, cache_size: usize) -> Result<RedbStore, StoreError> {
        let open_file = move |file| database::file_backend(file, cache_size);
        RedbStore::open_with(data_dir, Box::new(open_file), REOPEN_INTERVAL)
    }

    /// [`open`](Self::open), with the database made of its file by `open_file` and, after a
    /// storage failure, reopened at most every `reopen_interval`: tests inject faults here.
    fn open_with(
        data_dir: &Path,
        open_file: Box<OpenFile>,
        reopen_interval: Duration,
    ) -> Result<RedbStore, StoreError> {
        let blobs_dir = data_dir.join(BLOBS_DIR);
        let spool_dir = data_dir.join(SPOOL_DIR);
        for dir in [data_dir, &blobs_dir, &spool_dir] {
            files::private_dir()
                .recursive(true)
                .create(dir)
                .map_err(|err| file_error("creating directory", dir, err))?;
        }

        let db_path = data_dir.join(DATABASE_FILE);
        let blob_files = BlobFiles::new(&blobs_dir);
        let on_open = {
            let (db_path, blob_files) = (db_path.clone(), blob_files.clone());
            move |db: &mut Database| {
                init_schema(db, &db_path)?;
                // No write is in flight: one that never committed left its body unreferenced.
                blob_files.sweep_orphans(db)
            }
        };
        let db = Db::open(&db_path, open_file, Box::new(on_open), reopen_interval)?;
        // The database lock is ours now, so nobody else is using the directory, and whatever
        // is in the spool is left over.
        files::tighten(data_dir);
        spool::clear_stale(&spool_dir)?;
        file_changes::sync_dir(data_dir)?;

        Ok(RedbStore {
            data_dir: data_dir.to_path_buf(),
            db,
            writer: GroupCommit::default(),
            blob_files,
            spool_dir: SpoolDir::new(spool_dir)?,
        })
    }

    /// Whether the database works: false from the moment writing it fails (a full disk, say)
    /// until, reopened, it commits a write again. Cheap enough for every health check.
    pub fn healthy(&self) -> bool {
        self.db.healthy()
    }

    /// How many write transactions this store has committed (for tests of group commit).
    #[doc(hidden)]
    pub fn commit_count(&self) -> u64 {
        self.writer.commits()
    }

    /// Runs `read` in a read transaction (possibly twice: see [`Db::read`]).
    fn read<T>(&self, read: impl Fn(&ReadTransaction) -> StoreResult<T>) -> StoreResult<T> {
        self.db.read(read)
    }

    fn write<O: WriteOp>(&self, op: O) -> StoreResult<O::Output> {
        self.writer.submit(&self.db, op)
    }

    /// Stores a spooled body as a message for each recipient, with what `onward` adds.
    fn store_body(
        &self,
        spool: RedbSpool,
        recipients: Vec<Recipient>,
        onward: Onward,
    ) -> StoreResult<Stored> {
        // The expensive fsync of a large body happens here, in parallel with other writers,
        // not in the batch.
        let body = spool.finish()?;
        self.write(Deliver {
            body,
            recipients,
            onward,
            blob_files: self.blob_files.clone(),
        })
    }

    /// Copies or moves messages between two mailboxes of one account.
    fn transfer(
        &self,
        kind: TransferKind,
        source: MailboxId,
        uids: &[u32],
        target: MailboxId,
    ) -> StoreResult<Vec<Copied>> {
        self.write(Transfer {
            kind,
            source,
            uids: uids.to_vec(),
            target,
        })
    }
}

/// Creates the tables of a new database, upgrades one of an older layout, and refuses one
/// written by a newer layout.
fn init_schema(db: &mut Database, path: &Path) -> StoreResult<()> {
    let txn = db.begin_write().db()?;
    let rewritten = if convert::is_old(&txn)? {
        Some(convert::to_encoded(&txn)?)
    } else {
        None
    };
    let upgraded_from = {
        let mut tables = Tables::open(&txn)?;
        let version = tables.meta.get(SCHEMA_VERSION_KEY).db()?.map(|v| v.value());
        match version {
            Some(version) if version > SCHEMA_VERSION => {
                return Err(StoreError::Io(format!(
                    "database {} was written by a newer version of Postern (layout {version}, \
                     this version reads up to {SCHEMA_VERSION})",
                    path.display()
                )));
            }
            Some(SCHEMA_VERSION) => None,
            // A new database, or an older layout to upgrade.
            older => {
                if older == Some(1) {
                    // Layout 1 kept subscriptions in the mailbox records.
                    tables::move_subscriptions_out(&mut tables)?;
                }
                if older.is_some_and(|older| older < 3) {
                    // Layouts 1 and 2 kept no index of messages by modseq.
                    tables::index_changes(&mut tables)?;
                }
                tables
                    .meta
                    .insert(SCHEMA_VERSION_KEY, SCHEMA_VERSION)
                    .db()?;
                older
            }
        }
    };
    txn.commit().db()?;
    if let Some(from) = upgraded_from {
        tracing::info!(
            database = %path.display(),
            from,
            to = SCHEMA_VERSION,
            rows_rewritten = rewritten.unwrap_or(0),
            "upgraded the database layout"
        );
    }
    if rewritten.is_some() {
        // The old tables' pages are free now, as many as the new ones use: give them back to
        // the file system rather than keep the file at twice its size.
        let before = file_len(path);
        db.compact().db()?;
        tracing::info!(
            database = %path.display(),
            before = before,
            after = file_len(path),
            "compacted the database after rewriting its tables"
        );
    }
    Ok(())
}

/// The size of the file at `path`, 0 if it cannot be read (for the log alone).
fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |meta| meta.len())
}

impl fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbStore")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Store for RedbStore {
    type Spool = RedbSpool;
    type BlobReader = BlobReader;

    fn add_domain(&self, name: &str) -> StoreResult<()> {
        self.write(directory::AddDomain { name: name.into() })
    }

    fn remove_domain(&self, name: &str) -> StoreResult<()> {
        self.write(directory::RemoveDomain { name: name.into() })
    }

    fn domains(&self) -> StoreResult<Vec<String>> {
        self.read(directory::domains)
    }

    fn domain_exists(&self, name: &str) -> StoreResult<bool> {
        self.read(|txn| directory::domain_exists(txn, name))
    }

    fn create_account(&self, new: NewAccount) -> StoreResult<Account> {
        self.write(directory::CreateAccount { new })
    }

    fn account(&self, email: &str) -> StoreResult<Option<Account>> {
        self.read(|txn| directory::account(txn, email))
    }

    fn account_by_id(&self, id: AccountId) -> StoreResult<Option<Account>> {
        self.read(|txn| directory::account_by_id(txn, id))
    }

    fn accounts(&self, domain: Option<&str>) -> StoreResult<Vec<Account>> {
        self.read(|txn| directory::accounts(txn, domain))
    }

    fn update_account(&self, email: &str, change: AccountChange) -> StoreResult<()> {
        self.write(directory::UpdateAccount {
            email: email.into(),
            change,
        })
    }

    fn remove_account(&self, email: &str) -> StoreResult<()> {
        self.write(directory::RemoveAccount {
            email: email.into(),
            blob_files: self.blob_files.clone(),
        })
    }

    fn add_alias(&self, alias: &Alias) -> StoreResult<()> {
        self.write(directory::AddAlias {
            alias: alias.clone(),
        })
    }

    fn remove_alias(&self, alias: &Alias) -> StoreResult<()> {
        self.write(directory::RemoveAlias {
            alias: alias.clone(),
        })
    }

    fn aliases(&self, domain: Option<&str>) -> StoreResult<Vec<Alias>> {
        self.read(|txn| directory::aliases(txn, domain))
    }

    fn alias_targets(&self, source: &str) -> StoreResult<Vec<String>> {
        self.read(|txn| directory::alias_targets(txn, source))
    }

    fn mailboxes(&self, account: AccountId) -> StoreResult<Vec<Mailbox>> {
        self.read(|txn| directory::mailboxes(txn, account))
    }

    fn create_mailbox(&self, account: AccountId, name: &str) -> StoreResult<Mailbox> {
        self.write(directory::CreateMailbox {
            account,
            name: name.into(),
        })
    }

    fn messages(&self, mailbox: MailboxId) -> StoreResult<Vec<Message>> {
        self.read(|txn| directory::messages(txn, mailbox))
    }

    fn mailbox_since(
        &self,
        mailbox: MailboxId,
        first_uid: u32,
    ) -> StoreResult<Option<(Mailbox, Vec<Message>)>> {
        self.read(|txn| {
            let Some(record) = directory::mailbox(txn, mailbox)? else {
                return Ok(None);
            };
            let arrived = directory::messages_from(txn, mailbox, first_uid)?;
            Ok(Some((record, arrived)))
        })
    }

    fn create_spool(&self) -> StoreResult<RedbSpool> {
        Ok(RedbSpool::new(Arc::clone(&self.spool_dir)))
    }

    fn deliver(&self, spool: RedbSpool, deliveries: &[Delivery]) -> StoreResult<Stored> {
        self.submit(spool, deliveries, Onward::default())
    }

    fn submit(
        &self,
        spool: RedbSpool,
        deliveries: &[Delivery],
        onward: Onward,
    ) -> StoreResult<Stored> {
        let recipients = deliveries.iter().map(Recipient::from).collect();
        self.store_body(spool, recipients, onward)
    }

    fn held_messages(&self, account: Option<AccountId>) -> StoreResult<Vec<HeldMessage>> {
        self.read(|txn| held::of(txn, account))
    }

    fn held_due(&self, now: i64, limit: usize) -> StoreResult<Vec<HeldMessage>> {
        self.read(|txn| held::due(txn, now, limit))
    }

    fn next_held(&self) -> StoreResult<Option<i64>> {
        self.read(held::next_due)
    }

    fn cancel_held(&self, id: u64) -> StoreResult<bool> {
        self.write(held::Cancel {
            id,
            blob_files: self.blob_files.clone(),
        })
    }

    fn undo_seconds(&self, account: AccountId) -> StoreResult<u32> {
        self.read(|txn| held::undo_seconds(txn, account))
    }

    fn set_undo_seconds(&self, account: AccountId, seconds: u32) -> StoreResult<()> {
        self.write(held::SetUndo { account, seconds })
    }

    fn read_blob(&self, blob: &BlobId) -> StoreResult<BlobReader> {
        self.read(|txn| blobs::read(txn, &self.blob_files, blob))
    }

    fn subscribe(&self, account: AccountId, name: &str, subscribed: bool) -> StoreResult<()> {
        self.write(directory::Subscribe {
            account,
            name: name.into(),
            subscribed,
        })
    }

    fn subscriptions(&self, account: AccountId) -> StoreResult<Vec<String>> {
        self.read(|txn| directory::subscriptions(txn, account))
    }

    fn mailbox(&self, id: MailboxId) -> StoreResult<Option<Mailbox>> {
        self.read(|txn| directory::mailbox(txn, id))
    }

    fn rename_mailbox(&self, id: MailboxId, new_name: &str) -> StoreResult<()> {
        self.write(directory::RenameMailbox {
            id,
            new_name: new_name.into(),
        })
    }

    fn delete_mailbox(&self, id: MailboxId) -> StoreResult<()> {
        self.write(directory::DeleteMailbox {
            id,
            blob_files: self.blob_files.clone(),
        })
    }

    fn set_flags(
        &self,
        mailbox: MailboxId,
        uids: &[u32],
        change: &FlagChange,
        unchanged_since: Option<u64>,
    ) -> StoreResult<FlagsOutcome> {
        self.write(messages::SetFlags {
            mailbox,
            uids: uids.to_vec(),
            change: change.clone(),
            unchanged_since,
        })
    }

    fn expunge(&self, mailbox: MailboxId, uids: &[u32]) -> StoreResult<Vec<u32>> {
        self.write(messages::Expunge {
            mailbox,
            uids: uids.to_vec(),
            blob_files: self.blob_files.clone(),
        })
    }

    fn expunged_since(&self, mailbox: MailboxId, modseq: u64) -> StoreResult<Vec<u32>> {
        self.read(|txn| messages::expunged_since(txn, mailbox, modseq))
    }

    fn copy_messages(
        &self,
        source: MailboxId,
        uids: &[u32],
        target: MailboxId,
    ) -> StoreResult<Vec<Copied>> {
        self.transfer(TransferKind::Copy, source, uids, target)
    }

    fn move_messages(
        &self,
        source: MailboxId,
        uids: &[u32],
        target: MailboxId,
    ) -> StoreResult<Vec<Copied>> {
        self.transfer(TransferKind::Move, source, uids, target)
    }

    fn append_all(
        &self,
        mailbox: MailboxId,
        messages: Vec<NewMessage<RedbSpool>>,
    ) -> StoreResult<Vec<Delivered>> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        // The expensive fsync of large bodies happens here, not in the batch.
        let messages = messages
            .into_iter()
            .map(|message| {
                Ok(Appended {
                    body: message.spool.finish()?,
                    flags: message.flags,
                    keywords: message.keywords,
                    internal_date: message.internal_date,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        self.write(AppendAll {
            mailbox,
            messages,
            blob_files: self.blob_files.clone(),
        })
    }

    fn blob_fact(&self, blob: &BlobId, fact: BlobFact) -> StoreResult<Option<Vec<u8>>> {
        self.read(|txn| blobs::fact(txn, blob, fact))
    }

    fn set_blob_fact(&self, blob: &BlobId, fact: BlobFact, bytes: &[u8]) -> StoreResult<()> {
        self.write(blobs::SetFact {
            blob: *blob,
            fact,
            bytes: bytes.to_vec(),
        })
    }

    fn mailbox_changes(
        &self,
        mailbox: MailboxId,
        modseq: u64,
    ) -> StoreResult<Option<MailboxChanges>> {
        self.read(|txn| messages::changes_since(txn, mailbox, modseq))
    }

    fn search_index_rows(
        &self,
        mailbox: MailboxId,
        blocks: std::ops::Range<u32>,
        rows: &[u16],
    ) -> StoreResult<Vec<Option<Vec<u8>>>> {
        self.read(|txn| search_index::rows(txn, mailbox, blocks.clone(), rows))
    }

    fn set_search_index(
        &self,
        mailbox: MailboxId,
        block: u32,
        rows: Option<Vec<u8>>,
    ) -> StoreResult<()> {
        self.write(search_index::SetSearchIndex {
            mailbox,
            block,
            rows,
        })
    }

    fn queue(&self) -> StoreResult<Vec<QueuedMessage>> {
        self.read(queue::all)
    }

    fn queue_len(&self) -> StoreResult<u64> {
        self.read(queue::len)
    }

    fn backup(&self, dest: &Path) -> StoreResult<BackupReport> {
        let empty = fs_empty(dest).map_err(|e| file_error("reading", dest, e))?;
        if !empty {
            return Err(StoreError::Io(format!(
                "{} is not empty: a backup goes into a new or empty directory",
                dest.display()
            )));
        }
        files::private_dir()
            .recursive(true)
            .create(dest)
            .map_err(|e| file_error("creating", dest, e))?;
        let copied = self.write(backup::Snapshot {
            dest: dest.to_path_buf(),
            blobs: BlobFiles::new(&self.data_dir.join(BLOBS_DIR)),
        })?;
        let checked = check_copy(dest)?;
        Ok(BackupReport {
            rows: copied.rows,
            ..checked
        })
    }

    fn disk_space(&self) -> StoreResult<DiskSpace> {
        let stat = rustix::fs::statvfs(&self.data_dir)
            .map_err(|e| file_error("reading the free space of", &self.data_dir, e.into()))?;
        Ok(DiskSpace {
            total: stat.f_blocks.saturating_mul(stat.f_frsize),
            available: stat.f_bavail.saturating_mul(stat.f_frsize),
        })
    }

    fn queued(&self, id: QueueId) -> StoreResult<Option<QueuedMessage>> {
        self.read(|txn| queue::get(txn, id))
    }

    fn queue_due(&self, now: i64, limit: usize) -> StoreResult<Vec<QueuedMessage>> {
        self.read(|txn| queue::due(txn, now, limit))
    }

    fn queue_next_due(&self) -> StoreResult<Option<i64>> {
        self.read(queue::next_due)
    }

    fn update_queued(&self, message: &QueuedMessage) -> StoreResult<()> {
        self.write(queue::Update {
            message: message.clone(),
            blob_files: self.blob_files.clone(),
        })
    }

    fn remove_queued(&self, id: QueueId) -> StoreResult<bool> {
        self.write(queue::Remove {
            id,
            blob_files: self.blob_files.clone(),
        })
    }

    fn add_dkim_key(&self, key: &DkimKey) -> StoreResult<()> {
        self.write(dkim::AddKey { key: key.clone() })
    }

    fn dkim_keys(&self, domain: Option<&str>) -> StoreResult<Vec<DkimKey>> {
        self.read(|txn| dkim::keys(txn, domain))
    }

    fn remove_dkim_key(&self, domain: &str, selector: &str) -> StoreResult<()> {
        self.write(dkim::RemoveKey {
            domain: domain.into(),
            selector: selector.into(),
        })
    }

    fn bans(&self) -> StoreResult<Vec<Ban>> {
        self.read(bans::bans)
    }

    fn put_ban(&self, ban: &Ban) -> StoreResult<()> {
        self.write(bans::PutBan(ban.clone()))
    }

    fn remove_ban(&self, network: &str) -> StoreResult<bool> {
        self.write(bans::RemoveBan(network.to_string()))
    }

    fn sieve_scripts(&self, account: AccountId) -> StoreResult<Vec<SieveScript>> {
        self.read(|txn| sieve::scripts(txn, account))
    }

    fn put_sieve_script(&self, account: AccountId, name: &str, source: &str) -> StoreResult<()> {
        self.write(sieve::Put {
            account,
            name: name.to_string(),
            source: source.to_string(),
        })
    }

    fn activate_sieve_script(&self, account: AccountId, name: Option<&str>) -> StoreResult<()> {
        self.write(sieve::Activate {
            account,
            name: name.map(str::to_string),
        })
    }

    fn remove_sieve_script(&self, account: AccountId, name: &str) -> StoreResult<bool> {
        self.write(sieve::Remove {
            account,
            name: name.to_string(),
        })
    }

    fn add_disposable_alias(&self, alias: &DisposableAlias) -> StoreResult<()> {
        self.write(disposable::Add(alias.clone()))
    }

    fn disposable_alias(&self, address: &str) -> StoreResult<Option<DisposableAlias>> {
        self.read(|txn| disposable::find(txn, address))
    }

    fn disposable_aliases(&self, account: AccountId) -> StoreResult<Vec<DisposableAlias>> {
        self.read(|txn| disposable::of_account(txn, account))
    }

    fn set_disposable_alias_enabled(&self, address: &str, enabled: bool) -> StoreResult<()> {
        self.write(disposable::SetEnabled {
            address: address.to_string(),
            enabled,
        })
    }

    fn note_disposable_use(&self, address: &str, now: i64) -> StoreResult<()> {
        self.write(disposable::NoteUse {
            address: address.to_string(),
            now,
        })
    }

    fn vip_senders(&self, account: AccountId) -> StoreResult<Vec<String>> {
        self.read(|txn| vip::senders(txn, account))
    }

    fn is_vip_sender(&self, account: AccountId, addresses: &[String]) -> StoreResult<bool> {
        self.read(|txn| vip::any(txn, account, addresses))
    }

    fn set_vip_sender(&self, account: AccountId, address: &str, vip: bool) -> StoreResult<bool> {
        self.write(vip::Set {
            account,
            address: address.to_string(),
            add: vip,
        })
    }

    fn add_webhook(
        &self,
        scope: &WebhookScope,
        url: &str,
        secret: &str,
        created: i64,
    ) -> StoreResult<Webhook> {
        self.write(webhooks::Add {
            scope: scope.clone(),
            url: url.to_string(),
            secret: secret.to_string(),
            created,
        })
    }

    fn webhooks(&self) -> StoreResult<Vec<Webhook>> {
        self.read(webhooks::all)
    }

    fn webhook_for(&self, keys: &[String]) -> StoreResult<Option<Webhook>> {
        self.read(|txn| webhooks::find(txn, keys))
    }

    fn remove_webhook(&self, id: u64) -> StoreResult<bool> {
        self.write(webhooks::Remove(id))
    }

    fn is_webhook_only(&self, domain: &str) -> StoreResult<bool> {
        self.read(|txn| webhooks::is_only(txn, domain))
    }

    fn set_webhook_only(&self, domain: &str, on: bool) -> StoreResult<()> {
        self.write(webhooks::SetOnly {
            domain: domain.to_string(),
            on,
        })
    }

    fn webhook_only_domains(&self) -> StoreResult<Vec<String>> {
        self.read(webhooks::only_domains)
    }

    fn webhook_calls_due(&self, now: i64, limit: usize) -> StoreResult<Vec<WebhookCall>> {
        self.read(|txn| webhooks::due(txn, now, limit))
    }

    fn next_webhook_call(&self) -> StoreResult<Option<i64>> {
        self.read(webhooks::next_due)
    }

    fn record_webhook_attempt(&self, attempt: &WebhookAttempt) -> StoreResult<()> {
        self.write(webhooks::Record(attempt.clone()))
    }

    fn webhook_log(&self, webhook: u64, limit: usize) -> StoreResult<Vec<WebhookAttempt>> {
        self.read(|txn| webhooks::log(txn, webhook, limit))
    }

    fn webhook_calls_waiting(&self) -> StoreResult<BTreeMap<u64, u64>> {
        self.read(webhooks::waiting)
    }

    fn retry_webhook_calls(&self, webhook: u64, now: i64) -> StoreResult<u64> {
        self.write(webhooks::RetryNow { webhook, now })
    }

    fn retentions(&self) -> StoreResult<Vec<(String, i64)>> {
        self.read(retention::all)
    }

    fn set_retention(&self, domain: &str, seconds: Option<i64>) -> StoreResult<()> {
        self.write(retention::Set {
            domain: domain.to_string(),
            seconds,
        })
    }

    fn screener_on(&self, account: AccountId) -> StoreResult<bool> {
        self.read(|txn| screener::is_on(txn, account))
    }

    fn set_screener(&self, account: AccountId, on: bool) -> StoreResult<()> {
        self.write(screener::SetOn { account, on })
    }

    fn sender_verdict(
        &self,
        account: AccountId,
        addresses: &[String],
    ) -> StoreResult<Option<Verdict>> {
        self.read(|txn| screener::verdict(txn, account, addresses))
    }

    fn sender_verdicts(&self, account: AccountId) -> StoreResult<Vec<(String, Verdict)>> {
        self.read(|txn| screener::verdicts(txn, account))
    }

    fn judge_senders(
        &self,
        account: AccountId,
        addresses: &[String],
        verdict: Option<Verdict>,
        keep: bool,
    ) -> StoreResult<()> {
        self.write(screener::Judge {
            account,
            addresses: addresses.to_vec(),
            verdict,
            keep,
        })
    }

    fn rename_sieve_script(&self, account: AccountId, from: &str, to: &str) -> StoreResult<()> {
        self.write(sieve::Rename {
            account,
            from: from.to_string(),
            to: to.to_string(),
        })
    }

    fn note_vacation(
        &self,
        account: AccountId,
        handle: &str,
        sender: &str,
        now: i64,
        interval: i64,
    ) -> StoreResult<bool> {
        self.write(sieve::NoteVacation {
            account,
            key: format!("{handle}\0{}", sender.to_lowercase()),
            now,
            interval,
        })
    }

    fn put_token(&self, token: &ApiToken) -> StoreResult<()> {
        self.write(tokens::PutToken(token.clone()))
    }

    fn token(&self, digest: &[u8; 32]) -> StoreResult<Option<ApiToken>> {
        self.read(|txn| tokens::token(txn, digest))
    }

    fn tokens(&self) -> StoreResult<Vec<ApiToken>> {
        self.read(tokens::tokens)
    }

    fn remove_token(&self, digest: &[u8; 32]) -> StoreResult<bool> {
        self.write(tokens::RemoveToken(*digest))
    }

    fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        self.write(audit::Append(entry.clone()))
    }

    fn audit_entries(&self, since: i64, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        self.read(|txn| audit::entries(txn, since, limit))
    }

    fn prune_audit(&self, before: i64, keep: u64) -> StoreResult<u64> {
        self.write(audit::Prune { before, keep })
    }

    fn greylist_passes(&self) -> StoreResult<Vec<GreylistPass>> {
        self.read(greylist::passes)
    }

    fn put_greylist_pass(&self, pass: &GreylistPass) -> StoreResult<()> {
        self.write(greylist::Put(pass.clone()))
    }

    fn prune_greylist(&self, before: i64, keep: u64) -> StoreResult<u64> {
        self.write(greylist::Prune { before, keep })
    }

    fn correspondent(&self, account: AccountId, domain: &str) -> StoreResult<Option<i64>> {
        self.read(|txn| correspondents::last(txn, account, domain))
    }

    fn note_correspondents(
        &self,
        account: AccountId,
        domains: &[String],
        now: i64,
        keep: usize,
    ) -> StoreResult<()> {
        self.write(correspondents::Note {
            account,
            domains: domains.to_vec(),
            now,
            keep,
        })
    }

    fn first_recent_uid(&self, mailbox: MailboxId) -> StoreResult<u32> {
        self.read(|txn| recent::first_unclaimed(txn, mailbox))
    }

    fn claim_recent(&self, mailbox: MailboxId, uid_next: u32) -> StoreResult<u32> {
        // Every session on a mailbox asks when a message arrives, and only the first has
        // something to claim: the others are answered by a read, not a write.
        let first = self.first_recent_uid(mailbox)?;
        if first >= uid_next {
            return Ok(first);
        }
        self.write(recent::Claim { mailbox, uid_next })
    }

    fn collections(
        &self,
        account: AccountId,
        kind: CollectionKind,
    ) -> StoreResult<Vec<Collection>> {
        self.read(|txn| dav::collections(txn, account, kind))
    }

    fn collection(
        &self,
        account: AccountId,
        kind: CollectionKind,
        name: &str,
    ) -> StoreResult<Option<Collection>> {
        self.read(|txn| dav::collection(txn, account, kind, name))
    }

    fn create_collection(&self, new: NewCollection) -> StoreResult<Collection> {
        self.write(dav::Create(new))
    }

    fn set_collection_properties(
        &self,
        id: CollectionId,
        changes: Vec<(String, Option<String>)>,
    ) -> StoreResult<()> {
        self.write(dav::SetProperties { id, changes })
    }

    fn delete_collection(&self, id: CollectionId) -> StoreResult<()> {
        self.write(dav::Delete(id))
    }

    fn items(&self, collection: CollectionId) -> StoreResult<Vec<Item>> {
        self.read(|txn| dav::items(txn, collection))
    }

    fn item(&self, collection: CollectionId, name: &str) -> StoreResult<Option<Item>> {
        self.read(|txn| dav::item(txn, collection, name))
    }

    fn item_data(&self, collection: CollectionId, name: &str) -> StoreResult<Option<Vec<u8>>> {
        self.read(|txn| dav::item_data(txn, collection, name))
    }

    fn put_item(&self, item: PutItem) -> StoreResult<ItemWrite> {
        self.write(dav::Put(item))
    }

    fn delete_item(
        &self,
        collection: CollectionId,
        name: &str,
        expect: Expect,
    ) -> StoreResult<ItemWrite> {
        self.write(dav::Remove {
            collection,
            name: name.to_owned(),
            expect,
        })
    }

    fn set_share(
        &self,
        collection: CollectionId,
        sharee: AccountId,
        access: Option<Access>,
    ) -> StoreResult<()> {
        self.write(dav::Share {
            collection,
            sharee,
            access,
        })
    }

    fn shares_of(&self, collection: CollectionId) -> StoreResult<Vec<(AccountId, Access)>> {
        self.read(|txn| dav::shares_of(txn, collection))
    }

    fn shared_with(
        &self,
        account: AccountId,
        kind: CollectionKind,
    ) -> StoreResult<Vec<(Collection, Access)>> {
        self.read(|txn| dav::shared_with(txn, account, kind))
    }

    fn item_changes(
        &self,
        collection: CollectionId,
        since: u64,
        limit: usize,
    ) -> StoreResult<Vec<Item>> {
        self.read(|txn| dav::changes(txn, collection, since, limit))
    }
}

/// Whether `dir` is missing or empty.
fn fs_empty(dir: &Path) -> std::io::Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}

/// Opens the copy in `dir` on its own and reads back every body in it.
fn check_copy(dir: &Path) -> StoreResult<BackupReport> {
    let database = backup::copy_database().open(dir.join(DATABASE_FILE)).db()?;
    let txn = database.begin_read().db()?;
    backup::verify(&txn, &BlobFiles::new(&dir.join(BLOBS_DIR)))
}

#[cfg(test)]
mod tests;
