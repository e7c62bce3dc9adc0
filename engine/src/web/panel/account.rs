//! A user's own page (`/account/`): their address, what they use of their quota, a new
//! password (the current one asked first), one-time codes as a second factor (set up by
//! scanning a QR code, turned off with a code), their Sieve filters (edited, checked,
//! turned off), their Screener (on or off, each waiting sender approved or rejected with a
//! button), their important senders (added, removed), their disposable addresses (made with a note, counted, turned off and on
//! with one button), their snoozed mail (woken with a button; the latest of the inbox
//! snoozed for an hour to a week), their mail waiting to go (outbox: cancelled with a
//! button, the undo delay), and the Apple profile that sets up their iPhone, iPad or Mac.

use proto_dav::{Method, Response};

use super::html::{self, escape, input};
use super::second_factor::{self, Refusal};
use super::sessions::LIFETIME;
use super::{Page, back, cookie, html_response, method_not_allowed, not_found};
use crate::directory::password;
use crate::mail::date::unix_now;
use crate::store::{Account, Store, Verdict};
use crate::web::mobileconfig;

const HOME: &str = "/account/";

pub(super) fn answer<S: Store>(page: &Page<'_, S>) -> Response {
    let engine = page.engine;
    let account = match engine.user(&page.session.email) {
        Ok(account) => account,
        Err(_) => return super::redirect("/account/login"),
    };
    match (page.head.path(), &page.head.method) {
        ("/account/" | "/account", Method::Get | Method::Head) => home(page, &account),
        ("/account/password", Method::Post) => change_password(page, &account),
        ("/account/totp/start", Method::Post) => start_codes(page, &account),
        ("/account/totp/confirm", Method::Post) => confirm_codes(page, &account),
        ("/account/totp/stop", Method::Post) => stop_codes(page, &account),
        ("/account/sieve", Method::Post) => save_filters(page, &account),
        ("/account/sieve/off", Method::Post) => filters_off(page, &account),
        ("/account/aliases/new", Method::Post) => new_alias(page, &account),
        ("/account/aliases/switch", Method::Post) => switch_alias(page, &account),
        ("/account/vips/add", Method::Post) => vip(page, &account, true),
        ("/account/vips/remove", Method::Post) => vip(page, &account, false),
        ("/account/screener", Method::Post) => switch_screener(page, &account),
        ("/account/outbox/cancel", Method::Post) => super::outbox::cancel(page, &account),
        ("/account/undo-send", Method::Post) => super::outbox::undo(page, &account),
        ("/account/snooze", Method::Post) => super::snooze::snooze(page, &account),
        ("/account/snooze/wake", Method::Post) => super::snooze::wake(page, &account),
        ("/account/screener/approve", Method::Post) => judge(page, &account, Verdict::Approved),
        ("/account/screener/reject", Method::Post) => judge(page, &account, Verdict::Rejected),
        ("/account/apple.mobileconfig", Method::Get | Method::Head) => {
            mobileconfig::profile(engine, &account)
        }
        ("/account/" | "/account" | "/account/apple.mobileconfig", _) => method_not_allowed("GET"),
        ("/account/password" | "/account/totp/start" | "/account/totp/confirm", _)
        | ("/account/totp/stop" | "/account/sieve" | "/account/sieve/off", _)
        | ("/account/aliases/new" | "/account/aliases/switch", _)
        | ("/account/vips/add" | "/account/vips/remove" | "/account/screener", _)
        | ("/account/screener/approve" | "/account/screener/reject", _)
        | ("/account/outbox/cancel" | "/account/undo-send", _)
        | ("/account/snooze" | "/account/snooze/wake", _) => method_not_allowed("POST"),
        _ => not_found(),
    }
}

fn home<S: Store>(page: &Page<'_, S>, account: &Account) -> Response {
    home_with(page, account, None)
}

