//! Drives one SMTP server session over a [`Connection`]: feeds it bytes, carries out its
//! actions against the engine, and answers its decisions. Runtimes only accept connections
//! and call [`serve`].

mod message;
mod transaction;

use std::io;
use std::sync::Arc;
use std::time::Instant;

use proto_core::sasl::Credentials;
use proto_core::session::{Peer, Session};
use proto_smtp::{Action, RcptParams, Request, ServerConfig, ServerSession};

use crate::delivery::spool::SummarizingSpool;
use crate::directory::{LoginClient, log_in};
use crate::driver::{Protocol, Turn, drive};
use crate::io::{Connection, Executor, Reader};
use crate::mail::date::unix_now;
use crate::metrics::Rejection;
use crate::queue::Outbound;
use crate::store::Store;
use crate::{Destination, Engine, LocalRecipient, RcptContext};
use transaction::{Transaction, write_chunk};

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
    /// Enough of the message is gathered: write it to the spool.
    Flush,
    DataEnd,
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
                    if !write_chunk(&mut self.tx, chunk) {
                        continue;
                    }
                    Decision::Flush
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
            if verdict.is_some() {
                engine.metrics().rejected(Rejection::Sender);
            }
            session.mail_result(verdict.map_or(Ok(()), Err), Instant::now());
        }
        Decision::Rcpt { to, params } => {
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
            let task_engine = engine.clone();
            let address = to.clone();
            let authenticated = session.authenticated().map(str::to_string);
            let declared_size = session.envelope().mail_params.size;
            let sender = session.envelope().mail_from.clone().unwrap_or_default();
            let verdict = executor
                .unblock(move || {
                    let ctx = RcptContext {
                        authenticated: authenticated.as_deref(),
                        declared_size,
                    };
                    let engine = task_engine;
                    let verdict = engine.check_rcpt(&to, ctx);
                    match (verdict, authenticated) {
                        (Err(refusal), _) => {
                            let rejection = Rejection::of_recipient(&refusal);
                            Err((refusal, rejection))
                        }
                        // A user's recipients count towards their hourly limit.
                        (Ok(destination), Some(user)) => engine
                            .sending_rate()
                            .recipient(&user, unix_now())
                            .map(|()| destination)
                            .map_err(|refusal| (refusal, Rejection::Sender)),
                        // Greylisting is for local recipients of clients that did not log
                        // in (anything else was refused).
                        (Ok(destination), None) => match engine.greylisted(client, &sender, &to) {
                            Some(refusal) => Err((refusal, Rejection::Greylisted)),
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
                Err((reply, rejection)) => {
                    engine.metrics().rejected(rejection);
                    session.rcpt_result(Err(reply), Instant::now());
                }
            }
        }
        Decision::DataStart => message::start(engine, session, tx),
        Decision::Flush => transaction::flush(executor, tx).await,
        Decision::DataEnd => message::end(engine, executor, session, tx).await,
    }
}
