//! A circuit breaker per destination host: after repeated failures delivery stops knocking
//! on a host that is down, for a while, then tries it once and closes again on success. The
//! queue then spends its workers on hosts that answer, and a dead host is not hammered with
//! one connection per queued message.

use std::collections::HashMap;
use std::sync::Mutex;

/// Consecutive failures that open a host's breaker.
const FAILURES_TO_OPEN: u32 = 5;
/// How long an open breaker keeps delivery away before one probe.
const OPEN_FOR: i64 = 5 * 60;
/// Consecutive successes of probes that close it again.
const SUCCESSES_TO_CLOSE: u32 = 2;
/// Hosts remembered at most; healthy ones are forgotten first when it is full.
const MAX_HOSTS: usize = 10_000;

/// Where one host's breaker is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Breaker {
    /// Delivery goes ahead; `failures` in a row so far.
    Closed { failures: u32 },
    /// Failing: no delivery before `since + OPEN_FOR`.
    Open { since: i64 },
    /// Being probed: `successes` in a row so far; `probing` while a probe is out.
    HalfOpen { successes: u32, probing: bool },
}

/// The breakers of every destination host, shared by the delivery workers.
#[derive(Debug, Default)]
pub struct Breakers {
    hosts: Mutex<HashMap<String, Breaker>>,
}

impl Breakers {
    /// Whether delivery may try `host` at `now`. An open breaker past its wait lets one
    /// attempt through (the probe), and no other until that one is recorded.
    pub fn allow(&self, host: &str, now: i64) -> bool {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let Some(breaker) = hosts.get_mut(host) else {
            return true;
        };
        match *breaker {
            Breaker::Closed { .. } => true,
            Breaker::Open { since } if now.saturating_sub(since) >= OPEN_FOR => {
                *breaker = Breaker::HalfOpen {
                    successes: 0,
                    probing: true,
                };
                true
            }
            Breaker::Open { .. } => false,
            Breaker::HalfOpen { probing: true, .. } => false,
            Breaker::HalfOpen {
                successes,
                probing: false,
            } => {
                *breaker = Breaker::HalfOpen {
                    successes,
                    probing: true,
                };
                true
            }
        }
    }

    /// Records how an attempt on `host` ended: `answered` when its server took part in a
    /// transaction (whatever it said of the mail), not when it could not be reached or
    /// talked to.
    pub fn record(&self, host: &str, answered: bool, now: i64) {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let current = hosts
            .get(host)
            .copied()
            .unwrap_or(Breaker::Closed { failures: 0 });
        let next = match (current, answered) {
            (Breaker::Closed { .. }, true) => Breaker::Closed { failures: 0 },
            (Breaker::Closed { failures }, false) if failures + 1 >= FAILURES_TO_OPEN => {
                tracing::warn!(
                    host,
                    failures = failures + 1,
                    "destination failing; holding its mail back for 5 minutes"
                );
                Breaker::Open { since: now }
            }
            (Breaker::Closed { failures }, false) => Breaker::Closed {
                failures: failures + 1,
            },
            (Breaker::HalfOpen { successes, .. }, true) if successes + 1 >= SUCCESSES_TO_CLOSE => {
                tracing::info!(host, "destination answers again");
                Breaker::Closed { failures: 0 }
            }
            (Breaker::HalfOpen { successes, .. }, true) => Breaker::HalfOpen {
                successes: successes + 1,
                probing: false,
            },
            (Breaker::HalfOpen { .. } | Breaker::Open { .. }, false) => {
                Breaker::Open { since: now }
            }
            // An attempt that was let through before the breaker opened.
            (Breaker::Open { since }, true) => Breaker::Open { since },
        };
        if next == (Breaker::Closed { failures: 0 }) {
            hosts.remove(host);
            return;
        }
        if hosts.len() >= MAX_HOSTS && !hosts.contains_key(host) {
            hosts.retain(|_, b| !matches!(b, Breaker::Closed { .. }));
            if hosts.len() >= MAX_HOSTS {
                return;
            }
        }
        hosts.insert(host.to_string(), next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000;

    #[test]
    fn five_failures_open_then_one_probe_then_two_successes_close() {
        let breakers = Breakers::default();
        let host = "mx.down.example";
        for i in 0..4 {
            assert!(breakers.allow(host, T0 + i));
            breakers.record(host, false, T0 + i);
        }
        assert!(breakers.allow(host, T0 + 4), "four failures keep it closed");
        breakers.record(host, false, T0 + 4);
        assert!(!breakers.allow(host, T0 + 5), "the fifth opens it");
        assert!(!breakers.allow(host, T0 + 4 + OPEN_FOR - 1));
        // One probe after five minutes, and no second one while it is out.
        assert!(breakers.allow(host, T0 + 4 + OPEN_FOR));
        assert!(!breakers.allow(host, T0 + 4 + OPEN_FOR));
        breakers.record(host, true, T0 + 400);
        assert!(
            breakers.allow(host, T0 + 401),
            "a second probe after one success"
        );
        breakers.record(host, true, T0 + 402);
        assert_eq!(
            breakers.hosts.lock().unwrap().get(host),
            None,
            "closed and forgotten"
        );
        assert!(breakers.allow(host, T0 + 403));
    }

    #[test]
    fn a_failed_probe_opens_it_again() {
        let breakers = Breakers::default();
        let host = "mx.flaky.example";
        for i in 0..5 {
            breakers.record(host, false, T0 + i);
        }
        assert!(breakers.allow(host, T0 + 4 + OPEN_FOR));
        breakers.record(host, false, T0 + 500);
        assert!(!breakers.allow(host, T0 + 500 + OPEN_FOR - 1));
        assert!(breakers.allow(host, T0 + 500 + OPEN_FOR));
        // A success resets the count of a closed breaker.
        let other = "mx.ok.example";
        for i in 0..4 {
            breakers.record(other, false, T0 + i);
        }
        breakers.record(other, true, T0 + 5);
        breakers.record(other, false, T0 + 6);
        assert!(breakers.allow(other, T0 + 7));
    }

    #[test]
    fn the_table_is_bounded() {
        let breakers = Breakers::default();
        for i in 0..(MAX_HOSTS + 50) {
            breakers.record(&format!("mx{i}.example"), false, T0);
        }
        assert!(breakers.hosts.lock().unwrap().len() <= MAX_HOSTS);
    }
}
