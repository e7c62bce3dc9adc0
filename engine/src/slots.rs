//! Bounds on work per key, waited for asynchronously: at most so many deliveries talk to one
//! destination host at once, as receiving servers expect (and limit themselves); at most one
//! password verification per user runs at once, and so many in all. Whoever is over the
//! bound waits for a slot, holding no thread.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use event_listener::Event;

/// Slots taken per key, and a signal when one is freed.
#[derive(Debug, Default)]
pub struct Slots {
    open: Mutex<HashMap<String, usize>>,
    freed: Event,
}

/// One slot; freed when dropped.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
    key: String,
}

impl Slots {
    /// Waits until fewer than `limit` slots of `key` are taken, and takes one.
    pub async fn acquire(self: &Arc<Self>, key: &str, limit: usize) -> Slot {
        loop {
            // Listening before looking: a slot freed in between still wakes this waiter.
            let freed = self.freed.listen();
            if self.try_take(key, limit) {
                return Slot {
                    slots: self.clone(),
                    key: key.to_string(),
                };
            }
            freed.await;
        }
    }

    /// Takes a slot of `key` if fewer than `limit` are taken; `None` at once otherwise.
    pub fn try_acquire(self: &Arc<Self>, key: &str, limit: usize) -> Option<Slot> {
        self.try_take(key, limit).then(|| Slot {
            slots: self.clone(),
            key: key.to_string(),
        })
    }

    fn try_take(&self, key: &str, limit: usize) -> bool {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(key.to_string()).or_default();
        if *count >= limit.max(1) {
            return false;
        }
        *count += 1;
        true
    }

    /// Slots of `key` taken now.
    pub fn taken(&self, key: &str) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(key).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
        drop(open);
        // Every waiter looks: one woken for another key would take the wake-up and wait on,
        // leaving the waiter this slot was for asleep.
        self.slots.freed.notify(usize::MAX);
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::*;

    fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn try_acquire_refuses_at_once_over_the_limit() {
        let slots = Arc::new(Slots::default());
        let taken: Vec<Slot> = (0..3)
            .filter_map(|_| slots.try_acquire("imap", 3))
            .collect();
        assert_eq!(taken.len(), 3);
        assert!(
            slots.try_acquire("imap", 3).is_none(),
            "the fourth is refused"
        );
        drop(taken);
        assert!(
            slots.try_acquire("imap", 3).is_some(),
            "freed slots are free again"
        );
    }

    #[test]
    fn at_most_the_limit_per_host_and_a_waiter_gets_a_freed_slot() {
        let slots = Arc::new(Slots::default());
        let first = futures_lite::future::block_on(slots.acquire("mx.a.example", 2));
        let second = futures_lite::future::block_on(slots.acquire("mx.a.example", 2));
        assert_eq!(slots.taken("mx.a.example"), 2);
        // Another host is not held back.
        let other = futures_lite::future::block_on(slots.acquire("mx.b.example", 2));
        let mut third = pin!(slots.acquire("mx.a.example", 2));
        assert!(
            poll_once(third.as_mut()).is_pending(),
            "over the limit: it waits"
        );
        drop(first);
        let Poll::Ready(third) = poll_once(third.as_mut()) else {
            panic!("a freed slot goes to the waiter");
        };
        assert_eq!(slots.taken("mx.a.example"), 2);
        drop((second, third, other));
        assert_eq!(slots.taken("mx.a.example"), 0);
        assert_eq!(
            slots.open.lock().unwrap().len(),
            0,
            "empty entries are dropped"
        );
    }

    #[test]
    fn a_freed_slot_wakes_its_own_waiter_behind_another_keys() {
        let slots = Arc::new(Slots::default());
        let a = futures_lite::future::block_on(slots.acquire("a", 1));
        let b = futures_lite::future::block_on(slots.acquire("b", 1));
        let mut wants_a = pin!(slots.acquire("a", 1));
        let mut wants_b = pin!(slots.acquire("b", 1));
        assert!(poll_once(wants_a.as_mut()).is_pending());
        assert!(poll_once(wants_b.as_mut()).is_pending());
        drop(b);
        // The wake-up reached b's waiter, not only the first one listening.
        assert!(poll_once(wants_b.as_mut()).is_ready());
        assert!(poll_once(wants_a.as_mut()).is_pending());
        drop(a);
        assert!(poll_once(wants_a.as_mut()).is_ready());
    }
}
