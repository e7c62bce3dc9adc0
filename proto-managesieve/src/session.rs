//! The server side of one ManageSieve connection as a sans-IO state machine.
//!
//! The runtime feeds received bytes to [`Session::handle_input`] and drains
//! [`ServerSession::poll_action`] until it returns `None`. One command is processed at a
//! time, inside `poll_action`; what needs the engine (a login, anything done to the
//! account's scripts) is a question the runtime answers, and input waits meanwhile.

mod commands;

use std::convert::Infallible;
use std::mem;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto_core::input::InputBuffer;
use proto_core::login::LoginError;
use proto_core::sasl::{Credentials, Exchange, Next as SaslNext, SaslError};
use proto_core::session::{Common, Peer, Session};

use crate::ServerConfig;
use crate::command::{ParseError, parse_command, parse_sasl_response};
use crate::frame::{Frame, Framer};
use crate::reply::{self, Code, Status};

/// Once this much output has accumulated it is handed out before more input is processed.
const OUTPUT_HIGH_WATER: usize = 16 * 1024;

/// What a command holds besides its script: its name, its strings and their quoting.
const COMMAND_OVERHEAD: usize = 4 * 1024;

/// What the runtime must do next: the skeleton's actions, with the credentials of
/// `AUTHENTICATE` in [`Action::Login`](proto_core::session::Action::Login) (answered by
/// [`ServerSession::login_result`]), and ManageSieve's own [`Request`]s (answered by
/// [`ServerSession::answer`]).
pub type Action<'a> = proto_core::session::Action<'a, Request<'a>>;

/// What the logged-in user asks done to their scripts. Names are as sent: checking them is
/// the runtime's business, like the scripts.
#[derive(Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// `LISTSCRIPTS`: answer [`Answer::Scripts`].
    List,
    /// `GETSCRIPT`: answer [`Answer::Script`].
    Get {
        /// The script's name.
        name: &'a str,
    },
    /// `PUTSCRIPT`: check the script and store it (replacing one of that name, which stays
    /// active if it was).
    Put {
        /// The script's name.
        name: &'a str,
        /// Its text.
        script: &'a str,
    },
    /// `CHECKSCRIPT`: check the script, store nothing.
    Check {
        /// Its text.
        script: &'a str,
    },
    /// `SETACTIVE`: make this script the one run on the user's mail, or none.
    Activate {
        /// The script, `None` for none.
        name: Option<&'a str>,
    },
    /// `DELETESCRIPT`: remove a script that is not the active one ([`Code::Active`]).
    Delete {
        /// The script's name.
        name: &'a str,
    },
    /// `RENAMESCRIPT`: give a script another name, active or not as before.
    Rename {
        /// Its name now.
        from: &'a str,
        /// The name it is to have.
        to: &'a str,
    },
    /// `HAVESPACE`: whether a script of this name and size could be stored.
    HaveSpace {
        /// The script's name.
        name: &'a str,
        /// Its size in octets.
        size: u64,
    },
}

/// The runtime's answer to a [`Request`] it carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Done; nothing to show.
    Done,
    /// The user's scripts, (name, whether it is the active one), for `LISTSCRIPTS`.
    Scripts(Vec<(String, bool)>),
    /// A script's text, for `GETSCRIPT`.
    Script(String),
}

/// Why a [`Request`] was refused: `NO`, the code if any, and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The response code.
    pub code: Option<Code>,
    /// What went wrong, for the user: a script's error names its line.
    pub text: String,
}

impl Refusal {
    /// A refusal with `code` saying `text`.
    pub fn new(code: Option<Code>, text: impl Into<String>) -> Self {
        Self {
            code,
            text: text.into(),
        }
    }
}

/// A question to the runtime. Commands wait until it is answered.
#[derive(Debug)]
pub enum Pending {
    Login(Credentials),
    Operation(Operation),
}

/// A command on the user's scripts, with what it needs, owned.
#[derive(Debug)]
pub enum Operation {
    List,
    Get(String),
    Put { name: String, script: String },
    Check(String),
    Activate(String),
    Delete(String),
    Rename { from: String, to: String },
    HaveSpace { name: String, size: u64 },
}

