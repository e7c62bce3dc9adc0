//! Drives one HTTP/1.1 connection over a [`Connection`]: logs in the user of each
//! request's Basic credentials, routes the request ([`route`]), reads its body when the
//! route wants it, and answers on the blocking pool. This is the one HTTP stack of the
//! server: calendars and contacts under `/dav/`, and the pages of [`crate::web`], behind
//! the same routing.
//!
//! A request's body is read into memory only for a logged-in user, and only once its
//! route wants it. Bodies over [`LARGE_BODY`] (or of unknown length) take one of
//! [`MAX_LARGE_BODIES`] places first; without one the request gets `503` and
//! `Retry-After`, so many clients uploading at once cannot exhaust memory.

mod route;

use std::io;
use std::sync::Arc;
use std::time::Instant;

use proto_core::sasl::Credentials;
use proto_core::session::{Peer, Session};
use proto_dav::{Action, Head, Request, Response, ServerConfig, ServerSession};

use crate::Engine;
use crate::directory::{LoginClient, log_in};
use crate::driver::{Protocol, Turn, drive};
use crate::io::{Connection, Executor, Reader};
use crate::mail::date::{http_date, unix_now};
use crate::store::{Account, Store};
use crate::web::Page;
use crate::web::api::{self, Caller};
use crate::web::panel::{self, Area};
use route::{Route, busy, length_required, too_large};

/// A body this large, or chunked, needs a place among the large bodies.
pub const LARGE_BODY: u64 = 1024 * 1024;

/// Large bodies read at once, server-wide.
pub const MAX_LARGE_BODIES: usize = 8;

/// Serves one HTTP connection until the client closes it, a timeout, or shutdown.
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
    let http = Http {
        session: ServerSession::new(config.clone(), peer, Instant::now()),
        config,
        engine,
        executor,
        user: None,
        body: Vec::new(),
        large_body: None,
        api_caller: None,
    };
    drive(http, conn)
}

/// An HTTP connection's part of the driving loop.
struct Http<S: Store, E> {
    engine: Arc<Engine<S>>,
    executor: E,
    session: ServerSession,
    config: Arc<ServerConfig>,
    /// The account whose credentials were accepted last on this connection.
    user: Option<Account>,
    /// The body of the request being read.
    body: Vec<u8>,
    /// Its place among the large bodies, while it has one.
    large_body: Option<crate::slots::Slot>,
    /// Who an API request whose body is being read speaks for.
    api_caller: Option<Caller>,
}

/// An action of the session that needs an await.
enum Step {
    Login(Credentials),
    /// A request head arrived: route it.
    Head,
    /// Its body is in: answer it.
    End,
}

