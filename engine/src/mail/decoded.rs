//! Message text as SEARCH matches it: header values RFC 2047-decoded and body text decoded
//! to UTF-8 from its transfer encoding and charset, all by mail-parser, then case-folded.

use mail_parser::{HeaderName, HeaderValue, Message, MessageParser, MimeHeaders, PartType};
use proto_imap::Envelope;

use super::bounded;
use super::parsed::Parsed;
use super::text::fold;

/// Decoded, folded text of the header fields the SUBJECT, FROM, TO, CC and BCC search keys
/// look at (all occurrences, one per line), kept in the [`Summary`](super::Summary) so those
/// keys need not read the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderText {
    /// `Subject:`.
    pub subject: String,
    /// `From:`.
    pub from: String,
    /// `To:`.
    pub to: String,
    /// `Cc:`.
    pub cc: String,
    /// `Bcc:`.
    pub bcc: String,
}

impl HeaderText {
    /// The fields of the top-level header `header` (a message, or its header alone), each
    /// followed by the addresses of the `envelope` made of it as `mailbox@host`: FROM, TO,
    /// CC and BCC search the envelope (RFC 3501 §6.4.4), so `FROM user@domain.org` finds
    /// `From: <user (comment)@ (comment) domain.org>` whatever comments or quoting the
    /// header wrote around the address.
    pub(super) fn of(header: &[u8], envelope: &Envelope<'_>) -> Self {
        let mut text = Self::of_header(header);
        for (field, addresses) in [
            (&mut text.from, &envelope.from),
            (&mut text.to, &envelope.to),
            (&mut text.cc, &envelope.cc),
            (&mut text.bcc, &envelope.bcc),
        ] {
            for address in addresses {
                // Group markers have no host.
                if let (Some(mailbox), Some(host)) = (&address.mailbox, &address.host) {
                    let address = format!(
                        "{}@{}",
                        String::from_utf8_lossy(mailbox),
                        String::from_utf8_lossy(host)
                    );
                    let address = fold(&address);
                    if !field.contains(&address) {
                        field.push('\n');
                        field.push_str(&address);
                    }
                }
            }
        }
        text
    }

    /// The fields of the top-level header `header` (a message, or its header alone).
    fn of_header(header: &[u8]) -> Self {
        let parsed = text_parser().parse_headers(header).map(Parsed::new);
        let fields = parsed.as_deref().map(top_level_fields).unwrap_or_default();
        let join = |name: HeaderName<'_>| {
            let values: Vec<&str> = fields
                .iter()
                .filter(|(field, _)| *field == name)
                .map(|(_, value)| value.as_str())
                .collect();
            values.join("\n")
        };
        HeaderText {
            subject: join(HeaderName::Subject),
            from: join(HeaderName::From),
            to: join(HeaderName::To),
            cc: join(HeaderName::Cc),
            bcc: join(HeaderName::Bcc),
        }
    }
}

/// The whole message decoded, for the HEADER, BODY and TEXT search keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct SearchText {
    /// Top-level header fields: name and folded value.
    pub(super) header: Vec<(HeaderName<'static>, String)>,
    /// Folded text of every `text/*` part, encapsulated messages included, one after
    /// another.
    pub(super) body: String,
}

impl SearchText {
    /// A message too costly to parse whole (see [`bounded`]) gives its header fields and
    /// no body text; one whose parse panics gives no text at all (see `Summary::derive`).
    pub(super) fn of_message(message: &[u8]) -> Self {
        let parse = || {
            let bounded = bounded::parse(&text_parser(), message);
            let Some(parsed) = bounded.message else {
                return SearchText::default();
            };
            let mut body = String::new();
            collect_text(&parsed, &mut body, 0);
            SearchText {
                header: top_level_fields(&parsed),
                body,
            }
        };
        std::panic::catch_unwind(parse).unwrap_or_default()
    }
}

/// What a Sieve `body` test (RFC 5173 §5) looks at in `message`: its body as it came
/// (`None`), or the parts whose media type is one of `types` (`text`, `text/html`; `""`
/// any), decoded from their transfer encoding and charset. Parsed within the budget, as
/// SEARCH is; a message whose parse panics has no body here.
pub fn body_parts(message: &[u8], types: Option<&[String]>) -> Vec<String> {
    let parse = || {
        let bounded = bounded::parse(&text_parser(), message);
        let Some(parsed) = bounded.message else {
            return Vec::new();
        };
        let Some(types) = types else {
            let start = parsed
                .parts
                .first()
                .map_or(0, |root| root.offset_body as usize);
            let raw = message.get(start..).unwrap_or_default();
            return vec![String::from_utf8_lossy(raw).into_owned()];
        };
        let mut out = Vec::new();
        collect_parts(&parsed, types, &mut out, 0);
        out
    };
    std::panic::catch_unwind(parse).unwrap_or_default()
}

