//! The JSON document a webhook receives for a message:
//!
//! ```json
//! {
//!   "event": "message.received",
//!   "id": "18c3a…",                       // unique per document: receivers deduplicate on it
//!   "received_at": "2026-12-07T09:00:00Z",
//!   "envelope": { "from": "ann@example.net", "to": ["orders@example.org"] },
//!   "from": [{ "name": "Ann", "address": "ann@example.net" }], "to": […], "cc": […],
//!   "subject": "…", "date": "…", "message_id": "…",
//!   "headers": [["Received", "from …"], …],          // every field, in order, unfolded
//!   "text": "…", "html": "…",
//!   "attachments": [{ "filename": "a.pdf", "content_type": "application/pdf", "size": 1234 }],
//!   "size": 5678,
//!   "parsed": true,                        // false: too large to read here, no text/html
//!   "authentication": { "spf": "pass", "dkim": "pass", "dmarc": "pass" },
//!   "spam": { "junk": false, "score": 1.5 }
//! }
//! ```
//!
//! The results are those of our own `Authentication-Results:` and `X-Spam-Status:` fields,
//! which delivery puts first; empty for mail that was not checked (from a logged-in user,
//! from a trusted network).

use mail_parser::MessageParser;
use serde_json::{Map, Value, json};

use crate::delivery::trace_id;
use crate::mail::date::rfc3339;
use crate::mail::{json, readable};

/// The largest message whose text, HTML and attachments the document describes; a larger
/// one is reported by its header alone (`"parsed": false`).
pub const MAX_PARSED: u64 = 4 * 1024 * 1024;

/// A delivered message, as far as its document needs.
pub struct Delivered<'a> {
    /// The envelope sender; empty for the null sender.
    pub mail_from: &'a str,
    pub received: i64,
    /// The fields delivery put first (trace, checks' results).
    pub prepended: &'a [u8],
    /// The header section as received, without its blank line.
    pub header: &'a [u8],
    /// The whole message as stored, when it is within [`MAX_PARSED`].
    pub whole: Option<&'a [u8]>,
    pub size: u64,
    /// Whether the checks sent it to Junk.
    pub junk: bool,
}

/// What every webhook's document for `message` has in common; [`for_recipients`] finishes
/// one.
pub fn common(message: &Delivered<'_>) -> Value {
    let mut header = message.prepended.to_vec();
    header.extend_from_slice(message.header);
    header.extend_from_slice(b"\r\n\r\n");
    let mut document = json::fields(&header);
    document["event"] = json!("message.received");
    document["received_at"] = json!(rfc3339(message.received));
    document["headers"] = headers(&header);
    document["size"] = json!(message.size);
    match message.whole {
        Some(whole) => {
            json::add_contents(&mut document, &readable(whole));
            document["parsed"] = json!(true);
        }
        None => {
            document["text"] = Value::Null;
            document["html"] = Value::Null;
            document["attachments"] = json!([]);
            document["parsed"] = json!(false);
        }
    }
    document["authentication"] = Value::Object(authentication(message.prepended));
    document["spam"] = json!({
        "junk": message.junk,
        "score": spam_score(message.prepended),
    });
    document["envelope"] = json!({ "from": message.mail_from, "to": [] });
    document
}

/// The document for one webhook: `common` with its recipients and an id of its own.
pub fn for_recipients(common: &Value, recipients: &[String]) -> Vec<u8> {
    let mut document = common.clone();
    document["id"] = json!(trace_id());
    document["envelope"]["to"] = json!(recipients);
    serde_json::to_vec(&document).unwrap_or_default()
}

/// Every field of a header section, in order: `[name, value]` with the value unfolded.
fn headers(header: &[u8]) -> Value {
    let Some(parsed) = MessageParser::default().parse_headers(header) else {
        return json!([]);
    };
    let fields: Vec<Value> = parsed
        .headers_raw()
        .map(|(name, value)| {
            let unfolded: String = value
                .split(['\r', '\n'])
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            json!([name, unfolded])
        })
        .collect();
    Value::Array(fields)
}

/// The method results of our `Authentication-Results:` field (RFC 8601): `{"spf": "pass",
/// "dkim": "fail", …}`; of several results of one method, a pass wins.
fn authentication(prepended: &[u8]) -> Map<String, Value> {
    let mut results = Map::new();
    let Some(field) = field(prepended, "authentication-results") else {
        return results;
    };
    // The authserv-id, then one resinfo per `;`.
    for resinfo in field.split(';').skip(1) {
        let Some((method, result)) = resinfo
            .split_whitespace()
            .next()
            .and_then(|r| r.split_once('='))
        else {
            continue;
        };
        let method = method.to_ascii_lowercase();
        let result = result.to_ascii_lowercase();
        let passed = results.get(&method).is_some_and(|r| r == "pass");
        if !passed {
            results.insert(method, Value::String(result));
        }
    }
    results
}

/// The score of our `X-Spam-Status:` field (`Yes, score=7.30 required=15.00`).
fn spam_score(prepended: &[u8]) -> Option<f64> {
    field(prepended, "x-spam-status")?
        .split_whitespace()
        .find_map(|word| word.strip_prefix("score="))
        .and_then(|score| score.parse().ok())
}

