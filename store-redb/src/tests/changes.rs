//! Tests of the changes to mailboxes and messages after delivery: flags and keywords,
//! expunge, copy and move, rename and delete, append, body summaries.

use std::collections::BTreeMap;

use engine::store::{
    BlobFact, Copied, FLAG_ANSWERED, FLAG_DELETED, FLAG_DRAFT, FlagChange, Flags, FlagsChanged,
    MailboxId, Message,
};

use super::*;
use crate::tables::{
    BLOB_HEADERS, BLOB_SEARCH, BLOB_SUMMARIES, EXPUNGED, MESSAGE_CHANGES, MESSAGES, SUBSCRIPTIONS,
    VANISHED,
};
use crate::typed::{Def, Key, Open, ReadableTable, Value};

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|&word| word.to_owned()).collect()
}

fn add(flags: Flags, keywords: &[&str]) -> FlagChange {
    FlagChange::Add {
        flags,
        keywords: strings(keywords),
    }
}

fn remove(flags: Flags, keywords: &[&str]) -> FlagChange {
    FlagChange::Remove {
        flags,
        keywords: strings(keywords),
    }
}

fn replace(flags: Flags, keywords: &[&str]) -> FlagChange {
    FlagChange::Replace {
        flags,
        keywords: strings(keywords),
    }
}

/// A delivery to `mailbox` with flags and keywords.
fn flagged(account: &Account, mailbox: &str, flags: Flags, keywords: &[&str]) -> Delivery {
    Delivery {
        flags,
        keywords: strings(keywords),
        ..to(account, mailbox)
    }
}

/// Delivers `body` once to `mailbox` and returns its UID.
fn deliver_one(store: &RedbStore, body: &[u8], account: &Account, mailbox: &str) -> u32 {
    deliver(store, body, &[to(account, mailbox)]).unwrap()[0].uid
}

fn used(store: &RedbStore, account: &Account) -> u64 {
    store.account_by_id(account.id).unwrap().unwrap().used
}

fn uids(store: &RedbStore, mailbox: MailboxId) -> Vec<u32> {
    store
        .messages(mailbox)
        .unwrap()
        .iter()
        .map(|message| message.uid)
        .collect()
}

fn message(store: &RedbStore, mailbox: MailboxId, uid: u32) -> Message {
    store
        .messages(mailbox)
        .unwrap()
        .into_iter()
        .find(|message| message.uid == uid)
        .unwrap()
}

fn highest_modseq(store: &RedbStore, mailbox: MailboxId) -> u64 {
    store.mailbox(mailbox).unwrap().unwrap().highest_modseq
}

/// How many rows a table has.
fn rows<K: Key, V: Value>(store: &RedbStore, table: Def<K, V>) -> u64 {
    store
        .read(|txn| Ok(txn.open(table).unwrap().len().unwrap()))
        .unwrap()
}

fn large_body(fill: u8) -> Vec<u8> {
    vec![fill; SMALL_BLOB_MAX + 1000]
}

#[test]
fn mailboxes_by_id() {
    let (_dir, store, ann, _) = store_with_accounts();
    for mailbox in store.mailboxes(ann.id).unwrap() {
        assert_eq!(store.mailbox(mailbox.id).unwrap(), Some(mailbox));
    }
    assert_eq!(store.mailbox(999).unwrap(), None);
}

#[test]
fn subscriptions_are_names_apart_from_mailboxes() {
    let (_dir, store, ann, bob) = store_with_accounts();
    let defaults = strings(&["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"]);
    assert_eq!(store.subscriptions(ann.id).unwrap(), defaults);
    let junk = mailbox(&store, &ann, "Junk");

    // Any name, whether a mailbox has it or not; INBOX in any case; repeats change nothing.
    store.subscribe(ann.id, "Junk", false).unwrap();
    store.subscribe(ann.id, "Junk", false).unwrap();
    store.subscribe(ann.id, "Later/ideas", true).unwrap();
    store.subscribe(ann.id, "Sent", true).unwrap();
    store.subscribe(ann.id, "inbox", false).unwrap();
    assert_eq!(
        store.subscriptions(ann.id).unwrap(),
        strings(&["Archive", "Drafts", "Later/ideas", "Sent", "Trash"])
    );
    store.subscribe(ann.id, "Inbox", true).unwrap();
    assert_eq!(store.subscriptions(ann.id).unwrap()[2], "INBOX");
    assert_eq!(store.mailbox(junk.id).unwrap(), Some(junk));
    assert_eq!(store.subscriptions(bob.id).unwrap(), defaults);

    // A new mailbox is not subscribed; a deleted one's subscription stays.
    let lists = store.create_mailbox(ann.id, "Lists").unwrap();
    assert!(!store.subscriptions(ann.id).unwrap().contains(&lists.name));
    store.subscribe(ann.id, "Lists", true).unwrap();
    store.delete_mailbox(lists.id).unwrap();
    assert!(store.subscriptions(ann.id).unwrap().contains(&lists.name));

    assert!(matches!(
        store.subscribe(999, "INBOX", true),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.subscriptions(999),
        Err(StoreError::NotFound(_))
    ));

    // An account's subscriptions go with it.
    store.remove_account(&ann.email).unwrap();
    assert_eq!(rows(&store, SUBSCRIPTIONS), defaults.len() as u64);
    let ann = store.create_account(new_account(&ann.email)).unwrap();
    assert_eq!(store.subscriptions(ann.id).unwrap(), defaults);
}

#[test]
fn renaming_moves_subscriptions_of_the_mailbox_and_its_children() {
    let (_dir, store, ann, bob) = store_with_accounts();
    for name in ["Work", "Work/2024", "Workshop"] {
        store.create_mailbox(ann.id, name).unwrap();
    }
    store.create_mailbox(bob.id, "Work").unwrap();
    // Subscribed names under `Work` move whether a mailbox has them or not.
    for name in ["Work", "Work/2024", "Work/gone", "Workshop", "Jobs/2024"] {
        store.subscribe(ann.id, name, true).unwrap();
    }
    store.subscribe(bob.id, "Work", true).unwrap();
    let work = mailbox(&store, &ann, "Work");
    store.rename_mailbox(work.id, "Jobs").unwrap();
    assert_eq!(
        store.subscriptions(ann.id).unwrap(),
        strings(&[
            "Archive",
            "Drafts",
            "INBOX",
            "Jobs",
            "Jobs/2024",
            "Jobs/gone",
            "Junk",
            "Sent",
            "Trash",
            "Workshop"
        ])
    );
    assert!(
        store
            .subscriptions(bob.id)
            .unwrap()
            .contains(&"Work".into())
    );

    // A refused rename moves nothing.
    let before = store.subscriptions(ann.id).unwrap();
    store.create_mailbox(ann.id, "Gigs/2024").unwrap();
    assert!(store.rename_mailbox(work.id, "Gigs").is_err());
    assert_eq!(store.subscriptions(ann.id).unwrap(), before);
}

