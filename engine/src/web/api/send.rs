//! Sending mail over HTTP (`POST /api/v1/send`, and `/api/v1/send/batch` for several): a
//! JSON description of a message — sender, recipients, subject, text and HTML bodies,
//! attachments, extra header fields — written as MIME by mail-builder and submitted as the
//! token's user, under the rules of SMTP submission ([`crate::submit`]).

use base64::Engine as _;
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::raw::Raw;
use mail_parser::HeaderValue;
use mail_parser::parsers::MessageStream;
use proto_dav::Method;
use serde_json::{Map, Value, json};

use super::{Answer, Call, json_response, method_not_allowed, problem};
use crate::delivery::trace_id;
use crate::mail::date::unix_now;
use crate::store::{Account, Store};
use crate::submit::{Refused, Submission};

/// Messages one batch may hold.
const MAX_BATCH: usize = 100;

/// Header fields a message's own description sets, which `headers` may not.
const RESERVED: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "received",
    "return-path",
];

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

/// Submits one message described in JSON: the status and body of its answer.
fn submit<S: Store>(
    call: &Call<'_, S>,
    account: &Account,
    message: &Map<String, Value>,
) -> (u16, Value) {
    let outgoing = match Outgoing::read(message) {
        Ok(outgoing) => outgoing,
        Err(error) => return (400, json!({ "error": error })),
    };
    let engine = call.engine;
    let id = format!("{}@{}", trace_id(), engine.hostname());
    let bytes = match outgoing.write(&id) {
        Ok(bytes) => bytes,
        Err(e) => {
            return (
                400,
                json!({ "error": format!("cannot write the message: {e}") }),
            );
        }
    };
    let recipients = outgoing.recipients();
    let submission = Submission {
        user: &account.email,
        from: &outgoing.from.1,
        recipients: &recipients,
        message: &bytes,
        client: call.ip,
    };
    match engine.submit(&submission) {
        Ok(()) => (
            202,
            json!({ "message_id": format!("<{id}>"), "recipients": recipients }),
        ),
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

/// A name and an address.
type Mailbox = (Option<String>, String);

/// A message as the request describes it.
struct Outgoing {
    from: Mailbox,
    to: Vec<Mailbox>,
    cc: Vec<Mailbox>,
    bcc: Vec<Mailbox>,
    reply_to: Vec<Mailbox>,
    subject: String,
    text: Option<String>,
    html: Option<String>,
    headers: Vec<(String, String)>,
    /// (file name, media type, content)
    attachments: Vec<(String, String, Vec<u8>)>,
}

impl Outgoing {
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
        ];
        if let Some(unknown) = message.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(match unknown.as_str() {
                "send_at" => "\"send_at\" is not available yet: leave it out to send now".into(),
                other => format!("\"{other}\" is not a member of a message"),
            });
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
        })
    }

    /// Every recipient's address, `bcc` included, each once.
    fn recipients(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for (_, address) in self.to.iter().chain(&self.cc).chain(&self.bcc) {
            if !all.iter().any(|a| a.eq_ignore_ascii_case(address)) {
                all.push(address.clone());
            }
        }
        all
    }

    /// The message as MIME, with `id` as its Message-ID; `Bcc` is not written.
    fn write(&self, id: &str) -> std::io::Result<Vec<u8>> {
        let mut builder = MessageBuilder::new()
            .from(list(std::slice::from_ref(&self.from)))
            .subject(self.subject.as_str())
            .date(unix_now())
            .message_id(id);
        if !self.to.is_empty() {
            builder = builder.to(list(&self.to));
        }
        if !self.cc.is_empty() {
            builder = builder.cc(list(&self.cc));
        }
        if !self.reply_to.is_empty() {
            builder = builder.reply_to(list(&self.reply_to));
        }
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), Raw::new(value.as_str()));
        }
        if let Some(text) = &self.text {
            builder = builder.text_body(text.as_str());
        }
        if let Some(html) = &self.html {
            builder = builder.html_body(html.as_str());
        }
        for (filename, media_type, content) in &self.attachments {
            builder =
                builder.attachment(media_type.as_str(), filename.as_str(), content.as_slice());
        }
        builder.write_to_vec()
    }
}

/// Mailboxes as mail-builder writes an address list.
fn list(mailboxes: &[Mailbox]) -> Address<'_> {
    Address::new_list(
        mailboxes
            .iter()
            .map(|(name, address)| Address::new_address(name.as_deref(), address.as_str()))
            .collect(),
    )
}

/// `text` as one mailbox, `Name <address>` or a bare address.
fn one_mailbox(text: &str) -> Option<Mailbox> {
    match parse_mailboxes(text).as_deref() {
        Some([one]) => Some(one.clone()),
        _ => None,
    }
}

/// The mailboxes of an address list as a person writes one; `None` unless every one has
/// an address with `@`.
fn parse_mailboxes(text: &str) -> Option<Vec<Mailbox>> {
    if text.contains(['\r', '\n']) {
        return None;
    }
    let value = format!("{text}\r\n");
    let HeaderValue::Address(address) = MessageStream::new(value.as_bytes()).parse_address() else {
        return None;
    };
    let mut found = Vec::new();
    for addr in address.iter() {
        let email = addr.address()?;
        if !email.contains('@') || email.chars().any(char::is_whitespace) {
            return None;
        }
        found.push((addr.name().map(str::to_string), email.to_string()));
    }
    Some(found).filter(|found| !found.is_empty())
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

/// `headers`: an object of extra fields, `X-Campaign: spring` and the like; none of those
/// the description sets, and only names and one-line values a header can hold.
fn headers(message: &Map<String, Value>) -> Result<Vec<(String, String)>, String> {
    let Some(given) = message.get("headers") else {
        return Ok(Vec::new());
    };
    let Value::Object(given) = given else {
        return Err("\"headers\" must be an object of strings".into());
    };
    let mut fields = Vec::new();
    for (name, value) in given {
        let Value::String(value) = value else {
            return Err(format!("the header field {name} must be a string"));
        };
        let valid_name =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if !valid_name || value.contains(['\r', '\n']) {
            return Err(format!("{name}: not a header field a message can hold"));
        }
        if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "{name} is set from the message's own members, not \"headers\""
            ));
        }
        fields.push((name.clone(), value.clone()));
    }
    Ok(fields)
}

/// `attachments`: `[{"filename", "content_type", "content" (base64)}]`.
fn attachments(message: &Map<String, Value>) -> Result<Vec<(String, String, Vec<u8>)>, String> {
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
        let media_type = member("content_type").unwrap_or("application/octet-stream");
        let plausible = media_type.split_once('/').is_some_and(|(kind, sub)| {
            !kind.is_empty() && !sub.is_empty() && !media_type.contains(['\r', '\n', ' '])
        });
        if !plausible || filename.contains(['\r', '\n']) {
            return Err(format!(
                "attachment {n}: a file name and a media type, one line each"
            ));
        }
        let content = base64::engine::general_purpose::STANDARD
            .decode(content)
            .map_err(|_| format!("attachment {n}: \"content\" is not base64"))?;
        attachments.push((filename.to_string(), media_type.to_string(), content));
    }
    Ok(attachments)
}