impl<S: Store, E: Executor, C: Connection> Protocol<C> for Http<S, E> {
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
                Action::Request(Request::Body(bytes)) => {
                    self.body.extend_from_slice(bytes);
                    continue;
                }
                Action::StartTls => return Some(Turn::StartTls),
                Action::Close => return Some(Turn::Close),
                Action::Login(credentials) => Step::Login(credentials.clone()),
                Action::Request(Request::Head(_)) => Step::Head,
                Action::Request(Request::End) => Step::End,
            }));
        }
    }

    async fn act(&mut self, step: Step, _: &mut C, _: &mut Vec<u8>) -> io::Result<()> {
        match step {
            Step::Login(credentials) => {
                let client = LoginClient {
                    ip: self.session.peer().ip(),
                    protocol: "http",
                };
                let result = log_in(&self.engine, &self.executor, credentials, client).await;
                let verdict = result.map(|account| self.user = Some(account));
                self.session.login_result(verdict, Instant::now());
            }
            Step::Head => {
                let Some(head) = self.session.head().cloned() else {
                    return Ok(());
                };
                self.body.clear();
                match route::route(&head, &self.asker(&head)) {
                    Route::Respond(response) => self.respond(&head, response),
                    Route::Web(page) if head.has_body() && page.takes_body() => {
                        self.session.read_body(Instant::now());
                    }
                    Route::Web(page) => self.page(head, page).await,
                    Route::Api => self.api_head(head).await,
                    Route::Panel(_) if head.has_body() => self.session.read_body(Instant::now()),
                    Route::Panel(area) => self.panel(head, area).await,
                    Route::Dav(_) if head.has_body() => {
                        if self.place_for_body(&head) {
                            self.session.read_body(Instant::now());
                        } else {
                            self.respond(&head, busy());
                        }
                    }
                    Route::Dav(account) => {
                        let account = account.clone();
                        self.answer(head, account).await;
                    }
                }
            }
            Step::End => {
                let Some(head) = self.session.head().cloned() else {
                    return Ok(());
                };
                match route::route(&head, &self.asker(&head)) {
                    Route::Dav(account) => {
                        let account = account.clone();
                        self.answer(head, account).await;
                    }
                    Route::Web(page) => self.page(head, page).await,
                    Route::Panel(area) => self.panel(head, area).await,
                    Route::Api => match self.api_caller.take() {
                        Some(caller) => self.api(head, caller).await,
                        None => self.respond(&head, Response::new(500)),
                    },
                    Route::Respond(response) => self.respond(&head, response),
                }
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

impl<S: Store, E: Executor> Http<S, E> {
    /// The account the request speaks for: the one logged in with its credentials.
    fn account(&self, head: &Head) -> Option<&Account> {
        let user = head.user.as_deref()?;
        self.user
            .as_ref()
            .filter(|account| account.email.eq_ignore_ascii_case(user))
    }

    /// Who sends `head`, for the router.
    fn asker(&self, head: &Head) -> route::Asker<'_> {
        route::Asker {
            account: self.account(head),
            ip: self.session.peer().ip(),
            realm: &self.config.realm,
            web: self.engine.web(),
            acme: self.engine.acme_challenges(),
        }
    }

    /// Whether the body of `head` may be read into memory now: a large one (or one of
    /// unknown length) takes a place among the large bodies, held until the response.
    fn place_for_body(&mut self, head: &Head) -> bool {
        let large = head.chunked
            || head
                .content_length
                .is_some_and(|length| length > LARGE_BODY);
        if !large {
            return true;
        }
        self.large_body = self.engine.try_read_large_body();
        self.large_body.is_some()
    }

    /// Answers a DAV request of `account` on the blocking pool.
    async fn answer(&mut self, head: Head, account: Account) {
        let body = std::mem::take(&mut self.body);
        let engine = self.engine.clone();
        let (head, response) = self
            .executor
            .unblock(move || {
                let response = crate::dav::handle(&engine, &account, &head, &body);
                (head, response)
            })
            .await;
        self.respond(&head, response);
    }

    /// Checks an API request's token (on the blocking pool), then reads its body or answers
    /// it: no body is read for a caller without a valid token.
    async fn api_head(&mut self, head: Head) {
        let engine = self.engine.clone();
        let ip = self.session.peer().ip();
        let (head, caller) = self
            .executor
            .unblock(move || {
                let caller = api::authorize(&engine, &head, ip);
                (head, caller)
            })
            .await;
        let caller = match caller {
            Ok(caller) => caller,
            Err(refusal) => return self.respond(&head, refusal),
        };
        if !head.has_body() {
            return self.api(head, caller).await;
        }
        match head.content_length {
            Some(length) if length <= api::max_body(head.path()) => {
                if self.place_for_body(&head) {
                    self.api_caller = Some(caller);
                    self.session.read_body(Instant::now());
                } else {
                    self.respond(&head, busy());
                }
            }
            Some(_) => self.respond(&head, too_large()),
            None => self.respond(&head, length_required()),
        }
    }

    /// Answers an API request of `caller` on the blocking pool.
    async fn api(&mut self, head: Head, caller: Caller) {
        let body = std::mem::take(&mut self.body);
        let engine = self.engine.clone();
        let ip = self.session.peer().ip();
        let (head, response) = self
            .executor
            .unblock(move || {
                let response = api::answer(&engine, &caller, &head, &body, ip);
                (head, response)
            })
            .await;
        self.respond(&head, response);
    }

    /// Answers a request of the admin panel or a user's pages: a login through the
    /// engine's login checks, anything else on the blocking pool.
    async fn panel(&mut self, head: Head, area: Area) {
        let body = std::mem::take(&mut self.body);
        let client = panel::Client {
            ip: self.session.peer().ip(),
            secure: self.session.is_tls(),
        };
        let engine = self.engine.clone();
        if panel::is_login(&head, area) {
            let (account, code) = match panel::LoginForm::parse(&body) {
                Some(form) => {
                    let credentials = Credentials::new(form.email, form.password);
                    let login = LoginClient {
                        ip: client.ip,
                        protocol: "web",
                    };
                    let account = log_in(&engine, &self.executor, credentials, login).await;
                    (account.ok(), form.code)
                }
                None => (None, None),
            };
            // The one-time code's check may write to the audit log: off the async threads.
            let response = self
                .executor
                .unblock(move || {
                    panel::logged_in(&engine, area, account.as_ref(), code.as_deref(), client)
                })
                .await;
            return self.respond(&head, response);
        }
        let (head, response) = self
            .executor
            .unblock(move || {
                let response = panel::answer(&engine, area, &head, &body, client);
                (head, response)
            })
            .await;
        self.respond(&head, response);
    }

    /// Answers a request for a page of the web side on the blocking pool.
    async fn page(&mut self, head: Head, page: Page) {
        let body = std::mem::take(&mut self.body);
        let account = self.account(&head).cloned();
        let engine = self.engine.clone();
        let (head, response) = self
            .executor
            .unblock(move || {
                let response = crate::web::answer(&engine, &page, &head, &body, account.as_ref());
                (head, response)
            })
            .await;
        self.respond(&head, response);
    }

    /// Sends `response` (with the `Date` an origin server sends, RFC 9110 §6.6.1) and logs
    /// the exchange.
    fn respond(&mut self, head: &Head, response: Response) {
        let level_info = response.status >= 400
            || !matches!(
                head.method,
                proto_dav::Method::Get
                    | proto_dav::Method::Head
                    | proto_dav::Method::Options
                    | proto_dav::Method::Propfind
                    | proto_dav::Method::Report
            );
        let peer = self.session.peer();
        let user = head.user.as_deref().unwrap_or("-");
        if level_info {
            tracing::info!(%peer, user, method = head.method.as_str(), path = head.path(), status = response.status, "http");
        } else {
            tracing::debug!(%peer, user, method = head.method.as_str(), path = head.path(), status = response.status, "http");
        }
        let response = response.header("Date", http_date(unix_now()));
        self.large_body = None;
        self.session.respond(response, Instant::now());
    }
}
