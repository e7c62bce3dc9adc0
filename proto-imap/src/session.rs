//! The server side of one IMAP connection as a sans-IO state machine.
//!
//! The runtime feeds received bytes to [`ServerSession::handle_input`] and
//! then drains [`ServerSession::poll_action`] until it returns `None`. Work
//! happens lazily inside `poll_action`: one buffered command at a time, so a
//! pipelined burst is answered in order and processing stops wherever the
//! engine has to decide or execute something. See the [crate docs](crate)
//! for the split of work between the session and the engine.

mod commands;
mod frames;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto_core::input::Input;
use proto_core::login::LoginError;
use proto_core::opaque::Opaque;
use proto_core::sasl::{Credentials, Exchange};
use proto_core::session::{Common, Peer, Session};

use crate::config::ServerConfig;
use crate::encode::EncodeOptions;
use crate::framer::CommandFramer;
use crate::types::command::Command;
use crate::types::core::Tag;
use crate::types::datetime::DateTime;
use crate::types::flag::Flag;
use crate::types::mailbox::Mailbox;
use crate::types::response::{Code, Condition, Continue, Data, Response, Status};

/// Once this much output has accumulated, it is handed out before the
/// session processes more input. What the session writes by itself per
/// command is far smaller, so its own output stays within a few KiB; output
/// the engine writes is the engine's to flush.
const OUTPUT_HIGH_WATER: usize = 4 * 1024;

/// What the runtime (and through it the engine) must do next: the
/// skeleton's actions, with the credentials of `LOGIN` or `AUTHENTICATE` in
/// [`Action::Login`](proto_core::session::Action::Login) (answered by
/// [`ServerSession::login_result`]), and IMAP's own [`Request`]s. After
/// `StartTls`, input pipelined after the `STARTTLS` line was discarded;
/// after `Close` the engine drops whatever the session had started (a
/// half-streamed APPEND, an IDLE watch, the selected mailbox).
pub type Action<'a> = proto_core::session::Action<'a, Request<'a>>;

/// What only IMAP asks of its runtime and engine.
pub enum Request<'a> {
    /// A command that needs mailbox data, already checked against the
    /// connection state. Write its untagged responses with
    /// [`ServerSession::write_data`] (flushing through `poll_action` when
    /// [`ServerSession::output_len`] grows), then call
    /// [`ServerSession::complete`].
    Execute(Command<'static>),
    /// An APPEND message is announced: check the mailbox, quota and size,
    /// then call [`ServerSession::append_accept`] (its data follows as
    /// [`Request::AppendData`]) or [`ServerSession::append_reject`].
    AppendStart(AppendStart<'a>),
    /// Bytes of the accepted message, in order, in chunks of any size.
    AppendData(&'a [u8]),
    /// The message's data is complete.
    AppendMessageEnd,
    /// The APPEND command is complete: commit all its messages durably, then
    /// call [`ServerSession::complete`] (or [`ServerSession::append_reject`]).
    AppendEnd,
    /// `+ idling` was written: watch the selected mailbox (or nothing) and
    /// [`ServerSession::write_data`] its updates at any time until
    /// [`Request::IdleDone`].
    IdleStart,
    /// The client ended IDLE: stop watching and call
    /// [`ServerSession::complete`].
    IdleDone,
    /// The tagged OK to `COMPRESS DEFLATE` (RFC 4978) was in the preceding
    /// `Send`: from here on, inflate what the client sends and deflate what
    /// is written to it.
    Compress,
}

/// One message of an APPEND, as announced before its data.
#[derive(Debug)]
pub struct AppendStart<'a> {
    /// The APPEND command's tag.
    pub tag: &'a str,
    /// Destination mailbox, as sent.
    pub mailbox: Mailbox<'static>,
    /// Flags to set on the message.
    pub flags: Vec<Flag<'static>>,
    /// Internal date to set.
    pub date: Option<DateTime>,
    /// Size of the message in octets.
    pub size: u32,
    /// Sent as literal8 `~{n}` (RFC 3516): may contain NUL.
    pub binary: bool,
    /// `false` for the second and later messages of a MULTIAPPEND.
    pub first: bool,
    /// Sent in the `UTF8 (~{n})` form (RFC 6855 4): the message may have
    /// UTF-8 header fields (`message/global`); store it as sent. Only once
    /// the client enabled UTF8=ACCEPT: the session refuses the form before
    /// that.
    pub utf8: bool,
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Execute(command) => f.debug_tuple("Execute").field(command).finish(),
            Self::AppendStart(start) => start.fmt(f),
            Self::AppendData(bytes) => write!(f, "AppendData({} bytes)", bytes.len()),
            Self::AppendMessageEnd => f.write_str("AppendMessageEnd"),
            Self::AppendEnd => f.write_str("AppendEnd"),
            Self::IdleStart => f.write_str("IdleStart"),
            Self::IdleDone => f.write_str("IdleDone"),
            Self::Compress => f.write_str("Compress"),
        }
    }
}

