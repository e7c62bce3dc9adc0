//! Drives one SMTP server session over a [`Connection`]: feeds it bytes, carries out its
//! actions against the engine, and answers its decisions. Runtimes only accept connections
//! and call [`serve`].

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use proto_core::sasl::Credentials;
use proto_core::session::{Peer, Session};
use proto_smtp::{Action, RcptParams, Reply, Request, ServerConfig, ServerSession};

use crate::delivery::spool::SummarizingSpool;
use crate::directory::{LoginClient, log_in};
use crate::driver::{Protocol, Turn, drive};
use crate::io::{Connection, Executor, Reader};
use crate::mail::date::unix_now;
use crate::queue::{NewQueued, Outbound, OutboundEnvelope};
use crate::store::Store;
use crate::trust::forged::ForgedResults;
use crate::trust::{Checked, Disposition, OwnedSender};
use crate::{Destination, Engine, Folder, LocalRecipient, RcptContext, TraceInfo};

/// The most `Received:` fields a message may carry in; more is taken for a mail loop.
const MAX_HOPS: usize = 50;

/// A decision the session asked for, copied out so the session can be answered.
enum Decision {
    Login(Credentials),
    /// `MAIL FROM`, with its address (empty for the null sender).
    Mail(String),
    Rcpt {
        to: String,
        params: RcptParams,
    },
    DataStart,
    DataEnd,
}

/// The message being received: its spool and where it goes.
struct Transaction<W> {
    spool: Option<W>,
    /// Its `Return-Path:` and `Received:` fields, put first once it is in.
    trace: Option<(String, String)>,
    /// Drops results that claim our name from its header as it streams in.
    forged: Option<ForgedResults>,
    /// What the filter keeps of one chunk, on its way to the spool.
    kept: Vec<u8>,
    recipients: Vec<LocalRecipient>,
    /// Recipients in other domains, for the outbound queue.
    remote: Vec<Outbound>,
    /// Outside addresses local recipients forward to, with the local domain that forwards:
    /// queued with the sender rewritten (SRS) in that domain.
    forwards: Vec<(String, Outbound)>,
    /// Set when the spool could not be created or written; the message is then refused.
    failed: bool,
}

impl<W> Default for Transaction<W> {
    fn default() -> Self {
        Transaction {
            spool: None,
            trace: None,
            forged: None,
            kept: Vec::new(),
            recipients: Vec::new(),
            remote: Vec::new(),
            forwards: Vec::new(),
            failed: false,
        }
    }
}

/// Serves one SMTP connection until the client quits, the session closes it, or an I/O
/// error ends it.
pub async fn serve<S, C, E>(
    engine: Arc<Engine<S>>,
    executor: E,
    config: Arc<ServerConfig>,
    peer: Peer,
    conn: &mut C,
) -> io::Result<()>
where
    S: Store,
    C: Connection,
    E: Executor,
{
    let smtp = Smtp {
        session: ServerSession::new(config, peer, Instant::now()),
        engine,
        executor,
        tx: Transaction::default(),
    };
    drive(smtp, conn).await
}

/// An SMTP connection's part of the driving loop.
struct Smtp<S: Store, E> {
    engine: Arc<Engine<S>>,
    executor: E,
    session: ServerSession,
    tx: Transaction<SummarizingSpool<S::Spool>>,
}

impl<S: Store, E: Executor, C: Connection> Protocol<C> for Smtp<S, E> {
    type Session = ServerSession;
    type Step = Decision;

    fn session(&mut self) -> &mut ServerSession {
        &mut self.session
    }

    fn next(&mut self, out: &mut Vec<u8>) -> Option<Turn<Decision>> {
        loop {
            return Some(Turn::Step(match self.session.poll_action()? {
                Action::Send(bytes) => {
                    out.extend_from_slice(bytes);
                    continue;
                }
                Action::Request(Request::Data(chunk)) => {
                    write_chunk(&mut self.tx, chunk);
                    continue;
                }
                Action::Request(Request::DataAbort) => {
                    self.tx = Transaction::default();
                    continue;
                }
                Action::StartTls => return Some(Turn::StartTls),
                Action::Close => return Some(Turn::Close),
                Action::Login(credentials) => Decision::Login(credentials.clone()),
                Action::Request(Request::Mail { from, .. }) => Decision::Mail(from.to_string()),
                Action::Request(Request::Rcpt { to, params }) => Decision::Rcpt {
                    to: to.to_string(),
                    params: params.clone(),
                },
                Action::Request(Request::DataStart) => Decision::DataStart,
                Action::Request(Request::DataEnd) => Decision::DataEnd,
            }));
        }
    }

