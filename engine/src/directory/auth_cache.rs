//! Remembers recent successful logins, so that a client opening several connections (mail
//! apps open one per folder they watch) pays for argon2 once, not every time. Like Dovecot's
//! auth cache, entries are short-lived; an entry also names the stored hash it was checked
//! against, so a password change invalidates it at once.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// How long a verified password is trusted without running argon2 again.
const TRUST_FOR: Duration = Duration::from_secs(10 * 60);
/// Bound on remembered logins.
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    /// The stored PHC hash the password was verified against.
    stored_hash: String,
    /// SHA-256 of this process's salt and the password: the password itself is never kept.
    digest: [u8; 32],
    verified_at: Instant,
}

pub struct AuthCache {
    salt: [u8; 16],
    entries: Mutex<HashMap<String, Entry>>,
}

impl Default for AuthCache {
    fn default() -> Self {
        // A per-process secret; std seeds RandomState from the operating system.
        let random = |n: u64| RandomState::new().hash_one(n).to_le_bytes();
        let mut salt = [0; 16];
        salt[..8].copy_from_slice(&random(1));
        salt[8..].copy_from_slice(&random(2));
        AuthCache {
            salt,
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl AuthCache {
    fn digest(&self, password: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.salt);
        hasher.update(password.as_bytes());
        hasher.finalize().into()
    }

    /// Whether `password` was verified for `email` against `stored_hash` recently.
    pub fn verified(&self, email: &str, stored_hash: &str, password: &str, now: Instant) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(email).is_some_and(|entry| {
            entry.stored_hash == stored_hash
                && now.duration_since(entry.verified_at) < TRUST_FOR
                && entry.digest == self.digest(password)
        })
    }

    /// Remembers a successful verification.
    pub fn remember(&self, email: &str, stored_hash: &str, password: &str, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| now.duration_since(e.verified_at) < TRUST_FOR);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            email.to_string(),
            Entry {
                stored_hash: stored_hash.to_string(),
                digest: self.digest(password),
                verified_at: now,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusts_only_the_same_password_and_hash_for_a_while() {
        let cache = AuthCache::default();
        let now = Instant::now();
        cache.remember("a@x.test", "$hash1", "secret", now);
        assert!(cache.verified("a@x.test", "$hash1", "secret", now));
        assert!(!cache.verified("a@x.test", "$hash1", "wrong", now));
        assert!(
            !cache.verified("a@x.test", "$hash2", "secret", now),
            "password changed"
        );
        assert!(!cache.verified("b@x.test", "$hash1", "secret", now));
        assert!(!cache.verified("a@x.test", "$hash1", "secret", now + TRUST_FOR));
    }
}
