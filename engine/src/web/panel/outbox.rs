//! The user's page's outbox: mail waiting to go (sent for later, or within the undo
//! delay), each with a button that cancels it, and the undo delay (see [`crate::held`]).

use proto_dav::Response;

use super::html::{self, escape};
use super::{Page, back};
use crate::held::MAX_UNDO_SECONDS;
use crate::mail::date::rfc3339;
use crate::store::{Account, Store};

const HOME: &str = "/account/";

/// The section: what waits, and the undo delay's form.
pub(super) fn section<S: Store>(page: &Page<'_, S>, account: &Account) -> String {
    let engine = page.engine;
    let waiting = engine.waiting(&account.email).unwrap_or_default();
    let mut out = String::from("<h2>Waiting to go</h2>\n");
    if waiting.is_empty() {
        out.push_str("<p>Nothing: mail you send for later, or within your undo delay, waits here until it goes.</p>\n");
    }
    let rows: Vec<Vec<String>> = waiting
        .iter()
        .map(|w| {
            let fields = html::hidden("id", &w.id.to_string());
            vec![
                rfc3339(w.release_at),
                escape(&w.recipients.join(", ")),
                escape(&w.subject),
                page.button("/account/outbox/cancel", &fields, "Cancel"),
            ]
        })
        .collect();
    if !rows.is_empty() {
        out.push_str(&html::table(&["Goes at", "To", "Subject", ""], &rows));
    }
    let seconds = engine.undo_seconds(&account.email).unwrap_or(0);
    out.push_str(&format!(
        "<p>Undo send: each message you send waits {seconds} seconds before it goes, so that \
         you can cancel it here (0 to {MAX_UNDO_SECONDS}).</p>\n"
    ));
    let field = format!(
        "<label>Seconds <input name=\"seconds\" type=\"number\" min=\"0\" max=\"{MAX_UNDO_SECONDS}\" value=\"{seconds}\" required></label>\n"
    );
    out.push_str(&page.form("/account/undo-send", &field, "Save"));
    out
}

pub(super) fn cancel<S: Store>(page: &Page<'_, S>, account: &Account) -> Response {
    let id = page.form.get("id").and_then(|id| id.parse().ok());
    let Some(id) = id else {
        return back(HOME, Err("No such message.".into()));
    };
    match page.engine.cancel_held(&account.email, id) {
        Ok(cancelled) => {
            page.audit(&format!("outbox cancel {} {id}", account.email));
            let subject = match cancelled.subject.as_str() {
                "" => "The message".to_string(),
                subject => format!("\u{201c}{subject}\u{201d}"),
            };
            back(HOME, Ok(format!("{subject} is cancelled: it never goes.")))
        }
        Err(e) => back(HOME, Err(e.to_string())),
    }
}

pub(super) fn undo<S: Store>(page: &Page<'_, S>, account: &Account) -> Response {
    let seconds = page.form.get("seconds").and_then(|s| s.parse().ok());
    let Some(seconds) = seconds else {
        return back(HOME, Err("The delay is a number of seconds.".into()));
    };
    match page.engine.set_undo_seconds(&account.email, seconds) {
        Ok(()) => {
            page.audit(&format!("undo-send {} {seconds}", account.email));
            back(
                HOME,
                Ok(format!("Your mail now waits {seconds} s before it goes.")),
            )
        }
        Err(e) => back(HOME, Err(e.to_string())),
    }
}
