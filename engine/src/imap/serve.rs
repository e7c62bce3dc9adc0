//! Drives one IMAP session over a [`Connection`]: logs in, executes the commands the
//! session hands over against the store, streams APPENDs into spools, and pushes mailbox
//! changes to idling clients the moment they are written.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use futures_lite::future;
use proto_core::sasl::Credentials;
use proto_core::session::{Peer, Session};
use proto_imap::{
    Action, AppendStart, Code, Command, CommandBody, Mailbox as WireName, PlainCode, Request,
    Selected, ServerConfig, ServerSession, Status,
};

use crate::Engine;
use crate::deflate::Compressible;
use crate::delivery::spool::SummarizingSpool;
use crate::directory::{LoginClient, log_in};
use crate::driver::{Protocol, Turn, drive};
use crate::imap::append::{self, Append, AppendRequest};
use crate::imap::jobs;
use crate::imap::messages;
use crate::imap::reply::Reply;
use crate::imap::selected;
use crate::imap::state::{State, client, send_updates, send_woken_updates};
use crate::io::{Connection, Executor, Reader, flush};
use crate::slots::Slot;
use crate::store::{MailboxId, Store, StoreError};

/// An action of the session that needs an await, copied out of it.
enum Step {
    Login(Credentials),
    Execute(Command<'static>),
    AppendStart(AppendRequest),
    /// Enough of the message being appended is gathered: write it to its spool.
    AppendFlush,
    AppendEnd,
    Compress,
}

/// Serves one IMAP connection until LOGOUT, a timeout, or the client going away.
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
    let imap = Imap {
        session: ServerSession::new(config, peer, Instant::now()),
        engine,
        executor,
        state: State {
            account: None,
            view: None,
            append: None,
            idling: false,
        },
        compressing: None,
    };
    drive(imap, Compressible::new(conn))
}

/// An IMAP connection's part of the driving loop: the session and what the driver knows
/// beside it.
struct Imap<S: Store, E> {
    engine: Arc<Engine<S>>,
    executor: E,
    session: ServerSession,
    state: State<Append<SummarizingSpool<S::Spool>>>,
    /// This connection's place among those compressing (COMPRESS=DEFLATE).
    compressing: Option<Slot>,
}

impl<S: Store, E: Executor, C: Connection> Protocol<C> for Imap<S, E> {
    type Session = ServerSession;
    type Step = Step;

    fn session(&mut self) -> &mut ServerSession {
        &mut self.session
    }

    fn next(&mut self, out: &mut Vec<u8>) -> Option<Turn<Step>> {
        loop {
            return Some(Turn::Step(match self.session.poll_action()? {
                Action::Send(bytes) => {
                    out.extend_from_slice(bytes);
                    continue;
                }
                Action::Request(Request::AppendData(chunk)) => {
                    let gathered = self.state.append.as_mut().map(|a| a.write(chunk));
                    if gathered != Some(true) {
                        continue;
                    }
                    Step::AppendFlush
                }
                Action::Request(Request::AppendMessageEnd) => {
                    if let Some(append) = self.state.append.as_mut() {
                        append.message_end();
                    }
                    continue;
                }
                Action::Request(Request::IdleStart) => {
                    self.state.idling = true;
                    continue;
                }
                Action::Request(Request::IdleDone) => {
                    self.state.idling = false;
                    let now = Instant::now();
                    self.session
                        .complete(Status::Ok, None, "IDLE terminated", now);
                    continue;
                }
                Action::StartTls => return Some(Turn::StartTls),
                Action::Close => return Some(Turn::Close),
                Action::Login(credentials) => Step::Login(credentials.clone()),
                Action::Request(Request::Execute(command)) => Step::Execute(command),
                Action::Request(Request::AppendStart(AppendStart {
                    mailbox,
                    flags,
                    date,
                    size,
                    first,
                    ..
                })) => Step::AppendStart(AppendRequest {
                    mailbox,
                    flags,
                    date,
                    size,
                    first,
                }),
                Action::Request(Request::AppendEnd) => Step::AppendEnd,
                Action::Request(Request::Compress) => Step::Compress,
            }));
        }
    }

