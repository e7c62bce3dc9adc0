//! Running a compiled script on one message for one recipient (RFC 5228 §2.10): the
//! actions it takes, with the implicit keep, in bounded time.

use std::borrow::Cow;

use crate::date::{self, When};
use crate::matching::{Budget, Compare, Exhausted, MatchType};
use crate::script::{
    AddressSource, Command, DateZone, FlagChange, Script, Test, Vacation, is_address,
};
use crate::variables::{MAX_VARIABLES, TooMany, Variables};

/// Characters a run may compare in all: a script with many keys against a large header
/// stops there, and the message is kept.
pub const MAX_WORK: u64 = 1 << 22;

/// Mailboxes a run may file into and addresses it may redirect to, together.
pub const MAX_ACTIONS: usize = 32;

/// Addresses a run may redirect to (RFC 5228 §4.2 asks for a limit).
pub const MAX_REDIRECTS: usize = 4;

/// What a script reads of the message it runs on; the engine supplies it.
pub trait Message {
    /// Every value of the header field `name` (any case), unfolded and decoded (RFC 2047),
    /// in the order they appear.
    fn header(&self, name: &str) -> Vec<String>;
    /// The addresses (`local@domain`) the header field `name` holds, groups opened.
    fn addresses(&self, name: &str) -> Vec<String>;
    /// The envelope's `from` (the return path; empty for bounces) or `to` (the recipient
    /// this run is for).
    fn envelope(&self, part: &str) -> Option<String>;
    /// The message's size in octets.
    fn size(&self) -> u64;
    /// Whether the recipient has a mailbox of that name.
    fn mailbox_exists(&self, name: &str) -> bool;
    /// The body as `transform` asks (RFC 5173 §5), one string per part. A message whose
    /// body is not at hand has none, which is what this gives unless implemented.
    fn body(&self, transform: &BodyTransform) -> Vec<String> {
        let _ = transform;
        Vec::new()
    }
    /// The date of the first header field `name`, when it holds one (RFC 5322 §3.3): the
    /// instant and the zone it was written in. None unless implemented.
    fn date(&self, name: &str) -> Option<When> {
        let _ = name;
        None
    }
    /// When the message is being delivered (`currentdate`), Unix seconds; none unless
    /// implemented, and then `currentdate` matches nothing.
    fn now(&self) -> Option<i64> {
        None
    }
    /// The recipient's script `name`, compiled, for `include` (RFC 6609); none unless
    /// implemented, and then an `include` fails unless `:optional`.
    fn include(&self, name: &str) -> Option<Script> {
        let _ = name;
        None
    }
}

/// Scripts a run may include, in all (RFC 6609 §3.2 asks for a limit).
pub const MAX_INCLUDES: usize = 16;

/// What of the body a `body` test looks at (RFC 5173 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyTransform {
    /// The body as it came, undecoded.
    Raw,
    /// The text parts decoded from their transfer encoding and charset.
    Text,
    /// The parts of these media types (`text`, `text/html`; `""` any), decoded.
    Content(Vec<String>),
}

