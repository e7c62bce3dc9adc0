//! The audit log: what an operator may need to answer "who did what, from where, when":
//! every login and failed login (user, protocol, client address), every ban and lifted ban,
//! every change made with the management commands. Entries are written durably, in the
//! store, before the action's answer; `postern audit` reads them. Entries older than the
//! retention, and the oldest past [`MAX_ENTRIES`], are removed as new ones are written.

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use crate::Engine;
use crate::mail::date::unix_now;
use crate::store::{AuditEntry, Store, StoreError};

/// Entries kept, by default, in seconds (90 days).
pub const DEFAULT_RETENTION: i64 = 90 * 24 * 3600;
/// Old entries are looked for once per this many entries written.
const PRUNE_EVERY: u64 = 1000;
/// The most entries one read returns.
pub const READ_LIMIT: usize = 100_000;
/// The most entries kept, whatever their age: a flood of failed logins (each one an entry)
/// cannot fill the disk. About 100 MB.
pub const MAX_ENTRIES: u64 = 1_000_000;

impl<S: Store> Engine<S> {
    /// Keeps audit entries for `seconds`.
    pub fn set_audit_retention(&mut self, seconds: i64) {
        self.audit_retention = seconds;
    }

    /// Writes an entry. Blocking. A failure to write is logged: the action it records is
    /// not undone for it.
    pub fn audit(&self, kind: &str, actor: &str, client: Option<IpAddr>, detail: &str) {
        let now = unix_now();
        let entry = AuditEntry {
            time: now,
            kind: kind.to_string(),
            actor: actor.to_string(),
            client: client.map(|ip| ip.to_canonical().to_string()),
            detail: detail.to_string(),
        };
        if let Err(error) = self.store.append_audit(&entry) {
            tracing::error!(%error, kind, actor, "cannot write to the audit log");
            return;
        }
        if self
            .audit_written
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(PRUNE_EVERY)
        {
            self.prune_audit(now);
        }
    }

    /// Removes the entries past the retention, and the oldest past [`MAX_ENTRIES`].
    pub fn prune_audit(&self, now: i64) {
        let before = now.saturating_sub(self.audit_retention);
        match self.store.prune_audit(before, MAX_ENTRIES) {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "old audit entries removed"),
            Err(error) => tracing::error!(%error, "cannot remove old audit entries"),
        }
    }

    /// The entries since `since` (Unix seconds), oldest first; only those whose actor is
    /// `user`, when given.
    pub fn audit_entries(
        &self,
        since: i64,
        user: Option<&str>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut entries = self.store.audit_entries(since, READ_LIMIT)?;
        if let Some(user) = user {
            entries.retain(|e| e.actor.eq_ignore_ascii_case(user));
        }
        Ok(entries)
    }
}
