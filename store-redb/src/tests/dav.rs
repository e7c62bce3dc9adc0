//! Calendars and address books: collections per account and kind, items written only when
//! what the client expected holds, one UID per collection, tombstones and the change
//! history sync-collection reads, and removal with the collection or the account.

use engine::store::dav::{
    CollectionKind, Expect, ItemIndex, ItemRefusal, ItemWrite, NewCollection, PutItem,
};

use super::*;

fn calendar(store: &RedbStore, account: &Account, name: &str) -> engine::store::dav::Collection {
    store
        .create_collection(NewCollection {
            account: account.id,
            kind: CollectionKind::Calendar,
            name: name.into(),
            created: 1_800_000_000,
            properties: vec![("{DAV:}displayname".into(), "Work".into())],
        })
        .unwrap()
}

fn put(collection: u64, name: &str, uid: &str, body: &str, expect: Expect) -> PutItem {
    PutItem {
        collection,
        name: name.into(),
        data: body.as_bytes().to_vec(),
        etag: format!("\"{body}\""),
        modified: 1_800_000_100,
        index: ItemIndex {
            uid: uid.into(),
            component: "VEVENT".into(),
            start: Some(10),
            end: Some(20),
        },
        expect,
    }
}

fn stored(write: ItemWrite) -> (engine::store::dav::Item, bool) {
    match write {
        ItemWrite::Stored { item, created } => (item, created),
        ItemWrite::Refused(refusal) => panic!("refused: {refusal:?}"),
    }
}

#[test]
fn collections_are_per_account_and_kind() {
    let (_dir, store, ann, bob) = store_with_accounts();
    let work = calendar(&store, &ann, "work");
    assert!(matches!(
        store.create_collection(NewCollection {
            account: ann.id,
            kind: CollectionKind::Calendar,
            name: "work".into(),
            created: 0,
            properties: vec![],
        }),
        Err(StoreError::AlreadyExists(_))
    ));
    let book = store
        .create_collection(NewCollection {
            account: ann.id,
            kind: CollectionKind::AddressBook,
            name: "work".into(),
            created: 0,
            properties: vec![],
        })
        .unwrap();
    assert_ne!(work.id, book.id);
    calendar(&store, &bob, "work");
    let anns = store.collections(ann.id, CollectionKind::Calendar).unwrap();
    assert_eq!(anns, std::slice::from_ref(&work));
    assert_eq!(anns[0].property("{DAV:}displayname"), Some("Work"));
    store
        .set_collection_properties(
            work.id,
            vec![
                ("{DAV:}displayname".into(), None),
                ("{urn:x}color".into(), Some("#fff".into())),
            ],
        )
        .unwrap();
    let work = store
        .collection(ann.id, CollectionKind::Calendar, "work")
        .unwrap()
        .unwrap();
    assert_eq!(
        work.properties,
        [("{urn:x}color".to_string(), "#fff".to_string())]
    );
}

