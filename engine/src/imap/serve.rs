//! Drives one IMAP session over a [`Connection`]: logs in, executes the commands the
//! session hands over against the store, streams APPENDs into spools, and pushes mailbox
//! changes to idling clients the moment they are written.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures_lite::future;
use proto_imap::{
    Action, Code, Command, CommandBody, DateTime, Flag, LoginFailure, Mailbox as WireName,
    PlainCode, Selected, ServerConfig, ServerSession, Status,
};

use crate::Engine;
use crate::delivery::spool::SummarizingSpool;
use crate::directory::AuthOutcome;
use crate::directory::quota::Fit;
use crate::imap::convert::{datetime_to_unix, flags_from_imap, sequence_set};
use crate::imap::mailboxes::{self, Names};
use crate::imap::reply::Reply;
use crate::imap::selected::{self, Client};
use crate::imap::view::MailboxView;
use crate::imap::{messages, quota};
use crate::io::{Connection, Executor, flush, read_turn};
use crate::store::{AccountId, MailboxId, Store, StoreError};

/// Output the engine lets accumulate before it hands it to the socket mid-command.
const OUTPUT_HIGH_WATER: usize = 64 * 1024;

/// One message of an APPEND being received.
struct AppendMessage<W> {
    spool: W,
    flags: Vec<Flag<'static>>,
    date: Option<DateTime>,
}

/// An APPEND command in progress: its target and the messages received so far.
struct Append<W> {
    mailbox: MailboxId,
    uid_validity: u32,
    current: Option<AppendMessage<W>>,
    done: Vec<AppendMessage<W>>,
    failed: bool,
    /// Octets announced so far, checked against the quota before the data comes.
    announced: u64,
}

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

/// One message of an APPEND, as announced before its data.
struct AppendRequest {
    mailbox: WireName<'static>,
    flags: Vec<Flag<'static>>,
    date: Option<DateTime>,
    size: u32,
    /// The first message of the command (MULTIAPPEND sends more).
    first: bool,
}

/// What the driver knows about the connection beyond the session.
pub(crate) struct State<W> {
    account: Option<AccountId>,
    pub(crate) view: Option<MailboxView>,
    append: Option<Append<W>>,
    idling: bool,
}

