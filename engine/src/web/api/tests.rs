use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::*;

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(object) => object,
        _ => unreachable!("an object"),
    }
}

fn body(response: &Response) -> Value {
    serde_json::from_slice(&response.body).unwrap()
}

#[test]
fn engine_errors_become_statuses_without_storage_details() {
    let cases = [
        (Error::Invalid("bad address".into()), 422),
        (
            Error::Store(StoreError::NotFound("account a@b".into())),
            404,
        ),
        (
            Error::Store(StoreError::AlreadyExists("domain b".into())),
            409,
        ),
        (Error::Store(StoreError::InUse("domain b".into())), 409),
        (Error::Store(StoreError::NoSuchDomain("c".into())), 422),
        (
            Error::Store(StoreError::Io("/var/lib/postern/x: disk full".into())),
            500,
        ),
    ];
    for (error, status) in cases {
        let response = failed(error);
        assert_eq!(response.status, status);
        let message = body(&response)["error"].as_str().unwrap().to_string();
        assert!(!message.contains("/var/lib"), "{message}");
    }
}

#[test]
fn members_are_checked_by_type() {
    let object = object(json!({ "name": "x", "quota": 5, "admin": "yes" }));
    assert_eq!(text(&object, "name").unwrap(), "x");
    assert_eq!(text(&object, "quota").unwrap_err().status, 400);
    assert_eq!(
        optional(&object, "quota", Value::as_u64, "a number").unwrap(),
        Some(5)
    );
    assert_eq!(
        optional(&object, "missing", Value::as_u64, "a number").unwrap(),
        None
    );
    assert_eq!(
        optional(&object, "admin", Value::as_bool, "true or false")
            .unwrap_err()
            .status,
        400
    );
}

#[test]
fn refusals_say_how_to_authenticate() {
    let response = unauthorized(None, "send a token");
    assert_eq!(response.status, 401);
    assert_eq!(body(&response), json!({ "error": "send a token" }));
    assert_eq!(
        challenge(Some("invalid_token")),
        "Bearer realm=\"Postern\", error=\"invalid_token\""
    );
}

proptest! {
    #[test]
    fn any_member_value_is_read_without_panicking(text_value in "\\PC{0,20}", number: i64) {
        let object = object(json!({ "a": text_value, "b": number, "c": null }));
        for key in ["a", "b", "c", "d"] {
            let _ = text(&object, key);
            let _ = optional(&object, key, Value::as_u64, "a number");
        }
    }
}
