//! The in-memory side of a scripted conversation: [`Connection`]s whose reads are the
//! script's client lines and whose writes are checked against the script's server lines.
//!
//! A script may hold several sessions (`@session NAME`). They share one queue of turns in
//! script order; each connection sends its client lines when they reach the head of the
//! queue, and its server's output is matched when its expectations do. [`Conversation::run`]
//! polls every session's future in turn on the calling thread until nothing moves any more,
//! so one session's change (a STORE, an APPEND, a delivery) reaches another that is idling,
//! deterministically and without wall-clock time.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use engine::io::{Connection, Executor, ReadOutcome};

use crate::expect::{Expect, Verdict};

/// Set-up work run when the conversation reaches it (a mid-script `@deliver`).
pub type Action = Box<dyn FnOnce() -> Result<(), String> + Send>;

/// One event of a conversation, in script order.
pub enum Event {
    /// The server must send a line, or lines in any order, matching this.
    Expect(Expect),
    /// The client sends these bytes.
    Send(Vec<u8>),
    /// Time runs out before the client says anything.
    Timeout,
    /// The server is told to shut down.
    Shutdown,
    /// Done by the script between turns, not by a session.
    Run(Action),
}

impl Event {
    fn describe(&self) -> String {
        match self {
            Event::Expect(expect) => format!("expecting {}", expect.describe_missing()),
            Event::Send(bytes) => format!("sending {:?}", String::from_utf8_lossy(bytes)),
            Event::Timeout => "@timeout".into(),
            Event::Shutdown => "@shutdown".into(),
            Event::Run(_) => "a directive".into(),
        }
    }
}

/// An event, the session it belongs to, and its script line.
struct Turn {
    session: usize,
    line: usize,
    event: Event,
}

/// Lines of a session's recent exchange kept for failure messages.
const TRANSCRIPT: usize = 16;

/// Bounds a conversation that keeps moving without ever finishing (a server in a loop).
const MAX_ROUNDS: u32 = 1_000_000;

/// What the script knows about one of its connections.
struct Peer {
    name: String,
    /// Server output not yet matched.
    output: Vec<u8>,
    /// Client bytes taken from the script, not yet read by the server.
    pending_send: Vec<u8>,
    /// The last lines exchanged, for failure messages.
    transcript: VecDeque<String>,
    started: bool,
    finished: bool,
}

impl Peer {
    fn note(&mut self, line: String) {
        if self.transcript.len() == TRANSCRIPT {
            self.transcript.pop_front();
        }
        self.transcript.push_back(line);
    }
}

/// The state every connection of one script shares.
struct Shared {
    turns: VecDeque<Turn>,
    peers: Vec<Peer>,
    /// What went wrong first, and in which session.
    failure: Option<(usize, String)>,
    /// Bumped by everything that moves the conversation on; a round of polls that leaves
    /// it unchanged means the conversation is stuck.
    progress: u64,
    /// Values captured from the server with `{{name}}`.
    vars: HashMap<String, String>,
    /// A bare LF ends a server line too: in HTTP, body text is not CRLF-framed.
    bare_lf: bool,
}

impl Shared {
    /// `line 12` or, when the script has several sessions, `line 12 (session B)`.
    fn place(&self, session: usize, line: usize) -> String {
        if self.peers.len() > 1 {
            format!("line {line} (session {})", self.peers[session].name)
        } else {
            format!("line {line}")
        }
    }

    /// Records the first failure, with what the session exchanged last.
    fn fail(&mut self, session: usize, message: String) {
        if self.failure.is_none() {
            self.failure = Some((session, self.with_transcript(session, message)));
        }
    }

    /// A failure message followed by the session's last exchanges.
    fn with_transcript(&self, session: usize, mut message: String) -> String {
        let transcript = &self.peers[session].transcript;
        if !transcript.is_empty() {
            message.push_str("\n  the conversation so far ended with:");
            for line in transcript {
                message.push_str("\n    ");
                message.push_str(line);
            }
        }
        message
    }

