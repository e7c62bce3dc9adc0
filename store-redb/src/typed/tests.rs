use std::collections::BTreeMap;

use proptest::prelude::*;
use redb::Key as _;

use super::*;

fn encoded<K: Key>(key: &K::SelfType<'_>) -> Vec<u8> {
    key_bytes::<K>(key)
}

/// Keys of `K`, encoded, compare as the values they are made from (`$strategy`, borrowed by
/// `$borrow`) and read back as themselves.
macro_rules! orders_as_tuples {
    ($name:ident, $key:ty, $strategy:expr, |$owned:pat_param| $borrowed:expr) => {
        proptest! {
            #[test]
            fn $name(a in $strategy, b in $strategy) {
                let borrowed_a = { let $owned = &a; $borrowed };
                let borrowed_b = { let $owned = &b; $borrowed };
                let (left, right) = (encoded::<$key>(&borrowed_a), encoded::<$key>(&borrowed_b));
                prop_assert_eq!(Encoded::compare(&left, &right), a.cmp(&b));
                prop_assert_eq!(<$key as Key>::decode(&mut left.as_slice()), borrowed_a);
            }
        }
    };
}

fn text() -> impl Strategy<Value = String> {
    // Short strings from a small alphabet, so that prefixes, NULs and equal elements come up.
    proptest::string::string_regex("[a\\x00\\u{ff}é]{0,4}").unwrap()
}

orders_as_tuples!(
    an_id_and_a_name,
    (u64, &'static str),
    (any::<u64>(), text()),
    |(id, name)| (*id, name.as_str())
);
orders_as_tuples!(
    three_names,
    (&'static str, &'static str, &'static str),
    (text(), text(), text()),
    |(a, b, c)| (a.as_str(), b.as_str(), c.as_str())
);
orders_as_tuples!(
    a_mailbox_a_modseq_and_a_uid,
    (u64, u64, u32),
    (0..3u64, any::<u64>(), any::<u32>()),
    |key| *key
);
orders_as_tuples!(
    a_due_time_and_an_id,
    (i64, u64),
    (any::<i64>(), 0..3u64),
    |key| *key
);
orders_as_tuples!(
    a_collection_a_kind_and_a_name,
    (u64, u8, &'static str),
    (0..3u64, any::<u8>(), text()),
    |(id, kind, name)| (*id, *kind, name.as_str())
);
orders_as_tuples!(
    a_block_row,
    (u64, u32, u16),
    (0..3u64, any::<u32>(), any::<u16>()),
    |key| *key
);
orders_as_tuples!(a_body_id, &'static [u8; 32], any::<[u8; 32]>(), |id| id);

proptest! {
    #[test]
    fn values_read_back_as_written(number in any::<u64>(), signed in any::<i64>(), bytes in any::<Vec<u8>>()) {
        prop_assert_eq!(<u64 as Value>::decode(&<u64 as Value>::as_bytes(&number)), number);
        prop_assert_eq!(<i64 as Value>::decode(&<i64 as Value>::as_bytes(&signed)), signed);
        let small = number as u32;
        prop_assert_eq!(<u32 as Value>::decode(&<u32 as Value>::as_bytes(&small)), small);
        prop_assert_eq!(<&[u8] as Value>::decode(&bytes), bytes.as_slice());
    }

    /// Any bytes at all, a damaged key included, compare without a panic, in an order
    /// that is the same both ways, and read as some key.
    #[test]
    fn any_bytes_compare_and_read(a in any::<Vec<u8>>(), b in any::<Vec<u8>>()) {
        prop_assert_eq!(Encoded::compare(&a, &b), Encoded::compare(&b, &a).reverse());
        prop_assert_eq!(Encoded::compare(&a, &a), Ordering::Equal);
        let _ = <(u64, &str, u32) as Key>::decode(&mut a.as_slice());
        let _ = <&[u8; 32] as Key>::decode(&mut a.as_slice());
        let _ = <i64 as Value>::decode(&a);
        let _ = <&str as Value>::decode(&a);
    }

    /// A table gives its rows in key order, and a range the rows of the tuples in it, as a
    /// `BTreeMap` of the same tuples does.
    #[test]
    fn a_table_ranges_as_a_sorted_map(
        rows in proptest::collection::vec(((0..4u64, text()), any::<i64>()), 0..40),
        account in 0..4u64,
    ) {
        const TABLE: Def<(u64, &str), i64> = Def::new("table");
        let file = tempfile::NamedTempFile::new().unwrap();
        let db = redb::Database::create(file.path()).unwrap();
        let txn = db.begin_write().unwrap();
        let mut table = txn.open(TABLE).unwrap();
        let mut model = BTreeMap::new();
        for ((id, name), value) in &rows {
            table.insert((*id, name.as_str()), *value).unwrap();
            model.insert((*id, name.clone()), *value);
        }
        fn read<'a>(
            rows: impl Iterator<Item = Row<'a, (u64, &'static str), i64>>,
        ) -> Vec<((u64, String), i64)> {
            rows.map(|row| {
                    let (key, value) = row.unwrap();
                    let (id, name) = key.value();
                    ((id, name.to_owned()), value.value())
                })
                .collect()
        }
        let all: Vec<_> = model.clone().into_iter().collect();
        prop_assert_eq!(read(table.iter().unwrap()), all.clone());
        let mut backwards = all.clone();
        backwards.reverse();
        prop_assert_eq!(read(table.iter().unwrap().rev()), backwards);
        let of_account: Vec<_> = model
            .range((account, String::new())..(account + 1, String::new()))
            .map(|(key, value)| (key.clone(), *value))
            .collect();
        prop_assert_eq!(
            read(table.range((account, "")..(account + 1, "")).unwrap()),
            of_account
        );
        // Removing what a predicate picks leaves what the map keeps.
        let removed = table
            .extract_from_if((account, "")..(account + 1, ""), |_, value| value < 0)
            .unwrap()
            .count();
        let before = model.len();
        model.retain(|(id, _), value| *id != account || *value >= 0);
        prop_assert_eq!(removed, before - model.len());
        table.retain_in((0, "")..=(u64::MAX, "\u{10ffff}"), |(id, _), _| id != 3).unwrap();
        model.retain(|(id, _), _| *id != 3);
        prop_assert_eq!(read(table.iter().unwrap()), model.into_iter().collect::<Vec<_>>());
    }
}