    async fn act(&mut self, step: Step, conn: &mut C, out: &mut Vec<u8>) -> io::Result<()> {
        let Imap {
            engine,
            executor,
            session,
            state,
            compressing,
        } = self;
        match step {
            Step::Login(credentials) => self.login(credentials).await,
            Step::Execute(Command {
                body: CommandBody::Compress(_),
                ..
            }) => {
                let now = Instant::now();
                *compressing = engine.try_compress();
                match compressing {
                    Some(_) => session.complete(Status::Ok, None, "DEFLATE active", now),
                    None => {
                        tracing::info!(
                            client = %session.peer().ip(),
                            limit = crate::deflate::MAX_COMPRESSED,
                            "COMPRESS refused: that many connections compress already"
                        );
                        session.complete(
                            Status::No,
                            Some(Code::Plain(PlainCode::Unavailable)),
                            "Too many compressed connections; go on without",
                            now,
                        );
                    }
                }
            }
            Step::Compress => {
                // The OK went out as it was; what follows is compressed.
                flush(conn, out).await?;
                conn.start_compression()?;
            }
            Step::Execute(command) => {
                execute(engine, executor, session, state, command, conn, out).await?;
            }
            Step::AppendStart(request) => {
                append::start(engine, executor, session, state, request).await;
            }
            Step::AppendFlush => {
                if let Some(append) = state.append.as_mut() {
                    append.flush(executor).await;
                }
            }
            Step::AppendEnd => append::finish(engine, executor, session, state).await,
        }
        Ok(())
    }

    /// Waits for input; in IDLE, for a change to the selected mailbox too.
    async fn wait(
        &mut self,
        conn: &mut C,
        reader: &mut Reader,
        out: &mut Vec<u8>,
    ) -> io::Result<bool> {
        let watched = self.state.view.as_ref().map(|v| v.id);
        match watched.filter(|_| self.state.idling) {
            Some(mailbox) => self.idle_turn(mailbox, conn, reader, out).await,
            None => reader.turn(conn, &mut self.session).await,
        }
    }
}

impl<S: Store, E: Executor> Imap<S, E> {
    async fn login(&mut self, credentials: Credentials) {
        let peer = self.session.peer().ip();
        let verdict = log_in(
            &self.engine,
            &self.executor,
            credentials,
            LoginClient {
                ip: peer,
                protocol: "imap",
            },
        )
        .await;
        let verdict = verdict.map(|account| self.state.account = Some(account.id));
        self.session.login_result(verdict, Instant::now());
    }

    /// Tells the idling client what changed since it last heard.
    async fn catch_up<C: Connection>(&mut self, conn: &mut C, out: &mut Vec<u8>) -> io::Result<()> {
        let Imap {
            engine,
            executor,
            session,
            state,
            ..
        } = self;
        send_woken_updates(engine, executor, session, state).await;
        while let Some(Action::Send(bytes)) = session.poll_action() {
            out.extend_from_slice(bytes);
        }
        flush(conn, out).await
    }

    /// Waits, in IDLE, for input or a change to `mailbox`, and tells the client of changes.
    /// `false` once the client has gone.
    async fn idle_turn<C: Connection>(
        &mut self,
        mailbox: MailboxId,
        conn: &mut C,
        reader: &mut Reader,
        out: &mut Vec<u8>,
    ) -> io::Result<bool> {
        // Listen first, then catch up, so no change slips between the two.
        let listener = self.engine.changes().listen(mailbox);
        // Boxed, as the driver's work is: the wait that follows, maybe for hours, holds
        // only the listener and the read.
        Box::pin(self.catch_up(conn, out)).await?;
        self.session.rest();
        *out = Vec::new();
        let reading = async { Some(reader.turn(conn, &mut self.session).await) };
        let changed = async {
            listener.await;
            None
        };
        match future::or(reading, changed).await {
            Some(read) => read,
            None => Ok(true),
        }
    }
}

