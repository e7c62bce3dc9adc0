//! Making webhook calls: the dispatcher takes the due calls from the store, a few at a
//! time, posts each as its own task, and records every attempt. A receiver that answers
//! anything but 2xx, or does not answer in time, gets the call again later, each wait twice
//! the last up to a bound, until the attempts run out.
//!
//! Each request carries:
//! - `X-Postern-Signature`: the HMAC-SHA256 of the body under the webhook's secret, in
//!   lowercase hex; a receiver computes the same over the bytes it got and compares;
//! - `X-Postern-Event: message.received` and `X-Postern-Attempt` (1 for the first);
//! - `Content-Type: application/json`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::Target;
use crate::Engine;
use crate::https::{self, Request};
use crate::io::{Dialer, Executor};
use crate::mail::date::unix_now;
use crate::store::{AttemptOutcome, Store, Webhook, WebhookAttempt, WebhookCall};

/// How webhook calls are retried; `[webhooks]` in the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookConfig {
    /// The wait before the second attempt; each next wait is twice the last.
    pub first_retry: Duration,
    /// The longest wait between two attempts.
    pub longest_retry: Duration,
    /// Attempts in all before a call is given up.
    pub attempts: u32,
    /// How long one attempt may take, connecting included.
    pub timeout: Duration,
    /// Calls in progress at once.
    pub concurrency: usize,
}

impl Default for WebhookConfig {
    /// 15 attempts over about a day: 30 s, 1, 2, 4, … minutes, then every 4 hours.
    fn default() -> Self {
        WebhookConfig {
            first_retry: Duration::from_secs(30),
            longest_retry: Duration::from_secs(4 * 3600),
            attempts: 15,
            timeout: Duration::from_secs(15),
            concurrency: 4,
        }
    }
}

impl WebhookConfig {
    /// The wait after the `made`-th attempt failed (`made` ≥ 1).
    pub fn retry_after(&self, made: u32) -> Duration {
        let doublings = made.saturating_sub(1).min(30);
        self.first_retry
            .saturating_mul(1 << doublings)
            .min(self.longest_retry)
    }
}

/// The longest the dispatcher sleeps without looking at the store.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// The most of a receiver's answer read; its body is not used.
const ANSWER_LIMIT: usize = 64 * 1024;

/// The hex HMAC-SHA256 of `body` under `secret`: the `X-Postern-Signature` field.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The dispatcher, until the runtime stops it. Calls in progress then are made again at the
/// next start: a receiver may get a call twice, never none (the document's `id` tells).
pub async fn run<S: Store, E: Executor, D: Dialer>(
    engine: Arc<Engine<S>>,
    executor: E,
    dialer: D,
    config: WebhookConfig,
) {
    let in_flight: Arc<Mutex<BTreeSet<u64>>> = Arc::default();
    let config = Arc::new(config);
    loop {
        // Listening before looking: a call added or finished meanwhile wakes the loop.
        let woken = engine.webhook_calls.listen();
        let now = unix_now();
        let room = config
            .concurrency
            .max(1)
            .saturating_sub(lock(&in_flight).len());
        let look = room.saturating_add(lock(&in_flight).len());
        let reader = engine.clone();
        let due = executor
            .unblock(move || -> Result<_, crate::store::StoreError> {
                let due = reader.store.webhook_calls_due(now, look)?;
                let hooks = reader.store.webhooks()?;
                let next = reader.store.next_webhook_call()?;
                Ok((due, hooks, next))
            })
            .await;
        let wait = match due {
            Ok((due, hooks, next)) => {
                let mut started = 0;
                for call in due {
                    if started >= room || !lock(&in_flight).insert(call.id) {
                        continue;
                    }
                    started += 1;
                    let hook = hooks.iter().find(|h| h.id == call.webhook).cloned();
                    let task = Attempt {
                        engine: engine.clone(),
                        executor: executor.clone(),
                        dialer: dialer.clone(),
                        config: config.clone(),
                        in_flight: in_flight.clone(),
                    };
                    executor.spawn(task.make(call, hook));
                }
                match next {
                    Some(at) if at > now => Duration::from_secs((at - now).unsigned_abs()),
                    // Due now, but every place is taken: a finished call wakes the loop.
                    Some(_) => MAX_SLEEP,
                    None => MAX_SLEEP,
                }
            }
            Err(error) => {
                tracing::error!(%error, "cannot read the webhook calls");
                MAX_SLEEP
            }
        };
        futures_lite::future::or(executor.sleep(wait.min(MAX_SLEEP)), woken).await;
    }
}

fn lock(set: &Mutex<BTreeSet<u64>>) -> std::sync::MutexGuard<'_, BTreeSet<u64>> {
    set.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What one attempt needs.
