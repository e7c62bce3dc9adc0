//! Greylisting: the first message from an unknown (client network, sender, recipient)
//! triplet is told to try again later. Real mail servers retry after a few minutes and are
//! let through from then on; most spam software never retries.
//!
//! A client network is its IPv4 /24 or IPv6 /64, because large senders retry from another
//! address of the same pool. Triplets live in a table of bounded size that forgets the
//! one touched longest ago: a flood of new triplets costs at most its capacity. Nodes that
//! share their queue in Redis share their triplets there too ([`SharedGreylist`]), so a
//! sender retrying through another MX node is not greylisted again.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::recent::Recent;
use crate::store::{GreylistPass, StoreResult};

/// Triplets remembered: about 200 bytes each. The store keeps no more of those that got
/// through than this either.
pub const CAPACITY: usize = 100_000;
/// The store's triplets are pruned once every this many recorded.
const PRUNE_EVERY: u64 = 1_000;
/// The longest address kept in a triplet; longer ones are cut (they still compare equal
/// to themselves).
const ADDRESS_MAX: usize = 256;

/// How greylisting is set up (`[greylisting]`).
#[derive(Clone, Debug)]
pub struct GreylistConfig {
    pub enabled: bool,
    /// How long a new triplet must wait before a retry is accepted, in seconds.
    pub min_delay: i64,
    /// How long a triplet that got through is remembered after its last message, and how
    /// long a retry is waited for, in seconds.
    pub max_age: i64,
}

impl Default for GreylistConfig {
    fn default() -> Self {
        GreylistConfig {
            enabled: false,
            min_delay: 5 * 60,
            max_age: 35 * 24 * 3600,
        }
    }
}

/// What greylisting says of a recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Greylisting {
    Pass,
    /// Try again in this many seconds.
    Wait(i64),
}

/// What greylisting tells apart: the client's network, the envelope sender (lower-cased,
/// empty for the null sender) and the recipient.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Triplet {
    /// Its IPv4 /24 or IPv6 /64, host bits cleared.
    pub network: IpAddr,
    pub sender: Box<str>,
    pub recipient: Box<str>,
}

/// Triplets kept where several nodes see them (`[queue] backend = "redis"`). Calls block;
/// they are made on the blocking pool.
pub trait SharedGreylist: Send + Sync + 'static {
    /// Decides a message of `triplet` at `now` (Unix seconds) under `config`, and
    /// remembers it, as the node's own table does.
    fn check(
        &self,
        triplet: &Triplet,
        now: i64,
        config: &GreylistConfig,
    ) -> StoreResult<Greylisting>;
}

#[derive(Clone, Copy, Debug)]
struct Seen {
    first: i64,
    last: i64,
    passed: bool,
    /// When the store last had the triplet's latest message; `None`: never.
    recorded: Option<i64>,
}

/// A passed triplet's latest message is recorded in the store again after this long, in
/// seconds: often enough for `max_age`, rarely enough not to write for every message.
const RECORD_EVERY: i64 = 24 * 3600;

/// The triplets seen.
pub struct Greylist {
    config: GreylistConfig,
    seen: Mutex<Recent<Triplet, Seen>>,
    /// Passes recorded in the store since start.
    recorded: AtomicU64,
    /// Where the nodes sharing a queue keep their triplets; this node's own table decides
    /// while it cannot be reached.
    pub(super) shared: Option<Arc<dyn SharedGreylist>>,
    /// The shared triplets failed the last time they were asked (logged once per outage).
    shared_down: AtomicBool,
}

impl Default for Greylist {
    fn default() -> Self {
        Greylist::new(GreylistConfig::default())
    }
}

impl Greylist {
    pub fn new(config: GreylistConfig) -> Self {
        Greylist {
            config,
            seen: Mutex::new(Recent::new(CAPACITY)),
            recorded: AtomicU64::new(0),
            shared: None,
            shared_down: AtomicBool::new(false),
        }
    }

    /// Keeps the triplets in `shared` from now on.
    pub fn share(&mut self, shared: Arc<dyn SharedGreylist>) {
        self.shared = Some(shared);
    }

