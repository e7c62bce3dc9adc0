//! Behaviour of `ServerSession`, driven through its public API.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Ev, Harness, config, peer};
use proto_pop3::{Action, LoginError, Maildrop, Peer, ServerConfig, ServerSession, Session};

const CAPA_COMMON: &str = "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n\
    AUTH-RESP-CODE\r\nPIPELINING\r\n";
const PLAINTEXT_REFUSED: &str = "-ERR [AUTH] Plaintext authentication disallowed on \
    non-secure connections; use STLS\r\n";
const UNKNOWN: &str = "-ERR Unknown command\r\n";
const SYNTAX: &str = "-ERR Syntax error\r\n";
const WRONG_STATE: &str = "-ERR Command not valid in this state\r\n";

fn stls_config() -> ServerConfig {
    let mut c = config();
    c.stls = true;
    c
}

// ---- CAPA -------------------------------------------------------------------------

#[test]
fn capa_before_login_over_tls() {
    let mut h = Harness::new();
    assert_eq!(
        h.feed("CAPA\r\n"),
        format!("{CAPA_COMMON}USER\r\nSASL PLAIN\r\n.\r\n")
    );
}

#[test]
fn capa_in_cleartext_offers_stls_not_logins() {
    let mut h = Harness::cleartext(stls_config());
    assert_eq!(h.feed("capa\r\n"), format!("{CAPA_COMMON}STLS\r\n.\r\n"));
    let mut h = Harness::cleartext(config());
    assert_eq!(h.feed("CAPA\r\n"), format!("{CAPA_COMMON}.\r\n"));
    let mut c = config();
    c.auth_without_tls = true;
    let mut h = Harness::cleartext(c);
    assert_eq!(
        h.feed("CAPA\r\n"),
        format!("{CAPA_COMMON}USER\r\nSASL PLAIN\r\n.\r\n")
    );
}

#[test]
fn capa_optional_capabilities_and_transaction_state() {
    let mut c = stls_config();
    c.expire = Some("NEVER".into());
    c.login_delay = Some(60);
    c.implementation = Some("Postern\r\n.".into());
    let mut h = Harness::start(c, true);
    let tail = "EXPIRE NEVER\r\nLOGIN-DELAY 60\r\nIMPLEMENTATION Postern .\r\n.\r\n";
    assert_eq!(
        h.feed("CAPA\r\n"),
        format!("{CAPA_COMMON}USER\r\nSASL PLAIN\r\n{tail}")
    );
    h.login();
    // No USER, SASL or STLS once logged in.
    assert_eq!(h.feed("CAPA\r\n"), format!("{CAPA_COMMON}{tail}"));
}

// ---- USER / PASS --------------------------------------------------------------------

#[test]
fn user_pass_login() {
    let mut h = Harness::new();
    assert_eq!(h.feed("USER alice\r\n"), "+OK send PASS\r\n");
    assert_eq!(h.session.user(), None);
    assert_eq!(
        h.feed("PASS secret\r\n"),
        "+OK maildrop has 3 messages (117 octets)\r\n"
    );
    assert_eq!(h.session.user(), Some("alice"));
    assert_eq!(
        h.events(),
        [Ev::Login {
            username: "alice".into(),
            password: "secret".into()
        }]
    );
}

#[test]
fn password_is_the_rest_of_the_line() {
    let mut h = Harness::new();
    h.feed("USER bob\r\nPASS  correct horse \r\n");
    assert_eq!(
        h.events(),
        [Ev::Login {
            username: "bob".into(),
            password: " correct horse ".into()
        }]
    );
}

#[test]
fn pass_only_right_after_user() {
    let mut h = Harness::new();
    assert_eq!(h.feed("PASS secret\r\n"), "-ERR PASS must follow USER\r\n");
    let out = h.feed("USER alice\r\nNOOP\r\nPASS secret\r\n");
    assert_eq!(
        out,
        format!("+OK send PASS\r\n{WRONG_STATE}-ERR PASS must follow USER\r\n")
    );
    let out = h.feed("USER alice\r\nFOO\r\nPASS secret\r\n");
    assert_eq!(
        out,
        format!("+OK send PASS\r\n{UNKNOWN}-ERR PASS must follow USER\r\n")
    );
    assert!(h.events().is_empty());
}

