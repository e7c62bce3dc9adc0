//! Held submissions: send later and undo send.
//!
//! A logged-in user's message (SMTP submission, the HTTP send API) is held instead of
//! delivered when it asks to go later — a `Deferred-Delivery:` field (RFC 4021 §2.1.65)
//! naming a time to come, or the send API's `send_at` — or when its sender holds every
//! message a few seconds so as to take it back (`undo send`, 0–30 s per user). Where it
//! goes is decided at once (recipients checked and routed, as for any submission: the
//! sender hears of a bad address now), and the message is stored with that decision in one
//! commit; `250` (or `202`) then. Until its time its sender sees it and may cancel it (the
//! API, their page, the CLI); at its time a background task releases it: its local copies
//! are delivered (filters run then) and its remote recipients queued, in one commit that
//! also removes it, so a message is released once, or cancelled, never both.

use std::sync::Arc;
use std::time::Duration;

use mail_parser::{DateTime, HeaderValue, MessageParser};
use proto_smtp::Reply;

use crate::delivery::spool::SummarizingSpool;
use crate::directory::routing::store_failure;
use crate::io::Executor;
use crate::mail::date::{rfc3339, unix_now};
use crate::queue::{HeldMessage, NewHeld};
use crate::store::{AccountId, Onward, Store, StoreError};
use crate::{Engine, Error, Folder, Recipients};

/// The longest a user may hold every message to take it back.
pub const MAX_UNDO_SECONDS: u32 = 30;

/// The furthest ahead a message may be held: a year.
pub const MAX_HOLD: i64 = 366 * 86_400;

/// Held submissions released by one pass; the next pass comes at once if more are due.
const BATCH: usize = 16;

/// The longest wait between two passes.
const MOST: Duration = Duration::from_secs(60);

/// The header field that asks for a message to go later (RFC 4021 §2.1.65).
pub const FIELD: &str = "Deferred-Delivery";

/// The time a message's `Deferred-Delivery:` field names, if it has one that parses.
pub fn deferred_delivery(header: &[u8]) -> Option<i64> {
    let parsed = MessageParser::default().parse_headers(header)?;
    let value = parsed.header(FIELD)?;
    match value {
        HeaderValue::DateTime(date) => Some(date.to_timestamp()),
        HeaderValue::Text(text) => DateTime::parse_rfc822(text.trim()).map(|d| d.to_timestamp()),
        _ => None,
    }
}

/// The answer to a submission held until `at`.
pub fn reply(at: i64) -> Reply {
    Reply::new(
        250,
        (2, 0, 0),
        format!("Message held until {}", rfc3339(at)),
    )
}

/// The subject a held message is listed by, from its header section.
pub fn subject(header: &[u8]) -> String {
    MessageParser::default()
        .parse_headers(header)
        .and_then(|h| h.subject().map(str::to_string))
        .unwrap_or_default()
}

/// A user's held submission, as they list it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub id: u64,
    pub created: i64,
    pub release_at: i64,
    pub subject: String,
    pub recipients: Vec<String>,
}

impl From<&HeldMessage> for Waiting {
    fn from(message: &HeldMessage) -> Self {
        Waiting {
            id: message.id,
            created: message.held.created,
            release_at: message.held.release_at,
            subject: message.held.subject.clone(),
            recipients: message.held.recipients(),
        }
    }
}

impl<S: Store> Engine<S> {
    /// When `email`'s submission goes, if not now, with the account it is held for: at
    /// `asked` (a time it named), and no sooner than the user's undo delay from `now`. `Err`
    /// for a time past what a message may wait.
    pub fn release_time(
        &self,
        email: &str,
        asked: Option<i64>,
        now: i64,
    ) -> Result<Option<(AccountId, i64)>, Error> {
        if let Some(at) = asked
            && at > now.saturating_add(MAX_HOLD)
        {
            return Err(Error::Invalid(
                "a message is held at most a year before it goes".into(),
            ));
        }
        let Some(account) = self.store.account(email)? else {
            return Ok(None);
        };
        let undo = self.store.undo_seconds(account.id)?;
        let earliest = now.saturating_add(i64::from(undo));
        let at = asked.unwrap_or(now).max(earliest);
        Ok((at > now).then_some((account.id, at)))
    }

    /// Holds a submission whose recipients were routed already, in one durable commit; its
    /// id, or the reply that refuses it.
    pub fn hold(&self, spool: SummarizingSpool<S::Spool>, held: NewHeld) -> Result<u64, Reply> {
        let (from, to, at) = (
            held.envelope.sender.clone(),
            held.recipients().join(", "),
            held.release_at,
        );
        let onward = Onward {
            hold: Some(held),
            ..Onward::default()
        };
        match self.store.submit(spool.finish(), &[], onward) {
            Ok(stored) => {
                tracing::info!(from, to, until = rfc3339(at), "message held");
                self.held_changed.notify(usize::MAX);
                stored
                    .held
                    .ok_or_else(|| store_failure(&StoreError::Io("not held".into())))
            }
            Err(e) => Err(store_failure(&e)),
        }
    }

