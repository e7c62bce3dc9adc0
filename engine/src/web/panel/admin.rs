//! The admin panel's pages: the dashboard, domains (with their DKIM keys and records),
//! users, aliases, the queue, bans, webhooks and the audit log. Each form POSTs to
//! `PAGE/ACTION` and is sent back to the page with what came of it.

use std::fmt::Write;

use proto_dav::{Method, Response};

use super::html::{self, escape, hidden, input, table};
use super::{Page, back, html_response, method_not_allowed, not_found};
use crate::dkim::Algorithm;
use crate::dns::publish::Found;
use crate::mail::date::{rfc3339, unix_now};
use crate::queue::State;
use crate::store::Store;
use crate::units::{parse_size, size, span};

const NAV: &[(&str, &str)] = &[
    ("/admin/", "Dashboard"),
    ("/admin/domains", "Domains"),
    ("/admin/users", "Users"),
    ("/admin/aliases", "Aliases"),
    ("/admin/queue", "Queue"),
    ("/admin/bans", "Bans"),
    ("/admin/webhooks", "Webhooks"),
    ("/admin/audit", "Audit log"),
];

/// Audit entries the audit page shows: the last day's.
const AUDIT_SPAN: i64 = 86_400;

pub(super) fn answer<S: Store>(page: &Page<'_, S>) -> Response {
    let path = page.head.path();
    let Some(rest) = path.strip_prefix("/admin/") else {
        return super::redirect("/admin/");
    };
    let (section, action) = rest.split_once('/').unwrap_or((rest, ""));
    match (&page.head.method, action) {
        (Method::Get | Method::Head, "") => view(page, section),
        (Method::Post, action) if !action.is_empty() => {
            let result = act(page, section, action);
            back(&format!("/admin/{section}"), result)
        }
        _ => method_not_allowed("GET, POST"),
    }
}

/// The page of `section`.
fn view<S: Store>(page: &Page<'_, S>, section: &str) -> Response {
    let (title, body) = match section {
        "" => ("Dashboard", dashboard(page)),
        "domains" => ("Domains", domains(page)),
        "dns" => ("DNS records", dns(page)),
        "users" => ("Users", users(page)),
        "aliases" => ("Aliases", aliases(page)),
        "queue" => ("Queue", queue(page)),
        "bans" => ("Bans", bans(page)),
        "webhooks" => ("Webhooks", super::webhooks::view(page)),
        "audit" => ("Audit log", audit(page)),
        _ => return not_found(),
    };
    let mut content = page.flash();
    match body {
        Ok(body) => content.push_str(&body),
        Err(error) => content.push_str(&html::flash(None, Some(&error))),
    }
    let signed_in = format!(
        "<div>Logged in as {}. {}</div>\n",
        escape(&page.session.email),
        page.button("/admin/logout", "", "Log out")
    );
    content.push_str(&signed_in);
    html_response(200, html::page(title, NAV, &content))
}

