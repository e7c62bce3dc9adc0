//! APPEND and MULTIAPPEND (RFC 3502): each message announced is checked (target, quota,
//! flags) before its data comes, streamed into a spool as it arrives, and all of them are
//! stored together at the end of the command, or none.

use std::io::Write;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use proto_imap::{Code, DateTime, Flag, Mailbox as WireName, PlainCode, ServerSession, Status};

use crate::Engine;
use crate::delivery::spool::{STAGED_MAX, SummarizingSpool, write_staged};
use crate::directory::quota::Fit;
use crate::imap::convert::{datetime_to_unix, flags_from_imap, sequence_set};
use crate::imap::mailboxes;
use crate::imap::reply::Reply;
use crate::imap::selected::flag_lists;
use crate::imap::state::{State, client, send_updates};
use crate::io::Executor;
use crate::store::{MailboxId, NewMessage, Store, StoreError};

/// One message of an APPEND being received.
pub(super) struct AppendMessage<W> {
    spool: W,
    /// Received and not written to the spool yet.
    staged: Vec<u8>,
    flags: Vec<Flag<'static>>,
    date: Option<DateTime>,
}

/// An APPEND command in progress: its target and the messages received so far.
pub(super) struct Append<W> {
    mailbox: MailboxId,
    uid_validity: u32,
    current: Option<AppendMessage<W>>,
    done: Vec<AppendMessage<W>>,
    /// The first write to a spool that failed: the command then fails with it.
    failed: Option<StoreError>,
    /// Octets announced so far, checked against the quota before the data comes.
    announced: u64,
}

impl<W: Write + Send + 'static> Append<W> {
    /// Data of the message being received; whether enough is gathered to be written out
    /// ([`flush`](Self::flush)).
    pub(super) fn write(&mut self, chunk: &[u8]) -> bool {
        match self.current.as_mut() {
            Some(message) => {
                message.staged.extend_from_slice(chunk);
                message.staged.len() >= STAGED_MAX
            }
            None => false,
        }
    }

    /// Writes what was gathered of the message being received to its spool, on the
    /// blocking pool.
    pub(super) async fn flush(&mut self, executor: &impl Executor) {
        let Some(AppendMessage {
            spool,
            staged,
            flags,
            date,
        }) = self.current.take()
        else {
            return;
        };
        let (spool, staged, written) = write_staged(executor, spool, staged).await;
        if let Err(e) = written {
            self.failed.get_or_insert_with(|| spool_error(&e));
        }
        self.current = Some(AppendMessage {
            spool,
            staged,
            flags,
            date,
        });
    }

    /// The message being received is complete.
    pub(super) fn message_end(&mut self) {
        if let Some(message) = self.current.take() {
            self.done.push(message);
        }
    }
}

/// One message of an APPEND, as announced before its data.
pub(super) struct AppendRequest {
    pub(super) mailbox: WireName<'static>,
    pub(super) flags: Vec<Flag<'static>>,
    pub(super) date: Option<DateTime>,
    pub(super) size: u32,
    /// The first message of the command (MULTIAPPEND sends more).
    pub(super) first: bool,
}

/// Checks the target of an APPEND message and prepares its spool.
pub(super) async fn start<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    session: &mut ServerSession,
    state: &mut State<Append<SummarizingSpool<S::Spool>>>,
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
        session.append_reject(Status::Bad, None, "Log in first", Instant::now());
        return;
    };
    if first {
        let names = client(session, account).names;
        let Some(name) = names.decode(&mailbox) else {
            let code = Some(Code::Plain(PlainCode::Cannot));
            session.append_reject(Status::No, code, "Invalid mailbox name", Instant::now());
            return;
        };
        let task_engine = engine.clone();
        let found = executor
            .unblock(move || mailboxes::find(task_engine.store(), account, &name))
            .await;
        match found {
            Ok(Some(target)) => {
                state.append = Some(Box::new(Append {
                    mailbox: target.id,
                    uid_validity: target.uid_validity,
                    current: None,
                    done: Vec::new(),
                    failed: None,
                    announced: 0,
                }));
            }
            Ok(None) => {
                session.append_reject(
                    Status::No,
                    Some(Code::Plain(PlainCode::TryCreate)),
                    "No such mailbox",
                    Instant::now(),
                );
                return;
            }
            Err(e) => {
                let reply = Reply::from(e);
                session.append_reject(reply.status, reply.code, &reply.text, Instant::now());
                return;
            }
        }
    }
    if let Some(append) = state.append.as_mut() {
        append.announced += u64::from(size);
        let (task_engine, announced) = (engine.clone(), append.announced);
        let fit = executor
            .unblock(move || task_engine.quota_fit(account, Some(announced)))
            .await;
        if matches!(fit, Ok(Fit::TooLarge | Fit::Full)) {
            state.append = None;
            session.append_reject(
                Status::No,
                Some(Code::Plain(PlainCode::OverQuota)),
                "Quota exceeded",
                Instant::now(),
            );
            return;
        }
    }
    if let Err(flag) = flags_from_imap(&flags) {
        state.append = None;
        session.append_reject(
            Status::Bad,
            None,
            &format!("{flag} cannot be stored"),
            Instant::now(),
        );
        return;
    }
    match (
        state.append.as_mut(),
        engine.store().create_spool().map(SummarizingSpool::new),
    ) {
        (Some(append), Ok(spool)) => {
            append.current = Some(AppendMessage {
                spool,
                staged: Vec::new(),
                flags,
                date,
            });
            session.append_accept(Instant::now());
        }
        (_, Err(e)) => {
            state.append = None;
            let reply = Reply::from(e);
            session.append_reject(reply.status, reply.code, &reply.text, Instant::now());
        }
        (None, _) => {
            session.append_reject(Status::Bad, None, "APPEND out of order", Instant::now())
        }
    }
}

