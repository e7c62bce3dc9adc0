//! What the IMAP driver knows about a connection beyond its session: who logged in, the
//! selected mailbox's view, an APPEND in progress; and how the client hears of changes to
//! the selected mailbox.

use std::sync::Arc;

use proto_imap::ServerSession;

use crate::Engine;
use crate::imap::mailboxes::Names;
use crate::imap::selected::{self, Client};
use crate::imap::view::MailboxView;
use crate::io::Executor;
use crate::store::{AccountId, Store};

/// What the driver knows about the connection beyond the session.
pub(crate) struct State<A> {
    pub(super) account: Option<AccountId>,
    pub(crate) view: Option<MailboxView>,
    /// The APPEND in progress.
    pub(super) append: Option<A>,
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

/// Sends what changed in the selected mailbox since the client last heard.
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
    let task_engine = engine.clone();
    let (view, updates) = executor
        .unblock(move || {
            let updates = selected::updates(task_engine.store(), client, &mut view, allow_expunge);
            (view, updates)
        })
        .await;
    state.view = Some(view);
    // Only the untagged data: the command this runs within completes on its own.
    match updates {
        Ok(updates) => updates.into_data().for_each(|d| session.write_data(&d)),
        Err(e) => tracing::error!(error = %e, "cannot read mailbox changes"),
    }
}
