//! The storage interface the engine is written against.
//!
//! Everything durable goes through [`Store`]: the directory (domains, accounts, aliases),
//! mailboxes, message metadata and message bodies. Calls are blocking; runtimes call them
//! from their blocking pools. A method that returns `Ok` after a write has made that write
//! durable (fsync'd), so a caller may acknowledge it to a client.

use std::fmt;
use std::io::{Read, Write};

use outbound::{HeldMessage, NewHeld, NewQueued, QueueId, QueuedMessage};
pub use webhooks::{
    AttemptOutcome, NewWebhookCall, WEBHOOK_LOG_KEPT, Webhook, WebhookAttempt, WebhookCall,
    WebhookScope,
};

use crate::dkim::DkimKey;

pub mod dav;
pub mod outbound;
pub mod webhooks;

/// Identifies an account; assigned by the store, never reused.
pub type AccountId = u64;
/// Identifies a mailbox; assigned by the store, never reused.
pub type MailboxId = u64;

/// What a backup copied, or a check of one found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackupReport {
    /// Rows of every table.
    pub rows: u64,
    /// Message bodies, kept in the database or as files, each read and checked.
    pub bodies: u64,
    /// Bytes of the bodies.
    pub bytes: u64,
}

/// A message body's identity: the SHA-256 of its bytes (content addressing).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId(pub [u8; 32]);

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// A user account. Addresses are stored lower-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub email: String,
    /// PHC string (argon2id).
    pub password_hash: String,
    /// Storage quota in bytes; `None` is unlimited.
    pub quota: Option<u64>,
    /// Bytes used by this account's messages (each message counted in full per account).
    pub used: u64,
    pub disabled: bool,
    /// May manage the server from the admin panel.
    pub admin: bool,
    /// The secret of the one-time codes the web pages ask for besides the password
    /// (RFC 6238), once the user set them up.
    pub totp: Option<Vec<u8>>,
}

/// What [`Store::create_account`] needs.
#[derive(Clone, Debug)]
pub struct NewAccount {
    pub email: String,
    pub password_hash: String,
    pub quota: Option<u64>,
    pub admin: bool,
}

/// One change to an existing account.
#[derive(Clone, Debug)]
pub enum AccountChange {
    PasswordHash(String),
    Quota(Option<u64>),
    Disabled(bool),
    Admin(bool),
    Totp(Option<Vec<u8>>),
}

/// An alias: mail for `source` goes to `target`. A `source` of the form `@domain` is a
/// catch-all for that domain.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Alias {
    pub source: String,
    pub target: String,
}

/// A disposable alias: a made-up address that delivers to one account, counted as it is
/// used, and turned off when it draws spam (mail to it is then refused for good).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisposableAlias {
    /// The address, lowercased.
    pub address: String,
    pub account: AccountId,
    /// When it was made, Unix seconds.
    pub created: i64,
    /// Messages accepted for it.
    pub uses: u64,
    /// When the last of them was, Unix seconds.
    pub last_used: Option<i64>,
    pub enabled: bool,
    /// What the user made it for ("the shoe shop").
    pub note: String,
}

/// What a user decided about a sender the Screener held back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Their mail goes where the user's filters put it.
    Approved,
    /// Their mail goes to Junk.
    Rejected,
}

/// RFC 6154 special-use attribute of a mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecialUse {
    Drafts,
    Sent,
    Junk,
    Trash,
    Archive,
}

/// The mailboxes every new account gets, with their special use.
pub const DEFAULT_MAILBOXES: [(&str, Option<SpecialUse>); 6] = [
    ("INBOX", None),
    ("Drafts", Some(SpecialUse::Drafts)),
    ("Sent", Some(SpecialUse::Sent)),
    ("Junk", Some(SpecialUse::Junk)),
    ("Trash", Some(SpecialUse::Trash)),
    ("Archive", Some(SpecialUse::Archive)),
];

/// A mailbox and its IMAP counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    pub id: MailboxId,
    pub account: AccountId,
    /// Hierarchy separator is `/`; `INBOX` is always spelled in upper case.
    pub name: String,
    pub uid_validity: u32,
    /// The UID the next message will get; UIDs are never reused.
    pub uid_next: u32,
    pub highest_modseq: u64,
    pub special_use: Option<SpecialUse>,
}

/// System flags as bits; see the `FLAG_*` constants.
pub type Flags = u8;
pub const FLAG_SEEN: Flags = 1 << 0;
pub const FLAG_ANSWERED: Flags = 1 << 1;
pub const FLAG_FLAGGED: Flags = 1 << 2;
pub const FLAG_DELETED: Flags = 1 << 3;
pub const FLAG_DRAFT: Flags = 1 << 4;

/// A message in a mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub uid: u32,
    pub blob: BlobId,
    pub size: u64,
    /// Seconds since the Unix epoch (IMAP INTERNALDATE).
    pub internal_date: i64,
    pub flags: Flags,
    /// IMAP keywords (user-defined flags such as `$Forwarded` or `$Junk`), sorted, unique.
    pub keywords: Vec<String>,
    /// The modification sequence of the last change to this message (CONDSTORE).
    pub modseq: u64,
}

