//! Sieve filters (RFC 5228, through `proto_sieve`): each account may keep scripts, one of
//! them active, and the active one decides where the account's copy of each message it
//! receives goes — mailboxes with flags, another address, nowhere.
//!
//! A script is checked when it is stored ([`Engine::put_sieve_script`]), so a delivery never
//! meets one that does not compile; a run that fails on the way (past its bounds) keeps the
//! message in INBOX and says so in the log. A mailbox a script files into that does not
//! exist gets the message in INBOX instead, unless the script asked for it to be made
//! (`:create`). Addresses it redirects to get the message from the outbound queue, the
//! sender rewritten (SRS) as for forwarding; a local one, in its INBOX, unfiltered.

use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use mail_builder::MessageBuilder;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::MimePart;
use sha2::{Digest, Sha256};

use mail_parser::parsers::MessageStream;
use mail_parser::{HeaderValue, MessageParser};
use proto_sieve::{Action, BodyTransform, Message, When};

use crate::address::Address;
use crate::mail;
use crate::store::{
    AccountId, FLAG_ANSWERED, FLAG_DELETED, FLAG_DRAFT, FLAG_FLAGGED, FLAG_SEEN, Flags,
    SieveScript, Store, StoreError,
};
use crate::{Engine, Error};

/// Longest name of a script (ManageSieve's clients show it in a list).
const MAX_NAME: usize = 128;

/// Scripts an account keeps: each delivery to it reads them all (for `include`), so they
/// are bounded, at most 2 MiB of source together.
pub const MAX_SCRIPTS: usize = 32;

/// Where one account's copy of a message goes.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Placement {
    /// (mailbox, system flags, keywords): a copy in each.
    pub(crate) copies: Vec<(String, Flags, Vec<String>)>,
    /// Addresses the message goes on to.
    pub(crate) redirects: Vec<String>,
    /// The vacation answer the script gives, if the rules allow one; it is sent once the
    /// message is stored, if none went to that sender within its days.
    pub(crate) answer: Option<Answer>,
    /// The script refuses the message (RFC 5429), with this reason.
    pub(crate) reject: Option<String>,
}

/// A vacation answer (RFC 5230) to send.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) to: String,
    pub(crate) from: String,
    pub(crate) subject: String,
    /// The text, or with `mime` the whole MIME entity (header fields and body).
    pub(crate) reason: String,
    pub(crate) mime: bool,
    pub(crate) days: u32,
    pub(crate) handle: String,
    pub(crate) in_reply_to: Option<String>,
}

/// What a delivery tells the account's script about the message.
pub(crate) struct Delivered<'a> {
    /// The fields this server put first: the trace, the checks' results.
    pub(crate) prepended: &'a [u8],
    /// The header section as received (empty when it was too long to keep).
    pub(crate) header: &'a [u8],
    /// The whole message with the fields put first, when it is in memory (up to
    /// [`SIEVE_BODY_MAX`](crate::delivery::SIEVE_BODY_MAX) when a script reads bodies):
    /// what `body` tests look at.
    pub(crate) whole: Option<&'a [u8]>,
    /// The envelope's sender; empty for a bounce.
    pub(crate) from: &'a str,
    /// The address this copy was sent to (the `RCPT`).
    pub(crate) to: &'a str,
    pub(crate) size: u64,
    /// When it is delivered, Unix seconds (`currentdate`).
    pub(crate) now: i64,
}

