//! Tests of the [`Store`] implementation through its public interface, peeking at the tables
//! where the interface cannot tell (reference counts, where bodies live).

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::sync::Arc;
use std::thread;

use engine::store::{
    Account, AccountChange, Alias, BlobId, DEFAULT_MAILBOXES, Delivery, DisposableAlias,
    FLAG_FLAGGED, FLAG_SEEN, Mailbox, NewAccount, Spool, Store, StoreError, Stored, Verdict,
};
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use super::*;
use crate::tables::{BLOB_DATA, BLOB_REFS};
use crate::typed::{Open, ReadableTable};

fn open_store() -> (TempDir, RedbStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    (dir, store)
}

/// A store with the domain `example.org` and the accounts `ann` and `bob` in it.
fn store_with_accounts() -> (TempDir, RedbStore, Account, Account) {
    let (dir, store) = open_store();
    store.add_domain("example.org").unwrap();
    let ann = store
        .create_account(new_account("ann@example.org"))
        .unwrap();
    let bob = store
        .create_account(new_account("bob@example.org"))
        .unwrap();
    (dir, store, ann, bob)
}

/// The store in `dir`, with the domain `example.org` and the account `ann` added to it.
fn store_with_ann(dir: &TempDir) -> (RedbStore, Account) {
    let store = RedbStore::open(dir.path()).unwrap();
    store.add_domain("example.org").unwrap();
    let ann = store
        .create_account(new_account("ann@example.org"))
        .unwrap();
    (store, ann)
}

fn new_account(email: &str) -> NewAccount {
    NewAccount {
        email: email.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        quota: None,
        admin: false,
    }
}

fn to(account: &Account, mailbox: &str) -> Delivery {
    Delivery {
        account: account.id,
        mailbox: mailbox.into(),
        flags: 0,
        keywords: Vec::new(),
        internal_date: 1_700_000_000,
    }
}

fn spool(store: &RedbStore, body: &[u8]) -> RedbSpool {
    let mut spool = store.create_spool().unwrap();
    spool.write_all(body).unwrap();
    spool
}

/// Delivers `body`; `OverQuota` when an account had no room (the others got their copies).
fn deliver(store: &RedbStore, body: &[u8], deliveries: &[Delivery]) -> StoreResult<Vec<Delivered>> {
    store
        .deliver(spool(store, body), deliveries)
        .and_then(Stored::all_or_over_quota)
        .map(|stored| stored.delivered)
}

fn read_body(store: &RedbStore, id: &BlobId) -> Vec<u8> {
    let mut body = Vec::new();
    store.read_blob(id).unwrap().read_to_end(&mut body).unwrap();
    body
}

fn blob_id(body: &[u8]) -> BlobId {
    BlobId(Sha256::digest(body).into())
}

fn mailbox(store: &RedbStore, account: &Account, name: &str) -> Mailbox {
    store
        .mailboxes(account.id)
        .unwrap()
        .into_iter()
        .find(|mailbox| mailbox.name == name)
        .unwrap()
}

/// The reference count of a body, 0 if it is not stored.
fn refs(store: &RedbStore, id: &BlobId) -> u64 {
    store
        .read(|txn| {
            let table = txn.open(BLOB_REFS).unwrap();
            Ok(table.get(&id.0).unwrap().map_or(0, |v| v.value()))
        })
        .unwrap()
}

/// Whether a body is a row of `blob_data` (rather than a file).
fn stored_inline(store: &RedbStore, id: &BlobId) -> bool {
    store
        .read(|txn| {
            let table = txn.open(BLOB_DATA).unwrap();
            Ok(table.get(&id.0).unwrap().is_some())
        })
        .unwrap()
}

fn blob_file(dir: &TempDir, id: &BlobId) -> std::path::PathBuf {
    let hex = id.to_string();
    dir.path().join("blobs").join(&hex[..2]).join(&hex[2..])
}

fn spool_files(dir: &TempDir) -> usize {
    fs::read_dir(dir.path().join("spool")).unwrap().count()
}

#[test]
fn a_data_directory_is_known_by_its_database() {
    let dir = tempfile::tempdir().unwrap();
    assert!(!RedbStore::holds_data(dir.path()));
    assert!(!RedbStore::holds_data(&dir.path().join("nowhere")));
    drop(RedbStore::open(dir.path()).unwrap());
    assert!(RedbStore::holds_data(dir.path()));
}

/// A table's name and its rows as stored.
type StoredTable = (String, Vec<(Vec<u8>, Vec<u8>)>);

/// Every table a transaction sees, by name.
fn table_rows(txn: &redb::ReadTransaction) -> Vec<StoredTable> {
    use redb::{ReadableTable as _, TableHandle};
    let mut tables: Vec<_> = txn
        .list_tables()
        .unwrap()
        .map(|table| {
            let name = table.name().to_owned();
            let raw = redb::TableDefinition::<typed::Encoded, typed::Encoded>::new(&name);
            let rows = txn
                .open_table(raw)
                .unwrap()
                .iter()
                .unwrap()
                .map(|row| {
                    let (key, value) = row.unwrap();
                    (key.value().to_vec(), value.value().to_vec())
                })
                .collect();
            (name, rows)
        })
        .collect();
    tables.sort();
    tables
}

#[test]
fn a_backup_holds_everything_and_restores_into_an_empty_directory() {
    let (dir, store, ann, _) = store_with_accounts();
    let small = b"Subject: small\r\n\r\nhi\r\n".to_vec();
    let large = vec![b'L'; SMALL_BLOB_MAX + 1];
    deliver(&store, &small, &[to(&ann, "INBOX")]).unwrap();
    deliver(&store, &large, &[to(&ann, "Archive")]).unwrap();
    store.put_sieve_script(ann.id, "main", "keep;").unwrap();
    let backups = tempfile::tempdir().unwrap();
    let dest = backups.path().join("backup");
    let report = store.backup(&dest).unwrap();
    assert_eq!(
        (report.bodies, report.bytes),
        (2, (small.len() + large.len()) as u64)
    );
    assert!(report.rows > 10, "{report:?}");
    // Every row of every table of the store is in the copy.
    let copy = redb::Database::open(dest.join(DATABASE_FILE)).unwrap();
    let copy_tables = table_rows(&redb::ReadableDatabase::begin_read(&copy).unwrap());
    assert_eq!(copy_tables, store.read(|txn| Ok(table_rows(txn))).unwrap());
    drop(copy);
    // Not over a backup, nor into a store.
    assert!(
        store
            .backup(&dest)
            .unwrap_err()
            .to_string()
            .contains("not empty")
    );
    assert!(
        RedbStore::restore(&dest, dir.path())
            .unwrap_err()
            .to_string()
            .contains("holds a store")
    );

    let restored = backups.path().join("restored");
    assert_eq!(RedbStore::restore(&dest, &restored).unwrap().bodies, 2);
    let copy = RedbStore::open(&restored).unwrap();
    let ann_copy = copy.account("ann@example.org").unwrap().unwrap();
    let archive = mailbox(&copy, &ann_copy, "Archive");
    let message = &copy.messages(archive.id).unwrap()[0];
    assert_eq!(read_body(&copy, &message.blob), large);
    assert_eq!(copy.sieve_scripts(ann_copy.id).unwrap()[0].source, "keep;");
    // A damaged body file is found.
    let file = restored
        .join("blobs")
        .join(&blob_id(&large).to_string()[..2])
        .join(&blob_id(&large).to_string()[2..]);
    drop(copy);
    std::fs::write(&file, b"damaged").unwrap();
    let again = backups.path().join("again");
    let err = RedbStore::restore(&restored, &again)
        .unwrap_err()
        .to_string();
    assert!(err.contains("damaged"), "{err}");
}