/// The page; `draft`: a script that was refused, shown again with why.
fn home_with<S: Store>(
    page: &Page<'_, S>,
    account: &Account,
    draft: Option<(&str, &str)>,
) -> Response {
    let quota = account
        .quota
        .map_or("no limit".to_string(), |q| format!("{q} bytes"));
    let mut body = page.flash();
    body.push_str(&format!(
        "<p>{}: {} bytes used of {}.</p>\n",
        escape(&account.email),
        account.used,
        escape(&quota)
    ));
    body.push_str("<h2>Set up a device</h2>\n<p><a href=\"/account/apple.mobileconfig\">Profile for iPhone, iPad and Mac</a> (mail, calendars and contacts); other mail apps set themselves up from your address and password.</p>\n");
    body.push_str("<h2>Change your password</h2>\n");
    let fields = [
        input("Current password", "current", "password", true),
        input("New password", "password", "password", true),
    ];
    body.push_str(&page.form("/account/password", &fields.concat(), "Change"));
    body.push_str("<h2>One-time codes</h2>\n");
    if account.totp.is_some() {
        body.push_str(
            "<p>On: logging in to these pages asks for a code from your authenticator app.</p>\n",
        );
        let code = input("Code", "code", "text", true);
        body.push_str(&page.form("/account/totp/stop", &code, "Turn off"));
    } else {
        body.push_str("<p>Off. With them on, logging in to these pages also asks for a code from an authenticator app on your phone.</p>\n");
        body.push_str(&page.form("/account/totp/start", "", "Set up"));
    }
    body.push_str(&filters(page, account, draft));
    body.push_str(&screener(page, account));
    body.push_str(&important_senders(page, account));
    body.push_str(&disposable_aliases(page, account));
    body.push_str(&super::snooze::section(page, account));
    body.push_str(&super::outbox::section(page, account));
    body.push_str(&page.button("/account/logout", "", "Log out"));
    let status = if draft.is_some() { 422 } else { 200 };
    html_response(status, html::page("Your account", &[], &body))
}

/// Name of the script these pages edit when the user has no active one.
const SCRIPT: &str = "main";

/// The filters section: the active script (or a refused draft) to edit, and a way to
/// turn filtering off.
fn filters<S: Store>(page: &Page<'_, S>, account: &Account, draft: Option<(&str, &str)>) -> String {
    let scripts = page
        .engine
        .sieve_scripts(&account.email)
        .unwrap_or_default();
    let active = scripts.iter().find(|s| s.active);
    let mut out = String::from("<h2>Filters</h2>\n");
    out.push_str(match active {
        Some(_) => "<p>On: this Sieve script decides where your new mail goes (folders, flags, an answer while you are away).</p>\n",
        None => "<p>Off: new mail goes to your inbox. A Sieve script can sort it into folders, flag it, or answer while you are away (<code>require \"vacation\"; vacation \"I am away.\";</code>).</p>\n",
    });
    if let Some((_, error)) = draft {
        out.push_str(&format!("<p class=\"error\">{}</p>\n", escape(error)));
    }
    let text = draft.map_or(active.map_or("", |s| s.source.as_str()), |(text, _)| text);
    let area = format!(
        "<label>Sieve script <textarea name=\"script\" rows=\"12\" cols=\"72\" required>{}</textarea></label> ",
        escape(text)
    );
    out.push_str(&page.form("/account/sieve", &area, "Save and turn on"));
    if active.is_some() {
        out.push_str(&page.form("/account/sieve/off", "", "Turn off"));
    }
    out
}

/// Stores the script as the active one, once checked; a refused one is shown again.
fn save_filters<S: Store>(page: &Page<'_, S>, account: &Account) -> Response {
    let text = page.form.get("script").unwrap_or_default();
    if text.trim().is_empty() {
        return back(
            HOME,
            Err("An empty script filters nothing: turn filters off instead.".into()),
        );
    }
    let scripts = page
        .engine
        .sieve_scripts(&account.email)
        .unwrap_or_default();
    let name = scripts
        .iter()
        .find(|s| s.active)
        .map_or(SCRIPT, |s| s.name.as_str());
    match page
        .engine
        .put_sieve_script(&account.email, name, text, true)
    {
        Ok(()) => {
            page.audit(&format!("sieve put {} {name}, active", account.email));
            back(HOME, Ok("Your filters are saved and on.".into()))
        }
        Err(e) => home_with(page, account, Some((text, &e.to_string()))),
    }
}

