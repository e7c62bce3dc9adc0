//! Tells sessions that a mailbox changed, so that IDLE is push, not polling: a session waits
//! on its mailbox's event and wakes only when something was written to that mailbox.
//!
//! New mail wakes every session idling on the mailbox at once, and each would read the same
//! arrivals from the store. The first to read them leaves them here ([`Arrivals`]) until the
//! mailbox changes again; the others, when their view stood where the first one's did, take
//! them from here instead: one read, however many phones are waiting.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use event_listener::{Event, EventListener};

use crate::store::{Mailbox, MailboxId, Message};

/// What arrived in a mailbox since a view last looked, as one session read it after a
/// change, for the others woken with it.
#[derive(Debug)]
pub struct Arrivals {
    /// Where the view it was read for stood: its UIDNEXT and HIGHESTMODSEQ. Only a view
    /// that stood there may take it.
    pub uid_next: u32,
    pub highest_modseq: u64,
    /// The mailbox as read.
    pub mailbox: Mailbox,
    /// Its messages from `uid_next` on.
    pub arrived: Vec<Message>,
    /// `\Recent` was claimed for them (by the IMAP4rev1 session that read them): none is
    /// left for another session to claim.
    pub recent_claimed: bool,
}

/// Most messages kept in one [`Arrivals`]: what new mail brings, not a mailbox's worth.
pub const ARRIVALS_MAX: usize = 64;

/// One event per mailbox that anyone ever waited on (bounded by the number of mailboxes).
#[derive(Default)]
pub struct ChangeHub {
    watched: Mutex<HashMap<MailboxId, Watched>>,
}

#[derive(Default)]
struct Watched {
    event: Arc<Event>,
    /// Counts the changes told: what was read before one is stale after it.
    generation: u64,
    /// What arrived, read since the last change.
    arrivals: Option<Arc<Arrivals>>,
}

impl ChangeHub {
    /// A listener for the next change of `mailbox`. Take it *before* reading the mailbox's
    /// state: a change between that read and the wait then still wakes the listener.
    pub fn listen(&self, mailbox: MailboxId) -> EventListener {
        self.lock().entry(mailbox).or_default().event.listen()
    }

    /// Wakes everyone waiting on `mailbox`; what was read of it before is stale.
    pub fn notify(&self, mailbox: MailboxId) {
        let event = self.lock().get_mut(&mailbox).map(|watched| {
            watched.generation += 1;
            watched.arrivals = None;
            watched.event.clone()
        });
        if let Some(event) = event {
            event.notify(usize::MAX);
        }
    }

    /// Where the changes of `mailbox` stand: taken before its state is read for
    /// [`share`](Self::share).
    pub fn generation(&self, mailbox: MailboxId) -> u64 {
        self.lock()
            .get(&mailbox)
            .map_or(0, |watched| watched.generation)
    }

    /// Leaves what a session read of `mailbox` for the others, unless the mailbox changed
    /// since `generation` (what was read may be stale) or nobody waits on it.
    pub fn share(&self, mailbox: MailboxId, generation: u64, arrivals: Arrivals) {
        if arrivals.arrived.len() > ARRIVALS_MAX {
            return;
        }
        if let Some(watched) = self.lock().get_mut(&mailbox)
            && watched.generation == generation
        {
            watched.arrivals = Some(Arc::new(arrivals));
        }
    }

    /// What a session read of `mailbox` since its last change, if one did.
    pub fn arrivals(&self, mailbox: MailboxId) -> Option<Arc<Arrivals>> {
        self.lock().get(&mailbox)?.arrivals.clone()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<MailboxId, Watched>> {
        self.watched.lock().unwrap_or_else(|e| e.into_inner())
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

    fn arrivals(uid_next: u32) -> Arrivals {
        Arrivals {
            uid_next,
            highest_modseq: 1,
            mailbox: Mailbox {
                id: 1,
                account: 1,
                name: "INBOX".into(),
                uid_validity: 1,
                uid_next: uid_next + 1,
                highest_modseq: 2,
                special_use: None,
            },
            arrived: Vec::new(),
            recent_claimed: false,
        }
    }

    /// What was read is shared until the next change, and never when a change came between
    /// the read and the sharing.
    #[test]
    fn arrivals_are_shared_until_the_next_change() {
        let hub = ChangeHub::default();
        let _waiting = hub.listen(1);
        let generation = hub.generation(1);
        hub.share(1, generation, arrivals(5));
        assert_eq!(hub.arrivals(1).map(|a| a.uid_next), Some(5));
        hub.notify(1);
        assert!(hub.arrivals(1).is_none(), "stale after a change");

        // Read, then a change, then shared: what was read is older than the change.
        let generation = hub.generation(1);
        hub.notify(1);
        hub.share(1, generation, arrivals(6));
        assert!(hub.arrivals(1).is_none());

        // A mailbox nobody waits on keeps nothing.
        hub.share(2, hub.generation(2), arrivals(7));
        assert!(hub.arrivals(2).is_none());
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
