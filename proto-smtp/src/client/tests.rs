//! The client session driven through its API: against scripted servers, on
//! any bytes, and against our own server session.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;
use crate::{
    Body, Notify, Peer, RcptParams, Recipient, Request, ServerConfig, ServerSession, Session,
};

const GREETING: &str = "220 mx.example.net ESMTP\r\n";
/// Everything but STARTTLS and AUTH, with pipelining.
const EHLO_FULL: &str = "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 1000\r\n\
    250-8BITMIME\r\n250-SMTPUTF8\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n";
/// No pipelining, no extension that changes a command.
const EHLO_BASIC: &str = "250-mx.example.net\r\n250 ENHANCEDSTATUSCODES\r\n";
const EHLO_STARTTLS: &str = "250-mx.example.net\r\n250-PIPELINING\r\n250 STARTTLS\r\n";
const MINUTE: Duration = Duration::from_secs(60);

/// What the session handed out, besides output.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    StartTls,
    Ready,
    WantBody,
    Sent(Outcome),
    Close(Option<Failure>),
}

/// A runtime for one client session: sends the queued messages when ready,
/// feeds `body` in `piece`-sized parts when asked, finishes when the queue is
/// empty (if `finish_when_idle`), and completes TLS handshakes at once.
struct Client {
    session: ClientSession,
    now: Instant,
    events: Vec<Ev>,
    queue: VecDeque<Message>,
    body: Vec<u8>,
    piece: usize,
    finish_when_idle: bool,
    /// How much of `body` was fed, while the body is asked for.
    feeding: Option<usize>,
    /// The largest `Send`.
    largest_send: usize,
}

fn config() -> ClientConfig {
    ClientConfig::new("mta.example.org")
}

/// Our settings with this TLS policy, and with credentials if `auth`.
fn config_with(tls: Tls, auth: bool) -> ClientConfig {
    ClientConfig {
        tls,
        credentials: auth.then(|| Credentials::new("user".into(), "secret".into())),
        ..config()
    }
}

fn recipient(addr: &str) -> Recipient {
    Recipient {
        addr: addr.into(),
        params: RcptParams::default(),
    }
}

fn message(to: &[&str]) -> Message {
    Message {
        from: "alice@example.org".into(),
        recipients: to.iter().map(|addr| recipient(addr)).collect(),
        ..Message::default()
    }
}

impl Client {
    fn start(config: ClientConfig, implicit_tls: bool) -> Self {
        let now = Instant::now();
        Self {
            session: ClientSession::new(
                Arc::new(config),
                Peer {
                    addr: ([192, 0, 2, 25], 25).into(),
                    implicit_tls,
                },
                now,
            ),
            now,
            events: Vec::new(),
            queue: VecDeque::new(),
            body: b"Subject: test\r\n\r\nHello\r\n".to_vec(),
            piece: 7,
            finish_when_idle: false,
            feeding: None,
            largest_send: 0,
        }
    }

    /// A session that read the greeting and said EHLO.
    fn greeted(config: ClientConfig, implicit_tls: bool) -> Self {
        let mut client = Self::start(config, implicit_tls);
        assert_eq!(client.server(GREETING), "EHLO mta.example.org\r\n");
        client
    }

    /// A session past the greeting and the given EHLO reply, ready for mail.
    fn ready(ehlo: &str) -> Self {
        let mut client = Self::greeted(config(), false);
        assert_eq!(client.server(ehlo), "");
        assert_eq!(client.take_events(), [Ev::Ready]);
        client
    }

    /// A session sending one message, asked for its body (not yet fed).
    fn asked_for_body() -> Self {
        let mut client = Self::ready(EHLO_FULL);
        client.send(message(&["a@x.example"]));
        let replies = b"250 Ok\r\n250 Ok\r\n354 Go\r\n";
        client.session.handle_input(replies, client.now);
        let asked = client.session.poll_action();
        assert!(matches!(asked, Some(ClientAction::WantBody)));
        client
    }

    /// Feeds what the server says, driving the session as a runtime would;
    /// returns what the client sent meanwhile.
    fn server(&mut self, said: impl AsRef<[u8]>) -> String {
        let mut input = said.as_ref();
        let mut sent = self.drive();
        while !input.is_empty() {
            let taken = self.session.handle_input(input, self.now);
            assert!(self.session.buffered_input() <= INPUT_LIMIT);
            input = &input[taken..];
            sent += &self.drive();
            if taken == 0 && self.session.input_capacity() == 0 {
                break;
            }
        }
        sent
    }

    /// Polls until the session waits; returns what it sent.
    fn drive(&mut self) -> String {
        let mut sent = String::new();
        loop {
            while let Some(action) = self.session.poll_action() {
                match action {
                    ClientAction::Send(bytes) => {
                        assert!(!bytes.is_empty());
                        self.largest_send = self.largest_send.max(bytes.len());
                        sent += &String::from_utf8_lossy(bytes);
                    }
                    ClientAction::StartTls => {
                        self.events.push(Ev::StartTls);
                        self.session.tls_started(self.now);
                    }
                    ClientAction::Ready => {
                        self.events.push(Ev::Ready);
                        if let Some(message) = self.queue.pop_front() {
                            self.session.send(message, self.now).unwrap();
                        } else if self.finish_when_idle {
                            self.session.finish(self.now);
                        }
                    }
                    ClientAction::WantBody => {
                        self.events.push(Ev::WantBody);
                        self.feeding = Some(0);
                    }
                    ClientAction::Sent(outcome) => self.events.push(Ev::Sent(outcome)),
                    ClientAction::Close(failure) => self.events.push(Ev::Close(failure.cloned())),
                }
            }
            let Some(fed) = self.feeding else { break };
            if fed == self.body.len() {
                self.feeding = None;
                self.session.body_end(self.now);
            } else if self.session.wants_body() {
                let end = (fed + self.piece).min(self.body.len());
                let taken = self.session.body_data(&self.body[fed..end], self.now);
                self.feeding = Some(fed + taken);
            } else {
                break;
            }
        }
        sent
    }