/// The mailbox the engine opened, as far as the session needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Selected {
    /// Opened by `EXAMINE` (or a read-only `SELECT`).
    pub read_only: bool,
}

/// The extensions in force on the connection (RFC 5161 ENABLE).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Enabled {
    /// CONDSTORE (RFC 7162): by `ENABLE CONDSTORE`, `ENABLE QRESYNC`, or
    /// implicitly by a CONDSTORE-enabling command
    /// ([`ServerSession::enable_condstore`]).
    pub condstore: bool,
    /// QRESYNC (RFC 7162).
    pub qresync: bool,
    /// IMAP4rev2 (RFC 9051): rev2 response forms, UTF-8 in quoted strings
    /// and mailbox names.
    pub imap4rev2: bool,
    /// UTF8=ACCEPT (RFC 6855), by `ENABLE UTF8=ACCEPT` while no mailbox is
    /// selected: UTF-8 in quoted strings and mailbox names, and APPEND's
    /// `UTF8 (...)` form ([`Request::AppendStart`]'s `utf8`) allowed.
    pub utf8_accept: bool,
}

impl Enabled {
    /// Whether the client speaks UTF-8 in quoted strings and mailbox names
    /// (instead of modified UTF-7): IMAP4rev2 or UTF8=ACCEPT is on.
    pub fn utf8(&self) -> bool {
        self.imap4rev2 || self.utf8_accept
    }
}

/// A question to the runtime or engine. Commands wait until it is answered.
#[derive(Debug)]
pub enum Pending {
    Login {
        tag: Tag<'static>,
        credentials: Credentials,
    },
    /// Waiting for `complete`; `command` is taken when handed out.
    Execute {
        tag: Tag<'static>,
        command: Option<Command<'static>>,
    },
    /// Waiting for `append_accept` or `append_reject`; `flags` are taken when
    /// handed out. Tag and mailbox are in `ServerSession::append`.
    AppendStart {
        flags: Option<Vec<Flag<'static>>>,
        date: Option<DateTime>,
        size: u32,
        binary: bool,
        first: bool,
        utf8: bool,
    },
    /// `AppendEnd` handed out; waiting for `complete`.
    AppendCommit,
    /// `IdleDone` handed out; waiting for `complete`. `bad`: the client ended
    /// IDLE with something other than `DONE`, which is answered `BAD`.
    IdleDone { tag: Tag<'static>, bad: bool },
}

/// The APPEND command in progress, from its first message on.
#[derive(Debug)]
struct Append {
    tag: Tag<'static>,
    mailbox: Mailbox<'static>,
    /// When the whole command (every message of a MULTIAPPEND) must be in.
    deadline: Option<Instant>,
}

/// A notification for the engine that needs no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    IdleStart,
    /// The bytes are in `ServerSession::chunk`.
    AppendData,
    AppendMessageEnd,
}

impl Event {
    fn request(self, chunk: &[u8]) -> Request<'_> {
        match self {
            Self::IdleStart => Request::IdleStart,
            Self::AppendData => Request::AppendData(chunk),
            Self::AppendMessageEnd => Request::AppendMessageEnd,
        }
    }
}

