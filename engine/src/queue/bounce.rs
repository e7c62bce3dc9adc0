//! Telling a sender that mail could not be delivered, or not yet: a delivery status
//! notification (RFC 3464) in a `multipart/report` (RFC 6522), built with mail-builder, sent
//! from the null sender so that it can never bounce in turn.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use mail_builder::MessageBuilder;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::{BodyPart, MimePart};
use proto_smtp::Enhanced;

use super::connection::return_path_len;
use super::{NewQueued, Outbound, OutboundEnvelope, QueueId, QueuedMessage};
use crate::delivery::spool::SummarizingSpool;
use crate::delivery::{Folder, LocalRecipient, Recipients};
use crate::directory::RcptContext;
use crate::mail::date;
use crate::store::{BlobId, Onward, Store, StoreError};
use crate::{Destination, Engine};

/// The most of the message a report returns whole (`RET=FULL`); larger ones are returned as
/// their header, as Postfix does with its `bounce_size_limit`.
const FULL_RETURN_LIMIT: u64 = 10 * 1024 * 1024;
/// The most header a report quotes.
const HEADER_LIMIT: usize = 64 * 1024;

/// The message a report is about: a queued one, or one just received that some local
/// recipients had no room for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct About<'a> {
    pub(crate) envelope: &'a OutboundEnvelope,
    /// Its queue entry, when queued: the body may be kept in the shared queue.
    pub(crate) queued: Option<QueueId>,
    /// The stored body, quoted in the report.
    pub(crate) blob: BlobId,
    pub(crate) size: u64,
    /// When it arrived (Unix seconds).
    pub(crate) arrived: i64,
}

impl<'a> From<&'a QueuedMessage> for About<'a> {
    fn from(message: &'a QueuedMessage) -> Self {
        About {
            envelope: &message.envelope,
            queued: Some(message.id),
            blob: message.blob,
            size: message.size,
            arrived: message.created,
        }
    }
}

/// Why a recipient was not delivered, as a bounce reports it (RFC 3464).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The enhanced status code (RFC 3463).
    pub(crate) status: Enhanced,
    pub(crate) text: String,
    /// The server that said so, and its reply, when one did.
    pub(crate) remote: Option<(String, String)>,
}

impl Problem {
    /// A problem found here (DNS, the network), not said by a remote server.
    pub(crate) fn local(status: Enhanced, text: String) -> Self {
        Self {
            status,
            text,
            remote: None,
        }
    }
}

/// What a report says of one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Notice {
    pub(crate) recipient: Outbound,
    pub(crate) problem: Problem,
    pub(crate) action: Action,
}

/// The `Action` of a recipient's report (RFC 3464 2.3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Given up on.
    Failed,
    /// Not delivered yet; tried again until this time (Unix seconds).
    Delayed { until: i64 },
}

impl<S: Store> Engine<S> {
    /// The report on the recipients of `message` just given up on or found delayed, if its
    /// sender is to hear of them: never for the null sender (bounces and other reports), and
    /// only where the recipient's `NOTIFY` asks for failures or delays, as an absent one
    /// does (RFC 3461 4.1).
    pub(crate) fn delivery_report(
        &self,
        message: About<'_>,
        notices: &[Notice],
        now: i64,
    ) -> Option<Vec<u8>> {
        for _ in notices.iter().filter(|n| n.action == Action::Failed) {
            self.metrics.bounced();
        }
        let notices = reported(message, notices);
        if notices.is_empty() {
            return None;
        }
        let full =
            message.envelope.ret == Some(super::Ret::Full) && message.size <= FULL_RETURN_LIMIT;
        let from = message.envelope.sender.as_str();
        let original = self.original(message, full).unwrap_or_else(|error| {
            tracing::error!(from, %error, "cannot read a message to quote it in its bounce");
            Vec::new()
        });
        match report(&self.hostname, message, &notices, &original, full, now) {
            Ok(report) => Some(report),
            Err(error) => {
                tracing::error!(from, %error, "cannot write a bounce");
                None
            }
        }
    }