/// How [`Store::set_flags`] changes flags and keywords (IMAP `STORE` with `+`, `-` or neither).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlagChange {
    Add { flags: Flags, keywords: Vec<String> },
    Remove { flags: Flags, keywords: Vec<String> },
    Replace { flags: Flags, keywords: Vec<String> },
}

/// A message whose flags [`Store::set_flags`] changed, as it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagsChanged {
    pub uid: u32,
    pub flags: Flags,
    pub keywords: Vec<String>,
    pub modseq: u64,
}

/// What [`Store::set_flags`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlagsOutcome {
    /// Messages whose flags actually changed (a no-op change gets no new modseq).
    pub changed: Vec<FlagsChanged>,
    /// UIDs skipped because their modseq was above `unchanged_since` (CONDSTORE).
    pub modified: Vec<u32>,
}

/// Where [`Store::copy_messages`] / [`Store::move_messages`] put each message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Copied {
    pub source_uid: u32,
    pub target_uid: u32,
}

/// One copy of a spooled message to store.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub account: AccountId,
    /// Mailbox name, e.g. `INBOX`; it must exist.
    pub mailbox: String,
    pub flags: Flags,
    pub keywords: Vec<String>,
    pub internal_date: i64,
}

/// Where one [`Delivery`] ended up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivered {
    pub mailbox: MailboxId,
    pub uid: u32,
}

/// What changed in a mailbox since a modseq ([`Store::mailbox_changes`]).
#[derive(Clone, Debug)]
pub struct MailboxChanges {
    /// The mailbox as stored now.
    pub mailbox: Mailbox,
    /// Its messages added or changed since, in UID order.
    pub changed: Vec<Message>,
    /// The UIDs expunged since, ascending.
    pub vanished: Vec<u32>,
}

/// A message for [`Store::append_all`]: its body and what it is stored with.
pub struct NewMessage<S> {
    pub spool: S,
    pub flags: Flags,
    pub keywords: Vec<String>,
    /// Seconds since the Unix epoch (IMAP INTERNALDATE).
    pub internal_date: i64,
}

/// What [`Store::deliver`] and [`Store::submit`] did with a message: the copies stored, the
/// accounts that had no room for theirs, and the queue entries added. A full mailbox does
/// not hold back the others' copies (as Dovecot's LMTP answers per recipient), so the
/// caller learns of it here rather than as an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The body, shared by the copies and queue entries.
    pub blob: BlobId,
    /// Where each copy went, for the deliveries whose account had room, in their order.
    pub delivered: Vec<Delivered>,
    /// Accounts whose quota the message would have passed: nothing was stored for them.
    pub over_quota: Vec<AccountId>,
    /// The outbound queue entries added, one per entry given, in order.
    pub queued: Vec<QueueId>,
    /// The held submission added, if one was.
    pub held: Option<u64>,
}

/// What a delivery's commit adds besides the local copies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Onward {
    /// Outbound queue entries, one per envelope sender.
    pub queued: Vec<NewQueued>,
    /// The calls of the webhooks that report the message.
    pub hooks: Vec<NewWebhookCall>,
    /// The message held, instead of delivered now.
    pub hold: Option<NewHeld>,
    /// The held submission this delivery releases: removed in the same commit, which
    /// fails with `NotFound` if it is gone (cancelled) already. When nothing was kept
    /// (every local recipient refused it) it stays, so that its body can be quoted to its
    /// sender; the caller cancels it then.
    pub release: Option<u64>,
}

impl Onward {
    /// Queue entries only.
    pub fn queued(queued: Vec<NewQueued>) -> Self {
        Onward {
            queued,
            ..Onward::default()
        }
    }
}

impl Stored {
    /// Whether nothing was kept: every account was over quota and nothing was queued or
    /// held.
    pub fn is_empty(&self) -> bool {
        self.delivered.is_empty() && self.queued.is_empty() && self.held.is_none()
    }

    /// For a caller that stores one copy, all or nothing (an import, a test): `OverQuota`
    /// when its account had no room.
    pub fn all_or_over_quota(self) -> StoreResult<Self> {
        match self.over_quota.first() {
            Some(&account) => Err(StoreError::OverQuota { account }),
            None => Ok(self),
        }
    }
}

/// What the engine derives from a message body once and the store keeps beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobFact {
    /// The parsed structure FETCH, SEARCH, SORT and THREAD work from
    /// ([`Summary`](crate::mail::Summary)).
    Summary,
    /// The filter that lets SEARCH skip a message its text strings cannot match.
    SearchFilter,
    /// The message's top-level header section: what FETCH of HEADER and HEADER.FIELDS (the
    /// fields clients list a mailbox with) needs, without reading the rest of the body.
    Header,
}

impl BlobFact {
    /// Every fact, for what applies to them all (dropping a body's).
    pub const ALL: [BlobFact; 3] = [BlobFact::Summary, BlobFact::SearchFilter, BlobFact::Header];
}

/// A message body being received. Bytes are written in order; small bodies stay in memory,
/// large ones spill to a file, so no body needs to fit in memory.
pub trait Spool: Write + Send + 'static {
    /// Bytes written so far.
    fn len(&self) -> u64;
    /// Attaches a fact the engine derived from the body (see [`Store::blob_fact`]), to be
    /// stored with it in the same commit.
    fn attach_fact(&mut self, fact: BlobFact, bytes: Vec<u8>);
    /// Puts `header` before everything written so far: the fields known only once the
    /// whole message is in (trace, authentication results). A body that has already moved
    /// to a file is copied once.
    fn prepend(&mut self, header: &[u8]) -> std::io::Result<()>;
    /// Everything written so far, read back whole (for checks that need the message).
    fn read_back(&mut self) -> std::io::Result<Vec<u8>>;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A stored body being read.
