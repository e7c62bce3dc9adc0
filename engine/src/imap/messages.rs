//! Commands on the messages of the selected mailbox: FETCH, SEARCH, SORT, THREAD, STORE,
//! COPY, MOVE, EXPUNGE and UID EXPUNGE. Each runs on the blocking pool with the view moved
//! in and back (FETCH one chunk at a time), and reports other sessions' changes where RFC 9051 §7.5.1 allows: never an
//! EXPUNGE during FETCH, STORE or SEARCH (their UID forms may).

use std::io;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use proto_imap::{Action, Command, CommandBody, ServerSession, Session, Status};

use crate::Engine;
use crate::imap::fetch::{FetchCursor, FetchRequest};
use crate::imap::reply::Reply;
use crate::imap::search;
use crate::imap::search::SearchRequest;
use crate::imap::selected::{self, Client, StoreRequest};
use crate::imap::state::State;
use crate::imap::view::MailboxView;
use crate::io::{Connection, Executor, flush};
use crate::store::{MailboxId, Store, StoreError};

/// Runs a selected-state command for `client` and completes it.
pub(crate) async fn execute<S, C, E, W>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    session: &mut ServerSession,
    state: &mut State<W>,
    command: Command<'static>,
    conn: &mut C,
    out: &mut Vec<u8>,
) -> io::Result<()>
where
    S: Store,
    C: Connection,
    E: Executor,
{
    let Some(mut client) = state.client(session) else {
        session.complete(Status::Bad, None, "Log in first", Instant::now());
        return Ok(());
    };
    let view_slot = &mut state.view;
    let Some(mut view) = view_slot.take() else {
        session.complete(Status::Bad, None, "No mailbox selected", Instant::now());
        return Ok(());
    };
    if uses_condstore(&command.body) {
        // The first CONDSTORE-enabling command on a selected mailbox is told its
        // HIGHESTMODSEQ (RFC 7162 §3.1).
        if session.enable_condstore()
            && let Some(modseq) = std::num::NonZeroU64::new(view.highest_modseq)
        {
            session.write_data(&proto_imap::Data::Condition {
                condition: proto_imap::Condition::Ok,
                code: Some(proto_imap::Code::HighestModSeq(modseq)),
                text: "Highest".into(),
            });
        }
        client.condstore = true;
    }
    if let CommandBody::Fetch {
        uid,
        set,
        attrs,
        modifiers,
    } = command.body
    {
        // What the session has written so far goes first; the FETCH data follows directly.
        while let Some(Action::Send(bytes)) = session.poll_action() {
            out.extend_from_slice(bytes);
        }
        flush(conn, out).await?;
        let request = FetchRequest {
            uid,
            set,
            attrs,
            modifiers,
            options: session.encode_options(),
        };
        let (view, reply) = stream_fetch(engine, executor, client, view, request, conn).await?;
        *view_slot = Some(view);
        reply.complete(session);
        return Ok(());
    }
    let tag = command.tag;
    let task_engine = engine.clone();
    let (view, reply) = executor
        .unblock(move || {
            let store = task_engine.store();
            let (reply, touched) = run(store, client, &mut view, &tag, command.body)
                .unwrap_or_else(|e| (Reply::from(e), Vec::new()));
            for mailbox in touched {
                task_engine.changes().notify(mailbox);
            }
            (view, reply)
        })
        .await;
    *view_slot = Some(view);
    reply.complete(session);
    Ok(())
}

/// Runs a FETCH one chunk at a time on the blocking pool and writes each chunk before the
/// next is made, so a client that reads slowly or goes away holds no thread. An error
/// means the connection cannot go on: the client is gone, or storage failed in the middle
/// of a literal whose length was already sent.
async fn stream_fetch<S, C, E>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    client: Client,
    mut view: MailboxView,
    request: FetchRequest,
    conn: &mut C,
) -> io::Result<(MailboxView, Reply)>
where
    S: Store,
    C: Connection,
    E: Executor,
{
    let uid = request.uid;
    let task_engine = engine.clone();
    let (mut view, started) = executor
        .unblock(move || {
            let started = FetchCursor::start(task_engine.store(), &mut view, request);
            (view, started)
        })
        .await;
    let mut cursor = match started {
        Ok(cursor) => cursor,
        Err(e) => return Ok((view, Reply::from(e))),
    };
    let before = view.highest_modseq;
    let mut reply = loop {
        let task_engine = engine.clone();
        let chunk;
        (cursor, view, chunk) = executor
            .unblock(move || {
                let chunk = cursor.next_chunk(task_engine.store(), client, &view);
                (cursor, view, chunk)
            })
            .await;
        match chunk {
            Ok(Some(bytes)) => {
                conn.write_all(&bytes).await?;
                if cursor.is_done() {
                    break cursor.finish();
                }
            }
            Ok(None) => break cursor.finish(),
            Err(e) if cursor.in_literal() => {
                tracing::error!(error = %e, "storage failed while streaming a message");
                return Err(io::Error::other("message stream broken"));
            }
            Err(e) => break Reply::from(e),
        }
    };
    let task_engine = engine.clone();
    let updated = executor
        .unblock(move || {
            let store = task_engine.store();
            if view.highest_modseq != before {
                // \Seen was set: other sessions on this mailbox hear of it.
                task_engine.changes().notify(view.id);
            }
            match selected::updates(store, client, &mut view, uid) {
                Ok(updates) => reply.data.extend(updates.into_data()),
                Err(e) => tracing::error!(error = %e, "cannot read mailbox changes"),
            }
            (view, reply)
        })
        .await;
    Ok(updated)
}

