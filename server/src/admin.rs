//! Management requests: what `postern domain|user|alias|dkim|queue|export|import` ask for. The
//! same [`execute`] runs them whether they arrive over the control socket of a running server
//! or the CLI opened the data directory itself.

use std::fmt::{self, Write};
use std::path::PathBuf;

use engine::Engine;
use engine::directory::tokens::token_id;
use engine::dkim::{Algorithm, DkimKey, DnsRecord};
use engine::dns::publish::{Found, Wanted};
use engine::mail::date::{civil_from_days, unix_now};
use engine::queue::{QueuedMessage, State, TransportCounts};
use engine::store::dav::{Access, CollectionKind};
use engine::store::{Store, TokenScope};
use engine::units::{size, span};
use serde::{Deserialize, Serialize};

use crate::maildir;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    DomainAdd {
        name: String,
    },
    DomainList,
    DomainRetention {
        name: String,
        keep: String,
    },
    DomainRemove {
        name: String,
    },
    UserAdd {
        email: String,
        password: String,
        quota: Option<u64>,
        admin: bool,
    },
    UserAdmin {
        email: String,
        admin: bool,
    },
    UserTotpOff {
        email: String,
    },
    UserList {
        domain: Option<String>,
    },
    UserPasswd {
        email: String,
        password: String,
    },
    UserQuota {
        email: String,
        quota: Option<u64>,
    },
    UserDisable {
        email: String,
    },
    UserEnable {
        email: String,
    },
    UserRemove {
        email: String,
    },
    AliasAdd {
        source: String,
        target: String,
    },
    AliasList {
        domain: Option<String>,
    },
    AliasRemove {
        source: String,
        target: String,
    },
    DisposableNew {
        user: String,
        note: String,
    },
    DisposableList {
        user: String,
    },
    DisposableEnable {
        address: String,
        enabled: bool,
    },
    Vip {
        user: String,
        sender: String,
        vip: bool,
    },
    VipList {
        user: String,
    },
    WebhookAdd {
        /// An address, or `@domain`.
        scope: String,
        url: String,
        /// Empty: one is made.
        secret: Secret,
    },
    WebhookList,
    Outbox {
        user: String,
    },
    Snooze {
        user: String,
        mailbox: String,
        uid: u32,
        /// A time (`2026-12-08T09:00Z`) or how long from now (`3h`, `2d`).
        until: String,
    },
    SnoozeList {
        user: String,
    },
    SnoozeWake {
        user: String,
        uid: u32,
    },
    OutboxCancel {
        user: String,
        id: u64,
    },
    UndoSend {
        email: String,
        seconds: u32,
    },
    WebhookRemove {
        id: u64,
    },
    WebhookRetry {
        id: u64,
    },
    WebhookLog {
        id: u64,
        limit: usize,
    },
    DomainWebhookOnly {
        name: String,
        on: bool,
    },
    Screener {
        user: String,
        on: bool,
    },
    ScreenerList {
        user: String,
    },
    Judge {
        user: String,
        sender: String,
        approve: bool,
    },
    /// Shares a calendar (or address book) of `owner` with `sharee`; `access` `None`
    /// stops sharing it.
    Share {
        owner: String,
        collection: String,
        address_book: bool,
        sharee: String,
        access: Option<ShareAccess>,
    },
    ShareList {
        owner: String,
    },
    /// `dir` is absolute: the server resolves it, not the CLI's working directory.
    Export {
        email: String,
        dir: PathBuf,
    },
    Import {
        email: String,
        dir: PathBuf,
    },
    Queue(QueueRequest),
    Dkim(DkimRequest),
    Ban(BanRequest),
    Token(TokenRequest),
    Sieve(SieveRequest),
    /// The records `domain` needs; `check`: with what DNS says now.
    Dns {
        domain: String,
        check: bool,
        format: DnsFormat,
    },
    /// What `/health/detailed` says, as JSON: listeners as bound, certificate, queue.
    Health,
    /// A consistent, checked copy of the store in `dest` (absolute; new or empty).
    Backup {
        dest: PathBuf,
    },
    /// The audit log since `since` (Unix seconds).
    Audit {
        since: i64,
        user: Option<String>,
        json: bool,
    },
}

/// What `postern ban` asks for.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "ban", rename_all = "snake_case")]
pub enum BanRequest {
    List,
    /// `seconds: None`: until lifted.
    Add {
        network: String,
        seconds: Option<i64>,
        reason: String,
    },
    Remove {
        network: String,
    },
}

/// What `postern token` asks for.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "token", rename_all = "snake_case")]
pub enum TokenRequest {
    /// `user: None`: an admin token.
    Create {
        user: Option<String>,
        note: String,
    },
    List,
    Revoke {
        id: String,
    },
}

/// What `postern sieve` asks for.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "sieve", rename_all = "snake_case")]
pub enum SieveRequest {
    Put {
        user: String,
        name: String,
        source: String,
        activate: bool,
    },
    List {
        user: String,
    },
    Show {
        user: String,
        name: String,
    },
    /// `name: None`: no script runs.
    Activate {
        user: String,
        name: Option<String>,
    },
    Remove {
        user: String,
        name: String,
    },
}

/// What `postern queue` asks for.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "queue", rename_all = "snake_case")]
pub enum QueueRequest {
    List,
    Stats,
    Show {
        id: String,
    },
    /// `id: None`: every queued message.
    Retry {
        id: Option<String>,
    },
    Delete {
        id: String,
    },
}

