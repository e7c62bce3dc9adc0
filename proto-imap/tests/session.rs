//! Behaviour of `ServerSession`, driven through its public API by a scripted
//! engine.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proto_imap::*;

// ---------------------------------------------------------------- harness

/// What the session asked for, owned so that the session can be used again.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Send(String),
    StartTls,
    Login {
        username: String,
        password: String,
    },
    /// The command in wire form, without its line ending.
    Execute(String),
    AppendStart {
        tag: String,
        mailbox: String,
        flags: usize,
        size: u32,
        binary: bool,
        first: bool,
        utf8: bool,
    },
    AppendData(Vec<u8>),
    AppendMessageEnd,
    AppendEnd,
    IdleStart,
    IdleDone,
    Compress,
    Close,
}

impl Ev {
    fn from_action(action: Action<'_>) -> Self {
        match action {
            Action::Send(bytes) => Ev::Send(String::from_utf8_lossy(bytes).into_owned()),
            Action::StartTls => Ev::StartTls,
            Action::Login(credentials) => Ev::Login {
                username: credentials.username().into(),
                password: credentials.password().into(),
            },
            Action::Request(request) => Ev::from_request(request),
            Action::Close => Ev::Close,
        }
    }

    fn from_request(request: Request<'_>) -> Self {
        match request {
            Request::Execute(command) => {
                let mut out = Vec::new();
                command.encode(&mut out);
                let line = String::from_utf8_lossy(&out);
                Ev::Execute(line.trim_end().to_owned())
            }
            Request::AppendStart(AppendStart {
                tag,
                mailbox,
                flags,
                size,
                binary,
                first,
                utf8,
                ..
            }) => Ev::AppendStart {
                tag: tag.into(),
                mailbox: String::from_utf8_lossy(mailbox.as_bytes()).into_owned(),
                flags: flags.len(),
                size,
                binary,
                first,
                utf8,
            },
            Request::AppendData(bytes) => Ev::AppendData(bytes.to_vec()),
            Request::AppendMessageEnd => Ev::AppendMessageEnd,
            Request::AppendEnd => Ev::AppendEnd,
            Request::IdleStart => Ev::IdleStart,
            Request::IdleDone => Ev::IdleDone,
            Request::Compress => Ev::Compress,
        }
    }
}

const HOST: &str = "imap.example.org";
const CAPS: &str = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE \
    UNSELECT CHILDREN SPECIAL-USE LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES \
    CONDSTORE QRESYNC QUOTA QUOTA=RES-STORAGE SORT THREAD=REFERENCES THREAD=ORDEREDSUBJECT \
    STATUS=SIZE UTF8=ACCEPT APPENDLIMIT=67108864 MULTIAPPEND BINARY WITHIN";

fn peer() -> SocketAddr {
    "192.0.2.7:40000".parse().unwrap()
}

fn config() -> ServerConfig {
    ServerConfig::new(HOST)
}

fn overquota() -> Option<Code<'static>> {
    Some(Code::Plain(PlainCode::OverQuota))
}

/// Drives a session like a runtime with an engine behind it. The engine
/// logs in password "secret" (and refuses "down" as unavailable, "busy" as
/// in use, the rest as bad credentials), executes every command with `OK <VERB> completed`
/// (SELECT/EXAMINE select, CLOSE/UNSELECT unselect, FETCH writes one
/// response), accepts APPEND messages up to `append_limit` octets and
/// rejects one with more than `reject_after` octets mid-way, writes
/// `* 4 EXISTS` when IDLE starts, and ends IDLE with `OK IDLE terminated`.
struct Harness {
    session: ServerSession,
    now: Instant,
    /// Every action, in order.
    log: Vec<Ev>,
    /// Answer Execute automatically (otherwise the test completes them).
    auto_execute: bool,
    /// Call `tls_started` right after `StartTls`.
    auto_tls: bool,
    append_limit: u32,
    reject_after: Option<usize>,
    /// The message being received and the complete ones of this APPEND.
    receiving: Vec<u8>,
    received: Vec<Vec<u8>>,
    /// Messages of completed APPENDs.
    committed: Vec<Vec<u8>>,
    /// Largest unprocessed input and largest `Send` allowed.
    max_buffered: usize,
    max_send: usize,
}

impl Harness {
    /// A session on an implicit-TLS connection, where logins are allowed.
    fn new() -> Self {
        Self::start(config(), true)
    }

    fn start(config: ServerConfig, implicit_tls: bool) -> Self {
        let now = Instant::now();
        let max_buffered = config.framer.max_command + 1;
        let max_send = 4096 + 2 * config.framer.max_command + 2048;
        let session = ServerSession::new(
            Arc::new(config),
            Peer {
                addr: peer(),
                implicit_tls,
            },
            now,
        );
        Harness {
            session,
            now,
            log: Vec::new(),
            auto_execute: true,
            auto_tls: true,
            append_limit: u32::MAX,
            reject_after: None,
            receiving: Vec::new(),
            received: Vec::new(),
            committed: Vec::new(),
            max_buffered,
            max_send,
        }
    }

    /// Logged in over TLS, greeting already read.
    fn logged_in() -> Self {
        let mut h = Self::new();
        h.drive();
        let out = h.feed("l1 LOGIN alice secret\r\n");
        assert_eq!(
            out,
            format!("l1 OK [CAPABILITY {CAPS} COMPRESS=DEFLATE] Logged in\r\n")
        );
        h
    }

    /// Logged in with INBOX selected.
    fn selected() -> Self {
        let mut h = Self::logged_in();
        let out = h.feed("s1 SELECT INBOX\r\n");
        assert_eq!(out, "* 3 EXISTS\r\ns1 OK [READ-WRITE] SELECT completed\r\n");
        h
    }

    /// Feeds everything (respecting `input_capacity`), driving between reads;
    /// returns all output sent meanwhile.
    fn feed(&mut self, input: impl AsRef<[u8]>) -> String {
        let mut input = input.as_ref();
        let mut out = self.drive();
        while !input.is_empty() {
            let n = self.session.handle_input(input, self.now);
            assert!(self.session.buffered_input() <= self.max_buffered);
            input = &input[n..];
            out += &self.drive();
            if n == 0 && self.session.input_capacity() == 0 {
                break; // closed, or a question left unanswered on purpose
            }
        }
        out
    }

    /// Feeds `input` in pieces of `step` octets.
    fn feed_in(&mut self, input: impl AsRef<[u8]>, step: usize) -> String {
        input
            .as_ref()
            .chunks(step)
            .map(|piece| self.feed(piece))
            .collect()
    }

