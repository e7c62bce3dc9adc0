//! What each command does to the session: state checks, what needs no engine, and the
//! responses.

use proto_core::sasl::{Exchange, Mechanism, Names};

use super::{Operation, Pending, ServerSession, State};
use crate::Command;
use crate::reply::{self, Code, Status};

/// The SASL mechanisms offered: PLAIN, which every client speaks, and LOGIN for the old
/// ones.
const MECHANISMS: &[Mechanism] = &[Mechanism::Plain, Mechanism::Login];

impl ServerSession {
    /// Carries out a command.
    pub(super) fn handle_command(&mut self, command: Command) {
        let authenticated = matches!(self.state, State::Authenticated { .. });
        let operation = match command {
            Command::Capability => {
                self.capabilities();
                return self.respond(Status::Ok, None, "Capability completed");
            }
            Command::Noop { tag: Some(tag) } => {
                return reply::ok_tagged(self.common.out(), &tag, "Done");
            }
            Command::Noop { tag: None } => return self.respond(Status::Ok, None, "Done"),
            Command::Logout => {
                self.respond(Status::Ok, None, "Logout completed");
                return self.close();
            }
            Command::StartTls => return self.start_tls(),
            Command::Authenticate { .. } if authenticated => {
                return self.error(None, "Already authenticated");
            }
            Command::Authenticate { mechanism, initial } => {
                return self.authenticate(&mechanism, initial.as_deref());
            }
            _ if !authenticated => return self.error(None, "Authenticate first"),
            Command::ListScripts => Operation::List,
            Command::GetScript { name } => Operation::Get(name),
            Command::PutScript { name, script } => Operation::Put { name, script },
            Command::CheckScript { script } => Operation::Check(script),
            Command::SetActive { name } => Operation::Activate(name),
            Command::DeleteScript { name } => Operation::Delete(name),
            Command::RenameScript { from, to } => Operation::Rename { from, to },
            Command::HaveSpace { size, .. } if size > self.max_script_size() => {
                let text = format!(
                    "Script too large: {} octets at most",
                    self.config.max_script_size
                );
                return self.respond(Status::No, Some(Code::QuotaMaxSize), &text);
            }
            Command::HaveSpace { name, size } => Operation::HaveSpace { name, size },
        };
        self.common.ask(Pending::Operation(operation));
    }

    /// The capability lines (RFC 5804 §1.7), without the `OK` after them.
    pub(super) fn capabilities(&mut self) {
        let login = self.login_allowed();
        let starttls = self.config.starttls && !self.common.is_tls();
        let config = &*self.config;
        let user = match &self.state {
            State::Authenticated { user } => Some(user.as_str()),
            State::NotAuthenticated => None,
        };
        let out = self.common.out();
        let implementation = &config.implementation;
        reply::capability(
            out,
            "IMPLEMENTATION",
            Some(format_args!("{implementation}")),
        );
        // With no mechanism usable yet, the list is empty (RFC 5804 §1.7).
        let mechanisms: &[Mechanism] = if login { MECHANISMS } else { &[] };
        reply::capability(out, "SASL", Some(format_args!("{}", Names(mechanisms))));
        reply::capability(out, "SIEVE", Some(format_args!("{}", config.extensions)));
        if starttls {
            reply::capability(out, "STARTTLS", None);
        }
        if let Some(redirects) = config.max_redirects {
            reply::capability(out, "MAXREDIRECTS", Some(format_args!("{redirects}")));
        }
        if let Some(user) = user {
            reply::capability(out, "OWNER", Some(format_args!("{user}")));
        }
        reply::capability(out, "VERSION", Some(format_args!("1.0")));
    }

    fn start_tls(&mut self) {
        if self.common.is_tls() {
            return self.error(None, "TLS is already active");
        }
        if !self.config.starttls {
            return self.error(None, "STARTTLS is not available");
        }
        if matches!(self.state, State::Authenticated { .. }) {
            return self.error(None, "STARTTLS comes before logging in");
        }
        self.respond(Status::Ok, None, "Begin TLS negotiation now");
        self.common.start_tls();
    }

    fn authenticate(&mut self, mechanism: &str, initial: Option<&str>) {
        if !self.login_allowed() {
            return self.error(
                Some(Code::EncryptNeeded),
                "Authentication needs TLS: use STARTTLS",
            );
        }
        let Some(mechanism) = Mechanism::from_name(mechanism).filter(|m| MECHANISMS.contains(m))
        else {
            return self.error(None, "Unsupported authentication mechanism");
        };
        self.sasl(Exchange::start(mechanism, initial.map(str::as_bytes)));
    }

    /// Whether `AUTHENTICATE` may be used now: under TLS, or where cleartext logins are
    /// allowed; and not once logged in.
    fn login_allowed(&self) -> bool {
        matches!(self.state, State::NotAuthenticated)
            && (self.common.is_tls() || self.config.auth_without_tls)
    }

    fn max_script_size(&self) -> u64 {
        u64::try_from(self.config.max_script_size).unwrap_or(u64::MAX)
    }
}
