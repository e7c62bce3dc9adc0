//! SPF (RFC 7208) on the envelope sender and HELO name, begun as soon as `MAIL FROM` names
//! the sender: its lookups (up to ten, each possibly slow) run while the client sends its
//! recipients and its message, and greylisting can ask for the result at `RCPT`. The checks
//! at the end of the message take it from there ([`super::check`]).

use std::sync::Arc;
use std::time::Instant;

use async_channel::Receiver;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{MessageAuthenticator, Parameters, SpfOutput, SpfResult};

use super::answers::{Answers, LOOKUP_TIME};
use super::check::{MAX_RUNS, Sender};
use super::{OwnedSender, authenticator};
use crate::Engine;
use crate::dns::Resolver;
use crate::io::Executor;
use crate::store::Store;

/// SPF checks begun early running at once. Past this, a transaction's SPF is checked with the
/// rest of its checks at the end of the message: a client that sends `MAIL FROM` and `RSET`
/// in a loop starts no more than this many lookups.
const MAX_EARLY: usize = 64;

/// Checks SPF for `sender`, writing results as `authserv_id`; DNS is asked through
/// `resolver` only.
pub async fn check_spf(
    authenticator: &MessageAuthenticator,
    resolver: &dyn Resolver,
    authserv_id: &str,
    sender: &Sender<'_>,
) -> SpfOutput {
    let answers = Answers::new(Instant::now() + LOOKUP_TIME);
    let (helo, mail_from) = (helo_name(sender), mail_from_or_postmaster(sender));
    // The runs of [`settle`](super::check::settle), written out: a closure here would
    // keep the task from being `Send` (its borrows are not general enough for the
    // compiler), and this check runs on a task of its own.
    let mut runs = 1;
    let spf = loop {
        let spf = SpfParameters::verify(sender.ip, &helo, authserv_id, &mail_from);
        let spf = authenticator
            .verify_spf(
                Parameters::new(spf)
                    .with_txt_cache(&answers)
                    .with_mx_cache(&answers)
                    .with_ipv4_cache(&answers)
                    .with_ipv6_cache(&answers)
                    .with_ptr_cache(&answers),
            )
            .await;
        let missing = answers.take_missing();
        if missing.is_empty() || runs >= MAX_RUNS {
            break spf;
        }
        answers.look_up(resolver, missing).await;
        runs += 1;
    };
    // A failed address or MX lookup reads as "no records" to mail-auth; RFC 7208 §5 makes
    // it a temporary error, so the sender's mail is not judged on a DNS hiccup.
    if answers.had_temporary_failure() {
        let domain = mail_from.rsplit_once('@').map_or("", |(_, domain)| domain);
        return SpfOutput::new(domain.to_string()).with_result(SpfResult::TempError);
    }
    spf
}

/// The HELO name SPF checks: the client's address when it gave none.
pub(super) fn helo_name(sender: &Sender<'_>) -> String {
    match sender.helo {
        "" => sender.ip.to_string(),
        helo => helo.to_string(),
    }
}

/// The identity SPF checks for the envelope sender: `postmaster@` the HELO name for the
/// null sender (RFC 7208 §2.4).
pub(super) fn mail_from_or_postmaster(sender: &Sender<'_>) -> String {
    match sender.mail_from {
        "" => format!("postmaster@{}", helo_name(sender)),
        mail_from => mail_from.to_string(),
    }
}

/// One transaction's SPF check: under way, done, or left for the end of the message.
#[derive(Debug, Default)]
pub struct SpfCheck {
    running: Option<Receiver<SpfOutput>>,
    done: Option<SpfOutput>,
}

impl SpfCheck {
    /// The result, waiting for it if it is still being looked up; `None` when the check was
    /// not begun early.
    pub async fn result(&mut self) -> Option<&SpfOutput> {
        if let Some(running) = self.running.take() {
            // A task that ended without an answer (it panicked) is a temporary error.
            let output = running.recv().await.unwrap_or_else(|_| {
                SpfOutput::new(String::new()).with_result(SpfResult::TempError)
            });
            self.done = Some(output);
        }
        self.done.as_ref()
    }

    /// The result, for the checks at the end of the message.
    pub async fn take(mut self) -> Option<SpfOutput> {
        self.result().await;
        self.done
    }
}

impl<S: Store> Engine<S> {
    /// Begins checking SPF for `sender`, on a task of its own; the check is left for the
    /// end of the message when [`MAX_EARLY`] are running.
    pub fn begin_spf<E: Executor>(self: &Arc<Self>, executor: &E, sender: OwnedSender) -> SpfCheck {
        let Some(slot) = self.checks.try_acquire("spf", MAX_EARLY) else {
            return SpfCheck::default();
        };
        let (send, running) = async_channel::bounded(1);
        let engine = self.clone();
        executor.spawn(async move {
            let _slot = slot;
            let authenticator = engine.authenticator.get_or_init(authenticator);
            let sender = Sender {
                ip: sender.ip,
                helo: &sender.helo,
                mail_from: &sender.mail_from,
            };
            let output = check_spf(
                authenticator,
                engine.resolver.as_ref(),
                &engine.hostname,
                &sender,
            )
            .await;
            // The transaction may have ended meanwhile: nobody to tell.
            let _ = send.try_send(output);
        });
        SpfCheck {
            running: Some(running),
            done: None,
        }
    }
}