/// Carries out a form: `Ok` says what was done, `Err` why not.
fn act<S: Store>(page: &Page<'_, S>, section: &str, action: &str) -> Result<String, String> {
    let engine = page.engine;
    let form = &page.form;
    let field = |name: &str| {
        form.get(name)
            .map(str::to_string)
            .ok_or_else(|| format!("fill in {name}"))
    };
    let failed = |e: crate::Error| e.to_string();
    let done = |change: String, note: String| {
        page.audit(&change);
        Ok(note)
    };
    match (section, action) {
        ("webhooks", action) => {
            let (change, note) = super::webhooks::act(page, action, field)?;
            done(change, note)
        }
        ("domains", "add") => {
            let name = engine.add_domain(&field("name")?).map_err(failed)?;
            done(format!("domain add {name}"), format!("Added {name}."))
        }
        ("domains", "remove") => {
            let name = field("name")?;
            engine.remove_domain(&name).map_err(failed)?;
            done(format!("domain remove {name}"), format!("Removed {name}."))
        }
        ("domains", "dkim") => {
            let domain = field("domain")?;
            let algorithms = [Algorithm::Ed25519, Algorithm::Rsa];
            let keys = engine
                .generate_dkim_keys(&domain, None, &algorithms, unix_now())
                .map_err(failed)?;
            let names: Vec<&str> = keys.iter().map(|k| k.selector.as_str()).collect();
            done(
                format!("dkim generate {domain}"),
                format!(
                    "Made DKIM keys {} for {domain}: publish their records.",
                    names.join(", ")
                ),
            )
        }
        ("domains", "dkim-remove") => {
            let (domain, selector) = (field("domain")?, field("selector")?);
            engine.remove_dkim_key(&domain, &selector).map_err(failed)?;
            done(
                format!("dkim remove {domain} {selector}"),
                format!(
                    "Mail from {domain} is no longer signed with {selector}; keep its record a few days."
                ),
            )
        }
        ("users", "add") => {
            let email = field("email")?;
            let quota = quota(form.get("quota"))?;
            let admin = form.get("admin").is_some();
            let account = engine
                .add_user(&email, &field("password")?, quota, admin)
                .map_err(failed)?;
            done(
                format!("user add {}", account.email),
                format!("Added {}.", account.email),
            )
        }
        ("users", "password") => {
            let email = field("email")?;
            engine
                .set_password(&email, &field("password")?)
                .map_err(failed)?;
            done(
                format!("user passwd {email}"),
                format!("Changed the password of {email}."),
            )
        }
        ("users", "quota") => {
            let email = field("email")?;
            let quota = quota(form.get("quota"))?;
            engine.set_quota(&email, quota).map_err(failed)?;
            done(
                format!("user quota {email} {quota:?}"),
                format!("Set the quota of {email}."),
            )
        }
        ("users", change @ ("disable" | "enable")) => {
            let email = field("email")?;
            engine
                .set_disabled(&email, change == "disable")
                .map_err(failed)?;
            done(
                format!("user {change} {email}"),
                format!("{email}: {change}d."),
            )
        }
        ("users", change @ ("admin-on" | "admin-off")) => {
            let email = field("email")?;
            if email.eq_ignore_ascii_case(&page.session.email) {
                return Err("You cannot change your own administrator flag here.".into());
            }
            let on = change == "admin-on";
            engine.set_admin(&email, on).map_err(failed)?;
            let state = if on { "on" } else { "off" };
            done(
                format!("user admin {email} {state}"),
                format!("{email}: administrator {state}."),
            )
        }
        ("users", "totp-off") => {
            let email = field("email")?;
            engine.set_totp(&email, None).map_err(failed)?;
            done(
                format!("user totp {email} off"),
                format!("{email} logs in with the password alone now."),
            )
        }
        ("users", "remove") => {
            let email = field("email")?;
            if email.eq_ignore_ascii_case(&page.session.email) {
                return Err("You cannot remove your own account here.".into());
            }
            engine.remove_user(&email).map_err(failed)?;
            done(
                format!("user remove {email}"),
                format!("Removed {email} and all its mail."),
            )
        }
        ("aliases", "add") => {
            let alias = engine
                .add_alias(&field("source")?, &field("target")?)
                .map_err(failed)?;
            let (source, target) = (&alias.source, &alias.target);
            done(
                format!("alias add {source} {target}"),
                format!("{source} now leads to {target}."),
            )
        }
        ("aliases", "remove") => {
            let (source, target) = (field("source")?, field("target")?);
            engine.remove_alias(&source, &target).map_err(failed)?;
            done(
                format!("alias remove {source} {target}"),
                format!("Removed {source} → {target}."),
            )
        }
        ("queue", "retry") => {
            let id = form.get("id").map(str::parse).transpose().map_err(failed)?;
            let due = engine.retry_queued(id, unix_now()).map_err(failed)?;
            let which = id.map_or("all".to_string(), |id| id.to_string());
            done(
                format!("queue retry {which}"),
                format!("{due} recipients are due now."),
            )
        }
        ("queue", "delete") => {
            let id = field("id")?.parse().map_err(failed)?;
            engine.delete_queued(id).map_err(failed)?;
            done(
                format!("queue delete {id}"),
                format!("Removed {id} from the queue."),
            )
        }
        ("bans", "add") => {
            let network = field("network")?;
            let hours = form
                .get("hours")
                .map(|h| {
                    h.parse::<i64>()
                        .map_err(|_| "hours is a number".to_string())
                })
                .transpose()?;
            let reason = form.get("reason").unwrap_or("banned in the admin panel");
            let ban = engine.ban(&network, hours.map(|h| h * 3600), reason)?;
            done(
                format!("ban add {} for {hours:?} h", ban.network),
                format!("Banned {}.", ban.network),
            )
        }
        ("bans", "remove") => {
            let network = field("network")?;
            match engine.unban(&network)? {
                true => done(
                    format!("ban remove {network}"),
                    format!("Lifted the ban of {network}."),
                ),
                false => Err(format!("{network} is not banned.")),
            }
        }
        _ => Err("There is no such action.".into()),
    }
}