    fn take_events(&mut self) -> Vec<Ev> {
        std::mem::take(&mut self.events)
    }

    /// Sends `message` now (the session must be ready).
    fn send(&mut self, message: Message) -> String {
        self.session.send(message, self.now).unwrap();
        self.drive()
    }

    /// The one outcome handed out since the last look; other events stay.
    fn outcome(&mut self) -> Outcome {
        let mut outcomes = Vec::new();
        self.events.retain(|ev| match ev {
            Ev::Sent(outcome) => {
                outcomes.push(outcome.clone());
                false
            }
            _ => true,
        });
        match <[Outcome; 1]>::try_from(outcomes) {
            Ok([outcome]) => outcome,
            Err(outcomes) => panic!("one outcome expected: {outcomes:?}"),
        }
    }

    /// Why the session closed; panics unless it did.
    fn closed_with(&self) -> Option<Failure> {
        assert!(self.session.is_closed());
        self.events.iter().find_map(|ev| match ev {
            Ev::Close(failure) => Some(failure.clone()),
            _ => None,
        })?
    }
}

fn code(status: &Status) -> u16 {
    match status {
        Ok(reply) => reply.code,
        Err(failure) => failure.reply.code,
    }
}

fn codes(outcome: &Outcome) -> Vec<u16> {
    outcome.recipients.iter().map(code).collect()
}

// ---- greeting, EHLO, HELO ------------------------------------------------

#[test]
fn ehlo_keywords_are_read() {
    let client = Client::ready(EHLO_FULL);
    let ext = client.session.extensions();
    assert!(ext.pipelining && ext.eight_bit_mime && ext.smtputf8 && ext.dsn && ext.chunking);
    assert!(ext.enhanced_status_codes && !ext.starttls && ext.auth.is_empty());
    assert_eq!(ext.size_limit(), Some(1000));
    assert!(client.session.is_ready() && !client.session.is_tls());
    assert_eq!(client.session.poll_timeout(), None);
}

#[test]
fn helo_when_ehlo_is_refused() {
    let mut client = Client::greeted(config(), false);
    let sent = client.server("502 5.5.2 Error: command not recognized\r\n");
    assert_eq!(sent, "HELO mta.example.org\r\n");
    client.server("250 mx.example.net\r\n");
    assert_eq!(client.take_events(), [Ev::Ready]);
    assert_eq!(client.session.extensions(), &Extensions::default());
    // Plain SMTP: one command at a time, no parameters.
    let mut m = message(&["bob@example.net"]);
    m.params.size = Some(10);
    m.params.body = Some(Body::EightBitMime);
    assert_eq!(client.send(m), "MAIL FROM:<alice@example.org>\r\n");
}

#[test]
fn a_refused_helo_or_a_temporary_ehlo_refusal_ends_the_session() {
    let mut client = Client::greeted(config(), false);
    client.server("500 what\r\n");
    assert_eq!(client.server("501 no\r\n"), "QUIT\r\n");
    client.server("221 bye\r\n");
    let failure = client.closed_with().unwrap();
    assert_eq!((failure.stage, failure.reply.code), (Stage::Helo, 501));

    let mut client = Client::greeted(config(), false);
    assert_eq!(client.server("451 4.3.0 Later\r\n"), "QUIT\r\n");
    client.session.connection_closed(client.now);
    client.drive();
    let failure = client.closed_with().unwrap();
    assert!(!failure.is_permanent() && failure.remote && failure.stage == Stage::Ehlo);
}

#[test]
fn a_554_greeting_is_a_permanent_failure_after_quit() {
    let mut client = Client::start(config(), false);
    assert_eq!(
        client.server("554 5.7.1 No SMTP service here\r\n"),
        "QUIT\r\n"
    );
    client.server("221 2.0.0 Bye\r\n");
    let failure = client.closed_with().unwrap();
    assert_eq!(failure.stage, Stage::Greeting);
    assert!(failure.is_permanent() && failure.remote);
    assert_eq!(failure.reply.text, "No SMTP service here");
}

#[test]
fn a_421_greeting_closes_at_once() {
    let mut client = Client::start(config(), false);
    assert_eq!(client.server("421 4.3.2 Too busy\r\n"), "");
    let failure = client.closed_with().unwrap();
    assert!(!failure.is_permanent());
    assert_eq!(failure.reply.code, 421);
}

// ---- STARTTLS --------------------------------------------------------------

#[test]
fn starttls_forgets_the_cleartext_and_greets_again() {
    let mut client = Client::greeted(config(), false);
    assert_eq!(client.server(EHLO_STARTTLS), "STARTTLS\r\n");
    // A reply slipped in after the 220 must not be read as said under TLS.
    let sent = client.server("220 2.0.0 Ready to start TLS\r\n250 2.0.0 injected\r\n");
    assert_eq!(sent, "EHLO mta.example.org\r\n");
    assert_eq!(client.take_events(), [Ev::StartTls]);
    assert!(client.session.is_tls());
    assert_eq!(client.session.extensions(), &Extensions::default());
    client.server("250-mx.example.net\r\n250 SIZE 500\r\n");
    assert_eq!(client.take_events(), [Ev::Ready]);
    assert_eq!(client.session.extensions().size_limit(), Some(500));
    assert!(!client.session.extensions().pipelining);
}

#[test]
fn no_timeout_runs_during_the_handshake() {
    let mut client = Client::greeted(config(), false);
    client.server(EHLO_STARTTLS);
    client.session.handle_input(b"220 go\r\n", client.now);
    assert!(matches!(
        client.session.poll_action(),
        Some(ClientAction::StartTls)
    ));
    assert_eq!(client.session.poll_timeout(), None);
    assert_eq!(client.session.input_capacity(), 0);
    let later = client.now + 10 * MINUTE;
    client.session.tls_started(later);
    assert_eq!(client.session.poll_timeout(), Some(later + 5 * MINUTE));
}