/// What the script decided for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Into the recipient's INBOX.
    Keep {
        /// The IMAP flags and keywords the stored message gets.
        flags: Vec<String>,
    },
    /// Into a mailbox of the recipient.
    FileInto {
        /// Its name (UTF-8, `/` between levels).
        mailbox: String,
        /// The IMAP flags and keywords the stored message gets.
        flags: Vec<String>,
        /// Make the mailbox if it does not exist (RFC 5490); without, a missing mailbox
        /// means the message is kept in INBOX.
        create: bool,
    },
    /// On to another address.
    Redirect {
        /// `local@domain`.
        address: String,
    },
    /// An answer to the sender (RFC 5230), once the rules allow one: never to a bounce,
    /// a list or an automated sender, and only when the recipient is named in the
    /// message's recipient fields. The engine sends it at most once per `days` to the
    /// same sender for the same `handle`.
    Vacation {
        /// The envelope's sender, whom it goes to.
        to: String,
        /// Its `From:`, when the script gave one; else the recipient's address.
        from: Option<String>,
        /// Its `Subject:`: the script's, else `Auto: ` and the message's subject.
        subject: String,
        /// Its text; with `mime`, a MIME entity, header fields and body.
        reason: String,
        /// `:mime` (RFC 5230 §4.4): `reason` is the answer's whole MIME entity.
        mime: bool,
        /// Days before the same sender may get it again.
        days: u32,
        /// What tells this answer from the script's others.
        handle: String,
        /// The message's `Message-ID`, for `In-Reply-To` and `References`.
        in_reply_to: Option<String>,
    },
    /// Refused (RFC 5429): said in the reply when the server still can, else in a
    /// notification to the sender. It stands alone: a run that also keeps, files, redirects
    /// or answers fails, and keeps.
    Reject {
        /// Why, for the sender.
        reason: String,
    },
}

/// The actions of a run; none means the message is discarded. `error` says why a run
/// that failed part way fell back to keeping the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// In the order the script took them; each mailbox and address once.
    pub actions: Vec<Action>,
    /// Why the run stopped part way, for the log; the actions are then a plain keep.
    pub error: Option<String>,
}

impl Script {
    /// Runs the script on `message`.
    pub fn run(&self, message: &dyn Message) -> Outcome {
        let mut run = Run {
            message,
            budget: Budget::new(MAX_WORK),
            flags: Vec::new(),
            actions: Vec::new(),
            implicit_keep: true,
            including: Vec::new(),
            included: Vec::new(),
            variables: self.variables.then(Variables::default),
        };
        let ran = run.block(&self.commands).and_then(|_| run.alone());
        match ran {
            Ok(()) => {
                if run.implicit_keep {
                    let flags = run.flags.clone();
                    run.push(Action::Keep { flags }).ok();
                }
                Outcome {
                    actions: run.actions,
                    error: None,
                }
            }
            Err(failure) => Outcome {
                actions: vec![Action::Keep { flags: Vec::new() }],
                error: Some(failure.0),
            },
        }
    }
}

/// Why a run stopped before its end.
struct Failure(String);

impl From<Exhausted> for Failure {
    fn from(_: Exhausted) -> Self {
        Failure("the script did more work than a run may".to_string())
    }
}

impl From<TooMany> for Failure {
    fn from(_: TooMany) -> Self {
        Failure(format!("more than {MAX_VARIABLES} variables set"))
    }
}

/// Whether the script goes on after a block, or `stop` ended it.
enum Flow {
    Next,
    Stop,
    /// `return`: the rest of this script is skipped, its includer goes on.
    Return,
}

struct Run<'a> {
    message: &'a dyn Message,
    budget: Budget,
    /// imap4flags' internal variable (RFC 5232 §3): lowercased for comparison, kept as
    /// written.
    flags: Vec<String>,
    actions: Vec<Action>,
    implicit_keep: bool,
    /// The scripts being run, outermost first, by name (the top one has none).
    including: Vec<String>,
    /// Names included so far (`:once`), and how many includes there were.
    included: Vec<String>,
    /// The running script's variables, when it requires "variables" (each script its own).
    variables: Option<Variables>,
}

