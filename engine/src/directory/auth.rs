//! Logins: passwords checked against their argon2id hashes (once per client burst, thanks to
//! the [`AuthCache`](super::auth_cache::AuthCache)), failures counted per client address and
//! slowed down by the [`AuthThrottle`](super::throttle::AuthThrottle).

use std::net::IpAddr;
use std::time::Instant;

use super::password;
use crate::Engine;
use crate::address::Address;
use crate::store::{Account, Store};

/// The answer to a login attempt.
#[derive(Debug)]
pub enum AuthOutcome {
    Success(Account),
    /// Wrong user, wrong password or disabled account (indistinguishable to the client);
    /// the caller should wait `delay` before answering.
    Failure {
        delay: std::time::Duration,
    },
}

impl<S: Store> Engine<S> {
    /// Checks a login. Failures are counted per client address and slowed down.
    pub fn authenticate(&self, username: &str, password: &str, peer: IpAddr) -> AuthOutcome {
        let account = Address::parse(username)
            .ok()
            .and_then(|address| self.store.account(address.as_str()).ok().flatten());
        let now = Instant::now();
        let verified = |account: &Account| {
            self.auth_cache
                .verified(&account.email, &account.password_hash, password, now)
                || (password::verify(password, &account.password_hash) && {
                    self.auth_cache
                        .remember(&account.email, &account.password_hash, password, now);
                    true
                })
        };
        match account {
            Some(account) if !account.disabled && verified(&account) => {
                self.auth_throttle.succeeded(peer);
                AuthOutcome::Success(account)
            }
            _ => {
                let (delay, failures) = self.auth_throttle.failed(peer, now);
                tracing::warn!(%peer, user = username, failures, "authentication failed");
                AuthOutcome::Failure { delay }
            }
        }
    }
}
