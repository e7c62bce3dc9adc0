//! Postern's engine: what mail means, independent of sockets and storage.
//!
//! It owns the directory (domains, accounts, aliases), recipient policy, authentication,
//! delivery into mailboxes, and the glue that drives a protocol session's actions against
//! them. Storage is reached only through [`store::Store`]; the network only through the
//! traits in [`io`], which each runtime implements.

pub mod acme;
pub mod address;
pub mod admission;
pub mod audit;
pub mod bans;
pub mod changes;
pub mod client_tls;
pub mod dav;
pub mod deflate;
pub mod delivery;
pub mod directory;
pub mod dkim;
pub mod dns;
mod driver;
pub mod held;
pub mod http;
pub(crate) mod https;
pub mod imap;
pub mod io;
pub mod listener;
pub mod mail;
pub mod managesieve;
pub mod metrics;
pub mod pop3;
pub mod queue;
pub mod recent;
pub mod retention;
pub mod screener;
pub mod search_index;
pub mod server_tls;
pub mod sieve;
pub mod slots;
pub mod smtp;
pub mod snooze;
pub mod store;
pub mod submit;
pub mod trust;
pub mod units;
pub mod web;
pub mod webhooks;

use std::fmt;
use std::sync::Arc;

pub use delivery::{Folder, LocalRecipient, Recipients, TraceInfo};
use directory::auth_cache::AuthCache;
use directory::throttle::AuthThrottle;
pub use directory::{Destination, RcptContext, Refusal};
use store::{Store, StoreError};

/// The engine over one store. Shared by every session of every listener (`Arc<Engine<S>>`);
/// all methods take `&self` and are safe to call concurrently. Methods that touch the store
/// block, so runtimes call them from their blocking pools.
pub struct Engine<S: Store> {
    store: S,
    hostname: String,
    auth_throttle: AuthThrottle,
    auth_cache: AuthCache,
    /// What a new password must be.
    password_rules: directory::password_rules::PasswordRules,
    maildrop_locks: pop3::MaildropLocks,
    changes: changes::ChangeHub,
    /// The account postmaster mail goes to; `None`: the first account created.
    postmaster: Option<String>,
    /// Notified when a message enters the outbound queue, so delivery need not poll.
    queued: event_listener::Event,
    /// Signalled when a domain's retention changes: the sweep is due again.
    retention_changed: event_listener::Event,
    /// Signalled when a message is snoozed: the next wake may come sooner.
    snoozed: event_listener::Event,
    /// Signalled when webhook calls are added or one is done: the dispatcher looks again.
    webhook_calls: event_listener::Event,
    /// Signalled when a submission is held: the next release may come sooner.
    held_changed: event_listener::Event,
    /// Mailboxes whose deliveries filled a block of their search index.
    filled: search_index::Filled,
    /// Rewrites senders of forwarded mail; `None`: aliases do not forward out.
    srs: Option<directory::srs::Srs>,
    resolver: Arc<dyn dns::Resolver>,
    /// The queue several nodes share, when delivery takes its mail from one.
    shared_queue: Option<Arc<dyn queue::SharedQueue>>,
    /// Logins being checked, per user name: one verification per user at a time.
    logins: Arc<slots::Slots>,
    /// Password verifications running, bounded in all.
    verifications: Arc<slots::Slots>,
    /// Password verifications made since start.
    verified_passwords: std::sync::atomic::AtomicU64,
    /// Held by whoever moves mail from this node's queue to the shared one.
    handing_over: std::sync::Mutex<()>,
    /// What is checked on mail from outside (SPF, DKIM, ARC, DMARC).
    sender_checks: trust::SenderChecks,
    /// mail-auth's checker, made on first use.
    authenticator: std::sync::OnceLock<mail_auth::MessageAuthenticator>,
    /// Sender checks running, bounded.
    checks: Arc<slots::Slots>,
    /// IMAP connections compressing (COMPRESS=DEFLATE), bounded.
    compressions: Arc<slots::Slots>,
    /// Large HTTP request bodies being read into memory, bounded.
    large_bodies: Arc<slots::Slots>,
    /// Addresses users may send as beyond their own.
    send_as: directory::Grants,
    /// Triplets of mail from outside seen, for greylisting.
    greylist: trust::greylist::Greylist,
    /// What each logged-in user sent this hour.
    sending_rate: directory::rate::SendingRate,
    /// Networks refused at the door.
    bans: Arc<bans::BanList>,
    /// How long audit entries are kept, in seconds.
    audit_retention: i64,
    /// Audit entries written since start.
    audit_written: std::sync::atomic::AtomicU64,
    /// What Prometheus scrapes.
    metrics: metrics::Metrics,
    /// The web pages' settings, and the listeners and certificate they describe.
    web: web::WebConfig,
    /// Replaced when the certificate is reloaded, so behind a lock of its own.
    certificate: std::sync::RwLock<Option<web::Certificate>>,
    /// Who is logged in to the admin panel and the users' pages, and their one-time codes.
    panel: web::panel::PanelState,
    /// Answers to the challenges of a certificate order in progress.
    acme: Arc<acme::Challenges>,
    /// How the certificate's renewal stands, with `[acme]`.
    acme_status: std::sync::RwLock<Option<acme::Status>>,
}

