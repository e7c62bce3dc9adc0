//! The outbound client session fed arbitrary server bytes in arbitrary chunks, with a few
//! messages to send: it never panics, its buffers stay bounded, every message handed to it
//! comes back with one outcome, and it ends with one `Close`.
//!
//! The first octet is the chunk size; the second picks the TLS policy (low 2 bits:
//! opportunistic, required, never), credentials (4), implicit TLS (8) and how many messages
//! to send (bits 4-5).
#![no_main]

use std::sync::Arc;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use proto_smtp::client::{ClientAction, ClientConfig, ClientSession, Credentials, Message, Tls};
use proto_smtp::{MailParams, Peer, Recipient};

/// Most unprocessed input the session may hold: 8 KiB plus one 4 KiB reply line.
const MAX_BUFFERED: usize = 12 * 1024;
/// Largest `Send`: the 8 KiB high-water mark plus the command that crossed it.
const MAX_SEND: usize = 10 * 1024;
/// A body with every line end and a dot to stuff, large enough to fill the output.
const BODY: &[u8] = b"Subject: fuzz\n\n.\r\n..\rx\r\n.\n";

struct Runtime {
    queue: Vec<Message>,
    outcomes: usize,
    closes: usize,
}

fuzz_target!(|data: &[u8]| {
    let Some((&[chunk, flags], input)) = data.split_first_chunk::<2>() else {
        return;
    };
    let chunk = usize::from(chunk.max(1));
    let mut config = ClientConfig::new("client.fuzz.test");
    config.tls = match flags & 3 {
        1 => Tls::Required,
        2 => Tls::Never,
        _ => Tls::Opportunistic,
    };
    if flags & 4 != 0 {
        config.credentials = Some(Credentials::new("user".into(), "secret".into()));
    }
    let start = Instant::now();
    let mut session = ClientSession::new(
        Arc::new(config),
        Peer {
            addr: ([192, 0, 2, 25], 25).into(),
            implicit_tls: flags & 8 != 0,
        },
        start,
    );
    let messages = usize::from(flags >> 4 & 3);
    let mut runtime = Runtime {
        queue: (0..messages).map(message).collect(),
        outcomes: 0,
        closes: 0,
    };
    let mut rest = input;
    for _ in 0..100_000 {
        runtime.drain(&mut session, start);
        if session.is_closed() {
            break;
        }
        let room = session.input_capacity();
        if rest.is_empty() || room == 0 {
            let later = start + Duration::from_secs(3600);
            session.handle_timeout(later);
            session.connection_closed(later);
            runtime.drain(&mut session, later);
            break;
        }
        let n = room.min(chunk).min(rest.len());
        let used = session.handle_input(&rest[..n], start);
        rest = &rest[used..];
        assert!(session.buffered_input() <= MAX_BUFFERED);
    }
    assert!(
        session.is_closed(),
        "a lost connection always ends the session"
    );
    assert_eq!(runtime.closes, 1);
    assert_eq!(runtime.outcomes + runtime.queue.len(), messages);
});

fn message(i: usize) -> Message {
    let recipients = [
        "bob@example.net",
        "j\u{f6}rg@example.net",
        "carol@example.net",
    ];
    Message {
        from: "alice@example.org".into(),
        recipients: recipients[..=i]
            .iter()
            .map(|addr| Recipient {
                addr: (*addr).into(),
                ..Default::default()
            })
            .collect(),
        params: MailParams {
            require_tls: i == 2,
            ..MailParams::default()
        },
        ..Default::default()
    }
}

impl Runtime {
    fn drain(&mut self, session: &mut ClientSession, now: Instant) {
        while let Some(action) = session.poll_action() {
            match action {
                ClientAction::Send(bytes) => assert!(bytes.len() <= MAX_SEND, "{}", bytes.len()),
                ClientAction::StartTls => session.tls_started(now),
                ClientAction::Ready => match self.queue.pop() {
                    Some(message) => session.send(message, now).expect("ready"),
                    None => session.finish(now),
                },
                ClientAction::WantBody => self.body(session, now),
                ClientAction::Sent(outcome) => {
                    assert_eq!(outcome.recipients.len(), outcome.message.recipients.len());
                    self.outcomes += 1;
                }
                ClientAction::Close(_) => self.closes += 1,
            }
        }
    }

    /// Streams the body, many times over, taking the output as it fills.
    fn body(&mut self, session: &mut ClientSession, now: Instant) {
        let body = BODY.repeat(500);
        let mut rest = &body[..];
        while !rest.is_empty() && session.wants_body() {
            let taken = session.body_data(rest, now);
            rest = &rest[taken..];
            while let Some(ClientAction::Send(bytes)) = session.poll_action() {
                assert!(bytes.len() <= MAX_SEND, "{}", bytes.len());
            }
        }
        session.body_end(now);
    }
}
