//! Webhooks: one per address or domain, calls committed with the message they report,
//! attempts logged and applied to their call, everything gone with the webhook.

use engine::store::{
    AttemptOutcome, NewWebhookCall, WEBHOOK_LOG_KEPT, WebhookAttempt, WebhookCall, WebhookScope,
};

use super::*;

fn hooks(hooks: Vec<NewWebhookCall>) -> engine::store::Onward {
    engine::store::Onward {
        hooks,
        ..engine::store::Onward::default()
    }
}

const NOW: i64 = 1_800_000_000;

fn call(webhook: u64, label: &str) -> NewWebhookCall {
    NewWebhookCall {
        webhook,
        created: NOW,
        label: label.into(),
        payload: format!("{{\"label\":\"{label}\"}}").into_bytes(),
    }
}

fn attempt(call: &WebhookCall, outcome: AttemptOutcome) -> WebhookAttempt {
    WebhookAttempt {
        webhook: call.webhook,
        call: call.id,
        time: NOW,
        attempt: call.attempts + 1,
        status: Some(500),
        outcome,
        detail: "500 Internal Server Error".into(),
        label: call.label.clone(),
    }
}

#[test]
fn webhooks_are_found_by_address_then_domain() {
    let (_dir, store) = open_store();
    let domain = WebhookScope::Domain("Example.org".into());
    let hook = store
        .add_webhook(&domain, "https://h.test/in", "k", NOW)
        .unwrap();
    assert_eq!(hook.scope, WebhookScope::Domain("example.org".into()));
    assert!(matches!(
        store.add_webhook(
            &WebhookScope::Domain("example.org".into()),
            "https://x.test",
            "k",
            NOW
        ),
        Err(StoreError::AlreadyExists(_))
    ));
    let address = WebhookScope::Address("ann@example.org".into());
    let ann = store
        .add_webhook(&address, "http://127.0.0.1:9/", "k2", NOW)
        .unwrap();
    assert_ne!(ann.id, hook.id);
    let keys = |address: &str| vec![address.to_string(), "@example.org".to_string()];
    assert_eq!(
        store.webhook_for(&keys("ANN@example.org")).unwrap(),
        Some(ann.clone())
    );
    assert_eq!(
        store.webhook_for(&keys("bob@example.org")).unwrap(),
        Some(hook.clone())
    );
    assert_eq!(store.webhook_for(&["x@else.test".into()]).unwrap(), None);
    assert_eq!(store.webhooks().unwrap(), vec![hook.clone(), ann]);
    assert!(!store.is_webhook_only("example.org").unwrap());
    store.set_webhook_only("Example.org", true).unwrap();
    assert!(store.is_webhook_only("example.org").unwrap());
    assert_eq!(store.webhook_only_domains().unwrap(), ["example.org"]);
    store.set_webhook_only("example.org", false).unwrap();
    assert!(store.webhook_only_domains().unwrap().is_empty());
}