    /// Delivers a message this server writes itself (a report, a vacation answer: `what`)
    /// to `sender`: into the account's INBOX when the address is local, else through the
    /// outbound queue, from the null sender so that it never gets an answer in turn.
    pub(crate) fn send_automatic(&self, sender: &str, report: &[u8], what: &str) {
        let context = RcptContext {
            authenticated: Some("MAILER-DAEMON"),
            declared_size: None,
        };
        let now = date::unix_now();
        // From the null sender, to the sender and to wherever its address forwards.
        let entry = |recipients: Vec<String>| NewQueued {
            created: now,
            envelope: OutboundEnvelope::default(),
            recipients: recipients
                .into_iter()
                .map(|address| Outbound::new(address, None, None, now))
                .collect(),
        };
        let (accounts, queued) = match self.check_rcpt(sender, context) {
            Ok(Destination::Local {
                accounts, forwards, ..
            }) if forwards.is_empty() => (accounts, Vec::new()),
            Ok(Destination::Local {
                accounts, forwards, ..
            }) => (accounts, vec![entry(forwards)]),
            Ok(Destination::Remote) => (Vec::new(), vec![entry(vec![sender.to_string()])]),
            Err(reply) => {
                tracing::warn!(to = sender, what, reply = %reply.text, "cannot deliver it; dropped");
                return;
            }
        };
        let spool = self.store.create_spool().and_then(|spool| {
            let mut spool = SummarizingSpool::new(spool);
            spool
                .write_all(b"Return-Path: <>\r\n")
                .and_then(|()| spool.write_all(report))
                .map_err(|e| StoreError::Io(format!("cannot write to the spool: {e}")))?;
            Ok(spool)
        });
        let accounts =
            Recipients::accounts(accounts.into_iter().map(LocalRecipient::plain).collect());
        let null_sender = OutboundEnvelope::default();
        let reply = match spool {
            Ok(spool) => self.deliver(
                spool,
                &null_sender,
                &accounts,
                Onward::queued(queued),
                Folder::Inbox,
                now,
            ),
            Err(error) => crate::directory::routing::store_failure(&error),
        };
        if reply.is_positive() {
            tracing::info!(to = sender, what, "sent");
        } else {
            tracing::warn!(to = sender, what, reply = %reply.text, "cannot deliver it; dropped");
        }
    }

    /// The message as sent, without the `Return-Path:` line it was stored with: whole, or its
    /// header only.
    fn original(&self, message: About<'_>, full: bool) -> Result<Vec<u8>, StoreError> {
        let mut reader: Box<dyn Read> = match message.queued {
            Some(id) => Box::new(self.queued_body(id, &message.blob)?),
            None => Box::new(self.store.read_blob(&message.blob)?),
        };
        let limit = if full {
            FULL_RETURN_LIMIT
        } else {
            HEADER_LIMIT as u64
        };
        let mut bytes = Vec::new();
        reader
            .by_ref()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|e| StoreError::Io(format!("cannot read a stored message: {e}")))?;
        bytes.drain(..return_path_len(&bytes));
        if !full {
            let end = bytes
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(bytes.len(), |at| at + 2);
            bytes.truncate(end);
        }
        Ok(bytes)
    }
}

/// The notices the sender is told of: none for the null sender; those whose `NOTIFY` asks
/// for them, as an absent one does.
fn reported<'a>(message: About<'_>, notices: &'a [Notice]) -> Vec<&'a Notice> {
    if message.envelope.sender.is_empty() {
        return Vec::new();
    }
    notices
        .iter()
        .filter(|notice| {
            notice.recipient.notify.is_none_or(|n| {
                !n.never
                    && match notice.action {
                        Action::Failed => n.failure,
                        Action::Delayed { .. } => n.delay,
                    }
            })
        })
        .collect()
}