    /// `email`'s held submissions, soonest first.
    pub fn waiting(&self, email: &str) -> Result<Vec<Waiting>, Error> {
        let account = self.existing_account(email)?;
        let held = self.store.held_messages(Some(account.id))?;
        Ok(held.iter().map(Waiting::from).collect())
    }

    /// Cancels `email`'s held submission `id`: it never goes. `NotFound` when it is not
    /// theirs, or went already.
    pub fn cancel_held(&self, email: &str, id: u64) -> Result<Waiting, Error> {
        let account = self.existing_account(email)?;
        let gone = || {
            Error::Store(StoreError::NotFound(format!(
                "a message {id} waiting to go"
            )))
        };
        let held = self.store.held_messages(Some(account.id))?;
        let message = held.iter().find(|m| m.id == id).ok_or_else(gone)?;
        if !self.store.cancel_held(id)? {
            return Err(gone());
        }
        let waiting = Waiting::from(message);
        tracing::info!(
            from = message.held.envelope.sender,
            to = waiting.recipients.join(", "),
            "held message cancelled"
        );
        Ok(waiting)
    }

    /// The seconds `email`'s submissions are held to be taken back.
    pub fn undo_seconds(&self, email: &str) -> Result<u32, Error> {
        let account = self.existing_account(email)?;
        Ok(self.store.undo_seconds(account.id)?)
    }

    pub fn set_undo_seconds(&self, email: &str, seconds: u32) -> Result<(), Error> {
        if seconds > MAX_UNDO_SECONDS {
            return Err(Error::Invalid(format!(
                "mail is held at most {MAX_UNDO_SECONDS} seconds to be taken back"
            )));
        }
        let account = self.existing_account(email)?;
        Ok(self.store.set_undo_seconds(account.id, seconds)?)
    }

    /// Releases the held submissions due at `now`; the wait before the next pass. Blocking.
    pub fn release_held(&self, now: i64) -> Duration {
        let due = match self.store.held_due(now, BATCH) {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, "cannot read the held messages");
                return MOST;
            }
        };
        let full = due.len() >= BATCH;
        for message in due {
            self.release(message, now);
        }
        if full {
            return Duration::ZERO;
        }
        match self.store.next_held() {
            Ok(Some(at)) => Duration::from_secs(at.saturating_sub(now).unsigned_abs()).min(MOST),
            _ => MOST,
        }
    }

    /// Delivers and queues a held submission as decided when it was submitted, removing it
    /// in the same commit. A local account removed since gets nothing.
    fn release(&self, message: HeldMessage, now: i64) {
        let HeldMessage { id, blob, held, .. } = message;
        let from = held.envelope.sender.clone();
        let to = held.recipients().join(", ");
        let spool = self.begin_message().and_then(|mut spool| {
            let mut body = self.store.read_blob(&blob)?;
            std::io::copy(&mut body, &mut spool).map_err(|e| {
                StoreError::io(e.kind(), format!("cannot copy a held message: {e}"))
            })?;
            Ok(spool)
        });
        let spool = match spool {
            Ok(spool) => spool,
            Err(error) => {
                tracing::error!(%error, from, to, "cannot release a held message; tried again later");
                return;
            }
        };
        let mut local = held.local;
        local.retain(|r| matches!(self.store.account_by_id(r.account), Ok(Some(_))));
        let recipients = Recipients {
            accounts: local,
            hooked: held.hooked,
        };
        let onward = Onward {
            queued: held.queued,
            release: Some(id),
            ..Onward::default()
        };
        let reply = self.deliver(
            spool,
            &held.envelope,
            &recipients,
            onward,
            Folder::Inbox,
            now,
        );
        match reply.code / 100 {
            2 => tracing::info!(from, to, "held message released"),
            _ => {
                tracing::warn!(from, to, reply = %reply.text, "held message not released; tried again later")
            }
        }
    }
}

/// Releases held submissions at their time, until the runtime stops it.
pub async fn run<S: Store, E: Executor>(engine: Arc<Engine<S>>, executor: E) {
    let releaser = engine.clone();
    crate::io::every(executor, &engine.held_changed, move || {
        releaser.release_held(unix_now())
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deferred_delivery_names_a_time() {
        let header = b"From: a@x.test\r\nDeferred-Delivery: Tue, 8 Dec 2026 09:00:00 +0100\r\n\r\n";
        assert_eq!(deferred_delivery(header), Some(1796716800));
        assert_eq!(deferred_delivery(b"Subject: now\r\n\r\n"), None);
        assert_eq!(
            deferred_delivery(b"Deferred-Delivery: tomorrow\r\n\r\n"),
            None
        );
    }
}
