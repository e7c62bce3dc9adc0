//! One delivery attempt of a queued message: its due recipients grouped by domain, each
//! domain's mail exchangers found in DNS and tried in order, the message handed over, and
//! what every recipient's server said kept in the queue.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto_core::session::Peer;
use proto_smtp::client::{ClientConfig, ClientSession, Failure, Message, Tls};
use proto_smtp::{MailParams, RcptParams, Recipient, Reply};

use super::connection::{Broken, Exchange, Job, exchange, signatures};
use super::schedule::{Next, RetryPolicy};
use super::{QueuedMessage, State};
use crate::Engine;
use crate::dns::{DnsError, MxAnswer};
use crate::io::{Dialer, Executor};
use crate::store::Store;

/// How outbound delivery behaves; `[delivery]` in the configuration.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// The name given in `EHLO`: the server's hostname.
    pub hostname: String,
    /// The port remote mail exchangers are reached on: 25, but tests point it elsewhere.
    pub remote_port: u16,
    /// Deliveries in progress at once.
    pub workers: usize,
    /// How long a TCP connection to a mail exchanger may take.
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
}

impl DeliveryConfig {
    pub fn new(hostname: impl Into<String>) -> Self {
        Self {
            hostname: hostname.into(),
            remote_port: 25,
            workers: 4,
            connect_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

/// What one recipient's attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Verdict {
    Delivered(String),
    /// Worth trying again later.
    Deferred(String),
    /// Not worth trying again.
    Refused(String),
}

impl Verdict {
    fn from_failure(failure: &Failure, host: &str) -> Self {
        let text = format!("{host} said: {}", reply_line(&failure.reply));
        if failure.is_permanent() {
            Verdict::Refused(text)
        } else {
            Verdict::Deferred(text)
        }
    }
}

/// What delivery works with: the engine, the runtime's blocking pool and dialer, and the
/// settings. Shared by every attempt.
pub struct Courier<S: Store, E, D> {
    pub engine: Arc<Engine<S>>,
    pub executor: E,
    pub dialer: D,
    pub config: DeliveryConfig,
}

impl<S: Store, E: Executor, D: Dialer> Courier<S, E, D> {
    /// Tries every due recipient of `message` once and saves the result: delivered, given up
    /// on (permanent refusal, or retries ran out), or scheduled for another try.
    pub async fn attempt(&self, mut message: QueuedMessage, now: i64) {
        let mut domains: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (index, recipient) in message.recipients.iter().enumerate() {
            if recipient.state == State::Pending && recipient.next_attempt <= now {
                domains.entry(recipient.domain()).or_default().push(index);
            }
        }
        // Signed once per attempt, whichever domains it goes to.
        let signature = if domains.is_empty() {
            Ok(Vec::new())
        } else {
            let (blob, sender) = (message.blob, &message.envelope.sender);
            signatures(&self.engine, &self.executor, blob, sender).await
        };
        for (domain, indexes) in domains {
            let verdicts = match &signature {
                Ok(signature) => self.to_domain(&message, signature, &domain, &indexes).await,
                Err(error) => {
                    let text = format!("cannot sign the message: {error}");
                    vec![Verdict::Deferred(text); indexes.len()]
                }
            };
            for (index, verdict) in indexes.into_iter().zip(verdicts) {
                record(&mut message, index, verdict, &self.config.retry, now);
            }
        }
        let engine = self.engine.clone();
        let id = message.id;
        let saved = self
            .executor
            .unblock(move || engine.store().update_queued(&message))
            .await;
        if let Err(error) = saved {
            // The attempt is lost, not the message: it stays queued and is tried again.
            tracing::error!(queue_id = %id, %error, "cannot save a delivery attempt");
        }
    }

    /// Delivers `message`, `signature` before it, to the recipients at `indexes`, all of
    /// `domain`: one verdict each.
    async fn to_domain(
        &self,
        message: &QueuedMessage,
        signature: &[u8],
        domain: &str,
        indexes: &[usize],
    ) -> Vec<Verdict> {
        let all = |verdict: Verdict| vec![verdict; indexes.len()];
        let hosts = match exchangers(&self.engine, domain).await {
            Ok(hosts) => hosts,
            Err(verdict) => return all(verdict),
        };
        let envelope = Message {
            from: message.envelope.sender.clone(),
            params: MailParams {
                size: Some(message.size.saturating_add(signature.len() as u64)),
                body: message.envelope.body,
                smtputf8: message.envelope.smtputf8,
                ret: message.envelope.ret,
                envid: message.envelope.envid.clone(),
                auth: None,
            },
            recipients: indexes
                .iter()
                .filter_map(|&i| message.recipients.get(i))
                .map(|r| Recipient {
                    addr: r.address.clone(),
                    params: RcptParams {
                        notify: r.notify,
                        orcpt: r.orcpt.clone(),
                    },
                })
                .collect(),
            require_tls: false,
        };
        let mut last = Verdict::Deferred(format!("no mail exchanger of {domain} could be reached"));
        for host in hosts {
            let addresses = match self.engine.resolver().addresses(&host).await {
                Ok(addresses) => addresses,
                Err(error) => {
                    last = Verdict::Deferred(format!("cannot find the address of {host}: {error}"));
                    continue;
                }
            };
            for ip in addresses {
                let addr = SocketAddr::new(ip, self.config.remote_port);
                match self
                    .to_host(&host, addr, &envelope, message, signature)
                    .await
                {
                    Ok(verdicts) => return verdicts,
                    Err(verdict) => last = verdict,
                }
            }
        }
        all(last)
    }

    /// One mail exchanger at one address: verified TLS if it offers STARTTLS, else (or when the
    /// handshake fails) unverified TLS, else cleartext (opportunistic TLS, RFC 7435). `Ok` once
    /// the server answered the message; `Err` with why when the next exchanger should be tried.
    async fn to_host(
        &self,
        host: &str,
        addr: SocketAddr,
        envelope: &Message,
        message: &QueuedMessage,
        signature: &[u8],
    ) -> Result<Vec<Verdict>, Verdict> {
        let ways = [
            (Tls::Opportunistic, true),
            (Tls::Opportunistic, false),
            (Tls::Never, false),
        ];
        let mut last = None;
        for (tls, verify) in ways {
            let mut conn = match self.dialer.connect(addr, self.config.connect_timeout).await {
                Ok(conn) => conn,
                Err(error) => {
                    return Err(Verdict::Deferred(format!(
                        "cannot connect to {host}[{}]: {error}",
                        addr.ip()
                    )));
                }
            };
            let mut client = ClientConfig::new(self.config.hostname.clone());
            client.tls = tls;
            let peer = Peer {
                addr,
                implicit_tls: false,
            };
            let session = ClientSession::new(Arc::new(client), peer, Instant::now());
            let job = Job {
                message: envelope.clone(),
                blob: message.blob,
                signature: signature.to_vec(),
            };
            let tls_check = (host, verify);
            let done = exchange(
                &self.engine,
                &self.executor,
                &mut conn,
                session,
                tls_check,
                vec![job],
            );
            match done.await {
                Ok(done) => return verdicts(done, host),
                Err(Broken::Tls(error)) => {
                    tracing::info!(queue_id = %message.id, host, verify, %error, "TLS handshake failed; trying again with less");
                    last = Some(error);
                }
                Err(Broken::Io(error)) => {
                    return Err(Verdict::Deferred(format!(
                        "connection to {host}[{}] failed: {error}",
                        addr.ip()
                    )));
                }
            }
        }
        Err(Verdict::Deferred(format!(
            "TLS with {host}[{}] failed: {}",
            addr.ip(),
            last.map_or_else(String::new, |e| e.to_string())
        )))
    }
}

/// Keeps what an attempt came to for one recipient, with a log line an operator can read.
fn record(
    message: &mut QueuedMessage,
    index: usize,
    verdict: Verdict,
    retry: &RetryPolicy,
    now: i64,
) {
    let (id, sender, created) = (message.id, message.envelope.sender.clone(), message.created);
    let Some(recipient) = message.recipients.get_mut(index) else {
        return;
    };
    recipient.attempts = recipient.attempts.saturating_add(1);
    let (from, to) = (sender.as_str(), recipient.address.as_str());
    match verdict {
        Verdict::Delivered(text) => {
            tracing::info!(queue_id = %id, from, to, result = %text, "delivered");
            recipient.state = State::Delivered;
            recipient.last_result = Some(text);
        }
        Verdict::Refused(text) => {
            tracing::warn!(queue_id = %id, from, to, result = %text, "delivery failed");
            recipient.state = State::Failed;
            recipient.last_result = Some(text);
        }
        Verdict::Deferred(text) => {
            let jitter = jitter(id.0, recipient.attempts);
            match retry.after_failure(recipient.attempts, created, now, jitter) {
                Next::RetryAt(at) => {
                    tracing::info!(queue_id = %id, from, to, result = %text, retry_in = at - now, "delivery deferred");
                    recipient.next_attempt = at;
                }
                Next::GiveUp => {
                    tracing::warn!(queue_id = %id, from, to, result = %text, attempts = recipient.attempts, "delivery failed: retries exhausted");
                    recipient.state = State::Failed;
                }
            }
            recipient.last_result = Some(text);
        }
    }
}

/// A spread in `[-1, 1]` that differs between messages and attempts, so deferred mail does
/// not come back all at once; derived, not random, so a test can predict it.
fn jitter(id: u64, attempt: u32) -> f64 {
    let mixed = id
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(u64::from(attempt).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    (mixed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

/// The hosts to try for `domain`, most preferred first, or the verdict for all its
/// recipients when there is none.
async fn exchangers<S: Store>(engine: &Engine<S>, domain: &str) -> Result<Vec<String>, Verdict> {
    match engine.resolver().mx(domain).await {
        Ok(MxAnswer::Hosts(hosts)) => Ok(hosts.into_iter().map(|h| h.host).collect()),
        // No MX: the domain itself is its mail exchanger (RFC 5321 5.1).
        Ok(MxAnswer::NoMx) => Ok(vec![domain.to_string()]),
        Ok(MxAnswer::NullMx) => Err(Verdict::Refused(format!(
            "{domain} accepts no mail (null MX, RFC 7505)"
        ))),
        Ok(MxAnswer::NxDomain) | Err(DnsError::NxDomain) => Err(Verdict::Refused(format!(
            "the domain {domain} does not exist"
        ))),
        Err(error) if !error.is_temporary() => Err(Verdict::Refused(format!("{domain}: {error}"))),
        Err(error) => Err(Verdict::Deferred(format!(
            "cannot find the mail exchangers of {domain}: {error}"
        ))),
    }
}

/// The recipients' verdicts from what the connection achieved; `Err` when the server never
/// answered for the message (it failed before: try the next exchanger).
fn verdicts(done: Exchange, host: &str) -> Result<Vec<Verdict>, Verdict> {
    let Some(outcome) = done.outcomes.into_iter().next() else {
        let failure = done.failure.map_or_else(
            || Verdict::Deferred(format!("{host} ended the connection")),
            |f| Verdict::from_failure(&f, host),
        );
        // Whatever the greeting or EHLO said, another exchanger may take it (RFC 5321 5.1).
        return Err(match failure {
            Verdict::Refused(text) => Verdict::Deferred(text),
            other => other,
        });
    };
    Ok(outcome
        .recipients
        .iter()
        .map(|status| match status {
            Ok(reply) => Verdict::Delivered(format!("{host} said: {}", reply_line(reply))),
            Err(failure) => Verdict::from_failure(failure, host),
        })
        .collect())
}

/// A reply on one line, as logs and `postern queue` show it.
fn reply_line(reply: &Reply) -> String {
    let code = match reply.enhanced {
        Some((class, subject, detail)) => format!("{} {class}.{subject}.{detail}", reply.code),
        None => reply.code.to_string(),
    };
    format!("{code} {}", reply.text.replace('\n', " "))
}
