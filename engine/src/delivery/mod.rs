//! Local delivery: the trace headers that open every stored message, and the durable hand-off
//! of a spooled body to every recipient's INBOX that has room for it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use proto_smtp::Reply;

use crate::Engine;
use crate::directory::routing::store_failure;
use crate::mail::{WholeMessage, date};
use crate::sieve::Placement;
use crate::store::outbound::{NewQueued, Notify, Outbound, OutboundEnvelope};
use crate::store::{AccountId, Delivery, Onward, SpecialUse, Spool, Store, StoreError, Stored};
use crate::webhooks::Hooked;
use spool::SummarizingSpool;

mod refused;
pub mod spool;

/// A local recipient of a message: the account its copy goes to, and what its `RCPT` asked
/// for, so that a copy the account has no room for is reported as the sender wished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalRecipient {
    pub account: AccountId,
    /// `ORCPT=` (RFC 3461), else the address as given in `RCPT`: what the sender knows.
    pub orcpt: Option<String>,
    /// `NOTIFY=` (RFC 3461), as given.
    pub notify: Option<Notify>,
}

impl LocalRecipient {
    /// A recipient the sender asked nothing special for.
    pub fn plain(account: AccountId) -> Self {
        Self {
            account,
            orcpt: None,
            notify: None,
        }
    }
}

/// Whom a message is for on this server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recipients {
    /// Accounts whose mailboxes get a copy.
    pub accounts: Vec<LocalRecipient>,
    /// Addresses whose webhooks report it.
    pub hooked: Vec<Hooked>,
}

impl Recipients {
    /// Accounts only.
    pub fn accounts(accounts: Vec<LocalRecipient>) -> Self {
        Recipients {
            accounts,
            hooked: Vec::new(),
        }
    }
}

/// What the trace headers record about how a message arrived.
#[derive(Clone, Debug)]
pub struct TraceInfo<'a> {
    pub peer: SocketAddr,
    /// The EHLO/HELO name, as the client gave it.
    pub helo: Option<&'a str>,
    pub esmtp: bool,
    /// Handed over whole by the HTTP send API, not over SMTP.
    pub http: bool,
    pub tls: bool,
    pub authenticated: bool,
    /// The envelope sender; empty for the null sender.
    pub mail_from: &'a str,
    /// Named in `for <...>` when the message has exactly one recipient.
    pub single_recipient: Option<&'a str>,
    /// Unique per message, for finding it in the logs.
    pub id: &'a str,
    pub unix_time: i64,
}

impl TraceInfo<'_> {
    /// The `Return-Path:` field (RFC 5321 §4.4), which goes first.
    pub fn return_path(&self) -> String {
        format!("Return-Path: <{}>\r\n", sanitize(self.mail_from))
    }

    /// The `Received:` field (RFC 5321 §4.4, protocol names per RFC 3848).
    pub fn received(&self, hostname: &str) -> String {
        let protocol = match (self.esmtp, self.tls, self.authenticated) {
            _ if self.http => "HTTP",
            (false, _, _) => "SMTP",
            (true, false, false) => "ESMTP",
            (true, true, false) => "ESMTPS",
            (true, false, true) => "ESMTPA",
            (true, true, true) => "ESMTPSA",
        };
        let helo = self.helo.map(sanitize).unwrap_or_else(|| "unknown".into());
        let recipient = self
            .single_recipient
            .map(|r| format!("\r\n\tfor <{}>", sanitize(r)))
            .unwrap_or_default();
        format!(
            "Received: from {helo} ([{}])\r\n\tby {hostname} (Postern) with {protocol} id {}{recipient};\r\n\t{}\r\n",
            self.peer.ip(),
            self.id,
            date::rfc5322(self.unix_time)
        )
    }
}

/// A short identifier for a message's `Received:` field and its log lines, unique within
/// this process and very likely across restarts.
pub fn trace_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!(
        "{nanos:x}{:04x}",
        COUNTER.fetch_add(1, Ordering::Relaxed) & 0xffff
    )
}

/// Keeps client-supplied text from breaking a header: no control characters, no brackets
/// that would end the field early.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || c == '<' || c == '>' {
                '?'
            } else {
                c
            }
        })
        .collect()
}

