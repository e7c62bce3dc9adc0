//! One delivery attempt of a queued message: its due recipients grouped by domain, each
//! domain's mail exchangers found in DNS and tried in order, the message handed over, and
//! what every recipient's server said kept in the queue.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use proto_core::session::Peer;
use proto_smtp::client::{ClientConfig, ClientSession, Failure, Message, Status, Tls};
use proto_smtp::{Enhanced, MailParams, RcptParams, Recipient, Reply};

use super::bounce::{Action, Notice, Problem};
use super::breaker::Breakers;
use super::config::DeliveryConfig;
use super::connection::{Broken, Exchange, Job, exchange, signatures};
use super::dane::{self, HostPolicy};
use super::mta_sts::{Mode, Policy, PolicyCache};
use super::pool::Pool;
use super::schedule::Next;
use super::transport::{Transport, TransportCounts};
use super::{QueuedMessage, State};
use crate::Engine;
use crate::dns::{DnsError, MxAnswer, Secured};
use crate::io::{Dialer, Executor, Outgoing, TlsCheck};
use crate::mail::date::unix_now;
use crate::slots::Slots;
use crate::store::Store;

/// What one recipient's attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Verdict {
    /// Taken by the server, which said this, over a connection that carried it so.
    Delivered(String, Transport),
    /// Worth trying again later.
    Deferred(Problem),
    /// Not worth trying again.
    Refused(Problem),
}

impl Verdict {
    fn from_failure(failure: &Failure, host: &str) -> Self {
        let reply = reply_line(&failure.reply);
        let class = if failure.is_permanent() { 5 } else { 4 };
        let problem = Problem {
            status: failure.reply.enhanced.unwrap_or((class, 0, 0)),
            text: format!("{host} said: {reply}"),
            remote: failure.remote.then(|| (host.to_string(), reply)),
        };
        if failure.is_permanent() {
            Verdict::Refused(problem)
        } else {
            Verdict::Deferred(problem)
        }
    }

    fn deferred(status: Enhanced, text: String) -> Self {
        Verdict::Deferred(Problem::local(status, text))
    }

    fn refused(status: Enhanced, text: String) -> Self {
        Verdict::Refused(Problem::local(status, text))
    }
}

/// What delivery works with: the engine, the runtime's blocking pool and dialer, the
/// settings, and the destinations' circuit breakers. Shared by every attempt.
pub struct Courier<S: Store, E, D: Dialer> {
    pub engine: Arc<Engine<S>>,
    pub executor: E,
    pub dialer: D,
    pub config: DeliveryConfig,
    pub breakers: Breakers,
    /// Connections kept for the next message to the same exchanger.
    pub pool: Pool<D::Conn>,
    /// The destinations' MTA-STS policies.
    pub policies: PolicyCache,
    /// The bound on connections per destination host.
    pub slots: Arc<Slots>,
    /// Deliveries by how they went; `postern queue stats` shows them.
    pub transports: Arc<TransportCounts>,
}

