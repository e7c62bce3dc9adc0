//! The admin panel's webhooks page: the webhooks with their calls waiting and each one's
//! latest attempts (the delivery log), a form to add one (its secret shown once), buttons
//! to remove one and to make its waiting calls now, and the domains whose mail goes to webhooks only.

use super::Page;
use super::html::{escape, hidden, input, table};
use crate::mail::date::rfc3339;
use crate::store::{AttemptOutcome, Store, WebhookScope};

/// Attempts the page shows of each webhook.
const LOG_SHOWN: usize = 20;

pub(super) fn view<S: Store>(page: &Page<'_, S>) -> Result<String, String> {
    let engine = page.engine;
    let hooks = engine.webhooks().map_err(|e| e.to_string())?;
    let mut out = String::from(
        "<p>Each message to an address or domain below is posted as JSON to its URL, signed \
         with HMAC-SHA256 of the body under the webhook's secret (hex, in \
         <code>X-Postern-Signature</code>), and retried until the receiver answers 2xx.</p>\n",
    );
    let rows: Vec<Vec<String>> = hooks
        .iter()
        .map(|listed| {
            let hook = &listed.webhook;
            let id = hook.id.to_string();
            let mut actions = page.button("/admin/webhooks/remove", &hidden("id", &id), "Remove");
            if listed.waiting > 0 {
                actions.push_str(&page.button(
                    "/admin/webhooks/retry",
                    &hidden("id", &id),
                    "Retry now",
                ));
            }
            vec![
                escape(&id),
                escape(&hook.scope.key()),
                escape(&hook.url),
                listed.waiting.to_string(),
                actions,
            ]
        })
        .collect();
    out.push_str(&table(
        &["Id", "Mail to", "URL", "Calls waiting", ""],
        &rows,
    ));
    for listed in &hooks {
        let hook = &listed.webhook;
        let log = engine
            .webhook_log(hook.id, LOG_SHOWN)
            .map_err(|e| e.to_string())?;
        out.push_str(&format!(
            "<h2>Deliveries of webhook {} ({})</h2>\n",
            hook.id,
            escape(&hook.scope.key())
        ));
        let rows: Vec<Vec<String>> = log
            .iter()
            .map(|a| {
                let outcome = match a.outcome {
                    AttemptOutcome::Delivered => "delivered".to_string(),
                    AttemptOutcome::Retrying(at) => format!("retrying at {}", rfc3339(at)),
                    AttemptOutcome::Failed => "given up".to_string(),
                };
                vec![
                    rfc3339(a.time),
                    escape(&a.label),
                    a.attempt.to_string(),
                    a.status.map_or_else(String::new, |s| s.to_string()),
                    escape(&outcome),
                    escape(&a.detail),
                ]
            })
            .collect();
        let head = ["When", "Message", "Attempt", "Status", "Outcome", "Detail"];
        out.push_str(&table(&head, &rows));
    }
    out.push_str("<h2>Add a webhook</h2>\n");
    let fields = [
        input("Address, or @domain for all of it", "scope", "text", true),
        input("URL", "url", "url", true),
        input("Secret (empty: one is made)", "secret", "text", false),
    ];
    out.push_str(&page.form("/admin/webhooks/add", &fields.concat(), "Add"));
    out.push_str("<h2>Webhook-only domains</h2>\n<p>Their mail is never stored in mailboxes; only addresses with a webhook take it.</p>\n");
    let only = engine.webhook_only_domains().map_err(|e| e.to_string())?;
    let rows: Vec<Vec<String>> = only
        .iter()
        .map(|domain| {
            let off = page.button(
                "/admin/webhooks/stored",
                &hidden("domain", domain),
                "Store its mail again",
            );
            vec![escape(domain), off]
        })
        .collect();
    out.push_str(&table(&["Domain", ""], &rows));
    let field = input("Domain", "domain", "text", true);
    out.push_str(&page.form("/admin/webhooks/only", &field, "Webhooks only"));
    Ok(out)
}

/// Carries out a form of the page: what to audit and what to say, or why not.
pub(super) fn act<S: Store>(
    page: &Page<'_, S>,
    action: &str,
    field: impl Fn(&str) -> Result<String, String>,
) -> Result<(String, String), String> {
    let engine = page.engine;
    let failed = |e: crate::Error| e.to_string();
    match action {
        "add" => {
            let scope = WebhookScope::from_key(field("scope")?.trim());
            let secret = page.form.get("secret").unwrap_or_default().trim();
            let hook = engine
                .add_webhook(&scope, field("url")?.trim(), secret)
                .map_err(failed)?;
            Ok((
                format!("webhook add {} {}", hook.scope.key(), hook.url),
                format!(
                    "Added webhook {} for {}. Its secret, shown this once: {}",
                    hook.id,
                    hook.scope.key(),
                    hook.secret
                ),
            ))
        }
        "remove" => {
            let id = field("id")?;
            let id = id.parse().map_err(|_| "no such webhook".to_string())?;
            engine.remove_webhook(id).map_err(failed)?;
            Ok((
                format!("webhook remove {id}"),
                format!("Removed webhook {id}."),
            ))
        }
        "retry" => {
            let id = field("id")?;
            let id = id.parse().map_err(|_| "no such webhook".to_string())?;
            let retried = engine.retry_webhook(id).map_err(failed)?;
            Ok((
                format!("webhook retry {id}"),
                format!("{retried} calls of webhook {id} are made again now."),
            ))
        }
        "only" | "stored" => {
            let domain = field("domain")?;
            let on = action == "only";
            engine.set_webhook_only(&domain, on).map_err(failed)?;
            let state = if on { "on" } else { "off" };
            let note = match on {
                true => format!("Mail to {domain} now goes to its webhooks only."),
                false => format!("Mail to {domain} is stored in mailboxes again."),
            };
            Ok((format!("domain webhook-only {domain} {state}"), note))
        }
        _ => Err("There is no such action.".into()),
    }
}
