//! Held submissions: stored with their body in one commit, released (delivered and queued)
//! in a commit that removes them, cancelled with their body reference, never both.

use engine::LocalRecipient;
use engine::queue::{NewHeld, NewQueued, Outbound, OutboundEnvelope};
use engine::store::Onward;

use super::*;

const NOW: i64 = 1_800_000_000;

fn held(ann: &Account, bob: &Account) -> NewHeld {
    let envelope = OutboundEnvelope {
        sender: ann.email.clone(),
        ..OutboundEnvelope::default()
    };
    NewHeld {
        account: ann.id,
        created: NOW,
        release_at: NOW + 60,
        subject: "Later".into(),
        envelope: envelope.clone(),
        local: vec![LocalRecipient::plain(bob.id)],
        hooked: Vec::new(),
        queued: vec![NewQueued {
            created: NOW,
            envelope,
            recipients: vec![Outbound::new(
                "carl@example.net".into(),
                None,
                None,
                NOW + 60,
            )],
        }],
    }
}

fn hold(store: &RedbStore, body: &[u8], held: NewHeld) -> u64 {
    let onward = Onward {
        hold: Some(held),
        ..Onward::default()
    };
    let stored = store.submit(spool(store, body), &[], onward).unwrap();
    assert!(stored.delivered.is_empty() && stored.queued.is_empty());
    stored.held.unwrap()
}

fn release(store: &RedbStore, body: &[u8], id: u64, bob: &Account) -> StoreResult<Stored> {
    let message = store.held_messages(None)?.into_iter().find(|m| m.id == id);
    let queued = message.map(|m| m.held.queued).unwrap_or_default();
    let onward = Onward {
        queued,
        release: Some(id),
        ..Onward::default()
    };
    store.submit(spool(store, body), &[to(bob, "INBOX")], onward)
}

#[test]
fn a_held_submission_is_released_once_with_its_body() {
    let (_dir, store, ann, bob) = store_with_accounts();
    let body = b"Subject: Later\r\n\r\nlater\r\n";
    let id = hold(&store, body, held(&ann, &bob));
    assert_eq!(
        refs(&store, &blob_id(body)),
        1,
        "the held submission's reference"
    );
    assert_eq!(store.next_held().unwrap(), Some(NOW + 60));
    assert!(store.held_due(NOW + 59, 10).unwrap().is_empty());
    let due = store.held_due(NOW + 60, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].held, held(&ann, &bob));
    assert_eq!(store.held_messages(Some(ann.id)).unwrap().len(), 1);
    assert!(store.held_messages(Some(bob.id)).unwrap().is_empty());

    let stored = release(&store, body, id, &bob).unwrap();
    assert_eq!((stored.delivered.len(), stored.queued.len()), (1, 1));
    assert_eq!(
        refs(&store, &blob_id(body)),
        2,
        "bob's copy and the queue entry"
    );
    assert_eq!(read_body(&store, &blob_id(body)), body);
    assert_eq!(store.next_held().unwrap(), None);
    assert!(matches!(
        release(&store, body, id, &bob),
        Err(StoreError::NotFound(_))
    ));
    assert!(!store.cancel_held(id).unwrap(), "gone once released");
    let inbox = store.mailboxes(bob.id).unwrap();
    let inbox = inbox.iter().find(|m| m.name == "INBOX").unwrap();
    assert_eq!(store.messages(inbox.id).unwrap().len(), 1, "delivered once");
}

#[test]
fn a_cancelled_submission_is_never_released() {
    let (dir, store, ann, bob) = store_with_accounts();
    let body = b"Subject: Oops\r\n\r\nwrong person\r\n";
    let id = hold(&store, body, held(&ann, &bob));
    assert!(store.cancel_held(id).unwrap());
    assert!(!store.cancel_held(id).unwrap());
    assert_eq!(refs(&store, &blob_id(body)), 0);
    assert!(matches!(
        release(&store, body, id, &bob),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.queue().unwrap().len(), 0);
    assert_eq!(spool_files(&dir), 0);
}

#[test]
fn undo_delays_and_held_mail_go_with_the_account() {
    let (_dir, store, ann, bob) = store_with_accounts();
    assert_eq!(store.undo_seconds(ann.id).unwrap(), 0);
    store.set_undo_seconds(ann.id, 20).unwrap();
    assert_eq!(store.undo_seconds(ann.id).unwrap(), 20);
    let body = b"Subject: x\r\n\r\nx\r\n";
    hold(&store, body, held(&ann, &bob));
    store.remove_account(&ann.email).unwrap();
    assert!(store.held_messages(None).unwrap().is_empty());
    assert_eq!(store.undo_seconds(ann.id).unwrap(), 0);
    assert_eq!(refs(&store, &blob_id(body)), 0);
}

#[test]
fn a_release_that_keeps_nothing_leaves_the_hold_for_its_sender_to_hear_of() {
    let (_dir, store, ann, bob) = store_with_accounts();
    let body = b"Subject: Refused\r\n\r\nno room\r\n";
    let id = hold(&store, body, held(&ann, &bob));
    let onward = Onward {
        release: Some(id),
        ..Onward::default()
    };
    let stored = store.submit(spool(&store, body), &[], onward).unwrap();
    assert!(stored.is_empty());
    assert_eq!(refs(&store, &blob_id(body)), 1, "the hold keeps the body");
    assert!(store.cancel_held(id).unwrap());
    assert_eq!(refs(&store, &blob_id(body)), 0);
}
