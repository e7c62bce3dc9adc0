//! Logins: passwords checked against their argon2id hashes (once per client burst, thanks to
//! the [`AuthCache`](super::auth_cache::AuthCache)), failures counted per client address and
//! slowed down by the [`AuthThrottle`](super::throttle::AuthThrottle).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use proto_core::login::LoginError;
use proto_core::sasl::Credentials;

use super::password;
use super::throttle::{Busy, MAX_QUEUE};
use crate::Engine;
use crate::address::Address;
use crate::admission::{Report, Source};
use crate::io::Executor;
use crate::mail::date::unix_now;
use crate::metrics::LoginResult;
use crate::store::{Account, Store};

/// Why a login was refused, and how long to wait before saying so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub error: LoginError,
    /// Wait this long before answering: bad credentials are slowed down per client address.
    pub delay: Duration,
}

/// Password verifications running at once, whatever the number of logins: each takes
/// argon2's 19 MiB and a core, so a storm of first logins (every phone reconnecting after a
/// restart) costs this many times that in memory, and the others wait their turn.
pub const VERIFICATIONS_AT_ONCE: usize = 2;

/// Logins of one source checked at once (waiting for their turn included).
const LOGINS_PER_SOURCE: usize = 4;

/// Failed logins from one source (within the throttle's memory, 15 minutes after the last)
/// that get it banned; the next as many again ban it for twice as long. The trusted
/// networks are never banned.
const BAN_AFTER: u32 = 30;

/// Who is logging in: the client's address and the protocol, for the throttle, the log
/// and the audit log.
#[derive(Clone, Copy, Debug)]
pub struct LoginClient {
    pub ip: IpAddr,
    /// `smtp`, `imap`, `pop3`.
    pub protocol: &'static str,
}

/// Where a login stands after the cheap checks.
enum Step {
    /// Decided without argon2: a password verified a moment ago, a directory that cannot
    /// be read.
    Decided(Result<Account, Refusal>),
    /// The password is to be verified against this account's hash.
    Verify(Account),
    /// An unknown user or a disabled account: refused, after a verification against the
    /// decoy hash, so that it takes as long as a wrong password.
    Refuse,
}

impl<S: Store> Engine<S> {
    /// A login up to the costly part. Wrong users, wrong passwords and disabled accounts are
    /// refused alike (a client cannot tell them apart), counted per client address and slowed
    /// down; a directory that cannot be read refuses for now, uncounted.
    fn login_step(&self, username: &str, password: &str, client: LoginClient) -> Step {
        let peer = client.ip;
        let account = match Address::parse(username) {
            Ok(address) => match self.store.account(address.as_str()) {
                Ok(account) => account,
                Err(error) => {
                    tracing::error!(%peer, user = username, %error, "cannot read the account to log in");
                    return Step::Decided(Err(Refusal {
                        error: LoginError::Unavailable,
                        delay: Duration::ZERO,
                    }));
                }
            },
            Err(_) => None,
        };
        match account {
            Some(account) if !account.disabled => {
                let cache = &self.auth_cache;
                if cache.verified(
                    &account.email,
                    &account.password_hash,
                    password,
                    Instant::now(),
                ) {
                    Step::Decided(Ok(self.logged_in(account, client)))
                } else {
                    Step::Verify(account)
                }
            }
            _ => Step::Refuse,
        }
    }

    /// Ends a login whose password `verified` or not.
    fn login_verified(
        &self,
        account: Account,
        password: &str,
        client: LoginClient,
        verified: bool,
    ) -> Result<Account, Refusal> {
        if verified {
            let now = Instant::now();
            (self.auth_cache).remember(&account.email, &account.password_hash, password, now);
            Ok(self.logged_in(account, client))
        } else {
            Err(self.refused(&account.email, client))
        }
    }

    /// Passwords verified against their hashes since start (logins the cache answered are
    /// not counted).
    pub fn password_verifications(&self) -> u64 {
        self.verified_passwords.load(Ordering::Relaxed)
    }

    fn logged_in(&self, account: Account, client: LoginClient) -> Account {
        let (peer, protocol) = (client.ip, client.protocol);
        tracing::info!(%peer, user = %account.email, protocol, "logged in");
        self.auth_throttle.succeeded(client.ip, &account.email);
        self.audit("login", &account.email, Some(client.ip), client.protocol);
        account
    }

