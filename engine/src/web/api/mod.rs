//! The JSON API, `/api/v1/…`: what the CLI and the admin panel do, for scripts and other
//! programs, and sending mail (`/api/v1/send`), described by `docs/openapi.json`. Requests carry an API token
//! (`Authorization: Bearer pst_…`, made with `postern token create`): an admin token manages
//! the server, and only from `[http] admin_networks`; a user's token reaches that user's own
//! account. Every change goes through the same engine calls as the CLI and is written to the
//! audit log with the token's id as its actor.
//!
//! The token is checked before a body is read ([`authorize`]); bodies are JSON objects of at
//! most [`MAX_BODY`] bytes.

mod aliases;
mod directory;
mod messages;
mod operations;
mod outbox;
mod outgoing;
mod postmark;
mod screener;
mod send;
mod sieve;
mod snoozed;
#[cfg(test)]
mod tests;
mod vips;
mod webhooks;

use std::net::IpAddr;

use proto_dav::dav::href;
use proto_dav::{Head, Method, Response};
use serde_json::{Map, Value, json};

use crate::directory::tokens::token_id;
use crate::metrics::LoginResult;
use crate::store::{Account, Store, StoreError, TokenScope};
use crate::{Engine, Error};

/// Where the API starts.
pub const PREFIX: &str = "/api/v1/";

/// The largest request body: a user with a long password fits many times over.
pub const MAX_BODY: u64 = 64 * 1024;

/// The largest body of a message sent through the API (`/api/v1/send`), attachments in
/// base64 included; larger mail goes over SMTP submission, which streams it.
pub const MAX_SEND_BODY: u64 = 10 * 1024 * 1024;

/// The largest body a request to `path` may carry.
pub fn max_body(path: &str) -> u64 {
    match path.strip_prefix(PREFIX) {
        Some(rest) if rest == "send" || rest.starts_with("send/") => MAX_SEND_BODY,
        _ if postmark::is_path(path) => MAX_SEND_BODY,
        _ => MAX_BODY,
    }
}

/// Whether `path` is the API's: under [`PREFIX`], or one of Postmark's.
pub fn is_api(path: &str) -> bool {
    path.starts_with(PREFIX) || postmark::is_path(path)
}

/// Who a request speaks for, once its token is checked.
#[derive(Clone, Debug)]
pub enum Caller {
    /// An admin token, by its id.
    Admin(String),
    /// A user's token: the user's account as it was then.
    User(Account),
}

impl Caller {
    /// The audit log's actor for what this caller changes.
    fn actor(&self) -> String {
        match self {
            Caller::Admin(id) => format!("api:{id}"),
            Caller::User(account) => account.email.clone(),
        }
    }
}

/// Checks the token of a request from `ip`: the caller, or the response refusing it. Reads
/// the store: runs on the blocking pool.
pub fn authorize<S: Store>(
    engine: &Engine<S>,
    head: &Head,
    ip: IpAddr,
) -> Result<Caller, Response> {
    if postmark::is_path(head.path()) {
        let Some(secret) = head.header(postmark::TOKEN_HEADER).map(str::trim) else {
            let message = "send a user's API token in X-Postmark-Server-Token";
            return Err(postmark::unauthorized(message));
        };
        return caller(engine, secret, ip).map_err(TokenRefusal::postmark);
    }
    let secret = head
        .header("authorization")
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, secret)| secret.trim());
    // RFC 6750 §3: no error code when no token came; `invalid_token` for a bad one.
    let Some(secret) = secret else {
        return Err(unauthorized(
            None,
            "send an API token: Authorization: Bearer pst_…",
        ));
    };
    caller(engine, secret, ip).map_err(TokenRefusal::bearer)
}

/// Why a token was refused, worded by the API it came to.
enum TokenRefusal {
    Invalid(&'static str),
    /// An admin token from outside `[http] admin_networks`.
    NotFromHere,
    Storage(StoreError),
}

impl TokenRefusal {
    fn bearer(self) -> Response {
        match self {
            TokenRefusal::Invalid(message) => unauthorized(Some("invalid_token"), message),
            TokenRefusal::NotFromHere => problem(403, ADMIN_NETWORKS_ONLY),
            TokenRefusal::Storage(e) => storage_error(&e),
        }
    }