/// The whole report message.
fn report(
    hostname: &str,
    message: About<'_>,
    notices: &[&Notice],
    original: &[u8],
    full: bool,
    now: i64,
) -> std::io::Result<Vec<u8>> {
    let failed = notices.iter().any(|n| n.action == Action::Failed);
    let subject = if failed {
        "Undelivered Mail Returned to Sender"
    } else {
        "Delayed Mail (still being retried)"
    };
    let returned_type = if full {
        "message/rfc822"
    } else {
        "text/rfc822-headers"
    };
    let encoding = if original.is_ascii() { "7bit" } else { "8bit" };
    let parts = vec![
        MimePart::new("text/plain", explanation(hostname, notices)),
        MimePart::new(
            "message/delivery-status",
            BodyPart::Text(status_fields(hostname, message, notices, now).into()),
        )
        .transfer_encoding("7bit"),
        MimePart::new(returned_type, BodyPart::Binary(original.into())).transfer_encoding(encoding),
    ];
    let report_type =
        ContentType::new("multipart/report").attribute("report-type", "delivery-status");
    MessageBuilder::new()
        .from((
            "Mail Delivery System",
            format!("MAILER-DAEMON@{hostname}").as_str(),
        ))
        .to(message.envelope.sender.as_str())
        .subject(subject)
        .date(now)
        .message_id(MessageId::new(format!("{}@{hostname}", unique(now))))
        // Automatic, so that no vacation responder answers it (RFC 3834).
        .header("Auto-Submitted", Raw::new("auto-replied"))
        .body(MimePart::new(report_type, parts))
        .write_to_vec()
}

/// What a person reads first.
fn explanation(hostname: &str, notices: &[&Notice]) -> String {
    let mut text = format!("This is the mail system at {hostname}.\r\n");
    for (action, lead) in [
        (
            Action::Failed,
            "Your message could not be delivered to these recipients:",
        ),
        (
            Action::Delayed { until: 0 },
            "Your message has not been delivered yet to these recipients. It will be tried\r\n\
             again; you do not need to send it again:",
        ),
    ] {
        let listed: Vec<&&Notice> = notices
            .iter()
            .filter(|n| std::mem::discriminant(&n.action) == std::mem::discriminant(&action))
            .collect();
        if listed.is_empty() {
            continue;
        }
        text.push_str(&format!("\r\n{lead}\r\n\r\n"));
        for notice in listed {
            let (address, problem) = (&notice.recipient.address, &notice.problem.text);
            text.push_str(&format!("<{address}>: {problem}\r\n"));
            if let Action::Delayed { until } = notice.action {
                text.push_str(&format!("  (tried until {})\r\n", date::rfc5322(until)));
            }
        }
    }
    text.push_str("\r\nThe header of your message is attached.\r\n");
    text
}

/// The machine-readable part (RFC 3464 2): per message, then per recipient.
fn status_fields(hostname: &str, message: About<'_>, notices: &[&Notice], now: i64) -> String {
    let mut fields = format!("Reporting-MTA: dns; {hostname}\r\n");
    if let Some(envid) = &message.envelope.envid {
        fields.push_str(&format!("Original-Envelope-Id: {}\r\n", one_line(envid)));
    }
    fields.push_str(&format!(
        "Arrival-Date: {}\r\n",
        date::rfc5322(message.arrived)
    ));
    for Notice {
        recipient,
        problem,
        action,
    } in notices
    {
        fields.push_str("\r\n");
        if let Some(orcpt) = &recipient.orcpt {
            fields.push_str(&format!("Original-Recipient: {}\r\n", one_line(orcpt)));
        }
        fields.push_str(&format!(
            "Final-Recipient: rfc822; {}\r\n",
            recipient.address
        ));
        fields.push_str(match action {
            Action::Failed => "Action: failed\r\n",
            Action::Delayed { .. } => "Action: delayed\r\n",
        });
        let (class, subject, detail) = problem.status;
        fields.push_str(&format!("Status: {class}.{subject}.{detail}\r\n"));
        if let Some((host, reply)) = &problem.remote {
            fields.push_str(&format!("Remote-MTA: dns; {host}\r\n"));
            fields.push_str(&format!("Diagnostic-Code: smtp; {}\r\n", one_line(reply)));
        }
        fields.push_str(&format!("Last-Attempt-Date: {}\r\n", date::rfc5322(now)));
        if let Action::Delayed { until } = action {
            fields.push_str(&format!("Will-Retry-Until: {}\r\n", date::rfc5322(*until)));
        }
    }
    fields
}