#[test]
fn keywords_are_sorted_unique_and_case_insensitive() {
    let (_dir, store, ann, _) = store_with_accounts();
    let inbox = mailbox(&store, &ann, "INBOX").id;
    let keywords = ["work", "$Junk", "$junk", "Work", "$Forwarded"];
    deliver(&store, b"one", &[flagged(&ann, "INBOX", 0, &keywords)]).unwrap();
    assert_eq!(
        message(&store, inbox, 1).keywords,
        ["$Forwarded", "$Junk", "work"]
    );

    let outcome = store
        .set_flags(inbox, &[1], &add(0, &["$JUNK", "later"]), None)
        .unwrap();
    assert_eq!(
        outcome.changed[0].keywords,
        ["$Forwarded", "$Junk", "later", "work"]
    );
    let modseq = highest_modseq(&store, inbox);

    // The same keywords in another spelling change nothing.
    for change in [
        add(0, &["LATER", "$forwarded"]),
        remove(0, &["absent"]),
        replace(0, &["WORK", "later", "$junk", "$FORWARDED"]),
    ] {
        let outcome = store.set_flags(inbox, &[1], &change, None).unwrap();
        assert!(outcome.changed.is_empty(), "{change:?}: {outcome:?}");
    }
    assert_eq!(highest_modseq(&store, inbox), modseq);
    assert_eq!(
        message(&store, inbox, 1).keywords,
        ["$Forwarded", "$Junk", "later", "work"]
    );

    store
        .set_flags(inbox, &[1], &remove(0, &["$FORWARDED", "WORK"]), None)
        .unwrap();
    assert_eq!(message(&store, inbox, 1).keywords, ["$Junk", "later"]);
    store
        .set_flags(inbox, &[1], &replace(0, &["b", "A", "a"]), None)
        .unwrap();
    assert_eq!(message(&store, inbox, 1).keywords, ["A", "b"]);

    let delivered = store
        .append(
            spool(&store, b"two"),
            inbox,
            0,
            &strings(&["Z", "y", "z"]),
            0,
        )
        .unwrap();
    assert_eq!(message(&store, inbox, delivered.uid).keywords, ["y", "Z"]);
}