/// Why a script cannot be stored. Each way of storing one words it its own way:
/// ManageSieve gives most their response codes.
#[derive(Debug)]
pub enum Unfit {
    /// The name is empty, over 128 octets, or has a control character or `/`.
    Name(&'static str),
    /// The script is over [`proto_sieve::MAX_SCRIPT`] octets.
    TooLarge,
    /// The script is not valid Sieve; the error names its line.
    Invalid(String),
    /// The account keeps [`MAX_SCRIPTS`] already, and the name is a new one.
    TooMany,
    Store(StoreError),
}

impl fmt::Display for Unfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unfit::Name(why) => f.write_str(why),
            Unfit::TooLarge => write!(
                f,
                "the script is larger than {} KiB",
                proto_sieve::MAX_SCRIPT / 1024
            ),
            Unfit::Invalid(error) => write!(f, "the script is not valid Sieve: {error}"),
            Unfit::TooMany => write!(
                f,
                "the account has {MAX_SCRIPTS} Sieve scripts, the most it keeps: remove one first"
            ),
            Unfit::Store(e) => e.fmt(f),
        }
    }
}

impl From<StoreError> for Unfit {
    fn from(e: StoreError) -> Self {
        Unfit::Store(e)
    }
}

impl From<Unfit> for Error {
    fn from(unfit: Unfit) -> Self {
        match unfit {
            Unfit::Store(e) => Error::Store(e),
            unfit => Error::Invalid(unfit.to_string()),
        }
    }
}

/// Checks a script's text: its size, and that it compiles.
pub(crate) fn check_script(source: &str) -> Result<(), Unfit> {
    if source.len() > proto_sieve::MAX_SCRIPT {
        return Err(Unfit::TooLarge);
    }
    proto_sieve::compile(source)
        .map(drop)
        .map_err(|e| Unfit::Invalid(e.to_string()))
}

impl<S: Store> Engine<S> {
    /// Checks `source` and stores it as `email`'s script `name`, made the active one when
    /// `activate`.
    pub fn put_sieve_script(
        &self,
        email: &str,
        name: &str,
        source: &str,
        activate: bool,
    ) -> Result<(), Error> {
        let account = self.existing_account(email)?;
        self.store_sieve_script(account.id, name, source)?;
        if activate {
            self.store.activate_sieve_script(account.id, Some(name))?;
        }
        Ok(())
    }

    /// `email`'s scripts, in name order.
    pub fn sieve_scripts(&self, email: &str) -> Result<Vec<SieveScript>, Error> {
        let account = self.existing_account(email)?;
        Ok(self.store.sieve_scripts(account.id)?)
    }

    /// Makes `name` the script run on `email`'s mail, or none (`None`).
    pub fn activate_sieve_script(&self, email: &str, name: Option<&str>) -> Result<(), Error> {
        let account = self.existing_account(email)?;
        Ok(self.store.activate_sieve_script(account.id, name)?)
    }

    /// Removes `email`'s script `name` (the active one too: then none is).
    pub fn remove_sieve_script(&self, email: &str, name: &str) -> Result<(), Error> {
        let account = self.existing_account(email)?;
        if self.store.remove_sieve_script(account.id, name)? {
            Ok(())
        } else {
            Err(StoreError::NotFound(format!("the Sieve script {name} of {email}")).into())
        }
    }

    /// Whether `account` may store a script `name` of `size` octets: the name, the size, and
    /// room among the account's scripts for a new name.
    pub(crate) fn sieve_room(
        &self,
        account: AccountId,
        name: &str,
        size: u64,
    ) -> Result<(), Unfit> {
        check_name(name)?;
        if size > proto_sieve::MAX_SCRIPT as u64 {
            return Err(Unfit::TooLarge);
        }
        let scripts = self.store.sieve_scripts(account)?;
        if scripts.len() >= MAX_SCRIPTS && !scripts.iter().any(|s| s.name == name) {
            return Err(Unfit::TooMany);
        }
        Ok(())
    }

    /// Checks `source` and stores it as `account`'s script `name`.
    pub(crate) fn store_sieve_script(
        &self,
        account: AccountId,
        name: &str,
        source: &str,
    ) -> Result<(), Unfit> {
        check_script(source)?;
        self.sieve_room(account, name, source.len() as u64)?;
        Ok(self.store.put_sieve_script(account, name, source)?)
    }

