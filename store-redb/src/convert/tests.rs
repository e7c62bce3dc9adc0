//! Layout 3 as its tables were declared, written here with redb's own types and read back
//! after the conversion with Postern's.

use redb::{ReadableDatabase, ReadableTable as _, TableDefinition};

use super::*;
use crate::typed::{Def, Open, ReadableTable as _};

/// A table's rows, each as its key and value print.
macro_rules! rows {
    ($table:expr) => {
        $table
            .iter()
            .unwrap()
            .map(|row| {
                let (key, value) = row.unwrap();
                format!("{:?} => {:?}", key.value(), value.value())
            })
            .collect::<Vec<String>>()
    };
}

/// Writes the rows of each table with its layout-3 types, converts, and checks that each
/// table gives the same rows, in the same order, read with its layout-4 types.
macro_rules! round_trip {
    ($db:expr, $($name:literal: $key:ty => $value:ty = [$(($k:expr, $v:expr)),* $(,)?],)*) => {{
        let txn = $db.begin_write().unwrap();
        let mut written = Vec::new();
        $({
            let mut table = txn.open_table(TableDefinition::<$key, $value>::new($name)).unwrap();
            $(table.insert($k, $v).unwrap();)*
            let rows = rows!(table);
            written.push(($name, rows));
        })*
        txn.commit().unwrap();

        let txn = $db.begin_write().unwrap();
        assert!(is_old(&txn).unwrap());
        let rewritten = to_encoded(&txn).unwrap();
        assert!(!is_old(&txn).unwrap());
        txn.commit().unwrap();
        assert_eq!(
            rewritten,
            written.iter().map(|(_, rows)| rows.len() as u64).sum::<u64>()
        );

        let txn = $db.begin_read().unwrap();
        let mut read = Vec::new();
        $({
            let table = txn.open(Def::<$key, $value>::new($name)).unwrap();
            let rows = rows!(table);
            read.push(($name, rows));
        })*
        (written, read)
    }};
}