    async fn act(&mut self, decision: Decision, _: &mut C, _: &mut Vec<u8>) -> io::Result<()> {
        let Smtp {
            engine,
            executor,
            session,
            tx,
        } = self;
        decide(engine, executor, session, tx, decision).await;
        Ok(())
    }

    async fn wait(
        &mut self,
        conn: &mut C,
        reader: &mut Reader,
        _: &mut Vec<u8>,
    ) -> io::Result<bool> {
        reader.turn(conn, &mut self.session).await
    }
}

async fn decide<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    session: &mut ServerSession,
    tx: &mut Transaction<SummarizingSpool<S::Spool>>,
    decision: Decision,
) {
    match decision {
        Decision::Login(credentials) => {
            let peer = session.peer().ip();
            let verdict = log_in(
                engine,
                executor,
                credentials,
                LoginClient {
                    ip: peer,
                    protocol: "smtp",
                },
            )
            .await;
            session.login_result(verdict.map(drop), Instant::now());
        }
        Decision::Mail(from) => {
            *tx = Transaction::default();
            let verdict = match session.authenticated() {
                Some(user) => {
                    let (engine, user) = (engine.clone(), user.to_string());
                    executor
                        .unblock(move || {
                            engine
                                .check_envelope_sender(&user, &from)
                                .or_else(|| engine.sending_rate().message(&user, unix_now()).err())
                        })
                        .await
                }
                None => None,
            };
            session.mail_result(verdict.map_or(Ok(()), Err), Instant::now());
        }
        Decision::Rcpt { to, params } => {
            let engine = engine.clone();
            let address = to.clone();
            let authenticated = session.authenticated().map(str::to_string);
            let declared_size = session.envelope().mail_params.size;
            let sender = session.envelope().mail_from.clone().unwrap_or_default();
            let client = session.peer().ip();
            let verdict = executor
                .unblock(move || {
                    let ctx = RcptContext {
                        authenticated: authenticated.as_deref(),
                        declared_size,
                    };
                    let verdict = engine.check_rcpt(&to, ctx);
                    match (verdict, authenticated) {
                        (Err(refusal), _) => Err(refusal),
                        // A user's recipients count towards their hourly limit.
                        (Ok(destination), Some(user)) => engine
                            .sending_rate()
                            .recipient(&user, unix_now())
                            .map(|()| destination),
                        // Greylisting is for local recipients of clients that did not log
                        // in (anything else was refused).
                        (Ok(destination), None) => match engine.greylisted(client, &sender, &to) {
                            Some(refusal) => Err(refusal),
                            None => Ok(destination),
                        },
                    }
                })
                .await;
            match verdict {
                Ok(Destination::Local { accounts, forwards }) => {
                    let orcpt = params.orcpt.or_else(|| Some(format!("rfc822;{address}")));
                    tx.recipients
                        .extend(accounts.into_iter().map(|account| LocalRecipient {
                            account,
                            orcpt: orcpt.clone(),
                            notify: params.notify,
                        }));
                    let via = address.rsplit_once('@').map_or("", |(_, d)| d).to_string();
                    for target in forwards {
                        let forward =
                            Outbound::new(target, orcpt.clone(), params.notify, unix_now());
                        tx.forwards.push((via.clone(), forward));
                    }
                    session.rcpt_result(Ok(()), Instant::now());
                }
                Ok(Destination::Remote) => {
                    let recipient = Outbound::new(address, params.orcpt, params.notify, unix_now());
                    tx.remote.push(recipient);
                    session.rcpt_result(Ok(()), Instant::now());
                }
                Err(reply) => session.rcpt_result(Err(reply), Instant::now()),
            }
        }
        Decision::DataStart => {
            let id = message_id();
            let envelope = session.envelope();
            let single_recipient = match envelope.rcpts.as_slice() {
                [only] => Some(only.addr.as_str()),
                _ => None,
            };
            let trace = TraceInfo {
                peer: session.peer(),
                helo: session.helo(),
                esmtp: session.is_esmtp(),
                tls: session.is_tls(),
                authenticated: session.authenticated().is_some(),
                mail_from: envelope.mail_from.as_deref().unwrap_or(""),
                single_recipient,
                id: &id,
                unix_time: unix_now(),
            };
            tx.trace = Some((trace.return_path(), trace.received(engine.hostname())));
            match engine.begin_message() {
                Ok(spool) => {
                    tx.spool = Some(spool);
                    tx.forged = Some(ForgedResults::new(engine.hostname()));
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot start a message spool");
                    tx.failed = true;
                }
            }
        }
        Decision::DataEnd => {
            let recipients = std::mem::take(&mut tx.recipients);
            let remote = std::mem::take(&mut tx.remote);
            let forwards = std::mem::take(&mut tx.forwards);
            let envelope = envelope(session);
            let queued = outbound(engine, &envelope, remote, forwards);
            end_filter(tx);
            let spool = tx.spool.take();
            let trace = tx.trace.take();
            let failed = std::mem::take(&mut tx.failed);
            let mut verdict = None;
            // A logged-in user's message must be from their own addresses.
            let author = session
                .authenticated()
                .zip(spool.as_ref())
                .map(|(user, spool)| (user.to_string(), spool.header().map(<[u8]>::to_vec)));
            let author = match author {
                Some((user, header)) => check_author(engine, executor, user, header).await,
                None => None,
            };
            let reply = match (spool, trace, author) {
                // A message caught in a loop (two servers forwarding to each other) stops
                // here; Postfix's hopcount_limit is the same.
                (Some(spool), _, _) if spool.hops() >= MAX_HOPS => {
                    Reply::new(554, (5, 4, 6), "Too many hops: a mail loop?")
                }
                (Some(_), _, Some(refusal)) => refusal,
                (Some(spool), Some((return_path, received)), None) if !failed => {
                    let (spool, checked) = check_sender(engine, executor, session, spool).await;
                    let (folder, results) = match &checked {
                        Some(checked) => (
                            match engine.sender_checks().disposition(checked.disposition) {
                                Disposition::Reject => {
                                    verdict = Some(checked.summary.clone());
                                    let text = format!(
                                        "Message rejected: {} asks to refuse mail that fails DMARC",
                                        checked.author_domain
                                    );
                                    let reply = Reply::new(550, (5, 7, 1), text);
                                    log_transaction(session, &reply, verdict.as_deref());
                                    session.data_result(reply, Instant::now());
                                    return;
                                }
                                Disposition::Quarantine => Folder::Junk,
                                Disposition::Accept => Folder::Inbox,
                            },
                            checked.header.as_str(),
                        ),
                        None => (Folder::Inbox, ""),
                    };
                    verdict = checked.as_ref().map(|c| c.summary.clone());
                    let header = format!("{return_path}{results}{received}");
                    let engine = engine.clone();
                    executor
                        .unblock(move || {
                            let mut spool = spool;
                            if let Err(e) = spool.prepend(header.as_bytes()) {
                                tracing::error!(error = %e, "cannot write to the message spool");
                                return local_error();
                            }
                            engine.deliver(
                                spool,
                                &envelope,
                                &recipients,
                                queued,
                                folder,
                                unix_now(),
                            )
                        })
                        .await
                }
                _ => local_error(),
            };
            log_transaction(session, &reply, verdict.as_deref());
            session.data_result(reply, Instant::now());
        }
    }
}

