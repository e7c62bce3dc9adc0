//! Conversations with the session, the expected exchanges taken from RFC 5804 (its
//! examples where it has them), and property tests: no panic and bounded input on any
//! bytes in any chunks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proto_managesieve::{
    Action, Answer, Code, LoginError, Peer, Refusal, Request, ServerConfig, ServerSession, Session,
};

/// A session with an in-memory account `ann` / `secret` and its scripts.
struct Harness {
    session: ServerSession,
    /// name → (source, active)
    scripts: BTreeMap<String, (String, bool)>,
    out: String,
    now: Instant,
    handshakes: usize,
}

fn config() -> ServerConfig {
    let mut config = ServerConfig::new("sieve.test");
    config.starttls = true;
    config.extensions = "fileinto vacation".into();
    config.max_redirects = Some(4);
    config.max_script_size = 100;
    config
}

impl Harness {
    fn new(config: ServerConfig, tls: bool) -> Self {
        let now = Instant::now();
        let peer = Peer {
            addr: ([192, 0, 2, 1], 4000).into(),
            implicit_tls: tls,
        };
        let mut h = Harness {
            session: ServerSession::new(Arc::new(config), peer, now),
            scripts: BTreeMap::new(),
            out: String::new(),
            now,
            handshakes: 0,
        };
        h.drain();
        h
    }

    /// Logged in over TLS, the greeting and login read.
    fn logged_in() -> Self {
        let mut h = Harness::new(config(), true);
        h.take();
        h.say("AUTHENTICATE \"PLAIN\" \"AGFubgBzZWNyZXQ=\"\r\n");
        assert_eq!(h.take(), "OK \"Logged in\"\r\n");
        h
    }

    fn drain(&mut self) {
        while let Some(action) = self.session.poll_action() {
            match action {
                Action::Send(bytes) => self.out.push_str(&String::from_utf8_lossy(bytes)),
                Action::StartTls => {
                    self.handshakes += 1;
                    self.session.tls_started(self.now);
                }
                Action::Close => {}
                Action::Login(credentials) => {
                    let verdict = match (credentials.username(), credentials.password()) {
                        ("ann", "secret") => Ok(()),
                        ("busy", _) => Err(LoginError::Unavailable),
                        _ => Err(LoginError::BadCredentials),
                    };
                    self.session.login_result(verdict, self.now);
                }
                Action::Request(request) => {
                    let answer = carry_out(&mut self.scripts, request);
                    self.session.answer(answer, self.now);
                }
            }
        }
    }

    fn say(&mut self, input: &str) {
        self.feed(input.as_bytes());
    }

    fn feed(&mut self, mut input: &[u8]) {
        while !input.is_empty() && !self.session.is_closed() {
            let n = self.session.handle_input(input, self.now);
            input = &input[n..];
            self.drain();
            if n == 0 {
                break;
            }
        }
        self.drain();
    }

    fn take(&mut self) -> String {
        std::mem::take(&mut self.out)
    }
}