/// A quota typed into a form: bytes, with K, M or G; empty or 0 is unlimited.
fn quota(text: Option<&str>) -> Result<Option<u64>, String> {
    let bytes = text.map(parse_size).transpose()?;
    Ok(bytes.filter(|&bytes| bytes > 0))
}

type Section = Result<String, String>;

fn dashboard<S: Store>(page: &Page<'_, S>) -> Section {
    let engine = page.engine;
    let failed = |e: crate::Error| e.to_string();
    let domains = engine.domains().map_err(failed)?;
    let users = engine.users(None).map_err(failed)?;
    let queue = engine.queue().map_err(failed)?;
    let web = engine.web();
    let now = unix_now();
    let pending: usize = queue
        .iter()
        .map(|m| {
            m.recipients
                .iter()
                .filter(|r| r.state == State::Pending)
                .count()
        })
        .sum();
    let mut out = String::from("<table>\n<tbody>\n");
    let mut row = |name: &str, value: String| {
        let _ = writeln!(out, "<tr><th>{}</th><td>{value}</td></tr>", escape(name));
    };
    row("Server", escape(engine.hostname()));
    row("Version", env!("CARGO_PKG_VERSION").to_string());
    row("Up for", span(now.saturating_sub(web.started)));
    row("Domains", domains.len().to_string());
    row("Users", users.len().to_string());
    let totals = engine.metrics().totals();
    row(
        "Mail since start",
        format!(
            "{} received, {} refused, {} delivered elsewhere, {} bounced",
            totals.received, totals.refused, totals.sent, totals.bounced
        ),
    );
    row(
        "Queue",
        format!("{} messages, {pending} recipients waiting", queue.len()),
    );
    let certificate = engine.certificate().map_or("none loaded".to_string(), |c| {
        let days = (c.not_after - now).div_euclid(86_400);
        format!(
            "{} — expires {} ({days} days)",
            escape(&c.names.join(", ")),
            rfc3339(c.not_after)
        )
    });
    row("Certificate", certificate);
    let disk = engine
        .store()
        .disk_space()
        .map_or("unknown".to_string(), |disk| {
            format!("{} free of {}", size(disk.available), size(disk.total))
        });
    row("Disk (data directory)", disk);
    out.push_str("</tbody>\n</table>\n<h2>Recent changes and logins</h2>\n");
    let mut entries = engine
        .audit_entries(now - AUDIT_SPAN, None)
        .map_err(|e| e.to_string())?;
    entries.reverse();
    entries.truncate(10);
    out.push_str(&audit_table(&entries));
    Ok(out)
}

fn domains<S: Store>(page: &Page<'_, S>) -> Section {
    let engine = page.engine;
    let domains = engine.domains().map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for domain in &domains {
        let has_keys = !engine
            .dkim_keys(Some(domain))
            .map_err(|e| e.to_string())?
            .is_empty();
        let mut dkim = String::new();
        if has_keys {
            for (key, record) in engine.dkim_records(domain).map_err(|e| e.to_string())? {
                let fields = format!(
                    "{}{}",
                    hidden("domain", &key.domain),
                    hidden("selector", &key.selector)
                );
                let _ = write!(
                    dkim,
                    "<div><code>{} IN TXT \"{}\"</code> ({}) {}</div>",
                    escape(&record.name),
                    escape(&record.value),
                    escape(key.algorithm.name()),
                    page.button(
                        "/admin/domains/dkim-remove",
                        &fields,
                        "Stop signing with it"
                    )
                );
            }
        } else {
            dkim = page.button(
                "/admin/domains/dkim",
                &hidden("domain", domain),
                "Make DKIM keys",
            );
        }
        let remove = page.button("/admin/domains/remove", &hidden("name", domain), "Remove");
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("domain", domain)
            .finish();
        let records = format!(
            "<a href=\"/admin/dns?{}\">All records, checked</a>",
            escape(&query)
        );
        rows.push(vec![escape(domain), dkim, records, remove]);
    }
    let mut out = table(&["Domain", "DKIM records to publish", "DNS", ""], &rows);
    out.push_str("<h2>Add a domain</h2>\n");
    out.push_str(&page.form(
        "/admin/domains/add",
        &input("Domain", "name", "text", true),
        "Add",
    ));
    Ok(out)
}

