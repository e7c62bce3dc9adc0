//! The web pages people use: the admin panel under `/admin/` (administrator accounts,
//! only from `[http] admin_networks`) and each user's own page under `/account/`. Pages
//! are server-rendered HTML that works without JavaScript; a log-in starts a session held
//! in an `HttpOnly`, `SameSite=Strict` cookie (`Secure` over HTTPS), and every form carries
//! the session's CSRF token. Every change goes through the same engine calls as the CLI and
//! into the audit log under the administrator's address.
//!
//! Logging in is the one step that waits on the engine's login checks (throttling, bans,
//! argon2 off the async threads), so the HTTP driver runs it ([`LoginForm`],
//! [`logged_in`]); every other request is answered by [`answer`] on the blocking pool.

mod account;
mod admin;
mod html;
mod outbox;
pub mod second_factor;
pub mod sessions;
mod snooze;
#[cfg(test)]
mod tests;
mod webhooks;

use std::net::IpAddr;

use proto_dav::{Head, Method, Response};

use crate::Engine;
use crate::mail::date::unix_now;
use crate::store::{Account, Store};
use sessions::{Session, same_secret};

/// The session cookie's name.
const COOKIE: &str = "postern_session";

/// Form bodies are small: the largest form holds an address, two passwords and a token.
pub const MAX_FORM: u64 = 16 * 1024;

/// What the pages keep in memory.
#[derive(Default)]
pub struct PanelState {
    pub sessions: sessions::Sessions,
    pub codes: second_factor::Codes,
}

/// Which pages: the admin panel or a user's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    Admin,
    Account,
}

impl Area {
    /// The area of `path`, if it is in one.
    pub fn of(path: &str) -> Option<Area> {
        if path == "/admin" || path.starts_with("/admin/") {
            Some(Area::Admin)
        } else if path == "/account" || path.starts_with("/account/") {
            Some(Area::Account)
        } else {
            None
        }
    }

    fn root(self) -> &'static str {
        match self {
            Area::Admin => "/admin/",
            Area::Account => "/account/",
        }
    }

    fn login(self) -> String {
        format!("{}login", self.root())
    }
}

/// Whether `head` is the POST of a login form.
pub fn is_login(head: &Head, area: Area) -> bool {
    head.method == Method::Post && head.path() == area.login()
}

/// Who sends a request: its address, and whether the connection is TLS (cookies are then
/// set `Secure`).
#[derive(Clone, Copy, Debug)]
pub struct Client {
    pub ip: IpAddr,
    pub secure: bool,
}

/// What a login form sent.
pub struct LoginForm {
    pub email: String,
    pub password: String,
    /// The one-time code, for accounts that use them.
    pub code: Option<String>,
}

impl LoginForm {
    pub fn parse(body: &[u8]) -> Option<LoginForm> {
        let field = |name: &str| {
            form_urlencoded::parse(body)
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.trim().to_string())
                .filter(|value| !value.is_empty())
        };
        Some(LoginForm {
            email: field("email")?,
            password: field("password")?,
            code: field("code"),
        })
    }
}

/// The response to a login form: the session started and the browser sent on, or the form
/// again with why not. `account` is who the engine's login checks let in, if anyone;
/// `code` the one-time code sent with the form.
pub fn logged_in<S: Store>(
    engine: &Engine<S>,
    area: Area,
    account: Option<&Account>,
    code: Option<&str>,
    client: Client,
) -> Response {
    let Some(account) = account else {
        return login_page(
            area,
            Some("Wrong address or password (or too many tries: wait a little)."),
        );
    };
    if area == Area::Admin && !account.admin {
        return login_page(area, Some("This account does not manage the server."));
    }
    if let Some(secret) = &account.totp {
        let checked = match code {
            Some(code) => engine
                .panel()
                .codes
                .check(&account.email, secret, code, unix_now()),
            None => Err(second_factor::Refusal::Wrong),
        };
        if let Err(refusal) = checked {
            let client_ip = Some(client.ip);
            engine.audit(
                "login-failed",
                &account.email,
                client_ip,
                "web: one-time code",
            );
            let why = match code {
                None => "Enter the one-time code from your authenticator app.",
                Some(_) => account::refused(refusal),
            };
            return login_page(area, Some(why));
        }
    }
    let Some(secret) = engine
        .panel()
        .sessions
        .start(&account.email, account.admin, unix_now())
    else {
        return html_response(
            500,
            html::page("Log in", &[], "<p>No randomness for a session.</p>"),
        );
    };
    tracing::info!(user = %account.email, area = ?area, "logged in to the web pages");
    let cookie = cookie(&secret, client.secure, sessions::LIFETIME);
    redirect(area.root()).header("Set-Cookie", cookie)
}