    /// Matches complete output lines against the expectations at the head of the script.
    fn advance(&mut self) {
        while self.failure.is_none() {
            let Some(Turn {
                session,
                line,
                event: Event::Expect(expect),
            }) = self.turns.front_mut()
            else {
                return;
            };
            let (session, line) = (*session, *line);
            let output = &self.peers[session].output;
            let end = if self.bare_lf {
                output.iter().position(|&b| b == b'\n').map(|lf| {
                    let cr = lf > 0 && output[lf - 1] == b'\r';
                    (lf - usize::from(cr), lf + 1)
                })
            } else {
                output
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .map(|end| (end, end + 2))
            };
            let Some((end, next)) = end else {
                return;
            };
            let sent = String::from_utf8_lossy(&output[..end]).into_owned();
            let (captured, done) = match expect.offer(&sent, &self.vars) {
                Verdict::Met(captured) => (captured, true),
                Verdict::Taken(captured) => (captured, false),
                Verdict::Passed => {
                    self.turns.pop_front();
                    self.progress += 1;
                    continue;
                }
                Verdict::Mismatch(why) => {
                    let message =
                        format!("{}: {why}, server sent {sent:?}", self.place(session, line));
                    return self.fail(session, message);
                }
            };
            self.vars.extend(captured);
            let peer = &mut self.peers[session];
            peer.output.drain(..next);
            peer.note(format!("S: {sent}"));
            if done {
                self.turns.pop_front();
            }
            self.progress += 1;
        }
    }

    /// What a session's server gets when it reads now.
    fn read(&mut self, session: usize, buf: &mut [u8], watch_shutdown: bool) -> ReadPoll {
        self.advance();
        if self.failure.is_some() {
            return ReadPoll::Ready(Ok(ReadOutcome::Closed));
        }
        while self.peers[session].pending_send.is_empty() {
            let Some(turn) = self.turns.front() else {
                return ReadPoll::Ready(Ok(ReadOutcome::Closed));
            };
            // The server waits for input: lines that could still have come did not.
            if turn.session == session
                && matches!(&turn.event, Event::Expect(expect) if expect.is_satisfied())
            {
                self.turns.pop_front();
                self.progress += 1;
                continue;
            }
            let outcome = match turn.event {
                _ if turn.session != session => None,
                Event::Send(_) => {
                    if let Err(e) = self.take_sends(session) {
                        self.fail(session, e);
                        return ReadPoll::Ready(Ok(ReadOutcome::Closed));
                    }
                    continue;
                }
                Event::Timeout => Some(ReadOutcome::TimedOut),
                Event::Shutdown if watch_shutdown => Some(ReadOutcome::Shutdown),
                Event::Shutdown => {
                    self.turns.pop_front();
                    continue;
                }
                // The server must speak first, or the script act.
                Event::Expect(_) | Event::Run(_) => None,
            };
            if let Some(outcome) = outcome {
                self.turns.pop_front();
                self.progress += 1;
                return ReadPoll::Ready(Ok(outcome));
            }
            // Once its part of the script is over, the client hangs up.
            return if self.turns.iter().any(|t| t.session == session) {
                ReadPoll::Wait
            } else {
                ReadPoll::Ready(Ok(ReadOutcome::Closed))
            };
        }
        let pending = &mut self.peers[session].pending_send;
        let n = buf.len().min(pending.len());
        if n == 0 {
            return ReadPoll::Ready(Err(io::Error::other(
                "the session asked for input with no room for it",
            )));
        }
        buf[..n].copy_from_slice(&pending[..n]);
        pending.drain(..n);
        self.progress += 1;
        ReadPoll::Ready(Ok(ReadOutcome::Data(n)))
    }

    /// Takes the session's client lines at the head of the script: consecutive lines go out
    /// as one write, as a pipelining client sends them. In that write, an HTTP head's
    /// `Content-Length: ?` becomes the length of what follows the head.
    fn take_sends(&mut self, session: usize) -> Result<(), String> {
        let start = self.peers[session].pending_send.len();
        while let Some(Turn {
            session: owner,
            line,
            event: Event::Send(bytes),
        }) = self.turns.front()
            && *owner == session
        {
            let bytes = substitute(bytes, &self.vars)
                .map_err(|e| format!("{}: {e}", self.place(session, *line)))?;
            let peer = &mut self.peers[session];
            let text = String::from_utf8_lossy(&bytes);
            for line in text.strip_suffix("\r\n").unwrap_or(&text).split("\r\n") {
                peer.note(format!("C: {line}"));
            }
            peer.pending_send.extend_from_slice(&bytes);
            self.turns.pop_front();
        }
        let pending = &mut self.peers[session].pending_send;
        if let Some(filled) = fill_content_length(&pending[start..]) {
            pending.truncate(start);
            pending.extend_from_slice(&filled);
        }
        Ok(())
    }