/// Runs one command handed over by the session and completes it.
async fn execute<S, C, E, A>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    session: &mut ServerSession,
    state: &mut State<A>,
    command: Command<'static>,
    conn: &mut C,
    out: &mut Vec<u8>,
) -> io::Result<()>
where
    S: Store,
    C: Connection,
    E: Executor,
{
    let Some(account) = state.account else {
        session.complete(Status::Bad, None, "Log in first", Instant::now());
        return Ok(());
    };
    if let CommandBody::Status { items, .. } = &command.body
        && items.contains(&proto_imap::StatusItem::HighestModSeq)
    {
        // Asking for HIGHESTMODSEQ turns CONDSTORE on (RFC 7162 §3.1).
        session.enable_condstore();
    }
    let client = client(session, account);
    // Commands that only read or change mailboxes as a whole.
    let simple = jobs::job::<S>(&command.body, account, client.names, session.append_limit());
    if let Some(run) = simple {
        let task_engine = engine.clone();
        let reply = executor
            .unblock(move || run(task_engine.store()).unwrap_or_else(Reply::from))
            .await;
        reply.complete(session);
        return Ok(());
    }
    match command.body {
        CommandBody::List(_)
        | CommandBody::Lsub { .. }
        | CommandBody::Status { .. }
        | CommandBody::Create { .. }
        | CommandBody::Delete(_)
        | CommandBody::Rename { .. }
        | CommandBody::Subscribe(_)
        | CommandBody::Unsubscribe(_)
        | CommandBody::GetQuotaRoot(_) => {
            // A name that is not modified UTF-7 is one we cannot hold: NO, as for any name
            // the server cannot create, not BAD (the command itself is well formed).
            let code = Some(Code::Plain(PlainCode::Cannot));
            session.complete(Status::No, code, "Invalid mailbox name", Instant::now());
        }
        CommandBody::SetQuota { .. } => {
            session.complete(
                Status::No,
                Some(proto_imap::Code::Plain(PlainCode::NoPerm)),
                "Quotas are set by the administrator",
                Instant::now(),
            );
        }
        CommandBody::Noop | CommandBody::Check => {
            send_updates(engine, executor, session, state, true).await;
            let verb = if matches!(command.body, CommandBody::Noop) {
                "NOOP"
            } else {
                "CHECK"
            };
            session.complete(
                Status::Ok,
                None,
                &format!("{verb} completed"),
                Instant::now(),
            );
        }
        CommandBody::Select { mailbox, params } => {
            select(engine, executor, session, state, &mailbox, &params, false).await;
        }
        CommandBody::Examine { mailbox, params } => {
            select(engine, executor, session, state, &mailbox, &params, true).await;
        }
        CommandBody::Close | CommandBody::Unselect => {
            let closing = matches!(command.body, CommandBody::Close);
            close(engine, executor, session, state, closing).await;
        }
        body => {
            let command = Command {
                tag: command.tag,
                body,
            };
            messages::execute(engine, executor, session, state, command, conn, out).await?;
        }
    }
    Ok(())
}

/// `CLOSE` (`closing`) or `UNSELECT`: leaves the selected mailbox; CLOSE expunges its
/// `\Deleted` messages without telling (RFC 9051 §6.4.1).
async fn close<S: Store, E: Executor, W>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    session: &mut ServerSession,
    state: &mut State<W>,
    closing: bool,
) {
    if let Some(view) = state.view.take()
        && closing
        && !view.read_only
    {
        let task_engine = engine.clone();
        let result = executor
            .unblock(move || {
                let deleted: Vec<u32> = task_engine
                    .store()
                    .messages(view.id)?
                    .iter()
                    .filter(|m| m.flags & crate::store::FLAG_DELETED != 0)
                    .map(|m| m.uid)
                    .collect();
                if !deleted.is_empty() {
                    task_engine.store().expunge(view.id, &deleted)?;
                    task_engine.changes().notify(view.id);
                }
                Ok::<_, StoreError>(())
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "expunge at CLOSE failed");
        }
    }
    session.set_selected(None);
    let verb = if closing { "CLOSE" } else { "UNSELECT" };
    session.complete(
        Status::Ok,
        None,
        &format!("{verb} completed"),
        Instant::now(),
    );
}

/// `SELECT` / `EXAMINE` (`read_only`): closes any selected mailbox, then opens the new one.
async fn select<S: Store, E: Executor, W>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    session: &mut ServerSession,
    state: &mut State<W>,
    mailbox: &WireName<'_>,
    params: &proto_imap::SelectParams,
    read_only: bool,
) {
    let Some(client) = state.client(session) else {
        return;
    };
    if state.view.take().is_some() {
        session.set_selected(None);
        if client.qresync {
            session.write_data(&proto_imap::Data::Condition {
                condition: proto_imap::Condition::Ok,
                code: Some(Code::Plain(PlainCode::Closed)),
                text: "Previous mailbox closed".into(),
            });
        }
    }
    let Some(name) = client.names.decode(mailbox) else {
        // No mailbox can have a name that is not modified UTF-7.
        let code = Some(Code::Plain(PlainCode::NonExistent));
        session.complete(Status::No, code, "No such mailbox", Instant::now());
        return;
    };
    if params.condstore || params.qresync.is_some() {
        session.enable_condstore();
    }
    let task_engine = engine.clone();
    let params = params.clone();
    let result = executor
        .unblock(move || selected::select(task_engine.store(), client, &name, read_only, &params))
        .await;
    match result {
        Ok((reply, view)) => {
            if let Some(view) = view {
                state.view = Some(view);
                session.set_selected(Some(Selected { read_only }));
            }
            reply.complete(session);
        }
        Err(e) => Reply::from(e).complete(session),
    }
}