#[test]
fn items_follow_preconditions_and_keep_a_history() {
    let (_dir, store, ann, _) = store_with_accounts();
    let cal = calendar(&store, &ann, "work").id;
    let (a, created) = stored(
        store
            .put_item(put(cal, "a.ics", "u-a", "A1", Expect::Absent))
            .unwrap(),
    );
    assert!(created && a.revision == 1);
    // If-None-Match: * on an existing item, or a stale If-Match, is refused.
    for expect in [Expect::Absent, Expect::Etag(vec!["\"old\"".into()])] {
        assert_eq!(
            store
                .put_item(put(cal, "a.ics", "u-a", "A2", expect))
                .unwrap(),
            ItemWrite::Refused(ItemRefusal::Precondition)
        );
    }
    let (a, created) = stored(
        store
            .put_item(put(cal, "a.ics", "u-a", "A2", Expect::Etag(vec![a.etag])))
            .unwrap(),
    );
    assert!(!created && a.revision == 2);
    // One UID per collection.
    assert_eq!(
        store
            .put_item(put(cal, "b.ics", "u-a", "B1", Expect::Any))
            .unwrap(),
        ItemWrite::Refused(ItemRefusal::UidInUse("a.ics".into()))
    );
    stored(
        store
            .put_item(put(cal, "b.ics", "u-b", "B1", Expect::Any))
            .unwrap(),
    );
    assert_eq!(store.item_data(cal, "a.ics").unwrap().unwrap(), b"A2");
    assert_eq!(store.items(cal).unwrap().len(), 2);

    let (gone, _) = stored(store.delete_item(cal, "a.ics", Expect::Any).unwrap());
    assert!(gone.deleted && gone.revision == 4);
    assert_eq!(
        store.delete_item(cal, "a.ics", Expect::Any).unwrap(),
        ItemWrite::Refused(ItemRefusal::NotFound)
    );
    assert!(store.item(cal, "a.ics").unwrap().is_none());
    assert!(store.item_data(cal, "a.ics").unwrap().is_none());
    // The UID is free again.
    stored(
        store
            .put_item(put(cal, "c.ics", "u-a", "C1", Expect::Any))
            .unwrap(),
    );

    let changes = store.item_changes(cal, 0, 100).unwrap();
    let names: Vec<_> = changes
        .iter()
        .map(|i| (i.name.as_str(), i.deleted))
        .collect();
    assert_eq!(names, [("b.ics", false), ("a.ics", true), ("c.ics", false)]);
    let since = store.item_changes(cal, 4, 100).unwrap();
    assert_eq!(since.len(), 1);
    assert_eq!(store.item_changes(cal, 0, 2).unwrap().len(), 2);
    let collection = store
        .collection(ann.id, CollectionKind::Calendar, "work")
        .unwrap()
        .unwrap();
    assert_eq!(collection.revision, 5);
}

