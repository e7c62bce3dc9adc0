//! When a recipient that could not be reached is tried again, and when it is given up on.
//!
//! Postfix retries with a growing back-off between `minimal_backoff_time` and
//! `maximal_backoff_time` and gives up after `maximal_queue_lifetime` (5 days); Postern
//! follows a fixed ladder — 5 min, 15 min, 30 min, 1 h, 2 h, 4 h, 8 h, 16 h, then daily — with
//! ±10 % jitter so that a burst of deferred mail does not come back as one burst, and gives up
//! after a number of attempts or an age, whichever comes first.

use std::time::Duration;

/// The waits after the first failures; after the last, [`DAILY`].
const LADDER: [u64; 8] = [
    5 * 60,
    15 * 60,
    30 * 60,
    3600,
    2 * 3600,
    4 * 3600,
    8 * 3600,
    16 * 3600,
];
/// The wait once the ladder is climbed.
const DAILY: u64 = 24 * 3600;

/// How long delivery keeps trying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before a recipient is given up on.
    pub max_attempts: u32,
    /// Age of a message after which its recipients are given up on.
    pub max_age: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 15,
            max_age: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// What to do after an attempt failed temporarily.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Try again at this time (Unix seconds).
    RetryAt(i64),
    /// Give up: the attempts or the age ran out.
    GiveUp,
}

impl RetryPolicy {
    /// After the `attempts`-th failed attempt at `now`, of a message queued at `created`.
    /// `jitter` in `[-1, 1]` spreads the wait by up to ±10 %; callers pass a random value,
    /// tests a fixed one.
    pub fn after_failure(&self, attempts: u32, created: i64, now: i64, jitter: f64) -> Next {
        let age = u64::try_from(now.saturating_sub(created)).unwrap_or(0);
        if attempts >= self.max_attempts || age >= self.max_age.as_secs() {
            return Next::GiveUp;
        }
        let step = usize::try_from(attempts.saturating_sub(1)).unwrap_or(usize::MAX);
        let base = LADDER.get(step).copied().unwrap_or(DAILY);
        let jitter = jitter.clamp(-1.0, 1.0) * 0.1;
        // Within ±10 % of at most a day: far from any overflow.
        let wait = (base as f64 * (1.0 + jitter)).round() as i64;
        Next::RetryAt(now.saturating_add(wait))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000;

    #[test]
    fn the_ladder_then_daily() {
        let policy = RetryPolicy::default();
        let waits: Vec<i64> = (1..=10)
            .map(|attempt| match policy.after_failure(attempt, T0, T0, 0.0) {
                Next::RetryAt(at) => at - T0,
                Next::GiveUp => -1,
            })
            .collect();
        assert_eq!(
            waits,
            [
                300, 900, 1800, 3600, 7200, 14400, 28800, 57600, 86400, 86400
            ]
        );
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.after_failure(1, T0, T0, 1.0),
            Next::RetryAt(T0 + 330)
        );
        assert_eq!(
            policy.after_failure(1, T0, T0, -1.0),
            Next::RetryAt(T0 + 270)
        );
        assert_eq!(
            policy.after_failure(1, T0, T0, 7.0),
            Next::RetryAt(T0 + 330)
        );
    }

    #[test]
    fn gives_up_on_attempts_or_age() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.after_failure(15, T0, T0, 0.0), Next::GiveUp);
        assert!(matches!(
            policy.after_failure(14, T0, T0, 0.0),
            Next::RetryAt(_)
        ));
        let week = 7 * 24 * 3600;
        assert_eq!(policy.after_failure(3, T0, T0 + week, 0.0), Next::GiveUp);
        assert!(matches!(
            policy.after_failure(3, T0, T0 + week - 1, 0.0),
            Next::RetryAt(_)
        ));
    }
}
