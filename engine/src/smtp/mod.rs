//! Drives one SMTP server session over a [`Connection`]: feeds it bytes, carries out its
//! actions against the engine, and answers its decisions. Runtimes only accept connections
//! and call [`serve`].

mod message;
mod recipient;
mod transaction;

use std::io;
use std::sync::Arc;
use std::time::Instant;

use proto_core::sasl::Credentials;
use proto_core::session::{Peer, Session};
use proto_smtp::{Action, RcptParams, Request, ServerConfig, ServerSession};

use crate::Engine;
use crate::delivery::spool::SummarizingSpool;
use crate::directory::{LoginClient, log_in};
use crate::driver::{Protocol, Turn, drive};
use crate::io::{Connection, Executor, Reader};
use crate::mail::date::unix_now;
use crate::metrics::Rejection;
use crate::store::Store;
use crate::trust::OwnedSender;
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
pub fn serve<S, C, E>(
    engine: Arc<Engine<S>>,
    executor: E,
    config: Arc<ServerConfig>,
    peer: Peer,
    conn: &mut C,
) -> impl Future<Output = io::Result<()>> + Send
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
    drive(smtp, conn)
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
                    let (engine, user, from) = (engine.clone(), user.to_string(), from.clone());
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
            let ip = session.peer().ip();
            if verdict.is_none()
                && session.authenticated().is_none()
                && engine.sender_checks().applies_to(ip)
            {
                let sender = OwnedSender {
                    ip,
                    helo: session.helo().unwrap_or_default().to_string(),
                    mail_from: from,
                    recipients: Vec::new(),
                };
                tx.spf = engine.begin_spf(executor, sender);
            }
            session.mail_result(verdict.map_or(Ok(()), Err), Instant::now());
        }
        Decision::Rcpt { to, params } => {
            recipient::rcpt(engine, executor, session, tx, to, params).await
        }
        Decision::DataStart => message::start(engine, session, tx),
        Decision::Flush => transaction::flush(executor, tx).await,
        Decision::DataEnd => message::end(engine, executor, session, tx).await,
    }
}