impl<S: Store> Engine<S> {
    /// Starts a message body: a fresh spool. Its trace fields are put first once the
    /// message is in ([`SummarizingSpool::prepend`]), with the results of the checks made
    /// on all of it.
    pub fn begin_message(&self) -> Result<SummarizingSpool<S::Spool>, StoreError> {
        Ok(SummarizingSpool::new(self.store.create_spool()?))
    }

    /// Stores a complete message for its local recipients, puts it in the outbound queue
    /// for its remote ones (`queued`: one entry per envelope sender) and adds the calls of
    /// the webhooks that report it, in one commit (releasing a held submission in it, if
    /// `onward` says); says what to answer. The positive answer comes only after the store
    /// made the message durable. A recipient whose account has no room gets no copy and its sender a bounce
    /// (`envelope` says whose, and what it asked for), while the others get theirs: a full
    /// mailbox does not make the sender retry for everyone. Only when nothing could be
    /// kept is the message refused, permanently (`552 5.2.2`, as Dovecot's LMTP answers).
    pub fn deliver(
        &self,
        mut spool: SummarizingSpool<S::Spool>,
        envelope: &OutboundEnvelope,
        recipients: &Recipients,
        onward: Onward,
        folder: Folder,
        unix_time: i64,
    ) -> Reply {
        let Onward {
            queued, release, ..
        } = onward;
        let hooked = &recipients.hooked;
        let recipients = recipients.accounts.as_slice();
        let mut accounts: Vec<AccountId> = recipients.iter().map(|r| r.account).collect();
        accounts.sort_unstable();
        accounts.dedup();
        let read_back = match self.read_whole(&mut spool, &accounts, hooked, folder) {
            Ok(read_back) => read_back,
            Err(e) => return store_failure(&e),
        };
        let arriving = Arriving {
            spool: &spool,
            whole: spool
                .kept()
                .or(read_back.as_ref().map(|(_, whole)| whole.as_slice())),
        };
        let mut queued = queued;
        let mut answers = Vec::new();
        let mut refusals = Vec::new();
        let mut deliveries = Vec::with_capacity(accounts.len());
        for &account in &accounts {
            let placed = match folder {
                Folder::Inbox => self.filtered(account, &arriving, envelope, recipients, unix_time),
                Folder::Junk => self.junk_mailbox(account).map(|name| Placement {
                    copies: vec![(name, 0, Vec::new())],
                    ..Placement::default()
                }),
            };
            let placement = match placed {
                Ok(placement) => placement,
                Err(e) => return store_failure(&e),
            };
            if let Some(reason) = &placement.reject {
                refusals.push(self.rejected(account, reason));
            }
            answers.extend(placement.answer.map(|answer| (account, answer)));
            for (mailbox, flags, keywords) in placement.copies {
                deliveries.push(Delivery {
                    account,
                    mailbox,
                    flags,
                    keywords,
                    internal_date: unix_time,
                });
            }
            for address in placement.redirects {
                match self.redirect(&address, envelope, account, unix_time) {
                    Ok(Redirect::Local(accounts)) => {
                        deliveries.extend(accounts.into_iter().map(|account| Delivery {
                            account,
                            mailbox: "INBOX".to_string(),
                            flags: 0,
                            keywords: Vec::new(),
                            internal_date: unix_time,
                        }));
                    }
                    Ok(Redirect::Queued(entry)) => queued.push(entry),
                    Err(e) => return store_failure(&e),
                }
            }
        }
        let envelopes: Vec<(String, String)> = queued
            .iter()
            .map(|q| {
                let to: Vec<&str> = q.recipients.iter().map(|r| r.address.as_str()).collect();
                (q.envelope.sender.clone(), to.join(", "))
            })
            .collect();
        let hooks = self.hook_calls(&arriving, envelope, hooked, folder, unix_time);
        drop(read_back);
        let called = !hooks.is_empty();
        let body = spool.finish();
        let size = body.len();
        let onward = Onward {
            queued,
            hooks,
            hold: None,
            release,
        };
        let stored = match self.store.submit(body, &deliveries, onward) {
            Ok(stored) => stored,
            Err(e) => return store_failure(&e),
        };
        if called {
            self.webhook_calls.notify(usize::MAX);
        }
        // A held submission every recipient refused at its release: nobody waits for a
        // reply, so its sender hears of it as from the queue, by a bounce quoting the body
        // its hold still keeps, and the hold goes then.
        let refused_at_release = release.filter(|_| stored.is_empty());
        let stored = Stored {
            held: stored.held.or(refused_at_release),
            ..stored
        };
        for (id, (from, to)) in stored.queued.iter().zip(&envelopes) {
            tracing::info!(queue_id = %id, from, to, "queued for delivery");
        }
        if !stored.queued.is_empty() {
            self.queued.notify(usize::MAX);
        }
        for d in &stored.delivered {
            self.changes.notify(d.mailbox);
            self.filled.stored(d.mailbox, d.uid);
        }
        refusals.extend(self.over_quota(&stored));
        let reply = match refusals.is_empty() {
            true => None,
            false => self.report_refused(envelope, recipients, &refusals, &stored, size, unix_time),
        };
        if let Some(id) = refused_at_release
            && let Err(error) = self.store.cancel_held(id)
        {
            tracing::error!(%error, "cannot drop a held message its recipients refused");
        }
        if let Some(reply) = reply {
            return reply;
        }
        for (account, answer) in &answers {
            self.send_answer(*account, answer, unix_time);
        }
        Reply::new(250, (2, 0, 0), "Message accepted for delivery")
    }

