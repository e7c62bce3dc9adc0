//! A POP3 session fed arbitrary bytes in arbitrary chunks, logged in to a small maildrop and
//! served message bodies taken from the input: it never panics and its buffers stay bounded.
#![no_main]

use std::sync::Arc;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use proto_pop3::{
    Action, Maildrop, MaildropEntry, Peer, Request, ServerConfig, ServerSession, Session,
};

#[path = "common/feed.rs"]
mod feed;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk.max(1));
    let mut config = ServerConfig::new("fuzz.test");
    config.auth_without_tls = true;
    config.stls = true;
    let mut session = ServerSession::new(
        Arc::new(config),
        Peer {
            addr: ([127, 0, 0, 1], 110).into(),
            implicit_tls: false,
        },
        Instant::now(),
    );
    feed::feed(&mut session, input, chunk, 64 * 1024, |session, now| {
        drain(session, input, now)
    });
});

fn drain(session: &mut ServerSession, body: &[u8], now: Instant) {
    while let Some(action) = session.poll_action() {
        match action {
            Action::Login(_) => session.login_result(
                Ok(Maildrop {
                    messages: vec![
                        MaildropEntry {
                            size: body.len() as u64,
                            uid: "a1".into(),
                        },
                        MaildropEntry {
                            size: 3,
                            uid: "b2".into(),
                        },
                    ],
                }),
                now,
            ),
            Action::Request(Request::Retrieve { .. }) => {
                for piece in body.chunks(7) {
                    session.message_data(piece, now);
                    while let Some(Action::Send(_)) = session.poll_action() {}
                }
                session.message_end(now);
            }
            Action::Request(Request::Update { .. }) => session.update_result(true, now),
            Action::StartTls => session.tls_started(now),
            _ => {}
        }
    }
}
