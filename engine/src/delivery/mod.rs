//! Local delivery: the trace headers that open every stored message, and the durable hand-off
//! of a spooled body to every recipient's INBOX.

use std::io::Write;
use std::net::SocketAddr;

use proto_smtp::Reply;

use crate::Engine;
use crate::directory::routing::store_failure;
use crate::mail::date;
use crate::store::outbound::NewQueued;
use crate::store::{AccountId, Delivery, Store, StoreError};
use spool::SummarizingSpool;

pub mod spool;

/// What the trace headers record about how a message arrived.
#[derive(Clone, Debug)]
pub struct TraceInfo<'a> {
    pub peer: SocketAddr,
    /// The EHLO/HELO name, as the client gave it.
    pub helo: Option<&'a str>,
    pub esmtp: bool,
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
    /// The `Return-Path:` and `Received:` headers (RFC 5321 §4.4, protocol names per RFC 3848).
    pub fn headers(&self, hostname: &str) -> String {
        let protocol = match (self.esmtp, self.tls, self.authenticated) {
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
            "Return-Path: <{}>\r\nReceived: from {helo} ([{}])\r\n\tby {hostname} (Postern) with {protocol} id {}{recipient};\r\n\t{}\r\n",
            sanitize(self.mail_from),
            self.peer.ip(),
            self.id,
            date::rfc5322(self.unix_time)
        )
    }
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
    /// Starts a message body: a fresh spool that already holds the trace headers.
    pub fn begin_message(
        &self,
        trace: &TraceInfo<'_>,
    ) -> Result<SummarizingSpool<S::Spool>, StoreError> {
        let mut spool = SummarizingSpool::new(self.store.create_spool()?);
        spool
            .write_all(trace.headers(&self.hostname).as_bytes())
            .map_err(|e| StoreError::Io(format!("cannot write to the spool: {e}")))?;
        Ok(spool)
    }

    /// Stores a complete message for its local recipients, and puts it in the outbound queue
    /// for its remote ones (`queued`: one entry per envelope sender), in one commit; says
    /// what to answer. The positive answer comes only after the store made the message
    /// durable.
    pub fn deliver(
        &self,
        spool: SummarizingSpool<S::Spool>,
        recipients: &[AccountId],
        queued: Vec<NewQueued>,
        unix_time: i64,
    ) -> Reply {
        let mut accounts = recipients.to_vec();
        accounts.sort_unstable();
        accounts.dedup();
        let deliveries: Vec<Delivery> = accounts
            .iter()
            .map(|&account| Delivery {
                account,
                mailbox: "INBOX".into(),
                flags: 0,
                keywords: Vec::new(),
                internal_date: unix_time,
            })
            .collect();
        let stored = if queued.is_empty() {
            self.store.deliver(spool.finish(), &deliveries)
        } else {
            let envelopes: Vec<(String, String)> = queued
                .iter()
                .map(|q| {
                    let to: Vec<&str> = q.recipients.iter().map(|r| r.address.as_str()).collect();
                    (q.envelope.sender.clone(), to.join(", "))
                })
                .collect();
            self.store
                .submit(spool.finish(), &deliveries, queued)
                .map(|(delivered, ids)| {
                    for (id, (from, to)) in ids.iter().zip(&envelopes) {
                        tracing::info!(queue_id = %id, from, to, "queued for delivery");
                    }
                    self.queued.notify(usize::MAX);
                    delivered
                })
        };
        match stored {
            Ok(delivered) => {
                for d in delivered {
                    self.changes.notify(d.mailbox);
                }
                Reply::new(250, (2, 0, 0), "Message accepted for delivery")
            }
            Err(StoreError::OverQuota { account }) => {
                tracing::info!(account, "delivery refused: over quota");
                Reply::new(
                    452,
                    (4, 2, 2),
                    "Recipient's mailbox is full, try again later",
                )
            }
            Err(e) => store_failure(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace() -> TraceInfo<'static> {
        TraceInfo {
            peer: "192.0.2.7:4567".parse().unwrap(),
            helo: Some("client.example"),
            esmtp: true,
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
        let headers = trace().headers("mx.example");
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
        let headers = t.headers("mx");
        assert!(!headers.contains("\r\nX-Injected"));
        assert_eq!(headers.matches("\r\n").count(), 4);
    }
}