impl<S: Store> Engine<S> {
    /// `hostname` is this server's name as it appears in trace headers and greetings.
    pub fn new(store: S, hostname: impl Into<String>) -> Self {
        Engine {
            store,
            hostname: hostname.into(),
            auth_throttle: AuthThrottle::default(),
            auth_cache: AuthCache::default(),
            password_rules: Default::default(),
            maildrop_locks: pop3::MaildropLocks::default(),
            changes: changes::ChangeHub::default(),
            postmaster: None,
            queued: event_listener::Event::new(),
            retention_changed: event_listener::Event::new(),
            snoozed: event_listener::Event::new(),
            webhook_calls: event_listener::Event::new(),
            held_changed: event_listener::Event::new(),
            filled: search_index::Filled::default(),
            srs: None,
            resolver: Arc::new(dns::Overlay::default()),
            logins: Arc::default(),
            verifications: Arc::default(),
            verified_passwords: Default::default(),
            shared_queue: None,
            handing_over: std::sync::Mutex::new(()),
            sender_checks: trust::SenderChecks::default(),
            authenticator: std::sync::OnceLock::new(),
            checks: Arc::default(),
            compressions: Arc::default(),
            large_bodies: Arc::default(),
            send_as: directory::Grants::default(),
            greylist: trust::greylist::Greylist::default(),
            sending_rate: directory::rate::SendingRate::default(),
            bans: Arc::default(),
            audit_retention: audit::DEFAULT_RETENTION,
            audit_written: Default::default(),
            metrics: metrics::Metrics::default(),
            web: web::WebConfig::default(),
            certificate: std::sync::RwLock::new(None),
            panel: Default::default(),
            acme: Arc::default(),
            acme_status: Default::default(),
        }
    }

    /// Lets aliases forward to other domains, rewriting senders with this key (SRS). The key
    /// must stay the same across restarts, or bounces to addresses rewritten before are
    /// refused.
    pub fn set_srs_key(&mut self, key: [u8; 32]) {
        self.srs = Some(directory::srs::Srs::new(key));
    }

    /// The sender rewriting of forwarded mail, when enabled.
    pub fn srs(&self) -> Option<&directory::srs::Srs> {
        self.srs.as_ref()
    }

    /// Where DNS questions go. Until this is called, every lookup fails temporarily: an
    /// engine built for management commands or tests sends no DNS traffic.
    pub fn set_resolver(&mut self, resolver: Arc<dyn dns::Resolver>) {
        self.resolver = resolver;
    }