impl<S: Store, E: Executor, D: Dialer> Courier<S, E, D> {
    /// Tries every due recipient of `message` once and saves the result: delivered, given up
    /// on (permanent refusal, or retries ran out), or scheduled for another try.
    /// Returns whether the attempt was saved.
    pub async fn attempt(&self, mut message: QueuedMessage, now: i64) -> bool {
        let mut domains: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (index, recipient) in message.recipients.iter().enumerate() {
            if recipient.state == State::Pending && recipient.next_attempt <= now {
                domains.entry(recipient.domain()).or_default().push(index);
            }
        }
        let mut notices = Vec::new();
        // Signed once per attempt, whichever domains it goes to.
        let signature = if domains.is_empty() {
            Ok(Vec::new())
        } else {
            let body = (message.id, message.blob);
            signatures(&self.engine, &self.executor, body, &message.envelope.sender).await
        };
        for (domain, indexes) in domains {
            let verdicts = match &signature {
                Ok(signature) => {
                    let started = Instant::now();
                    let verdicts = self.to_domain(&message, signature, &domain, &indexes).await;
                    self.engine.metrics().delivery_attempt(started.elapsed());
                    verdicts
                }
                Err(error) => {
                    let text = format!("cannot sign the message: {error}");
                    vec![Verdict::deferred((4, 3, 0), text); indexes.len()]
                }
            };
            for (index, verdict) in indexes.into_iter().zip(verdicts) {
                if let Verdict::Delivered(_, transport) = &verdict {
                    self.transports.add(*transport);
                    self.engine.metrics().sent();
                }
                notices.extend(record(&mut message, index, verdict, &self.config, now));
            }
        }
        let engine = self.engine.clone();
        let id = message.id;
        let saved = self
            .executor
            .unblock(move || {
                // The report quotes the message, which may leave the store with the save;
                // the save comes before the report goes out: a crash in between loses a
                // bounce, but never bounces mail that is then tried again and delivered.
                let report = engine.delivery_report((&message).into(), &notices, now);
                engine.update_queued(&message)?;
                if let Some(report) = report {
                    engine.send_automatic(&message.envelope.sender, &report, "bounce");
                }
                Ok::<_, crate::store::StoreError>(())
            })
            .await;
        match saved {
            Ok(()) => true,
            // Taken out of the queue meanwhile (`postern queue delete`): nothing to save.
            Err(crate::store::StoreError::NotFound(_)) => {
                tracing::info!(queue_id = %id, "the message left the queue during its attempt");
                true
            }
            Err(error) => {
                // The attempt is lost, not the message: it stays queued and is tried again.
                tracing::error!(queue_id = %id, %error, "cannot save a delivery attempt");
                false
            }
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
        let (hosts, port, mx_secure) = match &self.config.relay {
            Some(relay) => (vec![relay.host.clone()], relay.port, false),
            None => match exchangers(&self.engine, domain).await {
                Ok((hosts, secure)) => (hosts, self.config.remote_port, secure),
                Err(verdict) => return all(verdict),
            },
        };
        let mut hosts: Vec<Exchanger> = hosts.into_iter().map(Exchanger::new).collect();
        // DANE applies only below a DNSSEC-secure MX answer (RFC 7672 2.2.1).
        if mx_secure {
            for exchanger in &mut hosts {
                self.dane_policy(exchanger, port).await;
            }
        }
        // DANE takes precedence over MTA-STS (RFC 8461 2): a domain whose exchangers
        // publish TLSA records is not held to its MTA-STS policy as well.
        let dane_domain = hosts.iter().any(|h| h.dane != HostPolicy::None);
        let sts = match dane_domain {
            true => None,
            false => self.sts_policy(domain).await,
        };
        // MTA-STS in enforce mode: only the listed exchangers, only over verified TLS.
        let enforced = match sts {
            Some(policy) if policy.mode != Mode::None => {
                let unlisted: Vec<&str> = hosts
                    .iter()
                    .filter(|h| !policy.allows(&h.host))
                    .map(|h| h.host.as_str())
                    .collect();
                if !unlisted.is_empty() {
                    let unlisted = unlisted.join(", ");
                    tracing::warn!(domain, unlisted, mode = ?policy.mode, "exchangers not in the MTA-STS policy");
                }
                // In testing mode the policy is only reported on; the MX order stands.
                let enforce = policy.mode == Mode::Enforce;
                if enforce {
                    hosts.retain(|h| policy.allows(&h.host));
                }
                if hosts.is_empty() {
                    return all(Verdict::deferred(
                        (4, 7, 5),
                        format!("no exchanger of {domain} is in its MTA-STS policy"),
                    ));
                }
                enforce
            }
            _ => false,
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
                require_tls: message.envelope.require_tls,
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
        };
        let strict = self.verified_tls_required(&envelope, enforced);
        let mut last = Verdict::deferred(
            (4, 4, 1),
            format!("no mail exchanger of {domain} could be reached"),
        );
        for exchanger in hosts {
            let host = exchanger.host;
            let now = unix_now();
            if !self.breakers.allow(&host, now) {
                last = Verdict::deferred(
                    (4, 4, 1),
                    format!("{host} failed repeatedly; it is tried again in a few minutes"),
                );
                continue;
            }
            let found = match exchanger.addresses {
                Some(found) => found,
                None => self.addresses(&host).await.map(|found| found.value),
            };
            let addresses = match found {
                Ok(addresses) => addresses,
                Err(verdict) => {
                    last = verdict;
                    continue;
                }
            };
            let security = self.security(&exchanger.dane, strict);
            for ip in addresses {
                let addr = SocketAddr::new(ip, port);
                let _slot = self
                    .slots
                    .acquire(&host, self.config.connections_per_host)
                    .await;
                let tried = self
                    .to_host(&host, addr, &envelope, message, signature, &security)
                    .await;
                self.breakers.record(&host, tried.is_ok(), unix_now());
                match tried {
                    Ok(verdicts) => return verdicts,
                    Err(verdict) => last = verdict,
                }
            }
        }
        all(last)
    }

    /// The addresses of `host` (itself when it is an IP address, which DNSSEC cannot vouch
    /// for), or the verdict when there are none to try.
    async fn addresses(&self, host: &str) -> Result<Secured<Vec<IpAddr>>, Verdict> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(Secured::new(vec![ip], false));
        }
        self.engine
            .resolver()
            .addresses(host)
            .await
            .map_err(|error| {
                Verdict::deferred(
                    (4, 4, 3),
                    format!("cannot find the address of {host}: {error}"),
                )
            })
    }

    /// Looks up the addresses of an exchanger under a secure MX answer and, when they are
    /// secure too, its TLSA records (RFC 7672 2.2.2). A failed TLSA lookup takes the
    /// exchanger out: trying it without DANE could be what an attacker wants.
    async fn dane_policy(&self, exchanger: &mut Exchanger, port: u16) {
        let found = self.addresses(&exchanger.host).await;
        let secure = found.as_ref().is_ok_and(|found| found.secure);
        exchanger.addresses = Some(found.map(|found| found.value));
        if !secure {
            return;
        }
        let resolver = self.engine.resolver().as_ref();
        match dane::host_policy(resolver, &exchanger.host, port).await {
            Ok(policy) => exchanger.dane = policy,
            Err(error) => {
                let host = &exchanger.host;
                tracing::warn!(host, %error, "cannot look up TLSA records; the exchanger is not used");
                exchanger.addresses = Some(Err(Verdict::deferred(
                    (4, 7, 5),
                    format!("cannot look up the TLSA records of {host}: {error}"),
                )));
            }
        }
    }

    /// Why `envelope` may go only over TLS with a verified certificate, if it may: it asks
    /// for REQUIRETLS (RFC 8689 5), its domain's MTA-STS policy is `enforced` (RFC 8461 5),
    /// or `[delivery] require_tls` says so for mail exchangers (a relay has its own setting).
    /// The reason is what the queue shows when such a delivery waits.
    fn verified_tls_required(&self, envelope: &Message, enforced: bool) -> Option<&'static str> {
        if envelope.params.require_tls {
            Some("the message's REQUIRETLS")
        } else if enforced {
            Some("the domain's MTA-STS policy")
        } else if self.config.require_tls && self.config.relay.is_none() {
            Some("[delivery] require_tls")
        } else {
            None
        }
    }

    /// How a connection to an exchanger must be secured: as its TLSA records say, or — for
    /// the reason `strict` gives — with a certificate that chains to a trusted root, or as a
    /// relay's settings say; else opportunistically.
    fn security(&self, dane: &HostPolicy, strict: Option<&'static str>) -> Security {
        let required = |check, why| Security::Required { check, why };
        match (dane, &self.config.relay) {
            (HostPolicy::Verify(records), _) => required(TlsCheck::Dane(records.clone()), None),
            _ if strict.is_some() => required(TlsCheck::WebPki, strict),
            (HostPolicy::Encrypt, _) => required(TlsCheck::Any, None),
            (HostPolicy::None, Some(relay)) if relay.verify_tls => required(TlsCheck::WebPki, None),
            (HostPolicy::None, Some(_)) => required(TlsCheck::Any, None),
            (HostPolicy::None, None) => Security::Opportunistic,
        }
    }

    /// One mail exchanger at one address. Opportunistically: verified TLS if it offers
    /// STARTTLS, else (or when the handshake fails) unverified TLS, else cleartext (RFC 7435).
    /// Otherwise only with TLS checked as `security` requires. `Ok` once the server answered
    /// the message; `Err` with why when the next exchanger should be tried.
    async fn to_host(
        &self,
        host: &str,
        addr: SocketAddr,
        envelope: &Message,
        message: &QueuedMessage,
        signature: &[u8],
        security: &Security,
    ) -> Result<Vec<Verdict>, Verdict> {
        let job = || Job {
            message: envelope.clone(),
            id: message.id,
            blob: message.blob,
            signature: signature.to_vec(),
        };
        // A kept connection serves only if its certificate was checked the way this
        // message needs.
        if let Some((session, mut conn, kept)) = self.pool.take(host, addr)
            && security.accepts(kept.as_ref())
        {
            // Without TLS on it, the check is never made; `finished` keeps it as cleartext.
            let check = kept.unwrap_or(TlsCheck::Any);
            let done = self.send(&mut conn, session, host, &check, job());
            // A kept connection the server has meanwhile closed fails before any reply:
            // then the message goes on a new one, as if none had been kept.
            if let Ok(done) = done.await
                && answered(&done)
            {
                return self.finished(host, addr, check, conn, done);
            }
        }
        let relay = self.config.relay.as_ref();
        let ways = match security {
            Security::Required { check, .. } => vec![(Tls::Required, check.clone())],
            Security::Opportunistic => vec![
                (Tls::Opportunistic, TlsCheck::WebPki),
                (Tls::Opportunistic, TlsCheck::Any),
                (Tls::Never, TlsCheck::Any),
            ],
        };
        let implicit_tls = relay.is_some_and(|r| r.implicit_tls);
        let mut last = None;
        for (tls, check) in ways {
            let mut conn = match self.dialer.connect(addr, self.config.connect_timeout).await {
                Ok(conn) => conn,
                Err(error) => {
                    return Err(Verdict::deferred(
                        (4, 4, 1),
                        format!("cannot connect to {host}[{}]: {error}", addr.ip()),
                    ));
                }
            };
            let mut client = ClientConfig::new(self.config.hostname.clone());
            client.tls = tls;
            client.credentials = relay.and_then(|r| r.credentials.clone());
            let peer = Peer { addr, implicit_tls };
            let session = ClientSession::new(Arc::new(client), peer, Instant::now());
            let sent = match implicit_tls {
                true => match conn.start_tls(host, &check).await {
                    Ok(()) => self.send(&mut conn, session, host, &check, job()).await,
                    Err(error) => Err(Broken::Tls(error)),
                },
                false => self.send(&mut conn, session, host, &check, job()).await,
            };
            match sent {
                Ok(done) => return self.finished(host, addr, check, conn, done),
                Err(Broken::Tls(error))
                    if matches!(check, TlsCheck::Dane(_)) && dane::is_mismatch(&error) =>
                {
                    let ip = addr.ip();
                    tracing::warn!(queue_id = %message.id, host, %ip, %error, "the certificate does not match the TLSA records");
                    return Err(Verdict::deferred(
                        (4, 7, 5),
                        format!("certificate of {host}[{ip}] does not match its TLSA records"),
                    ));
                }
                Err(Broken::Tls(error)) => {
                    tracing::info!(queue_id = %message.id, host, ?check, %error, "TLS handshake failed; trying again with less");
                    last = Some(error);
                }
                Err(Broken::Io(error)) => {
                    return Err(Verdict::deferred(
                        (4, 4, 2),
                        format!("connection to {host}[{}] failed: {error}", addr.ip()),
                    ));
                }
            }
        }
        let failed = format!(
            "TLS with {host}[{}] failed: {}",
            addr.ip(),
            last.map_or_else(String::new, |e| e.to_string())
        );
        Err(Verdict::deferred(
            (4, 4, 2),
            match security {
                Security::Required { why: Some(why), .. } => {
                    format!("{failed}; {why} allows only a verified certificate")
                }
                _ => failed,
            },
        ))
    }

    /// `domain`'s MTA-STS policy, when delivery goes to its exchangers and honours them.
    async fn sts_policy(&self, domain: &str) -> Option<Policy> {
        if !self.config.mta_sts || self.config.relay.is_some() {
            return None;
        }
        let resolver = self.engine.resolver().as_ref();
        let port = self.config.mta_sts_port;
        self.policies
            .policy(resolver, &self.dialer, domain, port, unix_now())
            .await
    }

    /// One message on one connection; the session is kept for the next one if it can be.
    async fn send(
        &self,
        conn: &mut D::Conn,
        session: ClientSession,
        host: &str,
        check: &TlsCheck,
        job: Job,
    ) -> Result<Exchange, Broken> {
        let tls = (host, check);
        exchange(
            &self.engine,
            &self.executor,
            conn,
            session,
            tls,
            vec![job],
            true,
        )
        .await
    }

    /// The verdicts of a finished exchange; its connection is kept for the next message
    /// when the session is still good for one, with how its certificate was checked.
    fn finished(
        &self,
        host: &str,
        addr: SocketAddr,
        check: TlsCheck,
        conn: D::Conn,
        mut done: Exchange,
    ) -> Result<Vec<Verdict>, Verdict> {
        let transport = Transport::of(done.encrypted, check != TlsCheck::Any);
        if let Some(session) = done.idle.take() {
            let tls = session.is_tls().then_some(check);
            self.pool.park(host, addr, tls, session, conn);
        }
        verdicts(done, host, transport)
    }
}

