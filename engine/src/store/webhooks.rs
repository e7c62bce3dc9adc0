//! What the store keeps for webhooks (see [`crate::webhooks`]): the hooks themselves, the
//! calls waiting to be made, and the log of the attempts.

/// A webhook: where a message to an address, or to anyone in a domain, is posted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub id: u64,
    pub scope: WebhookScope,
    /// `http://` or `https://`, checked when added.
    pub url: String,
    /// The key of the body's HMAC-SHA256 signature; kept as given, since signing needs it.
    pub secret: String,
    /// When it was added, Unix seconds.
    pub created: i64,
}

/// Whose mail a webhook receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookScope {
    /// One address, lowercased.
    Address(String),
    /// Every address of a local domain, lowercased.
    Domain(String),
}

impl WebhookScope {
    /// How the store finds it: the address, or `@domain`.
    pub fn key(&self) -> String {
        match self {
            WebhookScope::Address(address) => address.clone(),
            WebhookScope::Domain(domain) => format!("@{domain}"),
        }
    }

    /// The scope a key names.
    pub fn from_key(key: &str) -> Self {
        match key.strip_prefix('@') {
            Some(domain) => WebhookScope::Domain(domain.to_string()),
            None => WebhookScope::Address(key.to_string()),
        }
    }
}

/// A call to make, stored with the message it reports in the same commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewWebhookCall {
    pub webhook: u64,
    /// Unix seconds; the first attempt is due then.
    pub created: i64,
    /// Who sent it to whom, for the log: `a@example.org → b@example.com`.
    pub label: String,
    /// The JSON document posted.
    pub payload: Vec<u8>,
}

/// A call waiting to be made (again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookCall {
    pub id: u64,
    pub webhook: u64,
    pub created: i64,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due, Unix seconds.
    pub due: i64,
    pub label: String,
    pub payload: Vec<u8>,
}

/// One attempt at a call, as the delivery log keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookAttempt {
    pub webhook: u64,
    pub call: u64,
    /// When it was made, Unix seconds.
    pub time: i64,
    /// 1 for the first.
    pub attempt: u32,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    pub outcome: AttemptOutcome,
    /// Why it failed (the receiver's status line, a connection error), or empty.
    pub detail: String,
    /// The call's label.
    pub label: String,
}

/// What became of a call after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver took it (a 2xx answer): the call is done.
    Delivered,
    /// Tried again at this time, Unix seconds.
    Retrying(i64),
    /// No more attempts: the call is dropped.
    Failed,
}

/// Attempts the log keeps per webhook; the oldest go first.
pub const WEBHOOK_LOG_KEPT: usize = 200;
