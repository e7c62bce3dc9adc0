use proptest::prelude::*;
use proto_dav::Head;

use super::html::escape;
use super::*;
use crate::web::tests::head_with;

fn head(cookies: &[&str]) -> Head {
    let fields: Vec<(&str, &str)> = cookies.iter().map(|c| ("cookie", *c)).collect();
    head_with(&fields)
}

#[test]
fn the_session_cookie_is_found_among_others() {
    assert_eq!(
        session_cookie(&head(&["theme=dark; postern_session=abc ; lang=en"])).as_deref(),
        Some("abc")
    );
    assert_eq!(
        session_cookie(&head(&["a=b", "postern_session=xyz"])).as_deref(),
        Some("xyz")
    );
    assert_eq!(session_cookie(&head(&["xpostern_session=no"])), None);
    assert_eq!(session_cookie(&head(&[])), None);
}

#[test]
fn cookies_are_set_for_the_whole_site_and_deleted_with_max_age_0() {
    assert_eq!(
        cookie("s", true, 60),
        "postern_session=s; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
    );
    assert!(cookie("", false, 0).contains("Max-Age=0") && !cookie("", false, 0).contains("Secure"));
}

#[test]
fn areas_and_login_forms() {
    assert_eq!(Area::of("/admin"), Some(Area::Admin));
    assert_eq!(Area::of("/admin/users"), Some(Area::Admin));
    assert_eq!(Area::of("/account/"), Some(Area::Account));
    assert_eq!(Area::of("/administrator"), None);
    let form = LoginForm::parse(b"email=a%40b.test&password=p+w").unwrap();
    assert_eq!(
        (form.email.as_str(), form.password.as_str()),
        ("a@b.test", "p w")
    );
    assert!(LoginForm::parse(b"email=a%40b.test&password=").is_none());
}

#[test]
fn results_go_back_in_the_query() {
    let response = back("/admin/users", Err("no & such".into()));
    assert_eq!(response.status, 303);
    let location = &response
        .headers
        .iter()
        .find(|(n, _)| n == "Location")
        .unwrap()
        .1;
    assert_eq!(location, "/admin/users?error=no+%26+such");
}

proptest! {
    #[test]
    fn escaped_text_holds_no_markup(text in "\\PC{0,40}") {
        let escaped = escape(&text);
        prop_assert!(!escaped.contains(['<', '>', '"', '\'']));
    }

    #[test]
    fn any_cookie_header_is_read_without_panicking(value in "\\PC{0,60}") {
        let _ = session_cookie(&head(&[&value]));
    }
}