/// The first field `name` (lowercase) among `header`'s, its value unfolded.
fn field(header: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(header);
    let mut value: Option<String> = None;
    for line in text.split("\r\n") {
        match &mut value {
            Some(value) if line.starts_with([' ', '\t']) => {
                value.push(' ');
                value.push_str(line.trim());
            }
            Some(_) => break,
            None => {
                if let Some((field, rest)) = line.split_once(':')
                    && field.trim().eq_ignore_ascii_case(name)
                {
                    value = Some(rest.trim().to_string());
                }
            }
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREPENDED: &[u8] = b"Return-Path: <ann@example.net>\r\n\
        Authentication-Results: mx.example.org;\r\n\tdkim=fail header.d=other.test;\r\n\
        \tdkim=pass (good signature) header.d=example.net;\r\n\tspf=pass smtp.mailfrom=example.net;\r\n\
        \tdmarc=pass header.from=example.net\r\n\
        X-Spam-Status: No, score=1.50 required=15.00\r\n\
        Received: from client.example.net ([192.0.2.7])\r\n\tby mx.example.org (Postern) with ESMTPS id 1;\r\n\tMon, 7 Dec 2026 09:00:00 +0000\r\n";

    const HEADER: &[u8] = b"From: Ann <ann@example.net>\r\nTo: orders@example.org\r\n\
        Subject: An order\r\nMessage-ID: <1@example.net>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=b";

    const BODY: &[u8] = b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nTwo boxes, please.\r\n\
        --b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=order.pdf\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n";

    fn whole() -> Vec<u8> {
        [PREPENDED, HEADER, BODY].concat()
    }

    #[test]
    fn the_document_has_the_envelope_fields_parts_and_results() {
        let whole = whole();
        let message = Delivered {
            mail_from: "ann@example.net",
            received: 1_796_634_000,
            prepended: PREPENDED,
            header: HEADER,
            whole: Some(&whole),
            size: whole.len() as u64,
            junk: false,
        };
        let common = common(&message);
        let bytes = for_recipients(&common, &["orders@example.org".into()]);
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(doc["event"], "message.received");
        assert_eq!(doc["envelope"]["from"], "ann@example.net");
        assert_eq!(doc["envelope"]["to"], json!(["orders@example.org"]));
        assert_eq!(doc["from"][0]["address"], "ann@example.net");
        assert_eq!(doc["subject"], "An order");
        assert_eq!(doc["message_id"], "1@example.net");
        assert_eq!(doc["text"].as_str().unwrap().trim(), "Two boxes, please.");
        assert_eq!(doc["attachments"][0]["filename"], "order.pdf");
        assert_eq!(doc["attachments"][0]["content_type"], "application/pdf");
        assert_eq!(doc["parsed"], true);
        assert_eq!(
            doc["authentication"],
            json!({ "dkim": "pass", "spf": "pass", "dmarc": "pass" })
        );
        assert_eq!(doc["spam"], json!({ "junk": false, "score": 1.5 }));
        let headers = doc["headers"].as_array().unwrap();
        assert_eq!(headers[0], json!(["Return-Path", "<ann@example.net>"]));
        let received = headers.iter().find(|h| h[0] == "Received").unwrap();
        assert!(
            received[1]
                .as_str()
                .unwrap()
                .contains("by mx.example.org (Postern)")
        );
        assert!(!received[1].as_str().unwrap().contains('\n'));
        // Each document its own id.
        let again: Value =
            serde_json::from_slice(&for_recipients(&common, &["x@example.org".into()])).unwrap();
        assert_ne!(again["id"], doc["id"]);
    }

    proptest::proptest! {
        /// Whatever a message holds, its document is JSON with what a receiver relies on,
        /// and the recipients it names.
        #[test]
        fn any_message_makes_a_whole_document(
            prepended in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
            header in proptest::collection::vec(proptest::num::u8::ANY, 0..400),
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..400),
            parsed in proptest::bool::ANY,
        ) {
            let whole = [prepended.as_slice(), header.as_slice(), b"\r\n\r\n", body.as_slice()].concat();
            let message = Delivered {
                mail_from: "a@x.test",
                received: 0,
                prepended: &prepended,
                header: &header,
                whole: parsed.then_some(whole.as_slice()),
                size: whole.len() as u64,
                junk: false,
            };
            let bytes = for_recipients(&common(&message), &["b@y.test".into()]);
            let doc: Value = serde_json::from_slice(&bytes).unwrap();
            proptest::prop_assert_eq!(&doc["envelope"]["to"], &json!(["b@y.test"]));
            proptest::prop_assert!(doc["headers"].is_array() && doc["attachments"].is_array());
            proptest::prop_assert_eq!(&doc["parsed"], &json!(parsed));
            proptest::prop_assert!(doc["id"].is_string() && doc["authentication"].is_object());
        }
    }

    #[test]
    fn a_large_or_unchecked_message_is_described_by_its_header() {
        let message = Delivered {
            mail_from: "",
            received: 0,
            prepended: b"Return-Path: <>\r\n",
            header: HEADER,
            whole: None,
            size: 50 << 20,
            junk: true,
        };
        let doc = common(&message);
        assert_eq!(doc["parsed"], false);
        assert_eq!(doc["text"], Value::Null);
        assert_eq!(doc["authentication"], json!({}));
        assert_eq!(doc["spam"], json!({ "junk": true, "score": null }));
        assert_eq!(doc["subject"], "An order");
    }
}
