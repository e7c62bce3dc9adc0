//! Quotas: whether a message fits an account. Every protocol asks here before it accepts a
//! message (SMTP at RCPT, IMAP at APPEND); the store checks again, atomically, when it
//! commits, so a race between two deliveries cannot pass a quota either.

use crate::Engine;
use crate::store::{AccountId, Store, StoreError};

/// Whether a message fits an account's quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fit {
    Fits,
    /// Larger than the whole quota: it will never fit.
    TooLarge,
    /// Not now: the account is full, or would be with this message.
    Full,
}

impl<S: Store> Engine<S> {
    /// Whether a message of `size` bytes (unknown: `None`) fits account `id`. An account
    /// that does not exist, or has no quota, fits anything. Each refusal is counted.
    pub(crate) fn quota_fit(&self, id: AccountId, size: Option<u64>) -> Result<Fit, StoreError> {
        let account = self.store.account_by_id(id)?;
        let fit = account
            .and_then(|a| a.quota.map(|quota| fit(a.used, quota, size)))
            .unwrap_or(Fit::Fits);
        if fit != Fit::Fits {
            self.metrics.quota_exceeded();
        }
        Ok(fit)
    }
}

/// The decision for an account using `used` of `quota` bytes.
fn fit(used: u64, quota: u64, size: Option<u64>) -> Fit {
    match size {
        Some(size) if size > quota => Fit::TooLarge,
        Some(size) if used.saturating_add(size) > quota => Fit::Full,
        _ if used >= quota => Fit::Full,
        _ => Fit::Fits,
    }
}

#[cfg(test)]
mod tests {
    use super::{Fit, fit};

    #[test]
    fn fits_full_and_too_large() {
        assert_eq!(fit(0, 100, Some(100)), Fit::Fits);
        assert_eq!(fit(0, 100, Some(101)), Fit::TooLarge);
        assert_eq!(fit(50, 100, Some(51)), Fit::Full);
        assert_eq!(fit(100, 100, None), Fit::Full);
        assert_eq!(fit(99, 100, None), Fit::Fits);
    }
}
