//! Local recipients refused once the message was whole: an account without room for it
//! (the quota is checked at `RCPT` too, but the size is known only after `DATA`), or one
//! whose Sieve script rejects it (RFC 5429). Each is logged by address. When the others'
//! copies or the queue kept the message, the sender gets a delivery status notification
//! for them, as Postfix sends for Dovecot LMTP's per-recipient `552 5.2.2`; when nothing
//! was kept, the reply to the message says it.

use proto_smtp::{Enhanced, Reply};

use super::LocalRecipient;
use crate::Engine;
use crate::queue::bounce::{About, Action, Notice, Problem};
use crate::store::outbound::{Outbound, OutboundEnvelope};
use crate::store::{AccountId, Store, Stored};

/// Most characters of a script's reason put in an SMTP reply.
const REASON_MAX: usize = 200;

/// A local recipient that got no copy, and why.
pub(super) struct Refusal {
    pub(super) account: AccountId,
    pub(super) status: Enhanced,
    /// For the sender (a script's reason is the user's text).
    pub(super) text: String,
    /// Refused by the recipient's filter, not for want of room.
    pub(super) rejected: bool,
}

impl<S: Store> Engine<S> {
    /// The accounts `stored` left out for want of room, as refusals.
    pub(super) fn over_quota(&self, stored: &Stored) -> Vec<Refusal> {
        stored
            .over_quota
            .iter()
            .map(|&account| {
                self.metrics.quota_exceeded();
                let address = self.address_of(account);
                Refusal {
                    account,
                    status: (5, 2, 2),
                    text: format!("the mailbox of {address} is full"),
                    rejected: false,
                }
            })
            .collect()
    }

    /// A refusal by `account`'s Sieve script, with its reason.
    pub(super) fn rejected(&self, account: AccountId, reason: &str) -> Refusal {
        let address = self.address_of(account);
        Refusal {
            account,
            status: (5, 7, 1),
            text: format!("refused by the filter of {address}: {}", one_line(reason)),
            rejected: true,
        }
    }

    /// Logs each refusal and, unless nothing was stored, reports them to the envelope's
    /// sender: never to the null sender, and as each recipient's `NOTIFY` asks. The message
    /// is quoted from the stored body, which its other copies hold. The reply for a message
    /// nothing kept when `refusals` say why; `None` otherwise.
    pub(super) fn report_refused(
        &self,
        envelope: &OutboundEnvelope,
        recipients: &[LocalRecipient],
        refusals: &[Refusal],
        stored: &Stored,
        size: u64,
        now: i64,
    ) -> Option<Reply> {
        let from = envelope.sender.as_str();
        let notices: Vec<Notice> = refusals
            .iter()
            .map(|refusal| {
                let address = self.address_of(refusal.account);
                tracing::info!(from, to = %address, why = refusal.text, "delivery refused");
                // The first RCPT that led to the account says what the sender asked for.
                let asked = recipients.iter().find(|r| r.account == refusal.account);
                let recipient = Outbound::new(
                    address,
                    asked.and_then(|r| r.orcpt.clone()),
                    asked.and_then(|r| r.notify),
                    now,
                );
                Notice {
                    recipient,
                    problem: Problem::local(refusal.status, refusal.text.clone()),
                    action: Action::Failed,
                }
            })
            .collect();
        if stored.is_empty() {
            // Refused whole: the sender hears it in the reply, a filter's reason first.
            let refusal = refusals.iter().find(|r| r.rejected).or(refusals.first())?;
            return Some(match refusal.rejected {
                true => Reply::new(550, refusal.status, refusal.text.clone()),
                false => Reply::new(552, (5, 2, 2), "Mailbox full"),
            });
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
        None
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

/// A script's reason as one line of printable ASCII a reply can carry, shortened.
fn one_line(reason: &str) -> String {
    let line: String = reason
        .split(['\r', '\n'])
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no reason given")
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(REASON_MAX)
        .collect();
    line
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn a_reason_becomes_one_printable_line() {
        assert_eq!(one_line("\r\nNot here.\r\nSecond line\r\n"), "Not here.");
        assert_eq!(one_line("Grüße\tbye"), "Gr??e?bye");
        assert_eq!(one_line(""), "no reason given");
        assert_eq!(one_line(&"x".repeat(500)).len(), 200);
    }
}