#[test]
fn set_flags_changes_only_what_changes() {
    let (_dir, store, ann, _) = store_with_accounts();
    let inbox = mailbox(&store, &ann, "INBOX").id;
    deliver(&store, b"one", &[to(&ann, "INBOX")]).unwrap();
    deliver(&store, b"two", &[flagged(&ann, "INBOX", FLAG_SEEN, &[])]).unwrap();
    deliver(&store, b"three", &[to(&ann, "INBOX")]).unwrap();
    let before = highest_modseq(&store, inbox);
    let second = message(&store, inbox, 2);

    // Unknown and repeated UIDs are ignored; messages are reported in UID order.
    let outcome = store
        .set_flags(inbox, &[3, 1, 2, 99, 1], &add(FLAG_SEEN, &[]), None)
        .unwrap();
    let modseq = before + 1;
    assert_eq!(
        outcome.changed,
        [1, 3].map(|uid| FlagsChanged {
            uid,
            flags: FLAG_SEEN,
            keywords: Vec::new(),
            modseq,
        })
    );
    assert!(outcome.modified.is_empty());
    assert_eq!(highest_modseq(&store, inbox), modseq);
    assert_eq!(message(&store, inbox, 2), second);
    assert_eq!(message(&store, inbox, 3).modseq, modseq);

    let outcome = store
        .set_flags(inbox, &[1, 2, 3], &remove(FLAG_SEEN, &[]), None)
        .unwrap();
    assert_eq!(outcome.changed.len(), 3);
    assert!(outcome.changed.iter().all(|c| c.modseq == modseq + 1));

    let change = replace(FLAG_FLAGGED | FLAG_DRAFT, &["$Label1"]);
    let outcome = store.set_flags(inbox, &[2], &change, None).unwrap();
    assert_eq!(
        outcome.changed,
        [FlagsChanged {
            uid: 2,
            flags: FLAG_FLAGGED | FLAG_DRAFT,
            keywords: strings(&["$Label1"]),
            modseq: modseq + 2,
        }]
    );
    let outcome = store.set_flags(inbox, &[2], &change, None).unwrap();
    assert_eq!(outcome, FlagsOutcome::default());
    assert_eq!(highest_modseq(&store, inbox), modseq + 2);
    let unchanged = message(&store, inbox, 2);
    assert_eq!(
        (unchanged.flags, unchanged.modseq, unchanged.blob),
        (FLAG_FLAGGED | FLAG_DRAFT, modseq + 2, blob_id(b"two"))
    );

    assert!(matches!(
        store.set_flags(999, &[1], &change, None),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn unchanged_since_leaves_newer_messages_alone() {
    let (_dir, store, ann, _) = store_with_accounts();
    let inbox = mailbox(&store, &ann, "INBOX").id;
    for body in [b"one", b"two", b"333"] {
        deliver(&store, body, &[to(&ann, "INBOX")]).unwrap();
    }
    let modseqs: Vec<u64> = store
        .messages(inbox)
        .unwrap()
        .iter()
        .map(|m| m.modseq)
        .collect();

    let outcome = store
        .set_flags(inbox, &[1, 2, 3], &add(FLAG_SEEN, &[]), Some(modseqs[1]))
        .unwrap();
    let changed: Vec<u32> = outcome.changed.iter().map(|c| c.uid).collect();
    assert_eq!((changed, outcome.modified), (vec![1, 2], vec![3]));
    assert_eq!(message(&store, inbox, 3).flags, 0);
    assert_eq!(message(&store, inbox, 3).modseq, modseqs[2]);

    // Now 1 and 2 are the newer ones.
    let outcome = store
        .set_flags(inbox, &[1, 2, 3], &add(FLAG_FLAGGED, &[]), Some(modseqs[2]))
        .unwrap();
    let changed: Vec<u32> = outcome.changed.iter().map(|c| c.uid).collect();
    assert_eq!((changed, outcome.modified), (vec![3], vec![1, 2]));
    assert_eq!(message(&store, inbox, 1).flags, FLAG_SEEN);

    // A message that is not newer and would not change is in neither list.
    let current = highest_modseq(&store, inbox);
    let outcome = store
        .set_flags(inbox, &[3], &add(FLAG_FLAGGED, &[]), Some(current))
        .unwrap();
    assert_eq!(outcome, FlagsOutcome::default());

    let outcome = store
        .set_flags(inbox, &[1, 2, 3], &replace(0, &[]), Some(0))
        .unwrap();
    assert_eq!(
        (outcome.changed.len(), outcome.modified),
        (0, vec![1, 2, 3])
    );
    let outcome = store
        .set_flags(inbox, &[1, 2, 3], &replace(0, &[]), Some(current))
        .unwrap();
    assert_eq!((outcome.changed.len(), outcome.modified.len()), (3, 0));
}

#[test]
fn modseqs_only_go_up() {
    let (_dir, store, ann, _) = store_with_accounts();
    let inbox = mailbox(&store, &ann, "INBOX").id;
    let archive = mailbox(&store, &ann, "Archive").id;
    deliver(&store, b"archived", &[to(&ann, "Archive")]).unwrap();

    let mut last = highest_modseq(&store, inbox);
    let mut check = |what: &str, store: &RedbStore| {
        let now = highest_modseq(store, inbox);
        assert!(now > last, "{what}: {now} after {last}");
        for message in store.messages(inbox).unwrap() {
            assert!(message.modseq <= now, "{what}: {message:?}");
        }
        last = now;
    };
    deliver(&store, b"one", &[to(&ann, "INBOX"), to(&ann, "INBOX")]).unwrap();
    check("deliver", &store);
    store
        .set_flags(inbox, &[1, 2], &add(FLAG_SEEN, &["x"]), None)
        .unwrap();
    check("set_flags", &store);
    store.copy_messages(archive, &[1], inbox).unwrap();
    check("copy in", &store);
    store.move_messages(inbox, &[1], archive).unwrap();
    check("move out", &store);
    store.move_messages(archive, &[1], inbox).unwrap();
    check("move in", &store);
    store.expunge(inbox, &[2]).unwrap();
    check("expunge", &store);
    store
        .append(spool(&store, b"appended"), inbox, 0, &[], 0)
        .unwrap();
    check("append", &store);
    store.move_messages(inbox, &[3], inbox).unwrap();
    check("move within", &store);

    // Every new message got a mod-sequence of its own.
    let messages = store.messages(inbox).unwrap();
    let modseqs: BTreeSet<u64> = messages.iter().map(|m| m.modseq).collect();
    assert_eq!(modseqs.len(), messages.len());
}

#[test]
fn expunge_frees_quota_and_bodies() {
    let (dir, store, ann, _) = store_with_accounts();
    let inbox = mailbox(&store, &ann, "INBOX").id;
    let archive = mailbox(&store, &ann, "Archive").id;
    let small = b"small body".to_vec();
    let large = large_body(b'E');
    let (small_id, large_id) = (blob_id(&small), blob_id(&large));
    deliver(&store, &small, &[to(&ann, "INBOX"), to(&ann, "Archive")]).unwrap();
    let large_uid = deliver_one(&store, &large, &ann, "INBOX");
    assert_eq!(
        used(&store, &ann),
        2 * small.len() as u64 + large.len() as u64
    );
    assert!(blob_file(&dir, &large_id).exists());
    let before = highest_modseq(&store, inbox);

    assert_eq!(store.expunge(inbox, &[99, large_uid]).unwrap(), [large_uid]);
    assert_eq!(highest_modseq(&store, inbox), before + 1);
    assert_eq!(used(&store, &ann), 2 * small.len() as u64);
    assert_eq!(refs(&store, &large_id), 0);
    assert!(!blob_file(&dir, &large_id).exists());
    assert!(matches!(
        store.read_blob(&large_id),
        Err(StoreError::NotFound(_))
    ));

    // A body shared with another mailbox stays until its last message goes.
    assert_eq!(store.expunge(inbox, &[1]).unwrap(), [1]);
    assert_eq!(refs(&store, &small_id), 1);
    assert_eq!(read_body(&store, &small_id), small);
    assert_eq!(store.expunge(archive, &[1, 1]).unwrap(), [1]);
    assert_eq!(refs(&store, &small_id), 0);
    assert!(!stored_inline(&store, &small_id));
    assert_eq!(used(&store, &ann), 0);
    assert!(store.messages(inbox).unwrap().is_empty());

    // Nothing to remove changes nothing.
    let modseq = highest_modseq(&store, inbox);
    assert_eq!(store.expunge(inbox, &[1, 2]).unwrap(), Vec::<u32>::new());
    assert_eq!(highest_modseq(&store, inbox), modseq);
    assert!(matches!(
        store.expunge(999, &[1]),
        Err(StoreError::NotFound(_))
    ));

    // UIDs are not reused, and the large body can come back.
    assert_eq!(deliver_one(&store, &large, &ann, "INBOX"), 3);
    assert_eq!(fs::read(blob_file(&dir, &large_id)).unwrap(), large);
}

#[test]
fn expunged_since_reports_later_removals() {
    let (_dir, store, ann, _) = store_with_accounts();
    let inbox = mailbox(&store, &ann, "INBOX").id;
    for body in [b"1", b"2", b"3", b"4"] {
        deliver(&store, body, &[to(&ann, "INBOX")]).unwrap();
    }
    let start = highest_modseq(&store, inbox);
    assert!(store.expunged_since(inbox, 0).unwrap().is_empty());

    store.expunge(inbox, &[2]).unwrap();
    let first = highest_modseq(&store, inbox);
    store.expunge(inbox, &[4, 1]).unwrap();
    let second = highest_modseq(&store, inbox);
    deliver(&store, b"5", &[to(&ann, "INBOX")]).unwrap();

    assert_eq!(store.expunged_since(inbox, 0).unwrap(), [1, 2, 4]);
    assert_eq!(store.expunged_since(inbox, start).unwrap(), [1, 2, 4]);
    assert_eq!(store.expunged_since(inbox, first).unwrap(), [1, 4]);
    assert!(store.expunged_since(inbox, second).unwrap().is_empty());
    let archive = mailbox(&store, &ann, "Archive").id;
    assert!(store.expunged_since(archive, 0).unwrap().is_empty());
    assert!(matches!(
        store.expunged_since(999, 0),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn copies_share_bodies_and_count_against_the_quota() {
    let (dir, store, ann, bob) = store_with_accounts();
    let inbox = mailbox(&store, &ann, "INBOX").id;
    let archive = mailbox(&store, &ann, "Archive").id;
    let small = b"small".to_vec();
    let large = large_body(b'C');
    let (small_id, large_id) = (blob_id(&small), blob_id(&large));
    store
        .update_account(
            &ann.email,
            AccountChange::Quota(Some(2 * large.len() as u64 + 40)),
        )
        .unwrap();
    let mut first = flagged(&ann, "INBOX", FLAG_ANSWERED, &["$Forwarded"]);
    first.internal_date = 1234;
    deliver(&store, &large, &[first]).unwrap();
    deliver(&store, &small, &[to(&ann, "INBOX")]).unwrap();
    deliver(&store, b"in archive", &[to(&ann, "Archive")]).unwrap();
    let used_before = used(&store, &ann);
    let source_modseq = highest_modseq(&store, inbox);
    let target_modseq = highest_modseq(&store, archive);

    let copied = store.copy_messages(inbox, &[2, 99, 1], archive).unwrap();
    assert_eq!(
        copied,
        [
            Copied {
                source_uid: 1,
                target_uid: 2
            },
            Copied {
                source_uid: 2,
                target_uid: 3
            },
        ]
    );
    for Copied {
        source_uid,
        target_uid,
    } in copied
    {
        let original = message(&store, inbox, source_uid);
        let copy = message(&store, archive, target_uid);
        assert!(copy.modseq > target_modseq);
        assert_eq!(
            Message {
                uid: source_uid,
                modseq: original.modseq,
                ..copy
            },
            original
        );
    }
    assert_eq!(message(&store, archive, 2).keywords, ["$Forwarded"]);
    assert_eq!(highest_modseq(&store, inbox), source_modseq);
    assert_eq!(mailbox(&store, &ann, "Archive").uid_next, 4);
    assert_eq!(
        used(&store, &ann),
        used_before + large.len() as u64 + small.len() as u64
    );
    assert_eq!((refs(&store, &large_id), refs(&store, &small_id)), (2, 2));
    assert_eq!(read_body(&store, &large_id), large);

    // A third copy of the large body does not fit: nothing is copied.
    let archive_before = store.messages(archive).unwrap();
    let used_now = used(&store, &ann);
    assert!(matches!(
        store.copy_messages(inbox, &[2, 1], archive),
        Err(StoreError::OverQuota { account }) if account == ann.id
    ));
    assert_eq!(store.messages(archive).unwrap(), archive_before);
    assert_eq!(mailbox(&store, &ann, "Archive").uid_next, 4);
    assert_eq!(used(&store, &ann), used_now);
    assert_eq!(refs(&store, &large_id), 2);

    // Copies go to the same mailbox, but to no other account's.
    let again = store.copy_messages(inbox, &[2], inbox).unwrap();
    assert_eq!(again[0].target_uid, 3);
    assert_eq!(refs(&store, &small_id), 3);
    let bob_inbox = mailbox(&store, &bob, "INBOX").id;
    let err = store.copy_messages(inbox, &[1], bob_inbox).unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert!(err.to_string().contains("one account"), "{err}");
    assert!(store.messages(bob_inbox).unwrap().is_empty());
    assert!(matches!(
        store.copy_messages(999, &[1], archive),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.copy_messages(inbox, &[1], 999),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.copy_messages(inbox, &[42], archive).unwrap(), []);

    // Each copy holds the body: it goes with the last of them.
    store.expunge(inbox, &[1]).unwrap();
    assert!(blob_file(&dir, &large_id).exists());
    store.expunge(archive, &[2]).unwrap();
    assert!(!blob_file(&dir, &large_id).exists());
}

#[test]
fn moves_are_atomic_and_keep_usage() {
    let (_dir, store, ann, bob) = store_with_accounts();
    let inbox = mailbox(&store, &ann, "INBOX").id;
    let archive = mailbox(&store, &ann, "Archive").id;
    let large = large_body(b'M');
    store
        .update_account(
            &ann.email,
            AccountChange::Quota(Some(large.len() as u64 + 10)),
        )
        .unwrap();
    deliver(
        &store,
        &large,
        &[flagged(&ann, "INBOX", FLAG_SEEN, &["keep"])],
    )
    .unwrap();
    deliver(&store, b"stay", &[to(&ann, "INBOX")]).unwrap();
    deliver(&store, b"go", &[flagged(&ann, "INBOX", FLAG_DELETED, &[])]).unwrap();
    let originals = store.messages(inbox).unwrap();
    let used_before = used(&store, &ann);
    let source_modseq = highest_modseq(&store, inbox);
    let target_modseq = highest_modseq(&store, archive);

    // The account is nearly full: a move needs no room.
    let moved = store.move_messages(inbox, &[3, 1], archive).unwrap();
    assert_eq!(
        moved,
        [
            Copied {
                source_uid: 1,
                target_uid: 1
            },
            Copied {
                source_uid: 3,
                target_uid: 2
            },
        ]
    );
    assert_eq!(uids(&store, inbox), [2]);
    for (original, Copied { target_uid, .. }) in
        [&originals[0], &originals[2]].into_iter().zip(moved)
    {
        let now = message(&store, archive, target_uid);
        assert!(now.modseq > target_modseq);
        assert_eq!(
            (
                now.blob,
                now.size,
                now.flags,
                now.keywords,
                now.internal_date
            ),
            (
                original.blob,
                original.size,
                original.flags,
                original.keywords.clone(),
                original.internal_date
            )
        );
    }
    assert_eq!(used(&store, &ann), used_before);
    assert_eq!(refs(&store, &blob_id(&large)), 1);
    assert_eq!(refs(&store, &blob_id(b"go")), 1);
    assert!(highest_modseq(&store, inbox) > source_modseq);
    assert_eq!(store.expunged_since(inbox, source_modseq).unwrap(), [1, 3]);

    // Refused moves leave everything where it was.
    let bob_inbox = mailbox(&store, &bob, "INBOX").id;
    assert!(matches!(
        store.move_messages(inbox, &[2], bob_inbox),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.move_messages(inbox, &[2], 999),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(uids(&store, inbox), [2]);
    assert!(store.messages(bob_inbox).unwrap().is_empty());

    // Within one mailbox a move renumbers.
    let modseq = highest_modseq(&store, archive);
    let moved = store.move_messages(archive, &[1], archive).unwrap();
    assert_eq!(moved[0].target_uid, 3);
    assert_eq!(uids(&store, archive), [2, 3]);
    assert_eq!(store.expunged_since(archive, modseq).unwrap(), [1]);
    assert_eq!(message(&store, archive, 3).keywords, ["keep"]);
    assert_eq!(refs(&store, &blob_id(&large)), 1);
    assert_eq!(used(&store, &ann), used_before);
}

#[test]
fn renaming_takes_children_along_and_keeps_uids() {
    let (_dir, store, ann, _) = store_with_accounts();
    for name in ["Work", "Work/2024", "Work/2024/q1", "Workshop"] {
        store.create_mailbox(ann.id, name).unwrap();
    }
    deliver(&store, b"report", &[to(&ann, "Work/2024")]).unwrap();
    let work = mailbox(&store, &ann, "Work");
    let year = mailbox(&store, &ann, "Work/2024");

    store.rename_mailbox(work.id, "Jobs").unwrap();
    let names = |store: &RedbStore| -> Vec<String> {
        let mut names: Vec<String> = store
            .mailboxes(ann.id)
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        names(&store)[..4],
        ["Archive", "Drafts", "INBOX", "Jobs"].map(String::from)
    );
    assert_eq!(
        names(&store)[4..],
        [
            "Jobs/2024",
            "Jobs/2024/q1",
            "Junk",
            "Sent",
            "Trash",
            "Workshop"
        ]
        .map(String::from)
    );
    assert_eq!(
        store.mailbox(year.id).unwrap(),
        Some(Mailbox {
            name: "Jobs/2024".into(),
            ..year.clone()
        })
    );
    assert_eq!(
        mailbox(&store, &ann, "Jobs").uid_validity,
        work.uid_validity
    );
    assert_eq!(uids(&store, year.id), [1]);
    let delivered = deliver(&store, b"more", &[to(&ann, "Jobs/2024")]).unwrap();
    assert_eq!((delivered[0].mailbox, delivered[0].uid), (year.id, 2));
    assert!(matches!(
        deliver(&store, b"x", &[to(&ann, "Work/2024")]),
        Err(StoreError::NotFound(_))
    ));

    // Into its own subtree.
    store.rename_mailbox(work.id, "Jobs/old").unwrap();
    assert_eq!(mailbox(&store, &ann, "Jobs/old/2024/q1").account, ann.id);
    store.rename_mailbox(work.id, "Jobs").unwrap();

    // Taken names are refused, and nothing changes.
    let before = store.mailboxes(ann.id).unwrap();
    for taken in ["Workshop", "Jobs", "inbox", "Jobs/2024"] {
        assert!(
            matches!(
                store.rename_mailbox(work.id, taken),
                Err(StoreError::AlreadyExists(_))
            ),
            "{taken}"
        );
    }
    store.create_mailbox(ann.id, "Gigs/2024").unwrap();
    let err = store.rename_mailbox(work.id, "Gigs").unwrap_err();
    assert!(
        matches!(&err, StoreError::AlreadyExists(name) if name.contains("Gigs/2024")),
        "{err:?}"
    );
    let mut after = store.mailboxes(ann.id).unwrap();
    after.pop();
    assert_eq!(after, before);

    let inbox = mailbox(&store, &ann, "INBOX");
    let err = store.rename_mailbox(inbox.id, "Old").unwrap_err();
    assert!(err.to_string().contains("INBOX"), "{err}");
    assert_eq!(store.mailbox(inbox.id).unwrap(), Some(inbox));
    assert!(matches!(
        store.rename_mailbox(999, "Elsewhere"),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn deleting_a_mailbox_frees_its_messages_but_leaves_its_children() {
    let (dir, store, ann, _) = store_with_accounts();
    let lists = store.create_mailbox(ann.id, "Lists").unwrap();
    let rust = store.create_mailbox(ann.id, "Lists/rust").unwrap();
    let large = large_body(b'D');
    let large_id = blob_id(&large);
    deliver(&store, &large, &[to(&ann, "Lists"), to(&ann, "Lists/rust")]).unwrap();
    deliver(
        &store,
        b"only here",
        &[to(&ann, "Lists"), to(&ann, "Lists")],
    )
    .unwrap();
    store.expunge(lists.id, &[3]).unwrap();
    assert_eq!(rows(&store, EXPUNGED), 1);

    store.delete_mailbox(lists.id).unwrap();
    assert_eq!(store.mailbox(lists.id).unwrap(), None);
    assert!(matches!(
        store.messages(lists.id),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(rows(&store, EXPUNGED), 0);
    assert_eq!(uids(&store, rust.id), [1]);
    assert_eq!(used(&store, &ann), large.len() as u64);
    assert_eq!(refs(&store, &large_id), 1);
    assert_eq!(refs(&store, &blob_id(b"only here")), 0);
    assert!(!stored_inline(&store, &blob_id(b"only here")));

    store.delete_mailbox(rust.id).unwrap();
    assert_eq!(refs(&store, &large_id), 0);
    assert!(!blob_file(&dir, &large_id).exists());
    assert_eq!(used(&store, &ann), 0);
    assert_eq!(rows(&store, MESSAGES), 0);

    let inbox = mailbox(&store, &ann, "INBOX");
    let err = store.delete_mailbox(inbox.id).unwrap_err();
    assert!(err.to_string().contains("INBOX"), "{err}");
    assert_eq!(store.mailbox(inbox.id).unwrap(), Some(inbox));
    assert!(matches!(
        store.delete_mailbox(lists.id),
        Err(StoreError::NotFound(_))
    ));

    let again = store.create_mailbox(ann.id, "Lists").unwrap();
    assert_ne!(again.uid_validity, lists.uid_validity);
    assert_eq!(again.uid_next, 1);
}

#[test]
fn append_stores_one_message() {
    let (dir, store, ann, _) = store_with_accounts();
    let drafts = mailbox(&store, &ann, "Drafts").id;
    let large = large_body(b'A');
    store
        .update_account(&ann.email, AccountChange::Quota(Some(large.len() as u64)))
        .unwrap();

    let delivered = store
        .append(
            spool(&store, &large),
            drafts,
            FLAG_DRAFT,
            &strings(&["$MDNSent"]),
            -7,
        )
        .unwrap();
    assert_eq!(
        delivered,
        Delivered {
            mailbox: drafts,
            uid: 1
        }
    );
    let stored = message(&store, drafts, 1);
    assert_eq!(
        stored,
        Message {
            uid: 1,
            blob: blob_id(&large),
            size: large.len() as u64,
            internal_date: -7,
            flags: FLAG_DRAFT,
            keywords: strings(&["$MDNSent"]),
            modseq: highest_modseq(&store, drafts),
        }
    );
    assert_eq!(read_body(&store, &stored.blob), large);
    assert_eq!(used(&store, &ann), large.len() as u64);

    assert!(matches!(
        store.append(spool(&store, b"x"), drafts, 0, &[], 0),
        Err(StoreError::OverQuota { .. })
    ));
    assert!(matches!(
        store.append(spool(&store, b"x"), 999, 0, &[], 0),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(uids(&store, drafts), [1]);
    assert_eq!(refs(&store, &blob_id(b"x")), 0);
    assert_eq!(spool_files(&dir), 0);
}

#[test]
fn facts_live_and_die_with_their_body() {
    let (dir, store, ann, bob) = store_with_accounts();
    let small = b"summarized".to_vec();
    let large = large_body(b'S');
    let (small_id, large_id) = (blob_id(&small), blob_id(&large));
    assert!(matches!(
        store.set_blob_fact(&small_id, BlobFact::Summary, b"summary"),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.blob_fact(&small_id, BlobFact::Summary).unwrap(), None);

    deliver(&store, &small, &[to(&ann, "INBOX"), to(&ann, "Archive")]).unwrap();
    deliver(&store, &large, &[to(&ann, "INBOX"), to(&bob, "INBOX")]).unwrap();
    assert_eq!(store.blob_fact(&small_id, BlobFact::Summary).unwrap(), None);
    store
        .set_blob_fact(&small_id, BlobFact::Summary, b"first")
        .unwrap();
    store
        .set_blob_fact(&small_id, BlobFact::Summary, b"second")
        .unwrap();
    store
        .set_blob_fact(&large_id, BlobFact::Summary, &[0; 1000])
        .unwrap();
    store
        .set_blob_fact(&small_id, BlobFact::SearchFilter, b"filter")
        .unwrap();
    store
        .set_blob_fact(&small_id, BlobFact::Header, b"header")
        .unwrap();
    assert_eq!(
        store
            .blob_fact(&small_id, BlobFact::Summary)
            .unwrap()
            .as_deref(),
        Some(&b"second"[..])
    );
    assert_eq!(
        store
            .blob_fact(&small_id, BlobFact::SearchFilter)
            .unwrap()
            .as_deref(),
        Some(&b"filter"[..])
    );
    assert_eq!(
        store.blob_fact(&large_id, BlobFact::SearchFilter).unwrap(),
        None
    );
    assert_eq!(
        store.blob_fact(&large_id, BlobFact::Summary).unwrap(),
        Some(vec![0; 1000])
    );

    // The summary stays while any message has the body.
    let inbox = mailbox(&store, &ann, "INBOX").id;
    store.expunge(inbox, &[1]).unwrap();
    assert!(
        store
            .blob_fact(&small_id, BlobFact::Summary)
            .unwrap()
            .is_some()
    );
    store
        .move_messages(mailbox(&store, &ann, "Archive").id, &[1], inbox)
        .unwrap();
    assert!(
        store
            .blob_fact(&small_id, BlobFact::Summary)
            .unwrap()
            .is_some()
    );
    store
        .delete_mailbox(mailbox(&store, &ann, "Archive").id)
        .unwrap();
    assert!(
        store
            .blob_fact(&small_id, BlobFact::Summary)
            .unwrap()
            .is_some()
    );
    store.expunge(inbox, &[3]).unwrap();
    assert_eq!(store.blob_fact(&small_id, BlobFact::Summary).unwrap(), None);
    for fact in BlobFact::ALL {
        assert_eq!(store.blob_fact(&small_id, fact).unwrap(), None);
    }

    store.remove_account(&ann.email).unwrap();
    assert!(
        store
            .blob_fact(&large_id, BlobFact::Summary)
            .unwrap()
            .is_some()
    );
    store.remove_account(&bob.email).unwrap();
    assert_eq!(store.blob_fact(&large_id, BlobFact::Summary).unwrap(), None);
    assert!(!blob_file(&dir, &large_id).exists());
    assert_eq!(rows(&store, BLOB_SUMMARIES), 0);
    assert_eq!(rows(&store, BLOB_SEARCH), 0);
    assert_eq!(rows(&store, BLOB_HEADERS), 0);

    // A body that comes back has no summary until it gets one again.
    let carl = store
        .create_account(new_account("carl@example.org"))
        .unwrap();
    deliver(&store, &small, &[to(&carl, "INBOX")]).unwrap();
    assert_eq!(store.blob_fact(&small_id, BlobFact::Summary).unwrap(), None);
}

#[test]
fn removing_an_account_forgets_its_expunged_messages() {
    let (_dir, store, ann, bob) = store_with_accounts();
    deliver(&store, b"both", &[to(&ann, "INBOX"), to(&bob, "INBOX")]).unwrap();
    store
        .expunge(mailbox(&store, &ann, "INBOX").id, &[1])
        .unwrap();
    let bob_inbox = mailbox(&store, &bob, "INBOX").id;
    store.expunge(bob_inbox, &[1]).unwrap();
    assert_eq!(rows(&store, EXPUNGED), 2);
    store.remove_account(&ann.email).unwrap();
    assert_eq!(rows(&store, EXPUNGED), 1);
    assert_eq!(store.expunged_since(bob_inbox, 0).unwrap(), [1]);
}

/// Everything the interface tells about one mailbox.
#[derive(Debug, PartialEq)]
struct MailboxState {
    mailbox: Mailbox,
    messages: Vec<Message>,
    expunged: Vec<u32>,
    summaries: Vec<Option<Vec<u8>>>,
}

/// Everything the interface tells about one account.
fn account_state(store: &RedbStore, account: &Account) -> (Option<Account>, Vec<MailboxState>) {
    let mut mailboxes = Vec::new();
    for mailbox in store.mailboxes(account.id).unwrap() {
        let messages = store.messages(mailbox.id).unwrap();
        mailboxes.push(MailboxState {
            expunged: store.expunged_since(mailbox.id, 0).unwrap(),
            summaries: messages
                .iter()
                .map(|m| store.blob_fact(&m.blob, BlobFact::Summary).unwrap())
                .collect(),
            messages,
            mailbox,
        });
    }
    (store.account_by_id(account.id).unwrap(), mailboxes)
}

#[test]
fn changes_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let large = large_body(b'R');
    let (ann, state) = {
        let (store, ann) = store_with_ann(&dir);
        let lists = store.create_mailbox(ann.id, "Lists").unwrap();
        store.create_mailbox(ann.id, "Lists/rust").unwrap();
        let inbox = mailbox(&store, &ann, "INBOX").id;
        deliver(
            &store,
            b"one",
            &[flagged(&ann, "INBOX", FLAG_SEEN, &["$Junk"])],
        )
        .unwrap();
        deliver(&store, &large, &[to(&ann, "INBOX")]).unwrap();
        deliver(&store, b"three", &[to(&ann, "INBOX")]).unwrap();
        store
            .set_flags(inbox, &[2], &add(FLAG_FLAGGED, &["Later"]), None)
            .unwrap();
        store.expunge(inbox, &[3]).unwrap();
        store.copy_messages(inbox, &[1], lists.id).unwrap();
        store.move_messages(inbox, &[2], lists.id).unwrap();
        store
            .set_blob_fact(&blob_id(&large), BlobFact::Summary, b"structure")
            .unwrap();
        store.subscribe(ann.id, "Lists/rust", true).unwrap();
        store.subscribe(ann.id, "Junk", false).unwrap();
        store.rename_mailbox(lists.id, "Groups").unwrap();
        store
            .append(spool(&store, b"draft"), inbox, FLAG_DRAFT, &[], 5)
            .unwrap();
        (ann.clone(), account_state(&store, &ann))
    };

    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(account_state(&store, &ann), state);
    assert_eq!(
        store.subscriptions(ann.id).unwrap(),
        strings(&["Archive", "Drafts", "Groups/rust", "INBOX", "Sent", "Trash"])
    );
    assert_eq!(mailbox(&store, &ann, "Groups/rust").account, ann.id);
    assert_eq!(
        store
            .blob_fact(&blob_id(&large), BlobFact::Summary)
            .unwrap()
            .as_deref(),
        Some(&b"structure"[..])
    );
    assert_eq!(read_body(&store, &blob_id(&large)), large);
    assert_eq!(used(&store, &ann), 3 + large.len() as u64 + 3 + 5);

    // Counters carry on.
    let inbox = mailbox(&store, &ann, "INBOX");
    let delivered = deliver(&store, b"later", &[to(&ann, "INBOX")]).unwrap();
    assert_eq!(delivered[0].uid, inbox.uid_next);
    assert!(message(&store, inbox.id, delivered[0].uid).modseq > inbox.highest_modseq);
}

/// One step of [`random_changes_keep_usage_and_references_exact`]; mailboxes and bodies are
/// indexes into its fixed lists.
#[derive(Clone, Debug)]
enum Step {
    Deliver {
        body: usize,
        to: Vec<usize>,
    },
    Copy {
        from: usize,
        pick: Vec<prop::sample::Index>,
        to: usize,
    },
    Move {
        from: usize,
        pick: Vec<prop::sample::Index>,
        to: usize,
    },
    Expunge {
        from: usize,
        pick: Vec<prop::sample::Index>,
    },
    Delete {
        mailbox: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let mailbox = 0..MAILBOXES.len();
    let pick = || proptest::collection::vec(any::<prop::sample::Index>(), 0..4);
    prop_oneof![
        3 => (0..BODIES, proptest::collection::vec(mailbox.clone(), 1..4))
            .prop_map(|(body, to)| Step::Deliver { body, to }),
        2 => (mailbox.clone(), pick(), mailbox.clone())
            .prop_map(|(from, pick, to)| Step::Copy { from, pick, to }),
        2 => (mailbox.clone(), pick(), mailbox.clone())
            .prop_map(|(from, pick, to)| Step::Move { from, pick, to }),
        2 => (mailbox.clone(), pick()).prop_map(|(from, pick)| Step::Expunge { from, pick }),
        1 => mailbox.prop_map(|mailbox| Step::Delete { mailbox }),
    ]
}

/// The mailboxes of the random steps: (account, name).
const MAILBOXES: [(usize, &str); 5] = [
    (0, "INBOX"),
    (0, "Archive"),
    (0, "Lists"),
    (1, "INBOX"),
    (1, "Archive"),
];
const BODIES: usize = 4;

fn body(index: usize) -> Vec<u8> {
    match index {
        0 => b"tiny".to_vec(),
        1 => vec![b'm'; 1000],
        2 => vec![b'e'; SMALL_BLOB_MAX],
        _ => large_body(b'L'),
    }
}

/// UIDs of `mailbox` picked by `pick`, plus one that does not exist.
fn picked(store: &RedbStore, mailbox: MailboxId, pick: &[prop::sample::Index]) -> Vec<u32> {
    let uids = match store.messages(mailbox) {
        Ok(messages) => messages.iter().map(|m| m.uid).collect(),
        Err(_) => Vec::new(),
    };
    let mut picked: Vec<u32> = if uids.is_empty() {
        Vec::new()
    } else {
        pick.iter().map(|index| *index.get(&uids)).collect()
    };
    picked.push(u32::MAX);
    picked
}

/// Checks that every account's usage is the sum of its messages' sizes, that every body's
/// reference count is the number of messages with it, and that no body outlives its messages.
fn check_accounting(dir: &TempDir, store: &RedbStore, accounts: &[Account]) {
    let mut messages_per_body = BTreeMap::<BlobId, u64>::new();
    for account in accounts {
        let mut size = 0;
        for mailbox in store.mailboxes(account.id).unwrap() {
            for message in store.messages(mailbox.id).unwrap() {
                assert!(message.uid < mailbox.uid_next);
                assert!(message.modseq <= mailbox.highest_modseq);
                size += message.size;
                *messages_per_body.entry(message.blob).or_default() += 1;
            }
        }
        let account = store.account_by_id(account.id).unwrap().unwrap();
        assert_eq!(account.used, size, "usage of {}", account.email);
        assert!(account.quota.is_none_or(|quota| account.used <= quota));
    }
    let counted = store
        .read(|txn| {
            let mut counted = BTreeMap::new();
            for entry in txn.open(BLOB_REFS).unwrap().iter().unwrap() {
                let (id, refs) = entry.unwrap();
                counted.insert(BlobId(*id.value()), refs.value());
            }
            Ok(counted)
        })
        .unwrap();
    assert_eq!(counted, messages_per_body);
    for index in 0..BODIES {
        let content = body(index);
        let id = blob_id(&content);
        let kept = messages_per_body.contains_key(&id);
        if content.len() > SMALL_BLOB_MAX {
            assert_eq!(blob_file(dir, &id).exists(), kept);
        } else {
            assert_eq!(stored_inline(store, &id), kept);
        }
    }
}

#[test]
fn random_changes_keep_usage_and_references_exact() {
    let config = ProptestConfig {
        cases: 40,
        ..ProptestConfig::default()
    };
    proptest!(config, |(steps in proptest::collection::vec(step(), 1..32))| {
        let (dir, store, ann, bob) = store_with_accounts();
        // Room for a few bodies, so that some copies and deliveries are refused.
        store
            .update_account(&ann.email, AccountChange::Quota(Some(5 * SMALL_BLOB_MAX as u64 / 2)))
            .unwrap();
        store.create_mailbox(ann.id, "Lists").unwrap();
        let accounts = [ann, bob];
        let ids: Vec<MailboxId> = MAILBOXES
            .iter()
            .map(|&(account, name)| mailbox(&store, &accounts[account], name).id)
            .collect();

        for step in steps {
            let before: Vec<_> = accounts.iter().map(|a| account_state(&store, a)).collect();
            let result = match &step {
                Step::Deliver { body: index, to: targets } => {
                    let deliveries: Vec<Delivery> = targets
                        .iter()
                        .map(|&target| {
                            let (account, name) = MAILBOXES[target];
                            super::to(&accounts[account], name)
                        })
                        .collect();
                    // Accounts without room are left out; the others get their copies.
                    store.deliver(super::spool(&store, &body(*index)), &deliveries).map(drop)
                }
                Step::Copy { from, pick, to } => store
                    .copy_messages(ids[*from], &picked(&store, ids[*from], pick), ids[*to])
                    .map(drop),
                Step::Move { from, pick, to } => store
                    .move_messages(ids[*from], &picked(&store, ids[*from], pick), ids[*to])
                    .map(drop),
                Step::Expunge { from, pick } => store
                    .expunge(ids[*from], &picked(&store, ids[*from], pick))
                    .map(drop),
                Step::Delete { mailbox } => store.delete_mailbox(ids[*mailbox]),
            };
            match &result {
                Ok(()) | Err(StoreError::OverQuota { .. } | StoreError::NotFound(_)) => {}
                // Deleting INBOX is refused.
                Err(StoreError::Io(message)) if message.contains("INBOX") => {}
                Err(other) => panic!("{step:?}: {other:?}"),
            }
            if result.is_err() {
                let after: Vec<_> = accounts.iter().map(|a| account_state(&store, a)).collect();
                prop_assert_eq!(after, before, "a refused {:?} changed something", step);
            }
            check_accounting(&dir, &store, &accounts);
        }
    });
}

/// What `mailbox_changes` says changed above `modseq`: (UID, modseq) of each message added
/// or changed, and the UIDs expunged.
fn changes_above(
    store: &RedbStore,
    mailbox: MailboxId,
    modseq: u64,
) -> (Vec<(u32, u64)>, Vec<u32>) {
    let now = store.mailbox_changes(mailbox, modseq).unwrap().unwrap();
    assert_eq!(now.mailbox.highest_modseq, highest_modseq(store, mailbox));
    let changed = now.changed.iter().map(|m| (m.uid, m.modseq)).collect();
    (changed, now.vanished)
}

#[test]
fn changes_since_a_modseq_are_read_by_modseq() {
    let (_dir, store, ann, _) = store_with_accounts();
    let inbox = mailbox(&store, &ann, "INBOX").id;
    let archive = mailbox(&store, &ann, "Archive").id;
    for n in 0..4 {
        deliver_one(
            &store,
            format!("Subject: {n}\r\n\r\n.\r\n").as_bytes(),
            &ann,
            "INBOX",
        );
    }
    let synced = highest_modseq(&store, inbox);
    assert_eq!(changes_above(&store, inbox, synced), (vec![], vec![]));
    assert_eq!(
        changes_above(&store, inbox, 0).0.len(),
        4,
        "everything is above 0"
    );

    store
        .set_flags(inbox, &[2], &add(FLAG_ANSWERED, &[]), None)
        .unwrap();
    store.expunge(inbox, &[3]).unwrap();
    store.move_messages(inbox, &[4], archive).unwrap();
    let moved_in = deliver_one(&store, b"Subject: 5\r\n\r\n.\r\n", &ann, "INBOX");
    let (changed, vanished) = changes_above(&store, inbox, synced);
    assert_eq!(
        changed,
        [(2, synced + 1), (moved_in, synced + 4)],
        "each message once, at its latest modseq"
    );
    assert_eq!(vanished, [3, 4]);
    // A message changed twice is kept under the last change only.
    store
        .set_flags(inbox, &[2], &add(FLAG_DRAFT, &[]), None)
        .unwrap();
    assert_eq!(changes_above(&store, inbox, synced).0[0], (2, synced + 5));
    assert_eq!(
        changes_above(&store, inbox, synced + 4).0,
        [(2, synced + 5)]
    );
    assert_eq!(store.expunged_since(inbox, synced + 2).unwrap(), [4]);

    store.delete_mailbox(archive).unwrap();
    assert!(store.mailbox_changes(archive, 0).unwrap().is_none());
    let left = |table: Def<(MailboxId, u64, u32), ()>| {
        store
            .read(|txn| {
                let table = txn.open(table).unwrap();
                Ok(table
                    .range((archive, 0, 0)..=(archive, u64::MAX, u32::MAX))
                    .unwrap()
                    .count())
            })
            .unwrap()
    };
    assert_eq!(left(MESSAGE_CHANGES), 0, "gone with its mailbox");
    assert_eq!(left(VANISHED), 0);
}

#[test]
fn a_database_of_layout_2_gets_its_changes_indexed() {
    use crate::tables::{META, SCHEMA_VERSION, SCHEMA_VERSION_KEY};

    let dir = tempfile::tempdir().unwrap();
    let (inbox, before) = {
        let (store, ann) = store_with_ann(&dir);
        for n in 0..3 {
            deliver_one(
                &store,
                format!("Subject: {n}\r\n\r\n.\r\n").as_bytes(),
                &ann,
                "INBOX",
            );
        }
        let inbox = mailbox(&store, &ann, "INBOX").id;
        store
            .set_flags(inbox, &[1], &add(FLAG_ANSWERED, &[]), None)
            .unwrap();
        store.expunge(inbox, &[2]).unwrap();
        (inbox, changes_above(&store, inbox, 0))
    };
    assert_eq!(before.1, [2]);
    // What layout 2 wrote: neither index.
    let db = Database::create(dir.path().join(DATABASE_FILE)).unwrap();
    let txn = db.begin_write().unwrap();
    txn.delete_table(MESSAGE_CHANGES.raw()).unwrap();
    txn.delete_table(VANISHED.raw()).unwrap();
    txn.open(META)
        .unwrap()
        .insert(SCHEMA_VERSION_KEY, 2)
        .unwrap();
    txn.commit().unwrap();
    drop(db);

    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(changes_above(&store, inbox, 0), before);
    let version = store
        .read(|txn| {
            Ok(txn
                .open(META)
                .unwrap()
                .get(SCHEMA_VERSION_KEY)
                .unwrap()
                .map(|v| v.value()))
        })
        .unwrap();
    assert_eq!(version, Some(SCHEMA_VERSION));
}