/// What `postern dkim` asks for.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "dkim", rename_all = "snake_case")]
pub enum DkimRequest {
    Generate {
        domain: String,
        selector: Option<String>,
        algorithm: KeyAlgorithm,
    },
    /// `pem` is the key file's text: the CLI reads the file, so it need only be readable by
    /// whoever runs the command.
    Import {
        domain: String,
        selector: String,
        pem: Secret,
    },
    List {
        domain: Option<String>,
    },
    Remove {
        domain: String,
        selector: String,
    },
    Dns {
        domain: String,
    },
}

/// How `postern dns` writes the records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum DnsFormat {
    /// Zone-file lines, each after a comment saying what it is for.
    #[default]
    Zone,
    /// Aligned columns: type, name, value (and what DNS has).
    Table,
    /// One JSON array: type, name, value, why (and what DNS has).
    Json,
}

/// Which keys `postern dkim generate` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum KeyAlgorithm {
    Ed25519,
    Rsa,
    /// One of each: receivers that check only RSA still find a signature they can check.
    Both,
}

impl KeyAlgorithm {
    fn algorithms(self) -> &'static [Algorithm] {
        match self {
            KeyAlgorithm::Ed25519 => &[Algorithm::Ed25519],
            KeyAlgorithm::Rsa => &[Algorithm::Rsa],
            KeyAlgorithm::Both => &[Algorithm::Ed25519, Algorithm::Rsa],
        }
    }
}

/// What `postern share add` gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareAccess {
    Read,
    ReadWrite,
}

/// Text that must not show in logs or debug output (a private key).
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Request {
    /// What a change does, for the audit log (never a password or key); `None` for
    /// requests that only read.
    fn change(&self) -> Option<String> {
        Some(match self {
            Request::DomainAdd { name } => format!("domain add {name}"),
            Request::DomainRemove { name } => format!("domain remove {name}"),
            Request::DomainRetention { name, keep } => format!("domain retention {name} {keep}"),
            Request::UserAdd { email, admin, .. } => {
                format!("user add {email}{}", if *admin { " (admin)" } else { "" })
            }
            Request::UserAdmin { email, admin } => {
                format!("user admin {email} {}", if *admin { "on" } else { "off" })
            }
            Request::UserTotpOff { email } => format!("user totp {email} off"),
            Request::UserPasswd { email, .. } => format!("user passwd {email}"),
            Request::UserQuota { email, quota } => format!("user quota {email} {quota:?}"),
            Request::UserDisable { email } => format!("user disable {email}"),
            Request::UserEnable { email } => format!("user enable {email}"),
            Request::UserRemove { email } => format!("user remove {email}"),
            Request::AliasAdd { source, target } => format!("alias add {source} {target}"),
            Request::AliasRemove { source, target } => format!("alias remove {source} {target}"),
            Request::DisposableNew { user, .. } => format!("alias new for {user}"),
            Request::Screener { user, on } => {
                format!("screener {} {user}", if *on { "on" } else { "off" })
            }
            Request::Judge {
                user,
                sender,
                approve,
            } => format!(
                "screener {} {user} {sender}",
                if *approve { "approve" } else { "reject" }
            ),
            Request::Vip { user, sender, vip } => {
                format!(
                    "vip {} {user} {sender}",
                    if *vip { "add" } else { "remove" }
                )
            }
            Request::WebhookAdd { scope, url, .. } => format!("webhook add {scope} {url}"),
            Request::WebhookRemove { id } => format!("webhook remove {id}"),
            Request::WebhookRetry { id } => format!("webhook retry {id}"),
            Request::OutboxCancel { user, id } => format!("outbox cancel {user} {id}"),
            Request::Snooze {
                user, mailbox, uid, ..
            } => format!("message snooze {user} {mailbox} {uid}"),
            Request::SnoozeWake { user, uid } => format!("snooze wake {user} {uid}"),
            Request::UndoSend { email, seconds } => format!("user undo-send {email} {seconds}"),
            Request::DomainWebhookOnly { name, on } => {
                format!(
                    "domain webhook-only {name} {}",
                    if *on { "on" } else { "off" }
                )
            }
            Request::DisposableEnable { address, enabled } => {
                format!(
                    "alias {} {address}",
                    if *enabled { "enable" } else { "disable" }
                )
            }
            Request::Share {
                owner,
                collection,
                sharee,
                access,
                ..
            } => match access {
                Some(access) => format!("share add {owner} {collection} {sharee} {access:?}"),
                None => format!("share remove {owner} {collection} {sharee}"),
            },
            Request::Import { email, .. } => format!("import {email}"),
            Request::Backup { dest } => format!("backup into {}", dest.display()),
            Request::Queue(QueueRequest::Retry { id }) => {
                format!("queue retry {}", id.as_deref().unwrap_or("all"))
            }
            Request::Queue(QueueRequest::Delete { id }) => format!("queue delete {id}"),
            Request::Dkim(DkimRequest::Generate { domain, .. }) => {
                format!("dkim generate {domain}")
            }
            Request::Dkim(DkimRequest::Import {
                domain, selector, ..
            }) => format!("dkim import {domain} {selector}"),
            Request::Dkim(DkimRequest::Remove { domain, selector }) => {
                format!("dkim remove {domain} {selector}")
            }
            Request::Ban(BanRequest::Add {
                network,
                seconds,
                reason,
            }) => format!("ban add {network} for {seconds:?} s: {reason}"),
            Request::Ban(BanRequest::Remove { network }) => format!("ban remove {network}"),
            Request::Token(TokenRequest::Create { user, .. }) => match user {
                Some(user) => format!("token create for {user}"),
                None => "token create (admin)".to_string(),
            },
            Request::Token(TokenRequest::Revoke { id }) => format!("token revoke {id}"),
            Request::Sieve(SieveRequest::Put {
                user,
                name,
                activate,
                ..
            }) => match activate {
                true => format!("sieve put {user} {name}, active"),
                false => format!("sieve put {user} {name}"),
            },
            Request::Sieve(SieveRequest::Activate { user, name }) => match name {
                Some(name) => format!("sieve activate {user} {name}"),
                None => format!("sieve deactivate {user}"),
            },
            Request::Sieve(SieveRequest::Remove { user, name }) => {
                format!("sieve remove {user} {name}")
            }
            _ => return None,
        })
    }
}