    /// Counts a pass recorded in the store; whether it is time to prune the store's.
    pub fn recorded_one(&self) -> bool {
        let count = self.recorded.fetch_add(1, Ordering::Relaxed) + 1;
        count.is_multiple_of(PRUNE_EVERY)
    }

    pub fn config(&self) -> &GreylistConfig {
        &self.config
    }

    /// Decides a message from `ip` with envelope `sender` to `recipient` at `now` (Unix
    /// seconds), and remembers it. A triplet that got through comes with the record to
    /// keep in the store, when it is new or its record old.
    pub fn check(
        &self,
        ip: IpAddr,
        sender: &str,
        recipient: &str,
        now: i64,
    ) -> (Greylisting, Option<GreylistPass>) {
        if !self.config.enabled {
            return (Greylisting::Pass, None);
        }
        let triplet = Triplet {
            network: network(ip),
            sender: normalized(sender),
            recipient: normalized(recipient),
        };
        if let Some(shared) = &self.shared {
            match shared.check(&triplet, now, &self.config) {
                Ok(verdict) => {
                    if self.shared_down.swap(false, Ordering::Relaxed) {
                        tracing::info!("greylisting's shared triplets answer again");
                    }
                    return (verdict, None);
                }
                Err(error) if !self.shared_down.swap(true, Ordering::Relaxed) => {
                    tracing::warn!(%error, "greylisting's shared triplets do not answer: this node decides alone meanwhile");
                }
                Err(_) => {}
            }
        }
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = seen.touch(triplet.clone(), || Seen::new(now));
        if now - entry.last > self.config.max_age {
            // Gone quiet for too long (or a retry that never came): start again.
            *entry = Seen::new(now);
        }
        entry.last = now;
        let waited = now - entry.first;
        if !entry.passed && waited < self.config.min_delay {
            return (Greylisting::Wait(self.config.min_delay - waited), None);
        }
        entry.passed = true;
        if entry.recorded.is_some_and(|at| now - at < RECORD_EVERY) {
            return (Greylisting::Pass, None);
        }
        entry.recorded = Some(now);
        let record = GreylistPass {
            network: triplet.network.to_string(),
            sender: triplet.sender.into(),
            recipient: triplet.recipient.into(),
            last: now,
        };
        (Greylisting::Pass, Some(record))
    }

    /// Remembers a triplet that got through before (read from the store at start); one
    /// past `max_age` at `now` is not.
    pub fn remember(&self, pass: &GreylistPass, now: i64) -> bool {
        let Ok(network) = pass.network.parse() else {
            return false;
        };
        if now - pass.last > self.config.max_age {
            return false;
        }
        let triplet = Triplet {
            network,
            sender: normalized(&pass.sender),
            recipient: normalized(&pass.recipient),
        };
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        *seen.touch(triplet, || Seen::new(pass.last)) = Seen {
            first: pass.last,
            last: pass.last,
            passed: true,
            recorded: Some(pass.last),
        };
        true
    }
}

impl Seen {
    fn new(now: i64) -> Self {
        Seen {
            first: now,
            last: now,
            passed: false,
            recorded: None,
        }
    }
}

/// The network a client retries from: its IPv4 /24 or IPv6 /64.
fn network(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) & 0xffff_ff00).into()),
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
    }
}