#[test]
fn tls_required_but_not_offered_fails_temporarily() {
    let mut client = Client::greeted(config_with(Tls::Required, false), false);
    assert_eq!(client.server(EHLO_FULL), "QUIT\r\n");
    client.server("221 Bye\r\n");
    let failure = client.closed_with().unwrap();
    assert_eq!(failure.stage, Stage::StartTls);
    assert_eq!(failure.reply.enhanced, Some((4, 7, 4)));
    assert!(!failure.is_permanent() && !failure.remote);
    assert!(failure.reply.text.contains("not offered"));
}

#[test]
fn a_refused_starttls_fails_if_required_else_goes_on_in_cleartext() {
    let mut client = Client::greeted(config_with(Tls::Required, false), false);
    client.server(EHLO_STARTTLS);
    assert_eq!(client.server("454 4.7.0 TLS not available\r\n"), "QUIT\r\n");
    let failure = client.session.failure().unwrap();
    assert!(!failure.is_permanent());
    assert!(failure.reply.text.contains("454 4.7.0 TLS not available"));

    let mut client = Client::greeted(config(), false);
    client.server(EHLO_STARTTLS);
    assert_eq!(client.server("454 4.7.0 TLS not available\r\n"), "");
    assert_eq!(client.take_events(), [Ev::Ready]);
    assert!(!client.session.is_tls());
}

#[test]
fn starttls_is_not_used_when_never_or_already_encrypted() {
    let mut client = Client::greeted(config_with(Tls::Never, false), false);
    assert_eq!(client.server(EHLO_STARTTLS), "");
    assert_eq!(client.take_events(), [Ev::Ready]);

    let mut client = Client::greeted(config_with(Tls::Required, false), true);
    assert_eq!(client.server(EHLO_STARTTLS), "");
    assert_eq!(client.take_events(), [Ev::Ready]);
    assert!(client.session.is_tls());
}

// ---- AUTH ------------------------------------------------------------------

/// A client with credentials on implicit TLS, past the greeting and `ehlo`.
fn auth_client(ehlo: &str) -> (Client, String) {
    let mut client = Client::greeted(config_with(Tls::Opportunistic, true), true);
    let sent = client.server(ehlo);
    (client, sent)
}

#[test]
fn auth_plain_in_one_round_trip() {
    let (mut client, sent) = auth_client("250-mx\r\n250 AUTH LOGIN PLAIN\r\n");
    assert_eq!(sent, "AUTH PLAIN AHVzZXIAc2VjcmV0\r\n");
    assert!(!client.session.is_authenticated());
    client.server("235 2.7.0 Authentication successful\r\n");
    assert_eq!(client.take_events(), [Ev::Ready]);
    assert!(client.session.is_authenticated());
    // Authenticated: the AUTH= parameter goes with MAIL.
    let mut m = message(&["bob@example.net"]);
    m.params.auth = Some("alice@example.org".into());
    assert_eq!(
        client.send(m),
        "MAIL FROM:<alice@example.org> AUTH=alice@example.org\r\n"
    );
}

#[test]
fn auth_login_when_only_login_is_offered() {
    let (mut client, sent) = auth_client("250-mx\r\n250 AUTH=LOGIN\r\n");
    assert_eq!(sent, "AUTH LOGIN\r\n");
    assert_eq!(client.server("334 VXNlcm5hbWU6\r\n"), "dXNlcg==\r\n");
    assert_eq!(client.server("334 UGFzc3dvcmQ6\r\n"), "c2VjcmV0\r\n");
    client.server("235 2.7.0 Ok\r\n");
    assert_eq!(client.take_events(), [Ev::Ready]);
    assert!(client.session.is_authenticated());
}

#[test]
fn auth_refusals_fail_the_session_by_their_class() {
    for (reply, permanent) in [
        ("535 5.7.8 Authentication credentials invalid\r\n", true),
        ("454 4.7.0 Temporary authentication failure\r\n", false),
    ] {
        let (mut client, _) = auth_client("250-mx\r\n250 AUTH PLAIN\r\n");
        assert_eq!(client.server(reply), "QUIT\r\n");
        client.server("221 Bye\r\n");
        let failure = client.closed_with().unwrap();
        assert_eq!(failure.stage, Stage::Auth);
        assert_eq!(failure.is_permanent(), permanent);
        assert!(failure.remote);
    }
}

#[test]
fn credentials_never_go_in_the_clear_or_unasked() {
    let mut client = Client::greeted(config_with(Tls::Never, true), false);
    assert_eq!(client.server("250-mx\r\n250 AUTH PLAIN\r\n"), "QUIT\r\n");
    let failure = client.session.failure().unwrap();
    assert_eq!(
        (failure.stage, failure.is_permanent()),
        (Stage::Auth, false)
    );

    let (client, sent) = auth_client("250-mx\r\n250 AUTH CRAM-MD5\r\n");
    assert_eq!(sent, "QUIT\r\n");
    assert_eq!(client.session.failure().unwrap().stage, Stage::Auth);
}

#[test]
fn an_unexpected_challenge_ends_the_session_without_quit() {
    let (mut client, _) = auth_client("250-mx\r\n250 AUTH PLAIN\r\n");
    assert_eq!(client.server("334 \r\n"), "");
    let failure = client.closed_with().unwrap();
    assert_eq!(failure.reply.enhanced, Some((4, 5, 0)));
}

// ---- transactions ----------------------------------------------------------