/// A mail exchanger of a domain, as delivery is about to try it.
struct Exchanger {
    host: String,
    /// Its addresses, when they were looked up already (for DANE), or the verdict when it
    /// cannot be tried.
    addresses: Option<Result<Vec<IpAddr>, Verdict>>,
    dane: HostPolicy,
}

impl Exchanger {
    fn new(host: String) -> Self {
        Exchanger {
            host,
            addresses: None,
            dane: HostPolicy::None,
        }
    }
}

/// How a connection to one exchanger is secured.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Security {
    /// The best it offers: verified TLS, unverified TLS, cleartext.
    Opportunistic,
    /// TLS checked this way, or no delivery; `why`, when it is for the message's or the
    /// domain's sake rather than the exchanger's, is said when it waits.
    Required {
        check: TlsCheck,
        why: Option<&'static str>,
    },
}

impl Security {
    /// Whether a kept connection, with TLS checked as `kept` says (`None`: no TLS), will
    /// do: a mandatory check must be the very same, DANE records included.
    fn accepts(&self, kept: Option<&TlsCheck>) -> bool {
        match self {
            Security::Opportunistic => true,
            Security::Required { check, .. } => kept == Some(check),
        }
    }
}

/// Whether the server answered for the message at all, rather than the connection failing
/// before its first reply.
fn answered(done: &Exchange) -> bool {
    done.outcomes.iter().any(|outcome| {
        let remote = |status: &Status| status.as_ref().map_or_else(|f| f.remote, |_| true);
        remote(&outcome.status) || outcome.recipients.iter().any(remote)
    })
}