    /// Whether the filters of any of `accounts` may read a message's body: one has an active
    /// script, and it or a script it may include requires "body".
    pub(crate) fn filters_read_bodies(&self, accounts: &[AccountId]) -> Result<bool, StoreError> {
        for &account in accounts {
            let scripts = self.store.sieve_scripts(account)?;
            if scripts.iter().any(|s| s.active)
                && scripts.iter().any(|s| {
                    proto_sieve::compile(&s.source).is_ok_and(|script| script.reads_body())
                })
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Where `account`'s copy of a message goes: by its active script, else `mailbox`.
    pub(crate) fn placement(
        &self,
        account: AccountId,
        message: &Delivered<'_>,
        mailbox: &str,
    ) -> Result<Placement, StoreError> {
        let unfiltered = || Placement {
            copies: vec![(mailbox.to_string(), 0, Vec::new())],
            ..Placement::default()
        };
        let scripts = self.store.sieve_scripts(account)?;
        let Some(SieveScript { name, source, .. }) = scripts.iter().find(|s| s.active) else {
            return Ok(unfiltered());
        };
        // Checked when stored; a script from an older Postern that no longer compiles
        // filters nothing rather than losing mail.
        let script = match proto_sieve::compile(source) {
            Ok(script) => script,
            Err(e) => {
                tracing::warn!(to = message.to, script = name, error = %e, "Sieve script no longer compiles; message kept");
                return Ok(unfiltered());
            }
        };
        let mailboxes: Vec<String> = self
            .store
            .mailboxes(account)?
            .into_iter()
            .map(|m| m.name)
            .collect();
        let header = [message.prepended, message.header].concat();
        let view = View::new(&header, message, &mailboxes, &scripts);
        let outcome = script.run(&view);
        if let Some(error) = &outcome.error {
            tracing::warn!(
                to = message.to,
                script = name,
                error,
                "Sieve script failed; message kept"
            );
        }
        let mut placement = Placement::default();
        for action in outcome.actions {
            match action {
                Action::Keep { flags } => placement.copies.push(copy(mailbox, &flags)),
                Action::FileInto {
                    mailbox: target,
                    flags,
                    create,
                } => {
                    let exists = mailboxes.iter().any(|m| same_mailbox(m, &target));
                    let target = if exists || (create && self.made(account, &target)?) {
                        target
                    } else {
                        tracing::info!(
                            to = message.to,
                            mailbox = target,
                            "Sieve fileinto a mailbox that does not exist; kept in INBOX"
                        );
                        "INBOX".to_string()
                    };
                    placement.copies.push(copy(&target, &flags));
                }
                Action::Redirect { address } => placement.redirects.push(address),
                Action::Reject { reason } => placement.reject = Some(reason),
                Action::Vacation {
                    to,
                    from,
                    subject,
                    reason,
                    mime,
                    days,
                    handle,
                    in_reply_to,
                } => {
                    placement.answer = Some(Answer {
                        to,
                        from: from.unwrap_or_else(|| message.to.to_string()),
                        subject,
                        reason,
                        mime,
                        days,
                        handle,
                        in_reply_to,
                    });
                }
            }
        }
        // Keep and fileinto "INBOX" (or a fileinto that fell back to it) are one copy.
        let mut seen: Vec<String> = Vec::new();
        placement.copies.retain(|(mailbox, ..)| {
            let first = !seen.iter().any(|s| same_mailbox(s, mailbox));
            if first {
                seen.push(mailbox.clone());
            }
            first
        });
        if let Some(reason) = &placement.reject {
            tracing::info!(
                to = message.to,
                from = message.from,
                script = name,
                reason,
                "Sieve rejected the message"
            );
        } else if placement.copies.is_empty() && placement.redirects.is_empty() {
            tracing::info!(
                to = message.to,
                from = message.from,
                script = name,
                "Sieve discarded the message"
            );
        } else {
            let into: Vec<&str> = placement.copies.iter().map(|c| c.0.as_str()).collect();
            tracing::info!(
                to = message.to,
                script = name,
                into = into.join(", "),
                redirect = placement.redirects.join(", "),
                "Sieve filtered"
            );
        }
        Ok(placement)
    }

    /// The accounts a redirect to `address` reaches when it is one of ours (none when no
    /// one receives it there); `None` for another domain's.
    pub(crate) fn local_redirect(
        &self,
        address: &str,
    ) -> Result<Option<Vec<AccountId>>, StoreError> {
        let Ok(parsed) = Address::parse(address) else {
            return Ok(None);
        };
        if !self.store.domain_exists(parsed.domain())? {
            return Ok(None);
        }
        self.local_accounts(&parsed).map(Some)
    }

    /// Sends `account`'s vacation answer, unless one with its handle went to the same sender
    /// within its days. Called once the message it answers is stored.
    pub(crate) fn send_answer(&self, account: AccountId, answer: &Answer, now: i64) {
        let handle = Sha256::digest(answer.handle.as_bytes());
        let handle: String = handle.iter().take(8).map(|b| format!("{b:02x}")).collect();
        let interval = i64::from(answer.days).saturating_mul(86_400);
        match self
            .store
            .note_vacation(account, &handle, &answer.to, now, interval)
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(
                    from = answer.from,
                    to = answer.to,
                    days = answer.days,
                    "vacation answer not sent: that sender had one within its days"
                );
                return;
            }
            Err(e) => {
                tracing::error!(from = answer.from, to = answer.to, error = %e, "vacation answer not sent: storage failure");
                return;
            }
        }
        match answer_message(answer, &self.hostname, now) {
            Ok(message) => self.send_automatic(&answer.to, &message, "vacation answer"),
            Err(e) => {
                tracing::error!(from = answer.from, to = answer.to, error = %e, "cannot write a vacation answer");
            }
        }
    }

