//! Logins: passwords checked against their argon2id hashes (once per client burst, thanks to
//! the [`AuthCache`](super::auth_cache::AuthCache)), failures counted per client address and
//! slowed down by the [`AuthThrottle`](super::throttle::AuthThrottle).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto_core::login::LoginError;
use proto_core::sasl::Credentials;

use super::password;
use crate::Engine;
use crate::address::Address;
use crate::io::Executor;
use crate::store::{Account, Store};

/// Why a login was refused, and how long to wait before saying so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub error: LoginError,
    /// Wait this long before answering: bad credentials are slowed down per client address.
    pub delay: Duration,
}

impl<S: Store> Engine<S> {
    /// Checks a login. Wrong users, wrong passwords and disabled accounts are refused alike
    /// (a client cannot tell them apart), counted per client address and slowed down; a
    /// directory that cannot be read refuses for now, uncounted.
    pub fn authenticate(
        &self,
        username: &str,
        password: &str,
        peer: IpAddr,
    ) -> Result<Account, Refusal> {
        let account = match Address::parse(username) {
            Ok(address) => self.store.account(address.as_str()).map_err(|error| {
                tracing::error!(%peer, user = username, %error, "cannot read the account to log in");
                Refusal {
                    error: LoginError::Unavailable,
                    delay: Duration::ZERO,
                }
            })?,
            Err(_) => None,
        };
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
                Ok(account)
            }
            _ => {
                let (delay, failures) = self.auth_throttle.failed(peer, now);
                tracing::warn!(%peer, user = username, failures, "authentication failed");
                Err(Refusal {
                    error: LoginError::BadCredentials,
                    delay,
                })
            }
        }
    }
}

/// Checks `credentials` for any protocol: off the async threads (argon2 is costly), and a
/// refusal only after its delay.
pub(crate) async fn log_in<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    credentials: Credentials,
    peer: IpAddr,
) -> Result<Account, LoginError> {
    let engine = engine.clone();
    let verdict = executor
        .unblock(move || engine.authenticate(credentials.username(), credentials.password(), peer))
        .await;
    match verdict {
        Ok(account) => Ok(account),
        Err(refusal) => {
            executor.sleep(refusal.delay).await;
            Err(refusal.error)
        }
    }
}
