//! Send later and undo send on the real store, with the clock given: a message submitted
//! for later stays held before its time and is delivered at it, once; one taken back is
//! never delivered; the undo delay holds every message its user sends.

use std::net::{IpAddr, Ipv4Addr};

use engine::Engine;
use engine::mail::date::unix_now;
use engine::store::Store;
use engine::submit::{Refused, Submission, Submitted};
use store_redb::RedbStore;

fn engine() -> (tempfile::TempDir, Engine<RedbStore>) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(RedbStore::open(dir.path()).unwrap(), "mx.test");
    engine.add_domain("example.test").unwrap();
    for user in ["alice@example.test", "bob@example.test"] {
        engine
            .add_user(user, "a long passphrase", None, false)
            .unwrap();
    }
    (dir, engine)
}

fn submit(
    engine: &Engine<RedbStore>,
    subject: &str,
    send_at: Option<i64>,
) -> Result<Submitted, Refused> {
    let message = format!(
        "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: {subject}\r\n\r\nhi\r\n"
    );
    let recipients = ["bob@example.test".to_string()];
    let submission = Submission {
        user: "alice@example.test",
        from: "alice@example.test",
        recipients: &recipients,
        message: message.as_bytes(),
        client: IpAddr::V4(Ipv4Addr::LOCALHOST),
        send_at,
    };
    engine.submit(&submission)
}

fn send(engine: &Engine<RedbStore>, subject: &str, send_at: Option<i64>) -> Option<(u64, i64)> {
    submit(engine, subject, send_at).unwrap().held
}

fn bobs_inbox(engine: &Engine<RedbStore>) -> usize {
    let store = engine.store();
    let bob = store.account("bob@example.test").unwrap().unwrap();
    let mailboxes = store.mailboxes(bob.id).unwrap();
    let inbox = mailboxes.iter().find(|m| m.name == "INBOX").unwrap();
    store.messages(inbox.id).unwrap().len()
}

#[test]
fn a_message_sent_for_later_is_delivered_at_its_time_once() {
    let (_dir, engine) = engine();
    let at = unix_now() + 3600;
    let (id, held_until) = send(&engine, "later", Some(at)).unwrap();
    assert_eq!(held_until, at);
    assert_eq!(
        send(&engine, "now", None),
        None,
        "no time, no undo delay: at once"
    );
    assert_eq!(bobs_inbox(&engine), 1);
    let waiting = engine.waiting("alice@example.test").unwrap();
    assert_eq!((waiting[0].id, waiting[0].subject.as_str()), (id, "later"));
    assert!(engine.waiting("bob@example.test").unwrap().is_empty());
    assert!(
        engine.cancel_held("bob@example.test", id).is_err(),
        "not bob's"
    );

    engine.release_held(at - 1);
    assert_eq!(bobs_inbox(&engine), 1, "not before its time");
    engine.release_held(at);
    assert_eq!(bobs_inbox(&engine), 2);
    engine.release_held(at + 60);
    assert_eq!(bobs_inbox(&engine), 2, "released once");
    assert!(engine.waiting("alice@example.test").unwrap().is_empty());
}

#[test]
fn the_undo_delay_holds_every_message_and_a_cancelled_one_never_goes() {
    let (_dir, engine) = engine();
    assert!(engine.set_undo_seconds("alice@example.test", 31).is_err());
    engine.set_undo_seconds("alice@example.test", 20).unwrap();
    let now = unix_now();
    let (oops, until) = send(&engine, "oops", None).unwrap();
    assert!((now + 20..now + 22).contains(&until), "{until} - {now}");
    let (kept, _) = send(&engine, "kept", Some(now - 100)).unwrap();
    engine.cancel_held("alice@example.test", oops).unwrap();
    assert!(engine.cancel_held("alice@example.test", oops).is_err());
    engine.release_held(until + 5);
    assert_eq!(bobs_inbox(&engine), 1, "the one not taken back");
    assert!(
        engine.cancel_held("alice@example.test", kept).is_err(),
        "gone already"
    );
    let refused = submit(&engine, "far", Some(now + 400 * 86_400)).unwrap_err();
    assert_eq!(refused.reply.code, 554, "{refused:?}");
}

#[test]
fn a_message_refused_at_its_release_comes_back_to_its_sender() {
    let (_dir, engine) = engine();
    let at = unix_now() + 3600;
    send(&engine, "too big for bob now", Some(at)).unwrap();
    engine.set_quota("bob@example.test", Some(10)).unwrap();
    engine.release_held(at);
    assert_eq!(bobs_inbox(&engine), 0);
    assert!(
        engine.waiting("alice@example.test").unwrap().is_empty(),
        "not tried again"
    );
    let store = engine.store();
    let alice = store.account("alice@example.test").unwrap().unwrap();
    let mailboxes = store.mailboxes(alice.id).unwrap();
    let inbox = mailboxes.iter().find(|m| m.name == "INBOX").unwrap();
    let bounces = store.messages(inbox.id).unwrap();
    assert_eq!(bounces.len(), 1, "alice hears of it");
    let mut report = Vec::new();
    std::io::Read::read_to_end(&mut store.read_blob(&bounces[0].blob).unwrap(), &mut report)
        .unwrap();
    let report = String::from_utf8_lossy(&report);
    assert!(
        report.contains("Undelivered Mail Returned to Sender"),
        "{report}"
    );
    assert!(
        report.contains("too big for bob now"),
        "the original quoted: {report}"
    );
}
