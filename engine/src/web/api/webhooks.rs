//! Webhooks (`/api/v1/webhooks`), for admin tokens: list them with their calls waiting and
//! the webhook-only domains, add one (its secret shown once, in the answer), remove one,
//! read its delivery log, make its waiting calls now (`POST /{id}/retry`), and make a domain webhook-only (`PUT /webhook-only/{domain}`,
//! `DELETE` to undo).

use proto_dav::{Method, Response};
use serde_json::{Value, json};

use super::{
    Answer, Call, failed, json_response, method_not_allowed, no_content, optional, problem,
};
use crate::mail::date::rfc3339;
use crate::store::{AttemptOutcome, Store, Webhook, WebhookAttempt, WebhookScope};
use crate::webhooks::Listed;

/// Log entries one request gives by default.
const DEFAULT_LOG: usize = 50;

pub(super) fn admin<S: Store>(call: &Call<'_, S>, segments: &[&str]) -> Answer {
    let engine = call.engine;
    match (segments, call.method()) {
        (["webhooks"], Method::Get) => {
            let hooks = engine.webhooks().map_err(failed)?;
            let only = engine.webhook_only_domains().map_err(failed)?;
            let listed: Vec<Value> = hooks.iter().map(listed_json).collect();
            let body = json!({ "webhooks": listed, "webhook_only_domains": only });
            Ok(json_response(200, &body))
        }
        (["webhooks"], Method::Post) => add(call),
        (["webhooks"], _) => Err(method_not_allowed("GET, POST")),
        (["webhooks", "webhook-only", domain], Method::Put | Method::Delete) => {
            let on = *call.method() == Method::Put;
            engine.set_webhook_only(domain, on).map_err(failed)?;
            let state = if on { "on" } else { "off" };
            call.audit(&format!("domain webhook-only {domain} {state}"));
            Ok(no_content())
        }
        (["webhooks", "webhook-only", _], _) => Err(method_not_allowed("PUT, DELETE")),
        (["webhooks", id], Method::Delete) => {
            let id = webhook_id(id)?;
            engine.remove_webhook(id).map_err(failed)?;
            call.audit(&format!("webhook remove {id}"));
            Ok(no_content())
        }
        (["webhooks", _], _) => Err(method_not_allowed("DELETE")),
        (["webhooks", id, "log"], Method::Get) => {
            let limit = match call.query("limit") {
                Some(text) => text
                    .parse()
                    .map_err(|_| problem(400, "\"limit\" is a number"))?,
                None => DEFAULT_LOG,
            };
            let log = engine.webhook_log(webhook_id(id)?, limit).map_err(failed)?;
            let attempts: Vec<Value> = log.iter().map(attempt_json).collect();
            Ok(json_response(200, &json!({ "attempts": attempts })))
        }
        (["webhooks", _, "log"], _) => Err(method_not_allowed("GET")),
        (["webhooks", id, "retry"], Method::Post) => {
            let id = webhook_id(id)?;
            let retried = engine.retry_webhook(id).map_err(failed)?;
            call.audit(&format!("webhook retry {id}"));
            Ok(json_response(200, &json!({ "retried": retried })))
        }
        (["webhooks", _, "retry"], _) => Err(method_not_allowed("POST")),
        _ => Err(problem(404, "no such resource")),
    }
}

/// `{"address"|"domain", "url", "secret"?}`.
fn add<S: Store>(call: &Call<'_, S>) -> Answer {
    let object = call.object()?;
    let string = |key| optional(&object, key, Value::as_str, "a string");
    let scope = match (string("address")?, string("domain")?) {
        (Some(address), None) => WebhookScope::Address(address.to_string()),
        (None, Some(domain)) => WebhookScope::Domain(domain.to_string()),
        _ => return Err(problem(400, "name one \"address\" or one \"domain\"")),
    };
    let url = string("url")?.ok_or_else(|| problem(400, "\"url\" must be a string"))?;
    let secret = string("secret")?.unwrap_or_default();
    let hook = call
        .engine
        .add_webhook(&scope, url, secret)
        .map_err(failed)?;
    call.audit(&format!("webhook add {} {}", hook.scope.key(), hook.url));
    let mut body = webhook_json(&hook);
    body["secret"] = json!(hook.secret);
    Ok(json_response(201, &body))
}

fn webhook_id(text: &str) -> Result<u64, Response> {
    text.parse()
        .map_err(|_| problem(404, "a webhook is named by its number"))
}

/// A webhook, without its secret.
fn webhook_json(hook: &Webhook) -> Value {
    let mut body = json!({ "id": hook.id, "url": hook.url, "created": rfc3339(hook.created) });
    match &hook.scope {
        WebhookScope::Address(address) => body["address"] = json!(address),
        WebhookScope::Domain(domain) => body["domain"] = json!(domain),
    }
    body
}

fn listed_json(listed: &Listed) -> Value {
    let mut body = webhook_json(&listed.webhook);
    body["waiting"] = json!(listed.waiting);
    body
}

fn attempt_json(attempt: &WebhookAttempt) -> Value {
    let (outcome, retry_at) = match attempt.outcome {
        AttemptOutcome::Delivered => ("delivered", None),
        AttemptOutcome::Retrying(at) => ("retrying", Some(rfc3339(at))),
        AttemptOutcome::Failed => ("failed", None),
    };
    json!({
        "time": rfc3339(attempt.time),
        "attempt": attempt.attempt,
        "status": attempt.status,
        "outcome": outcome,
        "retry_at": retry_at,
        "detail": attempt.detail,
        "message": attempt.label,
    })
}