/// Carries out a request, and records each change it makes in the audit log (actor
/// `cli`); `Ok` holds the text to print (possibly empty). A long request (an import) tells
/// `progress` how far it is: (done, total).
pub fn execute<S: Store>(
    engine: &Engine<S>,
    transports: Option<&TransportCounts>,
    request: Request,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<String, String> {
    let change = request.change();
    let result = carry_out(engine, transports, request, progress);
    if let (Some(change), Ok(_)) = (change, &result) {
        tracing::info!(change, "changed with the command line");
        engine.audit("admin", "cli", None, &change);
    }
    result
}

/// Carries out a request; `Ok` holds the text to print (possibly empty). `transports` are
/// the delivery counts of the running server, `None` when the CLI opened the data
/// directory itself.
fn carry_out<S: Store>(
    engine: &Engine<S>,
    transports: Option<&TransportCounts>,
    request: Request,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<String, String> {
    let text = |r: Result<String, engine::Error>| r.map_err(|e| e.to_string());
    match request {
        Request::DomainAdd { name } => text(
            engine
                .add_domain(&name)
                .map(|d| format!("added domain {d}")),
        ),
        Request::DomainList => text(engine.domains().map(lines)),
        Request::DomainRetention { name, keep } => {
            let keep = match keep.as_str() {
                "off" => Ok(None),
                text => engine::units::parse_duration(text)
                    .map(Some)
                    .map_err(engine::Error::Invalid),
            };
            text(keep.and_then(|keep| {
                engine.set_retention(&name, keep)?;
                Ok(match keep {
                    Some(keep) => format!(
                        "mail in {name} is removed {} after it arrives",
                        engine::units::span(i64::try_from(keep.as_secs()).unwrap_or(i64::MAX))
                    ),
                    None => format!("mail in {name} is kept until its users delete it"),
                })
            }))
        }
        Request::DomainRemove { name } => text(
            engine
                .remove_domain(&name)
                .map(|()| format!("removed domain {name}")),
        ),
        Request::UserAdd {
            email,
            password,
            quota,
            admin,
        } => text(
            engine
                .add_user(&email, &password, quota, admin)
                .map(|account| {
                    let role = if account.admin { " (admin)" } else { "" };
                    format!("added user {}{role}", account.email)
                }),
        ),
        Request::UserTotpOff { email } => text(
            engine
                .set_totp(&email, None)
                .map(|()| format!("{email} logs in to the web pages with the password alone")),
        ),
        Request::UserAdmin { email, admin } => {
            text(engine.set_admin(&email, admin).map(|()| match admin {
                true => format!("{email} may manage the server"),
                false => format!("{email} may no longer manage the server"),
            }))
        }
        Request::UserList { domain } => text(engine.users(domain.as_deref()).map(|accounts| {
            let mut out = String::new();
            for a in accounts {
                let quota = a.quota.map_or("unlimited".into(), size);
                let state = if a.disabled { "  disabled" } else { "" };
                let role = if a.admin { "  admin" } else { "" };
                let _ = writeln!(
                    out,
                    "{}  used {}  quota {quota}{state}{role}",
                    a.email,
                    size(a.used)
                );
            }
            out
        })),
        Request::UserPasswd { email, password } => text(
            engine
                .set_password(&email, &password)
                .map(|()| format!("changed the password of {email}")),
        ),
        Request::UserQuota { email, quota } => {
            text(engine.set_quota(&email, quota).map(|()| match quota {
                Some(q) => format!("quota of {email} is now {}", size(q)),
                None => format!("quota of {email} is now unlimited"),
            }))
        }
        Request::UserDisable { email } => text(
            engine
                .set_disabled(&email, true)
                .map(|()| format!("disabled {email}")),
        ),
        Request::UserEnable { email } => text(
            engine
                .set_disabled(&email, false)
                .map(|()| format!("enabled {email}")),
        ),
        Request::UserRemove { email } => text(
            engine
                .remove_user(&email)
                .map(|()| format!("removed user {email}")),
        ),
        Request::AliasAdd { source, target } => {
            text(engine.add_alias(&source, &target).and_then(|alias| {
                let domain = alias.target.rsplit_once('@').map_or("", |(_, d)| d);
                let outside = !engine.store().domain_exists(domain)?;
                let mut said = format!("added alias {} -> {}", alias.source, alias.target);
                if outside {
                    said.push_str(
                        "\n(another domain: mail is forwarded there, its sender rewritten \
                         with SRS so that SPF checks pass at the destination)",
                    );
                }
                Ok(said)
            }))
        }
        Request::AliasList { domain } => text(engine.aliases(domain.as_deref()).map(|aliases| {
            lines(
                aliases
                    .into_iter()
                    .map(|a| format!("{} -> {}", a.source, a.target)),
            )
        })),
        Request::DisposableNew { user, note } => text(
            engine
                .new_disposable_alias(&user, &note)
                .map(|alias| format!("{}\n", alias.address)),
        ),
        Request::DisposableList { user } => text(engine.disposable_aliases(&user).map(|aliases| {
            lines(aliases.into_iter().map(|a| {
                let last = a
                    .last_used
                    .map_or_else(|| "never".to_string(), engine::mail::date::rfc5322);
                let state = if a.enabled { "on" } else { "off" };
                format!(
                    "{}  {state}  {} uses, last {last}  {}",
                    a.address, a.uses, a.note
                )
            }))
        })),
        Request::DisposableEnable { address, enabled } => text(
            engine
                .set_disposable_alias_enabled(None, &address, enabled)
                .map(|alias| {
                    let state = if enabled {
                        "on: it delivers"
                    } else {
                        "off: mail to it is refused"
                    };
                    format!("{} is {state}", alias.address)
                }),
        ),
        Request::Vip { user, sender, vip } => text(engine.set_vip_sender(&user, &sender, vip).map(
            |sender| match vip {
                true => format!("mail from {sender} to {user} is marked $Important"),
                false => format!("{sender} is no longer an important sender of {user}"),
            },
        )),
        Request::VipList { user } => text(engine.vip_senders(&user).map(lines)),
        Request::WebhookAdd { scope, url, secret } => {
            let scope = engine::store::WebhookScope::from_key(&scope);
            text(engine.add_webhook(&scope, &url, &secret.0).map(|hook| {
                format!(
                    "webhook {}: mail to {} is posted to {}\nsecret (signs each call in \
                     X-Postern-Signature): {}\n",
                    hook.id,
                    hook.scope.key(),
                    hook.url,
                    hook.secret
                )
            }))
        }
        Request::Outbox { user } => text(engine.waiting(&user).map(|waiting| {
            lines(waiting.into_iter().map(|w| {
                format!(
                    "{}  {}  to {}  {}",
                    w.id,
                    engine::mail::date::rfc3339(w.release_at),
                    w.recipients.join(", "),
                    w.subject
                )
            }))
        })),
        Request::Snooze {
            user,
            mailbox,
            uid,
            until,
        } => {
            let until = engine::snooze::parse_time(&until)
                .or_else(|| {
                    engine::units::parse_duration(&until)
                        .ok()
                        .map(|d| unix_now().saturating_add_unsigned(d.as_secs()))
                })
                .ok_or_else(|| {
                    engine::Error::Invalid(format!(
                        "{until:?} is neither a time (2026-12-08T09:00Z) nor a length of time (3h)"
                    ))
                });
            text(until.and_then(|until| {
                engine.snooze(&user, &mailbox, uid, until).map(|snoozed| {
                    format!(
                        "snoozed until {}: message {snoozed} in {}",
                        engine::mail::date::rfc3339(until),
                        engine::snooze::MAILBOX
                    )
                })
            }))
        }
        Request::SnoozeList { user } => text(engine.snoozed(&user).map(|snoozed| {
            lines(snoozed.into_iter().map(|s| {
                format!(
                    "{}  until {}  from {}  {}",
                    s.uid,
                    engine::mail::date::rfc3339(s.until),
                    s.from,
                    s.subject
                )
            }))
        })),
        Request::SnoozeWake { user, uid } => text(
            engine
                .wake_now(&user, uid)
                .map(|inbox| format!("back in the INBOX as message {inbox}")),
        ),
        Request::OutboxCancel { user, id } => text(
            engine
                .cancel_held(&user, id)
                .map(|w| format!("{id} ({}) is cancelled: it never goes", w.subject)),
        ),
        Request::UndoSend { email, seconds } => text(engine.set_undo_seconds(&email, seconds).map(
            |()| match seconds {
                0 => format!("mail from {email} goes at once"),
                s => format!("mail from {email} waits {s} s, to be taken back"),
            },
        )),
        Request::WebhookList => text(engine.webhooks().and_then(|hooks| {
            let only = engine.webhook_only_domains()?;
            let mut out = lines(hooks.into_iter().map(|listed| {
                let hook = listed.webhook;
                format!(
                    "{}  {}  {}  {} waiting",
                    hook.id,
                    hook.scope.key(),
                    hook.url,
                    listed.waiting
                )
            }));
            for domain in only {
                out.push_str(&format!("webhook-only domain: {domain}\n"));
            }
            Ok(out)
        })),
        Request::WebhookRemove { id } => text(
            engine
                .remove_webhook(id)
                .map(|()| format!("webhook {id} removed")),
        ),
        Request::WebhookRetry { id } => text(
            engine
                .retry_webhook(id)
                .map(|n| format!("{n} calls of webhook {id} are made again now")),
        ),
        Request::WebhookLog { id, limit } => text(engine.webhook_log(id, limit).map(|log| {
            lines(log.into_iter().map(|a| {
                let status = a.status.map_or_else(|| "-".to_string(), |s| s.to_string());
                let outcome = match a.outcome {
                    engine::store::AttemptOutcome::Delivered => "delivered".to_string(),
                    engine::store::AttemptOutcome::Retrying(at) => {
                        format!("retrying at {}", engine::mail::date::rfc3339(at))
                    }
                    engine::store::AttemptOutcome::Failed => "given up".to_string(),
                };
                format!(
                    "{}  attempt {}  {status}  {outcome}  {}  {}",
                    engine::mail::date::rfc3339(a.time),
                    a.attempt,
                    a.label,
                    a.detail
                )
            }))
        })),
        Request::DomainWebhookOnly { name, on } => {
            text(engine.set_webhook_only(&name, on).map(|()| match on {
                true => format!("mail to {name} goes to its webhooks only, never to mailboxes"),
                false => format!("mail to {name} goes to mailboxes (and webhooks)"),
            }))
        }
        Request::Screener { user, on } => text(engine.set_screener(&user, on).map(|()| match on {
            true => {
                format!("the Screener of {user} is on: mail from new senders waits in Screener")
            }
            false => format!("the Screener of {user} is off"),
        })),
        Request::ScreenerList { user } => text(engine.screen(&user).map(|screen| {
            let mut out = format!("Screener: {}\n", if screen.on { "on" } else { "off" });
            for (sender, count) in &screen.waiting {
                out.push_str(&format!("waiting   {sender} ({count} messages)\n"));
            }
            for sender in &screen.approved {
                out.push_str(&format!("approved  {sender}\n"));
            }
            for sender in &screen.rejected {
                out.push_str(&format!("rejected  {sender}\n"));
            }
            out
        })),
        Request::Judge {
            user,
            sender,
            approve,
        } => {
            let verdict = match approve {
                true => engine::store::Verdict::Approved,
                false => engine::store::Verdict::Rejected,
            };
            text(engine.judge_sender(&user, &sender, verdict).map(|moved| {
                let (word, place) = if approve {
                    ("approved", "INBOX")
                } else {
                    ("rejected", "Junk")
                };
                format!("{sender} is {word} for {user}; {moved} waiting messages moved to {place}")
            }))
        }
        Request::AliasRemove { source, target } => text(
            engine
                .remove_alias(&source, &target)
                .map(|()| format!("removed alias {source} -> {target}")),
        ),
        Request::Share {
            owner,
            collection,
            address_book,
            sharee,
            access,
        } => {
            let kind = if address_book {
                CollectionKind::AddressBook
            } else {
                CollectionKind::Calendar
            };
            let what = engine::dav::share::kind_name(kind);
            let access = access.map(|access| match access {
                ShareAccess::Read => Access::Read,
                ShareAccess::ReadWrite => Access::ReadWrite,
            });
            text(
                engine
                    .share(&owner, kind, &collection, &sharee, access)
                    .map(|()| match access {
                        Some(Access::Read) => {
                            format!("{sharee} can now read {owner}'s {what} {collection}")
                        }
                        Some(Access::ReadWrite) => {
                            format!(
                                "{sharee} can now read and change {owner}'s {what} {collection}"
                            )
                        }
                        None => format!(
                            "{owner}'s {what} {collection} is no longer shared with {sharee}"
                        ),
                    }),
            )
        }
        Request::ShareList { owner } => text(engine.shares(&owner).map(|shares| {
            lines(shares.into_iter().map(|share| {
                let access = match share.access {
                    Access::Read => "read",
                    Access::ReadWrite => "read-write",
                };
                format!(
                    "{} {} -> {} ({access})",
                    engine::dav::share::kind_name(share.kind),
                    share.collection,
                    share.sharee
                )
            }))
        })),
        Request::Export { email, dir } => maildir::export(engine, &email, &dir)
            .map(|n| format!("exported {n} messages of {email} to {}", dir.display())),
        Request::Import { email, dir } => {
            maildir::import(engine, &email, &dir, progress).map(|imported| {
                let mut said = format!(
                    "imported {} messages into {email} from {}",
                    imported.added,
                    dir.display()
                );
                if imported.skipped > 0 {
                    let _ = write!(said, "; {} were there already", imported.skipped);
                }
                said
            })
        }
        Request::Queue(request) => queue(engine, transports, request),
        Request::Dkim(request) => dkim(engine, request),
        Request::Ban(request) => ban(engine, request),
        Request::Token(request) => token(engine, request),
        Request::Sieve(request) => sieve(engine, request),
        Request::Dns {
            domain,
            check,
            format,
        } => dns(engine, &domain, check, format),
        Request::Health => serde_json::to_string_pretty(&engine::web::status::report(engine))
            .map_err(|e| e.to_string()),
        Request::Backup { dest } => engine
            .store()
            .backup(&dest)
            .map(|copied| {
                format!(
                    "backed up {} rows and {} message bodies ({}) into {}, each body read back \
                     and checked",
                    copied.rows,
                    copied.bodies,
                    size(copied.bytes),
                    dest.display()
                )
            })
            .map_err(|e| e.to_string()),
        Request::Audit { since, user, json } => {
            let entries = engine
                .audit_entries(since, user.as_deref())
                .map_err(|e| e.to_string())?;
            Ok(audit_text(&entries, json))
        }
    }
}

/// Audit entries one per line: `time kind actor [client] detail`, or JSON objects.
fn audit_text(entries: &[engine::store::AuditEntry], json: bool) -> String {
    let mut out = String::new();
    for entry in entries {
        if json {
            let object = serde_json::json!({
                "time": entry.time,
                "kind": entry.kind,
                "actor": entry.actor,
                "client": entry.client,
                "detail": entry.detail,
            });
            let _ = writeln!(out, "{object}");
        } else {
            let client = entry.client.as_deref().unwrap_or("-");
            let time = engine::mail::date::rfc5322(entry.time);
            let _ = writeln!(
                out,
                "{time}  {}  {}  {client}  {}",
                entry.kind, entry.actor, entry.detail
            );
        }
    }
    out
}

/// `postern dns`: zone-file lines, each after a comment saying what it is for (and, with
/// `check`, what DNS has now), a table or JSON.
fn dns<S: Store>(
    engine: &Engine<S>,
    domain: &str,
    check: bool,
    format: DnsFormat,
) -> Result<String, String> {
    let wanted = engine.wanted_records(domain).map_err(|e| e.to_string())?;
    let found = if check {
        engine
            .check_records(&wanted)
            .into_iter()
            .map(Some)
            .collect()
    } else {
        vec![None; wanted.len()]
    };
    match format {
        DnsFormat::Table => return Ok(dns_table(&wanted, &found)),
        DnsFormat::Json => return Ok(dns_json(&wanted, &found)),
        DnsFormat::Zone => {}
    }
    let mut out = String::new();
    for (record, found) in wanted.iter().zip(found) {
        let _ = writeln!(out, "; {}", record.why);
        if let Some(found) = found {
            let (state, detail) = found.describe();
            match detail {
                Some(detail) => {
                    let _ = writeln!(out, "; in DNS now: {state}: {detail}");
                }
                None => {
                    let _ = writeln!(out, "; in DNS now: {state}");
                }
            }
        }
        match record.kind {
            // The server's addresses, when it listens on public ones; else for the
            // operator to fill in.
            "A/AAAA" => {
                let addresses: Vec<std::net::IpAddr> = record
                    .value
                    .split(", ")
                    .filter_map(|a| a.parse().ok())
                    .collect();
                if addresses.is_empty() {
                    let _ = writeln!(out, "; {} IN A and AAAA: {}", record.name, record.value);
                }
                for address in addresses {
                    let kind = if address.is_ipv4() { "A" } else { "AAAA" };
                    let _ = writeln!(out, "{} IN {kind} {address}", record.name);
                }
            }
            // Published by whoever holds the address block.
            "PTR" => {
                let _ = writeln!(out, "; {} IN PTR {}", record.name, record.value);
            }
            kind => {
                let _ = writeln!(out, "{} IN {kind} {}", record.name, record.value);
            }
        }
    }
    Ok(out)
}

/// The records as a JSON array, with what DNS has when checked (`found`: a word and what
/// it saw).
fn dns_json(wanted: &[Wanted], found: &[Option<Found>]) -> String {
    let records: Vec<serde_json::Value> = wanted
        .iter()
        .zip(found)
        .map(|(record, found)| {
            let found = found.as_ref().map(|found| {
                let (state, detail) = found.describe();
                serde_json::json!({ "state": state, "detail": detail })
            });
            serde_json::json!({
                "type": record.kind,
                "name": record.name,
                "value": record.value,
                "why": record.why,
                "found": found,
            })
        })
        .collect();
    serde_json::to_string_pretty(&records).unwrap_or_default()
}

/// The records as aligned columns: type, name, value, and what DNS has when checked.
fn dns_table(wanted: &[Wanted], found: &[Option<Found>]) -> String {
    let width = |column: &dyn Fn(&Wanted) -> usize| wanted.iter().map(column).max().unwrap_or(0);
    let (kinds, names) = (width(&|r| r.kind.len()), width(&|r| r.name.len()));
    let mut out = format!("{:kinds$}  {:names$}  VALUE", "TYPE", "NAME");
    if found.iter().any(Option::is_some) {
        out.push_str("  (IN DNS NOW)");
    }
    out.push('\n');
    for (record, found) in wanted.iter().zip(found) {
        let _ = write!(
            out,
            "{:kinds$}  {:names$}  {}",
            record.kind, record.name, record.value
        );
        if let Some(found) = found {
            let _ = write!(out, "  ({})", found.describe().0);
        }
        out.push('\n');
    }
    out
}

/// `postern token`.
fn token<S: Store>(engine: &Engine<S>, request: TokenRequest) -> Result<String, String> {
    let text = |r: Result<String, engine::Error>| r.map_err(|e| e.to_string());
    match request {
        TokenRequest::Create { user, note } => {
            let scope = user.map_or(TokenScope::Admin, TokenScope::User);
            text(engine.create_token(scope, &note).map(|(secret, token)| {
                format!(
                    "made token {} ({})
{secret}
Keep it now: it is not shown again.
",
                    token_id(&token),
                    scope_text(&token.scope)
                )
            }))
        }
        TokenRequest::List => text(engine.tokens().map(|tokens| {
            let mut out = String::new();
            for token in &tokens {
                let _ = writeln!(
                    out,
                    "{}  {}  made {}  {}",
                    token_id(token),
                    scope_text(&token.scope),
                    day(token.created),
                    token.note
                );
            }
            let _ = writeln!(out, "{} tokens", tokens.len());
            out
        })),
        TokenRequest::Revoke { id } => text(
            engine
                .revoke_token(&id)
                .map(|token| format!("revoked token {}", token_id(&token))),
        ),
    }
}

fn sieve<S: Store>(engine: &Engine<S>, request: SieveRequest) -> Result<String, String> {
    let text = |r: Result<String, engine::Error>| r.map_err(|e| e.to_string());
    match request {
        SieveRequest::Put {
            user,
            name,
            source,
            activate,
        } => text(
            engine
                .put_sieve_script(&user, &name, &source, activate)
                .map(|()| match activate {
                    true => {
                        format!("stored the Sieve script {name} of {user}; it filters their mail")
                    }
                    false => format!("stored the Sieve script {name} of {user}"),
                }),
        ),
        SieveRequest::List { user } => text(engine.sieve_scripts(&user).map(|scripts| {
            let mut out = String::new();
            for script in &scripts {
                let active = if script.active { "  active" } else { "" };
                let _ = writeln!(
                    out,
                    "{}  {}{active}",
                    script.name,
                    size(script.source.len() as u64)
                );
            }
            if scripts.is_empty() {
                let _ = writeln!(out, "{user} has no Sieve script");
            }
            out
        })),
        SieveRequest::Show { user, name } => {
            text(engine.sieve_scripts(&user).and_then(|scripts| {
                scripts
                    .into_iter()
                    .find(|s| s.name == name)
                    .map(|s| s.source)
                    .ok_or_else(|| {
                        engine::Error::Invalid(format!("{user} has no Sieve script {name}"))
                    })
            }))
        }
        SieveRequest::Activate { user, name } => text(
            engine
                .activate_sieve_script(&user, name.as_deref())
                .map(|()| match &name {
                    Some(name) => format!("the Sieve script {name} filters the mail of {user}"),
                    None => format!("no Sieve script filters the mail of {user}"),
                }),
        ),
        SieveRequest::Remove { user, name } => text(
            engine
                .remove_sieve_script(&user, &name)
                .map(|()| format!("removed the Sieve script {name} of {user}")),
        ),
    }
}

fn scope_text(scope: &TokenScope) -> String {
    match scope {
        TokenScope::Admin => "admin".to_string(),
        TokenScope::User(email) => format!("user {email}"),
    }
}

fn ban<S: Store>(engine: &Engine<S>, request: BanRequest) -> Result<String, String> {
    match request {
        BanRequest::List => {
            let bans = engine.bans().map_err(|e| e.to_string())?;
            if bans.is_empty() {
                return Ok("no bans in force\n".into());
            }
            let mut out = String::new();
            for ban in bans {
                let until = if ban.until == engine::bans::FOREVER {
                    "until lifted".to_string()
                } else {
                    format!("until {}", engine::mail::date::rfc5322(ban.until))
                };
                let _ = writeln!(out, "{}  {until}  {}", ban.network, ban.reason);
            }
            Ok(out)
        }
        BanRequest::Add {
            network,
            seconds,
            reason,
        } => engine
            .ban(&network, seconds, &reason)
            .map(|ban| format!("banned {}", ban.network)),
        BanRequest::Remove { network } => match engine.unban(&network)? {
            true => Ok(format!("lifted the ban of {network}")),
            false => Err(format!("{network} is not banned")),
        },
    }
}

/// `postern queue`.
fn queue<S: Store>(
    engine: &Engine<S>,
    transports: Option<&TransportCounts>,
    request: QueueRequest,
) -> Result<String, String> {
    let text = |r: Result<String, engine::Error>| r.map_err(|e| e.to_string());
    match request {
        QueueRequest::List => text(engine.queue().map(|queue| {
            let now = unix_now();
            let mut out = String::new();
            for message in &queue {
                queue_listing(&mut out, message, now);
            }
            let _ = writeln!(out, "{} queued", queue.len());
            out
        })),
        QueueRequest::Stats => text(engine.queue().map(|queue| {
            let mut out = queue_stats(&queue, unix_now());
            out.push_str(&transport_stats(transports));
            out
        })),
        QueueRequest::Show { id } => text(id.parse().and_then(|id| {
            let message = engine.queued_message(id)?;
            let mut out = String::new();
            queue_listing(&mut out, &message, unix_now());
            let envelope = &message.envelope;
            let _ = writeln!(out, "  size {}", size(message.size));
            if let Some(envid) = &envelope.envid {
                let _ = writeln!(out, "  envid {envid}");
            }
            Ok(out)
        })),
        QueueRequest::Retry { id } => text(id.map(|id| id.parse()).transpose().and_then(|id| {
            let count = engine.retry_queued(id, unix_now())?;
            Ok(format!("{count} recipients due now"))
        })),
        QueueRequest::Delete { id } => text(id.parse().and_then(|id| {
            engine.delete_queued(id)?;
            Ok(format!("removed {id} from the queue"))
        })),
    }
}

/// `postern dkim`.
fn dkim<S: Store>(engine: &Engine<S>, request: DkimRequest) -> Result<String, String> {
    let text = |r: Result<String, engine::Error>| r.map_err(|e| e.to_string());
    match request {
        DkimRequest::Generate {
            domain,
            selector,
            algorithm,
        } => text(
            engine
                .generate_dkim_keys(
                    &domain,
                    selector.as_deref(),
                    algorithm.algorithms(),
                    unix_now(),
                )
                .and_then(|keys| made_keys(&keys)),
        ),
        DkimRequest::Import {
            domain,
            selector,
            pem,
        } => text(
            engine
                .import_dkim_key(&domain, &selector, &pem.0, unix_now())
                .and_then(|key| made_keys(&[key])),
        ),
        DkimRequest::List { domain } => text(engine.dkim_keys(domain.as_deref()).map(|keys| {
            lines(keys.iter().map(|key| {
                format!(
                    "{}  {}  {}  created {}",
                    key.domain,
                    key.selector,
                    key.algorithm,
                    day(key.created)
                )
            }))
        })),
        DkimRequest::Remove { domain, selector } => text(
            engine
                .remove_dkim_key(&domain, &selector)
                .map(|()| format!("removed DKIM key {selector} of {domain}")),
        ),
        DkimRequest::Dns { domain } => text(
            engine
                .dkim_records(&domain)
                .map(|records| dns_records(&domain, &records)),
        ),
    }
}

/// What `postern dkim generate` and `import` say: the keys stored, and their records.
fn made_keys(keys: &[DkimKey]) -> Result<String, engine::Error> {
    let mut out = String::new();
    let mut records = Vec::new();
    for key in keys {
        let _ = writeln!(
            out,
            "added {} key {} for {}",
            key.algorithm, key.selector, key.domain
        );
        records.push((key.clone(), DnsRecord::of(key)?));
    }
    let domain = keys.first().map_or("", |key| key.domain.as_str());
    let _ = writeln!(
        out,
        "Mail from {domain} is signed from now on; receivers can check the signatures once \
         these records are in its DNS zone:"
    );
    out.push_str(&dns_records(domain, &records));
    Ok(out)
}

/// The TXT records of `postern dkim dns`, as zone file lines.
fn dns_records(domain: &str, records: &[(DkimKey, DnsRecord)]) -> String {
    let mut out = format!(
        "; DKIM keys of {domain}: one TXT record each. Some DNS panels want the value as one \
         piece:\n; join the quoted strings, without the quotes and the spaces between them.\n"
    );
    for (_, record) in records {
        out.push_str(&record.zone_line());
        out.push('\n');
    }
    out
}

/// A Unix time as the day it falls on, `2026-07-15`.
fn day(unix_seconds: i64) -> String {
    let (year, month, day) = civil_from_days(unix_seconds.div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}")
}

/// One queued message for `postern queue list`: sender and age, then a line per recipient
/// with where it stands.
fn queue_listing(out: &mut String, message: &QueuedMessage, now: i64) {
    let sender = match message.envelope.sender.as_str() {
        "" => "<>",
        sender => sender,
    };
    let _ = writeln!(
        out,
        "{}  from {sender}  queued {} ago  {}",
        message.id,
        span(now.saturating_sub(message.created)),
        size(message.size)
    );
    if let Some(lease) = &message.lease {
        let _ = writeln!(
            out,
            "  being delivered by node {} (for at most {} more)",
            lease.node,
            span(lease.until.saturating_sub(now))
        );
    }
    for recipient in &message.recipients {
        let state = match recipient.state {
            State::Pending if recipient.next_attempt <= now => "pending, due now".to_string(),
            State::Pending => format!(
                "pending, next try in {}",
                span(recipient.next_attempt.saturating_sub(now))
            ),
            State::Delivered => "delivered".into(),
            State::Failed => "failed".into(),
        };
        let _ = write!(
            out,
            "  {}  {state}  attempts {}",
            recipient.address, recipient.attempts
        );
        if let Some(result) = &recipient.last_result {
            let _ = write!(out, "  last: {result}");
        }
        out.push('\n');
    }
}

/// `postern queue stats`: how much waits, how old, and for which domains.
fn queue_stats(queue: &[QueuedMessage], now: i64) -> String {
    let mut domains: std::collections::BTreeMap<String, usize> = Default::default();
    let (mut pending, mut delivered, mut failed) = (0, 0, 0);
    for recipient in queue.iter().flat_map(|m| &m.recipients) {
        match recipient.state {
            State::Pending => {
                pending += 1;
                *domains.entry(recipient.domain()).or_default() += 1;
            }
            State::Delivered => delivered += 1,
            State::Failed => failed += 1,
        }
    }
    let mut out = format!(
        "{} messages queued, {}\n{pending} recipients pending, {delivered} delivered, \
         {failed} failed (kept until their message is done)\n",
        queue.len(),
        size(queue.iter().map(|m| m.size).sum::<u64>())
    );
    if let Some(oldest) = queue.iter().map(|m| m.created).min() {
        let _ = writeln!(
            out,
            "oldest queued {} ago",
            span(now.saturating_sub(oldest))
        );
    }
    if let Some(next) = queue.iter().filter_map(QueuedMessage::next_attempt).min() {
        let _ = writeln!(out, "next try in {}", span(next.saturating_sub(now)));
    }
    let mut busiest: Vec<(String, usize)> = domains.into_iter().collect();
    busiest.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (domain, count) in busiest.into_iter().take(10) {
        let _ = writeln!(out, "  {count:>6}  {domain}");
    }
    out
}

/// How deliveries went since the server started: the fallbacks of opportunistic TLS, seen.
fn transport_stats(transports: Option<&TransportCounts>) -> String {
    match transports.map(TransportCounts::read) {
        Some(counted) => format!(
            "delivered since the server started: {} over TLS verified, {} over TLS unverified, \
             {} in cleartext\n",
            counted.verified, counted.unverified, counted.cleartext
        ),
        None => {
            "delivered since the server started: not available, the server is not running\n".into()
        }
    }
}

fn lines<I: IntoIterator<Item = String>>(items: I) -> String {
    items.into_iter().fold(String::new(), |mut out, item| {
        out.push_str(&item);
        out.push('\n');
        out
    })
}