impl<W> State<W> {
    /// Who is logged in, with what the session enabled; `None` before login.
    pub(crate) fn client(&self, session: &ServerSession) -> Option<Client> {
        self.account.map(|account| client(session, account))
    }
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
    let mut session = ServerSession::new(config, peer, implicit_tls, Instant::now());
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut shutdown_seen = false;
    let mut state: State<SummarizingSpool<S::Spool>> = State {
        account: None,
        view: None,
        append: None,
        idling: false,
    };
    loop {
        while let Some(action) = session.poll_action() {
            // Copy what the action borrows, so nothing borrowed from the session lives
            // across the awaits below.
            let step = match action {
                Action::Send(bytes) => {
                    out.extend_from_slice(bytes);
                    continue;
                }
                Action::AppendData(chunk) => {
                    if let Some(append) = state.append.as_mut()
                        && let Some(message) = append.current.as_mut()
                        && message.spool.write_all(chunk).is_err()
                    {
                        append.failed = true;
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
            };
            match step {
                Step::StartTls => {
                    flush(conn, &mut out).await?;
                    conn.start_tls().await?;
                    session.tls_started();
                }
                Step::Close => {
                    flush(conn, &mut out).await?;
                    return Ok(());
                }
                Step::Login { username, password } => {
                    let task_engine = engine.clone();
                    let outcome = Box::pin(executor.unblock(move || {
                        task_engine.authenticate(&username, &password, peer.ip())
                    }))
                    .await;
                    match outcome {
                        AuthOutcome::Success(account) => {
                            state.account = Some(account.id);
                            session.login_result(Ok(()));
                        }
                        AuthOutcome::Failure { delay } => {
                            executor.sleep(delay).await;
                            session.login_result(Err(LoginFailure::BadCredentials));
                        }
                    }
                }
                Step::Execute(command) => {
                    // Boxed, like the APPEND steps below: a command's state lives only while
                    // it runs, so an idle connection's task stays small.
                    Box::pin(execute(
                        &engine,
                        &executor,
                        &mut session,
                        &mut state,
                        command,
                        conn,
                        &mut out,
                    ))
                    .await?;
                }
                Step::AppendStart(request) => {
                    Box::pin(append_start(
                        &engine,
                        &executor,
                        &mut session,
                        &mut state,
                        request,
                    ))
                    .await;
                }
                Step::AppendMessageEnd => {
                    if let Some(append) = state.append.as_mut()
                        && let Some(message) = append.current.take()
                    {
                        append.done.push(message);
                    }
                }
                Step::AppendEnd => {
                    let target = state.append.as_ref().map(|a| a.mailbox);
                    let selected = state.view.as_ref().map(|v| (v.id, v.len()));
                    let reply = Box::pin(append_commit(&engine, &executor, &mut state)).await;
                    let grown = state.view.as_ref().map(|v| (v.id, v.len()));
                    // Appending to the selected mailbox: the client hears of it at once.
                    if let (Some((id, was)), Some((_, now))) = (selected, grown)
                        && Some(id) == target
                        && now > was
                    {
                        session.write_data(&proto_imap::Data::Exists(now));
                    } else if target.is_some() && state.view.as_ref().map(|v| v.id) == target {
                        Box::pin(send_updates(
                            &engine,
                            &executor,
                            &mut session,
                            &mut state,
                            true,
                        ))
                        .await;
                    }
                    reply.complete(&mut session);
                }
                Step::IdleStart => state.idling = true,
                Step::IdleDone => {
                    state.idling = false;
                    session.complete(Status::Ok, None, "IDLE terminated");
                }
            }
            if out.len() >= OUTPUT_HIGH_WATER {
                flush(conn, &mut out).await?;
            }
        }
        flush(conn, &mut out).await?;
        if session.is_closed() {
            return Ok(());
        }
        let watched = state.view.as_ref().map(|v| v.id).filter(|_| state.idling);
        let Some(mailbox) = watched else {
            if !read_turn(conn, &mut session, &mut buf, &mut shutdown_seen).await? {
                return Ok(());
            }
            continue;
        };
        // IDLE: listen first, then catch up, so no change slips between the two.
        let listener = engine.changes().listen(mailbox);
        Box::pin(send_updates(
            &engine,
            &executor,
            &mut session,
            &mut state,
            true,
        ))
        .await;
        while let Some(proto_imap::Action::Send(bytes)) = session.poll_action() {
            out.extend_from_slice(bytes);
        }
        flush(conn, &mut out).await?;
        let reading =
            async { Some(read_turn(conn, &mut session, &mut buf, &mut shutdown_seen).await) };
        let changed = async {
            listener.await;
            None
        };
        if let Some(read) = future::or(reading, changed).await
            && !read?
        {
            return Ok(());
        }
    }
}

fn client(session: &ServerSession, account: AccountId) -> Client {
    let enabled = session.enabled();
    Client {
        account,
        names: Names {
            utf8: enabled.utf8(),
        },
        condstore: enabled.condstore,
        qresync: enabled.qresync,
        rev2: enabled.imap4rev2,
    }
}

/// Sends what changed in the selected mailbox since the client last heard.
async fn send_updates<S: Store, E: Executor, W>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    session: &mut ServerSession,
    state: &mut State<W>,
    allow_expunge: bool,
) {
    let (Some(account), Some(mut view)) = (state.account, state.view.take()) else {
        return;
    };
    let client = client(session, account);
    let task_engine = engine.clone();
    let (view, reply) = executor
        .unblock(move || {
            let reply = selected::updates(task_engine.store(), client, &mut view, allow_expunge)
                .map_or_else(Reply::from, |data| Reply::ok("").with_data(data));
            (view, reply)
        })
        .await;
    state.view = Some(view);
    // Only the untagged data: the command this runs within completes on its own.
    reply.data.iter().for_each(|d| session.write_data(d));
}

/// Runs one command handed over by the session and completes it.
async fn execute<S, C, E>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    session: &mut ServerSession,
    state: &mut State<SummarizingSpool<S::Spool>>,
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
        session.complete(Status::Bad, None, "Log in first");
        return Ok(());
    };
    if let CommandBody::Status { items, .. } = &command.body
        && items.contains(&proto_imap::StatusItem::HighestModSeq)
    {
        // Asking for HIGHESTMODSEQ turns CONDSTORE on (RFC 7162 §3.1).
        session.enable_condstore();
    }
    let client = client(session, account);
    let names = client.names;
    let decode = |name: &WireName<'_>| names.decode(name);
    let task_engine = engine.clone();
    // Commands that only read or change mailboxes as a whole.
    let simple = match &command.body {
        CommandBody::List(list) => {
            let list = list.clone();
            Some(
                Box::new(move |s: &S| mailboxes::list(s, account, &list, false, names))
                    as Box<dyn FnOnce(&S) -> Result<Reply, StoreError> + Send>,
            )
        }
        CommandBody::Lsub { reference, pattern } => {
            let list = proto_imap::ListCommand {
                selection: Vec::new(),
                reference: reference.clone(),
                patterns: vec![pattern.clone()],
                returns: Vec::new(),
            };
            Some(Box::new(move |s: &S| mailboxes::list(s, account, &list, true, names)) as _)
        }
        CommandBody::Status { mailbox, items } => match decode(mailbox) {
            Some(name) => {
                let items = items.clone();
                Some(
                    Box::new(move |s: &S| mailboxes::status(s, account, &name, &items, names)) as _,
                )
            }
            None => None,
        },
        CommandBody::Create { mailbox, .. } => decode(mailbox)
            .map(|name| Box::new(move |s: &S| mailboxes::create(s, account, &name)) as _),
        CommandBody::Delete(mailbox) => decode(mailbox)
            .map(|name| Box::new(move |s: &S| mailboxes::delete(s, account, &name)) as _),
        CommandBody::Rename { from, to } => match (decode(from), decode(to)) {
            (Some(from), Some(to)) => {
                Some(Box::new(move |s: &S| mailboxes::rename(s, account, &from, &to)) as _)
            }
            _ => None,
        },
        CommandBody::Subscribe(mailbox) => decode(mailbox)
            .map(|name| Box::new(move |s: &S| mailboxes::subscribe(s, account, &name, true)) as _),
        CommandBody::Unsubscribe(mailbox) => decode(mailbox)
            .map(|name| Box::new(move |s: &S| mailboxes::subscribe(s, account, &name, false)) as _),
        CommandBody::GetQuota(root) => {
            let root = root.to_vec();
            Some(Box::new(move |s: &S| quota::get_quota(s, account, &root)) as _)
        }
        CommandBody::GetQuotaRoot(mailbox) => decode(mailbox).map(|name| {
            Box::new(move |s: &S| quota::get_quota_root(s, account, &name, names)) as _
        }),
        _ => None,
    };
    if let Some(run) = simple {
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
            session.complete(Status::Bad, None, "Invalid mailbox name");
        }
        CommandBody::SetQuota { .. } => {
            session.complete(
                Status::No,
                Some(proto_imap::Code::Plain(PlainCode::NoPerm)),
                "Quotas are set by the administrator",
            );
        }
        CommandBody::Noop | CommandBody::Check => {
            send_updates(engine, executor, session, state, true).await;
            let verb = if matches!(command.body, CommandBody::Noop) {
                "NOOP"
            } else {
                "CHECK"
            };
            session.complete(Status::Ok, None, &format!("{verb} completed"));
        }
        CommandBody::Select { mailbox, params } => {
            select(engine, executor, session, state, &mailbox, &params, false).await;
        }
        CommandBody::Examine { mailbox, params } => {
            select(engine, executor, session, state, &mailbox, &params, true).await;
        }
        CommandBody::Close | CommandBody::Unselect => {
            let closing = matches!(command.body, CommandBody::Close);
            if let Some(view) = state.view.take()
                && closing
                && !view.read_only
            {
                // CLOSE expunges \Deleted messages without telling (RFC 9051 §6.4.1).
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
            session.complete(
                Status::Ok,
                None,
                if closing {
                    "CLOSE completed"
                } else {
                    "UNSELECT completed"
                },
            );
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
        session.complete(Status::Bad, None, "Invalid mailbox name");
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

/// Checks the target of an APPEND message and prepares its spool.
async fn append_start<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    session: &mut ServerSession,
    state: &mut State<SummarizingSpool<S::Spool>>,
    request: AppendRequest,
) {
    let AppendRequest {
        mailbox,
        flags,
        date,
        size,
        first,
    } = request;
    let Some(account) = state.account else {
        session.append_reject(Status::Bad, None, "Log in first");
        return;
    };
    if first {
        let names = client(session, account).names;
        let Some(name) = names.decode(&mailbox) else {
            session.append_reject(Status::Bad, None, "Invalid mailbox name");
            return;
        };
        let task_engine = engine.clone();
        let found = executor
            .unblock(move || mailboxes::find(task_engine.store(), account, &name))
            .await;
        match found {
            Ok(Some(target)) => {
                state.append = Some(Append {
                    mailbox: target.id,
                    uid_validity: target.uid_validity,
                    current: None,
                    done: Vec::new(),
                    failed: false,
                    announced: 0,
                });
            }
            Ok(None) => {
                session.append_reject(
                    Status::No,
                    Some(Code::Plain(PlainCode::TryCreate)),
                    "No such mailbox",
                );
                return;
            }
            Err(e) => {
                let reply = Reply::from(e);
                session.append_reject(reply.status, reply.code, &reply.text);
                return;
            }
        }
    }
    if let Some(append) = state.append.as_mut() {
        append.announced += u64::from(size);
        // A point read: cheap enough inline.
        let fit = engine.quota_fit(account, Some(append.announced));
        if matches!(fit, Ok(Fit::TooLarge | Fit::Full)) {
            state.append = None;
            session.append_reject(
                Status::No,
                Some(Code::Plain(PlainCode::OverQuota)),
                "Quota exceeded",
            );
            return;
        }
    }
    if let Err(flag) = flags_from_imap(&flags) {
        state.append = None;
        session.append_reject(Status::Bad, None, &format!("{flag} cannot be stored"));
        return;
    }
    match (
        state.append.as_mut(),
        engine.store().create_spool().map(SummarizingSpool::new),
    ) {
        (Some(append), Ok(spool)) => {
            append.current = Some(AppendMessage { spool, flags, date });
            session.append_accept();
        }
        (_, Err(e)) => {
            state.append = None;
            let reply = Reply::from(e);
            session.append_reject(reply.status, reply.code, &reply.text);
        }
        (None, _) => session.append_reject(Status::Bad, None, "APPEND out of order"),
    }
}

/// Stores the messages of a completed APPEND, in order, and says where they went.
async fn append_commit<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    state: &mut State<SummarizingSpool<S::Spool>>,
) -> Reply {
    let Some(append) = state.append.take() else {
        return Reply::bad("APPEND out of order");
    };
    if append.failed {
        return Reply::no(Some(PlainCode::Unavailable), "Could not spool the message");
    }
    let task_engine = engine.clone();
    let Append {
        mailbox,
        uid_validity,
        done,
        ..
    } = append;
    let stored = executor
        .unblock(move || {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let store = task_engine.store();
            let before = store.mailbox(mailbox)?.map(|m| m.highest_modseq);
            let mut uids = Vec::new();
            for message in done {
                let (bits, keywords) = flags_from_imap(&message.flags).unwrap_or_default();
                let date = message.date.map_or(now, datetime_to_unix);
                match store.append(message.spool.finish(), mailbox, bits, &keywords, date) {
                    Ok(delivered) => uids.push(delivered.uid),
                    Err(e) => {
                        // MULTIAPPEND is all or nothing (RFC 3502): take back what went in.
                        if !uids.is_empty() && store.expunge(mailbox, &uids).is_err() {
                            tracing::error!("could not take back a failed MULTIAPPEND");
                        }
                        return Err(e);
                    }
                }
            }
            task_engine.changes().notify(mailbox);
            let after = store.mailbox(mailbox)?;
            Ok::<_, StoreError>((uids, before, after))
        })
        .await;
    match stored {
        Ok((uids, before, after)) => {
            // If nothing else changed the selected target meanwhile, the view takes the new
            // messages as they are, without reading the mailbox again.
            if let (Some(view), Some(before), Some(after)) = (state.view.as_mut(), before, after)
                && view.id == mailbox
                && view.highest_modseq == before
            {
                view.append_own(&uids, &after);
            }
            let mut reply = Reply::ok("APPEND completed");
            if let (Some(validity), Some(uids)) =
                (std::num::NonZeroU32::new(uid_validity), sequence_set(&uids))
            {
                reply = reply.with_code(Code::AppendUid {
                    uid_validity: validity,
                    uids,
                });
            }
            reply
        }
        Err(e) => Reply::from(e),
    }
}