/// What the next input is.
#[derive(Debug)]
enum Phase {
    /// Commands (and APPEND data), through the framer.
    Command,
    /// A challenge was sent for AUTHENTICATE; the client's response line is
    /// due.
    Sasl {
        tag: Tag<'static>,
        exchange: Exchange,
    },
    /// IDLE: the `DONE` line is due.
    Idle { tag: Tag<'static> },
}

/// One IMAP server connection. See the [crate docs](crate) for the driving
/// loop.
#[derive(Debug)]
pub struct ServerSession {
    config: Arc<ServerConfig>,
    /// The logged-in user: the Authenticated (or Selected) state.
    user: Option<String>,
    /// Until when the client may take to log in (`login_timeout` from the greeting).
    login_deadline: Option<Instant>,
    /// The Selected state, as told by the engine.
    selected: Option<Selected>,
    enabled: Enabled,
    phase: Phase,
    append: Option<Append>,
    /// The bytes of the last `AppendData`; reused.
    chunk: Opaque,
    compression: Compression,
    common: Common<Pending, Event, CommandFramer>,
}

/// Where the connection is with COMPRESS (RFC 4978).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    Off,
    /// `COMPRESS DEFLATE` waits for the engine's `complete`.
    Asked,
    /// Accepted: [`Request::Compress`] comes once the OK is out, and
    /// nothing is processed until then.
    Starting,
    On,
}

impl ServerSession {
    /// Starts a session with `peer` and queues the greeting,
    /// `* OK [CAPABILITY ...] {hostname} Postern IMAP ready`.
    pub fn new(config: Arc<ServerConfig>, peer: Peer, now: Instant) -> Self {
        let input = CommandFramer::new(config.framer);
        let common = Common::new(peer, input, now, OUTPUT_HIGH_WATER, config.max_errors);
        let mut session = Self {
            login_deadline: now.checked_add(config.login_timeout),
            config,
            user: None,
            selected: None,
            enabled: Enabled::default(),
            phase: Phase::Command,
            append: None,
            chunk: Opaque::default(),
            compression: Compression::Off,
            common,
        };
        let text = format!("{} Postern IMAP ready", session.config.hostname);
        session.untagged(
            Condition::Ok,
            Some(Code::Capability(session.capabilities())),
            &text,
        );
        session
    }

    /// Answers [`Action::Login`](proto_core::session::Action::Login):
    /// `OK [CAPABILITY ...] Logged in` enters the Authenticated state. Bad
    /// credentials are `NO [AUTHENTICATIONFAILED]`, counted towards
    /// `max_errors`, which bounds password guessing per connection; a
    /// temporary refusal is `NO [UNAVAILABLE]` or `NO [INUSE]` (RFC 5530),
    /// not counted.
    pub fn login_result(&mut self, result: Result<(), LoginError>, now: Instant) {
        let (tag, credentials) = match self.common.answer(now) {
            Some(Pending::Login { tag, credentials }) => (tag, credentials),
            other => return self.common.restore(other),
        };
        match result {
            Ok(()) => {
                self.user = Some(credentials.into_username());
                let code = Code::Capability(self.capabilities());
                self.tagged(&tag, Status::Ok, Some(code), "Logged in");
            }
            Err(LoginError::BadCredentials) => {
                let code = Code::Plain(crate::PlainCode::AuthenticationFailed);
                self.tagged(&tag, Status::No, Some(code), "Authentication failed");
                self.count_error();
            }
            Err(LoginError::Unavailable) => {
                let code = Code::Plain(crate::PlainCode::Unavailable);
                let text = "Login temporarily unavailable, try again later";
                self.tagged(&tag, Status::No, Some(code), text);
            }
            Err(LoginError::InUse) => {
                let code = Code::Plain(crate::PlainCode::InUse);
                let text = "Account in use by another session, try again later";
                self.tagged(&tag, Status::No, Some(code), text);
            }
        }
    }