    /// Polls until idle, answering as the engine; returns the output sent.
    fn drive(&mut self) -> String {
        let mut out = String::new();
        while let Some(action) = self.session.poll_action() {
            let ev = Ev::from_action(action);
            if let Ev::Send(text) = &ev {
                assert!(!text.is_empty());
                assert!(
                    text.len() <= self.max_send,
                    "oversized send: {}",
                    text.len()
                );
                out += text;
            }
            self.log.push(ev.clone());
            self.answer(&ev);
        }
        out
    }

    /// Moves the clock and lets the session look at it.
    fn advance(&mut self, by: Duration) -> String {
        self.now += by;
        self.session.handle_timeout(self.now);
        self.drive()
    }

    /// The actions other than `Send` since the log was last taken.
    fn events(&mut self) -> Vec<Ev> {
        let log = std::mem::take(&mut self.log);
        log.into_iter()
            .filter(|ev| !matches!(ev, Ev::Send(_)))
            .collect()
    }

    fn answer(&mut self, ev: &Ev) {
        let (s, now) = (&mut self.session, self.now);
        match ev {
            Ev::StartTls if self.auto_tls => s.tls_started(now),
            Ev::Login { password, .. } => {
                let result = match password.as_str() {
                    "secret" => Ok(()),
                    "down" => Err(LoginError::Unavailable),
                    "busy" => Err(LoginError::InUse),
                    _ => Err(LoginError::BadCredentials),
                };
                s.login_result(result, now);
            }
            Ev::Execute(line) if self.auto_execute => execute(s, line, now),
            Ev::AppendStart { size, .. } => {
                if *size > self.append_limit {
                    s.append_reject(Status::No, overquota(), "Quota exceeded", now);
                    self.received.clear();
                } else {
                    s.append_accept(now);
                }
            }
            Ev::AppendData(bytes) => {
                self.receiving.extend_from_slice(bytes);
                if self.reject_after.is_some_and(|n| self.receiving.len() > n) {
                    s.append_reject(Status::No, overquota(), "Quota exceeded", now);
                    self.receiving.clear();
                    self.received.clear();
                }
            }
            Ev::AppendMessageEnd => self.received.push(std::mem::take(&mut self.receiving)),
            Ev::AppendEnd => {
                self.committed.append(&mut self.received);
                s.complete(Status::Ok, None, "APPEND completed", now);
            }
            Ev::IdleStart => s.write_data(&Data::Exists(4)),
            Ev::IdleDone => s.complete(Status::Ok, None, "IDLE terminated", now),
            _ => {}
        }
    }
}

/// The scripted engine's execution of a command.
fn execute(s: &mut ServerSession, line: &str, now: Instant) {
    let verb = line.split(' ').nth(1).unwrap_or_default().to_owned();
    match verb.as_str() {
        "SELECT" | "EXAMINE" => {
            let read_only = verb == "EXAMINE";
            s.write_data(&Data::Exists(3));
            s.set_selected(Some(Selected { read_only }));
            let code = match read_only {
                true => PlainCode::ReadOnly,
                false => PlainCode::ReadWrite,
            };
            s.complete(
                Status::Ok,
                Some(Code::Plain(code)),
                &format!("{verb} completed"),
                now,
            );
        }
        "CLOSE" | "UNSELECT" => {
            s.set_selected(None);
            s.complete(Status::Ok, None, &format!("{verb} completed"), now);
        }
        "FETCH" => {
            let one = NonZeroU32::new(1).unwrap();
            let items = vec![FetchItem::Uid(NonZeroU32::new(7).unwrap())];
            s.write_data(&Data::Fetch { seq: one, items });
            s.complete(Status::Ok, None, "FETCH completed", now);
        }
        _ => s.complete(Status::Ok, None, &format!("{verb} completed"), now),
    }
}

fn greeting(caps: &str) -> String {
    format!("* OK [CAPABILITY {caps}] {HOST} Postern IMAP ready\r\n")
}

fn capability(caps: &str, tag: &str) -> String {
    format!("* CAPABILITY {caps}\r\n{tag} OK CAPABILITY completed\r\n")
}

fn bad_state(tag: &str) -> String {
    format!("{tag} BAD Command not valid in this state\r\n")
}

fn starttls_config() -> ServerConfig {
    let mut c = config();
    c.starttls = true;
    c
}

// ---------------------------------------------------------------- capabilities

#[test]
fn greeting_and_capabilities_before_and_after_tls_and_login() {
    let mut h = Harness::start(starttls_config(), false);
    let before_tls = format!("{CAPS} STARTTLS LOGINDISABLED");
    assert_eq!(h.drive(), greeting(&before_tls));
    assert_eq!(h.feed("a CAPABILITY\r\n"), capability(&before_tls, "a"));

    assert_eq!(
        h.feed("b STARTTLS\r\n"),
        "b OK Begin TLS negotiation now\r\n"
    );
    assert_eq!(h.events(), [Ev::StartTls]);
    assert!(h.session.is_tls());
    let after_tls = format!("{CAPS} AUTH=PLAIN AUTH=LOGIN");
    assert_eq!(h.feed("c CAPABILITY\r\n"), capability(&after_tls, "c"));

    assert_eq!(
        h.feed("d LOGIN alice secret\r\n"),
        format!("d OK [CAPABILITY {CAPS} COMPRESS=DEFLATE] Logged in\r\n")
    );
    assert_eq!(h.session.user(), Some("alice"));
    assert_eq!(
        h.feed("e CAPABILITY\r\n"),
        capability(&format!("{CAPS} COMPRESS=DEFLATE"), "e")
    );
}

#[test]
fn capabilities_follow_the_configuration() {
    // Implicit TLS: logins allowed, nothing to upgrade.
    let mut h = Harness::start(starttls_config(), true);
    assert_eq!(
        h.drive(),
        greeting(&format!("{CAPS} AUTH=PLAIN AUTH=LOGIN"))
    );
    // Cleartext without STARTTLS: logins disabled and no way out.
    let mut h = Harness::start(config(), false);
    assert_eq!(h.drive(), greeting(&format!("{CAPS} LOGINDISABLED")));
    // Cleartext logins allowed on purpose.
    let mut c = starttls_config();
    c.auth_without_tls = true;
    c.framer.literal_plus = false;
    c.framer.max_message = 1000;
    let mut h = Harness::start(c, false);
    let caps = CAPS
        .replace("LITERAL+", "LITERAL-")
        .replace("APPENDLIMIT=67108864", "APPENDLIMIT=1000");
    assert_eq!(
        h.drive(),
        greeting(&format!("{caps} STARTTLS AUTH=PLAIN AUTH=LOGIN"))
    );
}

