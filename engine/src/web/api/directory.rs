//! Domains, users, aliases and DKIM keys (`/api/v1/domains`, `/users`, `/aliases`,
//! `/dkim`) for admin tokens, and a user's own account (`/api/v1/me`) for any token that
//! has one.

use proto_dav::Method;
use serde_json::{Value, json};

use super::{
    Answer, Call, Caller, failed, json_response, method_not_allowed, no_content, optional, problem,
    text,
};
use crate::dkim::{Algorithm, DkimKey, DnsRecord};
use crate::mail::date::{rfc3339, unix_now};
use crate::store::{Account, Alias, Store};

/// A user as the API shows it: never the password hash.
fn user_json(account: &Account) -> Value {
    json!({
        "email": account.email,
        "quota": account.quota,
        "used": account.used,
        "disabled": account.disabled,
        "admin": account.admin,
    })
}

fn alias_json(alias: &Alias) -> Value {
    json!({ "source": alias.source, "target": alias.target })
}

pub(super) fn admin<S: Store>(call: &Call<'_, S>, segments: &[&str]) -> Answer {
    let engine = call.engine;
    match (segments, call.method()) {
        (["domains"], Method::Get) => {
            let domains = engine.domains().map_err(failed)?;
            let listed: Vec<Value> = domains.iter().map(|d| json!({ "name": d })).collect();
            Ok(json_response(200, &json!({ "domains": listed })))
        }
        (["domains"], Method::Post) => {
            let object = call.object()?;
            let name = engine.add_domain(text(&object, "name")?).map_err(failed)?;
            call.audit(&format!("domain add {name}"));
            Ok(json_response(201, &json!({ "name": name })))
        }
        (["domains"], _) => Err(method_not_allowed("GET, POST")),
        (["domains", name], Method::Delete) => {
            engine.remove_domain(name).map_err(failed)?;
            call.audit(&format!("domain remove {name}"));
            Ok(no_content())
        }
        (["domains", _], _) => Err(method_not_allowed("DELETE")),
        (["domains", name, "dns"], Method::Get) => {
            let wanted = engine.wanted_records(name).map_err(failed)?;
            let found = engine.check_records(&wanted);
            let records: Vec<Value> = wanted
                .iter()
                .zip(&found)
                .map(|(record, found)| {
                    let (state, detail) = found.describe();
                    json!({
                        "name": record.name,
                        "type": record.kind,
                        "value": record.value,
                        "for": record.why,
                        "now": { "state": state, "detail": detail },
                    })
                })
                .collect();
            Ok(json_response(200, &json!({ "records": records })))
        }
        (["domains", _, "dns"], _) => Err(method_not_allowed("GET")),
        (["users"], Method::Get) => {
            let domain = call.query("domain");
            let users = engine.users(domain.as_deref()).map_err(failed)?;
            let listed: Vec<Value> = users.iter().map(user_json).collect();
            Ok(json_response(200, &json!({ "users": listed })))
        }
        (["users"], Method::Post) => add_user(call),
        (["users"], _) => Err(method_not_allowed("GET, POST")),
        (["users", email], Method::Get) => {
            let account = engine.user(email).map_err(failed)?;
            Ok(json_response(200, &user_json(&account)))
        }
        (["users", email], Method::Patch) => change_user(call, email),
        (["users", email], Method::Delete) => {
            engine.remove_user(email).map_err(failed)?;
            call.audit(&format!("user remove {email}"));
            Ok(no_content())
        }
        (["users", _], _) => Err(method_not_allowed("GET, PATCH, DELETE")),
        (["aliases"], Method::Get) => {
            let domain = call.query("domain");
            let aliases = engine.aliases(domain.as_deref()).map_err(failed)?;
            let listed: Vec<Value> = aliases.iter().map(alias_json).collect();
            Ok(json_response(200, &json!({ "aliases": listed })))
        }
        (["aliases"], Method::Post) => {
            let object = call.object()?;
            let (source, target) = (text(&object, "source")?, text(&object, "target")?);
            let alias = engine.add_alias(source, target).map_err(failed)?;
            call.audit(&format!("alias add {} {}", alias.source, alias.target));
            Ok(json_response(201, &alias_json(&alias)))
        }
        (["aliases"], Method::Delete) => {
            let (Some(source), Some(target)) = (call.query("source"), call.query("target")) else {
                return Err(problem(400, "name the alias: ?source=…&target=…"));
            };
            engine.remove_alias(&source, &target).map_err(failed)?;
            call.audit(&format!("alias remove {source} {target}"));
            Ok(no_content())
        }
        (["aliases"], _) => Err(method_not_allowed("GET, POST, DELETE")),
        (["dkim"], Method::Get) => {
            let domain = call.query("domain");
            let keys = engine.dkim_keys(domain.as_deref()).map_err(failed)?;
            let listed: Vec<Value> = keys.iter().map(dkim_json).collect();
            Ok(json_response(200, &json!({ "keys": listed })))
        }
        (["dkim"], Method::Post) => add_dkim_keys(call),
        (["dkim"], _) => Err(method_not_allowed("GET, POST")),
        (["dkim", domain, selector], Method::Delete) => {
            engine.remove_dkim_key(domain, selector).map_err(failed)?;
            call.audit(&format!("dkim remove {domain} {selector}"));
            Ok(no_content())
        }
        (["dkim", _, _], _) => Err(method_not_allowed("DELETE")),
        _ => Err(problem(404, "no such resource")),
    }
}

