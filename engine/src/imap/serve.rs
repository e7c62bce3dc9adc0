//! Drives one IMAP session over a [`Connection`]: logs in, executes the commands the
//! session hands over against the store, streams APPENDs into spools, and pushes mailbox
//! changes to idling clients the moment they are written.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use futures_lite::future;
use proto_imap::{
    Action, Code, Command, CommandBody, LoginFailure, Mailbox as WireName, PlainCode, Selected,
    ServerConfig, ServerSession, Status,
};

use crate::Engine;
use crate::delivery::spool::SummarizingSpool;
use crate::directory::AuthOutcome;
use crate::imap::append::{self, Append, AppendRequest};
use crate::imap::jobs;
use crate::imap::messages;
use crate::imap::reply::Reply;
use crate::imap::selected;
use crate::imap::state::{State, client, send_updates};
use crate::io::{Connection, Executor, Reader, flush};
use crate::store::{MailboxId, Store, StoreError};

/// Output the engine lets accumulate before it hands it to the socket mid-command.
const OUTPUT_HIGH_WATER: usize = 64 * 1024;

/// An action of the session, copied out of it.
enum Step {
    StartTls,
    Close,
    Login { username: String, password: String },
    Execute(Command<'static>),
    AppendStart(AppendRequest),
    AppendMessageEnd,
    AppendEnd,
    IdleStart,
    IdleDone,
}

/// Serves one IMAP connection until LOGOUT, a timeout, or the client going away.
pub async fn serve<S, C, E>(
    engine: Arc<Engine<S>>,
    executor: E,
    config: Arc<ServerConfig>,
    implicit_tls: bool,
    peer: SocketAddr,
    conn: &mut C,
) -> io::Result<()>
where
    S: Store,
    C: Connection,
    E: Executor,
{
    Driver {
        session: ServerSession::new(config, peer, implicit_tls, Instant::now()),
        engine,
        executor,
        peer,
        state: State {
            account: None,
            view: None,
            append: None,
            idling: false,
        },
        conn,
        out: Vec::new(),
        reader: Reader::default(),
    }
    .run()
    .await
}

/// One IMAP connection being served: the session, what the driver knows beside it, and
/// the connection with its buffers.
struct Driver<'c, S: Store, E, C> {
    engine: Arc<Engine<S>>,
    executor: E,
    peer: SocketAddr,
    session: ServerSession,
    state: State<Append<SummarizingSpool<S::Spool>>>,
    conn: &'c mut C,
    out: Vec<u8>,
    reader: Reader,
}

