//! A user's Screener (`/api/v1/me/screener`), for their own token: see it (on or off, who
//! waits, who was decided on), turn it on or off (`PUT {"on": …}`), and decide on a sender
//! (`PUT /api/v1/me/screener/{sender}` with `{"verdict": "approved" | "rejected"}`).

use proto_dav::Method;
use serde_json::{Value, json};

use super::{Answer, Call, failed, json_response, method_not_allowed, no_content, problem, text};
use crate::store::{Account, Store, Verdict};

pub(super) fn screener<S: Store>(call: &Call<'_, S>, account: &Account, rest: &[&str]) -> Answer {
    let engine = call.engine;
    let email = account.email.as_str();
    match (rest, call.method()) {
        ([], Method::Get) => {
            let screen = engine.screen(email).map_err(failed)?;
            let waiting: Vec<Value> = screen
                .waiting
                .iter()
                .map(|(sender, messages)| json!({ "sender": sender, "messages": messages }))
                .collect();
            let body = json!({
                "on": screen.on,
                "waiting": waiting,
                "approved": screen.approved,
                "rejected": screen.rejected,
            });
            Ok(json_response(200, &body))
        }
        ([], Method::Put) => {
            let object = call.object()?;
            let Some(on) = object.get("on").and_then(Value::as_bool) else {
                return Err(problem(400, "give \"on\": true or false"));
            };
            engine.set_screener(email, on).map_err(failed)?;
            call.audit(&format!(
                "screener {} {email}",
                if on { "on" } else { "off" }
            ));
            Ok(no_content())
        }
        ([], _) => Err(method_not_allowed("GET, PUT")),
        ([sender], Method::Put) => {
            let object = call.object()?;
            let verdict = match text(&object, "verdict")? {
                "approved" => Verdict::Approved,
                "rejected" => Verdict::Rejected,
                _ => return Err(problem(400, "\"verdict\" is \"approved\" or \"rejected\"")),
            };
            let moved = engine
                .judge_sender(email, sender, verdict)
                .map_err(failed)?;
            let word = if verdict == Verdict::Approved {
                "approve"
            } else {
                "reject"
            };
            call.audit(&format!("screener {word} {email} {sender}"));
            Ok(json_response(200, &json!({ "moved": moved })))
        }
        ([_], _) => Err(method_not_allowed("PUT")),
        _ => Err(problem(404, "no such resource")),
    }
}
