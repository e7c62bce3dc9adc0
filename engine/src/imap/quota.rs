//! QUOTA (RFC 9208): each account has one quota root, `""`, with the STORAGE resource in
//! KiB. Limits are set by the administrator (`postern user quota`), never by SETQUOTA.

use proto_imap::{Atom, Data, PlainCode, QuotaResource};

use crate::imap::mailboxes::{Names, find};
use crate::imap::reply::Reply;
use crate::store::{AccountId, Store, StoreError};

/// The quota root every mailbox of an account belongs to.
const ROOT: &[u8] = b"";

fn quota_data<S: Store>(
    store: &S,
    account: AccountId,
) -> Result<Option<Data<'static>>, StoreError> {
    let Some(account) = store.account_by_id(account)? else {
        return Ok(None);
    };
    let resources = account
        .quota
        .map(|limit| QuotaResource {
            name: Atom::new("STORAGE").expect("STORAGE is an atom"),
            usage: account.used.div_ceil(1024),
            limit: limit / 1024,
        })
        .into_iter()
        .collect();
    Ok(Some(Data::Quota {
        root: ROOT.into(),
        resources,
    }))
}

/// `GETQUOTA root`.
pub fn get_quota<S: Store>(
    store: &S,
    account: AccountId,
    root: &[u8],
) -> Result<Reply, StoreError> {
    if root != ROOT {
        return Ok(Reply::no(
            Some(PlainCode::NonExistent),
            "No such quota root",
        ));
    }
    Ok(
        Reply::ok("GETQUOTA completed")
            .with_data(quota_data(store, account)?.into_iter().collect()),
    )
}

/// `GETQUOTAROOT mailbox`.
pub fn get_quota_root<S: Store>(
    store: &S,
    account: AccountId,
    mailbox: &str,
    names: Names,
) -> Result<Reply, StoreError> {
    if find(store, account, mailbox)?.is_none() {
        return Ok(Reply::no(Some(PlainCode::NonExistent), "No such mailbox"));
    }
    let mut data = vec![Data::QuotaRoot {
        mailbox: names.encode(mailbox),
        roots: vec![ROOT.into()],
    }];
    data.extend(quota_data(store, account)?);
    Ok(Reply::ok("GETQUOTAROOT completed").with_data(data))
}