    /// Why the conversation cannot go on, if it cannot: the turn at its head names it.
    fn stuck(&self) -> Option<String> {
        let turn = self.turns.front()?;
        let peer = &self.peers[turn.session];
        let place = self.place(turn.session, turn.line);
        let message = match &turn.event {
            Event::Expect(expect) if peer.finished => format!(
                "{place}: expected {}, but the server closed the connection",
                expect.describe_missing()
            ),
            Event::Expect(expect) => format!(
                "{place}: expected {}, but the server waits for input after {:?}",
                expect.describe_missing(),
                String::from_utf8_lossy(&peer.output)
            ),
            other if peer.finished => format!(
                "{place}: the server closed the connection before {}",
                other.describe()
            ),
            other => format!(
                "{place}: the server does not read, before {}; it sent {:?}",
                other.describe(),
                String::from_utf8_lossy(&peer.output)
            ),
        };
        Some(self.with_transcript(turn.session, message))
    }
}

enum ReadPoll {
    Ready(io::Result<ReadOutcome>),
    Wait,
}

/// The conversation a script describes, shared by the connections taking part in it.
pub struct Conversation {
    shared: Arc<Mutex<Shared>>,
}

/// A session's future, as [`Conversation::run`] drives it.
pub type SessionFuture<'a> = Pin<Box<dyn Future<Output = io::Result<()>> + 'a>>;

impl Conversation {
    /// A conversation between the named sessions; each turn is (session index, script line,
    /// event), in script order.
    /// A conversation of the sessions `names`; `bare_lf`: a server line may end in a bare
    /// LF (HTTP bodies), not only in CRLF.
    pub fn new(names: Vec<String>, turns: Vec<(usize, usize, Event)>, bare_lf: bool) -> Self {
        let peers = names
            .into_iter()
            .map(|name| Peer {
                name,
                output: Vec::new(),
                pending_send: Vec::new(),
                transcript: VecDeque::new(),
                started: false,
                finished: false,
            })
            .collect();
        let turns = turns
            .into_iter()
            .map(|(session, line, event)| Turn {
                session,
                line,
                event,
            })
            .collect();
        Conversation {
            shared: Arc::new(Mutex::new(Shared {
                turns,
                peers,
                failure: None,
                progress: 0,
                vars: HashMap::new(),
                bare_lf,
            })),
        }
    }

    /// The client side of session `session`, for its server to read from and write to.
    pub fn connection(&self, session: usize) -> ScriptConnection {
        ScriptConnection {
            shared: self.shared.clone(),
            session,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        lock(&self.shared)
    }

    /// Drives the sessions (one future per session, in index order) until the conversation
    /// ends or stalls, then says whether it went as the script says. A session starts (its
    /// client connects) when the script first reaches one of its turns.
    pub fn run(&self, mut sessions: Vec<SessionFuture<'_>>) -> Result<(), String> {
        let mut cx = Context::from_waker(Waker::noop());
        let mut done = vec![false; sessions.len()];
        for _ in 0..MAX_ROUNDS {
            let before = self.lock().progress;
            self.run_directive();
            let mut shared = self.lock();
            if let Some(turn) = shared.turns.front() {
                let session = turn.session;
                shared.peers[session].started = true;
            }
            let started: Vec<bool> = shared.peers.iter().map(|p| p.started).collect();
            drop(shared);
            for (index, session) in sessions.iter_mut().enumerate() {
                if !started[index] || done[index] {
                    continue;
                }
                if let Poll::Ready(result) = session.as_mut().poll(&mut cx) {
                    done[index] = true;
                    let mut shared = self.lock();
                    shared.peers[index].finished = true;
                    shared.progress += 1;
                    if let Err(e) = result {
                        shared.fail(index, format!("session failed: {e}"));
                    }
                }
            }
            if self.lock().progress == before {
                return self.verdict();
            }
        }
        Err("the conversation never settles".into())
    }

    /// Runs the directive at the head of the script, if that is what is there.
    fn run_directive(&self) {
        let mut shared = self.lock();
        let (session, line, action) = match shared.turns.pop_front() {
            Some(Turn {
                session,
                line,
                event: Event::Run(action),
            }) => (session, line, action),
            Some(other) => return shared.turns.push_front(other),
            None => return,
        };
        shared.progress += 1;
        // Unlocked: the action may wake sessions, which poll nothing until the next round.
        drop(shared);
        if let Err(e) = action() {
            let mut shared = self.lock();
            let place = shared.place(session, line);
            shared.fail(session, format!("{place}: {e}"));
        }
    }

    /// After the sessions stopped: every expectation met and nothing unexpected sent.
    fn verdict(&self) -> Result<(), String> {
        let shared = self.lock();
        if let Some((session, failure)) = &shared.failure {
            let mut text = failure.clone();
            // What the server said after the line that failed, to show where it went.
            let rest = String::from_utf8_lossy(&shared.peers[*session].output);
            let mut lines = rest.split_terminator("\r\n").skip(1).peekable();
            if lines.peek().is_some() {
                text.push_str("\n  then the server sent:");
                for line in lines.by_ref().take(TRANSCRIPT * 4) {
                    text.push_str("\n    S: ");
                    text.push_str(line);
                }
                if lines.next().is_some() {
                    text.push_str("\n    ...");
                }
            }
            return Err(text);
        }
        if let Some(stuck) = shared.stuck() {
            return Err(stuck);
        }
        for peer in &shared.peers {
            if !peer.output.is_empty() {
                let whose = if shared.peers.len() > 1 {
                    format!(" in session {}", peer.name)
                } else {
                    String::new()
                };
                return Err(format!(
                    "the server sent more than the script expects{whose}: {:?}",
                    String::from_utf8_lossy(&peer.output)
                ));
            }
        }
        Ok(())
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Plays one session's client and checks its server.
pub struct ScriptConnection {
    shared: Arc<Mutex<Shared>>,
    session: usize,
}

impl Connection for ScriptConnection {
    async fn read(
        &mut self,
        buf: &mut [u8],
        _deadline: Option<Instant>,
        watch_shutdown: bool,
    ) -> io::Result<ReadOutcome> {
        std::future::poll_fn(
            |_| match lock(&self.shared).read(self.session, buf, watch_shutdown) {
                ReadPoll::Ready(outcome) => Poll::Ready(outcome),
                ReadPoll::Wait => Poll::Pending,
            },
        )
        .await
    }

    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        let mut shared = lock(&self.shared);
        shared.peers[self.session].output.extend_from_slice(data);
        shared.progress += 1;
        shared.advance();
        Ok(())
    }

    async fn start_tls(&mut self) -> io::Result<()> {
        lock(&self.shared).peers[self.session].note("(TLS handshake)".into());
        Ok(())
    }
}

/// Runs blocking work in place and skips sleeps: scripts take no wall-clock time.
#[derive(Clone, Copy)]
pub struct InlineExecutor;

impl Executor for InlineExecutor {
    fn unblock<T, F>(&self, work: F) -> impl Future<Output = T> + Send + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        std::future::ready(work())
    }

    fn sleep(&self, _duration: Duration) -> impl Future<Output = ()> + Send + use<> {
        std::future::ready(())
    }

    /// Runs the task to its end in place: its lookups are answered from static DNS.
    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        futures_lite::future::block_on(task);
    }
}

