//! Running the server (`/api/v1/queue`, `/bans`, `/audit`), for admin tokens.

use proto_dav::{Method, Response};
use serde_json::{Value, json};

use super::{
    Answer, Call, failed, json_response, method_not_allowed, no_content, optional, problem, text,
};
use crate::bans::FOREVER;
use crate::mail::date::{rfc3339, unix_now};
use crate::queue::{QueueId, QueuedMessage, State};
use crate::store::{AuditEntry, Ban, Store};

/// Audit entries of the last day, unless `since` says otherwise.
const DEFAULT_AUDIT_SPAN: i64 = 86_400;

pub(super) fn admin<S: Store>(call: &Call<'_, S>, segments: &[&str]) -> Answer {
    let engine = call.engine;
    match (segments, call.method()) {
        (["queue"], Method::Get) => {
            let queue = engine.queue().map_err(failed)?;
            let listed: Vec<Value> = queue.iter().map(queued_json).collect();
            Ok(json_response(200, &json!({ "messages": listed })))
        }
        (["queue"], _) => Err(method_not_allowed("GET")),
        (["queue", "retry"], Method::Post) => retry(call, None),
        (["queue", "retry"], _) => Err(method_not_allowed("POST")),
        (["queue", id], Method::Get) => {
            let message = engine.queued_message(queue_id(id)?).map_err(failed)?;
            Ok(json_response(200, &queued_json(&message)))
        }
        (["queue", id], Method::Delete) => {
            let id = queue_id(id)?;
            engine.delete_queued(id).map_err(failed)?;
            call.audit(&format!("queue delete {id}"));
            Ok(no_content())
        }
        (["queue", _], _) => Err(method_not_allowed("GET, DELETE")),
        (["queue", id, "retry"], Method::Post) => retry(call, Some(queue_id(id)?)),
        (["queue", _, "retry"], _) => Err(method_not_allowed("POST")),
        (["bans"], Method::Get) => {
            let bans = engine.bans().map_err(|e| failed(e.into()))?;
            let listed: Vec<Value> = bans.iter().map(ban_json).collect();
            Ok(json_response(200, &json!({ "bans": listed })))
        }
        (["bans"], Method::Post) => {
            let object = call.object()?;
            let network = text(&object, "network")?;
            let seconds = optional(&object, "seconds", Value::as_i64, "a number of seconds")?;
            let reason = optional(&object, "reason", Value::as_str, "a string")?;
            let ban = engine
                .ban(network, seconds, reason.unwrap_or("banned through the API"))
                .map_err(|e| problem(422, &e))?;
            call.audit(&format!("ban add {} for {seconds:?} s", ban.network));
            Ok(json_response(201, &ban_json(&ban)))
        }
        (["bans"], Method::Delete) => {
            let Some(network) = call.query("network") else {
                return Err(problem(400, "name the network: ?network=…"));
            };
            if !engine.unban(&network).map_err(|e| problem(422, &e))? {
                return Err(problem(404, &format!("{network} is not banned")));
            }
            call.audit(&format!("ban remove {network}"));
            Ok(no_content())
        }
        (["bans"], _) => Err(method_not_allowed("GET, POST, DELETE")),
        (["audit"], Method::Get) => {
            let since = match call.query("since") {
                Some(text) => text
                    .parse()
                    .map_err(|_| problem(400, "since is Unix seconds"))?,
                None => unix_now() - DEFAULT_AUDIT_SPAN,
            };
            let user = call.query("user");
            let entries = engine
                .audit_entries(since, user.as_deref())
                .map_err(|e| failed(e.into()))?;
            let listed: Vec<Value> = entries.iter().map(audit_json).collect();
            Ok(json_response(200, &json!({ "entries": listed })))
        }
        (["audit"], _) => Err(method_not_allowed("GET")),
        _ => Err(problem(404, "no such resource")),
    }
}

fn queue_id(text: &str) -> Result<QueueId, Response> {
    text.parse()
        .map_err(|_| problem(404, "no such queued message"))
}

/// Makes the pending recipients of one message (or of all) due now.
fn retry<S: Store>(call: &Call<'_, S>, id: Option<QueueId>) -> Answer {
    let due = call.engine.retry_queued(id, unix_now()).map_err(failed)?;
    match id {
        Some(id) => call.audit(&format!("queue retry {id}")),
        None => call.audit("queue retry all"),
    }
    Ok(json_response(200, &json!({ "due": due })))
}

fn queued_json(message: &QueuedMessage) -> Value {
    let recipients: Vec<Value> = message
        .recipients
        .iter()
        .map(|r| {
            let state = match r.state {
                State::Pending => "pending",
                State::Delivered => "delivered",
                State::Failed => "failed",
            };
            json!({
                "address": r.address,
                "state": state,
                "attempts": r.attempts,
                "next_attempt": (r.state == State::Pending).then(|| rfc3339(r.next_attempt)),
                "last_result": r.last_result,
            })
        })
        .collect();
    json!({
        "id": message.id.to_string(),
        "sender": message.envelope.sender,
        "size": message.size,
        "queued": rfc3339(message.created),
        "recipients": recipients,
    })
}

fn ban_json(ban: &Ban) -> Value {
    json!({
        "network": ban.network,
        "until": (ban.until != FOREVER).then(|| rfc3339(ban.until)),
        "count": ban.count,
        "reason": ban.reason,
    })
}

fn audit_json(entry: &AuditEntry) -> Value {
    json!({
        "time": rfc3339(entry.time),
        "kind": entry.kind,
        "actor": entry.actor,
        "client": entry.client,
        "detail": entry.detail,
    })
}