fn filters_off<S: Store>(page: &Page<'_, S>, account: &Account) -> Response {
    match page.engine.activate_sieve_script(&account.email, None) {
        Ok(()) => {
            page.audit(&format!("sieve deactivate {}", account.email));
            back(HOME, Ok("Your filters are off.".into()))
        }
        Err(e) => back(HOME, Err(e.to_string())),
    }
}

/// The Screener section: on or off, and each sender waiting with a button to approve and
/// one to reject.
fn screener<S: Store>(page: &Page<'_, S>, account: &Account) -> String {
    let screen = page.engine.screen(&account.email).unwrap_or_default();
    let mut out = String::from("<h2>Screener</h2>\n");
    if !screen.on {
        out.push_str("<p>Off. With it on, mail from someone new waits in the Screener folder until you say yes (it goes to your inbox, and so will theirs) or no (Junk). People you write to, and important senders, pass.</p>\n");
        out.push_str(&page.form("/account/screener", &html::hidden("on", "yes"), "Turn on"));
        return out;
    }
    out.push_str("<p>On: mail from someone new waits here until you decide (moving it out of the Screener folder in your mail app says yes too).</p>\n");
    let rows: Vec<Vec<String>> = screen
        .waiting
        .iter()
        .map(|(sender, count)| {
            let fields = html::hidden("sender", sender);
            vec![
                escape(sender),
                count.to_string(),
                page.button("/account/screener/approve", &fields, "Yes"),
                page.button("/account/screener/reject", &fields, "No"),
            ]
        })
        .collect();
    out.push_str(&html::table(&["Waiting", "Messages", "", ""], &rows));
    out.push_str(&page.form("/account/screener", &html::hidden("on", "no"), "Turn off"));
    out
}

fn switch_screener<S: Store>(page: &Page<'_, S>, account: &Account) -> Response {
    let on = page.form.get("on") == Some("yes");
    match page.engine.set_screener(&account.email, on) {
        Ok(()) => {
            page.audit(&format!(
                "screener {} {}",
                if on { "on" } else { "off" },
                account.email
            ));
            let said = match on {
                true => "The Screener is on.",
                false => "The Screener is off: all mail comes through.",
            };
            back(HOME, Ok(said.into()))
        }
        Err(e) => back(HOME, Err(e.to_string())),
    }
}

fn judge<S: Store>(page: &Page<'_, S>, account: &Account, verdict: Verdict) -> Response {
    let sender = page.form.get("sender").unwrap_or_default();
    match page.engine.judge_sender(&account.email, sender, verdict) {
        Ok(moved) => {
            let (word, place) = match verdict {
                Verdict::Approved => ("approve", "your inbox"),
                Verdict::Rejected => ("reject", "Junk"),
            };
            page.audit(&format!("screener {word} {} {sender}", account.email));
            back(
                HOME,
                Ok(format!(
                    "{sender}: {moved} messages moved to {place}, and so will theirs."
                )),
            )
        }
        Err(e) => back(HOME, Err(e.to_string())),
    }
}

/// The important senders section: each with a button that removes it, and a form for
/// another.
fn important_senders<S: Store>(page: &Page<'_, S>, account: &Account) -> String {
    let senders = page.engine.vip_senders(&account.email).unwrap_or_default();
    let mut out = String::from(
        "<h2>Important senders</h2>\n<p>Mail from these addresses is marked important (the <code>$Important</code> keyword: a flag or star in your mail app).</p>\n",
    );
    let rows: Vec<Vec<String>> = senders
        .iter()
        .map(|sender| {
            let fields = html::hidden("address", sender);
            vec![
                escape(sender),
                page.button("/account/vips/remove", &fields, "Remove"),
            ]
        })
        .collect();
    out.push_str(&html::table(&["Address", ""], &rows));
    let field = input("Address", "address", "email", true);
    out.push_str(&page.form("/account/vips/add", &field, "Add"));
    out
}