/// Keeps what an attempt came to for one recipient, with a log line an operator can read.
/// Returns what the sender is to be told: that it was given up on, or, once, that it has
/// been delayed longer than `config.delay_warning`.
fn record(
    message: &mut QueuedMessage,
    index: usize,
    verdict: Verdict,
    config: &DeliveryConfig,
    now: i64,
) -> Option<Notice> {
    let (id, sender, created) = (message.id, message.envelope.sender.clone(), message.created);
    let recipient = message.recipients.get_mut(index)?;
    recipient.attempts = recipient.attempts.saturating_add(1);
    let (from, to) = (sender.as_str(), recipient.address.as_str());
    let problem = match verdict {
        Verdict::Delivered(text, transport) => {
            tracing::info!(queue_id = %id, from, to, result = %text, %transport, "delivered");
            recipient.state = State::Delivered;
            recipient.last_result = Some(text);
            return None;
        }
        Verdict::Refused(problem) => {
            tracing::warn!(queue_id = %id, from, to, result = %problem.text, "delivery failed");
            problem
        }
        Verdict::Deferred(problem) => {
            let jitter = jitter(id.0, recipient.attempts);
            let retry = &config.retry;
            match retry.after_failure(recipient.attempts, created, now, jitter) {
                Next::RetryAt(at) => {
                    let retry_in = at - now;
                    let result = &problem.text;
                    tracing::info!(queue_id = %id, from, to, %result, retry_in, "delivery deferred");
                    recipient.next_attempt = at;
                    recipient.last_result = Some(problem.text.clone());
                    let late = config.delay_warning.is_some_and(|warning| {
                        now.saturating_sub(created)
                            >= i64::try_from(warning.as_secs()).unwrap_or(i64::MAX)
                    });
                    if !late || recipient.delay_reported {
                        return None;
                    }
                    recipient.delay_reported = true;
                    let max_age = i64::try_from(retry.max_age.as_secs()).unwrap_or(i64::MAX);
                    let until = created.saturating_add(max_age);
                    return Some(Notice {
                        recipient: recipient.clone(),
                        problem,
                        action: Action::Delayed { until },
                    });
                }
                Next::GiveUp => {
                    let attempts = recipient.attempts;
                    let result = &problem.text;
                    tracing::warn!(queue_id = %id, from, to, %result, attempts, "delivery failed: retries exhausted");
                    problem
                }
            }
        }
    };
    recipient.state = State::Failed;
    recipient.last_result = Some(problem.text.clone());
    Some(Notice {
        recipient: recipient.clone(),
        problem,
        action: Action::Failed,
    })
}