#[test]
fn failed_logins() {
    let mut h = Harness::new();
    assert_eq!(
        h.feed("USER alice\r\nPASS wrong\r\n"),
        "+OK send PASS\r\n-ERR [AUTH] Authentication failed\r\n"
    );
    // The USER is spent.
    assert_eq!(h.feed("PASS secret\r\n"), "-ERR PASS must follow USER\r\n");
    assert_eq!(
        h.feed("USER alice\r\nPASS locked\r\n"),
        "+OK send PASS\r\n-ERR [IN-USE] Mailbox is locked by another POP3 session\r\n"
    );
    assert_eq!(
        h.feed("USER alice\r\nPASS down\r\n"),
        "+OK send PASS\r\n-ERR [SYS/TEMP] Mailbox unavailable, try again later\r\n"
    );
    assert_eq!(h.session.user(), None);
    h.login();
}

#[test]
fn bad_passwords_count_as_errors() {
    let mut c = config();
    c.max_errors = 3;
    let mut h = Harness::start(c, true);
    let out = h.feed("USER a\r\nPASS x\r\nUSER a\r\nPASS locked\r\nUSER a\r\nPASS y\r\n");
    assert!(!out.contains("Too many"), "{out}");
    let out = h.feed("USER a\r\nPASS z\r\nUSER a\r\n");
    assert!(
        out.ends_with("-ERR [AUTH] Authentication failed\r\n-ERR Too many errors\r\n"),
        "{out}"
    );
    assert_eq!(h.events().last(), Some(&Ev::Close));
    assert!(h.session.is_closed());
}

