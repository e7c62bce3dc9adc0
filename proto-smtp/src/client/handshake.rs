//! What comes before mail: the greeting, `EHLO` (or `HELO`), `STARTTLS` and
//! `AUTH`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use proto_core::sasl::Mechanism;

use super::{ClientSession, Expect, Extensions, Failure, Secret, Stage, Tls};
use crate::{Command, Reply};

/// The mechanisms we run, in the order we prefer them: PLAIN takes one
/// round trip, LOGIN (for servers that offer nothing else) two more.
const MECHANISMS: [Mechanism; 2] = [Mechanism::Plain, Mechanism::Login];

impl ClientSession {
    pub(super) fn greeting(&mut self, reply: Reply) {
        if reply.is_positive() {
            self.ehlo();
        } else {
            // A 554 greeting means "no SMTP service here"; the client should
            // still say QUIT (RFC 5321 3.1).
            self.fail(Failure::remote(Stage::Greeting, reply), true);
        }
    }

    pub(super) fn ehlo(&mut self) {
        Command::Ehlo(&self.config.hostname).encode(self.common.out());
        self.await_reply(Expect::Ehlo);
    }

    pub(super) fn ehlo_reply(&mut self, reply: Reply) {
        if reply.is_positive() {
            self.extensions = Extensions::parse(&reply.text);
            self.after_hello();
        } else if reply.code >= 500 {
            // An old server that knows no EHLO refuses it with 500, 502 or
            // 550 (RFC 5321 4.1.4): plain SMTP it is.
            Command::Helo(&self.config.hostname).encode(self.common.out());
            self.await_reply(Expect::Helo);
        } else {
            self.fail(Failure::remote(Stage::Ehlo, reply), true);
        }
    }

    pub(super) fn helo_reply(&mut self, reply: Reply) {
        if reply.is_positive() {
            self.extensions = Extensions::default();
            self.after_hello();
        } else {
            self.fail(Failure::remote(Stage::Helo, reply), true);
        }
    }

    /// The server greeted us: upgrade to TLS if we can and should, then
    /// authenticate.
    fn after_hello(&mut self) {
        let tls = self.config.tls;
        if self.common.is_tls() {
            self.authenticate();
        } else if self.extensions.starttls && tls != Tls::Never {
            Command::StartTls.encode(self.common.out());
            self.await_reply(Expect::StartTls);
        } else if tls == Tls::Required {
            let text = "TLS is required, but was not offered by the server";
            self.fail(Failure::temporary(Stage::StartTls, (4, 7, 4), text), true);
        } else {
            self.authenticate();
        }
    }

    pub(super) fn starttls_reply(&mut self, reply: Reply) {
        if reply.is_positive() {
            // Whatever came with the 220 came in cleartext, where anyone on
            // the path could have added it.
            self.common.input_mut().clear();
            self.common.start_tls();
        } else if self.config.tls == Tls::Required {
            let text = format!("TLS is required, but the server refused STARTTLS: {reply}");
            self.fail(Failure::temporary(Stage::StartTls, (4, 7, 4), text), true);
        } else {
            self.authenticate();
        }
    }

    /// Authenticates if the configuration has credentials, then is ready.
    fn authenticate(&mut self) {
        let Some(credentials) = &self.config.credentials else {
            return self.idle();
        };
        let offered = |m: &Mechanism| self.extensions.auth.contains(m);
        let mechanism = MECHANISMS
            .into_iter()
            .find(offered)
            .filter(|_| self.common.is_tls());
        let out = self.common.out();
        match mechanism {
            Some(Mechanism::Plain) => {
                let message = format!("\0{}\0{}", credentials.username(), credentials.password());
                write_auth(out, "PLAIN", Some(message.as_bytes()));
                self.await_reply(Expect::Auth { next: None });
            }
            Some(Mechanism::Login) => {
                write_auth(out, "LOGIN", None);
                let next = Some(Secret::Username);
                self.await_reply(Expect::Auth { next });
            }
            None => {
                let text = "Credentials are configured, but the server offers \
                            no PLAIN or LOGIN authentication over TLS";
                self.fail(Failure::temporary(Stage::Auth, (4, 7, 0), text), true);
            }
        }
    }

    /// The reply to `AUTH` or to one of our responses. A refusal ends the
    /// session: `535` permanently (the credentials are wrong for every
    /// message), `454` and other 4xx temporarily.
    pub(super) fn auth_reply(&mut self, next: Option<Secret>, reply: Reply) {
        let Some(credentials) = &self.config.credentials else {
            return self.unexpected(Stage::Auth, &reply);
        };
        match (reply.code, next) {
            (334, Some(secret)) => {
                let (value, next) = match secret {
                    Secret::Username => (credentials.username(), Some(Secret::Password)),
                    Secret::Password => (credentials.password(), None),
                };
                let out = self.common.out();
                out.extend_from_slice(BASE64.encode(value).as_bytes());
                out.extend_from_slice(b"\r\n");
                self.await_reply(Expect::Auth { next });
            }
            (300..400, _) => self.unexpected(Stage::Auth, &reply),
            _ if reply.is_positive() => {
                self.authenticated = true;
                self.idle();
            }
            _ => self.fail(Failure::remote(Stage::Auth, reply), true),
        }
    }
}

/// `AUTH mechanism [initial-response]` (RFC 4954 4); the response is sent
/// with the command, which saves PLAIN a round trip.
fn write_auth(out: &mut Vec<u8>, mechanism: &str, initial: Option<&[u8]>) {
    let initial = initial.map(|message| BASE64.encode(message));
    Command::Auth {
        mechanism,
        initial: initial.as_deref(),
    }
    .encode(out);
}