#[test]
fn every_table_of_layout_3_reads_the_same_in_layout_4() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let db = redb::Database::create(file.path()).unwrap();
    let (written, read) = round_trip!(db,
        "meta": &str => u64 = [("", 7), ("a", 0), ("a\0b", u64::MAX), ("ab", 7), ("é", 0)],
        "domains": &str => () = [("", ()), ("a", ()), ("a\0b", ()), ("ab", ()), ("é", ())],
        "accounts": u64 => &[u8] = [(0, b"record".as_slice()), (1, b"".as_slice()), (256, b"\0\xff".as_slice()), (u64::MAX, b"record".as_slice())],
        "account_addresses": (&str, &str) => u64 = [(("a", "b"), 7), (("a", ""), 0), (("", "z"), u64::MAX), (("a\0", "a"), 7)],
        "aliases": (&str, &str) => () = [(("a", "b"), ()), (("a", ""), ()), (("", "z"), ()), (("a\0", "a"), ())],
        "mailboxes": u64 => &[u8] = [(0, b"record".as_slice()), (1, b"".as_slice()), (256, b"\0\xff".as_slice()), (u64::MAX, b"record".as_slice())],
        "mailbox_names": (u64, &str) => u64 = [((1, "b"), 7), ((1, ""), 0), ((0, "z"), u64::MAX), ((u64::MAX, "a"), 7)],
        "subscriptions": (u64, &str) => () = [((1, "b"), ()), ((1, ""), ()), ((0, "z"), ()), ((u64::MAX, "a"), ())],
        "messages": (u64, u32) => &[u8] = [((1, 2), b"record".as_slice()), ((1, 0), b"".as_slice()), ((0, u32::MAX), b"\0\xff".as_slice()), ((2, 1), b"record".as_slice())],
        "expunged": (u64, u32) => u64 = [((1, 2), 7), ((1, 0), 0), ((0, u32::MAX), u64::MAX), ((2, 1), 7)],
        "message_changes": (u64, u64, u32) => () = [((1, 5, 2), ()), ((1, 5, 1), ()), ((0, 9, 9), ()), ((1, 0, 3), ())],
        "vanished": (u64, u64, u32) => () = [((1, 5, 2), ()), ((1, 5, 1), ()), ((0, 9, 9), ()), ((1, 0, 3), ())],
        "blob_refs": &[u8; 32] => u64 = [(&[0; 32], 7), (&[255; 32], 0), (&[1; 32], u64::MAX)],
        "blob_data": &[u8; 32] => &[u8] = [(&[0; 32], b"record".as_slice()), (&[255; 32], b"".as_slice()), (&[1; 32], b"\0\xff".as_slice())],
        "blob_summaries": &[u8; 32] => &[u8] = [(&[0; 32], b"record".as_slice()), (&[255; 32], b"".as_slice()), (&[1; 32], b"\0\xff".as_slice())],
        "blob_search": &[u8; 32] => &[u8] = [(&[0; 32], b"record".as_slice()), (&[255; 32], b"".as_slice()), (&[1; 32], b"\0\xff".as_slice())],
        "blob_headers": &[u8; 32] => &[u8] = [(&[0; 32], b"record".as_slice()), (&[255; 32], b"".as_slice()), (&[1; 32], b"\0\xff".as_slice())],
        "search_index": (u64, u32, u16) => &[u8] = [((1, 2, 3), b"record".as_slice()), ((1, 2, 0), b"".as_slice()), ((0, 5, 5), b"\0\xff".as_slice())],
        "queue": u64 => &[u8] = [(0, b"record".as_slice()), (1, b"".as_slice()), (256, b"\0\xff".as_slice()), (u64::MAX, b"record".as_slice())],
        "queue_due": (i64, u64) => () = [((-5, 1), ()), ((0, 0), ()), ((i64::MAX, 2), ()), ((i64::MIN, 3), ())],
        "dkim_keys": (&str, &str) => &[u8] = [(("a", "b"), b"record".as_slice()), (("a", ""), b"".as_slice()), (("", "z"), b"\0\xff".as_slice()), (("a\0", "a"), b"record".as_slice())],
        "bans": &str => &[u8] = [("", b"record".as_slice()), ("a", b"".as_slice()), ("a\0b", b"\0\xff".as_slice()), ("ab", b"record".as_slice()), ("é", b"".as_slice())],
        "api_tokens": &[u8; 32] => &[u8] = [(&[0; 32], b"record".as_slice()), (&[255; 32], b"".as_slice()), (&[1; 32], b"\0\xff".as_slice())],
        "audit": u64 => &[u8] = [(0, b"record".as_slice()), (1, b"".as_slice()), (256, b"\0\xff".as_slice()), (u64::MAX, b"record".as_slice())],
        "greylist": (&str, &str, &str) => i64 = [(("a", "b", "c"), -1), (("a", "", "z"), 5), (("", "b", "b"), i64::MIN)],
        "correspondents": (u64, &str) => i64 = [((1, "b"), -1), ((1, ""), 5), ((0, "z"), i64::MIN), ((u64::MAX, "a"), -1)],
        "recent": u64 => u32 = [(0, 9), (1, u32::MAX), (256, 9), (u64::MAX, u32::MAX)],
        "sieve_scripts": (u64, &str) => &[u8] = [((1, "b"), b"record".as_slice()), ((1, ""), b"".as_slice()), ((0, "z"), b"\0\xff".as_slice()), ((u64::MAX, "a"), b"record".as_slice())],
        "vacation_replies": (u64, &str) => i64 = [((1, "b"), -1), ((1, ""), 5), ((0, "z"), i64::MIN), ((u64::MAX, "a"), -1)],
        "disposable_aliases": &str => &[u8] = [("", b"record".as_slice()), ("a", b"".as_slice()), ("a\0b", b"\0\xff".as_slice()), ("ab", b"record".as_slice()), ("é", b"".as_slice())],
        "vip_senders": (u64, &str) => () = [((1, "b"), ()), ((1, ""), ()), ((0, "z"), ()), ((u64::MAX, "a"), ())],
        "screener_accounts": u64 => () = [(0, ()), (1, ()), (256, ()), (u64::MAX, ())],
        "screened_senders": (u64, &str) => u8 = [((1, "b"), 1), ((1, ""), 0), ((0, "z"), 1), ((u64::MAX, "a"), 0)],
        "domain_retention": &str => i64 = [("", -1), ("a", 5), ("a\0b", i64::MIN), ("ab", -1), ("é", 5)],
        "webhooks": u64 => &[u8] = [(0, b"record".as_slice()), (1, b"".as_slice()), (256, b"\0\xff".as_slice()), (u64::MAX, b"record".as_slice())],
        "webhook_routes": &str => u64 = [("", 7), ("a", 0), ("a\0b", u64::MAX), ("ab", 7), ("é", 0)],
        "webhook_only": &str => () = [("", ()), ("a", ()), ("a\0b", ()), ("ab", ()), ("é", ())],
        "webhook_calls": u64 => &[u8] = [(0, b"record".as_slice()), (1, b"".as_slice()), (256, b"\0\xff".as_slice()), (u64::MAX, b"record".as_slice())],
        "webhook_due": (i64, u64) => () = [((-5, 1), ()), ((0, 0), ()), ((i64::MAX, 2), ()), ((i64::MIN, 3), ())],
        "webhook_log": (u64, u64) => &[u8] = [((1, 2), b"record".as_slice()), ((0, 9), b"".as_slice()), ((1, 0), b"\0\xff".as_slice())],
        "held": u64 => &[u8] = [(0, b"record".as_slice()), (1, b"".as_slice()), (256, b"\0\xff".as_slice()), (u64::MAX, b"record".as_slice())],
        "held_due": (i64, u64) => () = [((-5, 1), ()), ((0, 0), ()), ((i64::MAX, 2), ()), ((i64::MIN, 3), ())],
        "undo_send": u64 => u32 = [(0, 9), (1, u32::MAX), (256, 9), (u64::MAX, u32::MAX)],
        "dav_collections": u64 => &[u8] = [(0, b"record".as_slice()), (1, b"".as_slice()), (256, b"\0\xff".as_slice()), (u64::MAX, b"record".as_slice())],
        "dav_collection_names": (u64, u8, &str) => u64 = [((1, 2, "x"), 7), ((1, 0, "y"), 0), ((0, 9, ""), u64::MAX)],
        "dav_items": (u64, &str) => &[u8] = [((1, "b"), b"record".as_slice()), ((1, ""), b"".as_slice()), ((0, "z"), b"\0\xff".as_slice()), ((u64::MAX, "a"), b"record".as_slice())],
        "dav_data": (u64, &str) => &[u8] = [((1, "b"), b"record".as_slice()), ((1, ""), b"".as_slice()), ((0, "z"), b"\0\xff".as_slice()), ((u64::MAX, "a"), b"record".as_slice())],
        "dav_uids": (u64, &str) => &str = [((1, "b"), "x"), ((1, ""), ""), ((0, "z"), "x"), ((u64::MAX, "a"), "")],
        "dav_changes": (u64, u64) => &str = [((1, 2), "x"), ((0, 9), ""), ((1, 0), "x")],
        "dav_shares": (u64, u64) => u8 = [((1, 2), 1), ((0, 9), 0), ((1, 0), 1)],
        "dav_shared_with": (u64, u64) => u8 = [((1, 2), 1), ((0, 9), 0), ((1, 0), 1)],
    );
    assert_eq!(read, written);
    // Nothing of the old tables is left beside them.
    let txn = db.begin_read().unwrap();
    assert_eq!(txn.list_tables().unwrap().count(), written.len());
}

#[test]
fn tables_a_database_never_had_are_left_out() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let db = redb::Database::create(file.path()).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(TableDefinition::<&str, u64>::new("meta"))
        .unwrap()
        .insert("schema_version", 3)
        .unwrap();
    txn.commit().unwrap();
    let txn = db.begin_write().unwrap();
    assert_eq!(to_encoded(&txn).unwrap(), 1);
    txn.commit().unwrap();
    let txn = db.begin_read().unwrap();
    let names: Vec<String> = txn
        .list_tables()
        .unwrap()
        .map(|table| table.name().to_owned())
        .collect();
    assert_eq!(names, ["meta"]);
    let meta = txn.open(crate::tables::META).unwrap();
    assert_eq!(meta.get("schema_version").unwrap().unwrap().value(), 3);
}
