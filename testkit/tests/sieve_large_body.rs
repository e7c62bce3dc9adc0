//! Sieve's `body` test (RFC 5173) on a message larger than what delivery keeps in memory
//! (256 KiB): the message is read back whole for the account whose script reads bodies,
//! so a word at its end still decides where it goes; a script without `body` needs no read.

use engine::Engine;
use engine::store::Store;
use store_redb::RedbStore;

fn deliver(engine: &Engine<RedbStore>, to: &str, body: &[u8]) {
    let mut message = b"From: shop@shop.test\r\nSubject: a long letter\r\n\r\n".to_vec();
    message.extend_from_slice(body);
    let reply = testkit::mx::deliver(engine, "shop@shop.test", to, &message);
    assert_eq!(reply.code, 250, "{reply:?}");
}

fn count(engine: &Engine<RedbStore>, email: &str, mailbox: &str) -> usize {
    let store = engine.store();
    let account = store.account(email).unwrap().unwrap();
    let found = store.mailboxes(account.id).unwrap();
    found
        .iter()
        .find(|m| m.name == mailbox)
        .map_or(0, |m| store.messages(m.id).unwrap().len())
}

#[test]
fn a_body_test_reads_a_large_message_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(RedbStore::open(dir.path()).unwrap(), "mx.test");
    engine.add_domain("example.test").unwrap();
    engine
        .add_user("alice@example.test", "a long passphrase", None, false)
        .unwrap();
    let script = "require [\"body\", \"fileinto\", \"mailbox\"];\r\n\
                  if body :text :contains \"invoice number\" { fileinto :create \"Invoices\"; }\r\n";
    engine
        .put_sieve_script("alice@example.test", "main", script, true)
        .unwrap();
    let line = b"All work and no play makes a long letter longer still.\r\n";
    let mut long = line.repeat(6_000);
    assert!(long.len() > 300 * 1024);
    deliver(&engine, "alice@example.test", &long);
    long.extend_from_slice(b"Your invoice number is 42.\r\n");
    deliver(&engine, "alice@example.test", &long);
    assert_eq!(count(&engine, "alice@example.test", "Invoices"), 1);
    assert_eq!(count(&engine, "alice@example.test", "INBOX"), 1);
}
