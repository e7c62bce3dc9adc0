//! Slows down password guessing, per source (an IPv4 address or an IPv6 /64) and per
//! account.
//!
//! A source that failed gets its logins checked one at a time, each further one a step later
//! than the one before: a hundred parallel connections from one address guess no faster than
//! one. Past a wait of [`MAX_QUEUE`] a login is refused for now without being checked. A
//! failure also holds back the answer on its connection. An account that failed from many
//! sources (a guessing botnet) has its failed logins answered later too. A successful login
//! clears the account's record, and the source's only if every failure from there was
//! against that account: an attacker's own account does not wipe its record.
//!
//! Both tables are of bounded size and forget the records touched longest ago
//! ([`Recent`]), so a flood of addresses cannot grow them, nor wipe them at once.

use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::admission::Source;
use crate::recent::Recent;

/// Failures are forgotten this long after the last one.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Each failure adds this much delay, up to [`MAX_DELAY`].
const STEP: Duration = Duration::from_millis(500);
const MAX_DELAY: Duration = Duration::from_secs(8);
/// A login that would wait longer than this for its source's turn is refused for now.
pub const MAX_QUEUE: Duration = Duration::from_secs(30);
/// Sources and accounts remembered.
const CAPACITY: usize = 65_536;

/// What is remembered of a source's failed logins.
#[derive(Debug)]
struct SourceRecord {
    failures: u32,
    last: Instant,
    /// When the next login from this source may be checked.
    next_turn: Instant,
    /// The account every failure was against; `None` once they were against several.
    account: Option<String>,
}

#[derive(Debug)]
struct AccountRecord {
    failures: u32,
    last: Instant,
}

#[derive(Debug)]
pub struct AuthThrottle {
    sources: Mutex<Recent<Source, SourceRecord>>,
    accounts: Mutex<Recent<String, AccountRecord>>,
}

impl Default for AuthThrottle {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

/// A login the source's queue has no room for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl AuthThrottle {
    fn with_capacity(capacity: usize) -> Self {
        AuthThrottle {
            sources: Mutex::new(Recent::new(capacity)),
            accounts: Mutex::new(Recent::new(capacity)),
        }
    }

    /// How long a login from `ip` waits before it is checked: nothing for a source without
    /// recent failures; else its place in the source's queue, which this login takes.
    pub fn turn(&self, ip: IpAddr, now: Instant) -> Result<Duration, Busy> {
        let mut sources = lock(&self.sources);
        let source = Source::of(ip);
        let Some(record) = sources.touch_existing(&source) else {
            return Ok(Duration::ZERO);
        };
        if now.duration_since(record.last) >= FORGET_AFTER {
            sources.remove(&source);
            return Ok(Duration::ZERO);
        }
        let start = record.next_turn.max(now);
        let wait = start.duration_since(now);
        if wait > MAX_QUEUE {
            return Err(Busy);
        }
        record.next_turn = start + delay(record.failures);
        Ok(wait)
    }

    /// Records a failed login from `ip` as `account`; returns how long to hold back the
    /// answer, and the failures from that source.
    pub fn failed(&self, ip: IpAddr, account: &str, now: Instant) -> (Duration, u32) {
        let account = account.to_lowercase();
        let failures = {
            let mut sources = lock(&self.sources);
            let record = sources.touch(Source::of(ip), || SourceRecord {
                failures: 0,
                last: now,
                next_turn: now,
                account: Some(account.clone()),
            });
            if now.duration_since(record.last) >= FORGET_AFTER {
                *record = SourceRecord {
                    failures: 0,
                    last: now,
                    next_turn: now,
                    account: Some(account.clone()),
                };
            }
            record.failures = record.failures.saturating_add(1);
            record.last = now;
            if record.account.as_deref() != Some(account.as_str()) {
                record.account = None;
            }
            record.failures
        };
        let account_failures = {
            let mut accounts = lock(&self.accounts);
            let record = accounts.touch(account, || AccountRecord {
                failures: 0,
                last: now,
            });
            if now.duration_since(record.last) >= FORGET_AFTER {
                record.failures = 0;
            }
            record.failures = record.failures.saturating_add(1);
            record.last = now;
            record.failures
        };
        (delay(failures.max(account_failures)), failures)
    }

    /// A successful login from `ip` as `account`.
    pub fn succeeded(&self, ip: IpAddr, account: &str) {
        let account = account.to_lowercase();
        let source = Source::of(ip);
        let mut sources = lock(&self.sources);
        let own = sources
            .get(&source)
            .is_some_and(|record| record.account.as_deref() == Some(account.as_str()));
        if own {
            sources.remove(&source);
        }
        drop(sources);
        lock(&self.accounts).remove(&account);
    }
}