    /// Writes one untagged response, encoded with
    /// [`encode_options`](Self::encode_options), while a command executes or
    /// during IDLE. A FETCH ending in a
    /// [`BodySectionHeader`](crate::FetchItem::BodySectionHeader) is left
    /// open: stream exactly the announced octets with
    /// [`write_raw`](Self::write_raw), then `write_raw(b")\r\n")`. Ignored
    /// once closing.
    pub fn write_data(&mut self, data: &Data<'_>) {
        if self.common.is_open() {
            self.encode_data(data);
        }
    }

    /// Writes raw bytes, such as a literal's content after a
    /// `BodySectionHeader`. The engine is responsible for their being
    /// well-formed. Ignored once closing.
    pub fn write_raw(&mut self, bytes: &[u8]) {
        if self.common.is_open() {
            self.common.out().extend_from_slice(bytes);
        }
    }

    /// Octets written and not yet handed out. When it grows large (say past
    /// 64 KiB) the engine calls [`poll_action`](Self::poll_action), which
    /// hands the output out in a `Send`, and writes it to the socket.
    pub fn output_len(&self) -> usize {
        self.common.output().len()
    }

    /// How responses are written now: UTF-8 in quoted strings once the
    /// client enabled IMAP4rev2 (or UTF8=ACCEPT).
    pub fn encode_options(&self) -> EncodeOptions {
        EncodeOptions {
            utf8: self.enabled.utf8(),
        }
    }

    /// The extensions the client enabled.
    pub fn enabled(&self) -> Enabled {
        self.enabled
    }

    /// The client used a CONDSTORE-enabling command (`SELECT (CONDSTORE)`,
    /// `FETCH (MODSEQ)`, `CHANGEDSINCE`...): CONDSTORE is on from now on
    /// (RFC 7162 3.1). Whether it was off until now: the first such command on a
    /// selected mailbox is told the mailbox's HIGHESTMODSEQ.
    pub fn enable_condstore(&mut self) -> bool {
        !std::mem::replace(&mut self.enabled.condstore, true)
    }

    /// Completes the pending [`Request::Execute`], [`Request::AppendEnd`] or
    /// [`Request::IdleDone`] with `<tag> OK|NO|BAD [code] text`; the session
    /// then goes on with the next buffered command. `BAD` counts towards
    /// `max_errors`. Ignored when nothing is pending. An IDLE the client ended
    /// with something other than `DONE` is answered `BAD` whatever `status`.
    pub fn complete(&mut self, status: Status, code: Option<Code<'_>>, text: &str, now: Instant) {
        let tag = match self.common.answer(now) {
            Some(Pending::Execute { tag, .. } | Pending::IdleDone { tag, bad: false }) => tag,
            Some(Pending::IdleDone { tag, bad: true }) => {
                // The error was counted when the line came.
                return self.tagged(&tag, Status::Bad, None, "Expected DONE to end IDLE");
            }
            Some(Pending::AppendCommit) => match self.append.take() {
                Some(append) => append.tag,
                None => return,
            },
            other => return self.common.restore(other),
        };
        self.tagged(&tag, status, code, text);
        if status == Status::Bad {
            self.count_error();
        }
        if self.compression == Compression::Asked {
            self.compression = if status == Status::Ok {
                // The client must not send more before it has the OK (RFC 4978
                // 3): anything it did is not deflated the way what follows is.
                self.common.input_mut().discard();
                Compression::Starting
            } else {
                Compression::Off
            };
        }
    }

    /// The engine opened a mailbox (`Some`, after a successful SELECT or
    /// EXAMINE, before [`complete`](Self::complete)) or closed it (`None`:
    /// CLOSE, UNSELECT, a failed SELECT). Ignored before login.
    pub fn set_selected(&mut self, selected: Option<Selected>) {
        if self.user.is_some() {
            self.selected = selected;
        }
    }