#[test]
fn cleartext_logins_are_refused() {
    let mut h = Harness::cleartext(stls_config());
    assert_eq!(h.feed("USER alice\r\n"), PLAINTEXT_REFUSED);
    assert_eq!(h.feed("PASS secret\r\n"), "-ERR PASS must follow USER\r\n");
    assert_eq!(
        h.feed("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
        PLAINTEXT_REFUSED
    );
    assert!(h.events().is_empty());
    // Without STLS on offer there is no hint to use it.
    let mut h = Harness::cleartext(config());
    assert_eq!(
        h.feed("USER alice\r\n"),
        "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections\r\n"
    );
}

#[test]
fn cleartext_logins_when_allowed() {
    let mut c = config();
    c.auth_without_tls = true;
    let mut h = Harness::cleartext(c);
    h.login();
    assert!(!h.session.is_tls());
}

// ---- AUTH ---------------------------------------------------------------------------

#[test]
fn auth_plain_with_initial_response() {
    let mut h = Harness::new();
    assert_eq!(
        h.feed("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"), // "\0alice\0secret"
        "+OK maildrop has 3 messages (117 octets)\r\n"
    );
    assert_eq!(h.session.user(), Some("alice"));
}

#[test]
fn auth_plain_with_continuation() {
    let mut h = Harness::new();
    assert_eq!(h.feed("auth plain\r\n"), "+ \r\n");
    // authzid equal to the user is fine; unpadded base64 too.
    assert_eq!(
        h.feed("YWxpY2UAYWxpY2UAc2VjcmV0\r\n"), // "alice\0alice\0secret"
        "+OK maildrop has 3 messages (117 octets)\r\n"
    );
    assert_eq!(h.session.user(), Some("alice"));
}

#[test]
fn auth_failures() {
    let mut h = Harness::new();
    assert_eq!(
        h.feed("AUTH PLAIN\r\n*\r\n"),
        "+ \r\n-ERR Authentication cancelled\r\n"
    );
    assert_eq!(
        h.feed("AUTH PLAIN *\r\n"),
        "-ERR Authentication cancelled\r\n"
    );
    assert_eq!(
        h.feed("AUTH PLAIN\r\n!!!\r\n"),
        "+ \r\n-ERR Invalid base64 data\r\n"
    );
    assert_eq!(
        h.feed("AUTH PLAIN =\r\n"),
        "-ERR Malformed authentication response\r\n"
    );
    assert_eq!(
        h.feed("AUTH PLAIN Ym9iAGFsaWNlAHNlY3JldA==\r\n"), // "bob\0alice\0secret"
        "-ERR Authorization identity must be empty or the user's own\r\n"
    );
    assert_eq!(
        h.feed("AUTH CRAM-MD5\r\n"),
        "-ERR Unsupported authentication mechanism\r\n"
    );
    // Known to the SASL code, but not offered here.
    assert_eq!(
        h.feed("AUTH LOGIN YWxpY2U=\r\n"),
        "-ERR Unsupported authentication mechanism\r\n"
    );
    assert_eq!(
        h.feed("AUTH PLAIN AGFsaWNlAHdyb25n\r\n"), // "\0alice\0wrong"
        "-ERR [AUTH] Authentication failed\r\n"
    );
    assert!(h.events().iter().all(|e| matches!(e, Ev::Login { .. })));
    // Back to commands after each failure.
    assert_eq!(
        h.feed("QUIT\r\n"),
        "+OK pop.example.org POP3 server signing off\r\n"
    );
}

#[test]
fn auth_lists_mechanisms() {
    let mut h = Harness::new();
    assert_eq!(h.feed("AUTH\r\n"), "+OK\r\nPLAIN\r\n.\r\n");
    let mut h = Harness::cleartext(stls_config());
    assert_eq!(h.feed("AUTH\r\n"), "+OK\r\n.\r\n");
}

#[test]
fn sasl_response_may_exceed_the_command_limit() {
    let mut h = Harness::new();
    h.feed("AUTH PLAIN\r\n");
    let long = format!("{}\r\n", "QUFB".repeat(200)); // 800 octets of base64
    assert_eq!(h.feed(&long), "-ERR Malformed authentication response\r\n");
    h.feed("AUTH PLAIN\r\n");
    let too_long = format!("{}\r\nNOOP\r\n", "QUFB".repeat(1100));
    assert_eq!(
        h.feed(&too_long),
        format!("-ERR line too long\r\n{WRONG_STATE}")
    );
}

// ---- STLS ---------------------------------------------------------------------------

#[test]
fn stls_upgrades_and_forgets() {
    let mut h = Harness::cleartext(stls_config());
    let out = h.feed("USER alice\r\n");
    assert_eq!(out, PLAINTEXT_REFUSED);
    // Pipelined after STLS: dropped, never read as said under TLS.
    let out = h.feed("STLS\r\nUSER mallory\r\nPASS secret\r\n");
    assert_eq!(out, "+OK Begin TLS negotiation\r\n");
    assert!(h.session.is_tls());
    assert_eq!(h.events(), [Ev::StartTls]);
    assert_eq!(
        h.feed("CAPA\r\n"),
        format!("{CAPA_COMMON}USER\r\nSASL PLAIN\r\n.\r\n")
    );
    assert_eq!(
        h.feed("STLS\r\n"),
        "-ERR Command not permitted when TLS active\r\n"
    );
    h.login();
}

#[test]
fn stls_forgets_user() {
    let mut c = stls_config();
    c.auth_without_tls = true;
    let mut h = Harness::cleartext(c);
    h.feed("USER alice\r\n");
    h.feed("STLS\r\n");
    assert_eq!(h.feed("PASS secret\r\n"), "-ERR PASS must follow USER\r\n");
}

#[test]
fn stls_refusals() {
    let mut h = Harness::cleartext(config());
    assert_eq!(h.feed("STLS\r\n"), "-ERR STLS not available\r\n");
    let mut h = Harness::start(stls_config(), true);
    assert_eq!(
        h.feed("STLS\r\n"),
        "-ERR Command not permitted when TLS active\r\n"
    );
    h.login();
    assert_eq!(
        h.feed("STLS\r\n"),
        "-ERR Command not permitted when TLS active\r\n"
    );
    let mut c = stls_config();
    c.auth_without_tls = true;
    let mut h = Harness::cleartext(c);
    h.login();
    assert_eq!(h.feed("STLS\r\n"), WRONG_STATE);
}

#[test]
fn stls_sends_the_ok_before_the_handshake() {
    let mut h = Harness::cleartext(stls_config());
    h.auto_tls = false;
    h.feed("STLS\r\n");
    let n = h.log.len();
    assert_eq!(
        &h.log[n - 2..],
        [
            Ev::Send("+OK Begin TLS negotiation\r\n".into()),
            Ev::StartTls
        ]
    );
    assert_eq!(h.session.input_capacity(), 0);
    assert!(!h.session.is_tls());
    h.session.tls_started(h.now);
    assert!(h.session.is_tls());
    assert!(h.session.input_capacity() > 0);
}

// ---- TRANSACTION: STAT, LIST, UIDL, DELE, RSET, NOOP ---------------------------------

#[test]
fn stat_list_uidl() {
    let mut h = Harness::logged_in();
    assert_eq!(h.feed("STAT\r\n"), "+OK 3 117\r\n");
    assert_eq!(
        h.feed("LIST\r\n"),
        "+OK 3 messages (117 octets)\r\n1 28\r\n2 64\r\n3 25\r\n.\r\n"
    );
    assert_eq!(h.feed("LIST 2\r\n"), "+OK 2 64\r\n");
    assert_eq!(
        h.feed("UIDL\r\n"),
        "+OK unique-id listing follows\r\n1 uid-1\r\n2 uid-2\r\n3 uid-3\r\n.\r\n"
    );
    assert_eq!(h.feed("uidl 3\r\n"), "+OK 3 uid-3\r\n");
    assert_eq!(h.feed("NOOP\r\n"), "+OK\r\n");
}

#[test]
fn bad_message_numbers() {
    let mut h = Harness::logged_in();
    for command in ["LIST", "UIDL", "RETR", "DELE"] {
        for n in ["0", "4", "99999999999999999999999"] {
            assert_eq!(
                h.feed(format!("{command} {n}\r\n")),
                "-ERR no such message\r\n"
            );
        }
    }
    assert_eq!(h.feed("TOP 4 1\r\n"), "-ERR no such message\r\n");
    assert_eq!(h.feed("RETR x\r\n"), SYNTAX);
    assert_eq!(h.feed("RETR\r\n"), SYNTAX);
    assert_eq!(h.feed("TOP 1\r\n"), SYNTAX);
    assert_eq!(h.feed("DELE 1 2\r\n"), SYNTAX);
    assert!(h.events().iter().all(|e| !matches!(e, Ev::Retrieve { .. })));
}

#[test]
fn deleted_messages_are_invisible() {
    let mut h = Harness::logged_in();
    assert_eq!(h.feed("DELE 2\r\n"), "+OK message 2 deleted\r\n");
    assert_eq!(h.feed("DELE 2\r\n"), "-ERR message 2 already deleted\r\n");
    assert_eq!(h.feed("STAT\r\n"), "+OK 2 53\r\n");
    assert_eq!(
        h.feed("LIST\r\n"),
        "+OK 2 messages (53 octets)\r\n1 28\r\n3 25\r\n.\r\n"
    );
    assert_eq!(
        h.feed("UIDL\r\n"),
        "+OK unique-id listing follows\r\n1 uid-1\r\n3 uid-3\r\n.\r\n"
    );
    for command in ["LIST 2", "UIDL 2", "RETR 2", "TOP 2 0"] {
        assert_eq!(
            h.feed(format!("{command}\r\n")),
            "-ERR message 2 already deleted\r\n"
        );
    }
    assert_eq!(
        h.feed("RSET\r\n"),
        "+OK maildrop has 3 messages (117 octets)\r\n"
    );
    assert_eq!(h.feed("LIST 2\r\n"), "+OK 2 64\r\n");
}

#[test]
fn empty_maildrop() {
    let mut h = Harness::new();
    h.messages.clear();
    assert_eq!(
        h.feed("USER a\r\nPASS secret\r\n"),
        "+OK send PASS\r\n+OK maildrop has 0 messages (0 octets)\r\n"
    );
    assert_eq!(h.feed("STAT\r\n"), "+OK 0 0\r\n");
    assert_eq!(h.feed("LIST\r\n"), "+OK 0 messages (0 octets)\r\n.\r\n");
    assert_eq!(h.feed("UIDL\r\n"), "+OK unique-id listing follows\r\n.\r\n");
    assert_eq!(h.feed("RETR 1\r\n"), "-ERR no such message\r\n");
}

#[test]
fn long_listings_are_written_in_bounded_sends() {
    let mut h = Harness::new();
    h.messages = vec![b"x\r\n".to_vec(); 20_000];
    h.feed("USER a\r\nPASS secret\r\n");
    let sends = h.sends();
    let out = h.feed("LIST\r\nUIDL\r\nSTAT\r\n");
    assert!(h.sends() > sends + 10, "listing in one send");
    assert!(h.max_send <= 17 * 1024, "send of {}", h.max_send);
    let lines: Vec<&str> = out.split("\r\n").collect();
    assert_eq!(lines[0], "+OK 20000 messages (60000 octets)");
    assert_eq!(lines[20_000], "20000 3");
    assert_eq!(lines[20_001], ".");
    assert_eq!(lines[20_002], "+OK unique-id listing follows");
    assert_eq!(lines[40_002], "20000 uid-20000");
    assert_eq!(lines[40_004], "+OK 20000 60000");
}

// ---- RETR and TOP ---------------------------------------------------------------------

#[test]
fn retr_stuffs_dots() {
    let mut h = Harness::logged_in();
    assert_eq!(
        h.feed("RETR 2\r\n"),
        "+OK 64 octets\r\nSubject: two\r\nFrom: b@example.org\r\n\r\nline 1\r\n\
         ..dot line\r\nline 3\r\n.\r\n"
    );
    assert_eq!(
        h.events().last(),
        Some(&Ev::Retrieve {
            index: 1,
            top_lines: None
        })
    );
    assert_eq!(
        h.feed("RETR 1\r\n"),
        "+OK 28 octets\r\nSubject: one\r\n\r\nFirst body\r\n.\r\n"
    );
}

#[test]
fn top() {
    let mut h = Harness::logged_in();
    assert_eq!(
        h.feed("TOP 2 0\r\n"),
        "+OK top of message follows\r\nSubject: two\r\nFrom: b@example.org\r\n\r\n.\r\n"
    );
    assert_eq!(
        h.events().last(),
        Some(&Ev::Retrieve {
            index: 1,
            top_lines: Some(0)
        })
    );
    assert_eq!(
        h.feed("top 2 2\r\n"),
        "+OK top of message follows\r\nSubject: two\r\nFrom: b@example.org\r\n\r\n\
         line 1\r\n..dot line\r\n.\r\n"
    );
    assert_eq!(
        h.feed("TOP 1 99999999999999999999999\r\n"),
        "+OK top of message follows\r\nSubject: one\r\n\r\nFirst body\r\n.\r\n"
    );
}

#[test]
fn top_drops_the_rest_of_the_message() {
    let mut h = Harness::new();
    let mut big = b"Subject: big\r\n\r\n".to_vec();
    big.extend(b"body line\r\n".repeat(100_000));
    h.messages = vec![big];
    h.feed("USER a\r\nPASS secret\r\n");
    let out = h.feed("TOP 1 1\r\nNOOP\r\n");
    assert_eq!(
        out,
        "+OK top of message follows\r\nSubject: big\r\n\r\nbody line\r\n.\r\n+OK\r\n"
    );
    // Late data for the finished retrieval is ignored.
    h.session.message_data(b"junk\r\n", h.now);
    h.session.message_end(h.now);
    assert_eq!(h.drive(), "");
}

#[test]
fn message_without_final_crlf_and_with_bare_lf() {
    let mut h = Harness::new();
    h.messages = vec![b"A: 1\n\nbody\n.\nlast".to_vec()];
    h.feed("USER a\r\nPASS secret\r\n");
    assert_eq!(
        h.feed("RETR 1\r\n"),
        "+OK 17 octets\r\nA: 1\r\n\r\nbody\r\n..\r\nlast\r\n.\r\n"
    );
}

#[test]
fn big_message_streams_through_a_bounded_buffer() {
    let mut h = Harness::new();
    let line = b".a line that starts with a dot and needs stuffing\n";
    let message = line.repeat(40_000); // 2 MB, every line grows by 2 octets
    h.messages = vec![message.clone()];
    h.chunk = 8 * 1024;
    h.feed("USER a\r\nPASS secret\r\n");
    let sends = h.sends();
    let out = h.feed("RETR 1\r\nQUIT\r\n");
    assert!(h.sends() > sends + 100);
    assert!(h.max_send <= common::MAX_SEND);
    let body = out
        .strip_prefix(&format!("+OK {} octets\r\n", message.len()))
        .unwrap();
    let (body, quit) = body.split_at(body.rfind("+OK ").unwrap());
    assert_eq!(
        quit,
        "+OK pop.example.org POP3 server signing off (1 messages left)\r\n"
    );
    let expected = String::from_utf8(message).unwrap().replace('\n', "\r\n");
    assert_eq!(common::unstuff(body).unwrap(), expected);
}

#[test]
fn wants_message_data_applies_back_pressure() {
    let mut h = Harness::logged_in();
    assert!(!h.session.wants_message_data(), "nothing to retrieve");
    let retrieve = Ev::Retrieve {
        index: 0,
        top_lines: None,
    };
    assert_eq!(h.question("RETR 1\r\nNOOP\r\n"), retrieve);
    assert!(h.session.poll_action().is_none());
    assert!(h.session.wants_message_data());
    assert_eq!(h.session.input_capacity(), 0);
    assert_eq!(h.session.poll_timeout(), None);
    let chunk = [b'x'; 4096];
    let mut fed = 0;
    while h.session.wants_message_data() {
        h.session.message_data(&chunk, h.now);
        fed += 1;
    }
    assert_eq!(fed, 4, "output over 16 KiB after 4 chunks");
    match h.session.poll_action() {
        Some(Action::Send(bytes)) => assert!(bytes.starts_with(b"+OK 28 octets\r\nxxx")),
        other => panic!("expected Send, got {other:?}"),
    }
    assert!(h.session.wants_message_data(), "room again once taken");
    h.session.message_end(h.now);
    assert!(!h.session.wants_message_data());
    let out = h.drive();
    assert_eq!(out, "\r\n.\r\n+OK\r\n");
}

#[test]
fn unreadable_message() {
    let mut h = Harness::logged_in();
    h.unreadable = vec![0];
    assert_eq!(
        h.feed("RETR 1\r\nRETR 3\r\n"),
        "-ERR [SYS/TEMP] Message could not be read\r\n+OK 25 octets\r\n\
         Subject: three\r\n\r\nThird\r\n.\r\n"
    );
}

#[test]
fn failure_after_data_closes_without_terminator() {
    let mut h = Harness::logged_in();
    assert!(matches!(
        h.question("RETR 1\r\nQUIT\r\n"),
        Ev::Retrieve { .. }
    ));
    h.session.message_data(b"Subject: one\r\n", h.now);
    h.session.message_unavailable(h.now);
    assert_eq!(h.drive(), "+OK 28 octets\r\nSubject: one\r\n");
    h.assert_closed_without_update();
}

// ---- QUIT and UPDATE --------------------------------------------------------------------

#[test]
fn quit_in_authorization() {
    let mut h = Harness::new();
    assert_eq!(
        h.feed("QUIT\r\nNOOP\r\n"),
        "+OK pop.example.org POP3 server signing off\r\n"
    );
    assert_eq!(h.events(), [Ev::Close]);
    assert!(h.session.is_closed());
    assert_eq!(h.session.input_capacity(), 0);
    assert!(h.session.poll_action().is_none());
}

#[test]
fn quit_updates_the_maildrop() {
    let mut h = Harness::logged_in();
    let out = h.feed("DELE 3\r\nDELE 1\r\nQUIT\r\n");
    assert!(
        out.ends_with("+OK pop.example.org POP3 server signing off (1 messages left)\r\n"),
        "{out}"
    );
    let events = h.events();
    assert_eq!(
        &events[events.len() - 2..],
        [Ev::Update(vec![0, 2]), Ev::Close]
    );
}

#[test]
fn quit_with_nothing_deleted_still_updates() {
    let mut h = Harness::logged_in();
    h.feed("DELE 1\r\nRSET\r\n");
    assert_eq!(
        h.feed("QUIT\r\n"),
        "+OK pop.example.org POP3 server signing off (3 messages left)\r\n"
    );
    assert!(h.events().contains(&Ev::Update(vec![])));
}

#[test]
fn failed_update() {
    let mut h = Harness::logged_in();
    h.update_fails = true;
    assert_eq!(
        h.feed("DELE 1\r\nQUIT\r\n"),
        "+OK message 1 deleted\r\n-ERR [SYS/TEMP] some deleted messages not removed\r\n"
    );
    assert_eq!(h.events().last(), Some(&Ev::Close));
}

// ---- states, errors, limits -------------------------------------------------------------

#[test]
fn commands_out_of_state() {
    let mut h = Harness::new();
    for command in [
        "STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET", "TOP 1 1", "UIDL",
    ] {
        assert_eq!(h.feed(format!("{command}\r\n")), WRONG_STATE, "{command}");
    }
    let mut h = Harness::logged_in();
    for command in ["USER a", "PASS b", "AUTH", "AUTH PLAIN"] {
        assert_eq!(h.feed(format!("{command}\r\n")), WRONG_STATE, "{command}");
    }
}

#[test]
fn unknown_and_malformed_commands() {
    let mut h = Harness::new();
    assert_eq!(
        h.feed("APOP alice c4c9334bac560ecc979e58001b3e22fb\r\n"),
        UNKNOWN
    );
    assert_eq!(h.feed("HELO x\r\n"), UNKNOWN);
    assert_eq!(h.feed("\r\n"), UNKNOWN);
    assert_eq!(h.feed("USER\r\n"), SYNTAX);
    assert_eq!(h.feed("USER a b\r\n"), SYNTAX);
}

#[test]
fn too_many_errors_close_the_session() {
    let mut h = Harness::new();
    let out = h.feed("FOO\r\n".repeat(12));
    assert_eq!(
        out,
        format!("{}-ERR Too many errors\r\n", UNKNOWN.repeat(10))
    );
    assert!(h.session.is_closed());
}

#[test]
fn line_limit_is_255_octets_with_crlf() {
    let mut h = Harness::logged_in();
    let line = format!("NOOP {}\r\n", "x".repeat(255 - 7));
    assert_eq!(line.len(), 255);
    assert_eq!(h.feed(&line), SYNTAX);
    let line = format!("NOOP {}\r\nNOOP\r\n", "x".repeat(255 - 6));
    assert_eq!(h.feed(&line), "-ERR line too long\r\n+OK\r\n");
}

#[test]
fn endless_line_stays_bounded() {
    let mut h = Harness::logged_in();
    let mut out = String::new();
    for _ in 0..100 {
        out += &h.feed([b'x'; 1000]);
        assert!(h.session.buffered_input() < 1000);
    }
    out += &h.feed("\r\nNOOP\r\n");
    assert_eq!(out, "-ERR line too long\r\n+OK\r\n");
}

#[test]
fn bare_lf_ends_command_lines() {
    let mut h = Harness::new();
    let out = h.feed("user alice\npass secret\nstat\n");
    assert_eq!(
        out,
        "+OK send PASS\r\n+OK maildrop has 3 messages (117 octets)\r\n+OK 3 117\r\n"
    );
}

// ---- pipelining and questions -----------------------------------------------------------

#[test]
fn pipelined_session_is_answered_in_order() {
    let mut h = Harness::new();
    let out = h.feed("USER alice\r\nPASS secret\r\nSTAT\r\nRETR 3\r\nDELE 3\r\nLIST\r\nQUIT\r\n");
    assert_eq!(
        out,
        "+OK send PASS\r\n+OK maildrop has 3 messages (117 octets)\r\n+OK 3 117\r\n\
         +OK 25 octets\r\nSubject: three\r\n\r\nThird\r\n.\r\n+OK message 3 deleted\r\n\
         +OK 2 messages (92 octets)\r\n1 28\r\n2 64\r\n.\r\n\
         +OK pop.example.org POP3 server signing off (2 messages left)\r\n"
    );
    let kinds: Vec<_> = h.events();
    assert_eq!(kinds.len(), 4);
    assert_eq!(kinds[3], Ev::Close);
}

#[test]
fn pipelined_commands_share_one_send() {
    let mut h = Harness::logged_in();
    let sends = h.sends();
    assert_eq!(
        h.feed("NOOP\r\nSTAT\r\nLIST 1\r\n"),
        "+OK\r\n+OK 3 117\r\n+OK 1 28\r\n"
    );
    assert_eq!(h.sends(), sends + 1);
}

#[test]
fn processing_pauses_until_login_is_answered() {
    let mut h = Harness::new();
    h.auto = false;
    let now = h.now;
    assert_eq!(
        h.session.handle_input(b"USER a\r\nPASS p\r\nSTAT\r\n", now),
        22
    );
    // The question comes first; the responses so far follow.
    match h.session.poll_action() {
        Some(action @ Action::Login(credentials)) => {
            assert_eq!((credentials.username(), credentials.password()), ("a", "p"));
            let debug = format!("{action:?}");
            assert!(
                debug.contains("\"a\"") && !debug.contains("\"p\""),
                "{debug}"
            );
        }
        other => panic!("expected Login, got {other:?}"),
    }
    assert!(matches!(
        h.session.poll_action(),
        Some(Action::Send(b"+OK send PASS\r\n"))
    ));
    assert!(h.session.poll_action().is_none());
    assert_eq!(h.session.input_capacity(), 0);
    assert_eq!(h.session.poll_timeout(), None);
    assert_eq!(h.session.handle_input(b"NOOP\r\n", now), 0);
    h.session.login_result(Ok(Maildrop::default()), h.now);
    assert_eq!(
        h.drive(),
        "+OK maildrop has 0 messages (0 octets)\r\n+OK 0 0\r\n"
    );
    assert!(h.session.input_capacity() > 0);
}

#[test]
fn unsolicited_answers_are_ignored() {
    let mut h = Harness::cleartext(stls_config());
    h.session
        .login_result(Err(LoginError::BadCredentials), h.now);
    h.session.message_data(b"x", h.now);
    h.session.message_end(h.now);
    h.session.message_unavailable(h.now);
    h.session.update_result(true, h.now);
    h.session.tls_started(h.now);
    assert_eq!(h.drive(), "");
    assert!(!h.session.is_tls());
    assert_eq!(h.feed("NOOP\r\n"), WRONG_STATE);
}

#[test]
fn capacity_is_zero_until_output_is_taken() {
    let now = std::time::Instant::now();
    let mut s = ServerSession::new(
        Arc::new(config()),
        Peer {
            addr: peer(),
            implicit_tls: false,
        },
        now,
    );
    assert_eq!(s.input_capacity(), 0);
    assert!(matches!(s.poll_action(), Some(Action::Send(_))));
    assert!(s.poll_action().is_none());
    assert_eq!(s.input_capacity(), common::MAX_BUFFERED);
    assert_eq!(s.peer(), peer());
    assert!(!format!("{s:?}").is_empty());
}

// ---- timeout and shutdown ----------------------------------------------------------------

#[test]
fn idle_timeout_closes_silently() {
    let mut h = Harness::logged_in();
    h.feed("DELE 1\r\n");
    let deadline = h.session.poll_timeout().unwrap();
    assert_eq!(deadline, h.now + Duration::from_secs(600));
    h.session.handle_timeout(deadline - Duration::from_secs(1));
    assert_eq!(h.drive(), "");
    h.session.handle_timeout(deadline);
    assert_eq!(h.drive(), "");
    h.assert_closed_without_update();
    assert_eq!(h.session.poll_timeout(), None);
}

#[test]
fn logging_in_has_three_minutes_however_the_bytes_trickle() {
    let mut h = Harness::new();
    let start = h.now;
    for part in ["US", "ER al", "ice\r\nPA", "SS "] {
        h.advance(Duration::from_secs(50));
        h.feed(part);
    }
    let deadline = h.session.poll_timeout().unwrap();
    assert_eq!(deadline, start + Duration::from_secs(180));
    h.session.handle_timeout(deadline);
    assert_eq!(h.drive(), "");
    h.assert_closed_without_update();
}

#[test]
fn input_restarts_the_clock() {
    // Logged in: before, the time to log in bounds the session too.
    let mut h = Harness::logged_in();
    h.advance(Duration::from_secs(300));
    h.feed("NOOP\r\n");
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(600))
    );
}