#[test]
fn pipelining_sends_mail_rcpts_and_data_in_one_batch() {
    let mut client = Client::ready(EHLO_FULL);
    let mut m = message(&["bob@example.net", "carol@example.net"]);
    m.params.size = Some(24);
    m.params.body = Some(Body::EightBitMime);
    let sent = client.send(m);
    assert_eq!(
        sent,
        "MAIL FROM:<alice@example.org> SIZE=24 BODY=8BITMIME\r\n\
         RCPT TO:<bob@example.net>\r\nRCPT TO:<carol@example.net>\r\nDATA\r\n"
    );
    let sent = client.server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 Go\r\n");
    assert_eq!(sent, "Subject: test\r\n\r\nHello\r\n.\r\n");
    assert_eq!(client.take_events(), [Ev::WantBody]);
    client.server("250 2.0.0 Queued as 1\r\n");
    let outcome = client.outcome();
    assert_eq!(
        outcome.status,
        Ok(Reply::new(250, (2, 0, 0), "Queued as 1"))
    );
    assert_eq!(
        outcome.recipients,
        [outcome.status.clone(), outcome.status.clone()]
    );
    assert_eq!(outcome.delivered(), 2);
    assert_eq!(outcome.message.recipients.len(), 2);
    assert!(client.session.is_ready());
}

#[test]
fn without_pipelining_each_command_waits_for_its_reply() {
    let mut client = Client::ready(EHLO_BASIC);
    let mut m = message(&["bob@example.net", "carol@example.net"]);
    m.params.size = Some(24);
    assert_eq!(client.send(m), "MAIL FROM:<alice@example.org>\r\n");
    assert_eq!(
        client.server("250 2.1.0 Ok\r\n"),
        "RCPT TO:<bob@example.net>\r\n"
    );
    assert_eq!(
        client.server("250 2.1.5 Ok\r\n"),
        "RCPT TO:<carol@example.net>\r\n"
    );
    assert_eq!(client.server("550 5.1.1 No\r\n"), "DATA\r\n");
    client.server("354 Go\r\n");
    client.server("250 2.0.0 Queued\r\n");
    assert_eq!(codes(&client.outcome()), [250, 550]);
}

#[test]
fn each_recipient_gets_its_own_result() {
    let mut client = Client::ready(EHLO_FULL);
    client.send(message(&["a@x.example", "b@x.example", "c@x.example"]));
    client.server(
        "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 No such user\r\n\
         450 4.2.1 Mailbox busy\r\n354 Go\r\n",
    );
    client.server("250 2.0.0 Queued\r\n");
    let outcome = client.outcome();
    assert_eq!(codes(&outcome), [250, 550, 450]);
    assert!(outcome.status.is_ok());
    let refused = outcome.recipients[1].as_ref().unwrap_err();
    assert!(refused.is_permanent() && refused.remote && refused.stage == Stage::Rcpt);
    assert_eq!(refused.reply, Reply::new(550, (5, 1, 1), "No such user"));
    let busy = outcome.recipients[2].as_ref().unwrap_err();
    assert!(!busy.is_permanent());
}

#[test]
fn a_refused_message_fails_the_accepted_recipients() {
    let mut client = Client::ready(EHLO_FULL);
    client.send(message(&["a@x.example", "b@x.example"]));
    client.server("250 Ok\r\n250 Ok\r\n550 5.1.1 No\r\n354 Go\r\n");
    client.server("554 5.7.1 Spam\r\n");
    let outcome = client.outcome();
    assert_eq!(codes(&outcome), [554, 550]);
    let failure = outcome.status.unwrap_err();
    assert_eq!(
        (failure.stage, failure.is_permanent()),
        (Stage::EndOfData, true)
    );
    // The same with DATA refused.
    client.send(message(&["a@x.example"]));
    client.server("250 Ok\r\n250 Ok\r\n250 Ok\r\n451 4.3.0 Later\r\n");
    let outcome = client.outcome();
    assert_eq!(codes(&outcome), [451]);
    assert_eq!(outcome.status.unwrap_err().stage, Stage::Data);
}

#[test]
fn when_nobody_is_accepted_no_body_is_sent() {
    let mut client = Client::ready(EHLO_FULL);
    client.send(message(&["a@x.example", "b@x.example"]));
    // The pipelined DATA is refused, as it should be.
    let sent = client.server(
        "250 2.1.0 Ok\r\n550 5.1.1 No\r\n451 4.7.1 Greylisted\r\n554 5.5.1 No valid recipients\r\n",
    );
    assert_eq!(sent, "");
    let outcome = client.outcome();
    assert!(!client.events.contains(&Ev::WantBody));
    assert_eq!(codes(&outcome), [550, 451]);
    // The message as a whole is worth another try: one recipient might pass.
    assert_eq!(code(&outcome.status), 451);
    // The server still holds the sender: the next message starts with RSET.
    let sent = client.send(message(&["c@x.example"]));
    assert!(
        sent.starts_with("RSET\r\nMAIL FROM:<alice@example.org>\r\n"),
        "{sent}"
    );

    // Without pipelining, DATA is never sent.
    let mut client = Client::ready(EHLO_BASIC);
    client.send(message(&["a@x.example"]));
    client.server("250 Ok\r\n");
    assert_eq!(client.server("550 5.1.1 No\r\n"), "");
    let outcome = client.outcome();
    assert_eq!(code(&outcome.status), 550);
    assert!(outcome.status.unwrap_err().is_permanent());
}

#[test]
fn a_354_with_nobody_accepted_gets_an_empty_body() {
    let mut client = Client::ready(EHLO_FULL);
    client.send(message(&["a@x.example"]));
    assert_eq!(client.server("250 Ok\r\n550 No\r\n354 Go\r\n"), ".\r\n");
    assert!(client.take_events().is_empty());
    client.server("554 5.5.1 Empty message\r\n");
    let outcome = client.outcome();
    assert_eq!(code(&outcome.status), 550);
    assert!(client.session.is_ready());
}

