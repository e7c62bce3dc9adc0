//! MTA-STS (RFC 8461): a domain publishes, over HTTPS, which mail exchangers it uses and that
//! mail to it must travel over TLS with a verified certificate. Delivery looks the policy up
//! before it connects, keeps it for its `max_age`, and in `enforce` mode sends only to the
//! listed exchangers over verified TLS — an attacker who can rewrite DNS answers or strip
//! STARTTLS then makes mail wait instead of reading it.

mod fetch;
mod policy;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

pub use policy::{Mode, Policy};

use crate::dns::Resolver;
use crate::io::Dialer;

/// Policies kept at most; the expired ones go first when it is full.
const MAX_POLICIES: usize = 10_000;

/// A policy fetched, under the id its TXT record had then.
#[derive(Clone, Debug)]
struct Cached {
    id: String,
    policy: Policy,
    /// Unix seconds after which it is no longer used.
    expires: i64,
}

/// The policies of the domains mail went to.
#[derive(Debug, Default)]
pub struct PolicyCache {
    policies: Mutex<HashMap<String, Cached>>,
}

impl PolicyCache {
    /// The policy of `domain` at `now`, if it has one: the cached one while its TXT record
    /// keeps the same id and it has not expired, else fetched anew. When the lookup or the
    /// fetch fails, a cached policy still in force is used (RFC 8461 5.1); with none, the
    /// domain is treated as having no policy.
    pub async fn policy<D: Dialer>(
        &self,
        resolver: &dyn Resolver,
        dialer: &D,
        domain: &str,
        port: u16,
        now: i64,
    ) -> Option<Policy> {
        let cached = self.cached(domain, now);
        let records = match resolver.txt(&format!("_mta-sts.{domain}")).await {
            Ok(records) => records,
            Err(_) => return cached.map(|c| c.policy),
        };
        let Some(id) = policy::record_id(&records) else {
            return cached.map(|c| c.policy);
        };
        if let Some(cached) = cached.as_ref().filter(|c| c.id == id) {
            return Some(cached.policy.clone());
        }
        let fetched = fetch::fetch(resolver, dialer, domain, port, Duration::from_secs(30)).await;
        match fetched.and_then(|text| Policy::parse(&text)) {
            Ok(policy) => {
                let expires = now.saturating_add(i64::try_from(policy.max_age).unwrap_or(0));
                self.keep(
                    domain,
                    Cached {
                        id,
                        policy: policy.clone(),
                        expires,
                    },
                );
                Some(policy)
            }
            Err(error) => {
                tracing::info!(domain, %error, "no usable MTA-STS policy");
                cached.map(|c| c.policy)
            }
        }
    }

    fn cached(&self, domain: &str, now: i64) -> Option<Cached> {
        let policies = self.policies.lock().unwrap_or_else(|e| e.into_inner());
        policies.get(domain).filter(|c| c.expires > now).cloned()
    }

    fn keep(&self, domain: &str, cached: Cached) {
        let mut policies = self.policies.lock().unwrap_or_else(|e| e.into_inner());
        if policies.len() >= MAX_POLICIES && !policies.contains_key(domain) {
            let now = crate::mail::date::unix_now();
            policies.retain(|_, c| c.expires > now);
            if policies.len() >= MAX_POLICIES {
                return;
            }
        }
        policies.insert(domain.to_string(), cached);
    }
}
