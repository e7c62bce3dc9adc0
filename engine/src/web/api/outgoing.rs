//! A message described by a request (the send API's JSON, Postmark's), written as MIME by
//! mail-builder and submitted as the token's user under the rules of SMTP submission
//! ([`crate::submit`]). What the two descriptions share: mailboxes as people write them,
//! extra header fields, attachments, and the answer once it is sent.

use base64::Engine as _;
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::raw::Raw;
use mail_parser::HeaderValue;
use mail_parser::parsers::MessageStream;
use proto_smtp::Reply;

use super::Call;
use crate::delivery::trace_id;
use crate::mail::date::unix_now;
use crate::store::{Account, Store};
use crate::submit::{Refused, Submission};

/// Messages one batch may hold.
pub(super) const MAX_BATCH: usize = 100;

/// Header fields a message's own description sets, which extra fields may not.
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

/// A name and an address.
pub(super) type Mailbox = (Option<String>, String);

/// A file attached: its name, its media type, its content.
pub(super) type Attachment = (String, String, Vec<u8>);

/// A message as a request describes it.
pub(super) struct Outgoing {
    pub(super) from: Mailbox,
    pub(super) to: Vec<Mailbox>,
    pub(super) cc: Vec<Mailbox>,
    pub(super) bcc: Vec<Mailbox>,
    pub(super) reply_to: Vec<Mailbox>,
    pub(super) subject: String,
    pub(super) text: Option<String>,
    pub(super) html: Option<String>,
    pub(super) headers: Vec<(String, String)>,
    pub(super) attachments: Vec<Attachment>,
    /// When to send it (Unix seconds); `None`: now.
    pub(super) send_at: Option<i64>,
}

/// A message sent: its Message-ID (without angle brackets), every recipient, and the id
/// and time of its hold when it waits to go (see [`crate::held`]).
pub(super) struct Sent {
    pub(super) id: String,
    pub(super) recipients: Vec<String>,
    pub(super) held: Option<(u64, i64)>,
}

impl Outgoing {
    /// Every recipient's address, `bcc` included, each once.
    pub(super) fn recipients(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for (_, address) in self.to.iter().chain(&self.cc).chain(&self.bcc) {
            if !all.iter().any(|a| a.eq_ignore_ascii_case(address)) {
                all.push(address.clone());
            }
        }
        all
    }

    /// Writes the message and submits it as `account`'s user. Blocking.
    pub(super) fn send<S: Store>(
        &self,
        call: &Call<'_, S>,
        account: &Account,
    ) -> Result<Sent, Refused> {
        let engine = call.engine;
        let id = format!("{}@{}", trace_id(), engine.hostname());
        let bytes = self.write(&id).map_err(|e| Refused {
            recipient: None,
            reply: Reply::new(
                554,
                (5, 6, 0),
                format!("the message cannot be written: {e}"),
            ),
        })?;
        let recipients = self.recipients();
        let submission = Submission {
            send_at: self.send_at,
            user: &account.email,
            from: &self.from.1,
            recipients: &recipients,
            message: &bytes,
            client: call.ip,
        };
        let submitted = engine.submit(&submission)?;
        Ok(Sent {
            id,
            recipients,
            held: submitted.held,
        })
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
pub(super) fn one_mailbox(text: &str) -> Option<Mailbox> {
    match parse_mailboxes(text).as_deref() {
        Some([one]) => Some(one.clone()),
        _ => None,
    }
}

/// The mailboxes of an address list as a person writes one; `None` unless every one has
/// an address with `@`.
pub(super) fn parse_mailboxes(text: &str) -> Option<Vec<Mailbox>> {
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

/// An extra header field, if a message can hold it: a name of printable characters
/// without `:`, a one-line value, and none of the fields the description sets itself.
pub(super) fn header_field(name: &str, value: &str) -> Result<(String, String), String> {
    let valid_name = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
    if !valid_name || value.contains(['\r', '\n']) {
        return Err(format!("{name}: not a header field a message can hold"));
    }
    if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "{name} is set from the message's own members, not as an extra field"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

/// Attachment `n`: a one-line file name, a media type (`application/octet-stream` when
/// none), the content in base64.
pub(super) fn attachment(
    n: usize,
    filename: &str,
    media_type: Option<&str>,
    content: &str,
) -> Result<Attachment, String> {
    let media_type = media_type.unwrap_or("application/octet-stream");
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
        .map_err(|_| format!("attachment {n}: its content is not base64"))?;
    Ok((filename.to_string(), media_type.to_string(), content))
}
