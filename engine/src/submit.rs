//! A message a logged-in user hands over whole, outside SMTP (the HTTP send API): held to
//! the rules of SMTP submission — the user's own addresses as sender and author, their
//! hourly limits, each recipient routed as `RCPT TO` would be — then stored for local
//! recipients and queued for the others in one commit, like a message over port 587. Its
//! trace fields say it came over HTTP; DKIM signing happens in the queue, as for any
//! outbound message.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};

use proto_smtp::Reply;

use crate::delivery::trace_id;
use crate::directory::routing::{spool_failure, store_failure};
use crate::mail::date::unix_now;
use crate::queue::{NewHeld, Outbound, OutboundEnvelope};
use crate::store::{Onward, Store};
use crate::webhooks::Hooked;
use crate::{Destination, Engine, Folder, LocalRecipient, RcptContext, Recipients, TraceInfo};

/// A message to submit.
pub struct Submission<'a> {
    /// The logged-in user (an account's address).
    pub user: &'a str,
    /// The envelope sender: one of the user's addresses.
    pub from: &'a str,
    /// Every recipient, `Bcc` ones included.
    pub recipients: &'a [String],
    /// The whole message, header and body, lines ending in CRLF.
    pub message: &'a [u8],
    /// Where the request came from, for the `Received:` field and the log.
    pub client: IpAddr,
    /// When to send it (Unix seconds); `None`: now (or after the user's undo delay).
    pub send_at: Option<i64>,
}

/// What came of a submission that was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    /// The held submission's id and when it goes, when it was held (see [`crate::held`]).
    pub held: Option<(u64, i64)>,
}

/// Why a submission was refused: the SMTP reply it would have had, and the recipient it
/// was about, if it was about one. Nothing was stored or queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub recipient: Option<String>,
    pub reply: Reply,
}

impl Refused {
    fn of(reply: Reply) -> Self {
        Refused {
            recipient: None,
            reply,
        }
    }

    /// Whether trying again later may succeed (a `4xx` reply).
    pub fn is_temporary(&self) -> bool {
        self.reply.code / 100 == 4
    }
}

impl<S: Store> Engine<S> {
    /// Submits `submission`: every check first (all recipients must be accepted), then the
    /// message stored and queued durably. Blocking: runs on the blocking pool. Logs one
    /// line either way.
    pub fn submit(&self, submission: &Submission<'_>) -> Result<Submitted, Refused> {
        let outcome = self.submit_checked(submission);
        let reply = match &outcome {
            Ok(_) => "250".to_string(),
            Err(refused) => refused.reply.code.to_string(),
        };
        let to = submission.recipients.join(", ");
        let (client, user, from) = (submission.client, submission.user, submission.from);
        tracing::info!(%client, from, to, user, reply, "message submitted over HTTP");
        if outcome.is_ok() {
            self.metrics().received();
        }
        outcome
    }

    fn submit_checked(&self, submission: &Submission<'_>) -> Result<Submitted, Refused> {
        let Submission {
            user,
            from,
            recipients,
            message,
            client,
            send_at,
        } = *submission;
        let now = unix_now();
        let release_at = self.release_time(user, send_at, now).map_err(|e| {
            let reply = match e {
                crate::Error::Invalid(text) => Reply::new(554, (5, 5, 4), text),
                crate::Error::Store(e) => store_failure(&e),
            };
            Refused::of(reply)
        })?;
        if let Some(reply) = self.check_envelope_sender(user, from) {
            return Err(Refused::of(reply));
        }
        self.sending_rate()
            .message(user, now)
            .map_err(Refused::of)?;
        if recipients.is_empty() {
            return Err(Refused::of(Reply::new(
                554,
                (5, 5, 1),
                "No valid recipients",
            )));
        }
        let mut local = Recipients::default();
        let mut disposable = Vec::new();
        let mut remote = Vec::new();
        let mut forwards = Vec::new();
        for to in recipients {
            let refused = |reply| Refused {
                recipient: Some(to.clone()),
                reply,
            };
            let ctx = RcptContext {
                authenticated: Some(user),
                declared_size: u64::try_from(message.len()).ok(),
            };
            let destination = self.check_rcpt(to, ctx).map_err(refused)?;
            self.sending_rate().recipient(user, now).map_err(refused)?;
            let orcpt = Some(format!("rfc822;{to}"));
            match destination {
                Destination::Local {
                    accounts,
                    forwards: out,
                    hook,
                } => {
                    if self.is_disposable(to) {
                        disposable.push(to);
                    }
                    if let Some(webhook) = hook {
                        local.hooked.push(Hooked {
                            webhook,
                            address: to.clone(),
                        });
                    }
                    local
                        .accounts
                        .extend(accounts.into_iter().map(|account| LocalRecipient {
                            account,
                            orcpt: orcpt.clone(),
                            notify: None,
                        }));
                    let via = to.rsplit_once('@').map_or("", |(_, d)| d);
                    for target in out {
                        let forward = Outbound::new(target, orcpt.clone(), None, now);
                        forwards.push((via.to_string(), forward));
                    }
                }
                Destination::Remote => remote.push(Outbound::new(to.clone(), orcpt, None, now)),
            }
        }
        let header = header_section(message);
        if let Some(reply) = self.check_author(user, header) {
            return Err(Refused::of(reply));
        }
        let id = trace_id();
        let single_recipient = match recipients {
            [only] => Some(only.as_str()),
            _ => None,
        };
        let trace = TraceInfo {
            peer: SocketAddr::new(client, 0),
            helo: None,
            esmtp: true,
            http: true,
            tls: false,
            authenticated: true,
            mail_from: from,
            single_recipient,
            id: &id,
            unix_time: now,
        };
        let mut spool = self
            .begin_message()
            .map_err(|e| Refused::of(store_failure(&e)))?;
        let written = spool.write_all(message).and_then(|()| {
            let fields = trace.return_path() + &trace.received(self.hostname());
            spool.prepend(fields.as_bytes())
        });
        if let Err(e) = written {
            return Err(Refused::of(spool_failure(&e)));
        }
        let wrote_to: Vec<String> = remote.iter().map(|r| r.address.clone()).collect();
        let envelope = OutboundEnvelope {
            sender: from.to_string(),
            ..OutboundEnvelope::default()
        };
        let queued = self.queue_entries(&envelope, remote, forwards);
        let held = match release_at {
            Some((account, at)) => {
                let held = NewHeld {
                    account,
                    created: now,
                    release_at: at,
                    subject: crate::held::subject(header.unwrap_or_default()),
                    envelope,
                    local: local.accounts,
                    hooked: local.hooked,
                    queued,
                };
                Some((self.hold(spool, held).map_err(Refused::of)?, at))
            }
            None => {
                let onward = Onward::queued(queued);
                let reply = self.deliver(spool, &envelope, &local, onward, Folder::Inbox, now);
                if reply.code / 100 != 2 {
                    return Err(Refused::of(reply));
                }
                None
            }
        };
        for address in disposable {
            self.note_disposable_use(address);
        }
        self.note_correspondents(user, wrote_to.iter().map(String::as_str));
        self.approve_written(user, recipients);
        Ok(Submitted { held })
    }
}

/// The header section of a whole message, its blank line excluded; `None` when the message
/// has no body separator within the first 64 KiB (too long a header to check).
fn header_section(message: &[u8]) -> Option<&[u8]> {
    let window = message.get(..64 * 1024).unwrap_or(message);
    let end = window.windows(4).position(|w| w == b"\r\n\r\n")?;
    message.get(..end.saturating_add(2))
}
