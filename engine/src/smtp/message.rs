//! The message itself, from `DATA` (or the first `BDAT`) to the reply after its last byte:
//! its trace fields, the checks on who sent it, and its hand-off to storage and the queue.

use std::sync::Arc;
use std::time::Instant;

use proto_core::session::Session;
use proto_smtp::{Reply, ServerSession};

use super::transaction::{Transaction, end_filter};
use crate::delivery::spool::SummarizingSpool;
use crate::delivery::trace_id;
use crate::directory::routing::{spool_failure, storage_reply, store_failure};
use crate::held;
use crate::io::Executor;
use crate::mail::date::unix_now;
use crate::metrics::Rejection;
use crate::queue::{NewHeld, OutboundEnvelope};
use crate::store::Onward;
use crate::store::Store;
use crate::trust::forged::ForgedResults;
use crate::trust::rspamd::Action;
use crate::trust::{Checked, Disposition, OwnedSender, SpfCheck, correspondents};
use crate::{Engine, Folder, TraceInfo};

/// The most `Received:` fields a message may carry in; more is taken for a mail loop.
const MAX_HOPS: usize = 50;

/// A message begins: its trace fields are made from the envelope, and its spool opened.
pub(super) fn start<S: Store>(
    engine: &Engine<S>,
    session: &ServerSession,
    tx: &mut Transaction<SummarizingSpool<S::Spool>>,
) {
    let id = trace_id();
    let envelope = session.envelope();
    let single_recipient = match envelope.rcpts.as_slice() {
        [only] => Some(only.addr.as_str()),
        _ => None,
    };
    let trace = TraceInfo {
        peer: session.peer(),
        helo: session.helo(),
        esmtp: session.is_esmtp(),
        http: false,
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
        Err(e) => tx.failed = Some(store_failure(&e)),
    }
}

/// The message is in: decides it, stores or queues it, logs it and answers.
pub(super) async fn end<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    session: &mut ServerSession,
    tx: &mut Transaction<SummarizingSpool<S::Spool>>,
) {
    let (reply, checks) = finish(engine, executor, session, tx).await;
    if reply.code / 100 == 2 {
        engine.metrics().received();
    }
    log_transaction(session, &reply, checks.as_deref());
    session.data_result(reply, Instant::now());
}

