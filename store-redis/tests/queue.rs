//! The shared queue against a real `redis-server`, started on a loopback port of its own.

mod common;

use std::io::Read;
use std::net::TcpListener;

use common::Redis;
use engine::queue::{
    NewQueued, Outbound, OutboundEnvelope, QueueId, QueuedMessage, SharedQueue, State,
};
use engine::store::BlobId;
use store_redis::RedisQueue;

/// A message of a node's own queue, as it is handed over.
fn local(id: u64, to: &[&str], due: i64) -> QueuedMessage {
    let new = NewQueued {
        created: 1_000 + i64::try_from(id).unwrap(),
        envelope: OutboundEnvelope {
            sender: "alice@example.test".into(),
            ..Default::default()
        },
        recipients: to
            .iter()
            .map(|to| Outbound::new((*to).into(), None, None, due))
            .collect(),
    };
    QueuedMessage {
        id: QueueId(id),
        blob: BlobId([7; 32]),
        size: 5,
        created: new.created,
        envelope: new.envelope,
        recipients: new.recipients,
        lease: None,
    }
}

fn body_of(queue: &RedisQueue, id: QueueId) -> Vec<u8> {
    let mut body = Vec::new();
    queue
        .body(id)
        .expect("body")
        .read_to_end(&mut body)
        .expect("read");
    body
}

#[test]
fn a_hand_over_repeated_after_a_crash_queues_once() {
    let Some(redis) = Redis::start() else { return };
    let node = redis.node("a");
    let message = local(1, &["carol@example.net"], 100);
    let first = node.push(&message, &mut &b"Hi.\r\n"[..]).unwrap();
    let again = node.push(&message, &mut &b"Hi.\r\n"[..]).unwrap();
    assert_eq!(first, again);
    assert!(first.0 >= engine::queue::SHARED_IDS);
    // Another node's message 1 is another message.
    let other = redis
        .node("b")
        .push(&message, &mut &b"Hi.\r\n"[..])
        .unwrap();
    assert_ne!(first, other);
    assert_eq!(node.list().unwrap().len(), 2);
}

#[test]
fn two_nodes_never_hold_the_same_message() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (redis.node("a"), redis.node("b"));
    let one = a
        .push(&local(1, &["x@one.test"], 100), &mut &b"1"[..])
        .unwrap();
    let two = a
        .push(&local(2, &["x@two.test"], 100), &mut &b"2"[..])
        .unwrap();
    // Not due yet.
    assert!(a.claim(99).unwrap().is_none());
    let first = a.claim(100).unwrap().expect("a claims one");
    let second = b.claim(100).unwrap().expect("b claims the other");
    assert_ne!(first.id, second.id);
    assert!(a.claim(100).unwrap().is_none() && b.claim(100).unwrap().is_none());
    assert_eq!(first.lease.as_ref().unwrap().node, "a");
    let listed = b.list().unwrap();
    let lease_of = |id| {
        listed
            .iter()
            .find(|m| m.id == id)
            .unwrap()
            .lease
            .clone()
            .unwrap()
            .node
    };
    assert_eq!(lease_of(first.id), "a");
    assert_eq!(lease_of(second.id), "b");
    assert_eq!(
        [first.id, second.id]
            .iter()
            .filter(|&&id| id == one || id == two)
            .count(),
        2
    );

    // A's attempt deferred its recipient: saved, lease given back, due again later.
    let mut deferred = first.clone();
    deferred.recipients[0].attempts = 1;
    deferred.recipients[0].next_attempt = 400;
    a.update(&deferred).unwrap();
    let saved = b.get(first.id).unwrap().unwrap();
    assert_eq!(saved.lease, None);
    assert_eq!(saved.recipients[0].attempts, 1);
    assert_eq!(b.next_due().unwrap(), Some(100), "b's message is still due");
    assert!(b.claim(399).unwrap().is_none());
    assert_eq!(b.claim(400).unwrap().unwrap().id, first.id);

    // B's attempt delivered: the message leaves the queue.
    let mut delivered = second.clone();
    delivered.recipients[0].state = State::Delivered;
    b.update(&delivered).unwrap();
    assert!(a.get(second.id).unwrap().is_none());
    assert!(a.body(second.id).is_err());
}

#[test]
fn another_process_of_the_same_node_does_not_give_back_a_lease() {
    let Some(redis) = Redis::start() else { return };
    let (server, cli) = (redis.node("a"), redis.node("a"));
    server
        .push(&local(1, &["x@one.test"], 100), &mut &b"1"[..])
        .unwrap();
    let held = server.claim(100).unwrap().unwrap();
    // `postern queue retry` on the same node: saved, but the server still holds it.
    cli.update(&held).unwrap();
    assert!(cli.get(held.id).unwrap().unwrap().lease.is_some());
    assert!(cli.claim(100).unwrap().is_none());
}

#[test]
fn a_large_body_streams_back_whole_and_a_removed_one_is_gone() {
    let Some(redis) = Redis::start() else { return };
    let node = redis.node("a");
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let id = node
        .push(&local(1, &["x@one.test"], 100), &mut &body[..])
        .unwrap();
    assert_eq!(body_of(&node, id), body);
    let mut reader = node.body(id).unwrap();
    let mut start = [0; 10];
    reader.read_exact(&mut start).unwrap();
    assert!(node.remove(id).unwrap());
    assert!(!node.remove(id).unwrap());
    // Removed while being read: an error, never a short body taken for a whole one.
    assert!(reader.read_to_end(&mut Vec::new()).is_err());
    assert!(node.get(id).unwrap().is_none());
    assert!(node.list().unwrap().is_empty());
}

#[test]
fn redis_down_is_an_error_not_a_hang() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let node = RedisQueue::new(&format!("redis://127.0.0.1:{port}/"), None, "a").unwrap();
    assert!(node.check().is_err());
    assert!(node.claim(0).is_err());
    assert!(RedisQueue::new("not a url", None, "a").is_err());
}
