//! What each command does to the session: state checks, policy checks that
//! need no engine, and the responses.

use proto_core::sasl::{Credentials, Exchange, Mechanism, Names};

use super::{Pending, Phase, Retrieval, ServerSession, State, maildrop_summary};
use crate::Command;
use crate::maildrop::Missing;
use crate::reply::{self, RespCode};
use crate::transfer::Transfer;

/// Capabilities listed in both states (RFC 2449 6).
const CAPABILITIES: &[&str] = &["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"];

/// The SASL mechanisms offered: PLAIN, the only one worth offering once TLS
/// protects the connection.
const MECHANISMS: &[Mechanism] = &[Mechanism::Plain];

impl ServerSession {
    /// Carries out a command; `user` is the name given by a `USER` command
    /// right before, which only `PASS` uses.
    pub(super) fn handle_command(&mut self, command: Command<'_>, user: Option<String>) {
        let authorization = matches!(self.state, State::Authorization { .. });
        match command {
            Command::Capa => self.capa(),
            Command::Quit => self.quit(),
            Command::User(name) if authorization => self.user_command(name),
            Command::Pass(password) if authorization => self.pass(user, password),
            Command::AuthList if authorization => self.auth_list(),
            Command::Auth { mechanism, initial } if authorization => self.auth(mechanism, initial),
            Command::Stls if authorization => self.stls(),
            Command::Stls if self.common.is_tls() => {
                self.error(None, "Command not permitted when TLS active")
            }
            Command::User(_)
            | Command::Pass(_)
            | Command::AuthList
            | Command::Auth { .. }
            | Command::Stls => self.error(None, "Command not valid in this state"),
            _ if authorization => self.error(None, "Command not valid in this state"),
            command => self.transaction(command),
        }
    }

    fn capa(&mut self) {
        let authorization = matches!(self.state, State::Authorization { .. });
        let login = authorization && self.login_allowed();
        let stls = authorization && self.config.stls && !self.common.is_tls();
        let config = &*self.config;
        let out = self.common.out();
        reply::ok(out, format_args!("Capability list follows"));
        for capability in CAPABILITIES {
            reply::line(out, format_args!("{capability}"));
        }
        if login {
            reply::line(out, format_args!("USER"));
            reply::line(out, format_args!("SASL {}", Names(MECHANISMS)));
        }
        if stls {
            reply::line(out, format_args!("STLS"));
        }
        if let Some(expire) = &config.expire {
            reply::line(out, format_args!("EXPIRE {expire}"));
        }
        if let Some(delay) = config.login_delay {
            reply::line(out, format_args!("LOGIN-DELAY {delay}"));
        }
        if let Some(implementation) = &config.implementation {
            reply::line(out, format_args!("IMPLEMENTATION {implementation}"));
        }
        reply::end(out);
    }

    /// `QUIT`: from AUTHORIZATION straight out; from TRANSACTION through the
    /// UPDATE state, which the runtime carries out.
    fn quit(&mut self) {
        match &self.state {
            State::Authorization { .. } => {
                let host = &self.config.hostname;
                reply::ok(
                    self.common.out(),
                    format_args!("{host} POP3 server signing off"),
                );
                self.close();
            }
            State::Transaction { mailbox, .. } => {
                let deleted = mailbox.deleted();
                self.common.ask(Pending::Update(deleted));
            }
        }
    }

    fn user_command(&mut self, name: &str) {
        if self.refuse_cleartext() {
            return;
        }
        // Any name is accepted: refusing unknown ones would reveal which exist.
        self.state = State::Authorization {
            user: Some(name.to_owned()),
        };
        self.ok("send PASS");
    }

    fn pass(&mut self, user: Option<String>, password: &str) {
        match user {
            Some(username) => self.common.ask(Pending::Login(Credentials::new(
                username,
                password.to_owned(),
            ))),
            None => self.error(None, "PASS must follow USER"),
        }
    }

    /// `AUTH` alone lists the mechanisms: older than `CAPA` and not in RFC
    /// 5034, but some clients (Outlook) still ask. The list is empty while
    /// logins are refused.
    fn auth_list(&mut self) {
        let allowed = self.login_allowed();
        let out = self.common.out();
        reply::ok(out, format_args!(""));
        if allowed {
            for mechanism in MECHANISMS {
                reply::line(out, format_args!("{mechanism}"));
            }
        }
        reply::end(out);
    }