impl Operation {
    fn request(&self) -> Request<'_> {
        match self {
            Self::List => Request::List,
            Self::Get(name) => Request::Get { name },
            Self::Put { name, script } => Request::Put { name, script },
            Self::Check(script) => Request::Check { script },
            Self::Activate(name) => Request::Activate {
                name: Some(name.as_str()).filter(|n| !n.is_empty()),
            },
            Self::Delete(name) => Request::Delete { name },
            Self::Rename { from, to } => Request::Rename { from, to },
            Self::HaveSpace { name, size } => Request::HaveSpace { name, size: *size },
        }
    }

    /// The sentence of the `OK` that ends it.
    fn completed(&self) -> &'static str {
        match self {
            Self::List => "Listscripts completed",
            Self::Get(_) => "Getscript completed",
            Self::Put { .. } => "Putscript completed",
            Self::Check(_) => "Script is valid",
            Self::Activate(_) => "Setactive completed",
            Self::Delete(_) => "Deletescript completed",
            Self::Rename { .. } => "Renamescript completed",
            Self::HaveSpace { .. } => "Putscript would succeed",
        }
    }
}

impl Pending {
    fn action(&self) -> Action<'_> {
        match self {
            Self::Login(credentials) => Action::Login(credentials),
            Self::Operation(operation) => Action::Request(operation.request()),
        }
    }
}

/// Logged in or not (RFC 5804 §2).
#[derive(Debug)]
enum State {
    NotAuthenticated,
    Authenticated { user: String },
}

/// What the next input is.
#[derive(Debug)]
enum Phase {
    Command,
    /// A challenge was sent; the client's response string is due.
    Sasl(Exchange),
}

/// One ManageSieve server connection.
#[derive(Debug)]
pub struct ServerSession {
    config: Arc<ServerConfig>,
    /// Until when the client may take to log in.
    login_deadline: Option<Instant>,
    state: State,
    phase: Phase,
    framer: Framer,
    common: Common<Pending>,
}

impl ServerSession {
    /// Starts a session with `peer`, its greeting (the capabilities and `OK`) queued.
    pub fn new(config: Arc<ServerConfig>, peer: Peer, now: Instant) -> Self {
        let input = InputBuffer::new(command_limit(&config));
        let common = Common::new(peer, input, now, OUTPUT_HIGH_WATER, config.max_errors);
        let mut session = Self {
            login_deadline: now.checked_add(config.login_timeout),
            config,
            state: State::NotAuthenticated,
            phase: Phase::Command,
            framer: Framer::default(),
            common,
        };
        session.capabilities();
        let greeting = format!("{} ManageSieve ready", session.config.hostname);
        session.respond(Status::Ok, None, &greeting);
        session
    }

    /// Answers [`Action::Login`](proto_core::session::Action::Login). A
    /// [`LoginError::BadCredentials`] counts towards `max_errors`, which bounds password
    /// guessing per connection; the other refusals are not the client's fault.
    pub fn login_result(&mut self, result: Result<(), LoginError>, now: Instant) {
        let credentials = match self.common.answer(now) {
            Some(Pending::Login(credentials)) => credentials,
            other => return self.common.restore(other),
        };
        match result {
            Ok(()) => {
                self.state = State::Authenticated {
                    user: credentials.into_username(),
                };
                self.respond(Status::Ok, None, "Logged in");
            }
            Err(LoginError::BadCredentials) => self.error(None, "Authentication failed"),
            Err(LoginError::Unavailable | LoginError::InUse) => self.respond(
                Status::No,
                Some(Code::TryLater),
                "Account unavailable, try again later",
            ),
        }
    }

    /// Answers an [`Action::Request`](proto_core::session::Action::Request): `OK` with what
    /// the command shows, or `NO` with the refusal.
    pub fn answer(&mut self, result: Result<Answer, Refusal>, now: Instant) {
        let operation = match self.common.answer(now) {
            Some(Pending::Operation(operation)) => operation,
            other => return self.common.restore(other),
        };
        let out = self.common.out();
        match result {
            Ok(answer) => {
                match answer {
                    Answer::Done => {}
                    Answer::Scripts(scripts) => {
                        for (name, active) in &scripts {
                            reply::listed(out, name, *active);
                        }
                    }
                    // Always a literal (RFC 5804 §2.9), as every client reads it.
                    Answer::Script(script) => {
                        reply::literal(out, script.as_bytes());
                        out.extend_from_slice(b"\r\n");
                    }
                }
                reply::status(out, Status::Ok, None, operation.completed());
            }
            Err(refusal) => reply::status(out, Status::No, refusal.code, &refusal.text),
        }
    }

    /// The user logged in on this connection.
    pub fn user(&self) -> Option<&str> {
        match &self.state {
            State::Authenticated { user } => Some(user),
            State::NotAuthenticated => None,
        }
    }

