//! Which part of the server answers a request, decided from its head alone: before its
//! body is read, and before anything is asked of storage.

use proto_dav::{Head, Method, Response};

use crate::dav::target::PREFIX;
use crate::store::Account;

/// Where a request goes.
pub(super) enum Route<'a> {
    /// Answered at once, without its body: a redirect, a refusal, nothing here.
    Respond(Response),
    /// Calendars and contacts, for this logged-in account.
    Dav(&'a Account),
}

/// Routes a request whose credentials (if any) belong to `account`; `realm` is what Basic
/// credentials are asked for in.
pub(super) fn route<'a>(head: &Head, account: Option<&'a Account>, realm: &str) -> Route<'a> {
    let path = head.path();
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
    let under_dav = path == format!("/{PREFIX}") || path.starts_with(&format!("/{PREFIX}/"));
    if !under_dav {
        return Route::Respond(
            Response::new(404).body("text/plain; charset=utf-8", b"nothing here\n".to_vec()),
        );
    }
    if head.method == Method::Options && account.is_none() {
        // Clients probe what the server speaks before they log in.
        return Route::Respond(crate::dav::options());
    }
    match account {
        Some(account) => Route::Dav(account),
        None => Route::Respond(
            Response::new(401)
                .header(
                    "WWW-Authenticate",
                    format!("Basic realm=\"{realm}\", charset=\"UTF-8\""),
                )
                .body("text/plain; charset=utf-8", b"log in first\n".to_vec()),
        ),
    }
}