pub trait BlobRead: Read + Send + 'static {
    /// Whether the body is already in memory, so reading it needs no I/O and may happen on
    /// an async thread.
    fn is_in_memory(&self) -> bool;
}

/// Errors from the store. Every variant carries enough to tell a person what to do.
#[derive(Debug)]
pub enum StoreError {
    /// The named thing does not exist (domain, account, alias, mailbox, blob).
    NotFound(String),
    /// The named thing exists already.
    AlreadyExists(String),
    /// The domain of an address is not a local domain.
    NoSuchDomain(String),
    /// A domain still has accounts or aliases.
    InUse(String),
    /// Storing the message would take the account past its quota.
    OverQuota { account: AccountId },
    /// I/O or database failure; the text says which.
    Io(String),
    /// The disk, or the file system's quota, is full: nothing more is stored until space is
    /// freed; the text says where.
    Full(String),
}

impl StoreError {
    /// A failed file-system or database operation of `kind`, `text` saying which:
    /// [`StoreError::Full`] when there was no room left, else [`StoreError::Io`].
    pub fn io(kind: std::io::ErrorKind, text: String) -> StoreError {
        if no_room(kind) {
            StoreError::Full(text)
        } else {
            StoreError::Io(text)
        }
    }
}

/// Whether a write failed for want of room: the disk full (`ENOSPC`) or the file system's
/// quota reached (`EDQUOT`). Clients are then told so, with the protocol's own words for
/// it (SMTP `452 4.3.1`, WebDAV `507`), and retry later.
pub fn no_room(kind: std::io::ErrorKind) -> bool {
    matches!(
        kind,
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound(what) => write!(f, "{what} does not exist"),
            StoreError::AlreadyExists(what) => write!(f, "{what} already exists"),
            StoreError::NoSuchDomain(domain) => {
                write!(
                    f,
                    "{domain} is not a local domain (add it with `postern domain add {domain}`)"
                )
            }
            StoreError::InUse(what) => write!(f, "{what} is still in use"),
            StoreError::OverQuota { account } => write!(f, "account {account} is over quota"),
            StoreError::Io(msg) => write!(f, "storage error: {msg}"),
            StoreError::Full(msg) => write!(f, "storage full: {msg}"),
        }
    }
}

impl std::error::Error for StoreError {}

pub type StoreResult<T> = Result<T, StoreError>;