impl Run<'_> {
    fn block(&mut self, commands: &[Command]) -> Result<Flow, Failure> {
        for command in commands {
            if !self.budget.spend(1) {
                return Err(Exhausted.into());
            }
            match self.command(command)? {
                Flow::Next => {}
                flow => return Ok(flow),
            }
        }
        Ok(Flow::Next)
    }

    fn command(&mut self, command: &Command) -> Result<Flow, Failure> {
        match command {
            Command::If {
                branches,
                otherwise,
            } => {
                for (test, block) in branches {
                    if self.test(test)? {
                        return self.block(block);
                    }
                }
                return self.block(otherwise);
            }
            Command::Stop => return Ok(Flow::Stop),
            Command::Return => return Ok(Flow::Return),
            Command::Include {
                name,
                once,
                optional,
            } => return self.include(name, *once, *optional),
            Command::Discard => self.implicit_keep = false,
            Command::Keep { flags } => {
                let flags = self.flags_for(flags.as_deref())?;
                self.push(Action::Keep { flags })?;
                self.implicit_keep = false;
            }
            Command::FileInto {
                mailbox,
                flags,
                copy,
                create,
            } => {
                let flags = self.flags_for(flags.as_deref())?;
                let mailbox = self.text(mailbox)?.into_owned();
                self.push(Action::FileInto {
                    mailbox,
                    flags,
                    create: *create,
                })?;
                self.implicit_keep &= *copy;
            }
            Command::Redirect { address, copy } => {
                let redirects = self
                    .actions
                    .iter()
                    .filter(|a| matches!(a, Action::Redirect { .. }))
                    .count();
                if redirects >= MAX_REDIRECTS {
                    return Err(Failure(format!(
                        "more than {MAX_REDIRECTS} redirects in one run"
                    )));
                }
                let address = self.text(address)?.into_owned();
                if !is_address(&address) {
                    return Err(Failure(format!(
                        "redirect: \"{address}\" is not an email address"
                    )));
                }
                self.push(Action::Redirect { address })?;
                self.implicit_keep &= *copy;
            }
            Command::Flags {
                change,
                variable,
                flags,
            } => {
                let given = flag_list(&self.texts(flags)?);
                match variable {
                    None => self.flags = changed(*change, &self.flags, given),
                    Some(name) => {
                        let variables = self.variables.get_or_insert_default();
                        let held = flag_list(&[variables.get(name).to_string()]);
                        let value = changed(*change, &held, given).join(" ");
                        variables.set(name, value, &[])?;
                    }
                }
            }
            Command::Set {
                name,
                value,
                modifiers,
            } => {
                let value = self.text(value)?.into_owned();
                let variables = self.variables.get_or_insert_default();
                variables.set(name, value, modifiers)?;
            }
            Command::Reject(reason) => {
                let reason = self.text(reason)?.into_owned();
                self.push(Action::Reject { reason })?;
                self.implicit_keep = false;
            }
            Command::Vacation(vacation) => {
                let vacation = self.vacation(vacation)?;
                if let Some(answer) = answer(self.message, &vacation) {
                    self.push(answer)?;
                }
            }
        }
        Ok(Flow::Next)
    }

    /// Runs the user's script `name` here (RFC 6609 §3.2): its actions join this run's,
    /// `return` ends only it, `stop` ends everything.
    fn include(&mut self, name: &str, once: bool, optional: bool) -> Result<Flow, Failure> {
        if once && self.included.iter().any(|n| n == name) {
            return Ok(Flow::Next);
        }
        if self.including.iter().any(|n| n == name) {
            return Err(Failure(format!("the script {name} includes itself")));
        }
        if self.included.len() >= MAX_INCLUDES {
            return Err(Failure(format!(
                "more than {MAX_INCLUDES} includes in one run"
            )));
        }
        let Some(script) = self.message.include(name) else {
            return match optional {
                true => Ok(Flow::Next),
                false => Err(Failure(format!("there is no script {name} to include"))),
            };
        };
        self.included.push(name.to_string());
        self.including.push(name.to_string());
        let outer = std::mem::replace(
            &mut self.variables,
            script.variables.then(Variables::default),
        );
        let flow = self.block(&script.commands);
        self.variables = outer;
        self.including.pop();
        match flow? {
            Flow::Stop => Ok(Flow::Stop),
            Flow::Next | Flow::Return => Ok(Flow::Next),
        }
    }

    /// A refusal with anything else is an error (RFC 5429 §2.1).
    fn alone(&self) -> Result<(), Failure> {
        let refused = self
            .actions
            .iter()
            .any(|a| matches!(a, Action::Reject { .. }));
        if refused && self.actions.len() > 1 {
            return Err(Failure(
                "reject together with keep, fileinto, redirect or vacation".to_string(),
            ));
        }
        Ok(())
    }

    /// Adds an action; one that repeats an earlier one (the same mailbox, the same
    /// address) is taken once (RFC 5228 §2.10.3).
    fn push(&mut self, action: Action) -> Result<(), Failure> {
        let same = |a: &Action| match (a, &action) {
            (Action::Keep { .. }, Action::Keep { .. }) => true,
            (Action::FileInto { mailbox: a, .. }, Action::FileInto { mailbox: b, .. }) => a == b,
            (Action::Redirect { address: a }, Action::Redirect { address: b }) => {
                a.eq_ignore_ascii_case(b)
            }
            // One answer a run (RFC 5230 §4.8), the first; one refusal.
            (Action::Vacation { .. }, Action::Vacation { .. })
            | (Action::Reject { .. }, Action::Reject { .. }) => true,
            _ => false,
        };
        if self.actions.iter().any(same) {
            return Ok(());
        }
        if self.actions.len() >= MAX_ACTIONS {
            return Err(Failure(format!(
                "more than {MAX_ACTIONS} actions in one run"
            )));
        }
        self.actions.push(action);
        Ok(())
    }

    /// The flags an action stores: its `:flags`, or the internal variable.
    fn flags_for(&mut self, given: Option<&[String]>) -> Result<Vec<String>, Failure> {
        Ok(match given {
            Some(given) => flag_list(&self.texts(given)?),
            None => self.flags.clone(),
        })
    }

    /// A string of the script as it reads now: with its variables' values, when it
    /// requires "variables". The expansion is counted in the run's work.
    fn text<'s>(&mut self, text: &'s str) -> Result<Cow<'s, str>, Failure> {
        let Some(variables) = &self.variables else {
            return Ok(Cow::Borrowed(text));
        };
        let expanded = variables.expand(text);
        if !self.budget.spend(expanded.len()) {
            return Err(Exhausted.into());
        }
        Ok(Cow::Owned(expanded))
    }

    /// Each of a list of strings as [`text`](Self::text) reads it.
    fn texts<'s>(&mut self, list: &'s [String]) -> Result<Cow<'s, [String]>, Failure> {
        if self.variables.is_none() {
            return Ok(Cow::Borrowed(list));
        }
        list.iter()
            .map(|text| self.text(text).map(Cow::into_owned))
            .collect::<Result<Vec<_>, _>>()
            .map(Cow::Owned)
    }

    /// A `vacation` with its strings expanded, its addresses checked again if they named
    /// variables.
    fn vacation<'v>(&mut self, vacation: &'v Vacation) -> Result<Cow<'v, Vacation>, Failure> {
        if self.variables.is_none() {
            return Ok(Cow::Borrowed(vacation));
        }
        let mut expanded = vacation.clone();
        expanded.reason = self.text(&vacation.reason)?.into_owned();
        expanded.handle = self.text(&vacation.handle)?.into_owned();
        expanded.subject = match &vacation.subject {
            Some(subject) => Some(self.text(subject)?.into_owned()),
            None => None,
        };
        expanded.from = match &vacation.from {
            Some(from) => Some(self.text(from)?.into_owned()),
            None => None,
        };
        expanded.addresses = self.texts(&vacation.addresses)?.into_owned();
        if let Some(bad) = expanded
            .from
            .iter()
            .chain(&expanded.addresses)
            .find(|a| !is_address(a))
        {
            return Err(Failure(format!(
                "vacation: \"{bad}\" is not an email address"
            )));
        }
        Ok(Cow::Owned(expanded))
    }

    /// Whether any of `values` matches any of the (expanded) `keys`; a `:matches` that
    /// does sets the match variables (RFC 5229 §3.2).
    fn compare(
        &mut self,
        compare: &Compare,
        values: &[String],
        keys: &[String],
    ) -> Result<bool, Failure> {
        let keys = self.texts(keys)?;
        let mut taken = None;
        let hit = compare.any(values, &keys, &mut self.budget, &mut taken)?;
        if let (Some(variables), Some(taken)) = (&mut self.variables, taken) {
            variables.matched(taken);
        }
        Ok(hit)
    }

    fn test(&mut self, test: &Test) -> Result<bool, Failure> {
        if !self.budget.spend(1) {
            return Err(Exhausted.into());
        }
        let message = self.message;
        Ok(match test {
            Test::True => true,
            Test::False => false,
            Test::Not(inner) => !self.test(inner)?,
            Test::AllOf(tests) => {
                for test in tests {
                    if !self.test(test)? {
                        return Ok(false);
                    }
                }
                true
            }
            Test::AnyOf(tests) => {
                for test in tests {
                    if self.test(test)? {
                        return Ok(true);
                    }
                }
                false
            }
            Test::Exists(names) => self
                .texts(names)?
                .iter()
                .all(|name| !message.header(name).is_empty()),
            Test::Size { over, limit } => match over {
                true => message.size() > *limit,
                false => message.size() < *limit,
            },
            Test::Header {
                compare,
                names,
                keys,
            } => {
                let names = self.texts(names)?;
                let values: Vec<String> = names.iter().flat_map(|n| message.header(n)).collect();
                self.compare(compare, &values, keys)?
            }
            Test::Address {
                from,
                compare,
                part,
                names,
                keys,
            } => {
                let addresses = |name: &String| match from {
                    AddressSource::Header => message.addresses(name),
                    AddressSource::Envelope => message.envelope(name).into_iter().collect(),
                };
                let names = self.texts(names)?;
                let values: Vec<String> = names
                    .iter()
                    .flat_map(addresses)
                    .filter_map(|a| part.of(&a))
                    .collect();
                self.compare(compare, &values, keys)?
            }
            Test::HasFlag {
                compare,
                variables,
                keys,
            } => {
                let held = match (variables.as_slice(), &self.variables) {
                    ([], _) => self.flags.clone(),
                    (names, Some(values)) => {
                        let lists: Vec<String> =
                            names.iter().map(|n| values.get(n).to_string()).collect();
                        flag_list(&lists)
                    }
                    (_, None) => Vec::new(),
                };
                let keys = flag_list(&self.texts(keys)?);
                self.compare(compare, &held, &keys)?
            }
            Test::String {
                compare,
                sources,
                keys,
            } => {
                // An empty string is not counted by `:count` (RFC 5229 §5).
                let mut sources = self.texts(sources)?.into_owned();
                if matches!(compare.match_type, MatchType::Count(_)) {
                    sources.retain(|s| !s.is_empty());
                }
                self.compare(compare, &sources, keys)?
            }
            Test::MailboxExists(names) => self
                .texts(names)?
                .iter()
                .all(|name| message.mailbox_exists(name)),
            Test::Body {
                compare,
                transform,
                keys,
            } => self.compare(compare, &message.body(transform), keys)?,
            Test::Date {
                compare,
                header,
                zone,
                part,
                keys,
            } => {
                let when = match header {
                    Some(name) => message.date(&self.text(name)?),
                    None => message.now().map(|unix| When { unix, offset: 0 }),
                };
                let value = when.map(|when| {
                    let offset = match zone {
                        DateZone::Server => 0,
                        DateZone::Fixed(offset) => *offset,
                        DateZone::Original => when.offset,
                    };
                    date::part(When { offset, ..when }, part)
                });
                self.compare(compare, value.as_slice(), keys)?
            }
        })
    }
}