#[test]
fn calls_are_committed_with_the_message_and_retried_until_done() {
    let (_dir, store) = open_store();
    let hook = store
        .add_webhook(
            &WebhookScope::Domain("example.org".into()),
            "https://h.test",
            "k",
            NOW,
        )
        .unwrap();
    // Nothing stored in a mailbox: the calls alone are kept, and the body is not.
    let body = b"Subject: hooked\r\n\r\nhi\r\n";
    let stored = store
        .submit(
            spool(&store, body),
            &[],
            hooks(vec![call(hook.id, "one"), call(hook.id, "two")]),
        )
        .unwrap();
    assert!(stored.delivered.is_empty());
    assert_eq!(refs(&store, &blob_id(body)), 0);
    assert_eq!(store.next_webhook_call().unwrap(), Some(NOW));
    assert!(store.webhook_calls_due(NOW - 1, 10).unwrap().is_empty());
    let due = store.webhook_calls_due(NOW, 10).unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!(due[0].payload, br#"{"label":"one"}"#);
    assert_eq!(
        store.webhook_calls_waiting().unwrap().get(&hook.id),
        Some(&2)
    );

    store
        .record_webhook_attempt(&attempt(&due[0], AttemptOutcome::Retrying(NOW + 60)))
        .unwrap();
    store
        .record_webhook_attempt(&attempt(&due[1], AttemptOutcome::Delivered))
        .unwrap();
    assert!(store.webhook_calls_due(NOW + 59, 10).unwrap().is_empty());
    let again = store.webhook_calls_due(NOW + 60, 10).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].label.as_str(), again[0].attempts), ("one", 1));
    store
        .record_webhook_attempt(&attempt(&again[0], AttemptOutcome::Failed))
        .unwrap();
    assert_eq!(store.next_webhook_call().unwrap(), None);
    let log = store.webhook_log(hook.id, 10).unwrap();
    let outcomes: Vec<_> = log.iter().map(|a| (a.label.as_str(), a.outcome)).collect();
    assert_eq!(
        outcomes,
        [
            ("one", AttemptOutcome::Failed),
            ("two", AttemptOutcome::Delivered),
            ("one", AttemptOutcome::Retrying(NOW + 60)),
        ],
        "newest first"
    );
}

#[test]
fn the_log_is_bounded_and_goes_with_its_webhook() {
    let (_dir, store) = open_store();
    let hook = store
        .add_webhook(
            &WebhookScope::Address("a@example.org".into()),
            "https://h.test",
            "k",
            NOW,
        )
        .unwrap();
    let body = b"Subject: x\r\n\r\n";
    let calls = (0..WEBHOOK_LOG_KEPT + 5)
        .map(|i| call(hook.id, &i.to_string()))
        .collect();
    store
        .submit(spool(&store, body), &[], hooks(calls))
        .unwrap();
    for due in store.webhook_calls_due(NOW, usize::MAX).unwrap() {
        store
            .record_webhook_attempt(&attempt(&due, AttemptOutcome::Delivered))
            .unwrap();
    }
    let log = store.webhook_log(hook.id, usize::MAX).unwrap();
    assert_eq!(log.len(), WEBHOOK_LOG_KEPT);
    assert_eq!(log[0].label, (WEBHOOK_LOG_KEPT + 4).to_string());

    store
        .submit(spool(&store, body), &[], hooks(vec![call(hook.id, "late")]))
        .unwrap();
    assert!(store.remove_webhook(hook.id).unwrap());
    assert!(!store.remove_webhook(hook.id).unwrap());
    assert!(store.webhook_log(hook.id, 10).unwrap().is_empty());
    assert_eq!(store.next_webhook_call().unwrap(), None);
    assert_eq!(store.webhook_for(&["a@example.org".into()]).unwrap(), None);
}

#[test]
fn waiting_calls_are_made_due_again_at_once() {
    let (_dir, store) = open_store();
    let hook = store
        .add_webhook(
            &WebhookScope::Address("a@example.org".into()),
            "https://h.test",
            "k",
            NOW,
        )
        .unwrap();
    let body = b"Subject: later\r\n\r\n";
    store
        .submit(spool(&store, body), &[], hooks(vec![call(hook.id, "one")]))
        .unwrap();
    let due = store.webhook_calls_due(NOW, 10).unwrap();
    store
        .record_webhook_attempt(&attempt(&due[0], AttemptOutcome::Retrying(NOW + 3600)))
        .unwrap();
    assert!(store.webhook_calls_due(NOW + 10, 10).unwrap().is_empty());
    assert_eq!(store.retry_webhook_calls(hook.id, NOW + 10).unwrap(), 1);
    let again = store.webhook_calls_due(NOW + 10, 10).unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 1));
    assert_eq!(
        store.retry_webhook_calls(hook.id, NOW + 10).unwrap(),
        0,
        "due already"
    );
}