/// Durable storage for everything Postern keeps.
///
/// Implementations must be safe to call from many threads at once; writes from concurrent
/// callers should share commits (group commit) so that durability does not cost throughput.
///
/// Methods block. Callers run writes, scans and file reads on a blocking pool; a point read
/// (one key looked up, e.g. [`Store::read_blob`] or [`Store::mailbox`]) is cheap enough to
/// run inline, because it is served from the database's page cache.
pub trait Store: Send + Sync + 'static {
    type Spool: Spool;
    type BlobReader: BlobRead;

    // Domains. Names are lower-cased by the caller.
    fn add_domain(&self, name: &str) -> StoreResult<()>;
    /// Fails with `InUse` while accounts, aliases or DKIM keys of the domain exist.
    fn remove_domain(&self, name: &str) -> StoreResult<()>;
    fn domains(&self) -> StoreResult<Vec<String>>;
    fn domain_exists(&self, name: &str) -> StoreResult<bool>;

    // Accounts.
    /// Creates the account and its [`DEFAULT_MAILBOXES`], subscribed to, atomically. Fails
    /// with `NoSuchDomain` when the address's domain is not local.
    fn create_account(&self, new: NewAccount) -> StoreResult<Account>;
    fn account(&self, email: &str) -> StoreResult<Option<Account>>;
    fn account_by_id(&self, id: AccountId) -> StoreResult<Option<Account>>;
    /// All accounts, or those of one domain, sorted by address.
    fn accounts(&self, domain: Option<&str>) -> StoreResult<Vec<Account>>;
    fn update_account(&self, email: &str, change: AccountChange) -> StoreResult<()>;
    /// Removes the account, its mailboxes, messages and subscriptions; its aliases' targets
    /// stay as they are (an alias to a removed account simply stops resolving).
    fn remove_account(&self, email: &str) -> StoreResult<()>;

    // Aliases.
    fn add_alias(&self, alias: &Alias) -> StoreResult<()>;
    fn remove_alias(&self, alias: &Alias) -> StoreResult<()>;
    /// All aliases, or those whose source is in one domain, sorted.
    fn aliases(&self, domain: Option<&str>) -> StoreResult<Vec<Alias>>;
    /// Targets of aliases whose source is exactly `source` (an address or `@domain`).
    fn alias_targets(&self, source: &str) -> StoreResult<Vec<String>>;

    // Mailboxes and messages.
    fn mailboxes(&self, account: AccountId) -> StoreResult<Vec<Mailbox>>;
    /// Creates a mailbox (fresh UIDVALIDITY, UIDNEXT 1).
    fn create_mailbox(&self, account: AccountId, name: &str) -> StoreResult<Mailbox>;
    /// Messages of a mailbox in UID order.
    fn messages(&self, mailbox: MailboxId) -> StoreResult<Vec<Message>>;
    /// A mailbox as stored now and its messages from UID `first_uid` on, in UID order (what
    /// arrived since a session last looked), read together; `None` if it no longer exists.
    fn mailbox_since(
        &self,
        mailbox: MailboxId,
        first_uid: u32,
    ) -> StoreResult<Option<(Mailbox, Vec<Message>)>>;

    /// What changed in a mailbox above `modseq`, read together with the mailbox as stored
    /// now: what a session synced to `modseq` has not seen. `None` if the mailbox no longer
    /// exists.
    fn mailbox_changes(
        &self,
        mailbox: MailboxId,
        modseq: u64,
    ) -> StoreResult<Option<MailboxChanges>>;

    /// A new, empty spool for a message body. Called on the async threads, as a message
    /// starts, and dropped wherever a refused or abandoned message ends: neither may block
    /// (a spool that needs a file opens it at its first write that does, which the engine
    /// makes on the blocking pool, and leaves its removal to a thread of its own).
    fn create_spool(&self) -> StoreResult<Self::Spool>;
    /// Stores the spooled body once and adds it to the mailbox of every delivery whose
    /// account has room for it, in one durable commit. The accounts the message would take
    /// past their quota get nothing and are named in [`Stored::over_quota`]; when none has
    /// room, nothing is stored. Any other failure stores nothing.
    fn deliver(&self, spool: Self::Spool, deliveries: &[Delivery]) -> StoreResult<Stored>;
    /// As [`deliver`](Self::deliver), and in the same commit adds what `onward` holds: the
    /// message in the outbound queue for its remote recipients (one entry per envelope
    /// sender: the original, and the rewritten one of forwarded copies), the webhook calls
    /// that report it, the submission held, the held submission released. One body for
    /// all. These are added whatever the local accounts' quotas.
    fn submit(
        &self,
        spool: Self::Spool,
        deliveries: &[Delivery],
        onward: Onward,
    ) -> StoreResult<Stored>;
    // Held submissions (see [`crate::held`]).
    /// An account's held submissions, or everyone's, soonest first.
    fn held_messages(&self, account: Option<AccountId>) -> StoreResult<Vec<HeldMessage>>;
    /// The held submissions due at `now`, soonest first, at most `limit`.
    fn held_due(&self, now: i64, limit: usize) -> StoreResult<Vec<HeldMessage>>;
    /// When the soonest held submission is due.
    fn next_held(&self) -> StoreResult<Option<i64>>;
    /// Drops a held submission; `false` when there was none (released, or cancelled).
    fn cancel_held(&self, id: u64) -> StoreResult<bool>;
    /// The seconds an account's submissions are held so that they can be taken back.
    fn undo_seconds(&self, account: AccountId) -> StoreResult<u32>;
    fn set_undo_seconds(&self, account: AccountId, seconds: u32) -> StoreResult<()>;
    /// Opens a stored body. Bodies kept inside the database come back in memory; others are
    /// opened files, to be read on a blocking pool.
    fn read_blob(&self, blob: &BlobId) -> StoreResult<Self::BlobReader>;

    // Subscriptions (IMAP SUBSCRIBE): a set of mailbox names per account, kept apart from the
    // mailboxes, so that a name stays subscribed while no mailbox has it. `INBOX` is
    // case-insensitive, as in mailbox names. Both fail with `NotFound` for an unknown account.
    /// Adds `name` to the account's subscriptions, or removes it; either is a no-op when
    /// already so.
    fn subscribe(&self, account: AccountId, name: &str, subscribed: bool) -> StoreResult<()>;
    /// The account's subscribed names, sorted.
    fn subscriptions(&self, account: AccountId) -> StoreResult<Vec<String>>;

    // Mailbox changes. Each returns once durable and, where it changes a mailbox's contents
    // or flags, raises that mailbox's `highest_modseq`.
    fn mailbox(&self, id: MailboxId) -> StoreResult<Option<Mailbox>>;
    /// Renames a mailbox and, keeping their relative names, its children (`A` -> `B` also
    /// moves `A/x` to `B/x`); subscriptions to those names move along, whether the mailboxes
    /// they name exist or not. Renaming INBOX is refused here: IMAP's special INBOX rename
    /// (move all messages to a new mailbox) is done by the engine.
    fn rename_mailbox(&self, id: MailboxId, new_name: &str) -> StoreResult<()>;
    /// Deletes a mailbox and its messages, not its children nor the subscription to its name
    /// (RFC 3501 §6.3.6, RFC 9051 §6.3.7). INBOX cannot be deleted.
    fn delete_mailbox(&self, id: MailboxId) -> StoreResult<()>;

    /// Changes flags of the messages with these UIDs (unknown UIDs are ignored). With
    /// `unchanged_since`, messages whose modseq is higher are left alone and reported.
    fn set_flags(
        &self,
        mailbox: MailboxId,
        uids: &[u32],
        change: &FlagChange,
        unchanged_since: Option<u64>,
    ) -> StoreResult<FlagsOutcome>;
    /// Removes messages (unknown UIDs are ignored) and returns the UIDs removed, ascending.
    /// Frees their quota and body references; remembers each removed UID with the modseq of
    /// its removal for [`Store::expunged_since`].
    fn expunge(&self, mailbox: MailboxId, uids: &[u32]) -> StoreResult<Vec<u32>>;
    /// UIDs expunged from the mailbox with a modseq above `modseq`, ascending (QRESYNC).
    fn expunged_since(&self, mailbox: MailboxId, modseq: u64) -> StoreResult<Vec<u32>>;
    /// Copies messages, in UID order, to the end of `target` (which may belong to the same
    /// account only), sharing bodies. Fails with `OverQuota`, copying nothing, when the
    /// account would go past its quota.
    fn copy_messages(
        &self,
        source: MailboxId,
        uids: &[u32],
        target: MailboxId,
    ) -> StoreResult<Vec<Copied>>;
    /// Like [`Store::copy_messages`] then [`Store::expunge`] of the sources, atomically; the
    /// account's usage does not change.
    fn move_messages(
        &self,
        source: MailboxId,
        uids: &[u32],
        target: MailboxId,
    ) -> StoreResult<Vec<Copied>>;
    /// Stores spooled bodies as new messages of one mailbox, in order, all or none, in one
    /// commit (IMAP APPEND and MULTIAPPEND, RFC 3502); quota checked for them together.
    fn append_all(
        &self,
        mailbox: MailboxId,
        messages: Vec<NewMessage<Self::Spool>>,
    ) -> StoreResult<Vec<Delivered>>;
    /// [`append_all`](Self::append_all) of one message.
    fn append(
        &self,
        spool: Self::Spool,
        mailbox: MailboxId,
        flags: Flags,
        keywords: &[String],
        internal_date: i64,
    ) -> StoreResult<Delivered> {
        let message = NewMessage {
            spool,
            flags,
            keywords: keywords.to_vec(),
            internal_date,
        };
        self.append_all(mailbox, vec![message])?
            .pop()
            .ok_or_else(|| StoreError::Io("internal error: an append stored nothing".into()))
    }

    // Facts about bodies that the engine derives once and keeps (see [`BlobFact`]). The
    // bytes are the engine's; the store only keeps them with the body and drops them with it.
    fn blob_fact(&self, blob: &BlobId, fact: BlobFact) -> StoreResult<Option<Vec<u8>>>;
    /// Keeps a fact. Unlike other writes it may return before the fact is on disk: it can
    /// always be derived again.
    fn set_blob_fact(&self, blob: &BlobId, fact: BlobFact, bytes: &[u8]) -> StoreResult<()>;

    // Each mailbox's search index (see [`crate::mail::search_index`]): the engine's rows,
    // which, like facts, can always be made again.
    /// Rows `rows` of each of the mailbox's `blocks`, in the order asked, one after the
    /// other; `None` for a block without an index.
    fn search_index_rows(
        &self,
        mailbox: MailboxId,
        blocks: std::ops::Range<u32>,
        rows: &[u16],
    ) -> StoreResult<Vec<Option<Vec<u8>>>>;
    /// Keeps a block's index (every row, in order), or drops it (`None`). May return before
    /// it is on disk; fails with `NotFound` if the mailbox is gone.
    fn set_search_index(
        &self,
        mailbox: MailboxId,
        block: u32,
        rows: Option<Vec<u8>>,
    ) -> StoreResult<()>;

    // The outbound queue (see [`crate::queue`]).
    /// Every queued message, oldest first.
    fn queue(&self) -> StoreResult<Vec<QueuedMessage>>;
    /// How many messages are queued.
    fn queue_len(&self) -> StoreResult<u64>;

    /// The space of the file system the store lives on.
    fn disk_space(&self) -> StoreResult<DiskSpace>;

    /// Copies everything into `dest` (new, or an empty directory) while the store serves:
    /// a consistent snapshot, read back and checked before this returns.
    fn backup(&self, dest: &std::path::Path) -> StoreResult<BackupReport>;
    /// One queued message, if it is still queued.
    fn queued(&self, id: QueueId) -> StoreResult<Option<QueuedMessage>>;
    /// Up to `limit` queued messages with a recipient due at `now` (Unix seconds) or before,
    /// soonest first.
    fn queue_due(&self, now: i64, limit: usize) -> StoreResult<Vec<QueuedMessage>>;
    /// When the soonest pending recipient is due, if any is.
    fn queue_next_due(&self) -> StoreResult<Option<i64>>;
    /// Saves the recipients' states after a delivery attempt. A message with no recipient
    /// pending leaves the queue. `NotFound` if it left already (deleted meanwhile).
    fn update_queued(&self, message: &QueuedMessage) -> StoreResult<()>;
    /// Takes a message out of the queue; whether it was there.
    fn remove_queued(&self, id: QueueId) -> StoreResult<bool>;

    // DKIM signing keys (see [`crate::dkim`]). Domains and selectors are lower-cased by the
    // caller. Outbound delivery reads a domain's keys for every message it signs, so a key
    // added or removed takes effect with the next message.
    /// Adds a key. Fails with `NoSuchDomain` unless its domain is local, with
    /// `AlreadyExists` when the domain has a key of that selector.
    fn add_dkim_key(&self, key: &DkimKey) -> StoreResult<()>;
    /// Every key, or those of one domain, sorted by domain and selector.
    fn dkim_keys(&self, domain: Option<&str>) -> StoreResult<Vec<DkimKey>>;
    /// Removes a key; `NotFound` if the domain has none of that selector.
    fn remove_dkim_key(&self, domain: &str, selector: &str) -> StoreResult<()>;

    // Banned client networks (see [`crate::trust::bans`]).
    /// Every ban, by network.
    fn bans(&self) -> StoreResult<Vec<Ban>>;
    /// Adds a ban, or replaces the one of the same network.
    fn put_ban(&self, ban: &Ban) -> StoreResult<()>;
    /// Lifts the ban of `network`; whether there was one.
    fn remove_ban(&self, network: &str) -> StoreResult<bool>;

    // API tokens (see [`crate::directory::tokens`]), by the digest of their secret.
    /// Keeps a new token.
    fn put_token(&self, token: &ApiToken) -> StoreResult<()>;
    /// The token whose secret has this digest.
    fn token(&self, digest: &[u8; 32]) -> StoreResult<Option<ApiToken>>;
    /// Every token, in digest order.
    fn tokens(&self) -> StoreResult<Vec<ApiToken>>;
    /// Forgets a token; whether there was one.
    fn remove_token(&self, digest: &[u8; 32]) -> StoreResult<bool>;

    // The audit log (see [`crate::audit`]), in the order written.
    /// Appends an entry, durably.
    fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// The entries at `since` (Unix seconds) or later, oldest first, at most `limit`.
    fn audit_entries(&self, since: i64, limit: usize) -> StoreResult<Vec<AuditEntry>>;
    /// Removes the entries older than `before`, then the oldest beyond `keep` entries; how
    /// many.
    fn prune_audit(&self, before: i64, keep: u64) -> StoreResult<u64>;

    // Greylisting's triplets that got through (see [`crate::trust::greylist`]), so that a
    // restart does not greylist known senders again.
    /// Every triplet recorded.
    fn greylist_passes(&self) -> StoreResult<Vec<GreylistPass>>;
    /// Records a triplet, or its latest message.
    fn put_greylist_pass(&self, pass: &GreylistPass) -> StoreResult<()>;
    /// Removes the triplets whose latest message is older than `before`, then the oldest
    /// beyond `keep`; how many.
    fn prune_greylist(&self, before: i64, keep: u64) -> StoreResult<u64>;

    // The domains each account sent mail to (see [`crate::trust::correspondents`]): mail
    // from them is not greylisted once it proves where it comes from.
    /// When `account` last sent mail to `domain` (lower-cased), as last recorded.
    fn correspondent(&self, account: AccountId, domain: &str) -> StoreResult<Option<i64>>;
    /// Records that `account` sent mail to `domains` at `now`; the account keeps the `keep`
    /// it wrote to most recently.
    fn note_correspondents(
        &self,
        account: AccountId,
        domains: &[String],
        now: i64,
        keep: usize,
    ) -> StoreResult<()>;

    // Each account's Sieve scripts (see [`crate::sieve`]): checked before they are stored,
    // at most one active, run on the mail delivered to the account.
    /// The account's scripts, in name order.
    fn sieve_scripts(&self, account: AccountId) -> StoreResult<Vec<SieveScript>>;
    /// Adds a script or replaces the one of that name (which stays active if it was).
    fn put_sieve_script(&self, account: AccountId, name: &str, source: &str) -> StoreResult<()>;
    /// Makes the script `name` the account's active one, or none (`None`); `NotFound` for a
    /// name the account has no script of.
    fn activate_sieve_script(&self, account: AccountId, name: Option<&str>) -> StoreResult<()>;
    /// Removes a script; `false` when the account had none of that name.
    fn remove_sieve_script(&self, account: AccountId, name: &str) -> StoreResult<bool>;
    // Disposable aliases (see [`crate::directory::disposable`]).
    /// Adds one; `AlreadyExists` when the address is an account's, an alias's or another
    /// disposable one's.
    fn add_disposable_alias(&self, alias: &DisposableAlias) -> StoreResult<()>;
    /// The disposable alias of that address (any case), if it is one.
    fn disposable_alias(&self, address: &str) -> StoreResult<Option<DisposableAlias>>;
    /// An account's disposable aliases, by address.
    fn disposable_aliases(&self, account: AccountId) -> StoreResult<Vec<DisposableAlias>>;
    /// Turns one on or off; `NotFound` for an address that is not one.
    fn set_disposable_alias_enabled(&self, address: &str, enabled: bool) -> StoreResult<()>;
    /// Counts a message accepted for one at `now` (not durable on its own); nothing for an
    /// address that is not one.
    fn note_disposable_use(&self, address: &str, now: i64) -> StoreResult<()>;
    // Retention (see [`crate::retention`]).
    /// Every domain that keeps mail a limited time, with how long (seconds).
    fn retentions(&self) -> StoreResult<Vec<(String, i64)>>;
    /// Sets how long a domain keeps mail, or without limit (`None`).
    fn set_retention(&self, domain: &str, seconds: Option<i64>) -> StoreResult<()>;
    // The Screener (see [`crate::screener`]).
    /// Whether `account` screens mail from senders it has no verdict on.
    fn screener_on(&self, account: AccountId) -> StoreResult<bool>;
    fn set_screener(&self, account: AccountId, on: bool) -> StoreResult<()>;
    /// The account's verdict on the first of `addresses` (any case) that has one.
    fn sender_verdict(
        &self,
        account: AccountId,
        addresses: &[String],
    ) -> StoreResult<Option<Verdict>>;
    /// Every verdict of the account, by address (lowercased).
    fn sender_verdicts(&self, account: AccountId) -> StoreResult<Vec<(String, Verdict)>>;
    /// Records `verdict` on each of `addresses` (`None` forgets them); with `keep`, an
    /// address that has a verdict keeps it.
    fn judge_senders(
        &self,
        account: AccountId,
        addresses: &[String],
        verdict: Option<Verdict>,
        keep: bool,
    ) -> StoreResult<()>;
    // Important senders (see [`crate::directory::vip`]).
    /// An account's important senders, lowercased, in order.
    fn vip_senders(&self, account: AccountId) -> StoreResult<Vec<String>>;
    /// Whether any of `addresses` (any case) is one of the account's important senders.
    fn is_vip_sender(&self, account: AccountId, addresses: &[String]) -> StoreResult<bool>;
    /// Makes `address` one of the account's important senders (`vip`) or no longer; whether
    /// that changed anything.
    fn set_vip_sender(&self, account: AccountId, address: &str, vip: bool) -> StoreResult<bool>;
    // Webhooks (see [`crate::webhooks`]).
    /// Adds one, with the next id; `AlreadyExists` when its address or domain has one.
    fn add_webhook(
        &self,
        scope: &WebhookScope,
        url: &str,
        secret: &str,
        created: i64,
    ) -> StoreResult<Webhook>;
    /// Every webhook, by id.
    fn webhooks(&self) -> StoreResult<Vec<Webhook>>;
    /// The webhook of the first of `keys` (addresses, `@domain`s; any case) that has one.
    fn webhook_for(&self, keys: &[String]) -> StoreResult<Option<Webhook>>;
    /// Removes a webhook with its waiting calls and its log; `false` when there was none.
    fn remove_webhook(&self, id: u64) -> StoreResult<bool>;
    /// Whether mail to `domain` goes to its webhooks only, never into mailboxes.
    fn is_webhook_only(&self, domain: &str) -> StoreResult<bool>;
    fn set_webhook_only(&self, domain: &str, on: bool) -> StoreResult<()>;
    /// The domains whose mail goes to webhooks only.
    fn webhook_only_domains(&self) -> StoreResult<Vec<String>>;
    /// The calls due at `now`, soonest first, at most `limit`.
    fn webhook_calls_due(&self, now: i64, limit: usize) -> StoreResult<Vec<WebhookCall>>;
    /// When the soonest call is due.
    fn next_webhook_call(&self) -> StoreResult<Option<i64>>;
    /// Records an attempt in the log (the webhook keeps [`WEBHOOK_LOG_KEPT`]) and what it
    /// means for its call: done, due again, or dropped. Durable when it returns.
    fn record_webhook_attempt(&self, attempt: &WebhookAttempt) -> StoreResult<()>;
    /// The latest attempts of a webhook, newest first, at most `limit`.
    fn webhook_log(&self, webhook: u64, limit: usize) -> StoreResult<Vec<WebhookAttempt>>;
    /// How many calls of each webhook are waiting (webhooks with none left out).
    fn webhook_calls_waiting(&self) -> StoreResult<std::collections::BTreeMap<u64, u64>>;
    /// Makes every waiting call of a webhook due at `now` (its receiver is back); how many.
    fn retry_webhook_calls(&self, webhook: u64, now: i64) -> StoreResult<u64>;
    /// Gives script `from` the name `to`, active or not as before: `NotFound` when the
    /// account has no `from`, `AlreadyExists` when it has a `to`.
    fn rename_sieve_script(&self, account: AccountId, from: &str, to: &str) -> StoreResult<()>;
    /// Whether `account`'s vacation answer `handle` may go to `sender` at `now`: none went
    /// there in the last `interval` seconds. When it may, `now` is recorded as its time; an
    /// account keeps the [`VACATION_KEPT`] most recent.
    fn note_vacation(
        &self,
        account: AccountId,
        handle: &str,
        sender: &str,
        now: i64,
        interval: i64,
    ) -> StoreResult<bool>;

    /// `\Recent` (RFC 3501 §2.3.2): the first UID of the mailbox that no session has been
    /// told about yet (1 for a mailbox never selected).
    fn first_recent_uid(&self, mailbox: MailboxId) -> StoreResult<u32>;
    /// Claims for the caller's session the UIDs from [`first_recent_uid`](Self::first_recent_uid)
    /// up to `uid_next`: they are recent in that session only. Returns the first UID claimed
    /// (`uid_next` or more when another session was first). Need not be durable.
    fn claim_recent(&self, mailbox: MailboxId, uid_next: u32) -> StoreResult<u32>;

    // Calendars and address books.
    /// The account's collections of `kind`, in name order.
    fn collections(
        &self,
        account: AccountId,
        kind: dav::CollectionKind,
    ) -> StoreResult<Vec<dav::Collection>>;
    /// The account's collection of `kind` named `name`.
    fn collection(
        &self,
        account: AccountId,
        kind: dav::CollectionKind,
        name: &str,
    ) -> StoreResult<Option<dav::Collection>>;
    /// Creates a collection; `AlreadyExists` when the account has one of that kind and name.
    fn create_collection(&self, new: dav::NewCollection) -> StoreResult<dav::Collection>;
    /// Sets (`Some`) or removes (`None`) properties of a collection, by Clark name.
    fn set_collection_properties(
        &self,
        id: dav::CollectionId,
        changes: Vec<(String, Option<String>)>,
    ) -> StoreResult<()>;
    /// Removes a collection with everything in it.
    fn delete_collection(&self, id: dav::CollectionId) -> StoreResult<()>;
    /// The live items of a collection, in name order.
    fn items(&self, collection: dav::CollectionId) -> StoreResult<Vec<dav::Item>>;
    /// A live item.
    fn item(&self, collection: dav::CollectionId, name: &str) -> StoreResult<Option<dav::Item>>;
    /// A live item's content.
    fn item_data(&self, collection: dav::CollectionId, name: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Stores an item if what the write expects holds, taking the collection's next
    /// revision; durable when it returns.
    fn put_item(&self, item: dav::PutItem) -> StoreResult<dav::ItemWrite>;
    /// Removes an item if what the write expects holds, leaving a tombstone at the
    /// collection's next revision.
    fn delete_item(
        &self,
        collection: dav::CollectionId,
        name: &str,
        expect: dav::Expect,
    ) -> StoreResult<dav::ItemWrite>;
    /// Gives `sharee` `access` to a collection (`None` takes it away).
    fn set_share(
        &self,
        collection: dav::CollectionId,
        sharee: AccountId,
        access: Option<dav::Access>,
    ) -> StoreResult<()>;
    /// Who a collection is shared with, and how.
    fn shares_of(
        &self,
        collection: dav::CollectionId,
    ) -> StoreResult<Vec<(AccountId, dav::Access)>>;
    /// The collections of `kind` shared with `account`, and how.
    fn shared_with(
        &self,
        account: AccountId,
        kind: dav::CollectionKind,
    ) -> StoreResult<Vec<(dav::Collection, dav::Access)>>;
    /// The items and tombstones changed after revision `since`, in revision order, at most
    /// `limit`.
    fn item_changes(
        &self,
        collection: dav::CollectionId,
        since: u64,
        limit: usize,
    ) -> StoreResult<Vec<dav::Item>>;
}

