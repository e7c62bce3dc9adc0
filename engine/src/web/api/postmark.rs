//! Postmark's email API (`POST /email`, `POST /email/batch`), so that a program written
//! against Postmark sends through Postern by changing its base URL: the token goes in
//! `X-Postmark-Server-Token` (a user's API token here; mail goes from that user), the
//! message in Postmark's JSON (`From`, `To`, `Cc`, `Bcc` as comma-separated lists,
//! `Subject`, `TextBody`, `HtmlBody`, `ReplyTo`, `Headers`, `Attachments`), and answers in
//! Postmark's shape (`ErrorCode` 0 and `MessageID` when sent). Postmark's own tracking and
//! grouping (`Tag`, `Metadata`, `TrackOpens`, `TrackLinks`, `MessageStream`) are accepted
//! and have no effect: Postern does not track.

use proto_dav::{Method, Response};
use serde_json::{Map, Value, json};

use super::outgoing::{
    MAX_BATCH, Outgoing, attachment, header_field, one_mailbox, parse_mailboxes,
};
use super::{Call, json_response};
use crate::mail::date::{rfc3339, unix_now};
use crate::store::{Account, Store};

/// Where Postmark's API answers.
const PATHS: [&str; 2] = ["/email", "/email/batch"];

/// The header a Postmark client sends its token in.
pub(super) const TOKEN_HEADER: &str = "x-postmark-server-token";

/// Postmark's error codes this API gives.
const INVALID_TOKEN: u32 = 10;
const INVALID_REQUEST: u32 = 300;
const INVALID_JSON: u32 = 402;
const INACTIVE_RECIPIENT: u32 = 406;

/// Whether `path` is one of Postmark's.
pub fn is_path(path: &str) -> bool {
    PATHS.contains(&path)
}

/// A Postmark error response.
pub(super) fn error(status: u16, code: u32, message: &str) -> Response {
    json_response(status, &json!({ "ErrorCode": code, "Message": message }))
}

/// A refused token, in Postmark's words.
pub(super) fn unauthorized(message: &str) -> Response {
    error(401, INVALID_TOKEN, message)
}

/// Answers a request to one of [`PATHS`] from `account`'s token.
pub(super) fn answer<S: Store>(call: &Call<'_, S>, account: &Account) -> Response {
    if call.head.method != Method::Post {
        return error(405, INVALID_REQUEST, "use POST").header("Allow", "POST");
    }
    let body: Value = match serde_json::from_slice(call.body) {
        Ok(body) => body,
        Err(e) => return error(400, INVALID_JSON, &format!("the body is not JSON: {e}")),
    };
    match (call.head.path(), body) {
        ("/email", Value::Object(message)) => {
            let (status, answer) = send(call, account, &message);
            json_response(status, &answer)
        }
        ("/email/batch", Value::Array(messages)) if messages.len() <= MAX_BATCH => {
            let answers: Vec<Value> = messages
                .iter()
                .map(|message| match message {
                    Value::Object(message) => send(call, account, message).1,
                    _ => json!({ "ErrorCode": INVALID_REQUEST, "Message": "each message must be a JSON object" }),
                })
                .collect();
            json_response(200, &Value::Array(answers))
        }
        ("/email/batch", Value::Array(_)) => error(
            422,
            INVALID_REQUEST,
            &format!("a batch holds at most {MAX_BATCH} messages"),
        ),
        _ => error(
            422,
            INVALID_REQUEST,
            "the body is not a message (or, for a batch, an array of them)",
        ),
    }
}

/// Sends one message in Postmark's JSON: the status and Postmark's answer.
fn send<S: Store>(
    call: &Call<'_, S>,
    account: &Account,
    message: &Map<String, Value>,
) -> (u16, Value) {
    let outgoing = match read(message) {
        Ok(outgoing) => outgoing,
        Err(why) => return (422, json!({ "ErrorCode": INVALID_REQUEST, "Message": why })),
    };
    let to = message
        .get("To")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match outgoing.send(call, account) {
        Ok(sent) => (
            200,
            json!({
                "To": to,
                "SubmittedAt": rfc3339(unix_now()),
                "MessageID": sent.id,
                "ErrorCode": 0,
                "Message": "OK",
            }),
        ),
        Err(refused) if refused.is_temporary() => (
            429,
            json!({ "ErrorCode": INVALID_REQUEST, "Message": refused.reply.text.replace('\n', " ") }),
        ),
        Err(refused) => {
            let code = match refused.recipient {
                Some(_) => INACTIVE_RECIPIENT,
                None => INVALID_REQUEST,
            };
            let text = refused.reply.text.replace('\n', " ");
            let message = match &refused.recipient {
                Some(recipient) => format!("{recipient}: {text}"),
                None => text,
            };
            (422, json!({ "ErrorCode": code, "Message": message }))
        }
    }
}

/// Reads Postmark's description of a message; the error names the member.
fn read(message: &Map<String, Value>) -> Result<Outgoing, String> {
    let string = |key: &str| -> Result<Option<String>, String> {
        match message.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.is_empty() => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(format!("{key} must be a string")),
        }
    };
    let list = |key: &str| -> Result<Vec<(Option<String>, String)>, String> {
        match string(key)? {
            None => Ok(Vec::new()),
            Some(text) => {
                parse_mailboxes(&text).ok_or_else(|| format!("{key}: not a list of addresses"))
            }
        }
    };
    let from = string("From")?.ok_or("From is missing")?;
    let from = one_mailbox(&from).ok_or("From must be one address")?;
    let subject = string("Subject")?.unwrap_or_default();
    if subject.contains(['\r', '\n']) {
        return Err("Subject must be one line".into());
    }
    let (text, html) = (string("TextBody")?, string("HtmlBody")?);
    if text.is_none() && html.is_none() {
        return Err("Provide either email TextBody or HtmlBody or both.".into());
    }
    let mut headers = Vec::new();
    if let Some(given) = message.get("Headers").filter(|h| !h.is_null()) {
        let Value::Array(given) = given else {
            return Err("Headers must be an array of {Name, Value}".into());
        };
        for field in given {
            let (Some(name), Some(value)) = (
                field.get("Name").and_then(Value::as_str),
                field.get("Value").and_then(Value::as_str),
            ) else {
                return Err("each header is {\"Name\": …, \"Value\": …}".into());
            };
            headers.push(header_field(name, value)?);
        }
    }
    let mut attachments = Vec::new();
    if let Some(given) = message.get("Attachments").filter(|a| !a.is_null()) {
        let Value::Array(given) = given else {
            return Err("Attachments must be an array".into());
        };
        for (n, item) in given.iter().enumerate() {
            let member = |key: &str| item.get(key).and_then(Value::as_str);
            let (Some(name), Some(content)) = (member("Name"), member("Content")) else {
                return Err(format!("attachment {n} needs Name and Content (base64)"));
            };
            attachments.push(attachment(n, name, member("ContentType"), content)?);
        }
    }
    let outgoing = Outgoing {
        from,
        to: list("To")?,
        cc: list("Cc")?,
        bcc: list("Bcc")?,
        reply_to: list("ReplyTo")?,
        subject,
        text,
        html,
        headers,
        attachments,
        send_at: None,
    };
    if outgoing.recipients().is_empty() {
        return Err("Provide at least one recipient in To, Cc or Bcc.".into());
    }
    Ok(outgoing)
}
