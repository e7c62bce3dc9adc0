//! Retention: a domain may keep mail a limited time (an API-driven domain whose programs
//! read what arrives over HTTP, say), after which it is removed from its accounts as IMAP's
//! EXPUNGE would, sessions told. A background task sweeps the domains that have a limit,
//! at a quarter of the shortest limit (at least every second, at most every ten minutes).

use std::sync::Arc;
use std::time::Duration;

use crate::address::Address;
use crate::io::Executor;
use crate::mail::date::unix_now;
use crate::store::{Store, StoreError};
use crate::{Engine, Error};

/// The longest wait between two sweeps.
const MOST: Duration = Duration::from_secs(600);

/// Messages expunged in one write: a sweep of a large mailbox is a series of short writes.
const BATCH: usize = 1000;

impl<S: Store> Engine<S> {
    /// Keeps mail in `domain`'s accounts for `keep`, or without limit (`None`).
    pub fn set_retention(&self, domain: &str, keep: Option<Duration>) -> Result<(), Error> {
        let domain = Address::parse(&format!("postmaster@{domain}"))?
            .domain()
            .to_string();
        if !self.store.domain_exists(&domain)? {
            return Err(StoreError::NotFound(format!("the domain {domain}")).into());
        }
        let seconds = keep.map(|keep| i64::try_from(keep.as_secs()).unwrap_or(i64::MAX).max(1));
        self.store.set_retention(&domain, seconds)?;
        self.retention_changed.notify(usize::MAX);
        Ok(())
    }

    /// Every domain with a retention, and how long it keeps mail.
    pub fn retentions(&self) -> Result<Vec<(String, Duration)>, Error> {
        Ok(self
            .store
            .retentions()?
            .into_iter()
            .map(|(domain, seconds)| {
                let seconds = u64::try_from(seconds).unwrap_or(0);
                (domain, Duration::from_secs(seconds))
            })
            .collect())
    }

    /// Removes what is past its domain's retention at `now`; how many messages went.
    /// Blocking. One log line per account that lost any.
    pub fn sweep_retention(&self, now: i64) -> Result<usize, StoreError> {
        let mut removed = 0;
        for (domain, seconds) in self.store.retentions()? {
            let before = now.saturating_sub(seconds);
            for account in self.store.accounts(Some(&domain))? {
                let mut gone = 0;
                for mailbox in self.store.mailboxes(account.id)? {
                    let old: Vec<u32> = self
                        .store
                        .messages(mailbox.id)?
                        .into_iter()
                        .filter(|m| m.internal_date < before)
                        .map(|m| m.uid)
                        .collect();
                    for chunk in old.chunks(BATCH) {
                        gone += self.store.expunge(mailbox.id, chunk)?.len();
                    }
                    if !old.is_empty() {
                        self.changes.notify(mailbox.id);
                    }
                }
                if gone > 0 {
                    let user = account.email.as_str();
                    let kept = crate::units::span(seconds);
                    tracing::info!(
                        user,
                        messages = gone,
                        kept,
                        "removed mail past its domain's retention"
                    );
                }
                removed += gone;
            }
        }
        Ok(removed)
    }

    /// How long until the next sweep: a quarter of the shortest retention, within bounds;
    /// the longest wait when no domain has one.
    fn sweep_every(&self) -> Duration {
        let shortest = self
            .store
            .retentions()
            .unwrap_or_default()
            .into_iter()
            .map(|(_, seconds)| u64::try_from(seconds).unwrap_or(u64::MAX))
            .min();
        shortest.map_or(MOST, |seconds| {
            Duration::from_secs(seconds / 4).clamp(Duration::from_secs(1), MOST)
        })
    }
}

/// Sweeps, then waits (less when a retention changes), for ever: the runtime ends it at
/// shutdown.
pub async fn run<S: Store, E: Executor>(engine: Arc<Engine<S>>, executor: E) {
    let sweeper = engine.clone();
    crate::io::every(executor, &engine.retention_changed, move || {
        if let Err(error) = sweeper.sweep_retention(unix_now()) {
            tracing::error!(%error, "cannot remove mail past its retention");
        }
        sweeper.sweep_every()
    })
    .await;
}