/// The reply to a complete message, and what the checks on its sender found.
async fn finish<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    session: &ServerSession,
    tx: &mut Transaction<SummarizingSpool<S::Spool>>,
) -> (Reply, Option<String>) {
    let recipients = std::mem::take(&mut tx.recipients);
    let remote = std::mem::take(&mut tx.remote);
    let wrote_to: Vec<String> = match session.authenticated() {
        Some(_) => remote.iter().map(|r| r.address.clone()).collect(),
        None => Vec::new(),
    };
    let vouched = tx.vouched.take();
    let spf = std::mem::take(&mut tx.spf);
    let forwards = std::mem::take(&mut tx.forwards);
    let disposable = std::mem::take(&mut tx.disposable);
    let envelope = envelope(session);
    let queued = engine.queue_entries(&envelope, remote, forwards);
    end_filter(executor, tx).await;
    let trace = tx.trace.take();
    let failed = tx.failed.take();
    let spool = match (tx.spool.take(), failed) {
        (Some(spool), None) => spool,
        (_, Some(refusal)) => return (refusal, None),
        (None, None) => return (storage_reply(false), None),
    };
    // A message caught in a loop (two servers forwarding to each other) stops here;
    // Postfix's hopcount_limit is the same.
    if spool.hops() >= MAX_HOPS {
        engine.metrics().rejected(Rejection::Loop);
        return (
            Reply::new(554, (5, 4, 6), "Too many hops: a mail loop?"),
            None,
        );
    }
    // A logged-in user's message must be from their own addresses.
    if let Some(user) = session.authenticated() {
        let header = spool.header().map(<[u8]>::to_vec);
        if let Some(refusal) = check_author(engine, executor, user.to_string(), header).await {
            engine.metrics().rejected(Rejection::Sender);
            return (refusal, None);
        }
    }
    let Some((return_path, received)) = trace else {
        return (storage_reply(false), None);
    };
    let (spool, checked) = check_sender(engine, executor, session, spool, spf).await;
    let summary = checked.as_ref().map(|c| match &c.spam {
        Some(scan) => format!("{} {}", c.summary, scan.summary()),
        None => c.summary.clone(),
    });
    if let (Some(vouched), Some(checked)) = (vouched, &checked) {
        // Recipients greylisting let through on the sender's word: the message must be
        // signed by the correspondent's domain (or its SPF, when that was not had in time
        // at RCPT, must pass).
        let signed = checked
            .dkim_domains
            .iter()
            .any(|signer| correspondents::signs_for(signer, &vouched.domain));
        if !signed && !checked.spf_passed {
            engine.metrics().rejected(Rejection::Greylisted);
            return (vouched.refusal, summary);
        }
    }
    let disposition = checked
        .as_ref()
        .map(|c| engine.sender_checks().disposition(c.disposition));
    let folder = match (disposition, &checked) {
        (Some(Disposition::Reject), Some(checked)) => {
            let text = format!(
                "Message rejected: {} asks to refuse mail that fails DMARC",
                checked.author_domain
            );
            engine.metrics().rejected(Rejection::Dmarc);
            return (Reply::new(550, (5, 7, 1), text), summary);
        }
        (Some(Disposition::Quarantine), _) => Folder::Junk,
        _ => Folder::Inbox,
    };
    let spam = checked.as_ref().and_then(|c| c.spam.as_ref());
    let folder = match spam.map(|scan| scan.action) {
        Some(Action::Reject) => {
            engine.metrics().rejected(Rejection::Spam);
            let text = "Message rejected: the content scanner takes it for spam";
            return (Reply::new(550, (5, 7, 1), text), summary);
        }
        Some(Action::Defer) => {
            engine.metrics().rejected(Rejection::Spam);
            let text = "Message deferred by the content scanner; try again later";
            return (Reply::new(451, (4, 7, 1), text), summary);
        }
        Some(Action::Junk) => Folder::Junk,
        Some(Action::Accept) | None => folder,
    };
    let results = checked.map_or(String::new(), |c| match &c.spam {
        Some(scan) => c.header + &scan.header(),
        None => c.header,
    });
    let header = format!("{return_path}{results}{received}");
    let engine = engine.clone();
    let user = session.authenticated().map(str::to_string);
    let written: Vec<String> = match &user {
        Some(_) => session
            .envelope()
            .rcpts
            .iter()
            .map(|r| r.addr.to_string())
            .collect(),
        None => Vec::new(),
    };
    let reply = executor
        .unblock(move || {
            let mut spool = spool;
            if let Err(e) = spool.prepend(header.as_bytes()) {
                return spool_failure(&e);
            }
            let now = unix_now();
            let asked = held::deferred_delivery(spool.header().unwrap_or_default());
            let release = match &user {
                Some(user) => engine.release_time(user, asked, now),
                None => Ok(None),
            };
            let reply = match release {
                Ok(None) => {
                    let onward = Onward::queued(queued);
                    engine.deliver(spool, &envelope, &recipients, onward, folder, now)
                }
                Ok(Some((account, at))) => {
                    let subject = held::subject(spool.header().unwrap_or_default());
                    let held = NewHeld {
                        account,
                        created: now,
                        release_at: at,
                        subject,
                        envelope,
                        local: recipients.accounts,
                        hooked: recipients.hooked,
                        queued,
                    };
                    match engine.hold(spool, held) {
                        Ok(_) => held::reply(at),
                        Err(refusal) => refusal,
                    }
                }
                Err(crate::Error::Invalid(text)) => Reply::new(554, (5, 5, 4), text),
                Err(crate::Error::Store(e)) => store_failure(&e),
            };
            if reply.code / 100 == 2 {
                for address in &disposable {
                    engine.note_disposable_use(address);
                }
                if let Some(user) = user {
                    engine.note_correspondents(&user, wrote_to.iter().map(String::as_str));
                    engine.approve_written(&user, &written);
                }
            }
            reply
        })
        .await;
    (reply, summary)
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

/// Checks who sent the message in `spool`, when its client is one to check (from outside,
/// not logged in); gives the spool back. A message that cannot be read for checking is
/// delivered unchecked, with a log line: the checks never lose mail.
async fn check_sender<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    session: &ServerSession,
    spool: SummarizingSpool<S::Spool>,
    spf: SpfCheck,
) -> (SummarizingSpool<S::Spool>, Option<Checked>) {
    let ip = session.peer().ip();
    if session.authenticated().is_some() || !engine.sender_checks().applies_to(ip) {
        return (spool, None);
    }
    let sender = OwnedSender {
        ip,
        helo: session.helo().unwrap_or_default().to_string(),
        mail_from: session.envelope().mail_from.clone().unwrap_or_default(),
        recipients: session
            .envelope()
            .rcpts
            .iter()
            .map(|r| r.addr.to_string())
            .collect(),
    };
    match engine.check_sender(executor, spool, sender, spf).await {
        (spool, Ok(checked)) => (spool, Some(checked)),
        (spool, Err(error)) => {
            tracing::error!(%error, "cannot check who sent a message; delivered unchecked");
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