/// Matches `text` against `pattern`, where `*` stands for any run of characters.
/// `write` with its `Content-Length: ?` line given the length of what follows the end of
/// the head; `None` when it has no such line.
fn fill_content_length(write: &[u8]) -> Option<Vec<u8>> {
    const PLACEHOLDER: &[u8] = b"Content-Length: ?\r\n";
    let at = write
        .windows(PLACEHOLDER.len())
        .position(|w| w == PLACEHOLDER)?;
    let after = at + PLACEHOLDER.len();
    let head_end = write[at..]
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(write.len(), |end| at + end + 4);
    let length = write.len() - head_end.max(after);
    let mut filled = write[..at].to_vec();
    filled.extend_from_slice(format!("Content-Length: {length}\r\n").as_bytes());
    filled.extend_from_slice(&write[after..]);
    Some(filled)
}

pub fn glob(pattern: &str, text: &str) -> bool {
    capture(pattern, text, &HashMap::new()).is_some()
}

/// Matches `text` against `pattern`, where `*` stands for any run of characters and
/// `{{name}}` for one to remember: the value `vars` has for it if it has one, else any run,
/// returned with the name. A `*` that starts the pattern, followed by a space, stands for
/// itself: IMAP's untagged responses start so. `None` when the text does not match.
pub(crate) fn capture(
    pattern: &str,
    text: &str,
    vars: &HashMap<String, String>,
) -> Option<Vec<(String, String)>> {
    // The pattern as fixed texts with a gap (maybe named) between each two.
    let untagged = pattern.starts_with("* ");
    let mut texts = vec![if untagged { "* ".into() } else { String::new() }];
    let mut gaps: Vec<Option<&str>> = Vec::new();
    let mut rest = if untagged { &pattern[2..] } else { pattern };
    while !rest.is_empty() {
        let star = rest.find('*');
        let name = rest.find("{{").and_then(|open| {
            let close = open + rest[open..].find("}}")?;
            Some((open, close))
        });
        match (star, name) {
            (Some(at), name) if name.is_none_or(|(open, _)| at < open) => {
                texts.last_mut()?.push_str(&rest[..at]);
                gaps.push(None);
                texts.push(String::new());
                rest = &rest[at + 1..];
            }
            (_, Some((open, close))) => {
                texts.last_mut()?.push_str(&rest[..open]);
                let name = &rest[open + 2..close];
                match vars.get(name) {
                    Some(value) => texts.last_mut()?.push_str(value),
                    None => {
                        gaps.push(Some(name));
                        texts.push(String::new());
                    }
                }
                rest = &rest[close + 2..];
            }
            _ => {
                texts.last_mut()?.push_str(rest);
                rest = "";
            }
        }
    }
    let mut rest = text.strip_prefix(texts[0].as_str())?;
    let mut captured = Vec::new();
    for (index, gap) in gaps.iter().enumerate() {
        let next = texts[index + 1].as_str();
        let end = if index + 1 == gaps.len() {
            rest.len()
                .checked_sub(next.len())
                .filter(|&at| rest.ends_with(next) && rest.is_char_boundary(at))?
        } else {
            rest.find(next)?
        };
        if let Some(name) = gap {
            captured.push((name.to_string(), rest[..end].to_string()));
        }
        rest = &rest[end + next.len()..];
    }
    (rest.is_empty()).then_some(captured)
}