#[test]
fn removing_a_collection_or_account_removes_its_items() {
    let (dir, store, ann, bob) = store_with_accounts();
    let cal = calendar(&store, &ann, "work").id;
    stored(
        store
            .put_item(put(cal, "a.ics", "u-a", "A1", Expect::Any))
            .unwrap(),
    );
    store.delete_collection(cal).unwrap();
    assert!(store.items(cal).unwrap().is_empty());
    assert_eq!(
        store
            .put_item(put(cal, "a.ics", "u-a", "A1", Expect::Any))
            .unwrap(),
        ItemWrite::Refused(ItemRefusal::NoCollection)
    );
    let cal = calendar(&store, &bob, "home").id;
    stored(
        store
            .put_item(put(cal, "a.ics", "u-a", "A1", Expect::Any))
            .unwrap(),
    );
    store.remove_account("bob@example.org").unwrap();
    assert!(store.items(cal).unwrap().is_empty());
    drop(store);
    // Everything kept survives reopening.
    let store = RedbStore::open(dir.path()).unwrap();
    assert!(
        store
            .collections(ann.id, CollectionKind::Calendar)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn items_count_towards_the_quota() {
    let (_dir, store) = open_store();
    store.add_domain("example.org").unwrap();
    let mut new = new_account("ann@example.org");
    new.quota = Some(10);
    let ann = store.create_account(new).unwrap();
    let cal = calendar(&store, &ann, "work").id;
    let used = |store: &RedbStore| store.account("ann@example.org").unwrap().unwrap().used;
    stored(
        store
            .put_item(put(cal, "a.ics", "u-a", "123456", Expect::Any))
            .unwrap(),
    );
    assert_eq!(used(&store), 6);
    assert_eq!(
        store
            .put_item(put(cal, "b.ics", "u-b", "12345", Expect::Any))
            .unwrap(),
        ItemWrite::Refused(ItemRefusal::OverQuota)
    );
    // Replacing an item charges only the difference; shrinking gives room back.
    stored(
        store
            .put_item(put(cal, "a.ics", "u-a", "1234567890", Expect::Any))
            .unwrap(),
    );
    assert_eq!(used(&store), 10);
    stored(
        store
            .put_item(put(cal, "a.ics", "u-a", "12", Expect::Any))
            .unwrap(),
    );
    assert_eq!(used(&store), 2);
    stored(
        store
            .put_item(put(cal, "b.ics", "u-b", "12345", Expect::Any))
            .unwrap(),
    );
    assert_eq!(used(&store), 7);
    stored(store.delete_item(cal, "a.ics", Expect::Any).unwrap());
    assert_eq!(used(&store), 5);
    store.delete_collection(cal).unwrap();
    assert_eq!(used(&store), 0);
}

#[test]
fn shares_go_with_their_collection_and_their_sharee() {
    use engine::store::dav::Access;
    let (_dir, store, ann, bob) = store_with_accounts();
    let work = calendar(&store, &ann, "work").id;
    let home = calendar(&store, &ann, "home").id;
    store.set_share(work, bob.id, Some(Access::Read)).unwrap();
    store
        .set_share(home, bob.id, Some(Access::ReadWrite))
        .unwrap();
    assert_eq!(store.shares_of(work).unwrap(), [(bob.id, Access::Read)]);
    let shared: Vec<_> = store
        .shared_with(bob.id, CollectionKind::Calendar)
        .unwrap()
        .into_iter()
        .map(|(c, access)| (c.name, access))
        .collect();
    assert_eq!(
        shared,
        [
            ("work".to_string(), Access::Read),
            ("home".to_string(), Access::ReadWrite)
        ]
    );
    assert!(
        store
            .shared_with(bob.id, CollectionKind::AddressBook)
            .unwrap()
            .is_empty()
    );
    // Not with oneself.
    assert!(store.set_share(work, ann.id, Some(Access::Read)).is_err());
    store.set_share(work, bob.id, None).unwrap();
    assert!(store.shares_of(work).unwrap().is_empty());
    store.delete_collection(home).unwrap();
    assert!(
        store
            .shared_with(bob.id, CollectionKind::Calendar)
            .unwrap()
            .is_empty()
    );
    store.set_share(work, bob.id, Some(Access::Read)).unwrap();
    store.remove_account("bob@example.org").unwrap();
    assert!(store.shares_of(work).unwrap().is_empty());
}

#[test]
fn tombstones_are_compacted_and_the_floor_rises() {
    use crate::dav::MAX_TOMBSTONES;
    let (_dir, store, ann, _) = store_with_accounts();
    let cal = calendar(&store, &ann, "work").id;
    stored(
        store
            .put_item(put(cal, "keep.ics", "keep", "K", Expect::Any))
            .unwrap(),
    );
    for i in 0..=MAX_TOMBSTONES {
        let name = format!("{i}.ics");
        stored(
            store
                .put_item(put(cal, &name, &name, "x", Expect::Any))
                .unwrap(),
        );
        stored(store.delete_item(cal, &name, Expect::Any).unwrap());
    }
    let collection = store
        .collection(ann.id, CollectionKind::Calendar, "work")
        .unwrap()
        .unwrap();
    assert_eq!(
        collection.tombstones,
        MAX_TOMBSTONES + 1 - MAX_TOMBSTONES / 2
    );
    // The oldest tombstones are gone, the newest kept, the live item untouched.
    let changes = store.item_changes(cal, 0, usize::MAX).unwrap();
    assert_eq!(changes.len() as u64, 1 + collection.tombstones);
    assert!(changes.iter().all(|item| item.name != "0.ics"));
    assert!(
        changes
            .iter()
            .any(|item| item.name == format!("{MAX_TOMBSTONES}.ics"))
    );
    assert!(collection.floor > 1 && collection.floor < collection.revision);
    // Making an item again where a tombstone is counts it off.
    let last = format!("{MAX_TOMBSTONES}.ics");
    stored(
        store
            .put_item(put(cal, &last, &last, "y", Expect::Any))
            .unwrap(),
    );
    let after = store
        .collection(ann.id, CollectionKind::Calendar, "work")
        .unwrap()
        .unwrap();
    assert_eq!(after.tombstones, collection.tombstones - 1);
}
