//! A whole session fed arbitrary bytes in arbitrary chunks, every decision accepted: it
//! never panics and its buffers stay bounded.
#![no_main]

use std::sync::Arc;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use proto_smtp::{Action, Peer, Reply, Request, ServerConfig, ServerSession, Session};

#[path = "common/feed.rs"]
mod feed;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk.max(1));
    let mut config = ServerConfig::new("fuzz.test");
    config.auth_without_tls = true;
    config.starttls = true;
    let mut session = ServerSession::new(
        Arc::new(config),
        Peer {
            addr: ([127, 0, 0, 1], 25).into(),
            implicit_tls: false,
        },
        Instant::now(),
    );
    feed::feed(&mut session, input, chunk, 64 * 1024, drain);
});

fn drain(session: &mut ServerSession, now: Instant) {
    while let Some(action) = session.poll_action() {
        match action {
            Action::Login(_) => session.login_result(Ok(()), now),
            Action::Request(Request::Mail { .. }) => session.mail_result(Ok(()), now),
            Action::Request(Request::Rcpt { .. }) => session.rcpt_result(Ok(()), now),
            Action::Request(Request::DataEnd) => {
                session.data_result(Reply::new(250, (2, 0, 0), "Ok"), now)
            }
            Action::StartTls => session.tls_started(now),
            _ => {}
        }
    }
}
