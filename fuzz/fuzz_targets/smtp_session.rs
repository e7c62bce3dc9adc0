//! A whole session fed arbitrary bytes in arbitrary chunks, every decision accepted: it
//! never panics and its buffers stay bounded.
#![no_main]

use std::sync::Arc;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use proto_smtp::{Action, Peer, Reply, Request, ServerConfig, ServerSession, Session};

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk.max(1));
    let mut config = ServerConfig::new("fuzz.test");
    config.auth_without_tls = true;
    config.starttls = true;
    let start = Instant::now();
    let mut session = ServerSession::new(
        Arc::new(config),
        Peer {
            addr: ([127, 0, 0, 1], 25).into(),
            implicit_tls: false,
        },
        start,
    );
    let mut rest = input;
    let mut rounds = 0;
    while !session.is_closed() && rounds < 100_000 {
        rounds += 1;
        drain(&mut session, start);
        if rest.is_empty() {
            let later = start + Duration::from_secs(3600);
            session.handle_timeout(later);
            drain(&mut session, later);
            break;
        }
        let room = session.input_capacity();
        if room == 0 {
            break;
        }
        let n = room.min(chunk).min(rest.len());
        let used = session.handle_input(&rest[..n], start);
        rest = &rest[used..];
        assert!(session.buffered_input() <= 64 * 1024);
    }
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