#[test]
fn hostname_cannot_forge_lines() {
    let h = &mut Harness::start(ServerConfig::new("evil\r\n* BYE"), true);
    let out = h.drive();
    assert!(
        out.ends_with("] evil  * BYE Postern IMAP ready\r\n"),
        "{out}"
    );
    assert_eq!(out.matches("\r\n").count(), 1);
}

// ---------------------------------------------------------------- login

#[test]
fn logindisabled_refuses_passwords_in_cleartext() {
    let mut h = Harness::start(starttls_config(), false);
    h.drive();
    let refused = "NO [PRIVACYREQUIRED] Login not allowed before TLS; use STARTTLS or the TLS port";
    assert_eq!(
        h.feed("a LOGIN alice secret\r\n"),
        format!("a {refused}\r\n")
    );
    assert_eq!(
        h.feed("b AUTHENTICATE PLAIN\r\n"),
        format!("b {refused}\r\n")
    );
    assert_eq!(
        h.feed("c AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
        format!("c {refused}\r\n")
    );
    assert_eq!(h.events(), []);
    assert_eq!(h.session.user(), None);
}

#[test]
fn login_outcomes() {
    let mut h = Harness::new();
    h.drive();
    assert_eq!(
        h.feed("a LOGIN alice wrong\r\n"),
        "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
    );
    assert_eq!(
        h.feed("b LOGIN alice down\r\n"),
        "b NO [UNAVAILABLE] Login temporarily unavailable, try again later\r\n"
    );
    assert_eq!(
        h.feed("b2 LOGIN alice busy\r\n"),
        "b2 NO [INUSE] Account in use by another session, try again later\r\n"
    );
    assert_eq!(h.session.user(), None);
    // A synchronizing literal is invited.
    assert_eq!(h.feed("c LOGIN {5}\r\n"), "+ Ready for literal data\r\n");
    assert_eq!(
        h.feed("alice \"secret\"\r\n"),
        format!("c OK [CAPABILITY {CAPS} COMPRESS=DEFLATE] Logged in\r\n")
    );
    let logins: Vec<_> = h
        .events()
        .into_iter()
        .filter_map(|ev| match ev {
            Ev::Login { password, .. } => Some(password),
            _ => None,
        })
        .collect();
    assert_eq!(logins, ["wrong", "down", "busy", "secret"]);
    assert_eq!(h.session.user(), Some("alice"));
    // Once in, LOGIN and AUTHENTICATE are out of place.
    assert_eq!(h.feed("d LOGIN alice secret\r\n"), bad_state("d"));
    assert_eq!(h.feed("e AUTHENTICATE PLAIN\r\n"), bad_state("e"));
}

#[test]
fn login_needs_utf8() {
    let mut h = Harness::new();
    h.drive();
    assert_eq!(
        h.feed(b"a LOGIN {1+}\r\n\xff secret\r\n"),
        "a BAD User name and password must be UTF-8\r\n"
    );
    assert_eq!(h.events(), []);
}

#[test]
fn authenticate_plain() {
    let mut h = Harness::new();
    h.drive();
    // SASL-IR: "\0alice\0secret".
    assert_eq!(
        h.feed("a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
        format!("a OK [CAPABILITY {CAPS} COMPRESS=DEFLATE] Logged in\r\n")
    );
    assert_eq!(
        h.events(),
        [Ev::Login {
            username: "alice".into(),
            password: "secret".into()
        }]
    );

    // With a continuation, an authzid equal to the user, mechanism in any case.
    let mut h = Harness::new();
    h.drive();
    assert_eq!(h.feed("b authenticate plain\r\n"), "+ \r\n");
    assert_eq!(
        h.feed("YWxpY2UAYWxpY2UAc2VjcmV0\r\n"),
        format!("b OK [CAPABILITY {CAPS} COMPRESS=DEFLATE] Logged in\r\n")
    );
    assert_eq!(h.session.user(), Some("alice"));
}

#[test]
fn authenticate_plain_failures() {
    let mut h = Harness::new();
    h.drive();
    assert_eq!(h.feed("a AUTHENTICATE PLAIN\r\n"), "+ \r\n");
    assert_eq!(h.feed("*\r\n"), "a BAD Authentication cancelled\r\n");
    assert_eq!(h.feed("b AUTHENTICATE PLAIN\r\n"), "+ \r\n");
    assert_eq!(
        h.feed("not base64!\r\n"),
        "b BAD Syntax error in AUTHENTICATE: expected base64\r\n"
    );
    assert_eq!(
        h.feed("c AUTHENTICATE PLAIN !!\r\n"),
        "c BAD Syntax error in AUTHENTICATE arguments\r\n"
    );
    // "admin\0alice\0secret": acting for someone else.
    assert_eq!(
        h.feed("d AUTHENTICATE PLAIN YWRtaW4AYWxpY2UAc2VjcmV0\r\n"),
        "d NO [AUTHORIZATIONFAILED] Authorization identity must be empty or the user's own\r\n"
    );
    assert_eq!(
        h.feed("e AUTHENTICATE PLAIN =\r\n"),
        "e BAD Malformed PLAIN response\r\n"
    );
    assert_eq!(
        h.feed("f AUTHENTICATE CRAM-MD5\r\n"),
        "f NO [CANNOT] Unsupported authentication mechanism\r\n"
    );
    assert_eq!(
        h.feed("f2 AUTHENTICATE DIGEST-MD5\r\n"),
        "f2 NO [CANNOT] Unsupported authentication mechanism\r\n"
    );
    // "\0alice\0wrong".
    assert_eq!(
        h.feed("g AUTHENTICATE PLAIN AGFsaWNlAHdyb25n\r\n"),
        "g NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
    );
    assert_eq!(h.session.user(), None);
    // The session is still usable.
    assert_eq!(h.feed("h NOOP\r\n"), "h OK NOOP completed\r\n");
}

// ---------------------------------------------------------------- states

#[test]
fn commands_in_the_wrong_state() {
    let mut h = Harness::new();
    h.drive();
    for (tag, line) in [
        ("a", "SELECT INBOX"),
        ("b", "ENABLE CONDSTORE"),
        ("c", "NAMESPACE"),
        ("d", "IDLE"),
        ("e", "FETCH 1 FLAGS"),
        ("f", "LIST \"\" *"),
    ] {
        assert_eq!(
            h.feed(format!("{tag} {line}\r\n")),
            bad_state(tag),
            "{line}"
        );
    }
    // APPEND before login: the literal is not invited...
    assert_eq!(h.feed("g APPEND INBOX {5}\r\n"), bad_state("g"));
    // ...and a non-synchronizing one is read and dropped.
    assert_eq!(
        h.feed("h APPEND INBOX {5+}\r\nhello\r\ni NOOP\r\n"),
        format!("{}i OK NOOP completed\r\n", bad_state("h"))
    );
    assert_eq!(h.events(), []);

    let mut h = Harness::logged_in();
    h.events();
    for (tag, line) in [
        ("a", "FETCH 1 FLAGS"),
        ("b", "UID SEARCH ALL"),
        ("c", "EXPUNGE"),
        ("d", "CLOSE"),
        ("e", "STARTTLS"),
    ] {
        assert_eq!(
            h.feed(format!("{tag} {line}\r\n")),
            bad_state(tag),
            "{line}"
        );
    }
    assert_eq!(h.events(), []);
    // Selected: everything goes to the engine.
    let out = h.feed("f SELECT INBOX\r\ng UID FETCH 1:* FLAGS\r\nh CLOSE\r\ni NOOP\r\n");
    assert_eq!(
        out,
        "* 3 EXISTS\r\nf OK [READ-WRITE] SELECT completed\r\n\
         g OK UID completed\r\nh OK CLOSE completed\r\ni OK NOOP completed\r\n"
    );
    assert_eq!(h.session.selected(), None);
    assert_eq!(h.feed("j EXPUNGE\r\n"), bad_state("j"));
}

#[test]
fn pipelined_commands_wait_for_the_engine() {
    let mut h = Harness::selected();
    h.events();
    h.auto_execute = false;
    let out = h.feed("a FETCH 1 UID\r\nb NOOP\r\nc CAPABILITY\r\n");
    assert_eq!(out, "");
    assert_eq!(h.events(), [Ev::Execute("a FETCH 1 UID".into())]);
    // While the engine works: no input, no timer, only Send.
    assert_eq!(h.session.input_capacity(), 0);
    assert_eq!(h.session.poll_timeout(), None);
    assert_eq!(h.session.handle_input(b"d NOOP\r\n", h.now), 0);
    let one = NonZeroU32::new(1).unwrap();
    h.session.write_data(&Data::Fetch {
        seq: one,
        items: vec![FetchItem::Uid(one)],
    });
    assert_eq!(h.session.output_len(), 19);
    assert_eq!(h.drive(), "* 1 FETCH (UID 1)\r\n");
    assert_eq!(h.session.output_len(), 0);
    assert_eq!(h.drive(), "");
    h.session
        .complete(Status::Ok, None, "FETCH completed", h.now);
    assert_eq!(h.drive(), "a OK FETCH completed\r\n");
    assert_eq!(h.events(), [Ev::Execute("b NOOP".into())]);
    h.session.complete(
        Status::No,
        Some(Code::Plain(PlainCode::ServerBug)),
        "",
        h.now,
    );
    assert_eq!(
        h.drive(),
        format!(
            "b NO [SERVERBUG] Completed\r\n{}",
            capability(&format!("{CAPS} COMPRESS=DEFLATE"), "c")
        )
    );
    // Late or stray answers are ignored.
    h.session.complete(Status::Ok, None, "again", h.now);
    h.session.append_accept(h.now);
    h.session.login_result(Ok(()), h.now);
    assert_eq!(h.drive(), "");
    assert!(h.session.poll_timeout().is_some());
}

#[test]
fn response_text_is_never_taken_for_a_code() {
    let mut h = Harness::selected();
    h.auto_execute = false;
    h.feed("a NOOP\r\n");
    h.session.complete(Status::Ok, None, "[x] done", h.now);
    assert_eq!(h.drive(), "a OK  [x] done\r\n");
    h.feed("b NOOP\r\n");
    h.session.complete(
        Status::Ok,
        Some(Code::Plain(PlainCode::Alert)),
        "[x] done",
        h.now,
    );
    assert_eq!(h.drive(), "b OK [ALERT] [x] done\r\n");
}

#[test]
fn starttls_discards_pipelined_input() {
    let mut h = Harness::start(starttls_config(), false);
    h.drive();
    h.auto_tls = false;
    let out = h.feed("a STARTTLS\r\nb LOGIN alice secret\r\n");
    assert_eq!(out, "a OK Begin TLS negotiation now\r\n");
    assert_eq!(h.events(), [Ev::StartTls]);
    assert_eq!(h.session.input_capacity(), 0);
    assert_eq!(h.session.buffered_input(), 0);
    h.session.tls_started(h.now);
    assert_eq!(h.drive(), "");
    assert_eq!(h.events(), []);
    assert_eq!(h.feed("c STARTTLS\r\n"), "c BAD TLS is already active\r\n");
    // Without STARTTLS configured.
    let mut h = Harness::start(config(), false);
    h.drive();
    assert_eq!(
        h.feed("a STARTTLS\r\n"),
        "a BAD STARTTLS is not available\r\n"
    );
}

// ---------------------------------------------------------------- APPEND

fn append_start(tag: &str, flags: usize, size: u32, first: bool) -> Ev {
    Ev::AppendStart {
        tag: tag.into(),
        mailbox: "INBOX".into(),
        flags,
        size,
        binary: false,
        first,
        utf8: false,
    }
}

#[test]
fn append_with_a_synchronizing_literal() {
    let mut h = Harness::logged_in();
    h.events();
    assert_eq!(
        h.feed("a APPEND inbox (\\Seen $Junk) \"01-Feb-2024 10:00:00 +0000\" {5}\r\n"),
        "+ Ready for literal data\r\n"
    );
    assert_eq!(h.feed("hel"), "");
    assert_eq!(h.feed("lo\r\n"), "a OK APPEND completed\r\n");
    assert_eq!(
        h.events(),
        [
            append_start("a", 2, 5, true),
            Ev::AppendData(b"hel".to_vec()),
            Ev::AppendData(b"lo".to_vec()),
            Ev::AppendMessageEnd,
            Ev::AppendEnd,
        ]
    );
    assert_eq!(h.committed, [b"hello".to_vec()]);
}

#[test]
fn append_with_a_literal_plus_and_multiappend() {
    let mut h = Harness::logged_in();
    h.events();
    let out = h.feed_in(
        "a APPEND INBOX {3+}\r\none (\\Flagged) ~{3+}\r\ntwo\r\nb NOOP\r\n",
        4,
    );
    assert_eq!(out, "a OK APPEND completed\r\nb OK NOOP completed\r\n");
    let events = h.events();
    assert_eq!(events[0], append_start("a", 0, 3, true));
    assert!(events.contains(&Ev::AppendStart {
        tag: "a".into(),
        mailbox: "INBOX".into(),
        flags: 1,
        size: 3,
        binary: true,
        first: false,
        utf8: false,
    }));
    assert_eq!(h.committed, [b"one".to_vec(), b"two".to_vec()]);
}

#[test]
fn append_rejected_by_the_engine() {
    let mut h = Harness::logged_in();
    h.append_limit = 10;
    // Synchronizing: no invitation, nothing follows.
    assert_eq!(
        h.feed("a APPEND INBOX {20}\r\n"),
        "a NO [OVERQUOTA] Quota exceeded\r\n"
    );
    // Non-synchronizing: the data is dropped, not run as commands.
    assert_eq!(
        h.feed("b APPEND INBOX {20+}\r\nc LOGOUT\r\nd LOGOUT\r\n\r\ne NOOP\r\n"),
        "b NO [OVERQUOTA] Quota exceeded\r\ne OK NOOP completed\r\n"
    );
    // The second message of a MULTIAPPEND: the whole command fails.
    assert_eq!(
        h.feed("f APPEND INBOX {3+}\r\none {20+}\r\n01234567890123456789\r\ng NOOP\r\n"),
        "f NO [OVERQUOTA] Quota exceeded\r\ng OK NOOP completed\r\n"
    );
    assert!(h.committed.is_empty());
}

#[test]
fn append_rejected_mid_message() {
    let mut h = Harness::logged_in();
    h.reject_after = Some(10);
    let message = "x".repeat(100);
    let input = format!("a APPEND INBOX {{100}}\r\n{message}\r\nb NOOP\r\n");
    let out = h.feed_in(input, 7);
    assert_eq!(
        out,
        "+ Ready for literal data\r\na NO [OVERQUOTA] Quota exceeded\r\nb OK NOOP completed\r\n"
    );
    assert!(h.committed.is_empty());
    assert!(!h.events().contains(&Ev::AppendEnd));
}

#[test]
fn append_over_the_limit_is_refused_by_the_session() {
    let mut c = config();
    c.framer.max_message = 10;
    let mut h = Harness::start(c, true);
    h.drive();
    h.feed("l LOGIN alice secret\r\n");
    h.events();
    assert_eq!(
        h.feed("a APPEND INBOX {11}\r\nb NOOP\r\n"),
        "a NO [TOOBIG] Message too big\r\nb OK NOOP completed\r\n"
    );
    assert_eq!(h.events(), [Ev::Execute("b NOOP".into())]);
    // Past the first message the engine has started: the connection closes.
    let out = h.feed("c APPEND INBOX {3+}\r\none {11}\r\n");
    assert_eq!(
        out,
        "c NO [TOOBIG] Message too big\r\n* BYE Closing connection\r\n"
    );
    assert_eq!(h.events().last(), Some(&Ev::Close));
    assert!(h.committed.is_empty());
}

fn utf8_append_start(tag: &str, size: u32, binary: bool, first: bool) -> Ev {
    Ev::AppendStart {
        tag: tag.into(),
        mailbox: "INBOX".into(),
        flags: 0,
        size,
        binary,
        first,
        utf8: true,
    }
}

#[test]
fn append_in_the_utf8_form() {
    let mut h = Harness::logged_in();
    h.feed("e ENABLE UTF8=ACCEPT\r\n");
    h.events();
    let message = "Subject: \u{e9}t\u{e9}\r\n\r\nhi\r\n";
    let size = message.len();
    assert_eq!(
        h.feed(format!("a APPEND INBOX UTF8 (~{{{size}}}\r\n")),
        "+ Ready for literal data\r\n"
    );
    assert_eq!(
        h.feed_in(format!("{message})\r\n"), 3),
        "a OK APPEND completed\r\n"
    );
    let events = h.events();
    assert_eq!(events[0], utf8_append_start("a", size as u32, true, true));
    assert_eq!(events.last(), Some(&Ev::AppendEnd));
    assert_eq!(h.committed, [message.as_bytes().to_vec()]);

    // MULTIAPPEND mixing the forms, non-synchronizing, a plain literal in
    // the UTF8 form.
    h.committed.clear();
    let out = h.feed_in(
        "b APPEND INBOX UTF8 ({3+}\r\none) {3+}\r\ntwo UTF8 (~{5+}\r\nth)ee)\r\nc NOOP\r\n",
        5,
    );
    assert_eq!(out, "b OK APPEND completed\r\nc OK NOOP completed\r\n");
    let starts: Vec<_> = h
        .events()
        .into_iter()
        .filter(|ev| matches!(ev, Ev::AppendStart { .. }))
        .collect();
    assert_eq!(
        starts,
        [
            utf8_append_start("b", 3, false, true),
            append_start("b", 0, 3, false),
            utf8_append_start("b", 5, true, false),
        ]
    );
    assert_eq!(
        h.committed,
        [b"one".to_vec(), b"two".to_vec(), b"th)ee".to_vec()]
    );
}

#[test]
fn append_in_the_utf8_form_needs_enable() {
    let refused = |tag: &str| format!("{tag} BAD APPEND UTF8 needs ENABLE UTF8=ACCEPT first\r\n");
    let mut h = Harness::logged_in();
    // IMAP4rev2 alone does not allow it (RFC 6855 4).
    h.feed("e ENABLE IMAP4rev2\r\n");
    h.events();
    // Synchronizing: no invitation, nothing follows.
    assert_eq!(h.feed("a APPEND INBOX UTF8 (~{5}\r\n"), refused("a"));
    // Non-synchronizing: the data and its `)` are dropped.
    assert_eq!(
        h.feed("b APPEND INBOX UTF8 (~{5+}\r\nc NOO)\r\nd NOOP\r\n"),
        refused("b") + "d OK NOOP completed\r\n"
    );
    assert_eq!(h.events(), [Ev::Execute("d NOOP".into())]);
    // After a first message the engine has: the connection closes.
    assert_eq!(
        h.feed("f APPEND INBOX {3+}\r\none UTF8 (~{3+}\r\ntwo)\r\n"),
        refused("f") + "* BYE Closing connection\r\n"
    );
    assert_eq!(h.events().last(), Some(&Ev::Close));
    assert!(h.committed.is_empty());
}

#[test]
fn append_in_the_utf8_form_without_its_parenthesis() {
    let mut h = Harness::logged_in();
    h.feed("e ENABLE UTF8=ACCEPT\r\n");
    let out = h.feed("a APPEND INBOX UTF8 (~{3+}\r\nabc\r\n");
    assert_eq!(
        out,
        "a BAD Syntax error in APPEND: expected \")\" after the UTF8 message\r\n\
         * BYE Closing connection\r\n"
    );
    assert!(h.committed.is_empty());
}

// ---------------------------------------------------------------- IDLE

#[test]
fn idle_until_done() {
    let mut h = Harness::selected();
    h.events();
    assert_eq!(h.feed("a IDLE\r\n"), "+ idling\r\n* 4 EXISTS\r\n");
    assert_eq!(h.events(), [Ev::IdleStart]);
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(30 * 60))
    );
    // Updates may come at any time.
    h.session
        .write_data(&Data::Expunge(NonZeroU32::new(2).unwrap()));
    assert_eq!(h.drive(), "* 2 EXPUNGE\r\n");
    assert_eq!(
        h.feed("DONE\r\nb NOOP\r\n"),
        "a OK IDLE terminated\r\nb OK NOOP completed\r\n"
    );
    assert_eq!(h.events(), [Ev::IdleDone, Ev::Execute("b NOOP".into())]);
    // IDLE in the authenticated state too, and something else than DONE.
    let mut h = Harness::logged_in();
    assert_eq!(h.feed("c IDLE\r\n"), "+ idling\r\n* 4 EXISTS\r\n");
    assert_eq!(h.feed("d NOOP\r\n"), "c BAD Expected DONE to end IDLE\r\n");
    assert_eq!(h.events().last(), Some(&Ev::IdleDone));
}