fn vip<S: Store>(page: &Page<'_, S>, account: &Account, vip: bool) -> Response {
    let address = page.form.get("address").unwrap_or_default();
    match page.engine.set_vip_sender(&account.email, address, vip) {
        Ok(sender) => {
            let change = if vip { "add" } else { "remove" };
            page.audit(&format!("vip {change} {} {sender}", account.email));
            let said = match vip {
                true => format!("Mail from {sender} is marked important."),
                false => format!("{sender} is no longer an important sender."),
            };
            back(HOME, Ok(said))
        }
        Err(e) => back(HOME, Err(e.to_string())),
    }
}

/// The disposable addresses section: each with what it is for, how often and when last it
/// was used, and a button that turns it off or on; a form for a new one.
fn disposable_aliases<S: Store>(page: &Page<'_, S>, account: &Account) -> String {
    let aliases = page
        .engine
        .disposable_aliases(&account.email)
        .unwrap_or_default();
    let mut out = String::from(
        "<h2>Disposable addresses</h2>\n<p>Give a shop or a sign-up form an address of its own; it delivers here, and when it draws spam, turn it off: mail to it is then refused.</p>\n",
    );
    let rows: Vec<Vec<String>> = aliases
        .iter()
        .map(|alias| {
            let last = alias
                .last_used
                .map_or_else(|| "never".to_string(), crate::mail::date::rfc5322);
            let (state, button) = match alias.enabled {
                true => ("on", "Turn off"),
                false => ("off", "Turn on"),
            };
            let fields = html::hidden("address", &alias.address);
            vec![
                escape(&alias.address),
                escape(&alias.note),
                alias.uses.to_string(),
                escape(&last),
                state.to_string(),
                page.button("/account/aliases/switch", &fields, button),
            ]
        })
        .collect();
    out.push_str(&html::table(
        &["Address", "For", "Messages", "Last", "", ""],
        &rows,
    ));
    let note = input("What it is for", "note", "text", false);
    out.push_str(&page.form("/account/aliases/new", &note, "New address"));
    out
}

fn new_alias<S: Store>(page: &Page<'_, S>, account: &Account) -> Response {
    let note = page.form.get("note").unwrap_or_default();
    match page.engine.new_disposable_alias(&account.email, note) {
        Ok(alias) => {
            page.audit(&format!("alias new for {}", account.email));
            back(HOME, Ok(format!("New address: {}", alias.address)))
        }
        Err(e) => back(HOME, Err(e.to_string())),
    }
}

fn switch_alias<S: Store>(page: &Page<'_, S>, account: &Account) -> Response {
    let address = page.form.get("address").unwrap_or_default();
    let current = page.engine.store().disposable_alias(address);
    let Ok(Some(current)) = current else {
        return back(HOME, Err("There is no such address.".into()));
    };
    let enabled = !current.enabled;
    match page
        .engine
        .set_disposable_alias_enabled(Some(&account.email), address, enabled)
    {
        Ok(alias) => {
            let change = if enabled { "enable" } else { "disable" };
            page.audit(&format!("alias {change} {}", alias.address));
            let said = match enabled {
                true => format!("{} is on again.", alias.address),
                false => format!("{} is off: mail to it is refused.", alias.address),
            };
            back(HOME, Ok(said))
        }
        Err(e) => back(HOME, Err(e.to_string())),
    }
}

