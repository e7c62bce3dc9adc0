//! Drives one ManageSieve session (RFC 5804) over a [`Connection`]: logins through the
//! engine's login checks, and the user's scripts read and changed in the store, each change
//! checked as the other ways of storing a script check it ([`crate::sieve`]) and logged.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use proto_core::sasl::Credentials;
use proto_core::session::{Peer, Session};
use proto_managesieve::{Action, Answer, Code, Refusal, Request, ServerConfig, ServerSession};

use crate::Engine;
use crate::directory::{LoginClient, log_in};
use crate::driver::{Protocol, Turn, drive};
use crate::io::{Connection, Executor, Reader};
use crate::sieve::{Unfit, check_name, check_script};
use crate::store::{AccountId, Store, StoreError};

/// The settings of a ManageSieve listener for `hostname`: what its sessions say of the
/// scripts this server runs (the extensions, the redirects a run makes) and takes (their
/// size). STARTTLS and cleartext logins are the listener's to set.
pub fn session_config(hostname: &str) -> ServerConfig {
    let mut config = ServerConfig::new(hostname);
    config.extensions = proto_sieve::EXTENSIONS.join(" ");
    config.max_redirects = u32::try_from(proto_sieve::MAX_REDIRECTS).ok();
    config.max_script_size = proto_sieve::MAX_SCRIPT;
    config
}

/// Serves one ManageSieve connection until LOGOUT, a timeout, or the client going away.
pub fn serve<S, C, E>(
    engine: Arc<Engine<S>>,
    executor: E,
    config: Arc<ServerConfig>,
    peer: Peer,
    conn: &mut C,
) -> impl Future<Output = io::Result<()>> + Send
where
    S: Store,
    C: Connection,
    E: Executor,
{
    let sieve = ManageSieve {
        session: ServerSession::new(config, peer, Instant::now()),
        engine,
        executor,
        account: None,
    };
    drive(sieve, conn)
}

/// A ManageSieve connection's part of the driving loop.
struct ManageSieve<S: Store, E> {
    engine: Arc<Engine<S>>,
    executor: E,
    session: ServerSession,
    /// The account and its address, once logged in.
    account: Option<(AccountId, String)>,
}

/// An action of the session that needs an await: a login, or a change to the scripts,
/// copied out of the session.
enum Step {
    Login(Credentials),
    Scripts(Operation),
}

/// What the user asked done to their scripts, owned.
enum Operation {
    List,
    Get(String),
    Put { name: String, script: String },
    Check(String),
    Activate(Option<String>),
    Delete(String),
    Rename { from: String, to: String },
    HaveSpace { name: String, size: u64 },
}

impl From<Request<'_>> for Operation {
    fn from(request: Request<'_>) -> Self {
        match request {
            Request::List => Operation::List,
            Request::Get { name } => Operation::Get(name.into()),
            Request::Put { name, script } => Operation::Put {
                name: name.into(),
                script: script.into(),
            },
            Request::Check { script } => Operation::Check(script.into()),
            Request::Activate { name } => Operation::Activate(name.map(str::to_string)),
            Request::Delete { name } => Operation::Delete(name.into()),
            Request::Rename { from, to } => Operation::Rename {
                from: from.into(),
                to: to.into(),
            },
            Request::HaveSpace { name, size } => Operation::HaveSpace {
                name: name.into(),
                size,
            },
        }
    }
}

impl<S: Store, E: Executor, C: Connection> Protocol<C> for ManageSieve<S, E> {
    type Session = ServerSession;
    type Step = Step;

    fn session(&mut self) -> &mut ServerSession {
        &mut self.session
    }

    fn next(&mut self, out: &mut Vec<u8>) -> Option<Turn<Step>> {
        loop {
            return Some(Turn::Step(match self.session.poll_action()? {
                Action::Send(bytes) => {
                    out.extend_from_slice(bytes);
                    continue;
                }
                Action::StartTls => return Some(Turn::StartTls),
                Action::Close => return Some(Turn::Close),
                Action::Login(credentials) => Step::Login(credentials.clone()),
                Action::Request(request) => Step::Scripts(request.into()),
            }));
        }
    }

    async fn act(&mut self, step: Step, _: &mut C, _: &mut Vec<u8>) -> io::Result<()> {
        match step {
            Step::Login(credentials) => {
                let client = LoginClient {
                    ip: self.session.peer().ip(),
                    protocol: "managesieve",
                };
                let result = log_in(&self.engine, &self.executor, credentials, client).await;
                let verdict =
                    result.map(|account| self.account = Some((account.id, account.email)));
                self.session.login_result(verdict, Instant::now());
            }
            Step::Scripts(operation) => {
                let answer = match self.account.clone() {
                    Some(account) => {
                        let engine = self.engine.clone();
                        self.executor
                            .unblock(move || carry_out(&engine, &account, operation))
                            .await
                    }
                    None => Err(Refusal::new(None, "Authenticate first")),
                };
                self.session.answer(answer, Instant::now());
            }
        }
        Ok(())
    }

