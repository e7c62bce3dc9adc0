//! A user's own page (`/account/`): their address, what they use of their quota, a new
//! password (the current one asked first), and the Apple profile that sets up their
//! iPhone, iPad or Mac.

use proto_dav::{Method, Response};

use super::html::{self, escape, input};
use super::sessions::LIFETIME;
use super::{Page, back, cookie, html_response, method_not_allowed, not_found};
use crate::directory::password;
use crate::mail::date::unix_now;
use crate::store::{Account, Store};
use crate::web::mobileconfig;

/// A new password, once the current one is checked. The change ends every session of the
/// account, this one included: a new one keeps this browser logged in.
fn change_password<S: Store>(page: &Page<'_, S>, account: &Account) -> Response {
    let engine = page.engine;
    let (Some(current), Some(new)) = (page.form.get("current"), page.form.get("password")) else {
        return back("/account/", Err("Fill in both passwords.".into()));
    };
    if !password::verify(current, &account.password_hash) {
        return back(
            "/account/",
            Err("The current password is not right.".into()),
        );
    }
    if let Err(e) = engine.set_password(&account.email, new) {
        return back("/account/", Err(e.to_string()));
    }
    page.audit(&format!("user passwd {}", account.email));
    let changed = back("/account/", Ok("Your password is changed.".into()));
    match engine
        .panel_sessions()
        .start(&account.email, account.admin, unix_now())
    {
        Some(secret) => changed.header("Set-Cookie", cookie(&secret, page.secure, LIFETIME)),
        None => changed,
    }
}

pub(super) fn answer<S: Store>(page: &Page<'_, S>) -> Response {
    let engine = page.engine;
    let account = match engine.user(&page.session.email) {
        Ok(account) => account,
        Err(_) => return super::redirect("/account/login"),
    };
    match (page.head.path(), &page.head.method) {
        ("/account/" | "/account", Method::Get | Method::Head) => {
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
            body.push_str(&page.button("/account/logout", "", "Log out"));
            html_response(200, html::page("Your account", &[], &body))
        }
        ("/account/password", Method::Post) => change_password(page, &account),
        ("/account/apple.mobileconfig", Method::Get | Method::Head) => {
            mobileconfig::profile(engine, &account)
        }
        ("/account/" | "/account" | "/account/apple.mobileconfig", _) => method_not_allowed("GET"),
        ("/account/password", _) => method_not_allowed("POST"),
        _ => not_found(),
    }
}
