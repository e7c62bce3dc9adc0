//! Messages as JSON, as the HTTP API lists and reads them and webhooks report them: the
//! header fields programs look for first, and what a reader sees of the body.

use mail_parser::{Address, MessageParser};
use serde_json::{Value, json};

use super::Readable;

/// The fields a program looks for first, from a header section: `from`, `to`, `cc` (each a
/// list of `{name, address}`), `subject`, `date` (RFC 3339) and `message_id`.
pub fn fields(header: &[u8]) -> Value {
    let Some(parsed) = MessageParser::default().parse_headers(header) else {
        return json!({});
    };
    let addresses = |address: Option<&Address<'_>>| -> Vec<Value> {
        address
            .map(|list| {
                list.iter()
                    .map(|a| json!({ "name": a.name(), "address": a.address() }))
                    .collect()
            })
            .unwrap_or_default()
    };
    json!({
        "from": addresses(parsed.from()),
        "to": addresses(parsed.to()),
        "cc": addresses(parsed.cc()),
        "subject": parsed.subject(),
        "date": parsed.date().map(|d| d.to_rfc3339()),
        "message_id": parsed.message_id(),
    })
}

/// Adds `text`, `html` and `attachments` (each `{filename, content_type, size}`) to `item`.
pub fn add_contents(item: &mut Value, readable: &Readable) {
    let attachments: Vec<Value> = readable
        .attachments
        .iter()
        .map(|a| json!({ "filename": a.filename, "content_type": a.content_type, "size": a.size }))
        .collect();
    item["text"] = json!(readable.text);
    item["html"] = json!(readable.html);
    item["attachments"] = json!(attachments);
}