/// A (client network, sender, recipient) triplet that got through greylisting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GreylistPass {
    /// The client's network: `192.0.2.0` (a /24) or `2001:db8:1:2::` (a /64).
    pub network: String,
    /// Lower-cased; empty for the null sender.
    pub sender: String,
    pub recipient: String,
    /// Unix seconds of its latest message (as last recorded).
    pub last: i64,
}

/// One event of the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Unix seconds.
    pub time: i64,
    /// What happened: `login`, `login-failed`, `ban`, `unban`, `admin`.
    pub kind: String,
    /// Who: the user logging in, or who ran a command (`cli`, `server`).
    pub actor: String,
    /// The client's address, for logins.
    pub client: Option<String>,
    /// The protocol of a login, the command run, why a ban.
    pub detail: String,
}

/// The size of a file system and what is left of it, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskSpace {
    pub total: u64,
    /// What an unprivileged process may still use.
    pub available: u64,
}

/// Vacation answers an account remembers (whom, when): a flood of senders cannot grow the
/// table past this per account; one forgotten at most gets a second answer.
pub const VACATION_KEPT: usize = 10_000;

/// A Sieve script of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SieveScript {
    pub name: String,
    /// Whether it is the one run on the account's mail.
    pub active: bool,
    pub source: String,
}