#[test]
fn idle_timeout() {
    let mut h = Harness::selected();
    h.feed("a IDLE\r\n");
    assert_eq!(h.advance(Duration::from_secs(29 * 60)), "");
    assert_eq!(h.advance(Duration::from_secs(60)), "* BYE Idle timeout\r\n");
    assert_eq!(h.events().last(), Some(&Ev::Close));
    assert!(h.session.is_closed());
}

// ---------------------------------------------------------------- timeouts

#[test]
fn logging_in_has_a_minute_however_the_bytes_trickle() {
    let mut h = Harness::new();
    h.drive();
    let start = h.now;
    for part in ["a LOG", "IN al", "ice "] {
        assert_eq!(h.advance(Duration::from_secs(15)), "");
        h.feed(part);
    }
    assert_eq!(
        h.session.poll_timeout(),
        Some(start + Duration::from_secs(60))
    );
    assert_eq!(
        h.advance(Duration::from_secs(15)),
        "* BYE Autologout; idle too long\r\n"
    );
    assert!(h.session.is_closed());
}

#[test]
fn an_append_trickled_byte_by_byte_still_ends_at_its_limit() {
    let mut h = Harness::logged_in();
    let start = h.now;
    h.feed("a APPEND INBOX {100000}\r\n");
    h.events();
    h.session.append_accept(h.now);
    h.drive();
    // A byte every 10 minutes keeps within the 30-minute silence, not within the limit.
    for _ in 0..2 {
        assert_eq!(h.advance(Duration::from_secs(10 * 60)), "");
        h.feed("x");
    }
    assert_eq!(
        h.session.poll_timeout(),
        Some(start + Duration::from_secs(30 * 60))
    );
    let out = h.advance(Duration::from_secs(10 * 60));
    assert!(out.starts_with("* BYE"), "{out}");
    assert!(h.session.is_closed());
}

