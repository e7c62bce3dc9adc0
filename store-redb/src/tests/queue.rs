//! The outbound queue: submitted with the local copies in one commit, scheduled by the due
//! time of its pending recipients, and gone with its body reference once no one is pending.

use engine::queue::{NewQueued, Notify, Outbound, OutboundEnvelope, QueueId, Ret, State};

use engine::store::Onward;

use super::*;

const NOW: i64 = 1_800_000_000;

fn outbound(addresses: &[&str]) -> NewQueued {
    NewQueued {
        created: NOW,
        envelope: OutboundEnvelope {
            sender: "ann@example.org".into(),
            ret: Some(Ret::Hdrs),
            envid: Some("env-1".into()),
            ..OutboundEnvelope::default()
        },
        recipients: addresses
            .iter()
            .map(|a| {
                let notify = Notify {
                    failure: true,
                    ..Notify::default()
                };
                Outbound::new(a.to_string(), None, Some(notify), NOW)
            })
            .collect(),
    }
}

fn submit(store: &RedbStore, body: &[u8], local: &[Delivery], remote: &[&str]) -> QueueId {
    let stored = store
        .submit(
            spool(store, body),
            local,
            Onward::queued(vec![outbound(remote)]),
        )
        .unwrap();
    assert_eq!(stored.delivered.len(), local.len());
    stored.queued[0]
}

#[test]
fn a_submission_is_delivered_and_queued_with_one_body() {
    let (_dir, store, ann, _) = store_with_accounts();
    let body = b"Subject: out\r\n\r\nhello\r\n";
    let id = submit(&store, body, &[to(&ann, "Sent")], &["carl@example.net"]);
    let blob = blob_id(body);
    assert_eq!(refs(&store, &blob), 2, "one copy and one queue entry");
    let queued = store.queued(id).unwrap().unwrap();
    assert_eq!(queued.blob, blob);
    assert_eq!(queued.size, body.len() as u64);
    assert_eq!(queued.envelope, outbound(&[]).envelope);
    assert_eq!(
        queued.recipients,
        outbound(&["carl@example.net"]).recipients
    );
    assert_eq!(store.queue().unwrap(), std::slice::from_ref(&queued));
    assert_eq!(store.queue_due(NOW, 10).unwrap(), [queued]);
    assert_eq!(store.queue_next_due().unwrap(), Some(NOW));
    assert_eq!(read_body(&store, &blob), body);
}

#[test]
fn one_submission_may_queue_for_several_senders() {
    let (_dir, store, ann, _) = store_with_accounts();
    let body = b"Subject: forwarded and sent\r\n\r\n";
    let mut forwarded = outbound(&["fwd@example.net"]);
    forwarded.envelope.sender = "SRS0=abcd=aa=example.org=ann@example.org".into();
    let ids = store
        .submit(
            spool(&store, body),
            &[to(&ann, "INBOX")],
            Onward::queued(vec![outbound(&["carl@example.net"]), forwarded]),
        )
        .unwrap()
        .queued;
    assert_eq!(ids.len(), 2);
    assert!(ids[0] < ids[1]);
    assert_eq!(
        refs(&store, &blob_id(body)),
        3,
        "one copy and two queue entries"
    );
    let senders: Vec<String> = store
        .queue()
        .unwrap()
        .into_iter()
        .map(|m| m.envelope.sender)
        .collect();
    assert_eq!(
        senders,
        [
            "ann@example.org",
            "SRS0=abcd=aa=example.org=ann@example.org"
        ]
    );
}

#[test]
fn only_due_messages_come_back_soonest_first() {
    let (_dir, store, _, _) = store_with_accounts();
    let first = submit(&store, b"one\r\n", &[], &["a@example.net"]);
    let second = submit(&store, b"two\r\n", &[], &["b@example.net"]);
    let mut later = store.queued(first).unwrap().unwrap();
    later.recipients[0].attempts = 1;
    later.recipients[0].next_attempt = NOW + 300;
    store.update_queued(&later).unwrap();
    let ids = |now| -> Vec<QueueId> {
        let due = store.queue_due(now, 10).unwrap();
        due.into_iter().map(|m| m.id).collect()
    };
    assert_eq!(ids(NOW), [second]);
    assert_eq!(ids(NOW + 300), [second, first]);
    assert_eq!(store.queue_due(NOW + 300, 1).unwrap().len(), 1);
    assert_eq!(store.queue_next_due().unwrap(), Some(NOW));
}