/// A new password, once the current one is checked.
fn change_password<S: Store>(page: &Page<'_, S>, account: &Account) -> Response {
    let (Some(current), Some(new)) = (page.form.get("current"), page.form.get("password")) else {
        return back(HOME, Err("Fill in both passwords.".into()));
    };
    if !password::verify(current, &account.password_hash) {
        return back(HOME, Err("The current password is not right.".into()));
    }
    if let Err(e) = page.engine.set_password(&account.email, new) {
        return back(HOME, Err(e.to_string()));
    }
    page.audit(&format!("user passwd {}", account.email));
    stay_logged_in(
        page,
        account,
        back(HOME, Ok("Your password is changed.".into())),
    )
}

/// Shows a new secret as a QR code, to be confirmed with its first code.
fn start_codes<S: Store>(page: &Page<'_, S>, account: &Account) -> Response {
    let engine = page.engine;
    let Some(secret) = engine.panel().codes.start(&account.email, unix_now()) else {
        return back(HOME, Err("No randomness for a secret: try again.".into()));
    };
    let url = second_factor::otpauth_url(&secret, &account.email, engine.hostname());
    let qr = second_factor::qr_svg(&url).unwrap_or_default();
    let mut body = String::from(
        "<p>Scan this with your authenticator app (or type the key into it), then enter the code it shows.</p>\n",
    );
    // The SVG is ours, made from the URL; nothing in it comes from a request.
    body.push_str(&format!("<div>{qr}</div>\n"));
    body.push_str(&format!(
        "<p>Key: <code>{}</code></p>\n",
        escape(&second_factor::base32(&secret))
    ));
    let code = input("Code", "code", "text", true);
    body.push_str(&page.form("/account/totp/confirm", &code, "Turn on"));
    html_response(200, html::page("Set up one-time codes", &[], &body))
}

/// Turns codes on once the app shows the right one.
fn confirm_codes<S: Store>(page: &Page<'_, S>, account: &Account) -> Response {
    let engine = page.engine;
    let codes = &engine.panel().codes;
    let now = unix_now();
    let Some(secret) = codes.pending(&account.email, now) else {
        return back(HOME, Err("The set-up took too long: start again.".into()));
    };
    let code = page.form.get("code").unwrap_or_default();
    if let Err(refusal) = codes.check(&account.email, &secret, code, now) {
        return back(HOME, Err(refused(refusal).into()));
    }
    codes.finish(&account.email);
    if let Err(e) = engine.set_totp(&account.email, Some(secret)) {
        return back(HOME, Err(e.to_string()));
    }
    page.audit(&format!("user totp {} on", account.email));
    let done = back(HOME, Ok("One-time codes are on.".into()));
    stay_logged_in(page, account, done)
}

/// Turns codes off, with a code as proof.
fn stop_codes<S: Store>(page: &Page<'_, S>, account: &Account) -> Response {
    let engine = page.engine;
    let Some(secret) = &account.totp else {
        return back(HOME, Ok("One-time codes are off.".into()));
    };
    let code = page.form.get("code").unwrap_or_default();
    if let Err(refusal) = engine
        .panel()
        .codes
        .check(&account.email, secret, code, unix_now())
    {
        return back(HOME, Err(refused(refusal).into()));
    }
    if let Err(e) = engine.set_totp(&account.email, None) {
        return back(HOME, Err(e.to_string()));
    }
    page.audit(&format!("user totp {} off", account.email));
    stay_logged_in(
        page,
        account,
        back(HOME, Ok("One-time codes are off.".into())),
    )
}

/// What a refused code is told.
pub(super) fn refused(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::Wrong => "That code is not right (or was used already).",
        Refusal::Paused => "Too many wrong codes: wait five minutes.",
    }
}

/// A change to the account ended its sessions, this one included: a new one keeps this
/// browser logged in.
fn stay_logged_in<S: Store>(page: &Page<'_, S>, account: &Account, response: Response) -> Response {
    match page
        .engine
        .panel()
        .sessions
        .start(&account.email, account.admin, unix_now())
    {
        Some(secret) => {
            response.header("Set-Cookie", cookie(&secret, page.client.secure, LIFETIME))
        }
        None => response,
    }
}