/// What a store of scripts answers, as RFC 5804 §2 says it should.
fn carry_out(
    scripts: &mut BTreeMap<String, (String, bool)>,
    request: Request<'_>,
) -> Result<Answer, Refusal> {
    let missing = || Refusal::new(Some(Code::Nonexistent), "There is no script of that name");
    match request {
        Request::List => Ok(Answer::Scripts(
            scripts
                .iter()
                .map(|(name, (_, active))| (name.clone(), *active))
                .collect(),
        )),
        Request::Get { name } => scripts
            .get(name)
            .map(|(source, _)| Answer::Script(source.clone()))
            .ok_or_else(missing),
        Request::Put { script, .. } | Request::Check { script } if script.contains("bad") => {
            Err(Refusal::new(None, "line 1: unknown command bad"))
        }
        Request::Put { name, script } => {
            let active = scripts.get(name).is_some_and(|s| s.1);
            scripts.insert(name.to_string(), (script.to_string(), active));
            Ok(Answer::Done)
        }
        Request::Check { .. } | Request::HaveSpace { .. } => Ok(Answer::Done),
        Request::Activate { name } => {
            if name.is_some_and(|n| !scripts.contains_key(n)) {
                return Err(missing());
            }
            for (n, (_, active)) in scripts.iter_mut() {
                *active = Some(n.as_str()) == name;
            }
            Ok(Answer::Done)
        }
        Request::Delete { name } => match scripts.get(name) {
            None => Err(missing()),
            Some((_, true)) => Err(Refusal::new(Some(Code::Active), "The script is active")),
            Some(_) => {
                scripts.remove(name);
                Ok(Answer::Done)
            }
        },
        Request::Rename { from, to } => {
            if scripts.contains_key(to) {
                return Err(Refusal::new(Some(Code::AlreadyExists), "The name is taken"));
            }
            let script = scripts.remove(from).ok_or_else(missing)?;
            scripts.insert(to.to_string(), script);
            Ok(Answer::Done)
        }
    }
}

const CLEARTEXT_CAPABILITIES: &str = "\"IMPLEMENTATION\" \"Postern\"\r\n\
    \"SASL\" \"\"\r\n\
    \"SIEVE\" \"fileinto vacation\"\r\n\
    \"STARTTLS\"\r\n\
    \"MAXREDIRECTS\" \"4\"\r\n\
    \"VERSION\" \"1.0\"\r\n";

const TLS_CAPABILITIES: &str = "\"IMPLEMENTATION\" \"Postern\"\r\n\
    \"SASL\" \"PLAIN LOGIN\"\r\n\
    \"SIEVE\" \"fileinto vacation\"\r\n\
    \"MAXREDIRECTS\" \"4\"\r\n\
    \"VERSION\" \"1.0\"\r\n";

#[test]
fn greeting_starttls_and_capabilities_again() {
    // RFC 5804 §1.7 and §2.2: capabilities, OK; after TLS the capabilities again.
    let mut h = Harness::new(config(), false);
    assert_eq!(
        h.take(),
        format!("{CLEARTEXT_CAPABILITIES}OK \"sieve.test ManageSieve ready\"\r\n")
    );
    h.say("AUTHENTICATE \"PLAIN\" \"AGFubgBzZWNyZXQ=\"\r\n");
    assert_eq!(
        h.take(),
        "NO (ENCRYPT-NEEDED) \"Authentication needs TLS: use STARTTLS\"\r\n"
    );
    // What follows STARTTLS in the same packet is dropped, not run under TLS.
    h.say("STARTTLS\r\nLISTSCRIPTS\r\n");
    assert_eq!(h.handshakes, 1);
    assert_eq!(
        h.take(),
        format!(
            "OK \"Begin TLS negotiation now\"\r\n{TLS_CAPABILITIES}OK \"TLS negotiation successful\"\r\n"
        )
    );
    h.say("STARTTLS\r\n");
    assert_eq!(h.take(), "NO \"TLS is already active\"\r\n");
    h.say("CAPABILITY\r\n");
    assert_eq!(
        h.take(),
        format!("{TLS_CAPABILITIES}OK \"Capability completed\"\r\n")
    );
}