/// Text from elsewhere (a remote reply, the client's ENVID) as one printable-ASCII line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// Unique within this process and, with the time, across restarts.
fn unique(now: i64) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("{now:x}.{:x}.dsn", COUNTER.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use mail_parser::{MessageParser, MimeHeaders};

    use super::*;
    use crate::queue::{Notify, QueueId};
    use crate::store::BlobId;

    const NOW: i64 = 1_800_000_000;

    fn queued(sender: &str) -> QueuedMessage {
        QueuedMessage {
            id: QueueId(7),
            blob: BlobId([0; 32]),
            size: 100,
            created: NOW - 60,
            envelope: OutboundEnvelope {
                sender: sender.into(),
                envid: Some("env\r\nInjected: yes".into()),
                ..OutboundEnvelope::default()
            },
            recipients: Vec::new(),
            lease: None,
        }
    }

    fn failure(address: &str, notify: Option<Notify>) -> Notice {
        let mut recipient = Outbound::new(address.into(), None, notify, NOW);
        recipient.orcpt = Some(format!("rfc822;{address}"));
        let problem = Problem {
            status: (5, 1, 1),
            text: "mx.example.net said: 550 5.1.1 No such user".into(),
            remote: Some(("mx.example.net".into(), "550 5.1.1 No such user".into())),
        };
        Notice {
            recipient,
            problem,
            action: Action::Failed,
        }
    }

    #[test]
    fn only_failures_the_sender_asked_about_are_reported() {
        let never = Notify {
            never: true,
            ..Notify::default()
        };
        let success_only = Notify {
            success: true,
            ..Notify::default()
        };
        let failure_too = Notify {
            failure: true,
            delay: true,
            ..Notify::default()
        };
        let failed = [
            failure("a@x.test", None),
            failure("b@x.test", Some(never)),
            failure("c@x.test", Some(success_only)),
            failure("d@x.test", Some(failure_too)),
        ];
        let told: Vec<&str> = reported((&queued("s@y.test")).into(), &failed)
            .iter()
            .map(|n| n.recipient.address.as_str())
            .collect();
        assert_eq!(told, ["a@x.test", "d@x.test"]);
        let delayed: Vec<Notice> = failed
            .iter()
            .cloned()
            .map(|n| Notice {
                action: Action::Delayed { until: NOW },
                ..n
            })
            .collect();
        let told: Vec<&str> = reported((&queued("s@y.test")).into(), &delayed)
            .iter()
            .map(|n| n.recipient.address.as_str())
            .collect();
        assert_eq!(told, ["a@x.test", "d@x.test"], "d asked for delays too");
        assert!(
            reported((&queued("")).into(), &failed).is_empty(),
            "never to the null sender"
        );
    }

    #[test]
    fn the_report_is_a_well_formed_multipart_report() {
        let message = queued("s@y.test");
        let failed = [failure("a@x.test", None)];
        let told: Vec<&Notice> = failed.iter().collect();
        let original = b"From: s@y.test\r\nSubject: hi\r\n\r\n";
        let bytes = report("mx.test", (&message).into(), &told, original, false, NOW).unwrap();
        let parsed = MessageParser::default().parse(&bytes).unwrap();
        let content_type = parsed.content_type().unwrap();
        assert_eq!(
            (content_type.ctype(), content_type.subtype()),
            ("multipart", Some("report"))
        );
        assert_eq!(
            content_type.attribute("report-type"),
            Some("delivery-status")
        );
        let types: Vec<String> = parsed.parts[1..]
            .iter()
            .filter_map(|p| p.content_type())
            .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
            .collect();
        assert_eq!(
            types,
            [
                "multipart/report",
                "text/plain",
                "message/delivery-status",
                "text/rfc822-headers"
            ][1..]
        );
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.contains("Original-Envelope-Id: env??Injected: yes\r\n"),
            "{text}"
        );
        assert!(!text.contains("\r\nInjected: yes"), "{text}");
        assert!(
            text.contains("Original-Recipient: rfc822;a@x.test\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Diagnostic-Code: smtp; 550 5.1.1 No such user\r\n"),
            "{text}"
        );
        assert!(text.contains("Subject: hi\r\n"), "{text}");
    }
}