impl<S: Store, E: Executor, C: Connection> Driver<'_, S, E, C> {
    async fn run(mut self) -> io::Result<()> {
        loop {
            while let Some(step) = self.next_step() {
                if !self.step(step).await? {
                    return Ok(());
                }
                if self.out.len() >= OUTPUT_HIGH_WATER {
                    flush(self.conn, &mut self.out).await?;
                }
            }
            flush(self.conn, &mut self.out).await?;
            if self.session.is_closed() {
                return Ok(());
            }
            let watched = self.state.view.as_ref().map(|v| v.id);
            let going_on = match watched.filter(|_| self.state.idling) {
                Some(mailbox) => self.idle_turn(mailbox).await?,
                None => self.reader.turn(self.conn, &mut self.session).await?,
            };
            if !going_on {
                return Ok(());
            }
        }
    }

    /// The session's next action that needs the driver, copied out of it so that nothing
    /// borrowed from the session lives across an await. Output and APPEND data, which need
    /// no await, are taken care of on the way.
    fn next_step(&mut self) -> Option<Step> {
        loop {
            return Some(match self.session.poll_action()? {
                Action::Send(bytes) => {
                    self.out.extend_from_slice(bytes);
                    continue;
                }
                Action::AppendData(chunk) => {
                    if let Some(append) = self.state.append.as_mut() {
                        append.write(chunk);
                    }
                    continue;
                }
                Action::StartTls => Step::StartTls,
                Action::Close => Step::Close,
                Action::Login { username, password } => Step::Login {
                    username: username.to_string(),
                    password: password.to_string(),
                },
                Action::Execute(command) => Step::Execute(command),
                Action::AppendStart {
                    mailbox,
                    flags,
                    date,
                    size,
                    first,
                    ..
                } => Step::AppendStart(AppendRequest {
                    mailbox,
                    flags,
                    date,
                    size,
                    first,
                }),
                Action::AppendMessageEnd => Step::AppendMessageEnd,
                Action::AppendEnd => Step::AppendEnd,
                Action::IdleStart => Step::IdleStart,
                Action::IdleDone => Step::IdleDone,
            });
        }
    }

    /// Carries out one step; `false` once the connection is to close.
    async fn step(&mut self, step: Step) -> io::Result<bool> {
        let Driver {
            engine,
            executor,
            session,
            state,
            ..
        } = self;
        match step {
            Step::StartTls => {
                flush(self.conn, &mut self.out).await?;
                self.conn.start_tls().await?;
                self.session.tls_started(Instant::now());
            }
            Step::Close => {
                flush(self.conn, &mut self.out).await?;
                return Ok(false);
            }
            Step::Login { username, password } => {
                Box::pin(self.login(username, password)).await;
            }
            Step::Execute(command) => {
                // Boxed, like the APPEND steps below: a command's state lives only while it
                // runs, so an idle connection's task stays small.
                let (conn, out) = (&mut *self.conn, &mut self.out);
                Box::pin(execute(
                    engine, executor, session, state, command, conn, out,
                ))
                .await?;
            }
            Step::AppendStart(request) => {
                Box::pin(append::start(engine, executor, session, state, request)).await;
            }
            Step::AppendMessageEnd => {
                if let Some(append) = state.append.as_mut() {
                    append.message_end();
                }
            }
            Step::AppendEnd => {
                Box::pin(append::finish(engine, executor, session, state)).await;
            }
            Step::IdleStart => state.idling = true,
            Step::IdleDone => {
                state.idling = false;
                session.complete(Status::Ok, None, "IDLE terminated", Instant::now());
            }
        }
        Ok(true)
    }

    async fn login(&mut self, username: String, password: String) {
        let (engine, ip) = (self.engine.clone(), self.peer.ip());
        let outcome = self
            .executor
            .unblock(move || engine.authenticate(&username, &password, ip))
            .await;
        match outcome {
            AuthOutcome::Success(account) => {
                self.state.account = Some(account.id);
                self.session.login_result(Ok(()), Instant::now());
            }
            AuthOutcome::Failure { delay } => {
                self.executor.sleep(delay).await;
                self.session
                    .login_result(Err(LoginFailure::BadCredentials), Instant::now());
            }
        }
    }

    /// Waits, in IDLE, for input or a change to `mailbox`, and tells the client of changes.
    /// `false` once the client has gone.
    async fn idle_turn(&mut self, mailbox: MailboxId) -> io::Result<bool> {
        // Listen first, then catch up, so no change slips between the two.
        let listener = self.engine.changes().listen(mailbox);
        let Driver {
            engine,
            executor,
            session,
            state,
            ..
        } = self;
        Box::pin(send_updates(engine, executor, session, state, true)).await;
        while let Some(Action::Send(bytes)) = self.session.poll_action() {
            self.out.extend_from_slice(bytes);
        }
        flush(self.conn, &mut self.out).await?;
        let reading = async { Some(self.reader.turn(self.conn, &mut self.session).await) };
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
    let simple = jobs::job::<S>(&command.body, account, client.names);
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
            session.complete(Status::Bad, None, "Invalid mailbox name", Instant::now());
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
        session.complete(Status::Bad, None, "Invalid mailbox name", Instant::now());
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