#[test]
fn login_and_idle_timeouts() {
    let mut h = Harness::new();
    h.drive();
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(60))
    );
    assert_eq!(h.advance(Duration::from_secs(59)), "");
    assert_eq!(
        h.advance(Duration::from_secs(1)),
        "* BYE Autologout; idle too long\r\n"
    );
    assert!(h.session.is_closed());
    assert_eq!(h.session.poll_timeout(), None);

    let mut h = Harness::logged_in();
    // The engine's time is not the client's: the clock restarts at its answer.
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(30 * 60))
    );
    assert_eq!(h.advance(Duration::from_secs(20 * 60)), "");
    h.feed("a NOOP\r\n");
    h.advance(Duration::from_secs(1));
    assert_eq!(h.advance(Duration::from_secs(20 * 60)), "");
    assert_eq!(
        h.advance(Duration::from_secs(10 * 60)),
        "* BYE Autologout; idle too long\r\n"
    );
}

// ---------------------------------------------------------------- session-handled commands

#[test]
fn enable() {
    let mut h = Harness::logged_in();
    assert_eq!(
        h.feed("a ENABLE qresync X-UNKNOWN\r\n"),
        "* ENABLED QRESYNC\r\na OK ENABLE completed\r\n"
    );
    let enabled = h.session.enabled();
    assert!(enabled.qresync && enabled.condstore && !enabled.imap4rev2 && !enabled.utf8_accept);
    assert_eq!(
        h.feed("b ENABLE CONDSTORE QRESYNC\r\n"),
        "* ENABLED\r\nb OK ENABLE completed\r\n"
    );
    assert!(!h.session.encode_options().utf8);
    h.feed("s SELECT INBOX\r\n");
    assert_eq!(
        h.feed("c ENABLE IMAP4rev2 CONDSTORE\r\n"),
        "* ENABLED IMAP4rev2\r\nc OK ENABLE completed\r\n"
    );
    assert!(h.session.encode_options().utf8);
    assert!(h.session.enabled().imap4rev2);
    assert!(h.session.enabled().utf8() && !h.session.enabled().utf8_accept);

    let mut h = Harness::logged_in();
    h.session.enable_condstore();
    assert_eq!(
        h.feed("a ENABLE CONDSTORE\r\n"),
        "* ENABLED\r\na OK ENABLE completed\r\n"
    );
}

