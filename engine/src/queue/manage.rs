//! What an operator does with the outbound queue: look at it, send a message again now, take
//! one out. `postern queue` and the admin API call these.

use crate::store::Store;
use crate::{Engine, Error};

use super::{QueueId, QueuedMessage, State};

impl<S: Store> Engine<S> {
    /// Every queued message, oldest first.
    pub fn queue(&self) -> Result<Vec<QueuedMessage>, Error> {
        Ok(self.queue_all()?)
    }

    /// One queued message.
    pub fn queued_message(&self, id: QueueId) -> Result<QueuedMessage, Error> {
        self.queue_get(id)?.ok_or_else(|| not_queued(id))
    }

    /// Makes the pending recipients of `id` (or of every queued message) due now, and wakes
    /// delivery. Returns how many recipients were rescheduled.
    pub fn retry_queued(&self, id: Option<QueueId>, now: i64) -> Result<usize, Error> {
        let messages = match id {
            Some(id) => vec![self.queued_message(id)?],
            None => self.queue_all()?,
        };
        let mut rescheduled = 0;
        for mut message in messages {
            let pending = message
                .recipients
                .iter_mut()
                .filter(|r| r.state == State::Pending);
            let mut changed = 0;
            for recipient in pending {
                recipient.next_attempt = now;
                changed += 1;
            }
            if changed > 0 {
                self.update_queued(&message)?;
                rescheduled += changed;
            }
        }
        self.queued.notify(usize::MAX);
        Ok(rescheduled)
    }

    /// Takes `id` out of the queue without sending it or telling its sender.
    pub fn delete_queued(&self, id: QueueId) -> Result<(), Error> {
        if self.queue_remove(id)? {
            tracing::info!(queue_id = %id, "removed from the queue by the operator");
            Ok(())
        } else {
            Err(not_queued(id))
        }
    }
}

/// `id` is not (or no longer) in the queue.
fn not_queued(id: QueueId) -> Error {
    Error::Store(crate::store::StoreError::NotFound(format!(
        "queued message {id}"
    )))
}

impl std::str::FromStr for QueueId {
    type Err = Error;

    /// The hexadecimal form `postern queue list` shows.
    fn from_str(text: &str) -> Result<Self, Error> {
        u64::from_str_radix(text, 16)
            .map(QueueId)
            .map_err(|_| Error::Invalid(format!("{text:?} is not a queue id")))
    }
}