    /// Makes the mailbox a script files into with `:create`; whether it exists now.
    fn made(&self, account: AccountId, name: &str) -> Result<bool, StoreError> {
        use crate::imap::mailboxes;
        if mailboxes::valid_new_name(name).is_err() {
            return Ok(false);
        }
        // As IMAP's CREATE does: the missing parents too.
        mailboxes::create(&self.store, account, name)?;
        Ok(mailboxes::find(&self.store, account, name)?.is_some())
    }
}

/// `text` with every line ending in CRLF, as a message's lines do.
fn crlf(text: &str) -> String {
    text.lines().flat_map(|line| [line, "\r\n"]).collect()
}

/// The answer as a message (RFC 5230 §5, RFC 3834): from the recipient, marked
/// `Auto-Submitted: auto-replied`, in reply to the message it answers.
fn answer_message(answer: &Answer, hostname: &str, now: i64) -> std::io::Result<Vec<u8>> {
    let mut builder = MessageBuilder::new()
        .from(answer.from.as_str())
        .to(answer.to.as_str())
        .subject(answer.subject.as_str())
        .date(now)
        .message_id(format!("{now:x}.{}.vacation@{hostname}", unique()))
        .header("Auto-Submitted", Raw::new("auto-replied (vacation)"));
    builder = match answer.mime {
        // The script's entity as it wrote it, its line ends made CRLF.
        true => builder.body(MimePart::raw(crlf(&answer.reason))),
        false => builder.text_body(answer.reason.as_str()),
    };
    if let Some(id) = &answer.in_reply_to {
        let id = id.trim_start_matches('<').trim_end_matches('>');
        builder = builder
            .in_reply_to(MessageId::new(id.to_string()))
            .references(MessageId::new(id.to_string()));
    }
    builder.write_to_vec()
}

/// Unique within this process.
fn unique() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// A script's name: printable (RFC 5804 §1.6: no control characters, no line or
/// paragraph separator), no `/` (names may become file names elsewhere).
pub(crate) fn check_name(name: &str) -> Result<(), Unfit> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(Unfit::Name("a script's name has 1 to 128 octets"));
    }
    if name
        .chars()
        .any(|c| c.is_control() || matches!(c, '/' | '\u{2028}' | '\u{2029}'))
    {
        return Err(Unfit::Name(
            "a script's name has no control characters and no '/'",
        ));
    }
    Ok(())
}

