//! Which part of the server answers a request, decided from its head alone: before its
//! body is read, and before anything is asked of storage.

use std::net::IpAddr;

use proto_dav::{Head, Method, Response};

use crate::dav::target::PREFIX;
use crate::store::Account;
use crate::web::panel::{Area, MAX_FORM};
use crate::web::{MAX_ANONYMOUS_BODY, Page, WebConfig};

/// Where a request goes.
pub(super) enum Route<'a> {
    /// Answered at once, without its body: a redirect, a refusal, nothing here.
    Respond(Response),
    /// Calendars and contacts, for this logged-in account.
    Dav(&'a Account),
    /// A page of the web side.
    Web(Page),
    /// The JSON API: its token is checked before anything else.
    Api,
    /// The admin panel or a user's own pages.
    Panel(Area),
}

/// Who asks, and what the web side allows.
pub(super) struct Asker<'a> {
    /// The account whose credentials came with the request, if any.
    pub account: Option<&'a Account>,
    pub ip: IpAddr,
    /// What Basic credentials are asked for in.
    pub realm: &'a str,
    pub web: &'a WebConfig,
    /// Answers to HTTP-01 challenges of a certificate order in progress.
    pub acme: &'a crate::acme::Challenges,
}

/// Routes a request.
pub(super) fn route<'a>(head: &Head, asker: &Asker<'a>) -> Route<'a> {
    let (account, realm) = (asker.account, asker.realm);
    let path = head.path();
    if path.starts_with(crate::acme::HTTP_PREFIX) {
        // RFC 8555 8.3: the key authorization, for anyone, over plain HTTP on port 80.
        return Route::Respond(match asker.acme.http_answer(path) {
            Some(answer) => {
                Response::new(200).body("application/octet-stream", answer.into_bytes())
            }
            None => text(404, "nothing here\n"),
        });
    }
    // RFC 6764 §5: the well-known names send clients to the context path.
    if matches!(
        path,
        "/.well-known/caldav"
            | "/.well-known/carddav"
            | "/.well-known/caldav/"
            | "/.well-known/carddav/"
    ) {
        return Route::Respond(Response::new(301).header("Location", format!("/{PREFIX}/")));
    }
    // So does the root, where a client given only the server's address asks first: with a
    // 308, which keeps the method and the body (RFC 9110 §15.4.9), as a REPORT needs.
    if path == "/" && matches!(head.method, Method::Propfind | Method::Report) {
        return Route::Respond(Response::new(308).header("Location", format!("/{PREFIX}/")));
    }
    if let Some(page) = Page::at(path) {
        return web(head, page, asker);
    }
    if crate::web::api::is_api(path) {
        return Route::Api;
    }
    if let Some(area) = Area::of(path) {
        return panel(head, area, asker);
    }
    let under_dav = path == format!("/{PREFIX}") || path.starts_with(&format!("/{PREFIX}/"));
    if !under_dav {
        return Route::Respond(text(404, "nothing here\n"));
    }
    if head.method == Method::Options && account.is_none() {
        // Clients probe what the server speaks before they log in.
        return Route::Respond(crate::dav::options());
    }
    match account {
        Some(account) => Route::Dav(account),
        None => Route::Respond(challenge(realm)),
    }
}

/// Routes a request for one of the web side's pages.
fn web<'a>(head: &Head, page: Page, asker: &Asker<'a>) -> Route<'a> {
    if page.for_administrators() && !asker.web.admits(asker.ip) {
        return Route::Respond(text(403, "not from this network\n"));
    }
    if page.needs_login() && asker.account.is_none() {
        return Route::Respond(challenge(asker.realm));
    }
    if page.takes_body() && head.has_body() {
        // Read by anyone who asks, so kept small, and its length known first.
        match head.content_length {
            None => return Route::Respond(length_required()),
            Some(length) if length > MAX_ANONYMOUS_BODY => {
                return Route::Respond(too_large());
            }
            Some(_) => {}
        }
    }
    Route::Web(page)
}

/// Routes a request for the admin panel or a user's pages.
fn panel<'a>(head: &Head, area: Area, asker: &Asker<'a>) -> Route<'a> {
    if area == Area::Admin && !asker.web.admits(asker.ip) {
        return Route::Respond(text(403, "not from this network\n"));
    }
    if head.has_body() {
        // Forms are read before anyone is known to be logged in: small, length first.
        match head.content_length {
            None => return Route::Respond(length_required()),
            Some(length) if length > MAX_FORM => return Route::Respond(too_large()),
            Some(_) => {}
        }
    }
    Route::Panel(area)
}

/// `401` asking for Basic credentials.
fn challenge(realm: &str) -> Response {
    Response::new(401)
        .header(
            "WWW-Authenticate",
            format!("Basic realm=\"{realm}\", charset=\"UTF-8\""),
        )
        .body("text/plain; charset=utf-8", b"log in first\n".to_vec())
}

/// `413` for a body larger than its route takes.
pub(super) fn too_large() -> Response {
    text(413, "request too large\n")
}

/// `411` for a body of unknown length where the route needs it known first.
/// `503`: no place among the large bodies now.
pub(super) fn busy() -> Response {
    Response::new(503)
        .header("Retry-After", "5")
        .body("text/plain; charset=utf-8", b"busy, try again\n".to_vec())
}

pub(super) fn length_required() -> Response {
    text(411, "send a Content-Length\n")
}

fn text(status: u16, text: &str) -> Response {
    Response::new(status).body("text/plain; charset=utf-8", text.as_bytes().to_vec())
}