fn delay(failures: u32) -> Duration {
    STEP.saturating_mul(failures).min(MAX_DELAY)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn delay_grows_and_is_capped() {
        let t = AuthThrottle::default();
        let now = Instant::now();
        let first = t.failed(ip("127.0.0.1"), "a@x", now);
        let second = t.failed(ip("127.0.0.1"), "a@x", now);
        assert_eq!(first, (STEP, 1));
        assert_eq!(second, (STEP * 2, 2));
        for _ in 0..100 {
            t.failed(ip("127.0.0.1"), "a@x", now);
        }
        assert_eq!(t.failed(ip("127.0.0.1"), "a@x", now).0, MAX_DELAY);
    }

    #[test]
    fn parallel_logins_from_one_source_take_turns() {
        let t = AuthThrottle::default();
        let now = Instant::now();
        let attacker = ip("2001:db8:1:2::1");
        assert_eq!(
            t.turn(attacker, now),
            Ok(Duration::ZERO),
            "no record, no wait"
        );
        for _ in 0..4 {
            t.failed(attacker, "victim@x", now);
        }
        // Four failures: each further login is two seconds after the one before, whichever
        // address of the /64 and connection it comes from.
        let waits: Vec<_> = (0..5)
            .map(|i| t.turn(ip(&format!("2001:db8:1:2::{i}")), now).unwrap())
            .collect();
        let step = delay(4);
        assert_eq!(waits, [0, 1, 2, 3, 4].map(|n| step * n));
        for _ in 0..20 {
            let _ = t.turn(attacker, now);
        }
        assert_eq!(t.turn(attacker, now), Err(Busy), "past the queue's bound");
        assert_eq!(t.turn(ip("2001:db8:1:3::1"), now), Ok(Duration::ZERO));
        assert_eq!(
            t.turn(attacker, now + FORGET_AFTER),
            Ok(Duration::ZERO),
            "forgotten in time"
        );
    }

    #[test]
    fn a_success_clears_only_its_own_failures() {
        let t = AuthThrottle::default();
        let now = Instant::now();
        let source = ip("192.0.2.1");
        t.failed(source, "victim@x", now);
        t.failed(source, "victim@x", now);
        t.succeeded(source, "attacker@x");
        assert_eq!(t.failed(source, "victim@x", now).1, 3, "the record stays");

        let user = ip("192.0.2.2");
        t.failed(user, "Me@x", now);
        t.succeeded(user, "me@x");
        assert_eq!(t.failed(user, "me@x", now).1, 1, "a typo forgiven");

        // Failures against an account from many sources slow down its next failure.
        let (delay_for_fresh_source, _) = t.failed(ip("198.51.100.9"), "victim@x", now);
        assert_eq!(delay_for_fresh_source, delay(4));
    }

    #[test]
    fn a_million_sources_fit_in_the_fixed_tables() {
        let t = AuthThrottle::default();
        let now = Instant::now();
        for i in 0..1_000_000u128 {
            let source = IpAddr::V6(((0x2001_0db8_u128 << 96) | (i << 64)).into());
            t.failed(source, "victim@x", now);
        }
        assert_eq!(lock(&t.sources).len(), CAPACITY);
        assert_eq!(lock(&t.accounts).len(), 1);
        for i in 0..1_000_000u32 {
            t.failed(ip("192.0.2.1"), &format!("user{i}@x"), now);
        }
        assert_eq!(lock(&t.accounts).len(), CAPACITY);
    }

    #[test]
    fn a_flood_of_sources_forgets_the_oldest_only() {
        let t = AuthThrottle::with_capacity(100);
        let now = Instant::now();
        let attacker = ip("203.0.113.1");
        for _ in 0..3 {
            t.failed(attacker, "victim@x", now);
        }
        for i in 0..300u32 {
            let v6 = std::net::Ipv6Addr::from((0x2001_0db8_u128 << 96) | (u128::from(i) << 64));
            t.failed(IpAddr::V6(v6), "other@x", now);
            // The attacker keeps trying, and stays the most recent.
            if i % 10 == 0 {
                let _ = t.turn(attacker, now);
            }
        }
        assert!(lock(&t.sources).len() <= 100);
        assert_eq!(t.failed(attacker, "victim@x", now).1, 4, "still remembered");
    }
}
