//! A ManageSieve session fed arbitrary bytes in arbitrary chunks, logged in and answering
//! every request (a listing, a script taken from the input, refusals with each code): it
//! never panics and its input stays within one command's bound.
#![no_main]

use std::sync::Arc;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use proto_managesieve::{
    Action, Answer, Code, Peer, Refusal, Request, ServerConfig, ServerSession, Session,
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
    config.starttls = true;
    config.max_script_size = 1024;
    let mut session = ServerSession::new(
        Arc::new(config),
        Peer {
            addr: ([127, 0, 0, 1], 4190).into(),
            implicit_tls: false,
        },
        Instant::now(),
    );
    feed::feed(&mut session, input, chunk, 1024 + 4096, |session, now| {
        drain(session, input, now)
    });
});

fn drain(session: &mut ServerSession, input: &[u8], now: Instant) {
    while let Some(action) = session.poll_action() {
        match action {
            Action::Login(_) => session.login_result(Ok(()), now),
            Action::Request(request) => {
                let answer = match request {
                    Request::List => Ok(Answer::Scripts(vec![
                        ("a\"b".into(), true),
                        ("x\r\ny".into(), false),
                    ])),
                    Request::Get { .. } => {
                        Ok(Answer::Script(String::from_utf8_lossy(input).into_owned()))
                    }
                    Request::Put { script, .. } if script.len() % 2 == 1 => {
                        Err(Refusal::new(None, script.to_string()))
                    }
                    Request::Delete { .. } => Err(Refusal::new(Some(Code::Active), "active")),
                    Request::Rename { .. } => Err(Refusal::new(Some(Code::AlreadyExists), "taken")),
                    _ => Ok(Answer::Done),
                };
                session.answer(answer, now);
            }
            Action::StartTls => session.tls_started(now),
            Action::Send(_) | Action::Close => {}
        }
    }
}