/// A DKIM key as the API shows it: its public record, never its private part.
fn dkim_json(key: &DkimKey) -> Value {
    let record = DnsRecord::of(key).ok();
    json!({
        "domain": key.domain,
        "selector": key.selector,
        "algorithm": key.algorithm.name(),
        "created": rfc3339(key.created),
        "record": record.map(|r| json!({ "name": r.name, "type": "TXT", "value": r.value })),
    })
}

/// `POST /dkim`: keys for a domain, one per algorithm asked for (both by default).
fn add_dkim_keys<S: Store>(call: &Call<'_, S>) -> Answer {
    let object = call.object()?;
    let domain = text(&object, "domain")?;
    let selector = optional(&object, "selector", Value::as_str, "a string")?;
    let algorithms = match optional(&object, "algorithm", Value::as_str, "a string")? {
        None | Some("both") => vec![Algorithm::Ed25519, Algorithm::Rsa],
        Some("ed25519") => vec![Algorithm::Ed25519],
        Some("rsa") => vec![Algorithm::Rsa],
        Some(_) => return Err(problem(400, "\"algorithm\" is ed25519, rsa or both")),
    };
    let keys = call
        .engine
        .generate_dkim_keys(domain, selector, &algorithms, unix_now())
        .map_err(failed)?;
    call.audit(&format!("dkim generate {domain}"));
    let listed: Vec<Value> = keys.iter().map(dkim_json).collect();
    Ok(json_response(201, &json!({ "keys": listed })))
}

fn add_user<S: Store>(call: &Call<'_, S>) -> Answer {
    let object = call.object()?;
    let email = text(&object, "email")?;
    let password = text(&object, "password")?;
    let quota = optional(&object, "quota", Value::as_u64, "a number of bytes")?;
    let admin = optional(&object, "admin", Value::as_bool, "true or false")?;
    let account = call
        .engine
        .add_user(email, password, quota, admin.unwrap_or(false))
        .map_err(failed)?;
    call.audit(&format!("user add {}", account.email));
    Ok(json_response(201, &user_json(&account)))
}

/// `PATCH /users/EMAIL`: each member present is changed, the others left as they are; a
/// `quota` of `null` removes the quota.
fn change_user<S: Store>(call: &Call<'_, S>, email: &str) -> Answer {
    let object = call.object()?;
    let engine = call.engine;
    // Checked whole before anything changes, so a bad member changes nothing.
    let password = optional(&object, "password", Value::as_str, "a string")?;
    let quota = optional(
        &object,
        "quota",
        |v| {
            if v.is_null() {
                Some(None)
            } else {
                v.as_u64().map(Some)
            }
        },
        "a number of bytes or null",
    )?;
    let disabled = optional(&object, "disabled", Value::as_bool, "true or false")?;
    let admin = optional(&object, "admin", Value::as_bool, "true or false")?;
    let account = engine.user(email).map_err(failed)?;
    let email = account.email.as_str();
    if let Some(password) = password {
        engine.set_password(email, password).map_err(failed)?;
        call.audit(&format!("user passwd {email}"));
    }
    if let Some(quota) = quota {
        engine.set_quota(email, quota).map_err(failed)?;
        call.audit(&format!("user quota {email} {quota:?}"));
    }
    if let Some(disabled) = disabled {
        engine.set_disabled(email, disabled).map_err(failed)?;
        let change = if disabled { "disable" } else { "enable" };
        call.audit(&format!("user {change} {email}"));
    }
    if let Some(admin) = admin {
        engine.set_admin(email, admin).map_err(failed)?;
        let change = if admin { "on" } else { "off" };
        call.audit(&format!("user admin {email} {change}"));
    }
    let account = engine.user(email).map_err(failed)?;
    Ok(json_response(200, &user_json(&account)))
}

/// `/api/v1/me`: the account of a user's token, and its password.
pub(super) fn me<S: Store>(call: &Call<'_, S>, rest: &[&str]) -> Answer {
    let Caller::User(account) = call.caller else {
        return Err(problem(404, "an admin token has no account of its own"));
    };
    match (rest, call.method()) {
        ([], Method::Get) => {
            let account = call.engine.user(&account.email).map_err(failed)?;
            Ok(json_response(200, &user_json(&account)))
        }
        ([], _) => Err(method_not_allowed("GET")),
        (["password"], Method::Put) => {
            let object = call.object()?;
            let password = text(&object, "password")?;
            call.engine
                .set_password(&account.email, password)
                .map_err(failed)?;
            call.audit(&format!("user passwd {}", account.email));
            Ok(no_content())
        }
        (["password"], _) => Err(method_not_allowed("PUT")),
        (["sieve", rest @ ..], _) => super::sieve::scripts(call, account, rest),
        (["aliases", rest @ ..], _) => super::aliases::aliases(call, account, rest),
        (["vips", rest @ ..], _) => super::vips::vips(call, account, rest),
        (["screener", rest @ ..], _) => super::screener::screener(call, account, rest),
        (["messages", rest @ ..], _) => super::messages::messages(call, account, rest),
        (["outbox", rest @ ..], _) => super::outbox::outbox(call, account, rest),
        (["undo-send"], _) => super::outbox::undo_send(call, account),
        (["snoozed", rest @ ..], _) => super::snoozed::snoozed(call, account, rest),
        _ => Err(problem(404, "no such resource")),
    }
}