/// INBOX in any case is INBOX (RFC 3501 §5.1); other names are as written.
fn same_mailbox(a: &str, b: &str) -> bool {
    a == b || (a.eq_ignore_ascii_case("INBOX") && b.eq_ignore_ascii_case("INBOX"))
}

/// A copy into `mailbox` with the flags a script gave: IMAP's system flags by bit, the
/// rest as keywords (ones that cannot be IMAP keywords are left out).
fn copy(mailbox: &str, flags: &[String]) -> (String, Flags, Vec<String>) {
    let mut bits = 0;
    let mut keywords = Vec::new();
    for flag in flags {
        match flag.to_ascii_lowercase().as_str() {
            "\\seen" => bits |= FLAG_SEEN,
            "\\answered" => bits |= FLAG_ANSWERED,
            "\\flagged" => bits |= FLAG_FLAGGED,
            "\\deleted" => bits |= FLAG_DELETED,
            "\\draft" => bits |= FLAG_DRAFT,
            _ if is_keyword(flag) => keywords.push(flag.clone()),
            _ => {}
        }
    }
    (mailbox.to_string(), bits, keywords)
}

/// An IMAP atom that is not a system flag (RFC 3501 §9, `flag-keyword`).
fn is_keyword(flag: &str) -> bool {
    !flag.is_empty()
        && flag.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
        })
}

/// The message as the script sees it: its header fields, found once, each decoded when a
/// test asks for it.
struct View<'a> {
    header: &'a [u8],
    message: &'a Delivered<'a>,
    /// The account's scripts, for `include`.
    scripts: &'a [SieveScript],
    /// (lowercased name, where the value lies in the header).
    fields: Vec<(String, Range<usize>)>,
    mailboxes: &'a [String],
}

impl<'a> View<'a> {
    fn new(
        header: &'a [u8],
        message: &'a Delivered<'a>,
        mailboxes: &'a [String],
        scripts: &'a [SieveScript],
    ) -> Self {
        let fields = MessageParser::new()
            .parse_headers(header)
            .map(|parsed| {
                parsed
                    .headers()
                    .iter()
                    .map(|h| {
                        let start = usize::try_from(h.offset_start).unwrap_or(0);
                        let end = usize::try_from(h.offset_end).unwrap_or(0);
                        (h.name().to_ascii_lowercase(), start..end)
                    })
                    .collect()
            })
            .unwrap_or_default();
        View {
            header,
            message,
            scripts,
            fields,
            mailboxes,
        }
    }

    /// The raw values of the fields named `name`.
    fn raw(&self, name: &str) -> impl Iterator<Item = &'a [u8]> + '_ {
        let name = name.to_ascii_lowercase();
        self.fields
            .iter()
            .filter(move |(n, _)| *n == name)
            .filter_map(|(_, range)| self.header.get(range.clone()))
    }
}