/// Senders no one answers: bounces' and lists' robots (RFC 5230 §4.6, RFC 3834 §2).
const ROBOTS: &[&str] = &["mailer-daemon", "listserv", "majordomo", "postmaster"];

/// Fields that say a message came from a list (RFC 2369, RFC 2919).
const LIST_FIELDS: &[&str] = &[
    "list-id",
    "list-help",
    "list-subscribe",
    "list-unsubscribe",
    "list-post",
    "list-owner",
    "list-archive",
];

/// Fields that name a message's recipients (RFC 5230 §4.5).
const RECIPIENT_FIELDS: &[&str] = &["to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc"];

/// The vacation answer to `message`, unless the rules forbid one.
fn answer(message: &dyn Message, vacation: &Vacation) -> Option<Action> {
    let sender = message.envelope("from").filter(|s| !s.is_empty())?;
    let local = sender
        .rsplit_once('@')
        .map_or(sender.as_str(), |(local, _)| local)
        .to_ascii_lowercase();
    if ROBOTS.contains(&local.as_str())
        || local.starts_with("owner-")
        || local.ends_with("-request")
        || local.ends_with("-bounces")
    {
        return None;
    }
    let automated = message
        .header("auto-submitted")
        .iter()
        .any(|v| !v.trim().eq_ignore_ascii_case("no"));
    let bulk = message.header("precedence").iter().any(|v| {
        let v = v.trim();
        ["bulk", "list", "junk"]
            .iter()
            .any(|p| v.eq_ignore_ascii_case(p))
    });
    let listed = LIST_FIELDS.iter().any(|f| !message.header(f).is_empty());
    if automated || bulk || listed {
        return None;
    }
    let mut own = vacation.addresses.clone();
    own.extend(message.envelope("to"));
    let named = RECIPIENT_FIELDS
        .iter()
        .flat_map(|field| message.addresses(field))
        .any(|a| own.iter().any(|o| same_address(o, &a)));
    if !named || own.iter().any(|o| same_address(o, &sender)) {
        return None;
    }
    let subject = vacation.subject.clone().unwrap_or_else(|| {
        match message.header("subject").first().map(|s| s.trim()) {
            Some(original) if !original.is_empty() => format!("Auto: {original}"),
            _ => "Automated reply".to_string(),
        }
    });
    Some(Action::Vacation {
        to: sender,
        from: vacation.from.clone(),
        subject,
        reason: vacation.reason.clone(),
        mime: vacation.mime,
        days: vacation.days,
        handle: vacation.handle.clone(),
        in_reply_to: message
            .header("message-id")
            .first()
            .map(|m| m.trim().to_string()),
    })
}