#[test]
fn enable_utf8_accept_before_select_only() {
    let mut h = Harness::logged_in();
    assert!(!h.session.enabled().utf8());
    assert_eq!(
        h.feed("a ENABLE utf8=accept\r\n"),
        "* ENABLED UTF8=ACCEPT\r\na OK ENABLE completed\r\n"
    );
    let enabled = h.session.enabled();
    assert!(enabled.utf8_accept && enabled.utf8() && !enabled.imap4rev2);
    assert!(h.session.encode_options().utf8);
    assert_eq!(
        h.feed("b ENABLE UTF8=ACCEPT IMAP4rev2\r\n"),
        "* ENABLED IMAP4rev2\r\nb OK ENABLE completed\r\n"
    );
    // Quoted strings the engine writes may now carry UTF-8.
    h.feed("s SELECT INBOX\r\n");
    h.auto_execute = false;
    h.feed("c LIST \"\" *\r\n");
    h.session.write_data(&Data::List(ListItem {
        attributes: Vec::new(),
        delimiter: Some('/'),
        mailbox: Mailbox::new("Entw\u{fc}rfe".as_bytes()),
        extended: Vec::new(),
    }));
    h.session
        .complete(Status::Ok, None, "LIST completed", h.now);
    assert_eq!(
        h.drive(),
        "* LIST () \"/\" \"Entw\u{fc}rfe\"\r\nc OK LIST completed\r\n"
    );

    // RFC 6855 3: not once a mailbox is selected; nothing is enabled then.
    let mut h = Harness::selected();
    assert_eq!(
        h.feed("a ENABLE CONDSTORE UTF8=ACCEPT\r\n"),
        "a BAD ENABLE UTF8=ACCEPT is only valid before SELECT\r\n"
    );
    assert_eq!(h.session.enabled(), Enabled::default());
    // Back in the Authenticated state it may.
    h.feed("b CLOSE\r\n");
    assert_eq!(
        h.feed("c ENABLE UTF8=ACCEPT\r\n"),
        "* ENABLED UTF8=ACCEPT\r\nc OK ENABLE completed\r\n"
    );
}

