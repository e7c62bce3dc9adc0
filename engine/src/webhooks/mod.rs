//! Webhooks: mail to an address, or to anyone in a domain, reported to a program over HTTP.
//!
//! At delivery each accepted recipient with a webhook (its address's, else its domain's)
//! adds a call to that webhook, committed with the message (so `250` means the call is as
//! durable as the message): one JSON document per message and webhook ([`payload`]),
//! naming the recipients it is for. A domain may be *webhook-only*: its mail is never
//! stored in mailboxes, and only addresses with a webhook take mail. An address webhook
//! also makes its address take mail in a domain that stores it.
//!
//! [`dispatch`] makes the calls: a `POST` signed with HMAC-SHA256 of the body under the
//! webhook's secret (hex, in `X-Postern-Signature`), retried with backoff until the
//! receiver answers 2xx or the attempts run out, each attempt in the webhook's log.
//! Webhooks are the administrator's: a receiver's URL is fetched by the server.

use std::collections::BTreeMap;

use crate::address::Address;
use crate::delivery::Arriving;
use crate::mail::date::unix_now;
use crate::queue::OutboundEnvelope;
use crate::store::{
    NewWebhookCall, Spool, Store, StoreError, WEBHOOK_LOG_KEPT, Webhook, WebhookAttempt,
    WebhookScope,
};
use crate::{Engine, Error, Folder};

pub mod dispatch;
pub mod payload;
mod target;

pub use dispatch::{WebhookConfig, run};
pub use target::Target;

/// Webhooks a server keeps at most: each recipient's lookup is one read whatever their
/// number, but the panel and the dispatcher list them.
pub const MAX_WEBHOOKS: usize = 1000;

/// The longest secret taken; HMAC takes any, and this keeps records small.
const MAX_SECRET: usize = 256;

/// A webhook as listed: with how many of its calls wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub webhook: Webhook,
    pub waiting: u64,
}

/// A recipient whose mail a webhook reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hooked {
    pub webhook: u64,
    /// The address as the sender gave it.
    pub address: String,
}

impl<S: Store> Engine<S> {
    /// Adds a webhook for `scope` (an address, or a local domain) posting to `url`, signed
    /// with `secret` (one is made when empty); it is returned with its secret.
    pub fn add_webhook(
        &self,
        scope: &WebhookScope,
        url: &str,
        secret: &str,
    ) -> Result<Webhook, Error> {
        Target::parse(url).map_err(Error::Invalid)?;
        let scope = match scope {
            WebhookScope::Address(address) => {
                WebhookScope::Address(Address::parse(address)?.as_str().to_ascii_lowercase())
            }
            WebhookScope::Domain(domain) => {
                let parsed = Address::parse(&format!("postmaster@{domain}"))?;
                WebhookScope::Domain(parsed.domain().to_string())
            }
        };
        let domain = match &scope {
            WebhookScope::Address(address) => address.rsplit_once('@').map_or("", |(_, d)| d),
            WebhookScope::Domain(domain) => domain,
        };
        if !self.store.domain_exists(domain)? {
            return Err(Error::Invalid(format!("{domain} is not a local domain")));
        }
        if secret.len() > MAX_SECRET || secret.chars().any(char::is_control) {
            return Err(Error::Invalid(format!(
                "a secret is at most {MAX_SECRET} printable characters"
            )));
        }
        if self.store.webhooks()?.len() >= MAX_WEBHOOKS {
            return Err(Error::Invalid(format!(
                "the server has {MAX_WEBHOOKS} webhooks, the most it keeps"
            )));
        }
        let secret = match secret {
            "" => {
                let mut random = [0u8; 32];
                getrandom::fill(&mut random)
                    .map_err(|e| Error::Invalid(format!("no randomness for a secret: {e}")))?;
                random.iter().map(|b| format!("{b:02x}")).collect()
            }
            given => given.to_string(),
        };
        Ok(self.store.add_webhook(&scope, url, &secret, unix_now())?)
    }