/// Puts the captured values in place of `{{name}}` in client bytes.
pub(crate) fn substitute(bytes: &[u8], vars: &HashMap<String, String>) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(open) = rest.windows(2).position(|w| w == b"{{") {
        let Some(close) = rest[open..].windows(2).position(|w| w == b"}}") else {
            break;
        };
        let name = String::from_utf8_lossy(&rest[open + 2..open + close]);
        let value = vars
            .get(name.as_ref())
            .ok_or_else(|| format!("{{{{{name}}}}} was not captured from the server"))?;
        out.extend_from_slice(&rest[..open]);
        out.extend_from_slice(value.as_bytes());
        rest = &rest[open + close + 2..];
    }
    out.extend_from_slice(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::{capture, glob, substitute};

    #[test]
    fn captures_and_substitutes() {
        let mut vars = HashMap::new();
        let found = capture(
            "* OK [UIDVALIDITY {{v}}] *",
            "* OK [UIDVALIDITY 42] UIDs valid",
            &vars,
        );
        assert_eq!(found, Some(vec![("v".to_string(), "42".to_string())]));
        vars.extend(found.unwrap());
        assert!(capture("a [COPYUID {{v}} *]", "a [COPYUID 42 1 2]", &vars).is_some());
        assert!(capture("a [COPYUID {{v}} *]", "a [COPYUID 43 1 2]", &vars).is_none());
        assert_eq!(
            capture("x {{rest}}", "x y z", &vars),
            Some(vec![("rest".to_string(), "y z".to_string())])
        );
        assert_eq!(substitute(b"a ({{v}} 5)", &vars).unwrap(), b"a (42 5)");
        assert!(substitute(b"a {{w}}", &vars).is_err());
        assert_eq!(substitute(b"{5}\r\n{{", &vars).unwrap(), b"{5}\r\n{{");
    }

    #[test]
    fn glob_matches() {
        assert!(glob("250 *", "250 2.0.0 Ok"));
        assert!(glob("abc", "abc"));
        assert!(!glob("abc", "abcd"));
        assert!(glob("*", ""));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("a*c*e", "abdx"));
        assert!(glob("*ok", "ok"));
        assert!(!glob("ab*ba", "aba"));
    }
}

#[cfg(test)]
/// The drivers as a runtime runs them: a panic in a session's work is contained.
mod panic_containment {
    use super::*;
    use engine::Engine;
    use engine::listener::{Listener, Protocol, serve};
    use store_redb::RedbStore;

    /// A connection whose read panics, as a flaw anywhere in a session's work would.
    struct Panicking;

    impl Connection for Panicking {
        async fn read(
            &mut self,
            _buf: &mut [u8],
            _deadline: Option<Instant>,
            _watch_shutdown: bool,
        ) -> io::Result<ReadOutcome> {
            panic!("a flaw in the session");
        }

        async fn write_all(&mut self, _data: &[u8]) -> io::Result<()> {
            Ok(())
        }

        async fn start_tls(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_panic_ends_its_session_with_an_error_not_the_caller() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = Arc::new(Engine::new(
            RedbStore::open(dir.path()).expect("store"),
            "mx.test",
        ));
        let config = Arc::new(proto_smtp::ServerConfig::new("mx.test"));
        let listener = Listener::new(Protocol::Smtp(config), false, None, usize::MAX);
        let peer = "192.0.2.1:25000".parse().expect("address");
        let served = futures_lite::future::block_on(serve(
            engine,
            InlineExecutor,
            &listener,
            peer,
            &mut Panicking,
        ));
        assert!(served.is_err(), "the panic ends the session with an error");
    }
}
