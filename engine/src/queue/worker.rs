//! The delivery workers: each takes the next due message nobody else is delivering, makes one
//! attempt, and sleeps until the next message is due, new mail is queued, or the server stops.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_channel::Receiver;
use futures_lite::future;

use super::QueueId;
use super::deliver::Courier;
use crate::io::{Dialer, Executor};
use crate::mail::date::unix_now;
use crate::store::Store;

/// The longest a worker sleeps without looking at the queue, so a clock that jumped or a
/// retry set by another process is never missed for long.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// How long a worker waits after the store failed before it asks again.
const STORE_BACKOFF: Duration = Duration::from_secs(30);

/// Outbound delivery: the workers share it, and the messages being delivered, so no two
/// workers deliver the same message.
pub struct Delivery<S: Store, E, D: Dialer> {
    courier: Courier<S, E, D>,
    in_flight: Mutex<BTreeSet<QueueId>>,
}

impl<S: Store, E: Executor, D: Dialer> Delivery<S, E, D> {
    pub fn new(courier: Courier<S, E, D>) -> Arc<Self> {
        Arc::new(Self {
            courier,
            in_flight: Mutex::new(BTreeSet::new()),
        })
    }

    /// How many workers the runtime runs (`[delivery] workers`).
    pub fn workers(&self) -> usize {
        self.courier.config.workers.max(1)
    }

    /// One worker's loop, until `shutdown` is closed or sends. A delivery in progress is
    /// finished first: what the remote server accepted must be recorded.
    pub async fn work(self: Arc<Self>, shutdown: Receiver<()>) {
        loop {
            let engine = &self.courier.engine;
            // Listening before looking: a message queued meanwhile still wakes this worker.
            let queued = engine.queued().listen();
            let now = unix_now();
            let wait = match self.next_job(now).await {
                Ok(Some(id_and_message)) => {
                    let (id, message) = id_and_message;
                    if !self.courier.attempt(message, now).await {
                        // What the attempt did is not on record, and it may have delivered:
                        // the message is held back a while rather than tried again at once,
                        // while the store recovers.
                        self.courier.executor.sleep(STORE_BACKOFF).await;
                    }
                    self.release(id);
                    // Others may have waited for this one to be done.
                    engine.queued().notify(usize::MAX);
                    if shutdown.is_closed() {
                        return;
                    }
                    continue;
                }
                Ok(None) => {
                    // Nothing to send: connections kept for more are not needed now.
                    self.courier.pool.expire();
                    self.sleep_time(now).await
                }
                Err(error) => {
                    tracing::error!(%error, "cannot read the outbound queue");
                    STORE_BACKOFF
                }
            };
            let sleep = self.courier.executor.sleep(wait);
            let stop = async {
                let _ = shutdown.recv().await;
                true
            };
            let woken = async {
                future::or(queued, sleep).await;
                false
            };
            if future::or(stop, woken).await {
                return;
            }
        }
    }

    /// The soonest due message no worker is delivering, claimed for this one, as it stands
    /// now. The list of due messages is read before claiming, so another worker may have
    /// finished one of them in between (delivered it, or scheduled it later) and released
    /// it: each one claimed is read again, and taken only if it is still queued and due.
    async fn next_job(
        &self,
        now: i64,
    ) -> Result<Option<(QueueId, super::QueuedMessage)>, crate::store::StoreError> {
        let engine = self.courier.engine.clone();
        let look = self.workers().saturating_mul(2).saturating_add(1);
        let due = self
            .courier
            .executor
            .unblock(move || engine.queue_due(now, look))
            .await?;
        for candidate in due {
            if !self.claim(candidate.id) {
                continue;
            }
            let engine = self.courier.engine.clone();
            let id = candidate.id;
            let current = self
                .courier
                .executor
                .unblock(move || engine.queue_get(id))
                .await;
            match current {
                Ok(Some(message)) if message.next_attempt().is_some_and(|at| at <= now) => {
                    return Ok(Some((id, message)));
                }
                Ok(_) => self.release(id),
                Err(error) => {
                    self.release(id);
                    return Err(error);
                }
            }
        }
        Ok(None)
    }

    /// Marks `id` as being delivered by this worker; false when another one is.
    fn claim(&self, id: QueueId) -> bool {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        in_flight.insert(id)
    }

    fn release(&self, id: QueueId) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        in_flight.remove(&id);
    }

    /// Until the next recipient is due (at most [`MAX_SLEEP`]); a short while when what is
    /// due is being delivered by other workers.
    async fn sleep_time(&self, now: i64) -> Duration {
        let engine = self.courier.engine.clone();
        let next = self
            .courier
            .executor
            .unblock(move || engine.queue_next_due())
            .await;
        match next {
            Ok(Some(at)) if at > now => {
                Duration::from_secs(u64::try_from(at - now).unwrap_or(0)).min(MAX_SLEEP)
            }
            Ok(Some(_)) => Duration::from_secs(1),
            Ok(None) => MAX_SLEEP,
            Err(_) => STORE_BACKOFF,
        }
    }
}