#[test]
fn a_refused_sender_fails_every_recipient() {
    let mut client = Client::ready(EHLO_FULL);
    client.send(message(&["a@x.example", "b@x.example"]));
    client.server("553 5.7.1 Sender refused\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n");
    assert!(
        client.take_events().is_empty(),
        "DATA is still to be answered"
    );
    client.server("503 5.5.1 need MAIL\r\n");
    let outcome = client.outcome();
    assert_eq!(codes(&outcome), [553, 553]);
    assert_eq!(outcome.status.unwrap_err().stage, Stage::Mail);

    let mut client = Client::ready(EHLO_BASIC);
    client.send(message(&["a@x.example"]));
    assert_eq!(client.server("451 4.3.0 Later\r\n"), "");
    assert_eq!(codes(&client.outcome()), [451]);
}

#[test]
fn the_body_is_stuffed_and_normalized() {
    let mut client = Client::ready(EHLO_FULL);
    client.body = b"Subject: dots\n\n.\n..two\r\nbare\rcr\n.\r\nend".to_vec();
    client.piece = 3;
    client.send(message(&["a@x.example"]));
    let sent = client.server("250 Ok\r\n250 Ok\r\n354 Go\r\n");
    assert_eq!(
        sent,
        "Subject: dots\r\n\r\n..\r\n...two\r\nbare\r\ncr\r\n..\r\nend\r\n.\r\n"
    );
}

#[test]
fn a_large_body_streams_within_the_output_bound() {
    let mut client = Client::ready(EHLO_FULL);
    client.body = b".\n".repeat(40_000);
    client.piece = 100_000;
    client.send(message(&["a@x.example"]));
    let sent = client.server("250 Ok\r\n250 Ok\r\n354 Go\r\n");
    assert_eq!(sent.len(), 40_000 * 4 + 3);
    assert!(
        client.largest_send <= OUTPUT_HIGH_WATER,
        "{}",
        client.largest_send
    );
    // The runtime may stall the body; the deadline is per piece.
    assert_eq!(
        client.session.poll_timeout(),
        Some(client.now + 10 * MINUTE)
    );
}

#[test]
fn what_the_server_lacks_fails_the_message_before_mail() {
    let mut client = Client::ready(EHLO_BASIC);
    let mut big = message(&["a@x.example"]);
    big.params.smtputf8 = true;
    let cases = [
        (message(&["j\u{f6}rg@x.example"]), (5, 6, 7)),
        (big, (5, 6, 7)),
        (
            {
                let mut strict = message(&["a@x.example"]);
                strict.params.require_tls = true;
                strict
            },
            (5, 7, 30),
        ),
        (message(&[]), (5, 5, 1)),
        (
            Message {
                from: "a b@example.org".into(),
                ..message(&["a@x.example"])
            },
            (5, 1, 7),
        ),
    ];
    for (m, enhanced) in cases {
        assert_eq!(client.send(m), "");
        let outcome = client.outcome();
        let failure = outcome.status.unwrap_err();
        assert_eq!(failure.reply.enhanced, Some(enhanced));
        assert!(failure.is_permanent() && !failure.remote);
        assert!(outcome.recipients.iter().all(|r| r.is_err()));
        // Still usable: the next message goes out, without RSET.
        assert!(client.session.is_ready());
    }
    assert_eq!(
        client.send(message(&["a@x.example"])),
        "MAIL FROM:<alice@example.org>\r\n"
    );

    let mut client = Client::ready(EHLO_FULL);
    let mut m = message(&["a@x.example"]);
    m.params.size = Some(1001);
    client.send(m);
    let failure = client.outcome().status.unwrap_err();
    assert_eq!(failure.reply.enhanced, Some((5, 3, 4)));
    assert!(failure.reply.text.contains("1001"));
}

#[test]
fn utf8_dsn_and_8bit_parameters_go_only_where_offered() {
    let mut m = message(&["j\u{f6}rg@b\u{fc}cher.example"]);
    m.params.body = Some(Body::EightBitMime);
    m.params.ret = Some(crate::Ret::Hdrs);
    m.params.envid = Some("id 1".into());
    m.recipients[0].params.notify = Some(Notify {
        failure: true,
        ..Notify::default()
    });
    m.recipients[0].params.orcpt = Some("rfc822;a@b".into());
    let mut client = Client::ready(EHLO_FULL);
    let sent = client.send(m.clone());
    assert_eq!(
        sent,
        "MAIL FROM:<alice@example.org> BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id+201\r\n\
         RCPT TO:<j\u{f6}rg@b\u{fc}cher.example> NOTIFY=FAILURE ORCPT=rfc822;a@b\r\nDATA\r\n"
    );

    m.recipients[0].addr = "jorg@example.net".into();
    let mut client = Client::ready("250-mx\r\n250 PIPELINING\r\n");
    let sent = client.send(m);
    assert_eq!(
        sent,
        "MAIL FROM:<alice@example.org>\r\nRCPT TO:<jorg@example.net>\r\nDATA\r\n"
    );
}

#[test]
fn a_recipient_that_cannot_be_written_fails_alone() {
    let mut client = Client::ready(EHLO_FULL);
    let sent = client.send(message(&["a@x.example>\r\nRSET", "b@x.example"]));
    assert_eq!(
        sent,
        "MAIL FROM:<alice@example.org>\r\nRCPT TO:<b@x.example>\r\nDATA\r\n"
    );
    client.server("250 Ok\r\n250 Ok\r\n354 Go\r\n");
    client.server("250 Queued\r\n");
    let outcome = client.outcome();
    assert_eq!(codes(&outcome), [553, 250]);
    let bad = outcome.recipients[0].as_ref().unwrap_err();
    assert_eq!(bad.reply.enhanced, Some((5, 1, 3)));
}