/// Stores the messages of the completed command and completes it. A client appending to
/// its selected mailbox hears of the new messages at once.
pub(super) async fn finish<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    session: &mut ServerSession,
    state: &mut State<Append<SummarizingSpool<S::Spool>>>,
) {
    let target = state.append.as_ref().map(|a| a.mailbox);
    let selected = state
        .view
        .as_ref()
        .map(|v| (v.id, v.len(), v.keywords().len()));
    let rev1 = state.client(session).is_some_and(|c| !c.rev2);
    let reply = commit(engine, executor, state, rev1).await;
    if let (Some((id, was, keywords_were)), Some(view)) = (selected, state.view.as_ref())
        && Some(id) == target
        && view.len() > was
    {
        session.write_data(&proto_imap::Data::Exists(view.len()));
        if rev1 {
            session.write_data(&proto_imap::Data::Recent(view.recent_count()));
        }
        // A keyword new to the client comes with FLAGS and PERMANENTFLAGS again.
        if view.keywords().len() > keywords_were {
            for data in flag_lists(view.keywords(), view.read_only) {
                session.write_data(&data);
            }
        }
    } else if target.is_some() && state.view.as_ref().map(|v| v.id) == target {
        Box::pin(send_updates(engine, executor, session, state, true)).await;
    }
    reply.complete(session);
}

/// Stores the messages of a completed APPEND, in order, and says where they went. Messages
/// appended to the selected mailbox are recent in this session when `rev1`.
async fn commit<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    state: &mut State<Append<SummarizingSpool<S::Spool>>>,
    rev1: bool,
) -> Reply {
    let Some(append) = state.append.take() else {
        return Reply::bad("APPEND out of order");
    };
    if let Some(e) = append.failed {
        return Reply::from(e);
    }
    let task_engine = engine.clone();
    let Append {
        mailbox,
        uid_validity,
        done,
        ..
    } = *append;
    let claim_recent = rev1
        && state
            .view
            .as_ref()
            .is_some_and(|v| v.id == mailbox && !v.read_only);
    let stored = executor
        .unblock(move || {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let store = task_engine.store();
            let before = store.mailbox(mailbox)?.map(|m| m.highest_modseq);
            let mut all_keywords = Vec::new();
            let mut messages = Vec::with_capacity(done.len());
            for message in done {
                let (flags, keywords) = flags_from_imap(&message.flags).unwrap_or_default();
                all_keywords.extend(keywords.iter().cloned());
                let mut spool = message.spool;
                spool
                    .write_all(&message.staged)
                    .map_err(|e| spool_error(&e))?;
                messages.push(NewMessage {
                    spool: spool.finish(),
                    flags,
                    keywords,
                    internal_date: message.date.map_or(now, datetime_to_unix),
                });
            }
            // MULTIAPPEND is all or nothing (RFC 3502): one commit.
            let uids: Vec<u32> = store
                .append_all(mailbox, messages)?
                .into_iter()
                .map(|delivered| delivered.uid)
                .collect();
            let after = store.mailbox(mailbox)?;
            // Claimed before the other sessions hear of the new messages. The messages are
            // stored: a claim that fails costs only their \Recent, never the OK.
            let recent = match &after {
                Some(after) if claim_recent => store
                    .claim_recent(mailbox, after.uid_next)
                    .inspect_err(|e| tracing::error!(error = %e, "cannot claim \\Recent"))
                    .ok(),
                _ => None,
            };
            task_engine.changes().notify(mailbox);
            for &uid in &uids {
                task_engine.filled.stored(mailbox, uid);
            }
            Ok::<_, StoreError>((uids, all_keywords, before, after, recent))
        })
        .await;
    match stored {
        Ok((uids, keywords, before, after, recent)) => {
            if let (Some(view), Some(first), Some(after)) =
                (state.view.as_mut(), recent, after.as_ref())
            {
                view.add_recent(first.max(view.uid_next), after.uid_next);
            }
            // If nothing else changed the selected target meanwhile, the view takes the new
            // messages as they are, without reading the mailbox again.
            if let (Some(view), Some(before), Some(after)) = (state.view.as_mut(), before, after)
                && view.id == mailbox
                && view.highest_modseq == before
            {
                view.append_own(&uids, &keywords, &after);
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

/// A failed write to an APPEND's spool, as the store error it becomes.
fn spool_error(e: &std::io::Error) -> StoreError {
    StoreError::io(e.kind(), format!("cannot write to the message spool: {e}"))
}
