//! Layouts 1 to 3 declared each table to redb with its own key and value types; layout 4
//! declares them all [`Encoded`](crate::typed) (see [`crate::typed`] for why). Opening such
//! a database rewrites every table in the new encoding, in the transaction that upgrades it.
//!
//! The old tables are read without their types: [`Declared`] claims, table by table, the
//! type names and widths a table was created with, so redb opens it, and hands its rows over
//! as bytes. A typed read of each would bring a copy of redb's B-tree code per old type back
//! into the binary, which is what layout 4 is for removing.

use std::cell::RefCell;
use std::cmp::Ordering;

use engine::store::StoreResult;
use redb::{ReadableTable, TableDefinition, TableHandle, TypeName, WriteTransaction};

use crate::error::DbResultExt;
use crate::typed::{Encoded, Key, Value};

/// The redb types a table of the old layouts was created with.
#[derive(Clone)]
struct Types {
    key: TypeName,
    key_width: Option<usize>,
    compare: fn(&[u8], &[u8]) -> Ordering,
    value: TypeName,
    value_width: Option<usize>,
}

thread_local! {
    /// The types of the old table being read on this thread.
    static DECLARED: RefCell<Option<Types>> = const { RefCell::new(None) };
}

fn declared() -> Types {
    DECLARED.with_borrow(|types| {
        types
            .clone()
            .expect("a table of an old layout is opened only by `convert_table`")
    })
}

/// An old table's key (`KEY`) or value as the bytes redb stored, under the types in
/// [`DECLARED`].
#[derive(Debug)]
enum Declared<const KEY: bool> {}

impl<const KEY: bool> redb::Value for Declared<KEY> {
    type SelfType<'a> = &'a [u8];
    type AsBytes<'a> = &'a [u8];
    fn fixed_width() -> Option<usize> {
        let types = declared();
        if KEY {
            types.key_width
        } else {
            types.value_width
        }
    }
    fn from_bytes<'a>(data: &'a [u8]) -> &'a [u8]
    where
        Self: 'a,
    {
        data
    }
    fn as_bytes<'a, 'b: 'a>(value: &'a &'b [u8]) -> &'a [u8]
    where
        Self: 'b,
    {
        value
    }
    fn type_name() -> TypeName {
        let types = declared();
        if KEY { types.key } else { types.value }
    }
}

impl redb::Key for Declared<true> {
    fn compare(data1: &[u8], data2: &[u8]) -> Ordering {
        let compare = DECLARED.with_borrow(|types| types.as_ref().map(|types| types.compare));
        compare.map_or_else(|| data1.cmp(data2), |compare| compare(data1, data2))
    }
}

/// How an old table is opened to be read.
fn old_table(name: &str) -> TableDefinition<'_, Declared<true>, Declared<false>> {
    TableDefinition::new(name)
}

/// Rewrites an old table's bytes in the new encoding.
type Rewrite = fn(&[u8], &mut Vec<u8>);

/// Rewrites table `name`, if the database has it, from `types` to [`Encoded`]; gives the
/// rows it held.
fn convert_table(
    txn: &WriteTransaction,
    name: &str,
    types: Types,
    key: Rewrite,
    value: Rewrite,
) -> StoreResult<u64> {
    if !txn.list_tables().db()?.any(|table| table.name() == name) {
        return Ok(0);
    }
    let staged = format!("{name}, layout 4");
    let staged = TableDefinition::<Encoded, Encoded>::new(&staged);
    DECLARED.set(Some(types));
    let rows = (|| {
        let old = txn.open_table(old_table(name)).db()?;
        let mut new = txn.open_table(staged).db()?;
        let (mut new_key, mut new_value) = (Vec::new(), Vec::new());
        let mut rows = 0;
        for row in old.iter().db()? {
            let (old_key, old_value) = row.db()?;
            new_key.clear();
            new_value.clear();
            key(old_key.value(), &mut new_key);
            value(old_value.value(), &mut new_value);
            new.insert(new_key.as_slice(), new_value.as_slice()).db()?;
            rows += 1;
        }
        drop(old);
        txn.delete_table(old_table(name)).db()?;
        StoreResult::Ok(rows)
    })();
    DECLARED.set(None);
    let rows = rows?;
    txn.rename_table(staged, TableDefinition::<Encoded, Encoded>::new(name))
        .db()?;
    Ok(rows)
}

