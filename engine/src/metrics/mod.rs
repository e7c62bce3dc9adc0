//! What the server counts, for Prometheus (`/metrics`): mail received, refused, sent and
//! bounced, how long deliveries take, logins, quota refusals, connections, the queue, and
//! the process itself.
//!
//! The sessions move lock-free counters where the event happens; a scrape encodes them in
//! the text format, reading the queue's length and the process's figures only then.

mod process;
#[cfg(test)]
mod tests;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Why a message (or one of its recipients) was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// No such mailbox here (RFC 3463 X.1.1).
    UnknownRecipient,
    /// A recipient elsewhere, from a client that did not log in (X.7.1 at `RCPT`).
    RelayDenied,
    /// The mailbox is full (X.2.2).
    OverQuota,
    /// Any other refusal of a recipient: a bad address, a temporary failure.
    Recipient,
    /// First sight of the triplet: asked to come back later.
    Greylisted,
    /// The client is on a DNS blocklist.
    Blocklisted,
    /// The author's domain asks to refuse mail failing DMARC.
    Dmarc,
    /// Too many `Received:` fields: a mail loop.
    Loop,
    /// A logged-in user's sender or `From:` is not theirs, or they sent more than their
    /// hourly share.
    Sender,
    /// The content scanner refused or deferred the message.
    Spam,
}

impl Rejection {
    fn label(self) -> &'static str {
        match self {
            Rejection::UnknownRecipient => "unknown_recipient",
            Rejection::RelayDenied => "relay_denied",
            Rejection::OverQuota => "over_quota",
            Rejection::Recipient => "recipient",
            Rejection::Greylisted => "greylisted",
            Rejection::Blocklisted => "dnsbl",
            Rejection::Dmarc => "dmarc",
            Rejection::Loop => "loop",
            Rejection::Sender => "sender",
            Rejection::Spam => "spam",
        }
    }

    /// The refusal of a recipient, from its enhanced status code (RFC 3463).
    pub fn of_recipient(reply: &proto_smtp::Reply) -> Self {
        match reply.enhanced {
            Some((_, 1, 1)) => Rejection::UnknownRecipient,
            Some((5, 7, 1)) => Rejection::RelayDenied,
            Some((_, 2, 2)) => Rejection::OverQuota,
            _ => Rejection::Recipient,
        }
    }
}

/// How a login went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginResult {
    Success,
    /// Wrong user name or password, or a disabled account.
    Failure,
    /// Not checked: the source is banned or has failed too often just now.
    Refused,
}