    /// The message read whole, with its place among those in memory whole, when it is not
    /// kept in memory already and something reads it whole: a Sieve `body` test of a
    /// recipient's scripts (up to [`SIEVE_BODY_MAX`]), a webhook's document (up to its
    /// [`MAX_PARSED`](crate::webhooks::payload::MAX_PARSED)).
    fn read_whole(
        &self,
        spool: &mut SummarizingSpool<S::Spool>,
        accounts: &[AccountId],
        hooked: &[Hooked],
        folder: Folder,
    ) -> Result<Option<(WholeMessage, Vec<u8>)>, StoreError> {
        if spool.is_kept() {
            return Ok(None);
        }
        let size = spool.size();
        let for_hooks = !hooked.is_empty() && size <= crate::webhooks::payload::MAX_PARSED;
        let for_filters = folder == Folder::Inbox
            && size <= SIEVE_BODY_MAX
            && self.filters_read_bodies(accounts)?;
        if !for_hooks && !for_filters {
            return Ok(None);
        }
        let place = crate::mail::whole_message(size);
        let whole = spool
            .contents()
            .map_err(|e| StoreError::io(e.kind(), format!("cannot read a message back: {e}")))?;
        Ok(Some((place, whole)))
    }

    /// Where `account`'s copy goes, by its Sieve script (INBOX without one).
    fn filtered(
        &self,
        account: AccountId,
        arriving: &Arriving<'_, S::Spool>,
        envelope: &OutboundEnvelope,
        recipients: &[LocalRecipient],
        unix_time: i64,
    ) -> Result<Placement, StoreError> {
        // The address the account's copy was sent to, as its RCPT gave it.
        let to = recipients
            .iter()
            .find(|r| r.account == account)
            .and_then(|r| r.orcpt.as_deref())
            .map(|orcpt| orcpt.split_once(';').map_or(orcpt, |(_, address)| address))
            .unwrap_or_default();
        let spool = arriving.spool;
        let message = crate::sieve::Delivered {
            prepended: spool.prepended(),
            header: spool.header().unwrap_or_default(),
            whole: arriving.whole,
            now: unix_time,
            from: &envelope.sender,
            to,
            size: spool.size(),
        };
        if let Some(mailbox) = self.screened(account, message.header, &envelope.sender)? {
            tracing::info!(to, from = envelope.sender, mailbox, "held by the Screener");
            return Ok(Placement {
                copies: vec![(mailbox, 0, Vec::new())],
                ..Placement::default()
            });
        }
        let mut placement = self.placement(account, &message, "INBOX")?;
        self.mark_important(account, message.header, &envelope.sender, &mut placement)?;
        Ok(placement)
    }