/// A token of the JSON API. Its secret is shown once, when made; only its SHA-256 digest is
/// kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    pub digest: [u8; 32],
    pub scope: TokenScope,
    /// What the operator wrote down about it.
    pub note: String,
    /// Unix seconds.
    pub created: i64,
}

/// Whose requests a token makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenScope {
    /// Everything the admin panel does.
    Admin,
    /// One user's own: their account, password and quota.
    User(String),
}

/// A network whose connections are refused until a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ban {
    /// `192.0.2.7/32`, `2001:db8:1:2::/64`: the network in canonical form.
    pub network: String,
    /// Unix seconds; the ban ends then.
    pub until: i64,
    /// How many times the network was banned (each automatic ban lasts twice the one
    /// before).
    pub count: u32,
    /// Why, for `postern ban list`.
    pub reason: String,
}

/// A stored message's header section (with its blank line): kept apart at delivery, else
/// read from the message's first 64 KiB.
pub fn stored_header<S: Store>(store: &S, blob: &BlobId) -> StoreResult<Vec<u8>> {
    if let Some(header) = store.blob_fact(blob, BlobFact::Header)? {
        return Ok(header);
    }
    let mut start = Vec::new();
    store
        .read_blob(blob)?
        .take(64 * 1024)
        .read_to_end(&mut start)
        .map_err(|e| StoreError::Io(format!("cannot read a message: {e}")))?;
    let end = start
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(start.len(), |at| at + 4);
    start.truncate(end);
    Ok(start)
}
