//! `RCPT TO`: where a recipient leads, and what stands in its way — a DNS blocklist naming
//! the client, a logged-in user's hourly limit, greylisting.

use std::sync::Arc;
use std::time::Instant;

use mail_auth::SpfResult;
use proto_core::session::Session;
use proto_smtp::{RcptParams, Reply, ServerSession};

use super::transaction::{Transaction, Vouched};
use crate::delivery::spool::SummarizingSpool;
use crate::io::Executor;
use crate::mail::date::unix_now;
use crate::metrics::Rejection;
use crate::queue::Outbound;
use crate::store::Store;
use crate::trust::GreylistVerdict;
use crate::webhooks::Hooked;
use crate::{Destination, Engine, LocalRecipient, RcptContext};

/// Decides `RCPT TO:<to>` and answers the session.
pub(super) async fn rcpt<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    session: &mut ServerSession,
    tx: &mut Transaction<SummarizingSpool<S::Spool>>,
    to: String,
    params: RcptParams,
) {
    let client = session.peer().ip();
    if session.authenticated().is_none()
        && !engine.sender_checks().dnsbl.is_empty()
        && !engine.sender_checks().trusts(client)
    {
        if tx.blocklisted.is_none() {
            tx.blocklisted = Some(engine.blocklisted(client).await);
        }
        if let Some(Some(zone)) = &tx.blocklisted {
            let refusal = crate::trust::dnsbl::refusal(client, zone);
            engine.metrics().rejected(Rejection::Blocklisted);
            session.rcpt_result(Err(refusal), Instant::now());
            return;
        }
    }
    let sender = session.envelope().mail_from.clone().unwrap_or_default();
    let verdict = match route(engine, executor, session, &to).await {
        Ok((destination, Some(vouched), disposable)) => {
            vouch(engine, tx, client, &sender, &to, vouched)
                .await
                .map(|()| (destination, disposable))
        }
        Ok((destination, None, disposable)) => Ok((destination, disposable)),
        Err(refused) => Err(refused),
    };
    match verdict {
        Ok((
            Destination::Local {
                accounts,
                forwards,
                hook,
            },
            disposable,
        )) => {
            if disposable {
                tx.disposable.push(to.clone());
            }
            if let Some(webhook) = hook {
                tx.recipients.hooked.push(Hooked {
                    webhook,
                    address: to.clone(),
                });
            }
            let orcpt = params.orcpt.or_else(|| Some(format!("rfc822;{to}")));
            tx.recipients
                .accounts
                .extend(accounts.into_iter().map(|account| LocalRecipient {
                    account,
                    orcpt: orcpt.clone(),
                    notify: params.notify,
                }));
            let via = to.rsplit_once('@').map_or("", |(_, d)| d).to_string();
            for target in forwards {
                let forward = Outbound::new(target, orcpt.clone(), params.notify, unix_now());
                tx.forwards.push((via.clone(), forward));
            }
            session.rcpt_result(Ok(()), Instant::now());
        }
        Ok((Destination::Remote, _)) => {
            let recipient = Outbound::new(to, params.orcpt, params.notify, unix_now());
            tx.remote.push(recipient);
            session.rcpt_result(Ok(()), Instant::now());
        }
        Err((reply, rejection)) => {
            engine.metrics().rejected(rejection);
            session.rcpt_result(Err(reply), Instant::now());
        }
    }
}

/// Where `to` leads, or why it is refused; with greylisting's condition when the
/// recipient is let through on having written to the sender, and whether it is a
/// disposable alias (counted once the message is in).
async fn route<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    session: &ServerSession,
    to: &str,
) -> Result<(Destination, Option<Vouched>, bool), (Reply, Rejection)> {
    let engine = engine.clone();
    let client = session.peer().ip();
    let to = to.to_string();
    let authenticated = session.authenticated().map(str::to_string);
    let declared_size = session.envelope().mail_params.size;
    let sender = session.envelope().mail_from.clone().unwrap_or_default();
    executor
        .unblock(move || {
            let ctx = RcptContext {
                authenticated: authenticated.as_deref(),
                declared_size,
            };
            let destination = engine.check_rcpt(&to, ctx).map_err(|refusal| {
                let rejection = Rejection::of_recipient(&refusal);
                (refusal, rejection)
            })?;
            let disposable =
                matches!(destination, Destination::Local { .. }) && engine.is_disposable(&to);
            if let Some(user) = authenticated {
                // A user's recipients count towards their hourly limit.
                return engine
                    .sending_rate()
                    .recipient(&user, unix_now())
                    .map(|()| (destination, None, disposable))
                    .map_err(|refusal| (refusal, Rejection::Sender));
            }
            // Greylisting is for local recipients of clients that did not log in (anything
            // else was refused).
            let accounts = match &destination {
                Destination::Local { accounts, .. } => accounts.as_slice(),
                Destination::Remote => &[],
            };
            match engine.greylisted(client, &sender, &to, accounts) {
                GreylistVerdict::Pass => Ok((destination, None, disposable)),
                GreylistVerdict::Wait(refusal) => Err((refusal, Rejection::Greylisted)),
                GreylistVerdict::Correspondent { domain, refusal } => {
                    Ok((destination, Some(Vouched { domain, refusal }), disposable))
                }
            }
        })
        .await
}

/// A recipient wrote to the sender's domain before: let through if the envelope sender
/// passes SPF; else, when the message will be checked, on the condition that it carries a
/// DKIM signature of the domain; else greylisted as anyone.
async fn vouch<S: Store, W>(
    engine: &Engine<S>,
    tx: &mut Transaction<W>,
    client: std::net::IpAddr,
    sender: &str,
    to: &str,
    vouched: Vouched,
) -> Result<(), (Reply, Rejection)> {
    let spf = tx.spf.result().await;
    if spf.is_some_and(|spf| spf.result() == SpfResult::Pass) {
        tracing::info!(
            from = sender,
            to,
            domain = vouched.domain,
            "not greylisted: a correspondent whose SPF passes"
        );
        return Ok(());
    }
    if !engine.sender_checks().applies_to(client) {
        // No checks on this client: nothing will prove where the message comes from.
        return Err((vouched.refusal, Rejection::Greylisted));
    }
    tracing::info!(
        from = sender,
        to,
        domain = vouched.domain,
        "a correspondent: greylisted unless the message is signed by its domain"
    );
    tx.vouched.get_or_insert(vouched);
    Ok(())
}
