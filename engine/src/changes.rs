//! Tells sessions that a mailbox changed, so that IDLE is push, not polling: a session waits
//! on its mailbox's event and wakes only when something was written to that mailbox.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use event_listener::{Event, EventListener};

use crate::store::MailboxId;

/// One event per mailbox that anyone ever waited on (bounded by the number of mailboxes).
#[derive(Default)]
pub struct ChangeHub {
    events: Mutex<HashMap<MailboxId, Arc<Event>>>,
}

impl ChangeHub {
    /// A listener for the next change of `mailbox`. Take it *before* reading the mailbox's
    /// state: a change between that read and the wait then still wakes the listener.
    pub fn listen(&self, mailbox: MailboxId) -> EventListener {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        events.entry(mailbox).or_default().listen()
    }

    /// Wakes everyone waiting on `mailbox`.
    pub fn notify(&self, mailbox: MailboxId) {
        let event = self
            .events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&mailbox)
            .cloned();
        if let Some(event) = event {
            event.notify(usize::MAX);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    fn is_ready(listener: &mut EventListener) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        pin!(listener).poll(&mut cx).is_ready()
    }

    #[test]
    fn notifies_only_the_changed_mailbox() {
        let hub = ChangeHub::default();
        let mut one = hub.listen(1);
        let mut two = hub.listen(2);
        assert!(!is_ready(&mut one));
        hub.notify(1);
        hub.notify(3);
        assert!(is_ready(&mut one));
        assert!(!is_ready(&mut two));
    }

    #[test]
    fn a_change_before_the_wait_is_not_lost() {
        let hub = ChangeHub::default();
        let mut listener = hub.listen(7);
        hub.notify(7);
        assert!(matches!(
            pin!(&mut listener).poll(&mut Context::from_waker(Waker::noop())),
            Poll::Ready(())
        ));
    }
}
