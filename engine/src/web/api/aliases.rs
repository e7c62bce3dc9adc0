//! A user's disposable aliases (`/api/v1/me/aliases`), for their own token: list them with
//! their counts, make one (`POST`, with a note), turn one off or on (`PATCH`).

use proto_dav::Method;
use serde_json::{Value, json};

use super::{Answer, Call, failed, json_response, method_not_allowed, optional, problem};
use crate::mail::date::rfc3339;
use crate::store::{Account, DisposableAlias, Store};

pub(super) fn aliases<S: Store>(call: &Call<'_, S>, account: &Account, rest: &[&str]) -> Answer {
    let engine = call.engine;
    let email = account.email.as_str();
    match (rest, call.method()) {
        ([], Method::Get) => {
            let aliases = engine.disposable_aliases(email).map_err(failed)?;
            let listed: Vec<Value> = aliases.iter().map(alias_json).collect();
            Ok(json_response(200, &json!({ "aliases": listed })))
        }
        ([], Method::Post) => {
            let object = call.object()?;
            let note = optional(&object, "note", Value::as_str, "a string")?.unwrap_or("");
            let alias = engine.new_disposable_alias(email, note).map_err(failed)?;
            call.audit(&format!("alias new for {email}"));
            Ok(json_response(201, &alias_json(&alias)))
        }
        ([], _) => Err(method_not_allowed("GET, POST")),
        ([address], Method::Patch) => {
            let object = call.object()?;
            let Some(enabled) = optional(&object, "enabled", Value::as_bool, "true or false")?
            else {
                return Err(problem(400, "give \"enabled\": true or false"));
            };
            let alias = engine
                .set_disposable_alias_enabled(Some(email), address, enabled)
                .map_err(failed)?;
            let change = if enabled { "enable" } else { "disable" };
            call.audit(&format!("alias {change} {address}"));
            Ok(json_response(200, &alias_json(&alias)))
        }
        ([_], _) => Err(method_not_allowed("PATCH")),
        _ => Err(problem(404, "no such resource")),
    }
}

fn alias_json(alias: &DisposableAlias) -> Value {
    json!({
        "address": alias.address,
        "enabled": alias.enabled,
        "note": alias.note,
        "created": rfc3339(alias.created),
        "uses": alias.uses,
        "last_used": alias.last_used.map(rfc3339),
    })
}
