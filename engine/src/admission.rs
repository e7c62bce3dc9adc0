//! How many connections are served at once. Every accepted connection takes a place; past
//! the limit a client hears its protocol's "try again later" and is closed at once. The
//! limit is set below the process's file-descriptor limit, so a flood of connections can
//! never take the descriptors the store, the control socket and the sessions already
//! served need.

use std::io;
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
    open: AtomicUsize,
    refused: Report,
    accept_failures: Report,
}

/// A place held by one connection; given back when dropped.
#[derive(Debug)]
pub struct Admission(Arc<ConnectionLimit>);

impl ConnectionLimit {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(ConnectionLimit {
            max,
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

    /// A place for a new connection, or `None` (and a log line now and then) when every
    /// place is taken.
    pub fn admit(self: &Arc<Self>) -> Option<Admission> {
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.max).then_some(open + 1)
            });
        if taken.is_ok() {
            return Some(Admission(self.clone()));
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
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Counts events and says when to report them.
#[derive(Debug, Default)]
struct Report {
    count: AtomicU64,
    last: Mutex<Option<Instant>>,
}

impl Report {
    /// Counts one event; returns the count since the last report when one is due.
    fn due(&self) -> Option<u64> {
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

    #[test]
    fn places_are_taken_and_given_back() {
        let limit = ConnectionLimit::new(2);
        let a = limit.admit().expect("first");
        let b = limit.admit().expect("second");
        assert!(limit.admit().is_none(), "a third is over the limit");
        assert_eq!(limit.open(), 2);
        drop(a);
        let c = limit.admit().expect("a freed place is taken again");
        drop((b, c));
        assert_eq!(limit.open(), 0);
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
        let limit = ConnectionLimit::new(8);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..1_000 {
                        if let Some(place) = limit.admit() {
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