    /// Where a message a script of `account` redirects to `address` goes: to the accounts
    /// of a local address, or into the queue from its sender rewritten as for forwarding.
    fn redirect(
        &self,
        address: &str,
        envelope: &OutboundEnvelope,
        account: AccountId,
        now: i64,
    ) -> Result<Redirect, StoreError> {
        if let Some(accounts) = self.local_redirect(address)? {
            if accounts.is_empty() {
                tracing::warn!(
                    to = address,
                    "Sieve redirect to a local address nobody receives; dropped"
                );
            }
            return Ok(Redirect::Local(accounts));
        }
        let via = self
            .store
            .account_by_id(account)?
            .map(|a| {
                a.email
                    .rsplit_once('@')
                    .map_or(String::new(), |(_, d)| d.to_string())
            })
            .unwrap_or_default();
        let sender = match self.srs() {
            Some(srs) if !envelope.sender.is_empty() => srs.forward(&envelope.sender, &via, now),
            _ => envelope.sender.clone(),
        };
        Ok(Redirect::Queued(NewQueued {
            created: now,
            envelope: OutboundEnvelope {
                sender,
                ..envelope.clone()
            },
            recipients: vec![Outbound::new(address.to_string(), None, None, now)],
        }))
    }

    /// The account's mailbox for junk: the one marked `\Junk`, else the one named Junk,
    /// made if missing (as the mailboxes every account starts with can be deleted).
    pub(crate) fn junk_mailbox(&self, account: AccountId) -> Result<String, StoreError> {
        let mailboxes = self.store.mailboxes(account)?;
        let marked = mailboxes
            .iter()
            .find(|m| m.special_use == Some(SpecialUse::Junk));
        if let Some(mailbox) = marked {
            return Ok(mailbox.name.clone());
        }
        if !mailboxes.iter().any(|m| m.name == JUNK) {
            match self.store.create_mailbox(account, JUNK) {
                Ok(_) | Err(StoreError::AlreadyExists(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(JUNK.to_string())
    }
}

/// The largest message a Sieve `body` test reads; a larger one's body matches nothing.
pub const SIEVE_BODY_MAX: u64 = 10 * 1024 * 1024;

/// A message being delivered, as what decides where it goes reads it.
pub(crate) struct Arriving<'a, W> {
    pub(crate) spool: &'a SummarizingSpool<W>,
    /// The whole message, when it is in memory: kept by the spool, or read back for a
    /// `body` test or a webhook.
    pub(crate) whole: Option<&'a [u8]>,
}

/// Where a message a script redirects goes.
enum Redirect {
    /// To these accounts' INBOX.
    Local(Vec<AccountId>),
    Queued(NewQueued),
}

/// Where a delivered message goes in each recipient's account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Folder {
    Inbox,
    /// The mailbox for junk: mail its author's domain asks to be quarantined.
    Junk,
}

const JUNK: &str = "Junk";

#[cfg(test)]
mod tests {
    use super::*;

    fn trace() -> TraceInfo<'static> {
        TraceInfo {
            peer: "192.0.2.7:4567".parse().unwrap(),
            helo: Some("client.example"),
            esmtp: true,
            http: false,
            tls: true,
            authenticated: false,
            mail_from: "a@x.test",
            single_recipient: Some("b@y.test"),
            id: "abc123",
            unix_time: 0,
        }
    }

    #[test]
    fn trace_headers_are_well_formed() {
        let t = trace();
        let headers = t.return_path() + &t.received("mx.example");
        assert_eq!(
            headers,
            "Return-Path: <a@x.test>\r\nReceived: from client.example ([192.0.2.7])\r\n\tby mx.example (Postern) with ESMTPS id abc123\r\n\tfor <b@y.test>;\r\n\tThu, 1 Jan 1970 00:00:00 +0000\r\n"
        );
    }

    #[test]
    fn hostile_helo_cannot_inject_headers() {
        let mut t = trace();
        t.helo = Some("evil\r\nX-Injected: yes");
        t.single_recipient = None;
        let headers = t.return_path() + &t.received("mx");
        assert!(!headers.contains("\r\nX-Injected"));
        assert_eq!(headers.matches("\r\n").count(), 4);
    }
}