#[test]
fn id_namespace_noop_and_logout() {
    let mut h = Harness::new();
    h.drive();
    let id = "* ID (\"name\" \"Postern\")\r\na OK ID completed\r\n";
    assert_eq!(h.feed("a ID (\"name\" \"curl\")\r\n"), id);
    assert_eq!(h.feed("b NOOP\r\n"), "b OK NOOP completed\r\n");
    h.feed("l LOGIN alice secret\r\n");
    h.events();
    assert_eq!(h.feed("a ID NIL\r\n"), id);
    assert_eq!(
        h.feed("c NAMESPACE\r\n"),
        "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\nc OK NAMESPACE completed\r\n"
    );
    // NOOP after login is the engine's (it sends pending updates).
    assert_eq!(h.feed("d NOOP\r\n"), "d OK NOOP completed\r\n");
    assert_eq!(h.events(), [Ev::Execute("d NOOP".into())]);
    assert_eq!(
        h.feed("e LOGOUT\r\nf NOOP\r\n"),
        "* BYE Logging out\r\ne OK LOGOUT completed\r\n"
    );
    assert_eq!(h.events(), [Ev::Close]);
    assert!(h.session.is_closed());
    assert_eq!(h.session.input_capacity(), 0);
    assert!(h.session.poll_action().is_none());
}

// ---------------------------------------------------------------- errors

#[test]
fn too_many_errors() {
    let mut c = config();
    c.max_errors = 3;
    let mut h = Harness::start(c, true);
    h.drive();
    let out = h.feed("a FOO\r\nb LOGIN alice wrong\r\n\r\n* x\r\nc NOOP\r\n");
    assert_eq!(
        out,
        "a BAD Unknown command\r\n\
         b NO [AUTHENTICATIONFAILED] Authentication failed\r\n\
         * BAD Missing or invalid tag\r\n\
         * BYE Too many errors\r\n"
    );
    assert_eq!(h.events().last(), Some(&Ev::Close));
}

#[test]
fn engine_bad_counts_as_an_error() {
    let mut c = config();
    c.max_errors = 1;
    let mut h = Harness::start(c, true);
    h.drive();
    h.feed("l LOGIN alice secret\r\n");
    h.auto_execute = false;
    h.feed("a LIST \"\" \"\"\r\n");
    h.session.complete(Status::Bad, None, "Nope", h.now);
    assert_eq!(h.drive(), "a BAD Nope\r\n* BYE Too many errors\r\n");
    assert!(h.session.is_closed());
}

#[test]
fn over_long_command_closes() {
    let small = || {
        let mut c = config();
        c.framer.max_command = 64;
        let mut h = Harness::start(c, true);
        h.drive();
        h
    };
    let too_long = "a BAD [TOOBIG] Command too long\r\n* BYE Closing connection\r\n";
    let mut h = small();
    assert_eq!(h.feed(format!("a NOOP {}\r\n", "x".repeat(100))), too_long);
    assert!(h.session.is_closed());
    // The same for a line inside AUTHENTICATE, and one inside IDLE.
    let mut h = small();
    assert_eq!(h.feed("a AUTHENTICATE PLAIN\r\n"), "+ \r\n");
    assert_eq!(h.feed("A".repeat(100)), too_long);
    let mut h = small();
    h.feed("l LOGIN alice secret\r\n");
    assert_eq!(h.feed("a IDLE\r\n"), "+ idling\r\n* 4 EXISTS\r\n");
    assert_eq!(h.feed("A".repeat(100)), too_long);
    assert_eq!(h.events().last(), Some(&Ev::Close));
}

/// With `max_command: usize::MAX`, `input_capacity` used to overflow
/// computing `max_command + 1`.
#[test]
fn unbounded_command_limit() {
    let mut c = config();
    c.framer.max_command = usize::MAX;
    let mut session = ServerSession::new(
        Arc::new(c),
        Peer {
            addr: peer(),
            implicit_tls: true,
        },
        Instant::now(),
    );
    while session.poll_action().is_some() {}
    assert!(session.input_capacity() > 0);
    assert_eq!(session.handle_input(b"a NOOP\r\n", Instant::now()), 8);
}

// ---------------------------------------------------------------- shutdown

#[test]
fn shutdown_while_idle() {
    let mut h = Harness::selected();
    h.feed("a IDLE\r\n");
    h.events();
    h.session.shutdown();
    assert_eq!(h.drive(), "* BYE Server shutting down\r\n");
    assert_eq!(h.events(), [Ev::Close]);
}

#[test]
fn shutdown_while_executing() {
    let mut h = Harness::selected();
    h.events();
    h.auto_execute = false;
    h.feed("a FETCH 1 UID\r\nb NOOP\r\n");
    h.session.shutdown();
    assert_eq!(h.drive(), "");
    h.session
        .complete(Status::Ok, None, "FETCH completed", h.now);
    assert_eq!(
        h.drive(),
        "a OK FETCH completed\r\n* BYE Server shutting down\r\n"
    );
    assert_eq!(h.events(), [Ev::Execute("a FETCH 1 UID".into()), Ev::Close]);
    // Not yet logged in: at once.
    let mut h = Harness::new();
    h.drive();
    h.session.shutdown();
    assert_eq!(h.drive(), "* BYE Server shutting down\r\n");
    assert!(h.session.is_closed());
}

