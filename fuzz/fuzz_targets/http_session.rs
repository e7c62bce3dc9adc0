//! An HTTP session fed arbitrary bytes in arbitrary chunks, with an engine that logs in
//! every user but one, reads bodies or answers at the head as the input says, and puts a
//! CR LF into a header value: it never panics, its input stays bounded, it never stalls,
//! its output is responses only, and no header value splits one.
#![no_main]

use std::sync::Arc;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use proto_dav::{
    Action, LoginError, Peer, Request, Response, ServerConfig, ServerSession, Session,
};

/// The slack the session keeps beyond `max_head` for bodies and pipelined requests.
const INPUT_SLACK: usize = 8 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&[chunk, flags], input)) = data.split_first_chunk::<2>() else {
        return;
    };
    let chunk = usize::from(chunk.max(1));
    let mut config = ServerConfig::new("fuzz");
    // Small bounds, so the input reaches them.
    config.max_head = 512;
    config.max_headers = 8;
    config.max_body = 4096;
    config.max_requests = 20;
    config.max_errors = 30;
    let bound = config.max_head + INPUT_SLACK;
    let start = Instant::now();
    let mut session = ServerSession::new(
        Arc::new(config),
        Peer {
            addr: ([127, 0, 0, 1], 80).into(),
            implicit_tls: false,
        },
        start,
    );
    let mut out = Vec::new();
    let mut rest = input;
    for _ in 0..100_000 {
        if session.is_closed() {
            break;
        }
        drain(&mut session, flags, start, &mut out);
        if rest.is_empty() {
            break;
        }
        let room = session.input_capacity();
        // Drained, so nothing waits for the runtime: no room means a full buffer, a stall.
        assert!(room > 0 || session.is_closed(), "stalled");
        let n = room.min(chunk).min(rest.len());
        let used = session.handle_input(&rest[..n], start);
        rest = &rest[used..];
        assert!(session.buffered_input() <= bound);
    }
    if flags & 4 != 0 {
        session.shutdown();
        drain(&mut session, flags, start, &mut out);
    }
    let later = start + Duration::from_secs(3600);
    session.handle_timeout(later);
    drain(&mut session, flags, later, &mut out);
    assert!(
        session.is_closed(),
        "neither a timeout nor a shutdown closed the session"
    );
    assert!(out.is_empty() || out.starts_with(b"HTTP/1.1 "));
    assert!(
        !out.windows(9).any(|w| w == b"\nInjected"),
        "a header value split a response"
    );
});

fn drain(session: &mut ServerSession, flags: u8, now: Instant, out: &mut Vec<u8>) {
    while let Some(action) = session.poll_action() {
        match action {
            Action::Send(bytes) => out.extend_from_slice(bytes),
            Action::Login(credentials) => {
                let result = match credentials.username() {
                    "wrong" => Err(LoginError::BadCredentials),
                    "busy" => Err(LoginError::Unavailable),
                    _ => Ok(()),
                };
                session.login_result(result, now);
            }
            Action::Request(Request::Head(head)) => {
                if flags & 1 != 0 {
                    let response = answer(head.path().to_owned(), flags);
                    session.respond(response, now);
                } else {
                    session.read_body(now);
                }
            }
            Action::Request(Request::Body(bytes)) => assert!(!bytes.is_empty()),
            Action::Request(Request::End) => {
                let path = session.head().map(|head| head.path().to_owned());
                session.respond(answer(path.unwrap_or_default(), flags), now);
            }
            Action::StartTls => panic!("HTTP has no STARTTLS"),
            Action::Close => {}
        }
    }
}

/// The engine's answer, with a value that must not split it.
fn answer(path: String, flags: u8) -> Response {
    let status = if flags & 2 != 0 { 207 } else { 204 };
    Response::new(status)
        .header("X-Path", path)
        .header("X-Evil", "a\r\nInjected: 1")
        .header("Content-Length", "1\r\n\r\nInjected")
        .body("text/plain", b"body".to_vec())
}