impl Message for View<'_> {
    fn header(&self, name: &str) -> Vec<String> {
        self.raw(name)
            .map(|raw| match MessageStream::new(raw).parse_unstructured() {
                HeaderValue::Text(text) => text.trim().to_string(),
                _ => String::new(),
            })
            .collect()
    }

    fn addresses(&self, name: &str) -> Vec<String> {
        let mut found = Vec::new();
        for raw in self.raw(name) {
            if let HeaderValue::Address(address) = MessageStream::new(raw).parse_address() {
                found.extend(
                    address
                        .iter()
                        .filter_map(|a| a.address().map(str::to_string)),
                );
            }
        }
        found
    }

    fn envelope(&self, part: &str) -> Option<String> {
        match part {
            "from" => Some(self.message.from.to_string()),
            "to" => Some(self.message.to.to_string()),
            _ => None,
        }
    }

    fn size(&self) -> u64 {
        self.message.size
    }

    fn mailbox_exists(&self, name: &str) -> bool {
        self.mailboxes.iter().any(|m| same_mailbox(m, name))
    }

    fn date(&self, name: &str) -> Option<When> {
        let raw = self.raw(name).next()?;
        let HeaderValue::DateTime(date) = MessageStream::new(raw).parse_date() else {
            return None;
        };
        let minutes = i32::from(date.tz_hour) * 60 + i32::from(date.tz_minute);
        Some(When {
            unix: date.to_timestamp(),
            offset: if date.tz_before_gmt {
                -minutes
            } else {
                minutes
            },
        })
    }

    fn now(&self) -> Option<i64> {
        Some(self.message.now)
    }

    fn include(&self, name: &str) -> Option<proto_sieve::Script> {
        let script = self.scripts.iter().find(|s| s.name == name)?;
        proto_sieve::compile(&script.source).ok()
    }

    fn body(&self, transform: &BodyTransform) -> Vec<String> {
        let Some(whole) = self.message.whole else {
            return Vec::new();
        };
        match transform {
            BodyTransform::Raw => mail::body_parts(whole, None),
            BodyTransform::Text => mail::body_parts(whole, Some(&["text".to_string()])),
            BodyTransform::Content(types) => mail::body_parts(whole, Some(types)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_system_flags_and_keywords() {
        let flags: Vec<String> = [
            "\\Seen",
            "\\flagged",
            "$Important",
            "\\Recent",
            "bad(word",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (mailbox, bits, keywords) = copy("Archive", &flags);
        assert_eq!(mailbox, "Archive");
        assert_eq!(bits, FLAG_SEEN | FLAG_FLAGGED);
        assert_eq!(keywords, vec!["$Important".to_string()]);
    }

    #[test]
    fn script_names_are_checked() {
        assert!(check_name("vacation rules").is_ok());
        for bad in ["", "a/b", "tab\there", &"x".repeat(MAX_NAME + 1)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_vacation_answer_is_a_message_with_the_reason_or_the_scripts_entity() {
        let mut answer = Answer {
            to: "friend@example.org".into(),
            from: "ann@example.test".into(),
            subject: "Away".into(),
            reason: "Back on Monday.".into(),
            mime: false,
            days: 7,
            handle: "h".into(),
            in_reply_to: Some("<q1@example.org>".into()),
        };
        let text = |answer: &Answer| {
            let message = answer_message(answer, "mx.test", 1_700_000_000).unwrap();
            let parsed = MessageParser::default().parse(&message).unwrap();
            let body = parsed.body_text(0).unwrap().into_owned();
            let html = parsed.body_html(0).map(|h| h.into_owned());
            (String::from_utf8(message).unwrap(), body, html)
        };
        let (message, body, _) = text(&answer);
        assert!(
            message.contains("Auto-Submitted: auto-replied"),
            "{message}"
        );
        assert!(
            message.contains("In-Reply-To: <q1@example.org>"),
            "{message}"
        );
        assert_eq!(body.trim_end(), "Back on Monday.");
        // RFC 5230 §4.4: with :mime the reason is the answer's MIME entity.
        answer.mime = true;
        answer.reason = "Content-Type: multipart/alternative; boundary=b\n\n--b\n\
            Content-Type: text/plain\n\nBack on Monday.\n--b\n\
            Content-Type: text/html\n\n<p>Back on <b>Monday</b>.</p>\n--b--\n"
            .into();
        let (message, body, html) = text(&answer);
        assert!(!message.contains("\r\n\n") && !message.contains("Back on Monday.\n--"));
        assert_eq!(body.trim_end(), "Back on Monday.");
        assert_eq!(
            html.as_deref().map(str::trim_end),
            Some("<p>Back on <b>Monday</b>.</p>")
        );
    }

    #[test]
    fn inbox_is_inbox_in_any_case() {
        assert!(same_mailbox("INBOX", "inbox"));
        assert!(!same_mailbox("Lists", "lists"));
    }
}