/// A spread in `[-1, 1]` that differs between messages and attempts, so deferred mail does
/// not come back all at once; derived, not random, so a test can predict it.
fn jitter(id: u64, attempt: u32) -> f64 {
    let mixed = id
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(u64::from(attempt).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    (mixed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

/// The hosts to try for `domain`, most preferred first, and whether DNSSEC vouches for
/// them; or the verdict for all its recipients when there is none.
async fn exchangers<S: Store>(
    engine: &Engine<S>,
    domain: &str,
) -> Result<(Vec<String>, bool), Verdict> {
    let answer = match engine.resolver().mx(domain).await {
        Ok(answer) => answer,
        Err(DnsError::NxDomain) => return Err(no_domain(domain)),
        Err(error) if !error.is_temporary() => {
            return Err(Verdict::refused((5, 1, 2), format!("{domain}: {error}")));
        }
        Err(error) => {
            return Err(Verdict::deferred(
                (4, 4, 3),
                format!("cannot find the mail exchangers of {domain}: {error}"),
            ));
        }
    };
    match answer.value {
        MxAnswer::Hosts(hosts) => Ok((hosts.into_iter().map(|h| h.host).collect(), answer.secure)),
        // No MX: the domain itself is its mail exchanger (RFC 5321 5.1).
        MxAnswer::NoMx => Ok((vec![domain.to_string()], answer.secure)),
        MxAnswer::NullMx => Err(Verdict::refused(
            (5, 1, 10),
            format!("{domain} accepts no mail (null MX, RFC 7505)"),
        )),
        MxAnswer::NxDomain => Err(no_domain(domain)),
    }
}

fn no_domain(domain: &str) -> Verdict {
    Verdict::refused((5, 1, 2), format!("the domain {domain} does not exist"))
}

/// The recipients' verdicts from what the connection, carrying mail by `transport`,
/// achieved; `Err` when the server never answered for the message (it failed before: try
/// the next exchanger).
fn verdicts(done: Exchange, host: &str, transport: Transport) -> Result<Vec<Verdict>, Verdict> {
    let Some(outcome) = done.outcomes.into_iter().next() else {
        let failure = done.failure.map_or_else(
            || Verdict::deferred((4, 4, 2), format!("{host} ended the connection")),
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
            Ok(reply) => {
                let text = format!("{host} said: {}", reply_line(reply));
                Verdict::Delivered(text, transport)
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{Outbound, OutboundEnvelope, QueueId};
    use crate::store::BlobId;

    const NOW: i64 = 1_800_000_000;
    const HOUR: i64 = 3600;

    fn queued(age: i64) -> QueuedMessage {
        QueuedMessage {
            id: QueueId(1),
            blob: BlobId([0; 32]),
            size: 10,
            created: NOW - age,
            envelope: OutboundEnvelope::default(),
            recipients: vec![Outbound::new("a@x.test".into(), None, None, NOW - age)],
            lease: None,
        }
    }

    fn deferred() -> Verdict {
        Verdict::deferred((4, 4, 1), "no answer".into())
    }

    #[test]
    fn a_long_delay_is_reported_once() {
        let config = DeliveryConfig::new("mx.test");
        let mut message = queued(HOUR);
        assert_eq!(record(&mut message, 0, deferred(), &config, NOW), None);
        let mut message = queued(5 * HOUR);
        let notice = record(&mut message, 0, deferred(), &config, NOW).expect("a delay notice");
        let week = 7 * 24 * HOUR;
        assert_eq!(
            notice.action,
            Action::Delayed {
                until: NOW - 5 * HOUR + week
            }
        );
        assert!(message.recipients[0].delay_reported);
        assert_eq!(message.recipients[0].state, State::Pending);
        assert_eq!(
            record(&mut message, 0, deferred(), &config, NOW + HOUR),
            None
        );
        let off = DeliveryConfig {
            delay_warning: None,
            ..DeliveryConfig::new("mx.test")
        };
        assert_eq!(
            record(&mut queued(5 * HOUR), 0, deferred(), &off, NOW),
            None
        );
    }

    #[test]
    fn failures_are_reported_and_recorded() {
        let config = DeliveryConfig::new("mx.test");
        let mut message = queued(0);
        let refused = Verdict::refused((5, 1, 1), "no such user".into());
        let notice = record(&mut message, 0, refused, &config, NOW).expect("a failure notice");
        assert_eq!(notice.action, Action::Failed);
        assert_eq!(notice.problem.status, (5, 1, 1));
        let recipient = &message.recipients[0];
        assert_eq!(
            (recipient.state.clone(), recipient.attempts),
            (State::Failed, 1)
        );
        assert_eq!(recipient.last_result.as_deref(), Some("no such user"));
        let mut message = queued(0);
        let delivered = Verdict::Delivered("250 ok".into(), Transport::Verified);
        assert_eq!(record(&mut message, 0, delivered, &config, NOW), None);
        assert_eq!(message.recipients[0].state, State::Delivered);
        // Retries ran out: a temporary problem fails the recipient.
        let mut message = queued(8 * 24 * HOUR);
        let notice = record(&mut message, 0, deferred(), &config, NOW).expect("given up");
        assert_eq!(
            (notice.action, notice.problem.status),
            (Action::Failed, (4, 4, 1))
        );
    }
}