#[test]
fn debug_output_hides_passwords() {
    let mut h = Harness::new();
    h.drive();
    h.session.handle_input(b"a LOGIN alice hunter2\r\n", h.now);
    let action = h.session.poll_action().expect("login");
    let shown = format!("{action:?}");
    assert!(
        shown.contains("alice") && !shown.contains("hunter2"),
        "{shown}"
    );
    let shown = format!("{:?}", h.session);
    assert!(!shown.contains("hunter2"), "{shown}");
}

// ---------------------------------------------------------------- properties

/// Pieces that take the session into its various states.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    let words: Vec<&'static [u8]> = vec![
        b"a LOGIN alice secret\r\n",
        b"a LOGIN alice wrong\r\n",
        b"b AUTHENTICATE PLAIN\r\n",
        b"AGFsaWNlAHNlY3JldA==\r\n",
        b"*\r\n",
        b"c SELECT INBOX\r\n",
        b"c EXAMINE INBOX\r\n",
        b"d UID FETCH 1:* (FLAGS UID)\r\n",
        b"d CLOSE\r\n",
        b"e IDLE\r\n",
        b"DONE\r\n",
        b"f APPEND INBOX {5}\r\n",
        b"g APPEND INBOX (\\Seen) {5+}\r\nhello",
        b" {3+}\r\nabc",
        b"g APPEND INBOX {5+}\r\nhello\r\n",
        b"g APPEND INBOX {2+}\r\nhi ~{4+}\r\nab\0c\r\n",
        b" ~{3}\r\n",
        b"h ENABLE QRESYNC IMAP4rev2\r\n",
        b"h ENABLE UTF8=ACCEPT\r\n",
        b"g APPEND INBOX UTF8 (~{3+}\r\nabc)\r\n",
        b"g APPEND INBOX UTF8 (~{3}\r\n",
        b") UTF8 ({2+}\r\nhi",
        b"i STARTTLS\r\n",
        b"k NOOP\r\n",
        b"k CAPABILITY\r\n",
        b"k NAMESPACE\r\n",
        b"{5}\r\n",
        b"{99999999}\r\n",
        b"\r\n",
    ];
    prop_oneof![
        12 => proptest::sample::select(words).prop_map(<[u8]>::to_vec),
        1 => Just(b"j LOGOUT\r\n".to_vec()),
        2 => proptest::collection::vec(any::<u8>(), 0..40),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Input(Vec<u8>, usize),
    Tick(u64),
    Shutdown,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        20 => (proptest::collection::vec(fragment(), 1..6), 1usize..64)
            .prop_map(|(pieces, chunk)| Op::Input(pieces.concat(), chunk)),
        4 => (0u64..90).prop_map(Op::Tick),
        1 => (0u64..4000).prop_map(Op::Tick),
        1 => Just(Op::Shutdown),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_input_is_survived_within_bounds(
        tls in any::<bool>(),
        cleartext_logins in any::<bool>(),
        login_first in any::<bool>(),
        append_limit in 3u32..8,
        reject_after in proptest::option::of(0usize..8),
        ops in proptest::collection::vec(op(), 1..30),
    ) {
        let mut c = config();
        c.starttls = true;
        c.auth_without_tls = cleartext_logins;
        c.max_errors = 50;
        c.framer.max_command = 256;
        c.framer.max_message = 1000;
        let mut h = Harness::start(c, tls);
        h.append_limit = append_limit;
        h.reject_after = reject_after;
        h.drive();
        if login_first {
            h.feed("a LOGIN alice secret\r\nc SELECT INBOX\r\n");
        }
        for op in ops {
            match op {
                Op::Input(bytes, chunk) => {
                    h.feed_in(bytes, chunk);
                }
                Op::Tick(secs) => {
                    h.advance(Duration::from_secs(secs));
                }
                Op::Shutdown => {
                    h.session.shutdown();
                    h.drive();
                }
            }
            prop_assert!(h.session.buffered_input() <= 257);
            // Nothing is left undone once everything is answered.
            prop_assert!(h.session.poll_action().is_none());
        }
    }
}

/// COMPRESS=DEFLATE (RFC 4978): offered once logged in; the engine decides; the OK goes out
/// as it is and `Compress` comes right after it, with what the client pipelined dropped
/// (it must wait for the OK); once on, it is neither offered nor accepted again.
#[test]
fn compress_deflate() {
    let mut h = Harness::new();
    let greeting = h.drive();
    assert!(!greeting.contains("COMPRESS"), "{greeting}");
    assert_eq!(
        h.feed("a COMPRESS DEFLATE\r\n"),
        "a BAD Command not valid in this state\r\n"
    );
    assert!(
        h.feed("l1 LOGIN alice secret\r\n")
            .contains(" COMPRESS=DEFLATE")
    );
    assert_eq!(
        h.feed("b COMPRESS GZIP\r\n"),
        "b BAD Unsupported compression mechanism\r\n"
    );
    // The engine may refuse (too many compress): the client goes on without.
    h.log.clear();
    h.auto_execute = false;
    h.feed("c COMPRESS DEFLATE\r\n");
    assert_eq!(h.events(), [Ev::Execute("c COMPRESS DEFLATE".into())]);
    let busy = Some(Code::Plain(PlainCode::Unavailable));
    h.session.complete(Status::No, busy, "Later", h.now);
    assert_eq!(h.drive(), "c NO [UNAVAILABLE] Later\r\n");
    assert!(!h.events().contains(&Ev::Compress));
    h.auto_execute = true;
    h.log.clear();
    assert_eq!(
        h.feed("d COMPRESS DEFLATE\r\ne NOOP\r\n"),
        "d OK COMPRESS completed\r\n"
    );
    let sent = h
        .log
        .iter()
        .position(|e| matches!(e, Ev::Send(s) if s.starts_with("d OK")));
    let compress = h.log.iter().position(|e| *e == Ev::Compress);
    assert!(
        sent.is_some() && compress == sent.map(|s| s + 1),
        "{:?}",
        h.log
    );
    assert_eq!(
        h.feed("f COMPRESS DEFLATE\r\n"),
        "f BAD Compression is already active\r\n"
    );
    assert!(!h.feed("g CAPABILITY\r\n").contains("COMPRESS"));
}