    /// Processes the next whole command (or SASL response), if it has all arrived.
    fn step_input(&mut self) -> bool {
        let limit = command_limit(&self.config);
        let len = match self.framer.next(self.common.input_mut(), limit) {
            Frame::Incomplete => return false,
            Frame::Complete(len) => len,
            Frame::TooLong { script } => {
                self.phase = Phase::Command;
                match script {
                    true => self.respond(
                        Status::No,
                        Some(Code::QuotaMaxSize),
                        &format!(
                            "Script too large: {} octets at most",
                            self.config.max_script_size
                        ),
                    ),
                    false => self.error(None, "Command too long"),
                }
                return true;
            }
        };
        // Handlers never touch the session's input while it is lent out.
        let mut input = self.common.input_mut().lend();
        let bytes = input.pending().get(..len).unwrap_or_default();
        match mem::replace(&mut self.phase, Phase::Command) {
            Phase::Command => match parse_command(bytes) {
                Ok(command) => self.handle_command(command),
                Err(error) => self.error(None, error.text()),
            },
            Phase::Sasl(exchange) => match parse_sasl_response(bytes) {
                Ok(response) => self.sasl(exchange.advance(response.as_bytes())),
                Err(ParseError::NotUtf8 | ParseError::BadString) => {
                    self.sasl(SaslNext::Invalid(SaslError::Base64));
                }
                Err(error) => self.error(None, error.text()),
            },
        }
        input.consume(len);
        *self.common.input_mut() = input;
        true
    }

    /// Carries out a step of a SASL exchange (RFC 5804 §2.1).
    fn sasl(&mut self, next: SaslNext) {
        match next {
            // RFC 5804 §2.1: the server MUST reject a cancelled exchange with NO.
            SaslNext::Cancelled => self.respond(Status::No, None, "Authentication cancelled"),
            SaslNext::Invalid(error) => self.error(None, error.text()),
            SaslNext::Challenge(exchange, challenge) => {
                reply::string_line(self.common.out(), challenge.as_bytes());
                self.phase = Phase::Sasl(exchange);
            }
            SaslNext::Done(credentials) => self.common.ask(Pending::Login(credentials)),
        }
    }

    /// Queues `Close` after the pending output; a question awaited is dropped.
    fn close(&mut self) {
        if self.common.close() {
            self.phase = Phase::Command;
        }
    }

    fn respond(&mut self, status: Status, code: Option<Code>, text: &str) {
        reply::status(self.common.out(), status, code, text);
    }

    /// Answers a bad command with `NO` and counts it; at `max_errors` the client is shown
    /// the door.
    fn error(&mut self, code: Option<Code>, text: &str) {
        self.respond(Status::No, code, text);
        if self.common.count_error() {
            self.respond(Status::Bye, None, "Too many errors");
            self.close();
        }
    }
}

/// The most octets one command may take: the largest script, and room for the rest.
fn command_limit(config: &ServerConfig) -> usize {
    config.max_script_size.saturating_add(COMMAND_OVERHEAD)
}

impl Session for ServerSession {
    type Request<'a> = Request<'a>;
    type Question = Pending;
    type Input = InputBuffer;
    type Event = Infallible;

    fn poll_action(&mut self) -> Option<Action<'_>> {
        self.process();
        self.common
            .poll(|never| match never {}, |pending| Some(pending.action()))
    }

    fn step(&mut self) -> bool {
        self.step_input()
    }

    fn common(&self) -> &Common<Pending> {
        &self.common
    }

    fn common_mut(&mut self) -> &mut Common<Pending> {
        &mut self.common
    }

    fn idle_limit(&self) -> Duration {
        self.config.timeout
    }

    /// Before logging in: `login_timeout` from the greeting in all.
    fn phase_deadline(&self) -> Option<Instant> {
        self.login_deadline
            .filter(|_| matches!(self.state, State::NotAuthenticated))
    }

    fn timed_out(&mut self) {
        self.respond(Status::Bye, None, "Disconnected for inactivity");
        self.close();
    }

    /// RFC 5804 §2.2: after the handshake the server says its capabilities again, and the
    /// session starts over, with nothing learnt in cleartext.
    fn forget_cleartext(&mut self) {
        self.state = State::NotAuthenticated;
        self.phase = Phase::Command;
        self.framer = Framer::default();
        self.capabilities();
        self.respond(Status::Ok, None, "TLS negotiation successful");
    }

    /// A command on the scripts being carried out lets a shutdown wait for its answer.
    fn busy(&self) -> bool {
        matches!(self.common.question(), Some(Pending::Operation(_)))
    }

    fn leave(&mut self) {
        if self.common.is_open() {
            self.respond(Status::Bye, Some(Code::TryLater), "Server shutting down");
            self.close();
        }
    }
}
