//! A user's snoozed mail (`/api/v1/me/snoozed`), for their own token: list it, soonest
//! first, and wake one now (`DELETE /api/v1/me/snoozed/{uid}`: back in the INBOX as new).
//! A message is snoozed with `POST /api/v1/me/messages/{uid}/snooze` (see
//! [`super::messages`]).

use proto_dav::Method;
use serde_json::{Value, json};

use super::{Answer, Call, failed, json_response, method_not_allowed, problem};
use crate::mail::date::rfc3339;
use crate::store::{Account, Store};

pub(super) fn snoozed<S: Store>(call: &Call<'_, S>, account: &Account, rest: &[&str]) -> Answer {
    let engine = call.engine;
    let email = account.email.as_str();
    match (rest, call.method()) {
        ([], Method::Get) => {
            let snoozed = engine.snoozed(email).map_err(failed)?;
            let listed: Vec<Value> = snoozed
                .iter()
                .map(|s| {
                    json!({
                        "uid": s.uid,
                        "until": rfc3339(s.until),
                        "from": s.from,
                        "subject": s.subject,
                    })
                })
                .collect();
            Ok(json_response(200, &json!({ "messages": listed })))
        }
        ([], _) => Err(method_not_allowed("GET")),
        ([uid], Method::Delete) => {
            let uid: u32 = uid
                .parse()
                .map_err(|_| problem(404, "a message is named by its UID"))?;
            let woken = engine.wake_now(email, uid).map_err(failed)?;
            call.audit(&format!("snooze wake {email} {uid}"));
            Ok(json_response(
                200,
                &json!({ "mailbox": "INBOX", "uid": woken }),
            ))
        }
        ([_], _) => Err(method_not_allowed("DELETE")),
        _ => Err(problem(404, "no such resource")),
    }
}