#[test]
fn a_second_message_on_the_connection_starts_with_rset() {
    let mut client = Client::ready(EHLO_FULL);
    client.queue.push_back(message(&["b@x.example"]));
    client.finish_when_idle = true;
    client.send(message(&["a@x.example"]));
    client.server("250 Ok\r\n250 Ok\r\n354 Go\r\n");
    let sent = client.server("250 2.0.0 First\r\n");
    assert_eq!(
        sent,
        "RSET\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<b@x.example>\r\nDATA\r\n"
    );
    client.server("250 2.0.0 Ok\r\n250 Ok\r\n250 Ok\r\n354 Go\r\n");
    assert_eq!(client.server("250 2.0.0 Second\r\n"), "QUIT\r\n");
    client.server("221 2.0.0 Bye\r\n");
    let sent: Vec<_> = client
        .events
        .iter()
        .filter_map(|ev| match ev {
            Ev::Sent(outcome) => Some(outcome.status.clone().unwrap().text),
            _ => None,
        })
        .collect();
    assert_eq!(sent, ["First", "Second"]);
    assert_eq!(client.closed_with(), None);

    // Without pipelining, RSET is answered first; a refused RSET ends the
    // session and the message waits for another one.
    let mut client = Client::ready(EHLO_BASIC);
    client.send(message(&["a@x.example"]));
    client.server("250 Ok\r\n250 Ok\r\n354 Go\r\n250 Queued\r\n");
    client.take_events();
    assert_eq!(client.send(message(&["b@x.example"])), "RSET\r\n");
    assert_eq!(client.server("500 5.5.1 What\r\n"), "");
    let outcome = client.outcome();
    assert_eq!(code(&outcome.status), 451);
    assert_eq!(outcome.status.unwrap_err().stage, Stage::Rset);
}

#[test]
fn a_421_mid_transaction_defers_the_message_and_closes() {
    let mut client = Client::ready(EHLO_BASIC);
    client.send(message(&["a@x.example", "b@x.example"]));
    client.server("250 Ok\r\n");
    assert_eq!(client.server("250 Ok\r\n"), "RCPT TO:<b@x.example>\r\n");
    assert_eq!(client.server("421 4.4.2 Timeout, closing\r\n"), "");
    let outcome = client.outcome();
    assert_eq!(codes(&outcome), [421, 421]);
    let failure = outcome.status.unwrap_err();
    assert!(!failure.is_permanent() && failure.remote);
    assert_eq!(failure.stage, Stage::Rcpt);
    assert_eq!(client.closed_with(), Some(failure));
}

#[test]
fn the_final_reply_is_not_lost_to_a_closing_connection() {
    let mut client = Client::ready(EHLO_FULL);
    client.send(message(&["a@x.example"]));
    client.server("250 Ok\r\n250 Ok\r\n354 Go\r\n");
    client
        .session
        .handle_input(b"250 2.0.0 Queued\r\n", client.now);
    client.session.connection_closed(client.now);
    client.drive();
    let outcome = client.outcome();
    assert!(outcome.status.is_ok());
    let failure = client.closed_with().unwrap();
    assert_eq!(failure.stage, Stage::Idle);
}

#[test]
fn a_lost_connection_defers_what_was_in_flight() {
    let mut client = Client::ready(EHLO_FULL);
    client.send(message(&["a@x.example"]));
    client.server("250 Ok\r\n250 Ok\r\n");
    client.server("354 Go\r\n");
    client.session.connection_closed(client.now);
    client.drive();
    let outcome = client.outcome();
    let failure = outcome.status.unwrap_err();
    assert_eq!(
        (failure.stage, failure.reply.enhanced),
        (Stage::EndOfData, Some((4, 4, 2)))
    );
    assert!(!failure.is_permanent());
    // The body never asked for is not asked for any more.
    let mut client = Client::asked_for_body();
    client.session.connection_closed(client.now);
    assert!(!client.session.wants_body());
    client.drive();
    assert_eq!(client.outcome().status.unwrap_err().stage, Stage::Body);
}

#[test]
fn finish_waits_for_the_message_in_progress() {
    let mut client = Client::ready(EHLO_FULL);
    client.send(message(&["a@x.example"]));
    client.session.finish(client.now);
    client.server("250 Ok\r\n250 Ok\r\n354 Go\r\n");
    assert_eq!(client.server("250 Queued\r\n"), "QUIT\r\n");
    assert!(!client.session.is_ready());
    assert!(
        client
            .session
            .send(message(&["b@x.example"]), client.now)
            .is_err()
    );
    assert!(client.outcome().status.is_ok());
    // A server that closes instead of answering QUIT is fine.
    client.session.connection_closed(client.now);
    client.drive();
    assert_eq!(client.closed_with(), None);
}

#[test]
fn any_reply_to_quit_ends_the_session_as_asked() {
    let mut client = Client::ready(EHLO_FULL);
    client.session.finish(client.now);
    assert_eq!(client.drive(), "QUIT\r\n");
    client.server("199 odd\r\n");
    assert_eq!(client.closed_with(), None);
}

#[test]
fn unreadable_or_unexpected_replies_end_the_session_without_quit() {
    for (reply, text) in [
        ("hello\r\n", "malformed"),
        ("250-a\r\n251 b\r\n", "malformed"),
        ("199 what\r\n", "Unexpected"),
        ("354 go on\r\n", "Unexpected"),
    ] {
        let mut client = Client::ready(EHLO_FULL);
        client.send(message(&["a@x.example"]));
        assert_eq!(client.server(reply), "", "{reply}");
        let outcome = client.outcome();
        assert_eq!(code(&outcome.status), 451);
        let failure = client.closed_with().unwrap();
        assert_eq!(failure.reply.enhanced, Some((4, 5, 0)));
        assert!(failure.reply.text.contains(text), "{failure}");
    }
    let mut client = Client::start(config(), false);
    let line = format!("220-{}\r\n", "x".repeat(LINE_LIMIT));
    client.server(line);
    assert!(
        client
            .closed_with()
            .unwrap()
            .reply
            .text
            .contains("too long")
    );
}