    fn auth(&mut self, mechanism: &str, initial: Option<&str>) {
        if self.refuse_cleartext() {
            return;
        }
        match Mechanism::from_name(mechanism).filter(|m| MECHANISMS.contains(m)) {
            Some(mechanism) => self.sasl(Exchange::start(mechanism, initial.map(str::as_bytes))),
            None => self.error(None, "Unsupported authentication mechanism"),
        }
    }

    fn stls(&mut self) {
        if self.common.is_tls() {
            self.error(None, "Command not permitted when TLS active");
        } else if !self.config.stls {
            self.err(None, "STLS not available");
        } else {
            self.ok("Begin TLS negotiation");
            self.common.start_tls();
        }
    }

    /// The commands of the TRANSACTION state.
    fn transaction(&mut self, command: Command<'_>) {
        let State::Transaction { mailbox, .. } = &mut self.state else {
            return;
        };
        let out = self.common.out();
        match command {
            Command::Stat => {
                let (count, size) = mailbox.stat();
                reply::ok(out, format_args!("{count} {size}"));
            }
            Command::List(None) => {
                let (count, size) = mailbox.stat();
                reply::ok(out, format_args!("{count} messages ({size} octets)"));
                self.phase = Phase::Listing {
                    uidl: false,
                    next: 0,
                };
            }
            Command::Uidl(None) => {
                reply::ok(out, format_args!("unique-id listing follows"));
                self.phase = Phase::Listing {
                    uidl: true,
                    next: 0,
                };
            }
            Command::List(Some(msg)) => match mailbox.find(msg) {
                Ok((_, entry)) => reply::ok(out, format_args!("{msg} {}", entry.size)),
                Err(missing) => missing_message(out, msg, missing),
            },
            Command::Uidl(Some(msg)) => match mailbox.find(msg) {
                Ok((_, entry)) => reply::ok(out, format_args!("{msg} {}", entry.uid)),
                Err(missing) => missing_message(out, msg, missing),
            },
            Command::Dele(msg) => match mailbox.find(msg) {
                Ok((index, _)) => {
                    mailbox.delete(index);
                    reply::ok(out, format_args!("message {msg} deleted"));
                }
                Err(missing) => missing_message(out, msg, missing),
            },
            Command::Retr(msg) => self.retrieve(msg, None),
            Command::Top { msg, lines } => self.retrieve(msg, Some(lines)),
            Command::Noop => reply::ok(out, format_args!("")),
            Command::Rset => {
                mailbox.reset();
                maildrop_summary(out, mailbox);
            }
            // Handled by `handle_command`.
            Command::Capa
            | Command::Quit
            | Command::User(_)
            | Command::Pass(_)
            | Command::AuthList
            | Command::Auth { .. }
            | Command::Stls => {}
        }
    }

    /// `RETR` and `TOP`: ask the runtime for the message.
    fn retrieve(&mut self, msg: u64, top_lines: Option<u64>) {
        let State::Transaction { mailbox, .. } = &self.state else {
            return;
        };
        match mailbox.find(msg) {
            Ok((index, entry)) => {
                let retrieval = Retrieval {
                    index,
                    top_lines,
                    size: entry.size,
                    started: false,
                    transfer: Transfer::new(top_lines),
                };
                self.common.ask(Pending::Retrieve(retrieval));
            }
            Err(missing) => missing_message(self.common.out(), msg, missing),
        }
    }

    fn login_allowed(&self) -> bool {
        self.common.is_tls() || self.config.auth_without_tls
    }

    /// Refuses `USER` and `AUTH` where the password would cross in cleartext.
    fn refuse_cleartext(&mut self) -> bool {
        if self.login_allowed() {
            return false;
        }
        let hint = if self.config.stls { "; use STLS" } else { "" };
        reply::err(
            self.common.out(),
            Some(RespCode::Auth),
            format_args!("Plaintext authentication disallowed on non-secure connections{hint}"),
        );
        true
    }
}

fn missing_message(out: &mut Vec<u8>, msg: u64, missing: Missing) {
    match missing {
        Missing::NoSuchMessage => reply::err(out, None, format_args!("no such message")),
        Missing::Deleted => reply::err(out, None, format_args!("message {msg} already deleted")),
    }
}