    /// Accepts the message announced by [`Request::AppendStart`]: the client
    /// is invited to send it (if it waits for that) and its data follows as
    /// [`Request::AppendData`].
    pub fn append_accept(&mut self, now: Instant) {
        match self.common.answer(now) {
            Some(Pending::AppendStart { .. }) => self.common.input_mut().accept_literal(),
            other => self.common.restore(other),
        }
    }

    /// Refuses the whole APPEND command in progress, at an
    /// [`Request::AppendStart`], in the middle of a message (quota exceeded,
    /// storage error) or at [`Request::AppendEnd`], and completes it with
    /// `<tag> status [code] text`. The rest of the command is read and
    /// dropped; the engine discards every message of this command.
    pub fn append_reject(
        &mut self,
        status: Status,
        code: Option<Code<'_>>,
        text: &str,
        now: Instant,
    ) {
        let answerable = matches!(
            self.common.question(),
            None | Some(Pending::AppendStart { .. } | Pending::AppendCommit)
        );
        if !answerable {
            return;
        }
        let Some(append) = self.append.take() else {
            return;
        };
        // The refusal answers whatever was asked of this APPEND.
        self.common.answer(now);
        self.common.clear_events();
        self.common.input_mut().reject_command();
        self.tagged(&append.tag, status, code, text);
        if status == Status::Bad {
            self.count_error();
        }
    }

    /// The largest message APPEND takes, as the `APPENDLIMIT=` capability says (RFC 7889);
    /// STATUS (APPENDLIMIT) answers the same.
    pub fn append_limit(&self) -> u32 {
        self.config.framer.max_message
    }

    /// The user logged in on this connection, as given to
    /// [`Action::Login`].
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The mailbox the engine said is selected.
    pub fn selected(&self) -> Option<Selected> {
        self.selected
    }

    /// Queues `Close` after whatever output is pending; any question to the
    /// engine is dropped (its late answer is ignored) and unread input too.
    fn close(&mut self) {
        if self.common.close() {
            self.common.clear_events();
            self.append = None;
            self.phase = Phase::Command;
            self.common.input_mut().discard();
        }
    }

    fn encode(&mut self, response: &Response<'_>) {
        let options = self.encode_options();
        response.encode(self.common.out(), options);
    }

    fn encode_data(&mut self, data: &Data<'_>) {
        let options = self.encode_options();
        data.encode(self.common.out(), options);
    }

    /// `<tag> status [code] text`.
    fn tagged(&mut self, tag: &Tag<'_>, status: Status, code: Option<Code<'_>>, text: &str) {
        let text = safe_text(code.is_some(), text);
        self.encode(&Response::Tagged {
            tag: tag.clone(),
            status,
            code,
            text,
        });
    }

    /// `* condition [code] text`.
    fn untagged(&mut self, condition: Condition, code: Option<Code<'_>>, text: &str) {
        let text = safe_text(code.is_some(), text);
        self.encode(&Response::Untagged(Data::Condition {
            condition,
            code,
            text,
        }));
    }

    fn ok(&mut self, tag: &Tag<'_>, text: &str) {
        self.tagged(tag, Status::Ok, None, text);
    }

    fn bye(&mut self, text: &str) {
        self.untagged(Condition::Bye, None, text);
    }

    /// `+ text`.
    fn continuation(&mut self, text: &str) {
        self.encode(&Response::Continue(Continue::Text {
            code: None,
            text: Cow::Borrowed(text),
        }));
    }

    /// Answers a bad command and counts it.
    fn bad(&mut self, tag: &Tag<'_>, text: &str) {
        self.tagged(tag, Status::Bad, None, text);
        self.count_error();
    }

    /// Counts a bad command; at `max_errors` the client is shown the door.
    fn count_error(&mut self) {
        if self.common.count_error() {
            self.bye("Too many errors");
            self.close();
        }
    }
}

