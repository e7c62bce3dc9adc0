//! Sending mail over HTTP (`POST /api/v1/send`, and `/api/v1/send/batch` for several): a
//! JSON description of a message — sender, recipients, subject, text and HTML bodies,
//! attachments, extra header fields — sent as the token's user ([`super::outgoing`]).

use proto_dav::Method;
use serde_json::{Map, Value, json};

use super::outgoing::{
    MAX_BATCH, Mailbox, Outgoing, attachment, header_field, one_mailbox, parse_mailboxes,
};
use super::{Answer, Call, json_response, method_not_allowed, problem};
use crate::mail::date::rfc3339;
use crate::store::{Account, Store};
use crate::submit::Refused;
use mail_parser::DateTime;

pub(super) fn send<S: Store>(call: &Call<'_, S>, account: &Account, rest: &[&str]) -> Answer {
    match (rest, call.method()) {
        ([], Method::Post) => {
            let message = call.object()?;
            let (status, body) = submit(call, account, &message);
            Ok(json_response(status, &body))
        }
        (["batch"], Method::Post) => {
            let messages = match serde_json::from_slice(call.body) {
                Ok(Value::Array(messages)) => messages,
                Ok(_) => return Err(problem(400, "the body must be a JSON array of messages")),
                Err(e) => return Err(problem(400, &format!("the body is not JSON: {e}"))),
            };
            if messages.len() > MAX_BATCH {
                let text = format!("a batch holds at most {MAX_BATCH} messages");
                return Err(problem(413, &text));
            }
            let results: Vec<Value> = messages
                .iter()
                .map(|message| {
                    let (status, mut body) = match message {
                        Value::Object(message) => submit(call, account, message),
                        _ => (
                            400,
                            json!({ "error": "each message must be a JSON object" }),
                        ),
                    };
                    body["status"] = json!(status);
                    body
                })
                .collect();
            Ok(json_response(200, &Value::Array(results)))
        }
        ([] | ["batch"], _) => Err(method_not_allowed("POST")),
        _ => Err(problem(404, "no such resource")),
    }
}

/// Sends one message described in JSON: the status and body of its answer.
fn submit<S: Store>(
    call: &Call<'_, S>,
    account: &Account,
    message: &Map<String, Value>,
) -> (u16, Value) {
    let outgoing = match read(message) {
        Ok(outgoing) => outgoing,
        Err(error) => return (400, json!({ "error": error })),
    };
    match outgoing.send(call, account) {
        Ok(sent) => {
            let mut body =
                json!({ "message_id": format!("<{}>", sent.id), "recipients": sent.recipients });
            if let Some((id, at)) = sent.held {
                body["held"] = json!({ "id": id, "send_at": rfc3339(at) });
            }
            (202, body)
        }
        Err(refused) => refusal(&refused),
    }
}

/// A refused submission as an answer: `429` when trying later may help, `422` when it will
/// not; the recipient named when it was about one.
fn refusal(refused: &Refused) -> (u16, Value) {
    let status = if refused.is_temporary() { 429 } else { 422 };
    let mut body = json!({ "error": refused.reply.text.replace('\n', " ") });
    if let Some(recipient) = &refused.recipient {
        body["recipient"] = json!(recipient);
    }
    (status, body)
}

/// Reads the JSON description; the error says which member is wrong.
fn read(message: &Map<String, Value>) -> Result<Outgoing, String> {
    const KNOWN: &[&str] = &[
        "from",
        "to",
        "cc",
        "bcc",
        "reply_to",
        "subject",
        "text",
        "html",
        "headers",
        "attachments",
        "send_at",
    ];
    if let Some(unknown) = message.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(format!("\"{unknown}\" is not a member of a message"));
    }
    let string = |key: &str| -> Result<Option<String>, String> {
        match message.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(format!("\"{key}\" must be a string")),
        }
    };
    let from = match string("from")? {
        Some(from) => one_mailbox(&from).ok_or("\"from\" must be one address")?,
        None => return Err("\"from\" is missing".into()),
    };
    let subject = string("subject")?.unwrap_or_default();
    if subject.contains(['\r', '\n']) {
        return Err("\"subject\" must be one line".into());
    }
    let (text, html) = (string("text")?, string("html")?);
    if text.is_none() && html.is_none() {
        return Err("give \"text\", \"html\" or both".into());
    }
    Ok(Outgoing {
        from,
        to: mailboxes(message, "to")?,
        cc: mailboxes(message, "cc")?,
        bcc: mailboxes(message, "bcc")?,
        reply_to: mailboxes(message, "reply_to")?,
        subject,
        text,
        html,
        headers: headers(message)?,
        attachments: attachments(message)?,
        send_at: string("send_at")?
            .map(|at| {
                DateTime::parse_rfc3339(at.trim())
                    .filter(DateTime::is_valid)
                    .map(|d| d.to_timestamp())
                    .ok_or("\"send_at\" is a time: 2026-12-08T09:00:00Z")
            })
            .transpose()?,
    })
}

/// A list member (`to`, `cc`, `bcc`, `reply_to`): a string of addresses or an array of
/// them; absent is none.
fn mailboxes(message: &Map<String, Value>, key: &str) -> Result<Vec<Mailbox>, String> {
    let invalid = || format!("\"{key}\" holds something that is not an address");
    let strings: Vec<&str> = match message.get(key) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(text)) => vec![text.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().ok_or_else(invalid))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(format!("\"{key}\" must be a string or an array of strings")),
    };
    let mut all = Vec::new();
    for text in strings {
        all.extend(parse_mailboxes(text).ok_or_else(invalid)?);
    }
    Ok(all)
}

/// `headers`: an object of extra fields, `X-Campaign: spring` and the like.
fn headers(message: &Map<String, Value>) -> Result<Vec<(String, String)>, String> {
    let Some(given) = message.get("headers") else {
        return Ok(Vec::new());
    };
    let Value::Object(given) = given else {
        return Err("\"headers\" must be an object of strings".into());
    };
    given
        .iter()
        .map(|(name, value)| match value {
            Value::String(value) => header_field(name, value),
            _ => Err(format!("the header field {name} must be a string")),
        })
        .collect()
}

/// `attachments`: `[{"filename", "content_type", "content" (base64)}]`.
fn attachments(message: &Map<String, Value>) -> Result<Vec<super::outgoing::Attachment>, String> {
    let Some(given) = message.get("attachments") else {
        return Ok(Vec::new());
    };
    let Value::Array(given) = given else {
        return Err("\"attachments\" must be an array".into());
    };
    let mut attachments = Vec::new();
    for (n, item) in given.iter().enumerate() {
        let member = |key: &str| item.get(key).and_then(Value::as_str);
        let (Some(filename), Some(content)) = (member("filename"), member("content")) else {
            return Err(format!(
                "attachment {n} needs \"filename\" and \"content\" (base64)"
            ));
        };
        attachments.push(attachment(n, filename, member("content_type"), content)?);
    }
    Ok(attachments)
}