/// The refusal of a message from `user` whose header (`None`: too long to keep) names
/// someone else's address in `From:`.
async fn check_author<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    user: String,
    header: Option<Vec<u8>>,
) -> Option<Reply> {
    let engine = engine.clone();
    executor
        .unblock(move || engine.check_author(&user, header.as_deref()))
        .await
}

fn local_error() -> Reply {
    Reply::new(451, (4, 3, 0), "Local error in processing, try again later")
}

/// Checks who sent the message in `spool`, when its client is one to check (from outside,
/// not logged in); gives the spool back. A message that cannot be read for checking is
/// delivered unchecked, with a log line: the checks never lose mail.
async fn check_sender<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    session: &ServerSession,
    spool: SummarizingSpool<S::Spool>,
) -> (SummarizingSpool<S::Spool>, Option<Checked>) {
    let ip = session.peer().ip();
    if session.authenticated().is_some() || !engine.sender_checks().applies_to(ip) {
        return (spool, None);
    }
    let sender = OwnedSender {
        ip,
        helo: session.helo().unwrap_or_default().to_string(),
        mail_from: session.envelope().mail_from.clone().unwrap_or_default(),
    };
    match engine.check_sender(executor, spool, sender).await {
        (spool, Ok(checked)) => (spool, Some(checked)),
        (spool, Err(error)) => {
            tracing::error!(%error, "cannot read a message to check its sender");
            (spool, None)
        }
    }
}

