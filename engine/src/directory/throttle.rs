//! Slows down password guessing: failed logins are counted per client IP, and each further
//! attempt from that IP waits longer before its answer.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures are forgotten this long after the last one.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Each failure adds this much delay, up to [`MAX_DELAY`].
const STEP: Duration = Duration::from_millis(500);
const MAX_DELAY: Duration = Duration::from_secs(8);
/// Bound on tracked addresses, so a botnet cannot grow the table without limit.
const MAX_TRACKED: usize = 65_536;

#[derive(Default)]
pub struct AuthThrottle {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl AuthThrottle {
    /// Records a failed login and returns how long to hold back the answer, plus the number
    /// of recent failures from that address.
    pub fn failed(&self, ip: IpAddr, now: Instant) -> (Duration, u32) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_TRACKED {
            map.retain(|_, (_, last)| now.duration_since(*last) < FORGET_AFTER);
            if map.len() >= MAX_TRACKED {
                map.clear();
            }
        }
        let entry = map.entry(ip).or_insert((0, now));
        if now.duration_since(entry.1) >= FORGET_AFTER {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
        let delay = STEP.saturating_mul(entry.0).min(MAX_DELAY);
        (delay, entry.0)
    }

    /// A successful login clears the address's record.
    pub fn succeeded(&self, ip: IpAddr) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_grows_and_is_capped() {
        let t = AuthThrottle::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let now = Instant::now();
        let first = t.failed(ip, now);
        let second = t.failed(ip, now);
        assert_eq!(first, (STEP, 1));
        assert_eq!(second, (STEP * 2, 2));
        for _ in 0..100 {
            t.failed(ip, now);
        }
        assert_eq!(t.failed(ip, now).0, MAX_DELAY);
    }

    #[test]
    fn success_and_time_forget() {
        let t = AuthThrottle::default();
        let ip: IpAddr = "::1".parse().unwrap();
        let now = Instant::now();
        t.failed(ip, now);
        t.succeeded(ip);
        assert_eq!(t.failed(ip, now).1, 1);
        assert_eq!(t.failed(ip, now + FORGET_AFTER).1, 1);
    }
}
