//! How much a logged-in user may send: messages and recipients per hour. A stolen password
//! or a compromised script then sends a bounded amount of spam before someone notices, and
//! the server's reputation survives. Past a limit the protocol's temporary refusal.

use std::sync::{Mutex, PoisonError};

use proto_smtp::Reply;

use crate::recent::Recent;

/// The window limits are counted in, in seconds.
const WINDOW: i64 = 3600;
/// Users whose counts are kept at once; one not kept starts again at zero.
const CAPACITY: usize = 65_536;

/// `[limits] messages_per_hour` and `recipients_per_hour`; 0 is no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendingLimits {
    pub messages_per_hour: u32,
    pub recipients_per_hour: u32,
}

impl Default for SendingLimits {
    fn default() -> Self {
        SendingLimits {
            messages_per_hour: 1000,
            recipients_per_hour: 5000,
        }
    }
}

/// What each user sent in their current window.
#[derive(Debug)]
pub struct SendingRate {
    limits: SendingLimits,
    users: Mutex<Recent<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: i64,
    messages: u32,
    recipients: u32,
}

impl Default for SendingRate {
    fn default() -> Self {
        SendingRate::new(SendingLimits::default())
    }
}

impl SendingRate {
    pub fn new(limits: SendingLimits) -> Self {
        SendingRate {
            limits,
            users: Mutex::new(Recent::new(CAPACITY)),
        }
    }

    /// A message from `user` begins (`MAIL FROM`) at `now` (Unix seconds): counted, or
    /// refused when the hour's messages are used up.
    pub fn message(&self, user: &str, now: i64) -> Result<(), Reply> {
        let limit = self.limits.messages_per_hour;
        self.count(user, now, limit, |w| &mut w.messages)
            .map_err(|wait| refusal(user, "messages", limit, wait))
    }

    /// A recipient of `user`'s message was accepted at `now`: counted, or refused when the
    /// hour's recipients are used up.
    pub fn recipient(&self, user: &str, now: i64) -> Result<(), Reply> {
        let limit = self.limits.recipients_per_hour;
        self.count(user, now, limit, |w| &mut w.recipients)
            .map_err(|wait| refusal(user, "recipients", limit, wait))
    }

    /// Adds one to the count `field` picks, unless it is at `limit`: then the seconds until
    /// the window ends.
    fn count(
        &self,
        user: &str,
        now: i64,
        limit: u32,
        field: fn(&mut Window) -> &mut u32,
    ) -> Result<(), i64> {
        if limit == 0 {
            return Ok(());
        }
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        let window = users.touch(user.to_lowercase(), || Window {
            start: now,
            messages: 0,
            recipients: 0,
        });
        if now - window.start >= WINDOW {
            *window = Window {
                start: now,
                messages: 0,
                recipients: 0,
            };
        }
        let count = field(window);
        if *count >= limit {
            return Err(window.start + WINDOW - now);
        }
        *count += 1;
        Ok(())
    }
}

fn refusal(user: &str, what: &str, limit: u32, wait: i64) -> Reply {
    tracing::warn!(user, what, limit, "sending limit reached");
    Reply::new(
        451,
        (4, 7, 1),
        format!(
            "Too many {what} from {user} in an hour (limit {limit}); try again in {wait} seconds"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_hold_within_the_hour_and_reset_after() {
        let rate = SendingRate::new(SendingLimits {
            messages_per_hour: 2,
            recipients_per_hour: 3,
        });
        assert!(rate.message("ann@x", 0).is_ok());
        assert!(rate.message("Ann@X", 10).is_ok());
        let refused = rate.message("ann@x", 20).unwrap_err();
        assert_eq!((refused.code, refused.enhanced), (451, Some((4, 7, 1))));
        assert!(
            refused.text.contains("try again in 3580 seconds"),
            "{}",
            refused.text
        );
        assert!(rate.message("bob@x", 20).is_ok(), "each user has their own");
        for _ in 0..3 {
            assert!(rate.recipient("ann@x", 30).is_ok());
        }
        assert!(rate.recipient("ann@x", 30).is_err());
        assert!(rate.message("ann@x", 3600).is_ok(), "a new hour");
        assert!(rate.recipient("ann@x", 3600).is_ok());
    }

    #[test]
    fn zero_is_no_limit() {
        let rate = SendingRate::new(SendingLimits {
            messages_per_hour: 0,
            recipients_per_hour: 0,
        });
        for _ in 0..10_000 {
            assert!(rate.message("ann@x", 0).is_ok());
        }
    }
}