/// Commands that use a CONDSTORE feature, which turns CONDSTORE on for the rest of the
/// session (RFC 7162 §3.1).
fn uses_condstore(body: &CommandBody<'_>) -> bool {
    match body {
        CommandBody::Fetch {
            attrs, modifiers, ..
        } => {
            modifiers.changed_since.is_some()
                || attrs.expand().contains(&proto_imap::FetchAttr::ModSeq)
        }
        CommandBody::Store {
            unchanged_since, ..
        } => unchanged_since.is_some(),
        CommandBody::Search { keys, .. }
        | CommandBody::Sort { keys, .. }
        | CommandBody::Thread { keys, .. } => search::uses_modseq(keys),
        _ => false,
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The blocking part: the reply, and the mailboxes whose contents changed.
fn run<S: Store>(
    store: &S,
    client: Client,
    view: &mut MailboxView,
    tag: &proto_imap::Tag<'static>,
    command: CommandBody<'static>,
) -> Result<(Reply, Vec<MailboxId>), StoreError> {
    let this = view.id;
    let (mut reply, touched, uid) = match command {
        CommandBody::Store {
            uid,
            set,
            unchanged_since,
            mode,
            silent,
            flags,
        } => {
            let request = StoreRequest {
                set: &set,
                uid,
                unchanged_since,
                mode,
                silent,
                flags: &flags,
            };
            let reply = selected::store_flags(store, client, view, &request)?;
            (reply, vec![this], uid)
        }
        CommandBody::Search {
            uid,
            returns,
            charset,
            keys,
        } => {
            let request = SearchRequest {
                uid,
                returns: returns.as_deref(),
                charset: charset.as_deref(),
                keys: &keys,
            };
            let reply = search::search(store, view, tag, client.rev2, &request, now())?;
            (reply, Vec::new(), uid)
        }
        CommandBody::Sort {
            uid,
            criteria,
            charset,
            keys,
        } => {
            let how = search::Arrange::Sort(&criteria);
            let reply = search::arrange(store, view, uid, how, &charset, &keys, now())?;
            (reply, Vec::new(), uid)
        }
        CommandBody::Thread {
            uid,
            algorithm,
            charset,
            keys,
        } => {
            let how = search::Arrange::Thread(algorithm);
            let reply = search::arrange(store, view, uid, how, &charset, &keys, now())?;
            (reply, Vec::new(), uid)
        }
        CommandBody::Copy { uid, set, mailbox } => {
            let (reply, touched) = copy_or_move(store, client, view, uid, &set, &mailbox, false)?;
            (reply, touched, true)
        }
        CommandBody::Move { uid, set, mailbox } => {
            let (reply, touched) = copy_or_move(store, client, view, uid, &set, &mailbox, true)?;
            return Ok((reply, touched));
        }
        CommandBody::Expunge => {
            return Ok((selected::expunge(store, client, view, None)?, vec![this]));
        }
        CommandBody::UidExpunge(set) => {
            return Ok((
                selected::expunge(store, client, view, Some(&set))?,
                vec![this],
            ));
        }
        _ => return Ok((Reply::bad("Command not valid in this state"), Vec::new())),
    };
    // Others' changes; expunges only for the UID forms (RFC 9051 §7.5.1).
    reply
        .data
        .extend(selected::updates(store, client, view, uid)?.into_data());
    Ok((reply, touched))
}

fn copy_or_move<S: Store>(
    store: &S,
    client: Client,
    view: &mut MailboxView,
    uid: bool,
    set: &proto_imap::SequenceSet,
    target: &proto_imap::Mailbox<'_>,
    moving: bool,
) -> Result<(Reply, Vec<MailboxId>), StoreError> {
    let Some(target) = client.names.decode(target) else {
        let refusal = Reply::no(Some(proto_imap::PlainCode::Cannot), "Invalid mailbox name");
        return Ok((refusal, Vec::new()));
    };
    let (reply, target) = selected::copy_or_move(store, client, view, set, uid, &target, moving)?;
    let mut touched: Vec<MailboxId> = target.into_iter().collect();
    if moving {
        touched.push(view.id);
    }
    Ok((reply, touched))
}