#[test]
fn unbidden_replies_between_messages_end_the_session() {
    let mut client = Client::ready(EHLO_FULL);
    client.server("421 4.4.2 Idle too long\r\n");
    let failure = client.closed_with().unwrap();
    assert_eq!((failure.stage, failure.reply.code), (Stage::Idle, 421));
    assert!(!client.session.is_ready());

    let mut client = Client::ready(EHLO_FULL);
    client.server("250 Surprise\r\n");
    assert_eq!(
        client.closed_with().unwrap().reply.enhanced,
        Some((4, 5, 0))
    );
}

// ---- timeouts --------------------------------------------------------------

#[test]
fn each_reply_has_its_own_deadline() {
    let mut client = Client::start(config(), false);
    let start = client.now;
    assert_eq!(client.session.poll_timeout(), Some(start + 5 * MINUTE));
    client.server(GREETING);
    client.server(EHLO_FULL);
    assert_eq!(client.session.poll_timeout(), None);

    client.now = start + MINUTE;
    client.send(message(&["a@x.example"]));
    assert_eq!(client.session.poll_timeout(), Some(client.now + 5 * MINUTE));
    client.now += MINUTE;
    client.server("250 Ok\r\n250 Ok\r\n");
    // Only DATA's reply is outstanding: 2 minutes from the last reply.
    assert_eq!(client.session.poll_timeout(), Some(client.now + 2 * MINUTE));
    client.server("354 Go\r\n");
    assert_eq!(
        client.session.poll_timeout(),
        Some(client.now + 10 * MINUTE)
    );
    client.server("250 Ok\r\n");
    assert_eq!(client.session.poll_timeout(), None);
}

#[test]
fn a_timeout_defers_the_message_and_closes() {
    let mut client = Client::ready(EHLO_FULL);
    client.send(message(&["a@x.example"]));
    let deadline = client.session.poll_timeout().unwrap();
    client
        .session
        .handle_timeout(deadline - Duration::from_secs(1));
    assert!(!client.session.is_closed());
    assert!(client.take_events().is_empty());
    client.session.handle_timeout(deadline);
    client.drive();
    let failure = client.outcome().status.unwrap_err();
    assert_eq!(
        (failure.stage, failure.reply.enhanced),
        (Stage::Mail, Some((4, 4, 2)))
    );
    assert!(failure.reply.text.contains("MAIL FROM"));
    assert_eq!(client.closed_with(), Some(failure));
}

#[test]
fn a_stalled_body_times_out_per_piece() {
    let mut client = Client::asked_for_body();
    assert_eq!(client.session.poll_timeout(), Some(client.now + 3 * MINUTE));
    let later = client.now + 2 * MINUTE;
    assert_eq!(client.session.body_data(b"x", later), 1);
    assert_eq!(client.session.poll_timeout(), Some(later + 3 * MINUTE));
    client.session.handle_timeout(later + 3 * MINUTE);
    client.drive();
    assert_eq!(client.outcome().status.unwrap_err().stage, Stage::Body);
    assert!(client.session.is_closed());
}

#[test]
fn an_unanswered_quit_just_closes() {
    let mut client = Client::ready(EHLO_FULL);
    client.session.finish(client.now);
    assert_eq!(client.drive(), "QUIT\r\n");
    let deadline = client.session.poll_timeout().unwrap();
    client.session.handle_timeout(deadline);
    client.drive();
    assert_eq!(client.closed_with(), None);
}

// ---- any bytes -------------------------------------------------------------

/// Replies that reach deep states, mixed with arbitrary bytes.
fn hostile_server() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(GREETING.as_bytes().to_vec()),
        Just(EHLO_FULL.as_bytes().to_vec()),
        Just(EHLO_STARTTLS.as_bytes().to_vec()),
        Just(b"250-mx\r\n250-PIPELINING\r\n250 AUTH LOGIN\r\n".to_vec()),
        Just(b"250 2.0.0 Ok\r\n".to_vec()),
        Just(b"220 go\r\n".to_vec()),
        Just(b"334 VXNlcm5hbWU6\r\n".to_vec()),
        Just(b"235 ok\r\n".to_vec()),
        Just(b"354 go\r\n".to_vec()),
        Just(b"550 5.1.1 no\r\n".to_vec()),
        Just(b"451 4.3.0 later\r\n".to_vec()),
        Just(b"421 bye\r\n".to_vec()),
        Just(b"502 no\r\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(
            prop_oneof![
                Just(b'2'),
                Just(b'5'),
                Just(b'-'),
                Just(b' '),
                Just(b'\r'),
                Just(b'\n')
            ],
            0..3000
        ),
    ];
    proptest::collection::vec(token, 0..30).prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn any_server_bytes_in_any_pieces_stay_bounded(
        input in hostile_server(),
        steps in proptest::collection::vec(1usize..3000, 1..8),
        implicit_tls in any::<bool>(),
        auth in any::<bool>(),
        messages in 0usize..4,
    ) {
        let mut client = Client::start(config_with(Tls::Opportunistic, auth), implicit_tls);
        client.queue.extend((0..messages).map(|i| message(&["a@x.example", "b@x.example"][..i % 3])));
        client.finish_when_idle = true;
        client.body = b".\n".repeat(5000);
        client.piece = 1000;
        let mut rest = &input[..];
        for &step in steps.iter().cycle() {
            if rest.is_empty() || client.session.is_closed() {
                break;
            }
            let (piece, tail) = rest.split_at(step.min(rest.len()));
            client.server(piece);
            rest = tail;
            prop_assert!(client.session.buffered_input() <= INPUT_LIMIT);
            prop_assert!(client.largest_send <= OUTPUT_HIGH_WATER + 1024);
        }
        let later = client.now + 60 * MINUTE;
        client.session.handle_timeout(later);
        client.session.connection_closed(later);
        client.drive();
        prop_assert!(client.session.is_closed());
        // Every message handed over was accounted for, once.
        let sent = client.events.iter().filter(|ev| matches!(ev, Ev::Sent(_))).count();
        prop_assert_eq!(sent + client.queue.len(), messages);
    }
}

