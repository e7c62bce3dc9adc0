//! The commands on mailboxes as a whole (LIST, LSUB, STATUS, CREATE, DELETE, RENAME,
//! (UN)SUBSCRIBE, GETQUOTA, GETQUOTAROOT) as jobs for the blocking pool: each needs only
//! the account and the store, not the selected mailbox.

use proto_imap::{CommandBody, ListCommand};

use crate::imap::mailboxes::{self, Names};
use crate::imap::quota;
use crate::imap::reply::Reply;
use crate::store::{AccountId, Store, StoreError};

/// Work on the blocking pool that answers a command on mailboxes as a whole.
pub(super) type Job<S> = Box<dyn FnOnce(&S) -> Result<Reply, StoreError> + Send>;

/// The job for a command that only reads or changes mailboxes as a whole (LIST, LSUB,
/// STATUS, CREATE, DELETE, RENAME, (UN)SUBSCRIBE, GETQUOTA, GETQUOTAROOT); `None` for
/// any other command, or one naming a mailbox that is not valid.
pub(super) fn job<S: Store>(
    body: &CommandBody<'static>,
    account: AccountId,
    names: Names,
    append_limit: u32,
) -> Option<Job<S>> {
    match body {
        CommandBody::List(command) => {
            let command = command.clone();
            Some(Box::new(move |s: &S| {
                mailboxes::list(s, account, &command, false, names, append_limit)
            }) as Job<S>)
        }
        CommandBody::Lsub { reference, pattern } => {
            let command = ListCommand {
                selection: Vec::new(),
                reference: reference.clone(),
                patterns: vec![pattern.clone()],
                returns: Vec::new(),
            };
            Some(Box::new(move |s: &S| {
                mailboxes::list(s, account, &command, true, names, append_limit)
            }) as _)
        }
        CommandBody::Status { mailbox, items } => match names.decode(mailbox) {
            Some(name) => {
                let items = items.clone();
                Some(Box::new(move |s: &S| {
                    mailboxes::status(s, account, &name, &items, names, append_limit)
                }) as _)
            }
            None => None,
        },
        CommandBody::Create { mailbox, .. } => names
            .decode(mailbox)
            .map(|name| Box::new(move |s: &S| mailboxes::create(s, account, &name)) as _),
        CommandBody::Delete(mailbox) => names
            .decode(mailbox)
            .map(|name| Box::new(move |s: &S| mailboxes::delete(s, account, &name)) as _),
        CommandBody::Rename { from, to } => match (names.decode(from), names.decode(to)) {
            (Some(from), Some(to)) => {
                Some(Box::new(move |s: &S| mailboxes::rename(s, account, &from, &to)) as _)
            }
            _ => None,
        },
        CommandBody::Subscribe(mailbox) => names
            .decode(mailbox)
            .map(|name| Box::new(move |s: &S| mailboxes::subscribe(s, account, &name, true)) as _),
        CommandBody::Unsubscribe(mailbox) => names
            .decode(mailbox)
            .map(|name| Box::new(move |s: &S| mailboxes::subscribe(s, account, &name, false)) as _),
        CommandBody::GetQuota(root) => {
            let root = root.to_vec();
            Some(Box::new(move |s: &S| quota::get_quota(s, account, &root)) as _)
        }
        CommandBody::GetQuotaRoot(mailbox) => names.decode(mailbox).map(|name| {
            Box::new(move |s: &S| quota::get_quota_root(s, account, &name, names)) as _
        }),
        _ => None,
    }
}