struct Attempt<S: Store, E, D> {
    engine: Arc<Engine<S>>,
    executor: E,
    dialer: D,
    config: Arc<WebhookConfig>,
    in_flight: Arc<Mutex<BTreeSet<u64>>>,
}

impl<S: Store, E: Executor, D: Dialer> Attempt<S, E, D> {
    /// Posts `call` to `hook` (`None`: removed meanwhile, the call is dropped), records
    /// what came of it and frees its place.
    async fn make(self, call: WebhookCall, hook: Option<Webhook>) {
        let attempt = call.attempts.saturating_add(1);
        let (status, detail) = match &hook {
            Some(hook) => self.post(hook, &call, attempt).await,
            None => (None, "the webhook was removed".to_string()),
        };
        let now = unix_now();
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        let outcome = match (delivered, &hook) {
            (true, _) => AttemptOutcome::Delivered,
            (false, Some(_)) if attempt < self.config.attempts => {
                let wait = self.config.retry_after(attempt).as_secs();
                AttemptOutcome::Retrying(now.saturating_add_unsigned(wait))
            }
            (false, _) => AttemptOutcome::Failed,
        };
        let url = hook.as_ref().map_or("", |h| h.url.as_str());
        let metrics = self.engine.metrics();
        match outcome {
            AttemptOutcome::Delivered => {
                metrics.webhook_call("delivered");
                tracing::info!(call = call.label, url, attempt, status, "webhook called")
            }
            AttemptOutcome::Retrying(_) => {
                metrics.webhook_call("retrying");
                tracing::warn!(
                    call = call.label,
                    url,
                    attempt,
                    detail,
                    "webhook call failed; retrying"
                )
            }
            AttemptOutcome::Failed => {
                metrics.webhook_call("failed");
                tracing::warn!(
                    call = call.label,
                    url,
                    attempt,
                    detail,
                    "webhook call given up"
                )
            }
        }
        let record = WebhookAttempt {
            webhook: call.webhook,
            call: call.id,
            time: now,
            attempt,
            status,
            outcome,
            detail,
            label: call.label,
        };
        let engine = self.engine.clone();
        let recorded = self
            .executor
            .unblock(move || engine.store.record_webhook_attempt(&record))
            .await;
        if let Err(error) = recorded {
            // The call stays as it was, due: it is made again.
            tracing::error!(%error, "cannot record a webhook call");
            self.executor.sleep(MAX_SLEEP).await;
        }
        lock(&self.in_flight).remove(&call.id);
        self.engine.webhook_calls.notify(usize::MAX);
    }

    /// One POST; the receiver's status if it answered, and what went wrong if anything.
    async fn post(
        &self,
        hook: &Webhook,
        call: &WebhookCall,
        attempt: u32,
    ) -> (Option<u16>, String) {
        let target = match Target::parse(&hook.url) {
            Ok(target) => target,
            Err(why) => return (None, why),
        };
        let signature = signature(&hook.secret, &call.payload);
        let attempt = attempt.to_string();
        let headers = [
            ("Content-Type", "application/json"),
            ("User-Agent", "Postern"),
            ("X-Postern-Event", "message.received"),
            ("X-Postern-Signature", signature.as_str()),
            ("X-Postern-Attempt", attempt.as_str()),
        ];
        let request = Request {
            method: "POST",
            tls: target.tls,
            host: &target.host,
            port: target.port,
            target: &target.path,
            headers: &headers,
            body: &call.payload,
        };
        let resolver = self.engine.resolver().clone();
        let sent = https::send(
            &*resolver,
            &self.dialer,
            &request,
            ANSWER_LIMIT,
            self.config.timeout,
        )
        .await;
        match sent {
            Ok(response) if (200..300).contains(&response.status) => {
                (Some(response.status), String::new())
            }
            Ok(response) => (
                Some(response.status),
                format!("the receiver answered HTTP {}", response.status),
            ),
            Err(error) => (None, error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_rfc_4231s_hmac_sha256_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn retries_double_up_to_the_longest_wait() {
        let config = WebhookConfig::default();
        let waits: Vec<u64> = (1..=12).map(|n| config.retry_after(n).as_secs()).collect();
        assert_eq!(
            waits,
            [
                30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 14_400, 14_400, 14_400
            ]
        );
        assert_eq!(config.retry_after(u32::MAX), config.longest_retry);
        let total: u64 = (1..config.attempts)
            .map(|n| config.retry_after(n).as_secs())
            .sum();
        assert!(
            (20 * 3600..30 * 3600).contains(&total),
            "about a day: {total} s"
        );
    }
}