#[test]
fn sasl_exchanges() {
    let mut h = Harness::new(config(), true);
    h.take();
    // PLAIN after an empty challenge, the response as a literal (RFC 5804 §2.1).
    h.say("AUTHENTICATE \"PLAIN\"\r\n");
    assert_eq!(h.take(), "\"\"\r\n");
    h.say("{16+}\r\nAGFubgB3cm9uZw==\r\n");
    assert_eq!(h.take(), "NO \"Authentication failed\"\r\n");
    // Cancelled with "*": NO.
    h.say("AUTHENTICATE \"LOGIN\"\r\n");
    assert_eq!(h.take(), "\"VXNlcm5hbWU6\"\r\n");
    h.say("\"*\"\r\n");
    assert_eq!(h.take(), "NO \"Authentication cancelled\"\r\n");
    h.say("AUTHENTICATE \"CRAM-MD5\"\r\n");
    assert_eq!(h.take(), "NO \"Unsupported authentication mechanism\"\r\n");
    h.say("AUTHENTICATE \"PLAIN\" \"YnVzeQBidXN5AHB3\"\r\n");
    assert_eq!(
        h.take(),
        "NO (TRYLATER) \"Account unavailable, try again later\"\r\n"
    );
    h.say("LISTSCRIPTS\r\n");
    assert_eq!(h.take(), "NO \"Authenticate first\"\r\n");
    // LOGIN: user name, then password.
    h.say("AUTHENTICATE \"LOGIN\"\r\n\"YW5u\"\r\n");
    assert_eq!(h.take(), "\"VXNlcm5hbWU6\"\r\n\"UGFzc3dvcmQ6\"\r\n");
    h.say("\"c2VjcmV0\"\r\n");
    assert_eq!(h.take(), "OK \"Logged in\"\r\n");
    assert_eq!(h.session.user(), Some("ann"));
    h.say("AUTHENTICATE \"PLAIN\" \"AGFubgBzZWNyZXQ=\"\r\n");
    assert_eq!(h.take(), "NO \"Already authenticated\"\r\n");
    h.say("CAPABILITY\r\n");
    assert!(h.take().contains("\"SASL\" \"\"\r\n\"SIEVE\" \"fileinto vacation\"\r\n\"MAXREDIRECTS\" \"4\"\r\n\"OWNER\" \"ann\"\r\n"));
}

#[test]
fn scripts_put_listed_read_activated_renamed_deleted() {
    let mut h = Harness::logged_in();
    // RFC 5804 §2.6's PUTSCRIPT with a literal, then §2.7's LISTSCRIPTS.
    h.say("PUTSCRIPT \"mysievescript\" {5+}\r\nkeep;\r\n");
    assert_eq!(h.take(), "OK \"Putscript completed\"\r\n");
    h.say("PUTSCRIPT \"bad\" {14+}\r\nbad command;\r\n\r\n");
    assert_eq!(h.take(), "NO \"line 1: unknown command bad\"\r\n");
    h.say("PUTSCRIPT \"vacation\" \"keep;\"\r\nSETACTIVE \"vacation\"\r\nLISTSCRIPTS\r\n");
    assert_eq!(
        h.take(),
        "OK \"Putscript completed\"\r\nOK \"Setactive completed\"\r\n\
         \"mysievescript\"\r\n\"vacation\" ACTIVE\r\nOK \"Listscripts completed\"\r\n"
    );
    // §2.9: the script as a literal.
    h.say("GETSCRIPT \"mysievescript\"\r\n");
    assert_eq!(h.take(), "{5}\r\nkeep;\r\nOK \"Getscript completed\"\r\n");
    h.say("GETSCRIPT \"nosuch\"\r\n");
    assert_eq!(
        h.take(),
        "NO (NONEXISTENT) \"There is no script of that name\"\r\n"
    );
    // §2.10: the active script cannot be deleted.
    h.say("DELETESCRIPT \"vacation\"\r\n");
    assert_eq!(h.take(), "NO (ACTIVE) \"The script is active\"\r\n");
    h.say("RENAMESCRIPT \"vacation\" \"mysievescript\"\r\n");
    assert_eq!(h.take(), "NO (ALREADYEXISTS) \"The name is taken\"\r\n");
    h.say("RENAMESCRIPT \"vacation\" \"away\"\r\nSETACTIVE \"\"\r\nDELETESCRIPT \"away\"\r\n");
    assert_eq!(
        h.take(),
        "OK \"Renamescript completed\"\r\nOK \"Setactive completed\"\r\nOK \"Deletescript completed\"\r\n"
    );
    assert_eq!(h.scripts.keys().collect::<Vec<_>>(), ["mysievescript"]);
    h.say("CHECKSCRIPT {5+}\r\nkeep;\r\nCHECKSCRIPT \"bad\"\r\n");
    assert_eq!(
        h.take(),
        "OK \"Script is valid\"\r\nNO \"line 1: unknown command bad\"\r\n"
    );
}

