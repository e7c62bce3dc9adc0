//! Mail delivered as the MX delivers it after DATA, for tests that need many messages
//! through the engine's whole delivery (summaries, search filters, Sieve, push).

use std::io::Write;

use engine::mail::date::unix_now;
use engine::queue::OutboundEnvelope;
use engine::store::{Onward, Store};
use engine::{Engine, Folder, LocalRecipient, Recipients};
use proto_smtp::Reply;

/// Delivers `message` from `sender` to the account `to` (its INBOX, or where its script
/// puts it); the reply the MX would give.
pub fn deliver<S: Store>(engine: &Engine<S>, sender: &str, to: &str, message: &[u8]) -> Reply {
    let account = match engine.store().account(to) {
        Ok(Some(account)) => account,
        _ => panic!("no account {to}"),
    };
    let mut spool = engine.begin_message().expect("a spool");
    spool.write_all(message).expect("spooled");
    let envelope = OutboundEnvelope {
        sender: sender.into(),
        ..OutboundEnvelope::default()
    };
    let recipients = Recipients::accounts(vec![LocalRecipient::plain(account.id)]);
    engine.deliver(
        spool,
        &envelope,
        &recipients,
        Onward::default(),
        Folder::Inbox,
        unix_now(),
    )
}