/// The same mailbox: equal without case, or once a `+detail` is taken off either.
fn same_address(a: &str, b: &str) -> bool {
    let base = |address: &str| {
        let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
        let user = local.split_once('+').map_or(local, |(user, _)| user);
        format!("{user}@{domain}").to_ascii_lowercase()
    };
    a.eq_ignore_ascii_case(b) || base(a) == base(b)
}

/// `held` with `given` set, added or removed, without case (RFC 5232 §4).
fn changed(change: FlagChange, held: &[String], given: Vec<String>) -> Vec<String> {
    match change {
        FlagChange::Set => given,
        FlagChange::Add => {
            let mut flags = held.to_vec();
            for flag in given {
                if !flags.iter().any(|f| f.eq_ignore_ascii_case(&flag)) {
                    flags.push(flag);
                }
            }
            flags
        }
        FlagChange::Remove => held
            .iter()
            .filter(|f| !given.iter().any(|g| g.eq_ignore_ascii_case(f)))
            .cloned()
            .collect(),
    }
}

/// The flags of a list whose strings may each hold several, separated by spaces (RFC 5232
/// §3), each once.
fn flag_list(given: &[String]) -> Vec<String> {
    let mut flags: Vec<String> = Vec::new();
    for flag in given.iter().flat_map(|s| s.split_whitespace()) {
        if !flags.iter().any(|f| f.eq_ignore_ascii_case(flag)) {
            flags.push(flag.to_string());
        }
    }
    flags
}