    async fn wait(
        &mut self,
        conn: &mut C,
        reader: &mut Reader,
        _: &mut Vec<u8>,
    ) -> io::Result<bool> {
        reader.turn(conn, &mut self.session).await
    }
}

/// Carries out one operation on the scripts of `account`, whose address is `user`, on the
/// blocking pool; a change is logged with the address and the script's name.
fn carry_out<S: Store>(
    engine: &Engine<S>,
    (account, user): &(AccountId, String),
    operation: Operation,
) -> Result<Answer, Refusal> {
    let (store, account, user) = (engine.store(), *account, user.as_str());
    let answer = match operation {
        Operation::List => {
            let scripts = store.sieve_scripts(account).map_err(|e| unavailable(&e))?;
            Answer::Scripts(scripts.into_iter().map(|s| (s.name, s.active)).collect())
        }
        Operation::Get(name) => {
            let scripts = store.sieve_scripts(account).map_err(|e| unavailable(&e))?;
            let script = scripts.into_iter().find(|s| s.name == name);
            Answer::Script(script.ok_or_else(|| nonexistent(&name))?.source)
        }
        Operation::Put { name, script } => {
            engine
                .store_sieve_script(account, &name, &script)
                .map_err(refusal)?;
            tracing::info!(user, script = name, "Sieve script stored over ManageSieve");
            Answer::Done
        }
        Operation::Check(script) => {
            check_script(&script).map_err(refusal)?;
            Answer::Done
        }
        Operation::Activate(name) => {
            match store.activate_sieve_script(account, name.as_deref()) {
                Ok(()) => {}
                Err(StoreError::NotFound(_)) => {
                    return Err(nonexistent(name.as_deref().unwrap_or_default()));
                }
                Err(e) => return Err(unavailable(&e)),
            }
            let script = name.as_deref().unwrap_or("");
            tracing::info!(user, script, "Sieve script made active over ManageSieve");
            Answer::Done
        }
        Operation::Delete(name) => {
            let scripts = store.sieve_scripts(account).map_err(|e| unavailable(&e))?;
            match scripts.iter().find(|s| s.name == name) {
                None => return Err(nonexistent(&name)),
                // RFC 5804 §2.10: the active script is not removed.
                Some(script) if script.active => {
                    return Err(Refusal::new(
                        Some(Code::Active),
                        "The active script cannot be deleted: make another active first",
                    ));
                }
                Some(_) => {}
            }
            if !store
                .remove_sieve_script(account, &name)
                .map_err(|e| unavailable(&e))?
            {
                return Err(nonexistent(&name));
            }
            tracing::info!(user, script = name, "Sieve script removed over ManageSieve");
            Answer::Done
        }
        Operation::Rename { from, to } => {
            check_name(&to).map_err(refusal)?;
            match store.rename_sieve_script(account, &from, &to) {
                Ok(()) => {}
                Err(StoreError::NotFound(_)) => return Err(nonexistent(&from)),
                Err(StoreError::AlreadyExists(_)) => {
                    return Err(Refusal::new(
                        Some(Code::AlreadyExists),
                        format!("There is a script named {to} already"),
                    ));
                }
                Err(e) => return Err(unavailable(&e)),
            }
            tracing::info!(
                user,
                script = from,
                to,
                "Sieve script renamed over ManageSieve"
            );
            Answer::Done
        }
        Operation::HaveSpace { name, size } => {
            engine.sieve_room(account, &name, size).map_err(refusal)?;
            Answer::Done
        }
    };
    Ok(answer)
}

/// A script or name refused, in ManageSieve's words (RFC 5804 §1.3 response codes).
fn refusal(unfit: Unfit) -> Refusal {
    let code = match &unfit {
        Unfit::TooLarge => Some(Code::QuotaMaxSize),
        Unfit::TooMany => Some(Code::QuotaMaxScripts),
        Unfit::Store(e) => return unavailable(e),
        Unfit::Name(_) | Unfit::Invalid(_) => None,
    };
    Refusal::new(code, capitalized(&unfit.to_string()))
}

fn nonexistent(name: &str) -> Refusal {
    Refusal::new(
        Some(Code::Nonexistent),
        format!("There is no script named {name}"),
    )
}

/// Storage trouble: logged, and the client told to try again (no internal detail).
fn unavailable(e: &StoreError) -> Refusal {
    tracing::error!(error = %e, "ManageSieve: storage failed");
    Refusal::new(Some(Code::TryLater), "Storage unavailable, try again later")
}

/// A sentence with its first letter in capitals, as responses are written.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
