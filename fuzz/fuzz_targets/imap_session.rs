//! A whole IMAP session fed arbitrary bytes in arbitrary chunks, with an engine that answers
//! everything at once: it never panics, never stalls, never loops without end, and its input
//! and output buffers stay bounded.
#![no_main]

use std::borrow::Cow;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use proto_imap::{
    Action, AppendStart, Code, Command, CommandBody, Data, FetchItem, Flag, FlagFetch, ListItem,
    LoginError, Mailbox, Peer, PlainCode, Request, Selected, ServerConfig, ServerSession, Session,
    Status,
};

const MAX_COMMAND: usize = 1024;
const MAX_MESSAGE: u32 = 4096;
/// What one `Send` may hold: the session's own output up to its high-water mark, one refused
/// command echoing a tag as long as a command, and what this engine writes for one command.
const MAX_SEND: usize = 4096 + 2 * MAX_COMMAND + 4096;
/// More `poll_action` calls than this without settling is a livelock.
const MAX_POLLS: usize = 100_000;

fuzz_target!(|data: &[u8]| {
    let Some((&[chunk, switches], input)) = data.split_first_chunk::<2>() else {
        return;
    };
    let chunk = usize::from(chunk.max(1));
    let mut config = ServerConfig::new("fuzz.test");
    config.starttls = true;
    config.auth_without_tls = switches & 1 != 0;
    config.framer.literal_plus = switches & 2 != 0;
    config.framer.max_command = MAX_COMMAND;
    config.framer.max_literals = 4;
    config.framer.max_message = MAX_MESSAGE;
    config.max_errors = 1000;
    let implicit_tls = switches & 4 != 0;
    let start = Instant::now();
    let peer = ([127, 0, 0, 1], 143).into();
    let mut session = ServerSession::new(
        Arc::new(config),
        Peer {
            addr: peer,
            implicit_tls: implicit_tls,
        },
        start,
    );
    let mut engine = Engine::default();
    let mut rest = input;
    let mut now = start;
    for round in 0u64..100_000 {
        now = start + Duration::from_millis(round);
        engine.drain(&mut session, now);
        if session.is_closed() {
            return;
        }
        // Everything was answered: the session waits for input, or it is stuck.
        assert_eq!(session.output_len(), 0);
        let room = session.input_capacity();
        assert!(
            room > 0,
            "stalled with {} octets buffered",
            session.buffered_input()
        );
        if rest.is_empty() {
            break;
        }
        let n = room.min(chunk).min(rest.len());
        let used = session.handle_input(&rest[..n], now);
        assert!(used > 0 && used <= n);
        rest = &rest[used..];
        assert!(session.buffered_input() <= MAX_COMMAND + 1);
    }
    // The end of the input: shut down (which waits for an APPEND to end), and let the client
    // time out.
    if switches & 8 != 0 {
        session.shutdown();
        engine.drain(&mut session, now);
    }
    for day in 1..=2 {
        let later = start + Duration::from_secs(day * 24 * 3600);
        session.handle_timeout(later);
        engine.drain(&mut session, later);
    }
    assert!(session.is_closed());
});

/// The answering engine, and what it checks of the APPEND stream.
#[derive(Default)]
struct Engine {
    /// Octets still owed for the message being appended.
    owed: Option<u32>,
}

/// An action, owned, so that the session can be answered.
enum Step {
    Nothing,
    Login(bool),
    Execute(Command<'static>),
    AppendStart { reject: bool },
    Complete,
    IdleStart,
    StartTls,
    Close,
}

impl Engine {
    fn drain(&mut self, session: &mut ServerSession, now: Instant) {
        for _ in 0..MAX_POLLS {
            let Some(action) = session.poll_action() else {
                return;
            };
            let step = self.step(action);
            match step {
                Step::Nothing => {}
                Step::Login(ok) => session.login_result(
                    if ok {
                        Ok(())
                    } else {
                        Err(LoginError::BadCredentials)
                    },
                    now,
                ),
                Step::Execute(command) => execute(session, command, now),
                Step::AppendStart { reject: false } => session.append_accept(now),
                Step::AppendStart { reject: true } => {
                    let code = Some(Code::Plain(PlainCode::OverQuota));
                    session.append_reject(Status::No, code, "Over quota", now);
                }
                Step::Complete => session.complete(Status::Ok, None, "Done", now),
                Step::IdleStart => session.write_data(&Data::Exists(5)),
                Step::StartTls => session.tls_started(now),
                Step::Close => {
                    assert!(session.is_closed());
                    assert!(session.poll_action().is_none());
                    return;
                }
            }
        }
        panic!("poll_action never settles");
    }

