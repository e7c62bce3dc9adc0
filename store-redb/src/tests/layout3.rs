//! A database written by Postern at layout 3 (the last with a redb type per table), through
//! its CLI, SMTP, IMAP and CalDAV, opened by this one.
//!
//! What it holds: example.org with ann and bob, the alias info → ann, boss@corp.test as an
//! important sender of ann's, ann's active Sieve script `main`, an API token of hers; five
//! messages from boss delivered to ann (the first through the alias), the first flagged
//! with the keyword `$custom` and copied into a new `Archive/2026`, the second expunged;
//! an event `ev1.ics` in her default calendar.

use std::io::Read;

use engine::store::dav::CollectionKind;

use super::*;

/// A data directory holding the layout-3 database.
fn layout3_directory() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut database = Vec::new();
    flate2::read::GzDecoder::new(&include_bytes!("layout3.redb.gz")[..])
        .read_to_end(&mut database)
        .unwrap();
    fs::write(dir.path().join(DATABASE_FILE), database).unwrap();
    dir
}

#[test]
fn a_database_of_layout_3_is_read_as_it_was_written() {
    let dir = layout3_directory();
    let store = RedbStore::open(dir.path()).unwrap();
    let ann = store.account("ann@example.org").unwrap().unwrap();
    assert!(store.account("bob@example.org").unwrap().is_some());

    let names: Vec<String> = store
        .mailboxes(ann.id)
        .unwrap()
        .into_iter()
        .map(|mailbox| mailbox.name)
        .collect();
    assert_eq!(
        names,
        [
            "INBOX",
            "Drafts",
            "Sent",
            "Junk",
            "Trash",
            "Archive",
            "Archive/2026"
        ]
    );
    let inbox = mailbox(&store, &ann, "INBOX");
    let messages = store.messages(inbox.id).unwrap();
    let uids: Vec<u32> = messages.iter().map(|message| message.uid).collect();
    assert_eq!(uids, [1, 3, 4, 5]);
    assert_eq!(inbox.uid_next, 6);
    let first = &messages[0];
    assert_ne!(first.flags & FLAG_FLAGGED, 0);
    assert_eq!(first.keywords, ["$custom", "$Important"]);
    assert_eq!(messages[1].keywords, ["$Important"]);
    let body = String::from_utf8(read_body(&store, &first.blob)).unwrap();
    assert!(body.contains("Subject: hello 0\r\n"), "{body}");
    assert_eq!(store.expunged_since(inbox.id, 0).unwrap(), [2]);
    let archived = store
        .messages(mailbox(&store, &ann, "Archive/2026").id)
        .unwrap();
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0].blob, first.blob);

    let scripts = store.sieve_scripts(ann.id).unwrap();
    assert_eq!(
        (scripts[0].name.as_str(), scripts[0].active),
        ("main", true)
    );
    assert!(scripts[0].source.contains("fileinto \"Lists\""));
    let aliases = store.aliases(Some("example.org")).unwrap();
    assert!(
        aliases
            .iter()
            .any(|alias| alias.source == "info@example.org" && alias.target == "ann@example.org")
    );
    assert_eq!(store.vip_senders(ann.id).unwrap(), ["boss@corp.test"]);
    assert_eq!(store.tokens().unwrap().len(), 1);

    let calendar = store
        .collection(ann.id, CollectionKind::Calendar, "default")
        .unwrap()
        .unwrap();
    let items = store.items(calendar.id).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].name, "ev1.ics");
    let event = store.item_data(calendar.id, "ev1.ics").unwrap().unwrap();
    assert!(
        String::from_utf8(event)
            .unwrap()
            .contains("SUMMARY:Meeting")
    );

    // It takes mail as before, and the next open finds nothing to upgrade.
    let delivered = deliver(&store, b"Subject: after\r\n\r\n.\r\n", &[to(&ann, "INBOX")]).unwrap();
    assert_eq!(delivered[0].uid, 6);
    drop(store);
    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(store.messages(inbox.id).unwrap().len(), 5);
}