#[test]
fn a_message_leaves_the_queue_when_no_recipient_is_pending() {
    let (_dir, store, _, _) = store_with_accounts();
    let body = b"Subject: two recipients\r\n\r\n";
    let id = submit(&store, body, &[], &["a@example.net", "b@example.org.uk"]);
    let blob = blob_id(body);
    let mut message = store.queued(id).unwrap().unwrap();
    message.recipients[0].state = State::Delivered;
    message.recipients[0].last_result = Some("250 2.0.0 Ok".into());
    store.update_queued(&message).unwrap();
    assert_eq!(store.queued(id).unwrap().unwrap(), message);
    assert_eq!(refs(&store, &blob), 1);
    message.recipients[1].state = State::Failed;
    store.update_queued(&message).unwrap();
    assert_eq!(store.queued(id).unwrap(), None);
    assert_eq!(store.queue_next_due().unwrap(), None);
    assert_eq!(refs(&store, &blob), 0, "the body went with the entry");
    assert!(matches!(
        store.update_queued(&message),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn removing_a_queued_message_releases_its_body_only() {
    let (_dir, store, ann, _) = store_with_accounts();
    let body = b"Subject: kept in Sent\r\n\r\n";
    let id = submit(&store, body, &[to(&ann, "Sent")], &["carl@example.net"]);
    assert!(store.remove_queued(id).unwrap());
    assert!(!store.remove_queued(id).unwrap());
    assert_eq!(store.queue().unwrap(), []);
    assert_eq!(store.queue_due(i64::MAX, 10).unwrap(), []);
    let blob = blob_id(body);
    assert_eq!(refs(&store, &blob), 1);
    assert_eq!(read_body(&store, &blob), body);
}

#[test]
fn the_queue_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_ann(&dir);
    let id = submit(&store, b"persist\r\n", &[], &["x@example.net"]);
    let before = store.queued(id).unwrap().unwrap();
    drop(store);
    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(store.queued(id).unwrap(), Some(before));
    let next = submit(&store, b"another\r\n", &[], &["y@example.net"]);
    assert!(next > id, "queue ids are never reused");
}

#[test]
fn a_full_account_does_not_hold_back_the_queue() {
    let (_dir, store, ann, _) = store_with_accounts();
    store
        .update_account("ann@example.org", AccountChange::Quota(Some(4)))
        .unwrap();
    let body = b"far too large\r\n";
    let stored = store
        .submit(
            spool(&store, body),
            &[to(&ann, "INBOX")],
            Onward::queued(vec![outbound(&["carl@example.net"])]),
        )
        .unwrap();
    assert_eq!(stored.over_quota, [ann.id]);
    assert!(stored.delivered.is_empty());
    assert_eq!(stored.queued.len(), 1);
    assert_eq!(
        store.queued(stored.queued[0]).unwrap().unwrap().blob,
        stored.blob
    );
    assert_eq!(
        refs(&store, &blob_id(body)),
        1,
        "the queue entry's reference only"
    );
    assert_eq!(store.account_by_id(ann.id).unwrap().unwrap().used, 0);
}

proptest! {
    /// Whatever the recipients' states, a record reads back as written.
    #[test]
    fn records_round_trip(
        states in proptest::collection::vec((0u8..3, any::<u32>(), any::<i64>(), proptest::option::of("[ -~]{0,40}")), 1..6),
        smtputf8 in any::<bool>(),
        require_tls in any::<bool>(),
    ) {
        let (_dir, store, _, _) = store_with_accounts();
        let addresses: Vec<String> = (0..states.len()).map(|i| format!("r{i}@example.net")).collect();
        let names: Vec<&str> = addresses.iter().map(String::as_str).collect();
        let mut new = outbound(&names);
        new.envelope.smtputf8 = smtputf8;
        new.envelope.require_tls = require_tls;
        let ids = store
            .submit(spool(&store, b"body\r\n"), &[], Onward::queued(vec![new]))
            .unwrap()
            .queued;
        let id = ids[0];
        let mut message = store.queued(id).unwrap().unwrap();
        for (recipient, (state, attempts, next, result)) in message.recipients.iter_mut().zip(&states) {
            recipient.state = match state { 0 => State::Pending, 1 => State::Delivered, _ => State::Failed };
            recipient.attempts = *attempts;
            recipient.next_attempt = *next;
            recipient.last_result = result.clone();
            recipient.orcpt = Some(format!("rfc822;{}", recipient.address));
        }
        store.update_queued(&message).unwrap();
        let pending = message.next_attempt().is_some();
        prop_assert_eq!(store.queued(id).unwrap(), pending.then_some(message));
    }
}
