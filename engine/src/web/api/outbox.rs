//! A user's mail waiting to go (`/api/v1/me/outbox`), for their own token: list what is
//! held (sent with `send_at`, or within the undo delay), cancel one (`DELETE
//! /api/v1/me/outbox/{id}`: it never goes), and the undo delay itself
//! (`/api/v1/me/undo-send`: `GET`, `PUT {"seconds": 10}`). See [`crate::held`].

use proto_dav::Method;
use serde_json::{Value, json};

use super::{Answer, Call, failed, json_response, method_not_allowed, problem};
use crate::held::Waiting;
use crate::mail::date::rfc3339;
use crate::store::{Account, Store};

pub(super) fn outbox<S: Store>(call: &Call<'_, S>, account: &Account, rest: &[&str]) -> Answer {
    let engine = call.engine;
    let email = account.email.as_str();
    match (rest, call.method()) {
        ([], Method::Get) => {
            let waiting = engine.waiting(email).map_err(failed)?;
            let listed: Vec<Value> = waiting.iter().map(waiting_json).collect();
            Ok(json_response(200, &json!({ "messages": listed })))
        }
        ([], _) => Err(method_not_allowed("GET")),
        ([id], Method::Delete) => {
            let id: u64 = id
                .parse()
                .map_err(|_| problem(404, "a message waiting is named by its number"))?;
            let cancelled = engine.cancel_held(email, id).map_err(failed)?;
            call.audit(&format!("outbox cancel {email} {id}"));
            Ok(json_response(200, &waiting_json(&cancelled)))
        }
        ([_], _) => Err(method_not_allowed("DELETE")),
        _ => Err(problem(404, "no such resource")),
    }
}

pub(super) fn undo_send<S: Store>(call: &Call<'_, S>, account: &Account) -> Answer {
    let engine = call.engine;
    let email = account.email.as_str();
    match call.method() {
        Method::Get => {
            let seconds = engine.undo_seconds(email).map_err(failed)?;
            Ok(json_response(200, &json!({ "seconds": seconds })))
        }
        Method::Put => {
            let object = call.object()?;
            let seconds = object
                .get("seconds")
                .and_then(Value::as_u64)
                .and_then(|s| u32::try_from(s).ok())
                .ok_or_else(|| problem(400, "\"seconds\" must be a number"))?;
            engine.set_undo_seconds(email, seconds).map_err(failed)?;
            call.audit(&format!("undo-send {email} {seconds}"));
            Ok(json_response(200, &json!({ "seconds": seconds })))
        }
        _ => Err(method_not_allowed("GET, PUT")),
    }
}

fn waiting_json(waiting: &Waiting) -> Value {
    json!({
        "id": waiting.id,
        "subject": waiting.subject,
        "recipients": waiting.recipients,
        "submitted": rfc3339(waiting.created),
        "send_at": rfc3339(waiting.release_at),
    })
}