    /// Every webhook, with its waiting calls.
    pub fn webhooks(&self) -> Result<Vec<Listed>, Error> {
        let waiting = self.store.webhook_calls_waiting()?;
        Ok(self
            .store
            .webhooks()?
            .into_iter()
            .map(|webhook| Listed {
                waiting: waiting.get(&webhook.id).copied().unwrap_or(0),
                webhook,
            })
            .collect())
    }

    /// Removes a webhook with its waiting calls and log.
    pub fn remove_webhook(&self, id: u64) -> Result<(), Error> {
        match self.store.remove_webhook(id)? {
            true => Ok(()),
            false => Err(StoreError::NotFound(format!("webhook {id}")).into()),
        }
    }

    /// Makes a webhook's waiting calls due now (its receiver is back); how many.
    pub fn retry_webhook(&self, id: u64) -> Result<u64, Error> {
        if !self.store.webhooks()?.iter().any(|w| w.id == id) {
            return Err(StoreError::NotFound(format!("webhook {id}")).into());
        }
        let retried = self.store.retry_webhook_calls(id, unix_now())?;
        self.webhook_calls.notify(usize::MAX);
        Ok(retried)
    }

    /// A webhook's latest attempts, newest first.
    pub fn webhook_log(&self, id: u64, limit: usize) -> Result<Vec<WebhookAttempt>, Error> {
        if !self.store.webhooks()?.iter().any(|w| w.id == id) {
            return Err(StoreError::NotFound(format!("webhook {id}")).into());
        }
        Ok(self.store.webhook_log(id, limit.min(WEBHOOK_LOG_KEPT))?)
    }

    /// Makes `domain`'s mail go to its webhooks only (`on`), or into mailboxes again.
    pub fn set_webhook_only(&self, domain: &str, on: bool) -> Result<(), Error> {
        let domain = Address::parse(&format!("postmaster@{domain}"))?
            .domain()
            .to_string();
        if !self.store.domain_exists(&domain)? {
            return Err(StoreError::NotFound(format!("the domain {domain}")).into());
        }
        Ok(self.store.set_webhook_only(&domain, on)?)
    }

    /// The domains whose mail goes to webhooks only.
    pub fn webhook_only_domains(&self) -> Result<Vec<String>, Error> {
        Ok(self.store.webhook_only_domains()?)
    }

    /// The calls that report a message to the webhooks of its `hooked` recipients: one per
    /// webhook, naming the recipients it is for; the message's text and attachments when
    /// it is in memory whole (delivery reads one up to [`payload::MAX_PARSED`] back).
    pub(crate) fn hook_calls<W: Spool>(
        &self,
        arriving: &Arriving<'_, W>,
        envelope: &OutboundEnvelope,
        hooked: &[Hooked],
        folder: Folder,
        now: i64,
    ) -> Vec<NewWebhookCall> {
        if hooked.is_empty() {
            return Vec::new();
        }
        let mut by_hook: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for h in hooked {
            let addresses = by_hook.entry(h.webhook).or_default();
            if !addresses.contains(&h.address) {
                addresses.push(h.address.clone());
            }
        }
        let spool = arriving.spool;
        let size = spool.size();
        let message = payload::Delivered {
            mail_from: &envelope.sender,
            received: now,
            prepended: spool.prepended(),
            header: spool.header().unwrap_or_default(),
            whole: arriving.whole.filter(|_| size <= payload::MAX_PARSED),
            size,
            junk: folder == Folder::Junk,
        };
        let common = payload::common(&message);
        let from = match envelope.sender.as_str() {
            "" => "<>",
            sender => sender,
        };
        by_hook
            .into_iter()
            .map(|(webhook, recipients)| NewWebhookCall {
                webhook,
                created: now,
                label: format!("{from} → {}", recipients.join(", ")),
                payload: payload::for_recipients(&common, &recipients),
            })
            .collect()
    }

    /// The webhook of a recipient: its address's (with or without `+detail`), else its
    /// domain's.
    pub(crate) fn webhook_of(&self, address: &Address) -> Result<Option<Webhook>, StoreError> {
        let mut keys = vec![address.as_str().to_string()];
        keys.extend(
            address
                .without_detail()
                .map(|base| base.as_str().to_string()),
        );
        keys.push(format!("@{}", address.domain()));
        self.store.webhook_for(&keys)
    }
}