#[test]
fn time_spent_answering_is_not_idleness() {
    let mut h = Harness::new();
    h.auto = false;
    let start = h.now;
    h.feed("USER a\r\nPASS secret\r\n");
    assert_eq!(h.session.poll_timeout(), None);
    // The engine takes 20 minutes to answer; the client is idle from then on.
    let late = start + Duration::from_secs(1200);
    h.session.login_result(Ok(h.maildrop()), late);
    h.drive();
    h.session.handle_timeout(late);
    assert_eq!(h.drive(), "");
    assert!(!h.session.is_closed());
    assert_eq!(
        h.session.poll_timeout(),
        Some(late + Duration::from_secs(600))
    );
    h.session.handle_timeout(late + Duration::from_secs(600));
    assert!(
        h.session
            .poll_action()
            .is_some_and(|a| matches!(a, Action::Close))
    );
}

#[test]
fn shutdown_when_idle() {
    let mut h = Harness::logged_in();
    h.feed("DELE 1\r\n");
    h.session.shutdown();
    assert_eq!(h.drive(), "-ERR [SYS/TEMP] server shutting down\r\n");
    h.assert_closed_without_update();
}

#[test]
fn shutdown_finishes_a_retrieval_first() {
    let mut h = Harness::logged_in();
    assert!(matches!(
        h.question("RETR 1\r\nSTAT\r\n"),
        Ev::Retrieve { .. }
    ));
    h.session.message_data(b"Subject: one\r\n", h.now);
    h.session.shutdown();
    h.session.message_data(b"\r\nFirst body\r\n", h.now);
    h.session.message_end(h.now);
    assert_eq!(
        h.drive(),
        "+OK 28 octets\r\nSubject: one\r\n\r\nFirst body\r\n.\r\n\
         -ERR [SYS/TEMP] server shutting down\r\n"
    );
    assert_eq!(h.events().last(), Some(&Ev::Close));
}

#[test]
fn shutdown_finishes_a_listing_first() {
    let mut h = Harness::new();
    h.messages = vec![b"x\r\n".to_vec(); 5000];
    h.feed("USER a\r\nPASS secret\r\n");
    let now = h.now;
    h.session.handle_input(b"LIST\r\n", now);
    let first = match h.session.poll_action() {
        Some(Action::Send(bytes)) => String::from_utf8(bytes.to_vec()).unwrap(),
        other => panic!("expected Send, got {other:?}"),
    };
    assert!(!first.ends_with(".\r\n"));
    h.session.shutdown();
    let rest = h.drive();
    assert!(
        rest.ends_with("5000 3\r\n.\r\n-ERR [SYS/TEMP] server shutting down\r\n"),
        "{rest}"
    );
}

#[test]
fn shutdown_abandons_a_login() {
    let mut h = Harness::new();
    h.auto = false;
    h.feed("USER a\r\nPASS secret\r\n");
    h.session.shutdown();
    h.session.login_result(Ok(Maildrop::default()), h.now);
    assert_eq!(h.drive(), "-ERR [SYS/TEMP] server shutting down\r\n");
    assert_eq!(h.session.user(), None);
    assert!(h.session.is_closed());
}