impl LoginResult {
    fn label(self) -> &'static str {
        match self {
            LoginResult::Success => "success",
            LoginResult::Failure => "failure",
            LoginResult::Refused => "refused",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuthLabels {
    protocol: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProtocolLabel {
    protocol: &'static str,
}

/// The server's counters, one set per engine.
pub struct Metrics {
    registry: Registry,
    received: Counter,
    sent: Counter,
    rejected: Family<ReasonLabel, Counter>,
    /// The sum of `rejected`, which the family cannot give.
    refused: Counter,
    bounced: Counter,
    webhook_calls: Family<OutcomeLabel, Counter>,
    delivery_duration: Histogram,
    queue_depth: Gauge,
    disk_available: Gauge,
    auth_attempts: Family<AuthLabels, Counter>,
    quota_exceeded: Counter,
    connections: Family<ProtocolLabel, Gauge>,
    verifying: Gauge,
    verifying_max: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        // No prefix: the process's figures keep the names every exporter gives them.
        let mut registry = Registry::default();
        let received = Counter::default();
        registry.register(
            "postern_messages_received",
            "Messages accepted over SMTP (each once, however many recipients)",
            received.clone(),
        );
        let sent = Counter::default();
        registry.register(
            "postern_messages_sent",
            "Recipients delivered to other servers",
            sent.clone(),
        );
        let rejected = Family::default();
        registry.register(
            "postern_messages_rejected",
            "Messages or recipients refused over SMTP, by reason",
            rejected.clone(),
        );
        let bounced = Counter::default();
        registry.register(
            "postern_messages_bounced",
            "Recipients given up on, whose sender was told (or would have been)",
            bounced.clone(),
        );
        let webhook_calls = Family::default();
        registry.register(
            "postern_webhook_calls",
            "Attempts at webhook calls, by outcome: delivered, retrying, failed (given up)",
            webhook_calls.clone(),
        );
        // 50 ms to about 100 s: a local relay answers in the first buckets, a slow
        // exchanger with a tarpitting greeting in the last.
        let delivery_duration = Histogram::new(exponential_buckets(0.05, 2.0, 12));
        registry.register(
            "postern_delivery_duration_seconds",
            "Time of each delivery attempt to a domain's exchangers (or the relay), connections included",
            delivery_duration.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "postern_queue_depth",
            "Messages in this node's outbound queue",
            queue_depth.clone(),
        );
        let disk_available = Gauge::default();
        registry.register(
            "postern_disk_available_bytes",
            "Free space of the data directory's file system, for the server",
            disk_available.clone(),
        );
        let auth_attempts = Family::default();
        registry.register(
            "postern_auth_attempts",
            "Logins, by protocol and result",
            auth_attempts.clone(),
        );
        let quota_exceeded = Counter::default();
        registry.register(
            "postern_quota_exceeded",
            "Messages or items refused because a mailbox was over quota",
            quota_exceeded.clone(),
        );
        let connections = Family::default();
        registry.register(
            "postern_active_connections",
            "Connections being served, by protocol",
            connections.clone(),
        );
        let verifying = Gauge::default();
        registry.register(
            "postern_password_verifications_running",
            "Password hashes (argon2id) being verified now",
            verifying.clone(),
        );
        let verifying_max = Gauge::default();
        registry.register(
            "postern_password_verifications_running_max",
            "The most password hashes verified at once since start: at most the verification pool's bound",
            verifying_max.clone(),
        );
        registry.register_collector(Box::new(process::Process));
        Metrics {
            registry,
            received,
            sent,
            rejected,
            refused: Counter::default(),
            bounced,
            webhook_calls,
            delivery_duration,
            queue_depth,
            disk_available,
            auth_attempts,
            quota_exceeded,
            connections,
            verifying,
            verifying_max,
        }
    }
}

impl Metrics {
    pub fn received(&self) {
        self.received.inc();
    }

    pub fn sent(&self) {
        self.sent.inc();
    }

    pub fn rejected(&self, reason: Rejection) {
        let reason = reason.label();
        self.rejected.get_or_create(&ReasonLabel { reason }).inc();
        self.refused.inc();
    }

    /// An attempt at a webhook call ended so: `delivered`, `retrying` or `failed`.
    pub fn webhook_call(&self, outcome: &'static str) {
        self.webhook_calls
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    pub fn bounced(&self) {
        self.bounced.inc();
    }

    pub fn delivery_attempt(&self, duration: std::time::Duration) {
        self.delivery_duration.observe(duration.as_secs_f64());
    }

    pub fn login(&self, protocol: &'static str, result: LoginResult) {
        let labels = AuthLabels {
            protocol,
            result: result.label(),
        };
        self.auth_attempts.get_or_create(&labels).inc();
    }

    pub fn quota_exceeded(&self) {
        self.quota_exceeded.inc();
    }

    /// Mail since the server started: received, sent, bounced and refused.
    pub fn totals(&self) -> Totals {
        Totals {
            received: self.received.get(),
            sent: self.sent.get(),
            bounced: self.bounced.get(),
            refused: self.refused.get(),
        }
    }

    /// Counts a connection of `protocol` until the guard is dropped.
    pub fn connection(&self, protocol: &'static str) -> Running {
        let gauge = self
            .connections
            .get_or_create(&ProtocolLabel { protocol })
            .clone();
        gauge.inc();
        Running(gauge)
    }

    /// Counts a password verification until the guard is dropped, and the most at once.
    pub fn verifying(&self) -> Running {
        let running = self.verifying.inc() + 1;
        self.verifying_max
            .inner()
            .fetch_max(running, std::sync::atomic::Ordering::Relaxed);
        Running(self.verifying.clone())
    }

    /// Every metric in Prometheus's text format (OpenMetrics), with the queue's length and
    /// the free disk space as they are now.
    pub fn encode(&self, now: Scraped) -> String {
        let gauge = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        self.queue_depth.set(gauge(now.queue_depth));
        self.disk_available.set(gauge(now.disk_available));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// Mail since the server started, for the dashboard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub received: u64,
    pub sent: u64,
    pub bounced: u64,
    pub refused: u64,
}

/// What a scrape reads from the store.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scraped {
    pub queue_depth: u64,
    pub disk_available: u64,
}

/// The media type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Something counted while it runs (a connection served, a password verified); counted
/// down when dropped.
pub struct Running(Gauge);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.dec();
    }
}