/// The response to any other request of `area`. Reads and writes the store: runs on the
/// blocking pool.
pub fn answer<S: Store>(
    engine: &Engine<S>,
    area: Area,
    head: &Head,
    body: &[u8],
    client: Client,
) -> Response {
    let path = head.path();
    if path == area.login() {
        return match head.method {
            Method::Get | Method::Head => login_page(area, None),
            _ => method_not_allowed("GET, POST"),
        };
    }
    let secret = session_cookie(head);
    let session = secret
        .as_deref()
        .and_then(|secret| engine.panel().sessions.get(secret, unix_now()));
    let Some(session) = session.filter(|s| area == Area::Account || s.admin) else {
        return redirect(&area.login());
    };
    let form = Form::new(head, body);
    if head.method == Method::Post {
        if !form.csrf_matches(&session) {
            return html_response(
                403,
                html::page(
                    "Refused",
                    &[],
                    "<p>This form has expired: go back and load the page again.</p>",
                ),
            );
        }
        if path == format!("{}logout", area.root()) {
            if let Some(secret) = secret {
                engine.panel().sessions.end(&secret);
            }
            let forget = cookie("", client.secure, 0);
            return redirect(&area.login()).header("Set-Cookie", forget);
        }
    }
    let page = Page {
        engine,
        session: &session,
        head,
        form,
        client,
    };
    match area {
        Area::Admin => admin::answer(&page),
        Area::Account => account::answer(&page),
    }
}

/// A request of a logged-in browser, being answered.
struct Page<'a, S: Store> {
    engine: &'a Engine<S>,
    session: &'a Session,
    head: &'a Head,
    form: Form,
    client: Client,
}

impl<S: Store> Page<'_, S> {
    /// The query parameter `key`.
    fn query(&self, key: &str) -> Option<String> {
        let query = self.head.query()?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    /// The result of the last form, shown at the top of a page.
    fn flash(&self) -> String {
        html::flash(
            self.query("note").as_deref(),
            self.query("error").as_deref(),
        )
    }

    /// A form of this session.
    fn form(&self, action: &str, fields: &str, button: &str) -> String {
        html::form(action, &self.session.csrf, fields, button, false)
    }

    /// A one-button form of this session, inline in a table.
    fn button(&self, action: &str, fields: &str, button: &str) -> String {
        html::form(action, &self.session.csrf, fields, button, true)
    }

    /// Writes a change to the audit log, under the logged-in address.
    fn audit(&self, change: &str) {
        let actor = self.session.email.as_str();
        self.engine
            .audit("admin", actor, Some(self.client.ip), change);
        tracing::info!(actor, change, "changed in the web pages");
    }
}

/// A form body, decoded.
struct Form(Vec<(String, String)>);

impl Form {
    fn new(head: &Head, body: &[u8]) -> Self {
        if head.method != Method::Post {
            return Form(Vec::new());
        }
        Form(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The field `name`, trimmed; `None` when absent or empty.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }

    fn csrf_matches(&self, session: &Session) -> bool {
        self.get("csrf")
            .is_some_and(|token| same_secret(token, &session.csrf))
    }
}

/// The session cookie's secret in the request's `Cookie` fields.
fn session_cookie(head: &Head) -> Option<String> {
    head.headers
        .iter()
        .filter(|(name, _)| name == "cookie")
        .flat_map(|(_, value)| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
}

/// The `Set-Cookie` value for `secret`; a `max_age` of 0 deletes the cookie.
fn cookie(secret: &str, secure: bool, max_age: i64) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={secret}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

fn login_page(area: Area, error: Option<&str>) -> Response {
    let title = match area {
        Area::Admin => "Postern administration",
        Area::Account => "Your Postern account",
    };
    let mut body = html::flash(None, error);
    // No session yet, so no CSRF token: SameSite=Strict keeps another site's form from
    // using a session, and a forged log-in gives the forger only their own.
    body.push_str(&format!(
        "<form method=\"post\" action=\"{}\">{}{}{}<button type=\"submit\">Log in</button></form>\n",
        area.login(),
        html::input("Address", "email", "email", true),
        html::input("Password", "password", "password", true),
        html::input("One-time code (if you use them)", "code", "text", false),
    ));
    html_response(
        if error.is_some() { 403 } else { 200 },
        html::page(title, &[], &body),
    )
}

fn html_response(status: u16, page: String) -> Response {
    Response::new(status)
        .header("Cache-Control", "no-store")
        .header("X-Frame-Options", "DENY")
        .header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
        .body("text/html; charset=utf-8", page.into_bytes())
}

/// `303 See Other` to `location`: the browser GETs it.
fn redirect(location: &str) -> Response {
    Response::new(303).header("Location", location)
}

/// Back to `path` with a note (or an error) to show.
fn back(path: &str, result: Result<String, String>) -> Response {
    let (key, text) = match &result {
        Ok(note) => ("note", note.as_str()),
        Err(error) => ("error", error.as_str()),
    };
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair(key, text)
        .finish();
    redirect(&format!("{path}?{query}"))
}

fn method_not_allowed(allow: &str) -> Response {
    html_response(
        405,
        html::page("Not here", &[], "<p>Method not allowed.</p>"),
    )
    .header("Allow", allow)
}

fn not_found() -> Response {
    html_response(404, html::page("Not found", &[], "<p>Nothing here.</p>"))
}