#[test]
fn sizes_and_space() {
    let mut h = Harness::logged_in();
    h.say("HAVESPACE \"myscript\" 99\r\nHAVESPACE \"myscript\" 999999\r\n");
    assert_eq!(
        h.take(),
        "OK \"Putscript would succeed\"\r\n\
         NO (QUOTA/MAXSIZE) \"Script too large: 100 octets at most\"\r\n"
    );
    // A script over the limit is dropped as it comes, and refused; the session goes on.
    let script = "#".repeat(50_000);
    h.say(&format!(
        "PUTSCRIPT \"big\" {{50000+}}\r\n{script}\r\nNOOP \"t1\"\r\n"
    ));
    assert_eq!(
        h.take(),
        "NO (QUOTA/MAXSIZE) \"Script too large: 100 octets at most\"\r\nOK (TAG \"t1\") \"Done\"\r\n"
    );
    assert!(h.scripts.is_empty());
}

#[test]
fn errors_end_the_session() {
    let mut config = config();
    config.max_errors = 3;
    let mut h = Harness::new(config, true);
    h.take();
    h.say("FROB\r\nGETSCRIPT\r\nGETSCRIPT \"a\" \"b\"\r\nNOOP\r\n");
    assert_eq!(
        h.take(),
        "NO \"Unknown command\"\r\nNO \"Missing argument\"\r\nNO \"Too many arguments\"\r\nBYE \"Too many errors\"\r\n"
    );
    assert!(h.session.is_closed());
}

#[test]
fn logout_timeout_and_shutdown() {
    let mut h = Harness::logged_in();
    h.say("LOGOUT\r\n");
    assert_eq!(h.take(), "OK \"Logout completed\"\r\n");
    assert!(h.session.is_closed());

    let mut h = Harness::new(config(), true);
    h.take();
    let deadline = h.session.poll_timeout().unwrap();
    assert_eq!(deadline, h.now + Duration::from_secs(60));
    h.session.handle_timeout(deadline);
    h.drain();
    assert_eq!(h.take(), "BYE \"Disconnected for inactivity\"\r\n");

    let mut h = Harness::logged_in();
    h.session.shutdown();
    h.drain();
    assert_eq!(h.take(), "BYE (TRYLATER) \"Server shutting down\"\r\n");
    assert!(h.session.is_closed());
}

proptest! {
    #[test]
    fn any_input_in_any_chunks_stays_bounded(
        input in proptest::collection::vec(
            prop_oneof![
                Just(b"PUTSCRIPT \"a\" {".to_vec()),
                Just(b"99+}\r\n".to_vec()),
                Just(b"AUTHENTICATE \"PLAIN\"\r\n".to_vec()),
                Just(b"\"AGFubgBzZWNyZXQ=\"\r\n".to_vec()),
                Just(b"STARTTLS\r\n".to_vec()),
                Just(b"\"".to_vec()),
                Just(b"\r\n".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..40),
            ],
            0..60,
        ),
        chunk in 1usize..300,
        tls in any::<bool>(),
    ) {
        let mut config = config();
        config.max_errors = 1000;
        let limit = config.max_script_size + 4096;
        let mut h = Harness::new(config, tls);
        for piece in input.concat().chunks(chunk) {
            h.feed(piece);
            prop_assert!(h.session.buffered_input() <= limit);
        }
    }

    #[test]
    fn the_parser_never_panics(line in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = proto_managesieve::parse_command(&line);
        let _ = proto_managesieve::parse_sasl_response(&line);
    }
}
