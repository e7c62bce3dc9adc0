//! The outbound queue as the store keeps it: a queued message's body, envelope and one
//! state per remote recipient. What the queue does with them is [`crate::queue`]'s.

use std::fmt;

pub use proto_smtp::{Body, Notify, Ret};

use super::BlobId;

/// A queued message, as the operator sees it in `postern queue`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueId(pub u64);

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}", self.0)
    }
}

/// The envelope of a message to send, as the submission gave it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OutboundEnvelope {
    /// The reverse-path; empty for the null sender.
    pub sender: String,
    /// `BODY=8BITMIME` was declared: the body may have 8-bit lines.
    pub body: Option<Body>,
    /// `SMTPUTF8` was declared: addresses and headers may be UTF-8.
    pub smtputf8: bool,
    /// `RET=` of the DSN (RFC 3461).
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461).
    pub envid: Option<String>,
    /// `REQUIRETLS` (RFC 8689): only over TLS with a verified certificate, to servers that
    /// offer it.
    pub require_tls: bool,
}

/// Where one remote recipient stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Still to be delivered: tried `attempts` times so far.
    Pending,
    /// The recipient's server accepted it.
    Delivered,
    /// Given up on: a permanent refusal, or retries ran out. Kept until the queue entry ends.
    Failed,
}

/// One remote recipient of a queued message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outbound {
    pub address: String,
    /// `ORCPT=` (RFC 3461), as given.
    pub orcpt: Option<String>,
    /// `NOTIFY=` (RFC 3461), as given.
    pub notify: Option<Notify>,
    pub state: State,
    /// Delivery attempts made.
    pub attempts: u32,
    /// When to try next (Unix seconds); meaningless once not [`State::Pending`].
    pub next_attempt: i64,
    /// What the last attempt ended with: the remote reply or why there was none.
    pub last_result: Option<String>,
    /// The sender was told that delivery to this recipient is delayed.
    pub delay_reported: bool,
}

impl Outbound {
    /// A recipient to try at once.
    pub fn new(address: String, orcpt: Option<String>, notify: Option<Notify>, now: i64) -> Self {
        Self {
            address,
            orcpt,
            notify,
            state: State::Pending,
            attempts: 0,
            next_attempt: now,
            last_result: None,
            delay_reported: false,
        }
    }

    /// The domain part of the address, lower-cased: what delivery groups recipients by.
    pub fn domain(&self) -> String {
        self.address
            .rsplit_once('@')
            .map_or("", |(_, domain)| domain)
            .to_ascii_lowercase()
    }
}

/// A message in the outbound queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedMessage {
    pub id: QueueId,
    pub blob: BlobId,
    pub size: u64,
    /// When it was queued (Unix seconds).
    pub created: i64,
    pub envelope: OutboundEnvelope,
    pub recipients: Vec<Outbound>,
    /// In a queue several nodes share: the node delivering it now.
    pub lease: Option<Lease>,
}

/// Which node of those sharing a queue delivers a message now, and until when at most.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The node's name (`[queue] node`).
    pub node: String,
    /// Unix seconds: after this, any node may take the message again.
    pub until: i64,
}

impl QueuedMessage {
    /// When the next recipient is due, if any is still pending.
    pub fn next_attempt(&self) -> Option<i64> {
        self.recipients
            .iter()
            .filter(|r| r.state == State::Pending)
            .map(|r| r.next_attempt)
            .min()
    }
}

/// A message to queue, in [`Store::submit`](crate::store::Store::submit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewQueued {
    pub created: i64,
    pub envelope: OutboundEnvelope,
    pub recipients: Vec<Outbound>,
}

/// A submission held before it goes anywhere: until the time its sender asked for (send
/// later), or for the seconds its sender may still take it back (undo send). Where it goes
/// was decided when it was submitted; released, it is delivered and queued as it would
/// have been then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldMessage {
    pub id: u64,
    pub blob: BlobId,
    pub size: u64,
    pub held: NewHeld,
}

/// A submission to hold, in [`Store::submit`](crate::store::Store::submit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewHeld {
    /// Whose it is: only they see and cancel it.
    pub account: crate::store::AccountId,
    /// When it was submitted, Unix seconds.
    pub created: i64,
    /// When it goes, Unix seconds.
    pub release_at: i64,
    /// Its subject, for its owner's list.
    pub subject: String,
    pub envelope: OutboundEnvelope,
    /// Local accounts it is for.
    pub local: Vec<crate::delivery::LocalRecipient>,
    /// Local addresses whose webhooks report it.
    pub hooked: Vec<crate::webhooks::Hooked>,
    /// Its outbound queue entries.
    pub queued: Vec<NewQueued>,
}

impl NewHeld {
    /// Every address it goes to, for its owner's list.
    pub fn recipients(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .queued
            .iter()
            .flat_map(|q| q.recipients.iter().map(|r| r.address.clone()))
            .collect();
        all.extend(self.hooked.iter().map(|h| h.address.clone()));
        all.extend(self.local.iter().filter_map(|l| {
            l.orcpt
                .as_deref()
                .map(|o| o.split_once(';').map_or(o, |(_, a)| a).to_string())
        }));
        all.sort();
        all.dedup();
        all
    }
}