impl Pending {
    /// The action asking for this, given the APPEND in progress.
    fn action<'a>(&'a mut self, append: Option<&'a Append>) -> Option<Action<'a>> {
        let request = match self {
            Self::Login { credentials, .. } => return Some(Action::Login(credentials)),
            // Asked once (see `Common::turn`); there is nothing to hand out twice.
            Self::Execute { command, .. } => Request::Execute(command.take()?),
            Self::AppendStart {
                flags,
                date,
                size,
                binary,
                first,
                utf8,
            } => Request::AppendStart(AppendStart {
                tag: append.map_or("", |a| a.tag.as_str()),
                mailbox: append.map_or(Mailbox::Inbox, |a| a.mailbox.clone()),
                flags: flags.take().unwrap_or_default(),
                date: *date,
                size: *size,
                binary: *binary,
                first: *first,
                utf8: *utf8,
            }),
            Self::AppendCommit => Request::AppendEnd,
            Self::IdleDone { .. } => Request::IdleDone,
        };
        Some(Action::Request(request))
    }
}

/// Response text as clients can read it: never empty (RFC 3501 requires
/// text) and, without a code before it, never starting with `[`, which
/// would read as a response code.
fn safe_text(has_code: bool, text: &str) -> Cow<'_, str> {
    if text.is_empty() {
        Cow::Borrowed("Completed")
    } else if !has_code && text.starts_with('[') {
        Cow::Owned(format!(" {text}"))
    } else {
        Cow::Borrowed(text)
    }
}

impl Session for ServerSession {
    type Request<'a> = Request<'a>;
    type Question = Pending;
    type Input = CommandFramer;
    type Event = Event;

    /// While the engine executes a command only `Send` comes, for the output
    /// it wrote so far.
    fn poll_action(&mut self) -> Option<Action<'_>> {
        self.process();
        if self.compression == Compression::Starting && self.common.output().is_empty() {
            self.compression = Compression::On;
            return Some(Action::Request(Request::Compress));
        }
        let (chunk, append) = (&self.chunk, self.append.as_ref());
        self.common.poll(
            |event| event.request(chunk),
            |pending| pending.action(append),
        )
    }

    /// Processes one command, frame or line. Returns whether it made
    /// progress.
    fn step(&mut self) -> bool {
        if self.compression == Compression::Starting {
            return false;
        }
        match self.phase {
            Phase::Command => self.step_frame(),
            Phase::Sasl { .. } => self.step_sasl(),
            Phase::Idle { .. } => self.step_idle(),
        }
    }

    fn common(&self) -> &Common<Pending, Event, CommandFramer> {
        &self.common
    }

    fn common_mut(&mut self) -> &mut Common<Pending, Event, CommandFramer> {
        &mut self.common
    }

    /// Before login: `login_timeout` from the greeting in all, however the client
    /// trickles its bytes; during an APPEND, `append_limit` from its command.
    fn phase_deadline(&self) -> Option<Instant> {
        let login = self.login_deadline.filter(|_| self.user.is_none());
        let append = self.append.as_ref().and_then(|a| a.deadline);
        match (login, append) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// `login_timeout` before login, `idle_timeout` after (IDLE included).
    fn idle_limit(&self) -> Duration {
        match self.user {
            None => self.config.login_timeout,
            Some(_) => self.config.idle_timeout,
        }
    }

    /// `* BYE Autologout; idle too long` (`* BYE Idle timeout` during IDLE),
    /// then `Close`.
    fn timed_out(&mut self) {
        let text = match self.phase {
            Phase::Idle { .. } => "Idle timeout",
            _ => "Autologout; idle too long",
        };
        self.bye(text);
        self.close();
    }

    /// Back to the start of the Not Authenticated state, with the
    /// capabilities of a TLS connection.
    fn forget_cleartext(&mut self) {
        self.phase = Phase::Command;
    }

    /// A command executing, being appended or a login being checked; IDLE
    /// ends at once.
    fn busy(&self) -> bool {
        self.common.question().is_some() || self.append.is_some()
    }

    /// `* BYE Server shutting down`, then `Close`.
    fn leave(&mut self) {
        if self.common.is_open() {
            self.bye("Server shutting down");
            self.close();
        }
    }

    /// The last APPEND chunk was handed out and written.
    fn rest_own(&mut self) {
        self.chunk = Opaque::default();
    }
}
