//! A user's mail over HTTP (`/api/v1/me/messages`), for their own token: what programs
//! that process inbound mail need without speaking IMAP. List a mailbox's messages
//! (`?mailbox=`, INBOX by default; newest first, `limit` at a time, `before` a UID to page
//! on), read one parsed (header fields, text and HTML bodies, attachments described) or raw
//! (`/raw`, `message/rfc822`), delete one (gone at once, as IMAP's EXPUNGE), and snooze one
//! (`POST /snooze` with `{"until"}`: back in the INBOX as new then, see [`crate::snooze`]).

use std::io::Read;

use proto_dav::{Method, Response};
use serde_json::{Value, json};

use super::{Answer, Call, failed, json_response, method_not_allowed, no_content, problem};
use crate::imap::mailboxes;
use crate::mail::{date::rfc3339, json, readable};
use crate::store::{
    Account, FLAG_ANSWERED, FLAG_DELETED, FLAG_DRAFT, FLAG_FLAGGED, FLAG_SEEN, Flags, Mailbox,
    Message, Store, StoreError, stored_header,
};

/// Messages one listing gives at most, and by default.
const MAX_LIMIT: usize = 200;
const DEFAULT_LIMIT: usize = 50;

/// The largest message read parsed; a larger one is read raw.
const MAX_PARSED: u64 = 4 * 1024 * 1024;

/// The largest message read raw here; a larger one is read over IMAP, which streams it.
const MAX_RAW: u64 = 8 * 1024 * 1024;

pub(super) fn messages<S: Store>(call: &Call<'_, S>, account: &Account, rest: &[&str]) -> Answer {
    let store = call.engine.store();
    let name = call.query("mailbox").unwrap_or_else(|| "INBOX".to_string());
    let mailbox = mailboxes::find(store, account.id, &name)
        .map_err(|e| failed(e.into()))?
        .ok_or_else(|| problem(404, &format!("there is no mailbox {name}")))?;
    match (rest, call.method()) {
        ([], Method::Get) => list(call, &mailbox),
        ([], _) => Err(method_not_allowed("GET")),
        ([uid, more @ ..], method) => {
            let uid: u32 = uid
                .parse()
                .map_err(|_| problem(404, "a message is named by its UID"))?;
            let message = store
                .messages(mailbox.id)
                .map_err(|e| failed(e.into()))?
                .into_iter()
                .find(|m| m.uid == uid)
                .ok_or_else(|| problem(404, &format!("there is no message {uid} in {name}")))?;
            match (more, method) {
                ([], Method::Get) => parsed(call, &message),
                (["snooze"], Method::Post) => {
                    let object = call.object()?;
                    let until = object
                        .get("until")
                        .and_then(Value::as_str)
                        .and_then(crate::snooze::parse_time)
                        .ok_or_else(|| problem(400, "\"until\" is a time: 2026-12-08T09:00Z"))?;
                    let snoozed = call
                        .engine
                        .snooze(&account.email, &name, uid, until)
                        .map_err(failed)?;
                    call.audit(&format!("message snooze {} {name} {uid}", account.email));
                    let body = json!({
                        "mailbox": crate::snooze::MAILBOX,
                        "uid": snoozed,
                        "until": rfc3339(until),
                    });
                    Ok(json_response(200, &body))
                }
                (["snooze"], _) => Err(method_not_allowed("POST")),
                (["raw"], Method::Get) => raw(call, &message),
                ([], Method::Delete) => {
                    store
                        .expunge(mailbox.id, &[uid])
                        .map_err(|e| failed(e.into()))?;
                    call.engine.changes().notify(mailbox.id);
                    call.audit(&format!("message delete {} {name} {uid}", account.email));
                    Ok(no_content())
                }
                ([], _) => Err(method_not_allowed("GET, DELETE")),
                (["raw"], _) => Err(method_not_allowed("GET")),
                _ => Err(problem(404, "no such resource")),
            }
        }
    }
}