/// Every record a domain needs, and what DNS says of each now.
fn dns<S: Store>(page: &Page<'_, S>) -> Section {
    let Some(domain) = page.query("domain") else {
        return Err("Choose a domain on the Domains page.".into());
    };
    let engine = page.engine;
    let wanted = engine.wanted_records(&domain).map_err(|e| e.to_string())?;
    let found = engine.check_records(&wanted);
    let rows: Vec<Vec<String>> = wanted
        .iter()
        .zip(&found)
        .map(|(record, found)| {
            let now = match found {
                Found::Matches => "✓ published".to_string(),
                Found::Differs(other) => format!("differs: {}", escape(other)),
                Found::Resolves(addresses) => format!("resolves to {}", escape(addresses)),
                Found::Missing => "missing".to_string(),
                Found::Unchecked => "not checked".to_string(),
                Found::Failed(why) => format!("lookup failed: {}", escape(why)),
            };
            vec![
                format!("<code>{}</code>", escape(&record.name)),
                escape(record.kind),
                format!("<code>{}</code>", escape(&record.value)),
                escape(record.why),
                now,
            ]
        })
        .collect();
    Ok(format!(
        "<p>What <strong>{}</strong> needs published, and what DNS says now.</p>\n{}",
        escape(&domain),
        table(&["Name", "Type", "Value", "For", "In DNS now"], &rows)
    ))
}

fn users<S: Store>(page: &Page<'_, S>) -> Section {
    let users = page.engine.users(None).map_err(|e| e.to_string())?;
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|user| {
            let email = hidden("email", &user.email);
            let quota = user.quota.map_or("unlimited".into(), size);
            let mut state = String::from(if user.disabled { "disabled" } else { "active" });
            if user.admin {
                state.push_str(", administrator");
            }
            if user.totp.is_some() {
                state.push_str(", one-time codes");
            }
            let toggle = if user.disabled { "enable" } else { "disable" };
            let admin = if user.admin { "admin-off" } else { "admin-on" };
            let admin_label = if user.admin {
                "Not administrator"
            } else {
                "Make administrator"
            };
            let actions = [
                page.button(
                    &format!("/admin/users/{toggle}"),
                    &email,
                    &capitalised(toggle),
                ),
                page.button(&format!("/admin/users/{admin}"), &email, admin_label),
                page.button(
                    "/admin/users/password",
                    &format!(
                        "{email}{}",
                        input("New password", "password", "password", true)
                    ),
                    "Set password",
                ),
                page.button(
                    "/admin/users/quota",
                    &format!("{email}{}", input("Quota", "quota", "text", false)),
                    "Set quota",
                ),
                page.button("/admin/users/remove", &email, "Remove"),
            ];
            let mut actions = actions.concat();
            if user.totp.is_some() {
                // For a user who lost their phone.
                let off = page.button("/admin/users/totp-off", &email, "Turn off one-time codes");
                actions.push_str(&off);
            }
            vec![
                escape(&user.email),
                format!("{} of {}", size(user.used), escape(&quota)),
                escape(&state),
                actions,
            ]
        })
        .collect();
    let mut out = table(&["User", "Used", "State", ""], &rows);
    out.push_str("<h2>Add a user</h2>\n");
    let fields = [
        input("Address", "email", "email", true),
        input("Password", "password", "password", true),
        input("Quota (500M, 2G; empty: unlimited)", "quota", "text", false),
        "<label><input type=\"checkbox\" name=\"admin\" value=\"on\"> Administrator</label> "
            .to_string(),
    ];
    out.push_str(&page.form("/admin/users/add", &fields.concat(), "Add"));
    Ok(out)
}

fn aliases<S: Store>(page: &Page<'_, S>) -> Section {
    let aliases = page.engine.aliases(None).map_err(|e| e.to_string())?;
    let rows: Vec<Vec<String>> = aliases
        .iter()
        .map(|alias| {
            let fields = format!(
                "{}{}",
                hidden("source", &alias.source),
                hidden("target", &alias.target)
            );
            vec![
                escape(&alias.source),
                escape(&alias.target),
                page.button("/admin/aliases/remove", &fields, "Remove"),
            ]
        })
        .collect();
    let mut out = table(&["Alias", "Leads to", ""], &rows);
    out.push_str("<h2>Add an alias</h2>\n<p>An alias of <code>@domain</code> catches all of a domain's mail; a target in another domain forwards there.</p>\n");
    let fields = [
        input("Alias", "source", "text", true),
        input("Leads to", "target", "text", true),
    ];
    out.push_str(&page.form("/admin/aliases/add", &fields.concat(), "Add"));
    Ok(out)
}

