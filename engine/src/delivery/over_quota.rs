//! Local recipients whose account had no room for a message found only once it was whole
//! (the quota is checked at `RCPT` too, but the size is known only after `DATA`): each is
//! logged by address, and when the others' copies or the queue kept the message, the sender
//! gets a delivery status notification for them, as Postfix sends for Dovecot LMTP's
//! per-recipient `552 5.2.2`.

use super::LocalRecipient;
use crate::Engine;
use crate::queue::bounce::{About, Action, Notice, Problem};
use crate::store::outbound::{Outbound, OutboundEnvelope};
use crate::store::{AccountId, Store, Stored};

impl<S: Store> Engine<S> {
    /// Logs each account in `stored.over_quota` and, unless nothing was stored, bounces them
    /// to the envelope's sender: never to the null sender, and as each recipient's `NOTIFY`
    /// asks. The message is quoted from the stored body, which its other copies hold.
    pub(super) fn over_quota(
        &self,
        envelope: &OutboundEnvelope,
        recipients: &[LocalRecipient],
        stored: &Stored,
        size: u64,
        now: i64,
    ) {
        let from = envelope.sender.as_str();
        let notices: Vec<Notice> = stored
            .over_quota
            .iter()
            .map(|&account| {
                let address = self.address_of(account);
                tracing::info!(from, to = %address, "delivery refused: mailbox over quota");
                self.metrics.quota_exceeded();
                // The first RCPT that led to the account says what the sender asked for.
                let asked = recipients.iter().find(|r| r.account == account);
                let recipient = Outbound::new(
                    address.clone(),
                    asked.and_then(|r| r.orcpt.clone()),
                    asked.and_then(|r| r.notify),
                    now,
                );
                Notice {
                    recipient,
                    problem: Problem::local((5, 2, 2), format!("the mailbox of {address} is full")),
                    action: Action::Failed,
                }
            })
            .collect();
        if stored.is_empty() {
            // Refused whole: the sender hears it in the reply.
            return;
        }
        let about = About {
            envelope,
            queued: None,
            blob: stored.blob,
            size,
            arrived: now,
        };
        if let Some(report) = self.delivery_report(about, &notices, now) {
            self.send_automatic(from, &report, "bounce");
        }
    }

    /// The address of account `id`, as a bounce and a log line name it.
    fn address_of(&self, id: AccountId) -> String {
        match self.store.account_by_id(id) {
            Ok(Some(account)) => account.email,
            Ok(None) => format!("account {id} (removed)"),
            Err(error) => format!("account {id} ({error})"),
        }
    }
}
