//! A user's Sieve scripts (`/api/v1/me/sieve`), for their own token: list them, read one,
//! store one (checked first), make one the active one or none, remove one.

use proto_dav::Method;
use serde_json::{Value, json};

use super::{
    Answer, Call, failed, json_response, method_not_allowed, no_content, optional, problem,
};
use crate::store::{Account, Store};

pub(super) fn scripts<S: Store>(call: &Call<'_, S>, account: &Account, rest: &[&str]) -> Answer {
    let engine = call.engine;
    let email = account.email.as_str();
    match (rest, call.method()) {
        ([], Method::Get) => {
            let scripts = engine.sieve_scripts(email).map_err(failed)?;
            let listed: Vec<Value> = scripts
                .iter()
                .map(|s| json!({ "name": s.name, "active": s.active, "size": s.source.len() }))
                .collect();
            Ok(json_response(200, &json!({ "scripts": listed })))
        }
        ([], _) => Err(method_not_allowed("GET")),
        ([name], Method::Get) => {
            let scripts = engine.sieve_scripts(email).map_err(failed)?;
            let script = scripts
                .iter()
                .find(|s| s.name == *name)
                .ok_or_else(|| problem(404, &format!("no Sieve script {name}")))?;
            let body =
                json!({ "name": script.name, "active": script.active, "source": script.source });
            Ok(json_response(200, &body))
        }
        ([name], Method::Put) => {
            let object = call.object()?;
            let source = optional(&object, "source", Value::as_str, "a string")?;
            let active = optional(&object, "active", Value::as_bool, "true or false")?;
            if source.is_none() && active.is_none() {
                return Err(problem(400, "give \"source\", \"active\" or both"));
            }
            if let Some(source) = source {
                engine
                    .put_sieve_script(email, name, source, active == Some(true))
                    .map_err(failed)?;
                call.audit(&format!("sieve put {email} {name}"));
            } else if let Some(active) = active {
                let scripts = engine.sieve_scripts(email).map_err(failed)?;
                let script = scripts
                    .iter()
                    .find(|s| s.name == *name)
                    .ok_or_else(|| problem(404, &format!("no Sieve script {name}")))?;
                // Making the active one inactive leaves none active; another stays.
                if active || script.active {
                    let chosen = active.then_some(*name);
                    engine
                        .activate_sieve_script(email, chosen)
                        .map_err(failed)?;
                    match chosen {
                        Some(name) => call.audit(&format!("sieve activate {email} {name}")),
                        None => call.audit(&format!("sieve deactivate {email}")),
                    }
                }
            }
            Ok(no_content())
        }
        ([name], Method::Delete) => {
            engine.remove_sieve_script(email, name).map_err(failed)?;
            call.audit(&format!("sieve remove {email} {name}"));
            Ok(no_content())
        }
        ([_], _) => Err(method_not_allowed("GET, PUT, DELETE")),
        _ => Err(problem(404, "no such resource")),
    }
}