/// The types of a table created as `K` → `V`.
fn types<K: redb::Key, V: redb::Value>() -> Types {
    Types {
        key: K::type_name(),
        key_width: K::fixed_width(),
        compare: K::compare,
        value: V::type_name(),
        value_width: V::fixed_width(),
    }
}

/// Every table of layouts 1 to 3 with the types it was created with, rewritten by
/// [`convert_table`]; gives the rows rewritten.
macro_rules! convert_tables {
    ($txn:expr, $($name:literal: $key:ty => $value:ty,)*) => {{
        let mut rows = 0;
        $(
            rows += convert_table(
                $txn,
                $name,
                types::<$key, $value>(),
                |old, out| <$key as Key>::encode(&<$key as redb::Value>::from_bytes(old), out),
                |old, out| {
                    let value = <$value as redb::Value>::from_bytes(old);
                    out.extend_from_slice(<$value as Value>::as_bytes(&value).as_ref());
                },
            )?;
        )*
        rows
    }};
}

/// Whether the database is of layout 3 or before: its `meta` table has redb's own types.
pub(crate) fn is_old(txn: &WriteTransaction) -> StoreResult<bool> {
    match txn.open_table(crate::tables::META.raw()) {
        Ok(_) => Ok(false),
        Err(redb::TableError::TableTypeMismatch { .. }) => Ok(true),
        Err(err) => Err(err).db(),
    }
}

/// Rewrites every table of a database of layout 3 or before in layout 4's encoding; gives
/// the rows rewritten. Its layout number is still the old one: the upgrades that follow
/// read it.
pub(crate) fn to_encoded(txn: &WriteTransaction) -> StoreResult<u64> {
    Ok(convert_tables!(txn,
        "meta": &str => u64,
        "domains": &str => (),
        "accounts": u64 => &[u8],
        "account_addresses": (&str, &str) => u64,
        "aliases": (&str, &str) => (),
        "mailboxes": u64 => &[u8],
        "mailbox_names": (u64, &str) => u64,
        "subscriptions": (u64, &str) => (),
        "messages": (u64, u32) => &[u8],
        "expunged": (u64, u32) => u64,
        "message_changes": (u64, u64, u32) => (),
        "vanished": (u64, u64, u32) => (),
        "blob_refs": &[u8; 32] => u64,
        "blob_data": &[u8; 32] => &[u8],
        "blob_summaries": &[u8; 32] => &[u8],
        "blob_search": &[u8; 32] => &[u8],
        "blob_headers": &[u8; 32] => &[u8],
        "search_index": (u64, u32, u16) => &[u8],
        "queue": u64 => &[u8],
        "queue_due": (i64, u64) => (),
        "dkim_keys": (&str, &str) => &[u8],
        "bans": &str => &[u8],
        "api_tokens": &[u8; 32] => &[u8],
        "audit": u64 => &[u8],
        "greylist": (&str, &str, &str) => i64,
        "correspondents": (u64, &str) => i64,
        "recent": u64 => u32,
        "sieve_scripts": (u64, &str) => &[u8],
        "vacation_replies": (u64, &str) => i64,
        "disposable_aliases": &str => &[u8],
        "vip_senders": (u64, &str) => (),
        "screener_accounts": u64 => (),
        "screened_senders": (u64, &str) => u8,
        "domain_retention": &str => i64,
        "webhooks": u64 => &[u8],
        "webhook_routes": &str => u64,
        "webhook_only": &str => (),
        "webhook_calls": u64 => &[u8],
        "webhook_due": (i64, u64) => (),
        "webhook_log": (u64, u64) => &[u8],
        "held": u64 => &[u8],
        "held_due": (i64, u64) => (),
        "undo_send": u64 => u32,
        "dav_collections": u64 => &[u8],
        "dav_collection_names": (u64, u8, &str) => u64,
        "dav_items": (u64, &str) => &[u8],
        "dav_data": (u64, &str) => &[u8],
        "dav_uids": (u64, &str) => &str,
        "dav_changes": (u64, u64) => &str,
        "dav_shares": (u64, u64) => u8,
        "dav_shared_with": (u64, u64) => u8,
    ))
}

#[cfg(test)]
mod tests;
