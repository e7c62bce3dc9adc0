//! Where a session is in its life, and how many errors it forgives.
//!
//! Every protocol ends a connection the same way: the session writes its
//! last reply (a goodbye, a timeout notice, an error), stops processing
//! input, hands that reply out and then says `Close`, once. What differs is
//! only the wording, which stays with each protocol.

/// The stages of a session, in the only order they come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Lifecycle {
    /// Serving.
    #[default]
    Open,
    /// Serving only until what is in progress (a message being received, a
    /// command executing) is done: the server is shutting down. The session
    /// then says goodbye and closes.
    Draining,
    /// The last replies go out, then `Close`. Nothing more is processed.
    Closing,
    /// `Close` was handed out. Nothing more comes.
    Closed,
}

impl Lifecycle {
    /// Whether the session still processes input and answers.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Open | Self::Draining)
    }

    /// Whether a shutdown waits for the session to be between commands.
    pub fn is_draining(self) -> bool {
        self == Self::Draining
    }

    /// Whether `Close` was handed out.
    pub fn is_closed(self) -> bool {
        self == Self::Closed
    }

    /// The server is shutting down: an open session drains.
    pub fn drain(&mut self) {
        if *self == Self::Open {
            *self = Self::Draining;
        }
    }

    /// Starts closing. Returns whether the session was open, that is whether
    /// the caller should tear down what it had in progress; closing twice
    /// does nothing.
    pub fn close(&mut self) -> bool {
        let open = self.is_open();
        if open {
            *self = Self::Closing;
        }
        open
    }

    /// `Close` was handed out.
    pub fn finish(&mut self) {
        if *self == Self::Closing {
            *self = Self::Closed;
        }
    }
}

/// How many protocol errors (malformed or out-of-sequence commands, failed
/// logins) a session takes before it shows the client the door. The bound
/// is what a confused or hostile client can cost, password guesses
/// included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorBudget {
    errors: u32,
    max: u32,
}

impl ErrorBudget {
    /// A budget of `max` errors; the `max`-th one spends it (a budget of 0 is
    /// spent by the first error too).
    pub fn new(max: u32) -> Self {
        Self { errors: 0, max }
    }

    /// Counts one error. Returns whether the budget is spent, by this error or
    /// an earlier one.
    pub fn count(&mut self) -> bool {
        self.errors = self.errors.saturating_add(1);
        self.errors >= self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_only_move_forward() {
        let mut life = Lifecycle::default();
        life.finish();
        assert_eq!(life, Lifecycle::Open);
        life.drain();
        assert!(life.is_open() && life.is_draining());
        assert!(life.close());
        assert!(!life.close() && !life.is_open());
        life.drain();
        assert_eq!(life, Lifecycle::Closing);
        life.finish();
        assert!(life.is_closed() && !life.close());
    }

    #[test]
    fn the_last_error_spends_the_budget() {
        let mut budget = ErrorBudget::new(3);
        assert!(!budget.count() && !budget.count());
        assert!(budget.count() && budget.count());
        assert!(ErrorBudget::new(0).count());
    }
}