/// One line per message received, with what an operator looks for: who sent it from where,
/// to whom, and what we answered.
fn log_transaction(session: &ServerSession, reply: &Reply, checks: Option<&str>) {
    let envelope = session.envelope();
    let from = envelope.mail_from.as_deref().unwrap_or_default();
    let to: Vec<&str> = envelope.rcpts.iter().map(|r| r.addr.as_str()).collect();
    let (peer, tls) = (session.peer(), session.is_tls());
    let user = session.authenticated().unwrap_or_default();
    let checks = checks.unwrap_or("none");
    tracing::info!(%peer, from, to = %to.join(", "), user, tls, checks, reply = %reply.code, "message received");
}

/// The envelope of the message just received: its sender and the DSN and other parameters
/// of its `MAIL` command, which its queue entries and its bounces go by.
fn envelope(session: &ServerSession) -> OutboundEnvelope {
    let envelope = session.envelope();
    let params = &envelope.mail_params;
    OutboundEnvelope {
        sender: envelope.mail_from.clone().unwrap_or_default(),
        body: params.body,
        smtputf8: params.smtputf8,
        ret: params.ret,
        envid: params.envid.clone(),
        require_tls: params.require_tls,
    }
}

/// The outbound queue entries for the message just received (`envelope`): one from its
/// sender to the `remote` recipients, and one per forwarding domain, from the sender
/// rewritten in that domain (SRS), to the addresses local recipients forward to.
fn outbound<S: Store>(
    engine: &Engine<S>,
    envelope: &OutboundEnvelope,
    remote: Vec<Outbound>,
    forwards: Vec<(String, Outbound)>,
) -> Vec<NewQueued> {
    let sender = envelope.sender.clone();
    let now = unix_now();
    let entry = |sender: String, recipients: Vec<Outbound>| NewQueued {
        created: now,
        envelope: OutboundEnvelope {
            sender,
            ..envelope.clone()
        },
        recipients,
    };
    let mut queued = Vec::new();
    if !remote.is_empty() {
        queued.push(entry(sender.clone(), remote));
    }
    let mut by_domain: BTreeMap<String, Vec<Outbound>> = BTreeMap::new();
    for (via, forward) in forwards {
        by_domain.entry(via).or_default().push(forward);
    }
    for (via, recipients) in by_domain {
        let rewritten = match engine.srs() {
            Some(srs) => srs.forward(&sender, &via, now),
            None => sender.clone(),
        };
        queued.push(entry(rewritten, recipients));
    }
    queued
}

/// Writes the next bytes of the message to its spool, less any results forged in our name.
fn write_chunk<W: Write>(tx: &mut Transaction<W>, chunk: &[u8]) {
    if let Some(forged) = tx.forged.as_mut() {
        forged.filter(chunk, &mut tx.kept);
    }
    write_kept(tx);
}

/// The end of the message: what the filter still held goes to the spool.
fn end_filter<W: Write>(tx: &mut Transaction<W>) {
    if let Some(mut forged) = tx.forged.take() {
        forged.finish(&mut tx.kept);
    }
    write_kept(tx);
    tx.kept = Vec::new();
}

fn write_kept<W: Write>(tx: &mut Transaction<W>) {
    let mut kept = std::mem::take(&mut tx.kept);
    if let Some(spool) = tx.spool.as_mut()
        && let Err(e) = spool.write_all(&kept)
    {
        tracing::error!(error = %e, "cannot write to the message spool");
        tx.spool = None;
        tx.failed = true;
    }
    kept.clear();
    tx.kept = kept;
}

/// A short identifier, unique within this process and very likely across restarts.
fn message_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!(
        "{nanos:x}{:04x}",
        COUNTER.fetch_add(1, Ordering::Relaxed) & 0xffff
    )
}
