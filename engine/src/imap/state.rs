//! What the IMAP driver knows about a connection beyond its session: who logged in, the
//! selected mailbox's view, an APPEND in progress; and how the client hears of changes to
//! the selected mailbox.

use std::sync::Arc;

use proto_imap::ServerSession;

use crate::Engine;
use crate::imap::mailboxes::Names;
use crate::imap::selected::{self, Client, Updates};
use crate::imap::view::MailboxView;
use crate::io::Executor;
use crate::store::{AccountId, Store, StoreError};

/// What the driver knows about the connection beyond the session.
pub(crate) struct State<A> {
    pub(super) account: Option<AccountId>,
    pub(crate) view: Option<MailboxView>,
    /// The APPEND in progress; boxed, as it is rare and large (its spool) and a session
    /// keeps its state while it waits.
    pub(super) append: Option<Box<A>>,
    pub(super) idling: bool,
}

impl<A> State<A> {
    /// Who is logged in, with what the session enabled; `None` before login.
    pub(crate) fn client(&self, session: &ServerSession) -> Option<Client> {
        self.account.map(|account| client(session, account))
    }
}

/// The client logged in as `account`, with what its session enabled.
pub(super) fn client(session: &ServerSession, account: AccountId) -> Client {
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

/// Sends what changed in the selected mailbox since the client last heard. What arrived,
/// when that was all that changed, is left for the sessions woken by the same change (see
/// [`ChangeHub`](crate::changes::ChangeHub)).
pub(super) async fn send_updates<S: Store, E: Executor, A>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    session: &mut ServerSession,
    state: &mut State<A>,
    allow_expunge: bool,
) {
    let (Some(account), Some(mut view)) = (state.account, state.view.take()) else {
        return;
    };
    let client = client(session, account);
    let mailbox = view.id;
    // Taken before the read: a change after it makes what is read stale.
    let generation = engine.changes().generation(mailbox);
    let task_engine = engine.clone();
    let (view, updates) = executor
        .unblock(move || {
            let read =
                selected::updates_read(task_engine.store(), client, &mut view, allow_expunge);
            // Shared from here, at once: the sessions woken with this one are being run on
            // the async threads meanwhile, ahead of this one's continuation.
            let updates = read.map(|(updates, arrivals)| {
                if let Some(arrivals) = arrivals {
                    task_engine.changes().share(mailbox, generation, arrivals);
                }
                updates
            });
            (view, updates)
        })
        .await;
    state.view = Some(view);
    write_updates(session, updates);
}

/// [`send_updates`] for a session a change woke while idling: what arrived is taken from
/// a session woken with it that read it already, when this view stood where that one's
/// did. Only a wake takes what another read: every change to a mailbox wakes its
/// sessions and makes what was read before stale, and only that assures it is current.
pub(super) async fn send_woken_updates<S: Store, E: Executor, A>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    session: &mut ServerSession,
    state: &mut State<A>,
) {
    if let (Some(account), Some(view)) = (state.account, state.view.as_mut())
        && let Some(arrivals) = engine.changes().arrivals(view.id)
        && let Some(updates) =
            selected::updates_from(client(session, account), view, &arrivals, true)
    {
        write_updates(session, Ok(updates));
        return;
    }
    send_updates(engine, executor, session, state, true).await;
}

/// Only the untagged data: the command this runs within completes on its own.
fn write_updates(session: &mut ServerSession, updates: Result<Updates, StoreError>) {
    match updates {
        Ok(updates) => updates.into_data().for_each(|d| session.write_data(&d)),
        Err(e) => tracing::error!(error = %e, "cannot read mailbox changes"),
    }
}