fn queue<S: Store>(page: &Page<'_, S>) -> Section {
    let queue = page.engine.queue().map_err(|e| e.to_string())?;
    let rows: Vec<Vec<String>> = queue
        .iter()
        .map(|message| {
            let id = message.id.to_string();
            let recipients: Vec<String> = message
                .recipients
                .iter()
                .map(|r| {
                    let state = match r.state {
                        State::Pending => format!("pending, next try {}", rfc3339(r.next_attempt)),
                        State::Delivered => "delivered".to_string(),
                        State::Failed => "failed".to_string(),
                    };
                    let last = r.last_result.as_deref().unwrap_or("");
                    format!(
                        "<div>{} — {} ({} tries) {}</div>",
                        escape(&r.address),
                        escape(&state),
                        r.attempts,
                        escape(last)
                    )
                })
                .collect();
            let sender = match message.envelope.sender.as_str() {
                "" => "<>",
                sender => sender,
            };
            let actions = [
                page.button("/admin/queue/retry", &hidden("id", &id), "Retry now"),
                page.button("/admin/queue/delete", &hidden("id", &id), "Delete"),
            ];
            vec![
                escape(&id),
                escape(sender),
                rfc3339(message.created),
                recipients.concat(),
                actions.concat(),
            ]
        })
        .collect();
    let mut out = format!("<p>{} messages waiting to be sent.</p>\n", queue.len());
    out.push_str(&table(&["Id", "From", "Queued", "Recipients", ""], &rows));
    if !queue.is_empty() {
        out.push_str(&page.form("/admin/queue/retry", "", "Retry everything now"));
    }
    Ok(out)
}

fn bans<S: Store>(page: &Page<'_, S>) -> Section {
    let bans = page.engine.bans().map_err(|e| e.to_string())?;
    let rows: Vec<Vec<String>> = bans
        .iter()
        .map(|ban| {
            let until = if ban.until == crate::bans::FOREVER {
                "until lifted".to_string()
            } else {
                rfc3339(ban.until)
            };
            vec![
                escape(&ban.network),
                until,
                escape(&ban.reason),
                page.button(
                    "/admin/bans/remove",
                    &hidden("network", &ban.network),
                    "Lift",
                ),
            ]
        })
        .collect();
    let mut out = table(&["Network", "Until", "Why", ""], &rows);
    out.push_str("<h2>Ban an address or network</h2>\n");
    let fields = [
        input("Address or network", "network", "text", true),
        input("For hours (empty: until lifted)", "hours", "number", false),
        input("Why", "reason", "text", false),
    ];
    out.push_str(&page.form("/admin/bans/add", &fields.concat(), "Ban"));
    Ok(out)
}

fn audit<S: Store>(page: &Page<'_, S>) -> Section {
    let since = unix_now() - AUDIT_SPAN;
    let mut entries = page
        .engine
        .audit_entries(since, None)
        .map_err(|e| e.to_string())?;
    entries.reverse();
    Ok(format!(
        "<p>The last day, newest first (<code>postern audit</code> reads further back).</p>\n{}",
        audit_table(&entries)
    ))
}

fn audit_table(entries: &[crate::store::AuditEntry]) -> String {
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                rfc3339(e.time),
                escape(&e.kind),
                escape(&e.actor),
                escape(e.client.as_deref().unwrap_or("")),
                escape(&e.detail),
            ]
        })
        .collect();
    table(&["When", "What", "Who", "From", "Detail"], &rows)
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_are_read_as_people_write_them() {
        assert_eq!(quota(None), Ok(None));
        assert_eq!(quota(Some("0")), Ok(None));
        assert_eq!(quota(Some("500M")), Ok(Some(500 << 20)));
        assert_eq!(quota(Some("2g")), Ok(Some(2 << 30)));
        assert_eq!(quota(Some("1000")), Ok(Some(1000)));
        assert!(quota(Some("lots")).is_err());
        assert!(quota(Some("99999999999999999G")).is_err());
    }
}
