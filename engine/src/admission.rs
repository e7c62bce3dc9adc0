//! How many connections are served at once. Every accepted connection takes a place; past
//! the limit a client hears its protocol's "try again later" and is closed at once. The
//! limit is set below the process's file-descriptor limit, so a flood of connections can
//! never take the descriptors the store, the control socket and the sessions already
//! served need. Each listener also bounds the connections from one source (an IPv4 address,
//! or an IPv6 /64: what one customer is given), so one host cannot take every place.

use std::collections::HashMap;
use std::io;

use crate::bans::BanList;
use crate::mail::date::unix_now;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Refusals and accept failures are logged at most this often, with a count: a flood must
/// not turn into a flood of log lines.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// A failed `accept` (out of descriptors, out of memory) waits this long before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The places for connections, shared by every listener.
#[derive(Debug)]
pub struct ConnectionLimit {
    max: usize,
    /// Networks refused before anything else.
    bans: Arc<BanList>,
    banned: Report,
    open: AtomicUsize,
    refused: Report,
    accept_failures: Report,
}

/// A place held by one connection, in all and for its source; given back when dropped.
#[derive(Debug)]
pub struct Admission {
    limit: Arc<ConnectionLimit>,
    /// Given back when the admission is dropped, like the place in all.
    _source: SourcePlace,
}

/// The places of one listener for each source.
#[derive(Debug)]
pub struct PerSource {
    max: usize,
    open: Mutex<HashMap<Source, usize>>,
    refused: Report,
}

/// Where a connection comes from, as the per-source bound counts it: an IPv4 address, or
/// the /64 network of an IPv6 address (an IPv4-mapped one counts as IPv4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Source(IpAddr);

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

impl Source {
    /// The source's address: the IPv4 address, or the first of the /64.
    pub fn ip(&self) -> IpAddr {
        self.0
    }

    pub fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                Source(IpAddr::V6(network.into()))
            }
            v4 => Source(v4),
        }
    }
}

#[derive(Debug)]
struct SourcePlace {
    per_source: Arc<PerSource>,
    source: Source,
}

impl PerSource {
    /// At most `max` connections from one source at once.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(PerSource {
            max,
            open: Mutex::default(),
            refused: Report::default(),
        })
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// Connections from `source` now.
    pub fn open(&self, source: Source) -> usize {
        self.lock().get(&source).copied().unwrap_or(0)
    }

    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<SourcePlace> {
        let source = Source::of(ip);
        let mut open = self.lock();
        let count = open.entry(source).or_default();
        if *count >= self.max {
            drop(open);
            if let Some(count) = self.refused.due() {
                tracing::warn!(
                    client = %ip,
                    limit = self.max,
                    refused = count,
                    "connections refused: too many at once from one address"
                );
            }
            return None;
        }
        *count += 1;
        Some(SourcePlace {
            per_source: self.clone(),
            source,
        })
    }

    /// Entries live only while their source has connections: the table is as large as the
    /// number of connections at most.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Source, usize>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for SourcePlace {
    fn drop(&mut self) {
        let mut open = self.per_source.lock();
        if let Some(count) = open.get_mut(&self.source) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.source);
            }
        }
    }
}

