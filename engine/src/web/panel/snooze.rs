//! The user's page's snooze section: snoozed mail with when it wakes and a button that
//! wakes it now, and the latest messages of the INBOX, each with a choice of how long to
//! snooze it (see [`crate::snooze`]). Lengths rather than times: a form knows no zone.

use proto_dav::Response;

use super::html::{self, escape};
use super::{Page, back};
use crate::mail::date::{rfc3339, unix_now};
use crate::mail::json;
use crate::store::{Account, Store, stored_header};

const HOME: &str = "/account/";

/// INBOX messages the section offers to snooze: the latest.
const OFFERED: usize = 10;

/// How long a message may be snoozed for from the page: (seconds, as said).
const LENGTHS: &[(i64, &str)] = &[
    (3600, "an hour"),
    (3 * 3600, "three hours"),
    (86_400, "a day"),
    (7 * 86_400, "a week"),
];

pub(super) fn section<S: Store>(page: &Page<'_, S>, account: &Account) -> String {
    let engine = page.engine;
    let mut out = String::from(
        "<h2>Snoozed</h2>\n<p>Snoozed mail waits in <code>Snoozed</code> and comes back to your inbox as new at its time.</p>\n",
    );
    let snoozed = engine.snoozed(&account.email).unwrap_or_default();
    let rows: Vec<Vec<String>> = snoozed
        .iter()
        .map(|s| {
            let fields = html::hidden("uid", &s.uid.to_string());
            vec![
                rfc3339(s.until),
                escape(&s.from),
                escape(&s.subject),
                page.button("/account/snooze/wake", &fields, "Wake now"),
            ]
        })
        .collect();
    if !rows.is_empty() {
        out.push_str(&html::table(&["Wakes", "From", "Subject", ""], &rows));
    }
    let store = engine.store();
    let inbox = crate::imap::mailboxes::find(store, account.id, "INBOX")
        .ok()
        .flatten()
        .and_then(|inbox| store.messages(inbox.id).ok())
        .unwrap_or_default();
    let choices: String = LENGTHS
        .iter()
        .map(|(seconds, said)| format!("<option value=\"{seconds}\">{said}</option>"))
        .collect();
    let rows: Vec<Vec<String>> = inbox
        .iter()
        .rev()
        .take(OFFERED)
        .map(|message| {
            let header = stored_header(store, &message.blob).unwrap_or_default();
            let fields = json::fields(&header);
            let from = fields["from"][0]["address"].as_str().unwrap_or_default();
            let subject = fields["subject"].as_str().unwrap_or_default();
            let form = format!(
                "{}<select name=\"for\">{choices}</select>",
                html::hidden("uid", &message.uid.to_string())
            );
            vec![
                escape(from),
                escape(subject),
                page.button("/account/snooze", &form, "Snooze"),
            ]
        })
        .collect();
    if !rows.is_empty() {
        out.push_str("<p>Snooze one of your latest messages:</p>\n");
        out.push_str(&html::table(&["From", "Subject", ""], &rows));
    }
    out
}

pub(super) fn snooze<S: Store>(page: &Page<'_, S>, account: &Account) -> Response {
    let uid = page.form.get("uid").and_then(|u| u.parse().ok());
    let length = page
        .form
        .get("for")
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|s| LENGTHS.iter().any(|(l, _)| l == s));
    let (Some(uid), Some(length)) = (uid, length) else {
        return back(HOME, Err("Choose a message and how long.".into()));
    };
    let until = unix_now().saturating_add(length);
    match page.engine.snooze(&account.email, "INBOX", uid, until) {
        Ok(_) => {
            page.audit(&format!("message snooze {} INBOX {uid}", account.email));
            back(HOME, Ok(format!("Snoozed until {}.", rfc3339(until))))
        }
        Err(e) => back(HOME, Err(e.to_string())),
    }
}

pub(super) fn wake<S: Store>(page: &Page<'_, S>, account: &Account) -> Response {
    let Some(uid) = page.form.get("uid").and_then(|u| u.parse().ok()) else {
        return back(HOME, Err("No such message.".into()));
    };
    match page.engine.wake_now(&account.email, uid) {
        Ok(_) => {
            page.audit(&format!("snooze wake {} {uid}", account.email));
            back(HOME, Ok("Back in your inbox.".into()))
        }
        Err(e) => back(HOME, Err(e.to_string())),
    }
}