    fn postmark(self) -> Response {
        match self {
            TokenRefusal::Invalid(message) => postmark::unauthorized(message),
            TokenRefusal::NotFromHere => postmark::unauthorized(ADMIN_NETWORKS_ONLY),
            TokenRefusal::Storage(e) => storage_error(&e),
        }
    }
}

const ADMIN_NETWORKS_ONLY: &str = "admin tokens are accepted only from [http] admin_networks";

/// Who the token `secret`, sent from `ip`, speaks for.
fn caller<S: Store>(engine: &Engine<S>, secret: &str, ip: IpAddr) -> Result<Caller, TokenRefusal> {
    let token = engine.token_for(secret).map_err(TokenRefusal::Storage)?;
    let Some(token) = token else {
        engine.metrics().login("api", LoginResult::Failure);
        tracing::warn!(%ip, "API request with an unknown or revoked token");
        return Err(TokenRefusal::Invalid(
            "this token is not valid (revoked, or its user is gone)",
        ));
    };
    engine.metrics().login("api", LoginResult::Success);
    match token.scope {
        TokenScope::Admin if engine.web().admits(ip) => Ok(Caller::Admin(token_id(&token))),
        TokenScope::Admin => Err(TokenRefusal::NotFromHere),
        TokenScope::User(email) => match engine.store().account(&email) {
            Ok(Some(account)) => Ok(Caller::User(account)),
            Ok(None) => Err(TokenRefusal::Invalid("this token's user is gone")),
            Err(e) => Err(TokenRefusal::Storage(e)),
        },
    }
}

/// The response to an authorized request. Reads and writes the store: runs on the blocking
/// pool.
pub fn answer<S: Store>(
    engine: &Engine<S>,
    caller: &Caller,
    head: &Head,
    body: &[u8],
    ip: IpAddr,
) -> Response {
    let path = head.path();
    let call = Call {
        engine,
        caller,
        head,
        body,
        ip,
    };
    if postmark::is_path(path) {
        return match caller {
            Caller::User(account) => postmark::answer(&call, account),
            Caller::Admin(_) => {
                postmark::unauthorized("mail is sent with a user's token: it goes from that user")
            }
        };
    }
    let Some(segments) = path
        .strip_prefix(PREFIX.trim_end_matches('/'))
        .and_then(href::segments)
    else {
        return problem(404, "no such resource");
    };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let result = match (segments.first(), caller) {
        (Some(&"me"), _) => directory::me(&call, segments.get(1..).unwrap_or_default()),
        (Some(&"send"), Caller::User(account)) => {
            send::send(&call, account, segments.get(1..).unwrap_or_default())
        }
        (Some(&"send"), Caller::Admin(_)) => Err(problem(
            403,
            "mail is sent with a user's token: it goes from that user",
        )),
        (_, Caller::User(_)) => Err(problem(403, "a user's token reaches only /api/v1/me")
            .header("WWW-Authenticate", challenge(Some("insufficient_scope")))),
        (Some(&("domains" | "users" | "aliases" | "dkim")), Caller::Admin(_)) => {
            directory::admin(&call, &segments)
        }
        (Some(&("queue" | "bans" | "audit")), Caller::Admin(_)) => {
            operations::admin(&call, &segments)
        }
        (Some(&"webhooks"), Caller::Admin(_)) => webhooks::admin(&call, &segments),
        _ => Err(problem(404, "no such resource")),
    };
    result.unwrap_or_else(|response| response)
}

/// A request being answered.
struct Call<'a, S: Store> {
    engine: &'a Engine<S>,
    caller: &'a Caller,
    head: &'a Head,
    body: &'a [u8],
    ip: IpAddr,
}

/// A handler's result: the response, or the error response.
type Answer = Result<Response, Response>;

impl<S: Store> Call<'_, S> {
    fn method(&self) -> &Method {
        &self.head.method
    }

    /// The body as a JSON object.
    fn object(&self) -> Result<Map<String, Value>, Response> {
        match serde_json::from_slice(self.body) {
            Ok(Value::Object(object)) => Ok(object),
            Ok(_) => Err(problem(400, "the body must be a JSON object")),
            Err(e) => Err(problem(400, &format!("the body is not JSON: {e}"))),
        }
    }

    /// The query parameter `key`, decoded.
    fn query(&self, key: &str) -> Option<String> {
        let query = self.head.query()?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    /// Writes a change to the audit log.
    fn audit(&self, change: &str) {
        let actor = self.caller.actor();
        self.engine.audit("admin", &actor, Some(self.ip), change);
        tracing::info!(actor, change, "changed through the API");
    }
}

/// A required string member of `object`.
fn text<'a>(object: &'a Map<String, Value>, key: &str) -> Result<&'a str, Response> {
    object
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| problem(400, &format!("\"{key}\" must be a string")))
}

/// An optional member of `object` of the type `read` takes; `Ok(None)` when absent.
fn optional<'a, T>(
    object: &'a Map<String, Value>,
    key: &str,
    read: impl Fn(&'a Value) -> Option<T>,
    what: &str,
) -> Result<Option<T>, Response> {
    match object.get(key) {
        None => Ok(None),
        Some(value) => read(value)
            .map(Some)
            .ok_or_else(|| problem(400, &format!("\"{key}\" must be {what}"))),
    }
}

/// A JSON response.
fn json_response(status: u16, value: &Value) -> Response {
    let mut bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.push(b'\n');
    Response::new(status).body("application/json", bytes)
}

/// An error, as `{"error": "…"}`.
fn problem(status: u16, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

fn unauthorized(error: Option<&str>, message: &str) -> Response {
    problem(401, message).header("WWW-Authenticate", challenge(error))
}

/// The `Bearer` challenge (RFC 6750 §3), with an error code when there is one.
fn challenge(error: Option<&str>) -> String {
    match error {
        Some(error) => format!("Bearer realm=\"Postern\", error=\"{error}\""),
        None => "Bearer realm=\"Postern\"".to_string(),
    }
}

fn no_content() -> Response {
    Response::new(204)
}

fn storage_error(error: &StoreError) -> Response {
    tracing::error!(%error, "API request failed in storage");
    match error {
        StoreError::Full(_) => problem(507, "the server's disk is full"),
        _ => problem(500, "storage error"),
    }
}

/// The response for an engine error: the caller's mistake says what it was; a storage
/// failure is logged and only named.
fn failed(error: Error) -> Response {
    match error {
        Error::Invalid(message) => problem(422, &message),
        Error::Store(StoreError::NotFound(what)) => problem(404, &format!("{what} does not exist")),
        Error::Store(e @ (StoreError::AlreadyExists(_) | StoreError::InUse(_))) => {
            problem(409, &e.to_string())
        }
        Error::Store(e @ StoreError::NoSuchDomain(_)) => problem(422, &e.to_string()),
        Error::Store(e) => storage_error(&e),
    }
}

fn method_not_allowed(allow: &str) -> Response {
    problem(405, "method not allowed here").header("Allow", allow)
}