    fn refused(&self, username: &str, client: LoginClient) -> Refusal {
        let peer = client.ip;
        let (delay, failures) = self.auth_throttle.failed(peer, username, Instant::now());
        let protocol = client.protocol;
        tracing::warn!(%peer, user = username, protocol, failures, "authentication failed");
        self.audit("login-failed", username, Some(peer), protocol);
        if failures.is_multiple_of(BAN_AFTER) && !self.sender_checks().trusts(peer) {
            self.ban_source(peer, &format!("{failures} failed logins"));
        }
        Refusal {
            error: LoginError::BadCredentials,
            delay,
        }
    }
}

/// Checks `credentials` for any protocol: off the async threads (argon2 is costly), one
/// verification per user at a time (the rest of a burst of the same user's logins then
/// finds it verified), [`VERIFICATIONS_AT_ONCE`] in all, and a refusal only after its delay.
/// Each login is counted by protocol and result.
pub async fn log_in<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    credentials: Credentials,
    client: LoginClient,
) -> Result<Account, LoginError> {
    let result = check_login(engine, executor, credentials, client).await;
    let counted = match &result {
        Ok(_) => LoginResult::Success,
        Err(LoginError::BadCredentials) => LoginResult::Failure,
        Err(_) => LoginResult::Refused,
    };
    engine.metrics().login(client.protocol, counted);
    result
}

async fn check_login<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    credentials: Credentials,
    client: LoginClient,
) -> Result<Account, LoginError> {
    let peer = client.ip;
    if engine.ban_list().banned(peer, unix_now()) {
        return Err(LoginError::Unavailable);
    }
    // A few logins of one source are checked at once, so that the failures of the first
    // are known when the next takes its turn: a burst of connections guesses no faster.
    let source = Source::of(peer);
    let _source_slot = engine
        .logins
        .acquire(&format!("source {source}"), LOGINS_PER_SOURCE)
        .await;
    // A source that failed before waits for its turn, however many connections it has.
    match engine.auth_throttle.turn(peer, Instant::now()) {
        Ok(wait) if wait.is_zero() => {}
        Ok(wait) => executor.sleep(wait).await,
        Err(Busy) => {
            static REFUSED: Report = Report::new();
            if let Some(count) = REFUSED.due() {
                tracing::warn!(%peer, refused = count, "logins refused for now: too many failed logins from one address");
            }
            // Answered after a pause: a refusal is no cheaper to ask for than a guess.
            executor.sleep(MAX_QUEUE).await;
            return Err(LoginError::Unavailable);
        }
    }
    let verdict = {
        let user = credentials.username().to_lowercase();
        // Given back before a refusal's delay: an attacker's wait holds up no one else.
        let _one_per_user = engine.logins.acquire(&user, 1).await;
        let credentials = Arc::new(credentials);
        let step = {
            let (engine, credentials) = (engine.clone(), credentials.clone());
            executor
                .unblock(move || {
                    engine.login_step(credentials.username(), credentials.password(), client)
                })
                .await
        };
        match step {
            Step::Decided(verdict) => verdict,
            Step::Verify(account) => {
                verify(engine, executor, credentials, Some(account), client).await
            }
            Step::Refuse => verify(engine, executor, credentials, None, client).await,
        }
    };
    finish(executor, verdict).await
}

/// Checks the password against `account`'s hash, or refuses after checking it against the
/// decoy (no account): [`VERIFICATIONS_AT_ONCE`] at a time.
async fn verify<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    credentials: Arc<Credentials>,
    account: Option<Account>,
    client: LoginClient,
) -> Result<Account, Refusal> {
    let _turn = engine
        .verifications
        .acquire("", VERIFICATIONS_AT_ONCE)
        .await;
    let engine = engine.clone();
    executor
        .unblock(move || {
            let password = credentials.password();
            engine.verified_passwords.fetch_add(1, Ordering::Relaxed);
            let _verifying = engine.metrics().verifying();
            let hash = account
                .as_ref()
                .map_or(password::decoy(), |a| a.password_hash.as_str());
            let verified = password::verify(password, hash);
            match account {
                Some(account) => engine.login_verified(account, password, client, verified),
                None => Err(engine.refused(credentials.username(), client)),
            }
        })
        .await
}

/// Says the verdict, a refusal only after its delay.
async fn finish<E: Executor>(
    executor: &E,
    verdict: Result<Account, Refusal>,
) -> Result<Account, LoginError> {
    match verdict {
        Ok(account) => Ok(account),
        Err(refusal) => {
            executor.sleep(refusal.delay).await;
            Err(refusal.error)
        }
    }
}