fn normalized(address: &str) -> Box<str> {
    let mut address = address.to_lowercase();
    if address.len() > ADDRESS_MAX {
        let mut end = ADDRESS_MAX;
        while !address.is_char_boundary(end) {
            end -= 1;
        }
        address.truncate(end);
    }
    address.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> Greylist {
        Greylist::new(GreylistConfig {
            enabled: true,
            ..GreylistConfig::default()
        })
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn verdict(list: &Greylist, ip: IpAddr, from: &str, to: &str, now: i64) -> Greylisting {
        list.check(ip, from, to, now).0
    }

    #[test]
    fn passes_are_recorded_once_a_day_and_remembered_after_a_restart() {
        let list = on();
        let (client, from, to) = (ip("192.0.2.10"), "A@example.org", "b@example.test");
        assert_eq!(
            list.check(client, from, to, 0),
            (Greylisting::Wait(300), None)
        );
        let (pass, record) = list.check(client, from, to, 300);
        assert_eq!(pass, Greylisting::Pass);
        let record = record.expect("recorded when it first gets through");
        assert_eq!(
            (record.network.as_str(), record.sender.as_str(), record.last),
            ("192.0.2.0", "a@example.org", 300)
        );
        assert_eq!(
            list.check(client, from, to, 400).1,
            None,
            "not again the same day"
        );
        assert!(list.check(client, from, to, 300 + RECORD_EVERY).1.is_some());

        let restarted = on();
        assert!(restarted.remember(&record, 1_000));
        assert_eq!(
            verdict(&restarted, client, from, to, 1_000),
            Greylisting::Pass
        );
        let stale = GreylistPass { last: 0, ..record };
        assert!(!restarted.remember(&stale, 36 * 24 * 3600));
    }

    #[test]
    fn a_retry_after_the_delay_passes_and_is_remembered() {
        let list = on();
        let (client, from, to) = (ip("192.0.2.10"), "a@example.org", "b@example.test");
        assert_eq!(
            verdict(&list, client, from, to, 1_000),
            Greylisting::Wait(300)
        );
        assert_eq!(
            verdict(&list, client, from, to, 1_100),
            Greylisting::Wait(200)
        );
        // From another address of the same /24, as big senders retry.
        assert_eq!(
            verdict(&list, ip("192.0.2.99"), from, to, 1_300),
            Greylisting::Pass
        );
        assert_eq!(
            verdict(&list, client, "A@Example.ORG", to, 1_301),
            Greylisting::Pass
        );
        // Remembered for max_age after the last message, then forgotten.
        let later = 1_301 + 30 * 24 * 3600;
        assert_eq!(verdict(&list, client, from, to, later), Greylisting::Pass);
        let much_later = later + 36 * 24 * 3600;
        assert_eq!(
            verdict(&list, client, from, to, much_later),
            Greylisting::Wait(300)
        );
    }

    #[test]
    fn each_part_of_the_triplet_counts() {
        let list = on();
        verdict(
            &list,
            ip("192.0.2.10"),
            "a@example.org",
            "b@example.test",
            0,
        );
        let now = 400;
        assert_eq!(
            verdict(
                &list,
                ip("192.0.2.10"),
                "a@example.org",
                "b@example.test",
                now
            ),
            Greylisting::Pass
        );
        assert_eq!(
            verdict(
                &list,
                ip("198.51.100.10"),
                "a@example.org",
                "b@example.test",
                now
            ),
            Greylisting::Wait(300),
            "another network"
        );
        assert_eq!(
            verdict(
                &list,
                ip("192.0.2.10"),
                "c@example.org",
                "b@example.test",
                now
            ),
            Greylisting::Wait(300),
            "another sender"
        );
        assert_eq!(
            verdict(&list, ip("2001:db8:1:1::1"), "", "b@example.test", now),
            Greylisting::Wait(300),
            "the null sender too"
        );
        assert_eq!(
            verdict(
                &list,
                ip("2001:db8:1:1::2"),
                "",
                "b@example.test",
                now + 300
            ),
            Greylisting::Pass,
            "the same /64"
        );
    }

    #[test]
    fn a_million_triplets_fit_in_the_fixed_table() {
        let list = on();
        for i in 0..1_000_000u32 {
            let client = IpAddr::V4((0x0a00_0000 | (i << 8)).into());
            verdict(&list, client, "a@example.org", "b@example.test", 0);
        }
        let seen = list.seen.lock().unwrap();
        assert_eq!(seen.len(), CAPACITY);
    }

    #[test]
    fn off_passes_everything() {
        let list = Greylist::default();
        assert_eq!(
            verdict(&list, ip("192.0.2.1"), "a@x", "b@y", 0),
            Greylisting::Pass
        );
    }
}
