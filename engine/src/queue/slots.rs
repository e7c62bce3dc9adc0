//! A bound on connections per destination host: however many workers deliver, at most so
//! many talk to one host at once, as receiving servers expect (and limit themselves). A
//! worker over the bound waits for a slot rather than deferring the message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use event_listener::Event;

/// Connections open to each host, and a signal when one closes.
#[derive(Debug, Default)]
pub struct HostSlots {
    open: Mutex<HashMap<String, usize>>,
    freed: Event,
}

/// One connection's place; freed when dropped.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<HostSlots>,
    host: String,
}

impl HostSlots {
    /// Waits until fewer than `limit` connections are open to `host`, and takes a place.
    pub async fn acquire(self: &Arc<Self>, host: &str, limit: usize) -> Slot {
        loop {
            // Listening before looking: a slot freed in between still wakes this waiter.
            let freed = self.freed.listen();
            if self.try_take(host, limit) {
                return Slot {
                    slots: self.clone(),
                    host: host.to_string(),
                };
            }
            freed.await;
        }
    }

    fn try_take(&self, host: &str, limit: usize) -> bool {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(host.to_string()).or_default();
        if *count >= limit.max(1) {
            return false;
        }
        *count += 1;
        true
    }

    /// Connections open to `host` now.
    pub fn open_to(&self, host: &str) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(host).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.host) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.host);
            }
        }
        drop(open);
        self.slots.freed.notify(1);
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
    fn at_most_the_limit_per_host_and_a_waiter_gets_a_freed_slot() {
        let slots = Arc::new(HostSlots::default());
        let first = futures_lite::future::block_on(slots.acquire("mx.a.example", 2));
        let second = futures_lite::future::block_on(slots.acquire("mx.a.example", 2));
        assert_eq!(slots.open_to("mx.a.example"), 2);
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
        assert_eq!(slots.open_to("mx.a.example"), 2);
        drop((second, third, other));
        assert_eq!(slots.open_to("mx.a.example"), 0);
        assert_eq!(
            slots.open.lock().unwrap().len(),
            0,
            "empty entries are dropped"
        );
    }
}
