//! Snooze on the real store, the way an IMAP client sets it: a message put in `Snoozed`
//! with a `$SnoozedUntil-…` keyword is left alone before its time and woken at it, back in
//! the INBOX with a new UID, unread, the keyword gone; one without the keyword stays.

use std::io::Write;

use engine::Engine;
use engine::snooze::{keyword, wake_time};
use engine::store::{Delivery, FLAG_SEEN, Store, Stored};
use store_redb::RedbStore;

fn put(engine: &Engine<RedbStore>, mailbox: &str, keywords: Vec<String>) {
    let store = engine.store();
    let account = store.account("alice@example.test").unwrap().unwrap();
    let mut spool = store.create_spool().unwrap();
    spool
        .write_all(b"Subject: later\r\n\r\nread me then\r\n")
        .unwrap();
    let delivery = Delivery {
        account: account.id,
        mailbox: mailbox.into(),
        flags: FLAG_SEEN,
        keywords,
        internal_date: 0,
    };
    store
        .deliver(spool, &[delivery])
        .and_then(Stored::all_or_over_quota)
        .unwrap();
}

#[test]
fn a_message_an_imap_client_snoozes_wakes_at_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(RedbStore::open(dir.path()).unwrap(), "mx.test");
    engine.add_domain("example.test").unwrap();
    engine
        .add_user("alice@example.test", "a long passphrase", None, false)
        .unwrap();
    let account = engine
        .store()
        .account("alice@example.test")
        .unwrap()
        .unwrap();
    engine
        .store()
        .create_mailbox(account.id, "Snoozed")
        .unwrap();
    let at = wake_time("$SnoozedUntil-2030-01-01T08:00Z").unwrap();
    put(&engine, "Snoozed", vec![keyword(at)]);
    put(&engine, "Snoozed", Vec::new());
    let mailbox = |name: &str| {
        let store = engine.store();
        let found = store.mailboxes(account.id).unwrap();
        let id = found.iter().find(|m| m.name == name).unwrap().id;
        store.messages(id).unwrap()
    };
    assert_eq!(engine.wake_snoozed(at - 1).unwrap(), (0, Some(at)));
    assert_eq!(mailbox("Snoozed").len(), 2);
    assert_eq!(engine.wake_snoozed(at).unwrap(), (1, None));
    let inbox = mailbox("INBOX");
    assert_eq!(inbox.len(), 1);
    assert_eq!(
        (inbox[0].flags & FLAG_SEEN, inbox[0].keywords.len()),
        (0, 0)
    );
    assert_eq!(mailbox("Snoozed").len(), 1, "the one without a time stays");
}