    fn step(&mut self, action: Action<'_>) -> Step {
        match action {
            Action::Send(bytes) => {
                assert!(!bytes.is_empty());
                assert!(bytes.len() <= MAX_SEND, "oversized send: {}", bytes.len());
                Step::Nothing
            }
            Action::StartTls => Step::StartTls,
            Action::Login(credentials) => Step::Login(!credentials.password().is_empty()),
            Action::Request(Request::Execute(command)) => Step::Execute(command),
            Action::Request(Request::AppendStart(AppendStart {
                mailbox,
                size,
                first,
                ..
            })) => {
                assert!(size <= MAX_MESSAGE);
                assert!(first || self.owed.is_none());
                self.owed = Some(size);
                Step::AppendStart {
                    reject: mailbox.as_bytes() == b"Full",
                }
            }
            Action::Request(Request::AppendData(bytes)) => {
                let owed = self.owed.as_mut().expect("data without a message");
                *owed = owed
                    .checked_sub(bytes.len() as u32)
                    .expect("more data than announced");
                Step::Nothing
            }
            Action::Request(Request::AppendMessageEnd) => {
                assert_eq!(self.owed.take(), Some(0), "message ended early");
                Step::Nothing
            }
            Action::Request(Request::AppendEnd | Request::IdleDone) => {
                self.owed = None;
                Step::Complete
            }
            Action::Request(Request::IdleStart) => Step::IdleStart,
            // The runtime's business: the session goes on reading what it inflates.
            Action::Request(Request::Compress) => Step::Nothing,
            Action::Close => {
                self.owed = None;
                Step::Close
            }
        }
    }
}

/// Executes a command: a couple of untagged responses (one echoing a name from the command,
/// written as the client's UTF-8 setting allows), the selected state kept, and a completion
/// chosen by the tag's last character.
fn execute(session: &mut ServerSession, command: Command<'static>, now: Instant) {
    let one = NonZeroU32::MIN;
    session.write_data(&Data::Exists(3));
    let items = vec![
        FetchItem::Uid(one),
        FetchItem::Flags(vec![FlagFetch::Flag(Flag::Seen)]),
    ];
    session.write_data(&Data::Fetch { seq: one, items });
    let name = match &command.body {
        CommandBody::Select { mailbox, .. }
        | CommandBody::Examine { mailbox, .. }
        | CommandBody::Status { mailbox, .. } => Some(mailbox.clone()),
        CommandBody::List(list) => list.patterns.first().map(|p| Mailbox::new(Cow::clone(p))),
        _ => None,
    };
    if let Some(mailbox) = name {
        let item = ListItem {
            attributes: Vec::new(),
            delimiter: Some('/'),
            mailbox,
            extended: Vec::new(),
        };
        session.write_data(&Data::List(item));
    }
    // The engine flushes what it wrote, as a real one does past a threshold.
    while let Some(action) = session.poll_action() {
        assert!(
            matches!(action, Action::Send(_)),
            "only Send while executing"
        );
    }
    let status = match command.tag.as_str().as_bytes().last() {
        Some(b'n') => Status::No,
        Some(b'x') => Status::Bad,
        _ => Status::Ok,
    };
    match (&command.body, status) {
        (CommandBody::Select { .. }, Status::Ok) => {
            session.set_selected(Some(Selected { read_only: false }))
        }
        (CommandBody::Examine { .. }, Status::Ok) => {
            session.set_selected(Some(Selected { read_only: true }))
        }
        (
            CommandBody::Select { .. }
            | CommandBody::Examine { .. }
            | CommandBody::Close
            | CommandBody::Unselect,
            _,
        ) => session.set_selected(None),
        (CommandBody::Fetch { .. }, _) => {
            session.enable_condstore();
        }
        _ => {}
    }
    session.complete(status, None, "Done", now);
}