/// Newest first, `limit` at a time, before the UID `before` if given.
fn list<S: Store>(call: &Call<'_, S>, mailbox: &Mailbox) -> Answer {
    let number = |key: &str| -> Result<Option<u64>, Response> {
        call.query(key)
            .map(|v| {
                v.parse()
                    .map_err(|_| problem(400, &format!("\"{key}\" is a number")))
            })
            .transpose()
    };
    let limit = number("limit")?.map_or(DEFAULT_LIMIT, |n| {
        usize::try_from(n).unwrap_or(MAX_LIMIT).clamp(1, MAX_LIMIT)
    });
    let before = number("before")?.unwrap_or(u64::MAX);
    let store = call.engine.store();
    let mut all = store.messages(mailbox.id).map_err(|e| failed(e.into()))?;
    all.retain(|m| u64::from(m.uid) < before);
    let more = all.len() > limit;
    let page: Vec<&Message> = all.iter().rev().take(limit).collect();
    let mut listed = Vec::with_capacity(page.len());
    for message in &page {
        let header = stored_header(store, &message.blob).map_err(|e| failed(e.into()))?;
        listed.push(described(&header, message));
    }
    let next = page.last().filter(|_| more).map(|m| m.uid);
    let body = json!({ "mailbox": mailbox.name, "messages": listed, "next_before": next });
    Ok(json_response(200, &body))
}

/// One message parsed: its fields, its text and HTML bodies, its attachments described.
fn parsed<S: Store>(call: &Call<'_, S>, message: &Message) -> Answer {
    let bytes = read(call, message, MAX_PARSED, "read it raw")?;
    let readable = readable(&bytes);
    let header_end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(bytes.len(), |at| at + 4);
    let mut body = described(bytes.get(..header_end).unwrap_or_default(), message);
    json::add_contents(&mut body, &readable);
    Ok(json_response(200, &body))
}

fn raw<S: Store>(call: &Call<'_, S>, message: &Message) -> Answer {
    let bytes = read(call, message, MAX_RAW, "read it over IMAP")?;
    Ok(Response::new(200).body("message/rfc822", bytes))
}

/// The whole stored message, unless it is over `limit` octets (then `413`, saying what to
/// do instead).
fn read<S: Store>(
    call: &Call<'_, S>,
    message: &Message,
    limit: u64,
    instead: &str,
) -> Result<Vec<u8>, Response> {
    if message.size > limit {
        let text = format!("the message is over {} MiB: {instead}", limit / 1024 / 1024);
        return Err(problem(413, &text));
    }
    // A large one takes a place among the large bodies held in memory, as a request's does.
    let _place = match message.size > crate::http::LARGE_BODY {
        true => Some(call.engine.try_read_large_body().ok_or_else(|| {
            problem(503, "too many large messages are being read: try again")
                .header("Retry-After", "5")
        })?),
        false => None,
    };
    let mut bytes = Vec::with_capacity(usize::try_from(message.size).unwrap_or(0));
    call.engine
        .store()
        .read_blob(&message.blob)
        .and_then(|mut reader| {
            reader
                .read_to_end(&mut bytes)
                .map_err(|e| StoreError::Io(format!("cannot read a message: {e}")))
        })
        .map_err(|e| failed(e.into()))?;
    Ok(bytes)
}

/// A message as listed: the fields from its `header`, and its own (UID, size, when it came,
/// flags).
fn described(header: &[u8], message: &Message) -> Value {
    let mut item = json::fields(header);
    item["uid"] = json!(message.uid);
    item["size"] = json!(message.size);
    item["received"] = json!(rfc3339(message.internal_date));
    item["flags"] = json!(flags(message));
    item
}

/// The IMAP flags and keywords of a message, as IMAP writes them.
fn flags(message: &Message) -> Vec<String> {
    const SYSTEM: [(Flags, &str); 5] = [
        (FLAG_SEEN, "\\Seen"),
        (FLAG_ANSWERED, "\\Answered"),
        (FLAG_FLAGGED, "\\Flagged"),
        (FLAG_DELETED, "\\Deleted"),
        (FLAG_DRAFT, "\\Draft"),
    ];
    SYSTEM
        .iter()
        .filter(|(bit, _)| message.flags & bit != 0)
        .map(|(_, name)| name.to_string())
        .chain(message.keywords.iter().cloned())
        .collect()
}