#[test]
fn domains() {
    let (_dir, store) = open_store();
    assert_eq!(store.domains().unwrap(), Vec::<String>::new());
    store.add_domain("example.org").unwrap();
    store.add_domain("Example.COM").unwrap();
    assert!(matches!(
        store.add_domain("example.org"),
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(store.domains().unwrap(), ["example.com", "example.org"]);
    assert!(store.domain_exists("example.org").unwrap());
    assert!(store.domain_exists("EXAMPLE.ORG").unwrap());
    assert!(!store.domain_exists("example.net").unwrap());

    assert!(matches!(
        store.remove_domain("example.net"),
        Err(StoreError::NotFound(_))
    ));
    store.remove_domain("example.com").unwrap();
    assert_eq!(store.domains().unwrap(), ["example.org"]);
}

#[test]
fn domains_in_use_cannot_be_removed() {
    let (_dir, store) = open_store();
    store.add_domain("example.org").unwrap();
    store
        .create_account(new_account("ann@example.org"))
        .unwrap();
    let err = store.remove_domain("example.org").unwrap_err();
    assert!(matches!(err, StoreError::InUse(_)), "{err:?}");
    assert!(err.to_string().contains("1 account"), "{err}");

    store.remove_account("ann@example.org").unwrap();
    let catch_all = Alias {
        source: "@example.org".into(),
        target: "ann@example.net".into(),
    };
    store.add_alias(&catch_all).unwrap();
    assert!(matches!(
        store.remove_domain("example.org"),
        Err(StoreError::InUse(_))
    ));
    store.remove_alias(&catch_all).unwrap();
    store.remove_domain("example.org").unwrap();
    assert!(store.domains().unwrap().is_empty());
}

#[test]
fn accounts_get_their_default_mailboxes() {
    let (_dir, store) = open_store();
    store.add_domain("example.org").unwrap();
    let account = store
        .create_account(new_account("Ann@Example.org"))
        .unwrap();
    assert_eq!(account.email, "ann@example.org");
    assert_eq!(
        (account.used, account.disabled, account.quota),
        (0, false, None)
    );

    let mailboxes = store.mailboxes(account.id).unwrap();
    let names: Vec<_> = mailboxes
        .iter()
        .map(|m| (m.name.as_str(), m.special_use))
        .collect();
    assert_eq!(names, DEFAULT_MAILBOXES);
    let validities: BTreeSet<_> = mailboxes.iter().map(|m| m.uid_validity).collect();
    assert_eq!(validities.len(), mailboxes.len());
    for mailbox in &mailboxes {
        assert_eq!(mailbox.account, account.id);
        assert_eq!(mailbox.uid_next, 1);
        assert_ne!(mailbox.uid_validity, 0);
        assert!(store.messages(mailbox.id).unwrap().is_empty());
    }
    // The default mailboxes start subscribed.
    let mut names: Vec<_> = DEFAULT_MAILBOXES.map(|(name, _)| name).into();
    names.sort_unstable();
    assert_eq!(store.subscriptions(account.id).unwrap(), names);
}

#[test]
fn accounts() {
    let (_dir, store) = open_store();
    assert!(matches!(
        store.create_account(new_account("ann@example.org")),
        Err(StoreError::NoSuchDomain(domain)) if domain == "example.org"
    ));
    assert!(matches!(
        store.create_account(new_account("postmaster")),
        Err(StoreError::NoSuchDomain(_))
    ));
    store.add_domain("example.org").unwrap();
    store.add_domain("example.com").unwrap();
    let carl = store
        .create_account(new_account("carl@example.org"))
        .unwrap();
    let ann = store
        .create_account(new_account("ann@example.org"))
        .unwrap();
    let bob = store
        .create_account(new_account("bob@example.com"))
        .unwrap();
    assert!(matches!(
        store.create_account(new_account("ANN@example.org")),
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(ann.id > carl.id && bob.id > ann.id);

    assert_eq!(store.account("Ann@EXAMPLE.org").unwrap(), Some(ann.clone()));
    assert_eq!(store.account("nobody@example.org").unwrap(), None);
    assert_eq!(store.account_by_id(bob.id).unwrap(), Some(bob.clone()));
    assert_eq!(store.account_by_id(999).unwrap(), None);
    assert_eq!(
        store.accounts(None).unwrap(),
        [ann.clone(), bob.clone(), carl.clone()]
    );
    assert_eq!(
        store.accounts(Some("example.org")).unwrap(),
        [ann.clone(), carl.clone()]
    );
    assert_eq!(
        store.accounts(Some("example.com")).unwrap(),
        std::slice::from_ref(&bob)
    );
    assert!(store.accounts(Some("example.net")).unwrap().is_empty());

    store
        .update_account("ann@example.org", AccountChange::PasswordHash("new".into()))
        .unwrap();
    store
        .update_account("ann@example.org", AccountChange::Quota(Some(1000)))
        .unwrap();
    store
        .update_account("ANN@example.org", AccountChange::Disabled(true))
        .unwrap();
    store
        .update_account("ann@example.org", AccountChange::Admin(true))
        .unwrap();
    let updated = store.account("ann@example.org").unwrap().unwrap();
    assert_eq!(updated.password_hash, "new");
    assert_eq!(updated.quota, Some(1000));
    assert!(updated.disabled);
    assert!(updated.admin);
    assert!(matches!(
        store.update_account("nobody@example.org", AccountChange::Disabled(true)),
        Err(StoreError::NotFound(_))
    ));

    store.remove_account("carl@example.org").unwrap();
    assert_eq!(store.account("carl@example.org").unwrap(), None);
    assert_eq!(store.account_by_id(carl.id).unwrap(), None);
    assert!(matches!(
        store.mailboxes(carl.id),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.remove_account("carl@example.org"),
        Err(StoreError::NotFound(_))
    ));
    let carl_again = store
        .create_account(new_account("carl@example.org"))
        .unwrap();
    assert!(carl_again.id > bob.id, "account ids are never reused");
}

#[test]
fn aliases() {
    let (_dir, store) = open_store();
    store.add_domain("example.org").unwrap();
    store.add_domain("example.com").unwrap();
    let alias = |source: &str, target: &str| Alias {
        source: source.into(),
        target: target.into(),
    };
    assert!(matches!(
        store.add_alias(&alias("info@example.net", "ann@example.org")),
        Err(StoreError::NoSuchDomain(_))
    ));
    store
        .add_alias(&alias("info@example.org", "bob@example.org"))
        .unwrap();
    store
        .add_alias(&alias("Info@example.org", "ann@example.org"))
        .unwrap();
    store
        .add_alias(&alias("@example.org", "ann@example.org"))
        .unwrap();
    store
        .add_alias(&alias("sales@example.com", "ann@example.org"))
        .unwrap();
    assert!(matches!(
        store.add_alias(&alias("info@example.org", "ann@example.org")),
        Err(StoreError::AlreadyExists(_))
    ));

    assert_eq!(
        store.alias_targets("INFO@example.org").unwrap(),
        ["ann@example.org", "bob@example.org"]
    );
    assert_eq!(
        store.alias_targets("@example.org").unwrap(),
        ["ann@example.org"]
    );
    assert!(store.alias_targets("info@example.com").unwrap().is_empty());
    assert!(store.alias_targets("info").unwrap().is_empty());

    assert_eq!(
        store.aliases(None).unwrap(),
        [
            alias("@example.org", "ann@example.org"),
            alias("info@example.org", "ann@example.org"),
            alias("info@example.org", "bob@example.org"),
            alias("sales@example.com", "ann@example.org"),
        ]
    );
    assert_eq!(
        store.aliases(Some("example.org")).unwrap(),
        [
            alias("@example.org", "ann@example.org"),
            alias("info@example.org", "ann@example.org"),
            alias("info@example.org", "bob@example.org"),
        ]
    );
    assert_eq!(
        store.aliases(Some("example.com")).unwrap(),
        [alias("sales@example.com", "ann@example.org")]
    );

    store
        .remove_alias(&alias("info@example.org", "bob@example.org"))
        .unwrap();
    assert!(matches!(
        store.remove_alias(&alias("info@example.org", "bob@example.org")),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.alias_targets("info@example.org").unwrap(),
        ["ann@example.org"]
    );
}

#[test]
fn mailboxes() {
    let (_dir, store, ann, _) = store_with_accounts();
    let lists = store.create_mailbox(ann.id, "Lists/rust").unwrap();
    assert_eq!(
        (lists.name.as_str(), lists.uid_next, lists.special_use),
        ("Lists/rust", 1, None)
    );
    assert!(matches!(
        store.create_mailbox(ann.id, "Lists/rust"),
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        store.create_mailbox(ann.id, "inbox"),
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        store.create_mailbox(999, "Lists"),
        Err(StoreError::NotFound(_))
    ));
    let mailboxes = store.mailboxes(ann.id).unwrap();
    assert_eq!(mailboxes.len(), DEFAULT_MAILBOXES.len() + 1);
    assert_eq!(mailboxes.last(), Some(&lists));
    assert!(
        mailboxes[..DEFAULT_MAILBOXES.len()]
            .iter()
            .all(|m| m.uid_validity < lists.uid_validity)
    );
    assert!(matches!(store.messages(999), Err(StoreError::NotFound(_))));
    assert!(matches!(store.mailboxes(999), Err(StoreError::NotFound(_))));

    // Delivery by name finds the mailbox, INBOX in any case.
    let delivered = deliver(&store, b"hi", &[to(&ann, "Lists/rust"), to(&ann, "inbox")]).unwrap();
    assert_eq!(delivered[0].mailbox, lists.id);
    assert_eq!(delivered[1].mailbox, mailbox(&store, &ann, "INBOX").id);
}

#[test]
fn recreated_mailboxes_get_a_new_uid_validity() {
    let (_dir, store, ann, _) = store_with_accounts();
    let before = mailbox(&store, &ann, "INBOX");
    store.remove_account(&ann.email).unwrap();
    let ann = store.create_account(new_account(&ann.email)).unwrap();
    let after = mailbox(&store, &ann, "INBOX");
    assert_ne!(before.uid_validity, after.uid_validity);
    assert_ne!(before.id, after.id);
}

#[test]
fn deliveries_get_increasing_uids_and_modseqs() {
    let (_dir, store, ann, _) = store_with_accounts();
    let inbox = mailbox(&store, &ann, "INBOX");
    let mut flagged = to(&ann, "INBOX");
    flagged.flags = FLAG_SEEN | FLAG_FLAGGED;
    flagged.internal_date = -5;

    let first = deliver(&store, b"one", &[to(&ann, "INBOX")]).unwrap();
    let second = deliver(&store, b"two", &[flagged, to(&ann, "INBOX")]).unwrap();
    assert_eq!(
        first,
        [Delivered {
            mailbox: inbox.id,
            uid: 1
        }]
    );
    assert_eq!(
        second,
        [
            Delivered {
                mailbox: inbox.id,
                uid: 2
            },
            Delivered {
                mailbox: inbox.id,
                uid: 3
            },
        ]
    );

    let messages = store.messages(inbox.id).unwrap();
    let uids: Vec<_> = messages.iter().map(|m| m.uid).collect();
    assert_eq!(uids, [1, 2, 3]);
    assert!(messages.windows(2).all(|w| w[0].modseq < w[1].modseq));
    assert!(messages[0].modseq > inbox.highest_modseq);
    assert_eq!(messages[1].flags, FLAG_SEEN | FLAG_FLAGGED);
    assert_eq!(messages[1].internal_date, -5);
    assert_eq!(messages[0].internal_date, 1_700_000_000);
    assert_eq!((messages[0].blob, messages[0].size), (blob_id(b"one"), 3));
    assert_eq!(messages[1].blob, messages[2].blob);

    let inbox_now = mailbox(&store, &ann, "INBOX");
    assert_eq!(inbox_now.uid_next, 4);
    assert_eq!(inbox_now.highest_modseq, messages[2].modseq);
    assert_eq!(inbox_now.uid_validity, inbox.uid_validity);
    // One modseq per message and no other: a session that saw the mailbox before can tell
    // that these arrivals are all that changed (the engine's `MailboxView::sync_arrivals`).
    let modseqs: Vec<u64> = messages.iter().map(|m| m.modseq).collect();
    let handed_out: Vec<u64> = (inbox.highest_modseq + 1..=inbox_now.highest_modseq).collect();
    assert_eq!(modseqs, handed_out);
    let (now, arrived) = store.mailbox_since(inbox.id, 2).unwrap().unwrap();
    assert_eq!(now, inbox_now);
    assert_eq!(arrived, messages[1..]);
    assert!(store.mailbox_since(inbox.id + 1000, 1).unwrap().is_none());
    assert_eq!(
        store.account_by_id(ann.id).unwrap().unwrap().used,
        3 + 3 + 3
    );
}

#[test]
fn a_body_delivered_to_many_is_stored_once() {
    let (dir, store, ann, bob) = store_with_accounts();
    let body = b"Subject: hello\r\n\r\nto all of you\r\n";
    let id = blob_id(body);
    let delivered = deliver(&store, body, &[to(&ann, "INBOX"), to(&bob, "INBOX")]).unwrap();
    assert_eq!(delivered.len(), 2);
    assert_eq!(refs(&store, &id), 2);
    assert!(stored_inline(&store, &id));
    assert!(!blob_file(&dir, &id).exists());

    // The same content again only adds references.
    deliver(&store, body, &[to(&ann, "Archive")]).unwrap();
    assert_eq!(refs(&store, &id), 3);
    assert_eq!(read_body(&store, &id), body);
    for account in [&ann, &bob] {
        let message = &store
            .messages(mailbox(&store, account, "INBOX").id)
            .unwrap()[0];
        assert_eq!((message.blob, message.size), (id, body.len() as u64));
    }
}

#[test]
fn small_and_large_bodies_read_back() {
    let (dir, store, ann, _) = store_with_accounts();
    let small = vec![b's'; SMALL_BLOB_MAX];
    let large: Vec<u8> = (0..3 * SMALL_BLOB_MAX + 7)
        .map(|i| (i % 251) as u8)
        .collect();
    for body in [&small, &large] {
        let mut spool = store.create_spool().unwrap();
        for chunk in body.chunks(1000) {
            spool.write_all(chunk).unwrap();
        }
        assert_eq!(spool.len(), body.len() as u64);
        store.deliver(spool, &[to(&ann, "INBOX")]).unwrap();
        assert_eq!(read_body(&store, &blob_id(body)), *body);
    }
    assert!(stored_inline(&store, &blob_id(&small)));
    assert!(!stored_inline(&store, &blob_id(&large)));
    assert_eq!(fs::read(blob_file(&dir, &blob_id(&large))).unwrap(), large);
    assert_eq!(spool_files(&dir), 0);

    let missing = BlobId([9; 32]);
    assert!(matches!(
        store.read_blob(&missing),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn an_account_over_quota_is_left_out_and_named() {
    let (_dir, store, ann, bob) = store_with_accounts();
    store
        .update_account(
            &bob.email,
            AccountChange::Quota(Some(2 * SMALL_BLOB_MAX as u64 + 2)),
        )
        .unwrap();
    let large = vec![b'L'; SMALL_BLOB_MAX + 1];
    // Two copies fit exactly; a third copy to the same account does not: bob gets none,
    // ann hers.
    let too_many = [
        to(&ann, "INBOX"),
        to(&bob, "INBOX"),
        to(&bob, "Archive"),
        to(&bob, "Junk"),
    ];
    let stored = store.deliver(spool(&store, &large), &too_many).unwrap();
    assert_eq!(stored.over_quota, [bob.id]);
    assert_eq!(stored.blob, blob_id(&large));
    let inbox = store
        .mailboxes(ann.id)
        .unwrap()
        .into_iter()
        .find(|m| m.name == "INBOX")
        .unwrap();
    assert_eq!(
        stored.delivered,
        [Delivered {
            mailbox: inbox.id,
            uid: 1
        }]
    );
    assert_eq!(store.messages(inbox.id).unwrap().len(), 1);
    assert_eq!(
        store.account_by_id(ann.id).unwrap().unwrap().used,
        large.len() as u64
    );
    assert_eq!(refs(&store, &blob_id(&large)), 1);
    for mailbox in store.mailboxes(bob.id).unwrap() {
        assert!(store.messages(mailbox.id).unwrap().is_empty());
        assert_eq!(mailbox.uid_next, 1);
    }
    assert_eq!(store.account_by_id(bob.id).unwrap().unwrap().used, 0);
    // Within the quota it goes through, and the quota counts what is used.
    deliver(&store, &large, &[to(&bob, "INBOX")]).unwrap();
    deliver(&store, &large, &[to(&bob, "INBOX")]).unwrap();
    assert!(matches!(
        deliver(&store, b"x", &[to(&bob, "INBOX")]),
        Err(StoreError::OverQuota { .. })
    ));
    assert_eq!(
        store.account_by_id(bob.id).unwrap().unwrap().used,
        2 * large.len() as u64
    );
}

#[test]
fn nothing_is_stored_when_every_account_is_over_quota() {
    let (dir, store, ann, bob) = store_with_accounts();
    for account in [&ann, &bob] {
        store
            .update_account(
                &account.email,
                AccountChange::Quota(Some(SMALL_BLOB_MAX as u64)),
            )
            .unwrap();
    }
    let large = vec![b'L'; SMALL_BLOB_MAX + 1];
    let stored = store
        .deliver(
            spool(&store, &large),
            &[to(&ann, "INBOX"), to(&bob, "INBOX")],
        )
        .unwrap();
    assert!(stored.is_empty());
    assert_eq!(stored.over_quota, [ann.id, bob.id]);
    assert!(matches!(
        stored.all_or_over_quota(),
        Err(StoreError::OverQuota { account }) if account == ann.id
    ));

    for account in [&ann, &bob] {
        for mailbox in store.mailboxes(account.id).unwrap() {
            assert!(store.messages(mailbox.id).unwrap().is_empty());
            assert_eq!(mailbox.uid_next, 1);
        }
        assert_eq!(store.account_by_id(account.id).unwrap().unwrap().used, 0);
    }
    assert_eq!(refs(&store, &blob_id(&large)), 0);
    assert!(!blob_file(&dir, &blob_id(&large)).exists());
    assert_eq!(spool_files(&dir), 0);
}

#[test]
fn unknown_mailboxes_and_accounts_store_nothing() {
    let (_dir, store, ann, _) = store_with_accounts();
    assert!(matches!(
        deliver(&store, b"x", &[to(&ann, "INBOX"), to(&ann, "Nope")]),
        Err(StoreError::NotFound(_))
    ));
    let ghost = Account {
        id: 999,
        ..ann.clone()
    };
    assert!(matches!(
        deliver(&store, b"x", &[to(&ann, "INBOX"), to(&ghost, "INBOX")]),
        Err(StoreError::NotFound(_))
    ));
    assert!(
        store
            .messages(mailbox(&store, &ann, "INBOX").id)
            .unwrap()
            .is_empty()
    );
    assert_eq!(refs(&store, &blob_id(b"x")), 0);

    assert_eq!(deliver(&store, b"x", &[]).unwrap(), []);
    assert_eq!(refs(&store, &blob_id(b"x")), 0);
}

#[test]
fn removing_accounts_frees_their_bodies() {
    let (dir, store, ann, bob) = store_with_accounts();
    let shared = vec![b'S'; 2 * SMALL_BLOB_MAX];
    let small = b"only ann".to_vec();
    deliver(
        &store,
        &shared,
        &[to(&ann, "INBOX"), to(&ann, "Archive"), to(&bob, "INBOX")],
    )
    .unwrap();
    deliver(&store, &small, &[to(&ann, "INBOX")]).unwrap();
    let (shared_id, small_id) = (blob_id(&shared), blob_id(&small));
    assert_eq!(refs(&store, &shared_id), 3);

    store.remove_account(&ann.email).unwrap();
    assert_eq!(refs(&store, &shared_id), 1);
    assert_eq!(read_body(&store, &shared_id), shared);
    assert_eq!(refs(&store, &small_id), 0);
    assert!(!stored_inline(&store, &small_id));
    assert!(matches!(
        store.read_blob(&small_id),
        Err(StoreError::NotFound(_))
    ));

    store.remove_account(&bob.email).unwrap();
    assert_eq!(refs(&store, &shared_id), 0);
    assert!(!blob_file(&dir, &shared_id).exists());
    assert!(matches!(
        store.read_blob(&shared_id),
        Err(StoreError::NotFound(_))
    ));

    // The content can come back.
    let carl = store
        .create_account(new_account("carl@example.org"))
        .unwrap();
    deliver(&store, &shared, &[to(&carl, "INBOX")]).unwrap();
    assert_eq!(read_body(&store, &shared_id), shared);
}

#[test]
fn everything_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let large = vec![b'R'; SMALL_BLOB_MAX + 100];
    let (ann, inbox) = {
        let (store, ann) = store_with_ann(&dir);
        store
            .add_alias(&Alias {
                source: "info@example.org".into(),
                target: ann.email.clone(),
            })
            .unwrap();
        deliver(&store, b"small", &[to(&ann, "INBOX")]).unwrap();
        deliver(&store, &large, &[to(&ann, "INBOX")]).unwrap();
        (ann.clone(), mailbox(&store, &ann, "INBOX"))
    };
    // A spool file left by a crash is cleaned up.
    fs::write(dir.path().join("spool").join("1-1.tmp"), b"partial").unwrap();

    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(spool_files(&dir), 0);
    assert_eq!(store.domains().unwrap(), ["example.org"]);
    assert_eq!(
        store.alias_targets("info@example.org").unwrap(),
        [ann.email.as_str()]
    );
    let reopened = store.account(&ann.email).unwrap().unwrap();
    assert_eq!(reopened.used, 5 + large.len() as u64);
    assert_eq!(mailbox(&store, &ann, "INBOX"), inbox);
    let messages = store.messages(inbox.id).unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(read_body(&store, &messages[0].blob), b"small");
    assert_eq!(read_body(&store, &messages[1].blob), large);

    // Counters carry on.
    let delivered = deliver(&store, b"third", &[to(&ann, "INBOX")]).unwrap();
    assert_eq!(delivered[0].uid, 3);
    let bob = store
        .create_account(new_account("bob@example.org"))
        .unwrap();
    assert!(bob.id > ann.id);
    assert!(mailbox(&store, &bob, "INBOX").id > inbox.id);
}

#[test]
fn a_second_open_is_refused_clearly() {
    let (dir, _store) = open_store();
    let err = RedbStore::open(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains("in use by another process"),
        "{err}"
    );
}

#[test]
fn a_database_of_layout_1_is_upgraded() {
    use crate::tables::{MAILBOXES, META, SCHEMA_VERSION, SCHEMA_VERSION_KEY, SUBSCRIPTIONS};

    let dir = tempfile::tempdir().unwrap();
    let (ann, mailboxes) = {
        let (store, ann) = store_with_ann(&dir);
        store.create_mailbox(ann.id, "Lists/rust").unwrap();
        (ann.clone(), store.mailboxes(ann.id).unwrap())
    };
    // Turn it into what layout 1 wrote: mailbox records ending with the subscribed flag (here
    // set for all but Junk), no subscriptions table, and the layout number.
    let db = Database::create(dir.path().join(DATABASE_FILE)).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut records = txn.open(MAILBOXES).unwrap();
        for mailbox in &mailboxes {
            let mut record = crate::tables::encode_mailbox(mailbox);
            record[0] = 1;
            record.push(u8::from(mailbox.name != "Junk"));
            records.insert(mailbox.id, record.as_slice()).unwrap();
        }
        txn.open(META)
            .unwrap()
            .insert(SCHEMA_VERSION_KEY, 1)
            .unwrap();
    }
    txn.delete_table(SUBSCRIPTIONS.raw()).unwrap();
    txn.commit().unwrap();
    drop(db);

    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(
        store.subscriptions(ann.id).unwrap(),
        ["Archive", "Drafts", "INBOX", "Lists/rust", "Sent", "Trash"]
    );
    assert_eq!(store.mailboxes(ann.id).unwrap(), mailboxes);
    store
        .read(|txn| {
            let meta = txn.open(META).unwrap();
            let version = meta.get(SCHEMA_VERSION_KEY).unwrap();
            assert_eq!(version.map(|v| v.value()), Some(SCHEMA_VERSION));
            // Every record was rewritten in the current layout.
            for entry in txn.open(MAILBOXES).unwrap().iter().unwrap() {
                assert_eq!(entry.unwrap().1.value()[0], 2);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_database_of_a_newer_layout_is_refused() {
    use crate::tables::{META, SCHEMA_VERSION, SCHEMA_VERSION_KEY};

    let dir = tempfile::tempdir().unwrap();
    drop(RedbStore::open(dir.path()).unwrap());
    let db = Database::create(dir.path().join(DATABASE_FILE)).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open(META)
        .unwrap()
        .insert(SCHEMA_VERSION_KEY, SCHEMA_VERSION + 1)
        .unwrap();
    txn.commit().unwrap();
    drop(db);
    let err = RedbStore::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("newer version"), "{err}");
}

#[test]
fn a_damaged_database_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(DATABASE_FILE), b"this is not a database").unwrap();
    let err = RedbStore::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("postern.redb"), "{err}");
}

#[test]
fn concurrent_deliveries_share_commits() {
    const THREADS: usize = 16;
    const PER_THREAD: usize = 50;
    const ACCOUNTS: usize = 4;
    let (_dir, store) = open_store();
    store.add_domain("example.org").unwrap();
    let accounts: Vec<Account> = (0..ACCOUNTS)
        .map(|i| {
            store
                .create_account(new_account(&format!("user{i}@example.org")))
                .unwrap()
        })
        .collect();
    let commits_before = store.commit_count();

    let store = Arc::new(store);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = Arc::clone(&store);
            let account = accounts[t % ACCOUNTS].clone();
            thread::spawn(move || {
                for i in 0..PER_THREAD {
                    // Every fifth body is the same for everyone; some are large.
                    let body = match i % 5 {
                        0 => b"the same for everyone".to_vec(),
                        4 => format!("{t}/{i}").repeat(SMALL_BLOB_MAX / 4).into_bytes(),
                        _ => format!("message {i} from thread {t}").into_bytes(),
                    };
                    let delivered = deliver(&store, &body, &[to(&account, "INBOX")]).unwrap();
                    assert_eq!(delivered.len(), 1);
                    // Rejected writes in the same batches must not disturb the others.
                    assert!(deliver(&store, b"lost", &[to(&account, "Nope")]).is_err());
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }

    let per_account = THREADS / ACCOUNTS * PER_THREAD;
    for account in &accounts {
        let messages = store
            .messages(mailbox(&store, account, "INBOX").id)
            .unwrap();
        let uids: Vec<u32> = messages.iter().map(|m| m.uid).collect();
        assert_eq!(uids, (1..=per_account as u32).collect::<Vec<_>>());
        let modseqs: BTreeSet<u64> = messages.iter().map(|m| m.modseq).collect();
        assert_eq!(modseqs.len(), per_account);
        for message in messages.iter().step_by(7) {
            assert_eq!(blob_id(&read_body(&store, &message.blob)), message.blob);
        }
    }
    let shared = blob_id(b"the same for everyone");
    assert_eq!(refs(&store, &shared), (THREADS * PER_THREAD / 5) as u64);
    assert_eq!(refs(&store, &blob_id(b"lost")), 0);

    let commits = store.commit_count() - commits_before;
    let deliveries = (THREADS * PER_THREAD) as u64;
    assert!(
        commits < deliveries,
        "{commits} commits for {deliveries} deliveries"
    );
}

#[test]
fn bodies_round_trip_and_are_named_by_their_hash() {
    let (dir, store, ann, _) = store_with_accounts();
    let sizes = prop_oneof![
        0..256usize,
        SMALL_BLOB_MAX - 8..SMALL_BLOB_MAX + 8,
        0..3 * SMALL_BLOB_MAX,
    ];
    let bodies = sizes.prop_flat_map(|len| {
        (
            proptest::collection::vec(any::<u8>(), len),
            proptest::collection::vec(1..4 * SMALL_BLOB_MAX / 3, 0..8),
        )
    });
    let config = ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    };
    proptest!(config, |((body, chunk_sizes) in bodies)| {
        let mut spool = store.create_spool().unwrap();
        let mut rest = body.as_slice();
        for size in chunk_sizes.into_iter().chain([usize::MAX]) {
            let (chunk, tail) = rest.split_at(size.min(rest.len()));
            spool.write_all(chunk).unwrap();
            rest = tail;
        }
        prop_assert_eq!(spool.len(), body.len() as u64);
        let delivered = store.deliver(spool, &[to(&ann, "INBOX")]).unwrap().delivered;
        let message = store
            .messages(delivered[0].mailbox)
            .unwrap()
            .into_iter()
            .find(|m| m.uid == delivered[0].uid)
            .unwrap();
        prop_assert_eq!(message.blob, blob_id(&body));
        prop_assert_eq!(message.size, body.len() as u64);
        prop_assert_eq!(read_body(&store, &message.blob), body);
        prop_assert_eq!(spool_files(&dir), 0);
    });
}

mod changes;
mod dav;
mod dkim;
#[cfg(unix)]
mod files;
mod held;
mod layout3;
mod queue;
mod recovery;
mod search_index;
mod webhooks;

#[test]
fn the_audit_log_keeps_its_newest_entries_within_age_and_count() {
    let (_dir, store) = open_store();
    for time in 1..=6 {
        let entry = engine::store::AuditEntry {
            time,
            kind: "login-failed".into(),
            actor: format!("user{time}@example.test"),
            client: Some("192.0.2.1".into()),
            detail: "imap".into(),
        };
        store.append_audit(&entry).unwrap();
    }
    // Older than 2: one entry; past a count of 3: two more.
    assert_eq!(store.prune_audit(2, 3).unwrap(), 3);
    let times: Vec<i64> = store
        .audit_entries(0, 100)
        .unwrap()
        .iter()
        .map(|e| e.time)
        .collect();
    assert_eq!(times, [4, 5, 6]);
    assert_eq!(store.prune_audit(0, 10).unwrap(), 0);
}

#[test]
fn recent_messages_are_claimed_once() {
    let (_dir, store, ann, _) = store_with_accounts();
    let inbox = mailbox(&store, &ann, "INBOX");
    assert_eq!(store.first_recent_uid(inbox.id).unwrap(), 1);
    assert_eq!(store.claim_recent(inbox.id, 4).unwrap(), 1);
    assert_eq!(
        store.claim_recent(inbox.id, 4).unwrap(),
        4,
        "nothing left to claim"
    );
    assert_eq!(store.first_recent_uid(inbox.id).unwrap(), 4);
    assert_eq!(
        store.claim_recent(inbox.id, 2).unwrap(),
        4,
        "claims never go back"
    );
    assert_eq!(store.claim_recent(inbox.id, 6).unwrap(), 4);
    assert_eq!(store.first_recent_uid(inbox.id).unwrap(), 6);
}

fn new_message(store: &RedbStore, body: &[u8]) -> NewMessage<RedbSpool> {
    NewMessage {
        spool: spool(store, body),
        flags: 0,
        keywords: Vec::new(),
        internal_date: 1_700_000_000,
    }
}

#[test]
fn append_all_stores_every_message_in_one_commit() {
    let (dir, store, ann, _) = store_with_accounts();
    let inbox = mailbox(&store, &ann, "INBOX");
    let large = vec![b'x'; 100_000];
    let commits = store.commit_count();
    let messages = vec![
        new_message(&store, b"one"),
        new_message(&store, &large),
        new_message(&store, b"one"),
    ];
    let delivered = store.append_all(inbox.id, messages).unwrap();
    assert_eq!(store.commit_count() - commits, 1);
    let uids: Vec<u32> = delivered.iter().map(|d| d.uid).collect();
    assert_eq!(uids, [1, 2, 3]);
    assert_eq!(
        refs(&store, &blob_id(b"one")),
        2,
        "a body that comes twice is kept once"
    );
    assert!(blob_file(&dir, &blob_id(&large)).exists());
    assert_eq!(read_body(&store, &blob_id(b"one")), b"one");
}

#[test]
fn append_all_stores_nothing_when_all_do_not_fit() {
    let (dir, store, ann, _) = store_with_accounts();
    store
        .update_account(&ann.email, AccountChange::Quota(Some(150_000)))
        .unwrap();
    let inbox = mailbox(&store, &ann, "INBOX");
    let large = vec![b'y'; 100_000];
    let messages = vec![
        new_message(&store, &large),
        new_message(&store, &large[..60_000]),
    ];
    assert!(matches!(
        store.append_all(inbox.id, messages),
        Err(StoreError::OverQuota { .. })
    ));
    assert!(store.messages(inbox.id).unwrap().is_empty());
    assert!(!blob_file(&dir, &blob_id(&large)).exists(), "no body kept");
    let fits = vec![new_message(&store, &large)];
    assert_eq!(store.append_all(inbox.id, fits).unwrap().len(), 1);
}

#[test]
fn greylist_passes_are_pruned_by_age_then_by_count() {
    let (_dir, store, _, _) = store_with_accounts();
    for (n, last) in [(1, 10), (2, 20), (3, 30), (4, 40), (5, 50), (6, 40)] {
        let pass = engine::store::GreylistPass {
            network: format!("192.0.2.{n}/24"),
            sender: "a@example.net".into(),
            recipient: "b@example.org".into(),
            last,
        };
        store.put_greylist_pass(&pass).unwrap();
    }
    assert_eq!(store.prune_greylist(15, 3).unwrap(), 3);
    let mut left: Vec<i64> = store
        .greylist_passes()
        .unwrap()
        .iter()
        .map(|p| p.last)
        .collect();
    left.sort_unstable();
    assert_eq!(left, [40, 40, 50], "the newest three");
    assert_eq!(store.prune_greylist(0, 10).unwrap(), 0);
}

#[test]
fn correspondents_keep_the_most_recent_and_go_with_the_account() {
    let (_dir, store, ann, bob) = store_with_accounts();
    let domains = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    store
        .note_correspondents(ann.id, &domains(&["a.example", "b.example"]), 10, 3)
        .unwrap();
    store
        .note_correspondents(ann.id, &domains(&["c.example"]), 20, 3)
        .unwrap();
    store
        .note_correspondents(bob.id, &domains(&["a.example"]), 5, 3)
        .unwrap();
    // A fourth: the one written to longest ago goes (a tie goes by name).
    store
        .note_correspondents(ann.id, &domains(&["d.example", "b.example"]), 30, 3)
        .unwrap();
    let last = |account, domain| store.correspondent(account, domain).unwrap();
    assert_eq!(last(ann.id, "a.example"), None);
    assert_eq!(last(ann.id, "b.example"), Some(30));
    assert_eq!(last(ann.id, "c.example"), Some(20));
    assert_eq!(last(ann.id, "d.example"), Some(30));
    assert_eq!(last(bob.id, "a.example"), Some(5), "each account its own");

    store.remove_account("ann@example.org").unwrap();
    assert_eq!(last(ann.id, "b.example"), None);
    assert_eq!(last(bob.id, "a.example"), Some(5));
}

#[test]
fn sieve_scripts_one_active_and_gone_with_the_account() {
    let (_dir, store, ann, bob) = store_with_accounts();
    let listed = |account| {
        store
            .sieve_scripts(account)
            .unwrap()
            .into_iter()
            .map(|s| (s.name, s.active, s.source))
            .collect::<Vec<_>>()
    };
    store.put_sieve_script(ann.id, "main", "keep;").unwrap();
    store.put_sieve_script(ann.id, "away", "discard;").unwrap();
    store.put_sieve_script(bob.id, "main", "stop;").unwrap();
    store.activate_sieve_script(ann.id, Some("main")).unwrap();
    // Replacing the active one keeps it active; activating another leaves one active.
    store
        .put_sieve_script(ann.id, "main", "keep; stop;")
        .unwrap();
    assert_eq!(
        listed(ann.id),
        vec![
            ("away".into(), false, "discard;".into()),
            ("main".into(), true, "keep; stop;".into()),
        ]
    );
    store.activate_sieve_script(ann.id, Some("away")).unwrap();
    let active: Vec<bool> = listed(ann.id).into_iter().map(|s| s.1).collect();
    assert_eq!(active, vec![true, false]);
    assert!(matches!(
        store.activate_sieve_script(ann.id, Some("missing")),
        Err(StoreError::NotFound(_))
    ));
    // A rename keeps the script active; it needs the old name and a free new one.
    store
        .rename_sieve_script(ann.id, "away", "holiday")
        .unwrap();
    assert_eq!(
        listed(ann.id),
        vec![
            ("holiday".into(), true, "discard;".into()),
            ("main".into(), false, "keep; stop;".into()),
        ]
    );
    assert!(matches!(
        store.rename_sieve_script(ann.id, "holiday", "main"),
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        store.rename_sieve_script(ann.id, "away", "other"),
        Err(StoreError::NotFound(_))
    ));
    store
        .rename_sieve_script(ann.id, "holiday", "away")
        .unwrap();
    store.activate_sieve_script(ann.id, None).unwrap();
    assert!(listed(ann.id).iter().all(|s| !s.1));
    assert!(store.remove_sieve_script(ann.id, "away").unwrap());
    assert!(!store.remove_sieve_script(ann.id, "away").unwrap());
    store.remove_account("ann@example.org").unwrap();
    assert!(listed(ann.id).is_empty());
    assert_eq!(listed(bob.id).len(), 1, "each account its own");
}

#[test]
fn a_vacation_answer_goes_once_per_interval_and_sender() {
    let (_dir, store, ann, bob) = store_with_accounts();
    let day = 86_400;
    let due = |account, handle, sender, now| {
        store
            .note_vacation(account, handle, sender, now, 7 * day)
            .unwrap()
    };
    assert!(due(ann.id, "h", "friend@example.net", 0));
    assert!(
        !due(ann.id, "h", "Friend@Example.NET", 6 * day),
        "the same sender"
    );
    assert!(due(ann.id, "h", "other@example.net", 6 * day));
    assert!(due(ann.id, "other handle", "friend@example.net", 6 * day));
    assert!(
        due(bob.id, "h", "friend@example.net", 6 * day),
        "each account its own"
    );
    assert!(
        due(ann.id, "h", "friend@example.net", 7 * day + 1),
        "the days are over"
    );
    store.remove_account("ann@example.org").unwrap();
    let left = store
        .read(|txn| {
            let table = txn.open(crate::tables::VACATION_REPLIES).db()?;
            crate::directory::account_rows(&table, ann.id, |key, _| key.to_owned())
        })
        .unwrap();
    assert!(left.is_empty(), "gone with the account: {left:?}");
}

#[test]
fn api_tokens_are_found_by_digest_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let token = engine::store::ApiToken {
        digest: [3; 32],
        scope: engine::store::TokenScope::User("ann@example.org".into()),
        note: "phone".into(),
        created: 1_800_000_000,
    };
    {
        let store = RedbStore::open(dir.path()).unwrap();
        store.put_token(&token).unwrap();
        assert_eq!(store.token(&[4; 32]).unwrap(), None);
    }
    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(store.token(&[3; 32]).unwrap(), Some(token.clone()));
    assert_eq!(store.tokens().unwrap(), [token]);
    assert!(store.remove_token(&[3; 32]).unwrap());
    assert!(!store.remove_token(&[3; 32]).unwrap());
    assert!(store.tokens().unwrap().is_empty());
}

#[test]
fn disposable_aliases_deliver_count_and_go_with_their_account() {
    let (_dir, store, ann, bob) = store_with_accounts();
    let alias = |address: &str, account| DisposableAlias {
        address: address.to_string(),
        account,
        created: 100,
        uses: 0,
        last_used: None,
        enabled: true,
        note: "the shoe shop".to_string(),
    };
    store
        .add_disposable_alias(&alias("Shoes-1@example.org", ann.id))
        .unwrap();
    store
        .add_disposable_alias(&alias("news-2@example.org", bob.id))
        .unwrap();
    // Taken: the same address in any case, an account's address.
    for taken in ["shoes-1@example.org", "ann@example.org"] {
        assert!(matches!(
            store.add_disposable_alias(&alias(taken, ann.id)),
            Err(StoreError::AlreadyExists(_))
        ));
    }
    let found = store
        .disposable_alias("SHOES-1@example.org")
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.address.as_str(), found.account),
        ("shoes-1@example.org", ann.id)
    );
    store
        .note_disposable_use("shoes-1@example.org", 500)
        .unwrap();
    store
        .note_disposable_use("shoes-1@example.org", 700)
        .unwrap();
    store
        .note_disposable_use("not-one@example.org", 700)
        .unwrap();
    store
        .set_disposable_alias_enabled("shoes-1@example.org", false)
        .unwrap();
    let listed = store.disposable_aliases(ann.id).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].uses, listed[0].last_used, listed[0].enabled),
        (2, Some(700), false)
    );
    assert!(matches!(
        store.set_disposable_alias_enabled("nope@example.org", true),
        Err(StoreError::NotFound(_))
    ));
    store.remove_account("ann@example.org").unwrap();
    assert_eq!(store.disposable_alias("shoes-1@example.org").unwrap(), None);
    assert_eq!(store.disposable_aliases(bob.id).unwrap().len(), 1);
}

#[test]
fn important_senders_per_account() {
    let (_dir, store, ann, bob) = store_with_accounts();
    assert!(
        store
            .set_vip_sender(ann.id, "Boss@Example.org", true)
            .unwrap()
    );
    assert!(
        !store
            .set_vip_sender(ann.id, "boss@example.org", true)
            .unwrap()
    );
    assert!(store.set_vip_sender(ann.id, "a@b.test", true).unwrap());
    assert_eq!(
        store.vip_senders(ann.id).unwrap(),
        ["a@b.test", "boss@example.org"]
    );
    let from = |addresses: &[&str]| addresses.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    assert!(
        store
            .is_vip_sender(ann.id, &from(&["x@y.test", "BOSS@example.org"]))
            .unwrap()
    );
    assert!(
        !store
            .is_vip_sender(bob.id, &from(&["boss@example.org"]))
            .unwrap()
    );
    assert!(store.set_vip_sender(ann.id, "a@b.test", false).unwrap());
    assert!(!store.set_vip_sender(ann.id, "a@b.test", false).unwrap());
    store.remove_account("ann@example.org").unwrap();
    assert!(store.vip_senders(ann.id).unwrap().is_empty());
}

#[test]
fn screener_state_per_account() {
    let (_dir, store, ann, bob) = store_with_accounts();
    assert!(!store.screener_on(ann.id).unwrap());
    store.set_screener(ann.id, true).unwrap();
    assert!(store.screener_on(ann.id).unwrap() && !store.screener_on(bob.id).unwrap());
    let list = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    store
        .judge_senders(
            ann.id,
            &list(&["Spam@X.test"]),
            Some(Verdict::Rejected),
            false,
        )
        .unwrap();
    // Mail sent approves, but never over a decision.
    store
        .judge_senders(
            ann.id,
            &list(&["spam@x.test", "friend@y.test"]),
            Some(Verdict::Approved),
            true,
        )
        .unwrap();
    assert_eq!(
        store.sender_verdicts(ann.id).unwrap(),
        [
            ("friend@y.test".to_string(), Verdict::Approved),
            ("spam@x.test".to_string(), Verdict::Rejected)
        ]
    );
    assert_eq!(
        store
            .sender_verdict(ann.id, &list(&["nobody@z.test", "FRIEND@y.test"]))
            .unwrap(),
        Some(Verdict::Approved)
    );
    assert_eq!(
        store
            .sender_verdict(bob.id, &list(&["friend@y.test"]))
            .unwrap(),
        None
    );
    store
        .judge_senders(ann.id, &list(&["friend@y.test"]), None, false)
        .unwrap();
    assert_eq!(store.sender_verdicts(ann.id).unwrap().len(), 1);
    store.remove_account("ann@example.org").unwrap();
    assert!(!store.screener_on(ann.id).unwrap());
    assert!(store.sender_verdicts(ann.id).unwrap().is_empty());
}

#[test]
fn retention_per_domain_goes_with_the_domain() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    store.add_domain("api.test").unwrap();
    store.add_domain("example.test").unwrap();
    store.set_retention("api.test", Some(86_400)).unwrap();
    store.set_retention("example.test", Some(60)).unwrap();
    store.set_retention("example.test", None).unwrap();
    assert_eq!(
        store.retentions().unwrap(),
        [("api.test".to_string(), 86_400)]
    );
    store.remove_domain("api.test").unwrap();
    assert!(store.retentions().unwrap().is_empty());
}