impl ConnectionLimit {
    /// At most `max` connections at once; none from the networks `bans` lists.
    pub fn new(max: usize, bans: Arc<BanList>) -> Arc<Self> {
        Arc::new(ConnectionLimit {
            max,
            bans,
            banned: Report::default(),
            open: AtomicUsize::new(0),
            refused: Report::default(),
            accept_failures: Report::default(),
        })
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// How many connections hold a place now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// A place for a new connection from `ip` on a listener with `per_source` places, or
    /// `None` (and a log line now and then) when every place, or every place of its source,
    /// is taken.
    pub fn admit(self: &Arc<Self>, per_source: &Arc<PerSource>, ip: IpAddr) -> Option<Admission> {
        if self.bans.banned(ip, unix_now()) {
            if let Some(count) = self.banned.due() {
                tracing::info!(client = %ip, refused = count, "connections refused: banned");
            }
            return None;
        }
        let source = per_source.admit(ip)?;
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.max).then_some(open + 1)
            });
        if taken.is_ok() {
            return Some(Admission {
                limit: self.clone(),
                _source: source,
            });
        }
        if let Some(count) = self.refused.due() {
            tracing::warn!(
                limit = self.max,
                refused = count,
                "connections refused: the server is at its connection limit"
            );
        }
        None
    }

    /// What an accept loop does after `accept` failed: logs now and then, and says how
    /// long to wait before accepting again, so a loop at the descriptor limit does not spin.
    pub fn accept_failed(&self, error: &io::Error) -> Duration {
        if let Some(count) = self.accept_failures.due() {
            tracing::warn!(error = %error, failures = count, "cannot accept connections");
        }
        ACCEPT_BACKOFF
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.limit.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Counts events and says when to report them.
#[derive(Debug, Default)]
pub(crate) struct Report {
    count: AtomicU64,
    last: Mutex<Option<Instant>>,
}

impl Report {
    pub(crate) const fn new() -> Self {
        Report {
            count: AtomicU64::new(0),
            last: Mutex::new(None),
        }
    }

    /// Counts one event; returns the count since the last report when one is due.
    pub(crate) fn due(&self) -> Option<u64> {
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < REPORT_EVERY) {
            return None;
        }
        *last = Some(now);
        Some(self.count.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn unbounded() -> Arc<PerSource> {
        PerSource::new(usize::MAX)
    }

    #[test]
    fn places_are_taken_and_given_back() {
        let (limit, any) = (ConnectionLimit::new(2, Arc::default()), unbounded());
        let a = limit.admit(&any, ip("192.0.2.1")).expect("first");
        let b = limit.admit(&any, ip("192.0.2.2")).expect("second");
        assert!(
            limit.admit(&any, ip("192.0.2.3")).is_none(),
            "a third is over the limit"
        );
        assert_eq!(limit.open(), 2);
        drop(a);
        let c = limit
            .admit(&any, ip("192.0.2.3"))
            .expect("a freed place is taken again");
        drop((b, c));
        assert_eq!(limit.open(), 0);
        assert_eq!(
            any.lock().len(),
            0,
            "sources without connections are forgotten"
        );
    }

    #[test]
    fn one_source_gets_its_share_and_others_still_get_in() {
        let limit = ConnectionLimit::new(100, Arc::default());
        let per_source = PerSource::new(2);
        let held: Vec<_> = ["2001:db8:1:2::1", "2001:db8:1:2:ffff::9"]
            .into_iter()
            .map(|a| limit.admit(&per_source, ip(a)).expect("within the share"))
            .collect();
        assert!(
            limit.admit(&per_source, ip("2001:db8:1:2::77")).is_none(),
            "the same /64 is one source"
        );
        assert_eq!(limit.open(), 2, "a refusal holds no place");
        let other = limit
            .admit(&per_source, ip("2001:db8:1:3::1"))
            .expect("another /64");
        let v4 = limit
            .admit(&per_source, ip("::ffff:192.0.2.1"))
            .expect("first");
        let _v4b = limit.admit(&per_source, ip("192.0.2.1")).expect("second");
        assert!(
            limit.admit(&per_source, ip("192.0.2.1")).is_none(),
            "a mapped address counts as its IPv4 address"
        );
        drop((held, other, v4));
        assert_eq!(per_source.open(Source::of(ip("2001:db8:1:2::1"))), 0);
    }

    #[test]
    fn reports_are_rate_limited_and_counted() {
        let report = Report::default();
        assert_eq!(report.due(), Some(1), "the first event is reported");
        for _ in 0..99 {
            assert_eq!(report.due(), None, "then nothing for a while");
        }
        *report.last.lock().unwrap() = Some(Instant::now() - REPORT_EVERY);
        assert_eq!(
            report.due(),
            Some(100),
            "the next report counts what was held back"
        );
    }

    #[test]
    fn concurrent_admissions_never_pass_the_limit() {
        let (limit, any) = (ConnectionLimit::new(8, Arc::default()), unbounded());
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..1_000 {
                        if let Some(place) = limit.admit(&any, ip("192.0.2.1")) {
                            assert!(limit.open() <= 8);
                            drop(place);
                        }
                    }
                });
            }
        });
        assert_eq!(limit.open(), 0);
    }
}
