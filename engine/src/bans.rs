//! Banned networks: their connections are told to try later and closed as they are
//! accepted, before any TLS or protocol work. An operator bans by hand (`postern ban`); a
//! source that keeps failing logins is banned by itself, each time twice as long as the
//! time before. Bans are kept in the store, so they outlast a restart, and in memory for
//! the accept loop: one lookup for the client's own source (address or /64), and a pass
//! over the operator's wider networks.

use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::admission::Source;
use crate::store::{Ban, Store, StoreError};
use crate::trust::Network;
use crate::{Engine, mail::date::unix_now};

/// The first automatic ban lasts this long, in seconds; each next one twice the last.
const FIRST_BAN: i64 = 3600;
/// No automatic ban lasts longer, in seconds.
const LONGEST_BAN: i64 = 7 * 24 * 3600;
/// A ban "for ever" (set by hand without a duration) ends then.
pub const FOREVER: i64 = i64::MAX;

/// The bans in force, as the accept loop asks them.
#[derive(Debug, Default)]
pub struct BanList(RwLock<Bans>);

#[derive(Debug, Default)]
struct Bans {
    /// Bans of one source's network (an IPv4 address, an IPv6 /64), by that network.
    sources: HashMap<Network, i64>,
    /// Bans of wider (or narrower) networks, set by hand.
    others: Vec<(Network, i64)>,
}

impl BanList {
    /// Whether connections from `ip` are refused at `now` (Unix seconds).
    pub fn banned(&self, ip: IpAddr, now: i64) -> bool {
        let bans = self.read();
        if bans.sources.is_empty() && bans.others.is_empty() {
            return false;
        }
        let ip = ip.to_canonical();
        let own = bans
            .sources
            .get(&source_network(ip))
            .is_some_and(|&until| now < until);
        own || bans
            .others
            .iter()
            .any(|(network, until)| now < *until && network.contains(ip))
    }

    fn set(&self, network: Network, until: i64) {
        let mut bans = self.write();
        if is_source_network(network) {
            bans.sources.insert(network, until);
        } else {
            bans.others.retain(|(n, _)| *n != network);
            bans.others.push((network, until));
        }
    }

    fn lift(&self, network: Network) {
        let mut bans = self.write();
        bans.sources.remove(&network);
        bans.others.retain(|(n, _)| *n != network);
    }

    fn read(&self) -> RwLockReadGuard<'_, Bans> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Bans> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The network a source is: the address itself (IPv4), or its /64 (IPv6).
fn source_network(ip: IpAddr) -> Network {
    let source = Source::of(ip);
    let prefix = if source.ip().is_ipv4() { 32 } else { 64 };
    Network::new(source.ip(), prefix)
}

fn is_source_network(network: Network) -> bool {
    network.prefix() == if network.address().is_ipv4() { 32 } else { 64 }
}

impl<S: Store> Engine<S> {
    /// The bans in force, shared with the accept loops.
    pub fn ban_list(&self) -> &std::sync::Arc<BanList> {
        &self.bans
    }

    /// Reads the bans from the store into the list the accept loops ask, and forgets the
    /// ones that ended. Called once at start.
    pub fn load_bans(&self) -> Result<(), StoreError> {
        let now = unix_now();
        for ban in self.store.bans()? {
            match Network::from_str(&ban.network) {
                Ok(network) if ban.until > now => self.bans.set(network, ban.until),
                _ => {
                    self.store.remove_ban(&ban.network)?;
                }
            }
        }
        Ok(())
    }

    /// The bans in force, by network.
    pub fn bans(&self) -> Result<Vec<Ban>, StoreError> {
        let now = unix_now();
        let mut bans = self.store.bans()?;
        bans.retain(|ban| ban.until > now);
        Ok(bans)
    }

    /// Bans `network` (`192.0.2.7`, `2001:db8::/48`) for `seconds` (`None`: until lifted).
    pub fn ban(&self, network: &str, seconds: Option<i64>, reason: &str) -> Result<Ban, String> {
        let network = Network::from_str(network)?.masked();
        let until = seconds.map_or(FOREVER, |s| unix_now().saturating_add(s.max(0)));
        let ban = Ban {
            network: network.to_string(),
            until,
            count: 1,
            reason: reason.to_string(),
        };
        self.store.put_ban(&ban).map_err(|e| e.to_string())?;
        self.bans.set(network, until);
        tracing::warn!(network = %network, until, reason, "banned");
        Ok(ban)
    }

    /// Lifts the ban of `network`; whether there was one.
    pub fn unban(&self, network: &str) -> Result<bool, String> {
        let network = Network::from_str(network)?.masked();
        let lifted = self
            .store
            .remove_ban(&network.to_string())
            .map_err(|e| e.to_string())?;
        self.bans.lift(network);
        if lifted {
            tracing::info!(network = %network, "ban lifted");
        }
        Ok(lifted)
    }

    /// Bans the source of `ip` by itself, for longer each time: it kept failing logins.
    pub(crate) fn ban_source(&self, ip: IpAddr, reason: &str) {
        let network = source_network(ip);
        let key = network.to_string();
        let now = unix_now();
        let before = self
            .store
            .bans()
            .ok()
            .and_then(|bans| bans.into_iter().find(|b| b.network == key));
        let count = before.map_or(1, |b| b.count.saturating_add(1));
        let length = ban_length(count);
        let ban = Ban {
            network: key,
            until: now.saturating_add(length),
            count,
            reason: reason.to_string(),
        };
        if let Err(error) = self.store.put_ban(&ban) {
            tracing::error!(%error, network = %network, "cannot record a ban; it holds until a restart");
        }
        self.bans.set(network, ban.until);
        tracing::warn!(network = %network, seconds = length, bans = count, reason, "banned");
        let detail = format!("{network} for {length} s: {reason}");
        self.audit("ban", "server", Some(ip), &detail);
    }
}

/// How long the `count`-th automatic ban of a source lasts, in seconds.
fn ban_length(count: u32) -> i64 {
    FIRST_BAN
        .saturating_mul(1i64 << count.saturating_sub(1).min(20))
        .min(LONGEST_BAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ban_lasts_twice_the_one_before_up_to_a_week() {
        let lengths: Vec<i64> = (1..=9).map(ban_length).collect();
        assert_eq!(lengths[..4], [3600, 7200, 14_400, 28_800]);
        assert_eq!(lengths[8], LONGEST_BAN);
        assert_eq!(ban_length(u32::MAX), LONGEST_BAN);
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_source_ban_covers_its_network_until_it_ends() {
        let list = BanList::default();
        assert!(!list.banned(ip("192.0.2.7"), 0));
        list.set(source_network(ip("2001:db8:1:2::9")), 100);
        list.set(source_network(ip("192.0.2.7")), 100);
        assert!(list.banned(ip("2001:db8:1:2:ffff::1"), 50), "the same /64");
        assert!(!list.banned(ip("2001:db8:1:3::1"), 50));
        assert!(list.banned(ip("::ffff:192.0.2.7"), 50), "mapped");
        assert!(!list.banned(ip("192.0.2.8"), 50));
        assert!(!list.banned(ip("192.0.2.7"), 100), "ended");
        list.lift(source_network(ip("192.0.2.7")));
        assert!(!list.banned(ip("192.0.2.7"), 50));
    }

    #[test]
    fn wider_networks_are_banned_too() {
        let list = BanList::default();
        list.set(
            Network::from_str("198.51.100.0/24").unwrap().masked(),
            FOREVER,
        );
        assert!(list.banned(ip("198.51.100.200"), 0));
        assert!(!list.banned(ip("198.51.101.1"), 0));
    }
}