/// A message as a program reads it (the inbound mail API): its first text and HTML bodies,
/// decoded, and what is attached.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Readable {
    pub text: Option<String>,
    pub html: Option<String>,
    pub attachments: Vec<Attached>,
}

/// An attachment, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    pub filename: Option<String>,
    /// `type/subtype`.
    pub content_type: String,
    /// Decoded, in octets.
    pub size: usize,
}

/// `message` as [`Readable`], parsed within the budget (a message past it is one opaque
/// body: no text, no attachments); a message whose parse panics reads as empty.
pub fn readable(message: &[u8]) -> Readable {
    let parse = || {
        let bounded = bounded::parse(&text_parser(), message);
        let Some(parsed) = bounded.message else {
            return Readable::default();
        };
        let attachments = parsed
            .attachments()
            .map(|part| Attached {
                filename: part.attachment_name().map(str::to_string),
                content_type: part.content_type().map_or_else(
                    || "application/octet-stream".to_string(),
                    |c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("octet-stream")),
                ),
                size: part.len(),
            })
            .collect();
        Readable {
            text: parsed.body_text(0).map(|t| t.into_owned()),
            html: parsed.body_html(0).map(|h| h.into_owned()),
            attachments,
        }
    };
    std::panic::catch_unwind(parse).unwrap_or_default()
}

/// The decoded parts of `message` of one of `types`; encapsulated messages too.
fn collect_parts(message: &Message<'_>, types: &[String], out: &mut Vec<String>, depth: usize) {
    for part in &message.parts {
        let (main, sub) = part.content_type().map_or(("text", "plain"), |c| {
            (c.ctype(), c.subtype().unwrap_or(""))
        });
        let wanted = types.iter().any(|t| {
            t.is_empty()
                || t.eq_ignore_ascii_case(main)
                || t.split_once('/').is_some_and(|(m, s)| {
                    m.eq_ignore_ascii_case(main) && s.eq_ignore_ascii_case(sub)
                })
        });
        match &part.body {
            PartType::Text(text) | PartType::Html(text) if wanted => out.push(text.to_string()),
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) if wanted => {
                out.push(String::from_utf8_lossy(bytes).into_owned());
            }
            PartType::Message(inner) if depth < super::structure::MAX_DEPTH => {
                collect_parts(inner, types, out, depth + 1);
            }
            _ => {}
        }
    }
}

/// A parser that decodes every header field as unstructured text (so `From:` is matched
/// as the text a person reads, encoded words decoded), except the fields mail-parser needs
/// structured to find the MIME parts, and Content-Transfer-Encoding, read raw as the parse
/// budget assumes.
pub(super) fn text_parser() -> MessageParser {
    MessageParser::new()
        .header_content_type(HeaderName::ContentType)
        .header_content_type(HeaderName::ContentDisposition)
        .header_raw(HeaderName::ContentTransferEncoding)
        .default_header_text()
}

fn top_level_fields(parsed: &Message<'_>) -> Vec<(HeaderName<'static>, String)> {
    let headers = parsed
        .parts
        .first()
        .map_or(&[][..], |root| &root.headers[..]);
    headers
        .iter()
        .map(|h| {
            let value = match &h.value {
                HeaderValue::Text(text) => fold(text),
                HeaderValue::TextList(list) => fold(&list.join(" ")),
                _ => {
                    let raw = parsed
                        .raw_message
                        .get(h.offset_start as usize..h.offset_end as usize);
                    fold(String::from_utf8_lossy(raw.unwrap_or_default()).trim())
                }
            };
            (h.name.to_owned(), value)
        })
        .collect()
}

/// Appends the decoded text parts; encapsulated messages too, to a sane depth.
fn collect_text(message: &Message<'_>, out: &mut String, depth: usize) {
    for part in &message.parts {
        match &part.body {
            PartType::Text(text) | PartType::Html(text) => {
                out.push_str(&fold(text));
                out.push('\n');
            }
            PartType::Message(inner) if depth < super::structure::MAX_DEPTH => {
                collect_text(inner, out, depth + 1);
            }
            _ => {}
        }
    }
}