proptest! {
    #[test]
    fn a_refusal_reaches_the_outcome_as_the_server_wrote_it(
        code in prop_oneof![450u16..500, 500u16..600],
        detail in proptest::option::of((0u16..1000, 0u16..1000)),
        lines in proptest::collection::vec("[a-z][ -~\u{e9}\u{4e2d}]{0,40}", 1..5),
        cut in 0usize..300,
    ) {
        let class = u8::try_from(code / 100).unwrap();
        let enhanced = detail.map(|(subject, detail)| (class, subject, detail));
        let text = lines.join("\n");
        let mut wire = Vec::new();
        crate::reply::write_reply(&mut wire, code, enhanced, format_args!("{text}"));
        let mut client = Client::ready(EHLO_BASIC);
        client.send(message(&["a@x.example"]));
        client.server("250 Ok\r\n");
        let (first, second) = wire.split_at(cut.min(wire.len()));
        client.server(first);
        client.server(second);
        let failure = client.outcome().status.unwrap_err();
        prop_assert!(failure.remote);
        prop_assert_eq!(failure.reply, Reply { code, enhanced, text: text.into() });
    }
}

// ---- against our own server ------------------------------------------------

/// Our server session with a runtime that accepts everything but recipients
/// named `unknown…`, and records the messages it takes.
struct Server {
    session: ServerSession,
    spool: Vec<u8>,
    /// Sender, recipients and body of each message taken.
    taken: Vec<(String, Vec<String>, Vec<u8>)>,
}

impl Server {
    fn drive(&mut self, now: Instant) -> Vec<u8> {
        let mut sent = Vec::new();
        while let Some(action) = self.session.poll_action() {
            match action {
                crate::Action::Send(bytes) => sent.extend_from_slice(bytes),
                crate::Action::StartTls => self.session.tls_started(now),
                crate::Action::Login(credentials) => {
                    let verdict = match credentials.password() {
                        "secret" => Ok(()),
                        _ => Err(crate::LoginError::BadCredentials),
                    };
                    self.session.login_result(verdict, now);
                }
                crate::Action::Request(Request::Mail { .. }) => {
                    self.session.mail_result(Ok(()), now);
                }
                crate::Action::Request(Request::Rcpt { to, .. }) => {
                    let verdict = if to.starts_with("unknown") {
                        Err(Reply::new(550, (5, 1, 1), "No such user"))
                    } else {
                        Ok(())
                    };
                    self.session.rcpt_result(verdict, now);
                }
                crate::Action::Request(Request::Data(bytes)) => {
                    self.spool.extend_from_slice(bytes);
                }
                crate::Action::Request(Request::DataEnd) => {
                    let envelope = self.session.envelope();
                    let from = envelope.mail_from.clone().unwrap_or_default();
                    let to = envelope.rcpts.iter().map(|r| r.addr.clone()).collect();
                    self.taken.push((from, to, std::mem::take(&mut self.spool)));
                    let reply = Reply::new(250, (2, 0, 0), "Queued");
                    self.session.data_result(reply, now);
                }
                _ => {}
            }
        }
        sent
    }

    fn feed(&mut self, mut input: &[u8], now: Instant) -> Vec<u8> {
        let mut sent = self.drive(now);
        while !input.is_empty() && !self.session.is_closed() {
            let taken = self.session.handle_input(input, now);
            input = &input[taken..];
            sent.extend(self.drive(now));
        }
        sent
    }
}

#[test]
fn a_whole_conversation_with_our_own_server() {
    let now = Instant::now();
    let mut server_config = ServerConfig::new("mx.example.net");
    server_config.starttls = true;
    let mut server = Server {
        session: ServerSession::new(
            Arc::new(server_config),
            Peer {
                addr: ([192, 0, 2, 1], 25).into(),
                implicit_tls: false,
            },
            now,
        ),
        spool: Vec::new(),
        taken: Vec::new(),
    };
    let mut client = Client::start(config_with(Tls::Required, true), false);
    client.now = now;
    client.body = b"Subject: hello\n\n.leading dot\nlast line".to_vec();
    client.queue.extend([
        message(&[
            "bob@example.net",
            "unknown@example.net",
            "carol@example.net",
        ]),
        message(&["dave@example.net"]),
    ]);
    client.finish_when_idle = true;

    let mut to_client = server.drive(now);
    let mut rounds = 0;
    while !client.session.is_closed() {
        rounds += 1;
        assert!(rounds < 50, "the conversation does not end");
        let to_server = client.server(&to_client);
        to_client = server.feed(to_server.as_bytes(), now);
        if server.session.is_closed() && to_client.is_empty() {
            client.session.connection_closed(now);
            client.drive();
        }
    }

    assert_eq!(client.closed_with(), None);
    assert!(client.session.is_tls() && client.session.is_authenticated());
    let outcomes: Vec<Outcome> = client
        .events
        .iter()
        .filter_map(|ev| match ev {
            Ev::Sent(outcome) => Some(outcome.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(outcomes.len(), 2);
    assert_eq!(codes(&outcomes[0]), [250, 550, 250]);
    assert_eq!(codes(&outcomes[1]), [250]);
    let body = b"Subject: hello\r\n\r\n.leading dot\r\nlast line\r\n".to_vec();
    assert_eq!(
        server.taken,
        [
            (
                "alice@example.org".to_owned(),
                vec!["bob@example.net".to_owned(), "carol@example.net".to_owned()],
                body.clone(),
            ),
            (
                "alice@example.org".to_owned(),
                vec!["dave@example.net".to_owned()],
                body,
            ),
        ]
    );
}