    /// Has delivery take its mail from `queue`, shared with other nodes, and this node's
    /// queued mail moved there.
    pub fn set_shared_queue(&mut self, queue: Arc<dyn queue::SharedQueue>) {
        self.shared_queue = Some(queue);
    }

    /// The resolver outbound delivery (and later SPF, DKIM, DMARC) asks; an `Arc` so that
    /// work outliving a borrow of the engine can keep it.
    pub fn resolver(&self) -> &Arc<dyn dns::Resolver> {
        &self.resolver
    }

    /// Where a certificate order puts its challenges' answers and the listeners find them.
    pub fn acme_challenges(&self) -> &Arc<acme::Challenges> {
        &self.acme
    }

    /// Records how the certificate's renewal stands (the renewal task does).
    pub fn set_acme_status(&self, status: acme::Status) {
        *self
            .acme_status
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(status);
    }

    /// How the certificate's renewal stands; `None` without `[acme]`.
    pub fn acme_status(&self) -> Option<acme::Status> {
        self.acme_status
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Sets how much a logged-in user may send per hour.
    pub fn set_sending_limits(&mut self, limits: directory::rate::SendingLimits) {
        self.sending_rate = directory::rate::SendingRate::new(limits);
    }

    /// What each logged-in user sent this hour, against their limits.
    pub fn sending_rate(&self) -> &directory::rate::SendingRate {
        &self.sending_rate
    }

    /// Sends postmaster mail (RFC 5321 §4.5.1) of every local domain that has no account
    /// or alias named postmaster to this account. Fails when there is no such account.
    pub fn set_postmaster(&mut self, email: &str) -> Result<(), Error> {
        let address = address::Address::parse(email)?;
        if self.store.account(address.as_str())?.is_none() {
            return Err(Error::Invalid(format!(
                "postmaster {email} is not an account here; add it with `postern user add \
                 {email}` or name another account"
            )));
        }
        self.postmaster = Some(address.as_str().to_string());
        Ok(())
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Sets what the web pages serve and describe.
    pub fn set_web(&mut self, web: web::WebConfig) {
        self.web = web;
    }

    /// What the web pages serve and describe.
    pub fn web(&self) -> &web::WebConfig {
        &self.web
    }

    /// Describes the certificate the listeners present now, for the pages that show it;
    /// called again when it is reloaded.
    pub fn set_certificate(&self, certificate: Option<web::Certificate>) {
        *self
            .certificate
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = certificate;
    }

    /// The certificate the listeners present (the first of its chain), when known.
    pub fn certificate(&self) -> Option<web::Certificate> {
        self.certificate
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The web pages' logged-in sessions and one-time codes.
    pub fn panel(&self) -> &web::panel::PanelState {
        &self.panel
    }

    /// The counters every session moves.
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.metrics
    }

    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// Where outbound delivery waits for new mail; every submission to the queue notifies it.
    pub fn queued(&self) -> &event_listener::Event {
        &self.queued
    }

    /// A place among the connections compressing, if one is free (see [`deflate`]).
    pub fn try_compress(&self) -> Option<slots::Slot> {
        self.compressions
            .try_acquire("imap", deflate::MAX_COMPRESSED)
    }

    /// A place among the large HTTP request bodies held in memory, if one is free (see
    /// [`http`]).
    pub fn try_read_large_body(&self) -> Option<slots::Slot> {
        self.large_bodies
            .try_acquire("http", http::MAX_LARGE_BODIES)
    }

    /// Where sessions wait for mailbox changes; every write to a mailbox notifies it.
    pub fn changes(&self) -> &changes::ChangeHub {
        &self.changes
    }
}

/// An error a person gets to see: what went wrong and, where it helps, what to do.
#[derive(Debug)]
pub enum Error {
    /// The request itself is wrong (bad address, empty password, ...).
    Invalid(String),
    Store(StoreError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(msg) => f.write_str(msg),
            Error::Store(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

impl From<address::InvalidAddress> for Error {
    fn from(e: address::InvalidAddress) -> Self {
        Error::Invalid(e.to_string())
    }
}
