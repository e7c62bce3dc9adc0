//! A parsed script given its meaning: every command and test known, its arguments checked,
//! every extension it uses required. A script that compiles cannot fail for want of an
//! argument when it runs.

use crate::Error;
use crate::date;
use crate::matching::{self, AddressPart, Comparator, Compare, MatchType, Relation};
use crate::parse::{self, Argument, Arguments};
use crate::run::BodyTransform;
use crate::variables::{self, Modifier};

/// The extensions a script may require (RFC 5228 §3.2, and the RFCs named).
pub const EXTENSIONS: &[&str] = &[
    "fileinto",
    "envelope",
    "imap4flags", // RFC 5232
    "copy",       // RFC 3894
    "subaddress", // RFC 5233
    "relational", // RFC 5231
    "mailbox",    // RFC 5490 (:create, mailboxexists)
    "vacation",   // RFC 5230
    "body",       // RFC 5173
    "reject",     // RFC 5429
    "date",       // RFC 5260
    "include",    // RFC 6609
    "ereject",    // RFC 5429
    "comparator-i;ascii-numeric",
    "variables", // RFC 5229
    "regex",     // draft-ietf-sieve-regex-01, as Dovecot and Cyrus have it
];

/// A compiled script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub(crate) commands: Vec<Command>,
    /// It requires "variables": its strings are expanded as it runs.
    pub(crate) variables: bool,
    /// It requires "body": its tests may read the message's body.
    pub(crate) body: bool,
}

impl Script {
    /// Whether it may read the message's body (it requires "body", RFC 5173): whoever runs
    /// it has the message whole at hand then.
    pub fn reads_body(&self) -> bool {
        self.body
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// `if` with its `elsif`s, each a test and its block, then the `else` block.
    If {
        branches: Vec<(Test, Vec<Command>)>,
        otherwise: Vec<Command>,
    },
    Stop,
    Keep {
        flags: Option<Vec<String>>,
    },
    Discard,
    FileInto {
        mailbox: String,
        flags: Option<Vec<String>>,
        copy: bool,
        create: bool,
    },
    Redirect {
        address: String,
        copy: bool,
    },
    Flags {
        change: FlagChange,
        /// The variable holding the flags (RFC 5232 §3 with "variables"), or `None` for
        /// the internal one.
        variable: Option<String>,
        flags: Vec<String>,
    },
    /// `set` (RFC 5229 §4): the name (checked, lowercased), the value, its modifiers in
    /// the order they apply.
    Set {
        name: String,
        value: String,
        modifiers: Vec<Modifier>,
    },
    Vacation(Vacation),
    /// `reject` / `ereject` (RFC 5429): refused, with the reason.
    Reject(String),
    /// `include` (RFC 6609): another of the user's scripts, run here.
    Include {
        name: String,
        once: bool,
        optional: bool,
    },
    /// `return` (RFC 6609): back to the script that included this one.
    Return,
}

/// `vacation` (RFC 5230): an answer to the sender, at most once per `days` for the same
/// `handle`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Vacation {
    pub(crate) days: u32,
    pub(crate) subject: Option<String>,
    pub(crate) from: Option<String>,
    /// The recipient's other addresses, besides the one the message came to.
    pub(crate) addresses: Vec<String>,
    /// What tells this answer from the script's others: `:handle`, else its text.
    pub(crate) handle: String,
    pub(crate) reason: String,
    /// `:mime`: the reason is a MIME entity (RFC 5230 §4.4).
    pub(crate) mime: bool,
}

/// `:days` without one (RFC 5230 §4.1), and the most a script may ask for.
const VACATION_DAYS: (u64, u64) = (7, 365);

/// Where an address test reads its addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressSource {
    /// `address`: header fields.
    Header,
    /// `envelope`: the envelope's `from` and `to`.
    Envelope,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlagChange {
    Set,
    Add,
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Test {
    True,
    False,
    Not(Box<Test>),
    AllOf(Vec<Test>),
    AnyOf(Vec<Test>),
    Exists(Vec<String>),
    Size {
        over: bool,
        limit: u64,
    },
    Header {
        compare: Compare,
        names: Vec<String>,
        keys: Vec<String>,
    },
    Address {
        from: AddressSource,
        compare: Compare,
        part: AddressPart,
        /// Header field names, or (`envelope`) `from` and `to`, lowercased.
        names: Vec<String>,
        keys: Vec<String>,
    },
    HasFlag {
        compare: Compare,
        /// The variables whose flags are tested; none: the internal one.
        variables: Vec<String>,
        keys: Vec<String>,
    },
    /// `string` (RFC 5229 §5): expanded strings against the keys.
    String {
        compare: Compare,
        sources: Vec<String>,
        keys: Vec<String>,
    },
    Body {
        compare: Compare,
        transform: BodyTransform,
        keys: Vec<String>,
    },
    MailboxExists(Vec<String>),
    /// `date` (`header: Some`) or `currentdate` (RFC 5260): a part of a date, seen in a
    /// zone.
    Date {
        compare: Compare,
        header: Option<String>,
        zone: DateZone,
        part: String,
        keys: Vec<String>,
    },
}

/// The zone a `date` test sees a date in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateZone {
    /// The server's: UTC.
    Server,
    /// `:zone`, minutes east of UTC.
    Fixed(i32),
    /// `:originalzone`: the one the date was written in.
    Original,
}

/// Compiles the commands of a parsed script.
pub(crate) fn compile(commands: &[parse::Command]) -> Result<Script, Error> {
    let mut required: Vec<String> = Vec::new();
    let mut body = commands;
    // `require` comes before anything else (RFC 5228 §3.2).
    while let Some((first, rest)) = body.split_first() {
        if first.name != "require" {
            break;
        }
        let mut args = Args::new(first.line, "require", &first.arguments)?;
        let names = args.strings("the extensions it requires")?;
        args.done()?;
        for name in names {
            let name = name.to_ascii_lowercase();
            if !EXTENSIONS.contains(&name.as_str()) {
                return Err(Error::new(
                    first.line,
                    &format!("the extension \"{name}\" is not supported"),
                ));
            }
            required.push(name);
        }
        if first.block.is_some() {
            return Err(Error::new(first.line, "require takes no block"));
        }
        body = rest;
    }
    let context = Context { required };
    Ok(Script {
        commands: context.block(body)?,
        variables: context.has("variables"),
        body: context.has("body"),
    })
}

struct Context {
    required: Vec<String>,
}

impl Context {
    fn has(&self, extension: &str) -> bool {
        self.required.iter().any(|r| r == extension)
    }

    /// Whether `text` may only be known when the script runs: it names a variable, and
    /// variables are expanded.
    fn at_run(&self, text: &str) -> bool {
        self.has("variables") && variables::refers(text)
    }

    fn needs(&self, extension: &str, line: usize, what: &str) -> Result<(), Error> {
        if self.has(extension) {
            Ok(())
        } else {
            Err(Error::new(
                line,
                &format!("{what} needs require \"{extension}\""),
            ))
        }
    }

    fn block(&self, commands: &[parse::Command]) -> Result<Vec<Command>, Error> {
        let mut out = Vec::with_capacity(commands.len());
        let mut iter = commands.iter().peekable();
        while let Some(command) = iter.next() {
            let line = command.line;
            let compiled = match command.name.as_str() {
                "if" => {
                    let mut branches = vec![self.branch(command)?];
                    let mut otherwise = Vec::new();
                    while let Some(next) = iter.next_if(|c| c.name == "elsif" || c.name == "else") {
                        if next.name == "elsif" {
                            branches.push(self.branch(next)?);
                        } else {
                            Args::new(next.line, "else", &next.arguments)?.done()?;
                            otherwise = self.block(required_block(next)?)?;
                            break;
                        }
                    }
                    Command::If {
                        branches,
                        otherwise,
                    }
                }
                "elsif" | "else" => {
                    return Err(Error::new(
                        line,
                        &format!("{} without an if before it", command.name),
                    ));
                }
                "require" => {
                    return Err(Error::new(line, "require must come before other commands"));
                }
                name => {
                    if command.block.is_some() {
                        return Err(Error::new(line, &format!("{name} takes no block")));
                    }
                    self.action(command)?
                }
            };
            out.push(compiled);
        }
        Ok(out)
    }

    fn branch(&self, command: &parse::Command) -> Result<(Test, Vec<Command>), Error> {
        let mut args = Args::new(command.line, &command.name, &command.arguments)?;
        let test = args.test()?;
        args.done()?;
        let test = self.test(test)?;
        Ok((test, self.block(required_block(command)?)?))
    }

    fn action(&self, command: &parse::Command) -> Result<Command, Error> {
        let line = command.line;
        let name = command.name.as_str();
        let mut args = Args::new(line, name, &command.arguments)?;
        let compiled = match name {
            "stop" => Command::Stop,
            "discard" => Command::Discard,
            "keep" => Command::Keep {
                flags: self.flags_tag(&mut args)?,
            },
            "fileinto" => {
                self.needs("fileinto", line, "fileinto")?;
                let flags = self.flags_tag(&mut args)?;
                let copy = self.copy_tag(&mut args)?;
                let create = args.flag("create");
                if create {
                    self.needs("mailbox", line, ":create")?;
                }
                let mailbox = args.string("the mailbox")?;
                if mailbox.is_empty() {
                    return Err(Error::new(line, "fileinto needs a mailbox name"));
                }
                Command::FileInto {
                    mailbox,
                    flags,
                    copy,
                    create,
                }
            }
            "redirect" => {
                let copy = self.copy_tag(&mut args)?;
                let address = args.string("the address")?;
                if !is_address(&address) && !self.at_run(&address) {
                    return Err(Error::new(
                        line,
                        &format!("redirect: \"{address}\" is not an email address"),
                    ));
                }
                Command::Redirect { address, copy }
            }
            "include" => {
                self.needs("include", line, "include")?;
                if args.flag("global") {
                    return Err(args.error("there are no global scripts here: use :personal"));
                }
                args.flag("personal");
                let once = args.flag("once");
                let optional = args.flag("optional");
                let name = args.string("the script's name")?;
                Command::Include {
                    name,
                    once,
                    optional,
                }
            }
            "return" => {
                self.needs("include", line, "return")?;
                Command::Return
            }
            "reject" | "ereject" => {
                self.needs(name, line, name)?;
                Command::Reject(args.string("the reason")?)
            }
            "vacation" => {
                self.needs("vacation", line, "vacation")?;
                Command::Vacation(vacation(&mut args, self.has("variables"))?)
            }
            "setflag" | "addflag" | "removeflag" => {
                self.needs("imap4flags", line, name)?;
                let change = match name {
                    "setflag" => FlagChange::Set,
                    "addflag" => FlagChange::Add,
                    _ => FlagChange::Remove,
                };
                let mut strings = args.strings("the flags")?;
                let variable = match args.remaining() {
                    0 => None,
                    _ => {
                        self.needs("variables", line, "a variable of flags")?;
                        let [name] = std::mem::replace(&mut strings, args.strings("the flags")?)
                            .try_into()
                            .map_err(|_| args.error("the variable is one name"))?;
                        Some(variable_name(&args, name)?)
                    }
                };
                Command::Flags {
                    change,
                    variable,
                    flags: strings,
                }
            }
            "set" => {
                self.needs("variables", line, "set")?;
                let mut modifiers: Vec<Modifier> = Vec::new();
                for (tag, modifier) in Modifier::TAGS {
                    if args.flag(tag) {
                        if modifiers
                            .iter()
                            .any(|m| m.precedence() == modifier.precedence())
                        {
                            return Err(args
                                .error(&format!(":{tag} cannot go with a modifier of its kind")));
                        }
                        modifiers.push(modifier);
                    }
                }
                let name = args.string("the variable's name")?;
                let name = variable_name(&args, name)?;
                Command::Set {
                    name,
                    value: args.string("the value")?,
                    modifiers,
                }
            }
            other => {
                return Err(Error::new(line, &format!("unknown command \"{other}\"")));
            }
        };
        args.done()?;
        Ok(compiled)
    }

    /// `:flags <list>` (imap4flags) on keep and fileinto.
    fn flags_tag(&self, args: &mut Args<'_>) -> Result<Option<Vec<String>>, Error> {
        if !args.has("flags") {
            return Ok(None);
        }
        self.needs("imap4flags", args.line, ":flags")?;
        args.tagged_strings("flags").map(Some)
    }

    fn copy_tag(&self, args: &mut Args<'_>) -> Result<bool, Error> {
        let copy = args.flag("copy");
        if copy {
            self.needs("copy", args.line, ":copy")?;
        }
        Ok(copy)
    }

    fn test(&self, test: &parse::Test) -> Result<Test, Error> {
        let line = test.line;
        let name = test.name.as_str();
        let mut args = Args::new(line, name, &test.arguments)?;
        let compiled = match name {
            "true" => Test::True,
            "false" => Test::False,
            "not" => Test::Not(Box::new(self.test(args.test()?)?)),
            "allof" | "anyof" => {
                let tests = args
                    .tests()?
                    .iter()
                    .map(|t| self.test(t))
                    .collect::<Result<Vec<_>, _>>()?;
                if name == "allof" {
                    Test::AllOf(tests)
                } else {
                    Test::AnyOf(tests)
                }
            }
            "exists" => Test::Exists(args.strings("the header names")?),
            "size" => {
                let over = args.flag("over");
                let under = args.flag("under");
                if over == under {
                    return Err(Error::new(line, "size takes one of :over and :under"));
                }
                Test::Size {
                    over,
                    limit: args.number("the size")?,
                }
            }
            "header" => {
                let compare = self.compare(&mut args)?;
                Test::Header {
                    compare,
                    names: args.strings("the header names")?,
                    keys: self.keys(&mut args, &compare)?,
                }
            }
            "address" | "envelope" => {
                if name == "envelope" {
                    self.needs("envelope", line, "envelope")?;
                }
                let compare = self.compare(&mut args)?;
                let part = self.address_part(&mut args)?;
                let names = args.strings("the header names")?;
                let keys = self.keys(&mut args, &compare)?;
                let from = if name == "address" {
                    AddressSource::Header
                } else {
                    AddressSource::Envelope
                };
                let names: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
                if from == AddressSource::Envelope
                    && let Some(bad) = names.iter().find(|n| *n != "from" && *n != "to")
                {
                    return Err(Error::new(
                        line,
                        &format!("envelope: \"{bad}\" is not \"from\" or \"to\""),
                    ));
                }
                Test::Address {
                    from,
                    compare,
                    part,
                    names,
                    keys,
                }
            }
            "hasflag" => {
                self.needs("imap4flags", line, "hasflag")?;
                let compare = self.compare(&mut args)?;
                let mut keys = args.strings("the flags")?;
                let mut variables = Vec::new();
                if args.remaining() > 0 {
                    self.needs("variables", line, "hasflag on variables")?;
                    let names = std::mem::replace(&mut keys, args.strings("the flags")?);
                    for name in names {
                        variables.push(variable_name(&args, name)?);
                    }
                }
                self.check_keys(&args, &compare, &keys)?;
                Test::HasFlag {
                    compare,
                    variables,
                    keys,
                }
            }
            "string" => {
                self.needs("variables", line, "string")?;
                let compare = self.compare(&mut args)?;
                Test::String {
                    compare,
                    sources: args.strings("the source strings")?,
                    keys: self.keys(&mut args, &compare)?,
                }
            }
            "body" => {
                self.needs("body", line, "body")?;
                let compare = self.compare(&mut args)?;
                let raw = args.flag("raw");
                let text = args.flag("text");
                let content = match args.has("content") {
                    true => Some(args.tagged_strings("content")?),
                    false => None,
                };
                let transform = match (raw, text, content) {
                    (true, false, None) => BodyTransform::Raw,
                    (false, _, None) => BodyTransform::Text,
                    (false, false, Some(types)) => BodyTransform::Content(types),
                    _ => return Err(args.error("one of :raw, :content and :text")),
                };
                Test::Body {
                    compare,
                    transform,
                    keys: self.keys(&mut args, &compare)?,
                }
            }
            "date" | "currentdate" => {
                self.needs("date", line, name)?;
                let zone = match (args.has("zone"), args.flag("originalzone")) {
                    (true, false) => {
                        let text = args.tagged_string("zone")?;
                        DateZone::Fixed(date::parse_zone(&text).ok_or_else(|| {
                            args.error(&format!("\"{text}\" is not a zone (+hhmm or -hhmm)"))
                        })?)
                    }
                    (false, true) if name == "date" => DateZone::Original,
                    (false, false) => DateZone::Server,
                    _ => return Err(args.error("one of :zone and :originalzone")),
                };
                let compare = self.compare(&mut args)?;
                let header = match name {
                    "date" => Some(args.string("the header name")?),
                    _ => None,
                };
                let part = args.string("the date part")?.to_ascii_lowercase();
                if !date::PARTS.contains(&part.as_str()) {
                    return Err(args.error(&format!("\"{part}\" is not a date part")));
                }
                Test::Date {
                    compare,
                    header,
                    zone,
                    part,
                    keys: self.keys(&mut args, &compare)?,
                }
            }
            "mailboxexists" => {
                self.needs("mailbox", line, "mailboxexists")?;
                Test::MailboxExists(args.strings("the mailbox names")?)
            }
            other => return Err(Error::new(line, &format!("unknown test \"{other}\""))),
        };
        args.done()?;
        Ok(compiled)
    }

    /// `:comparator "name"` and one match type, each at most once.
    fn compare(&self, args: &mut Args<'_>) -> Result<Compare, Error> {
        let line = args.line;
        let comparator = match args.has("comparator") {
            false => Comparator::AsciiCasemap,
            true => {
                let name = args.tagged_string("comparator")?;
                match name.to_ascii_lowercase().as_str() {
                    "i;octet" => Comparator::Octet,
                    "i;ascii-casemap" => Comparator::AsciiCasemap,
                    "i;ascii-numeric" => {
                        self.needs("comparator-i;ascii-numeric", line, "i;ascii-numeric")?;
                        Comparator::AsciiNumeric
                    }
                    other => {
                        return Err(Error::new(
                            line,
                            &format!("the comparator \"{other}\" is not supported"),
                        ));
                    }
                }
            }
        };
        let mut types = Vec::new();
        for simple in ["is", "contains", "matches", "regex"] {
            if args.flag(simple) {
                types.push(match simple {
                    "is" => MatchType::Is,
                    "contains" => MatchType::Contains,
                    "matches" => MatchType::Matches,
                    _ => {
                        self.needs("regex", line, ":regex")?;
                        MatchType::Regex
                    }
                });
            }
        }
        for relational in ["count", "value"] {
            if args.has(relational) {
                self.needs("relational", line, &format!(":{relational}"))?;
                let op = args.tagged_string(relational)?;
                let Some(relation) = Relation::parse(&op) else {
                    return Err(Error::new(
                        line,
                        &format!("\"{op}\" is not a relation (gt, ge, lt, le, eq, ne)"),
                    ));
                };
                types.push(if relational == "count" {
                    MatchType::Count(relation)
                } else {
                    MatchType::Value(relation)
                });
            }
        }
        if types.len() > 1 {
            return Err(Error::new(line, "more than one match type"));
        }
        let match_type = types.pop().unwrap_or(MatchType::Is);
        if comparator == Comparator::AsciiNumeric
            && matches!(
                match_type,
                MatchType::Contains | MatchType::Matches | MatchType::Regex
            )
        {
            return Err(Error::new(
                line,
                "i;ascii-numeric compares whole numbers: use :is, :value or :count",
            ));
        }
        Ok(Compare {
            comparator,
            match_type,
        })
    }

    /// A test's keys, checked for its match type.
    fn keys(&self, args: &mut Args<'_>, compare: &Compare) -> Result<Vec<String>, Error> {
        let keys = args.strings("the keys")?;
        self.check_keys(args, compare, &keys)?;
        Ok(keys)
    }

    /// `:regex` keys must be regular expressions we can run; one that names a variable is
    /// known only as the script runs (and matches nothing if it is not one then).
    fn check_keys(&self, args: &Args<'_>, compare: &Compare, keys: &[String]) -> Result<(), Error> {
        if compare.match_type != MatchType::Regex {
            return Ok(());
        }
        for key in keys.iter().filter(|key| !self.at_run(key)) {
            if let Err(e) = matching::regex(compare.comparator, key) {
                return Err(args.error(&format!("\"{key}\" is not a regular expression: {e}")));
            }
        }
        Ok(())
    }

    fn address_part(&self, args: &mut Args<'_>) -> Result<AddressPart, Error> {
        let mut parts = Vec::new();
        for (tag, part) in [
            ("all", AddressPart::All),
            ("localpart", AddressPart::LocalPart),
            ("domain", AddressPart::Domain),
            ("user", AddressPart::User),
            ("detail", AddressPart::Detail),
        ] {
            if args.flag(tag) {
                if matches!(part, AddressPart::User | AddressPart::Detail) {
                    self.needs("subaddress", args.line, &format!(":{tag}"))?;
                }
                parts.push(part);
            }
        }
        if parts.len() > 1 {
            return Err(Error::new(args.line, "more than one address part"));
        }
        Ok(parts.pop().unwrap_or(AddressPart::All))
    }
}

/// `vacation [:days n] [:subject s] [:from a] [:addresses list] [:handle h] reason`.
/// `vacation`'s arguments; with `variables`, addresses that name one are checked as the
/// script runs.
fn vacation(args: &mut Args<'_>, variables: bool) -> Result<Vacation, Error> {
    let days = match args.has("days") {
        true => args.tagged_number("days")?.clamp(1, VACATION_DAYS.1),
        false => VACATION_DAYS.0,
    };
    let mut optional = |tag: &str| match args.has(tag) {
        true => args.tagged_string(tag).map(Some),
        false => Ok(None),
    };
    let (subject, from, handle) = (optional("subject")?, optional("from")?, optional("handle")?);
    let addresses = match args.has("addresses") {
        true => args.tagged_strings("addresses")?,
        false => Vec::new(),
    };
    let mime = args.flag("mime");
    let reason = args.string("the reason")?;
    if mime && !variables && !is_entity(&reason) {
        return Err(args.error(
            "with :mime the reason is a MIME entity: header fields, an empty line, the body",
        ));
    }
    let known = |a: &&String| !(variables && variables::refers(a));
    if let Some(bad) = from
        .iter()
        .chain(&addresses)
        .filter(known)
        .find(|a| !is_address(a))
    {
        return Err(args.error(&format!("\"{bad}\" is not an email address")));
    }
    let handle = handle.unwrap_or_else(|| {
        let (subject, from) = (subject.as_deref(), from.as_deref());
        format!(
            "{reason}\0{}\0{}",
            subject.unwrap_or(""),
            from.unwrap_or("")
        )
    });
    Ok(Vacation {
        days: u32::try_from(days).unwrap_or(1),
        subject,
        from,
        addresses,
        handle,
        reason,
        mime,
    })
}

/// Whether `text` can be a MIME entity (RFC 2045 §2.4): header fields (a `Content-Type`
/// among them), then an empty line and the body. The rest is the mail builder's.
pub(crate) fn is_entity(text: &str) -> bool {
    let Some((head, _)) = text
        .split_once("\r\n\r\n")
        .or_else(|| text.split_once("\n\n"))
    else {
        return false;
    };
    head.lines().any(|line| {
        line.split_once(':')
            .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case("content-type"))
    })
}

/// A variable's name as `set` and the flag commands take it: an identifier, not a
/// reference, lowercased (RFC 5229 §3: names are case-insensitive).
fn variable_name(args: &Args<'_>, name: String) -> Result<String, Error> {
    if variables::is_name(&name) {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(args.error(&format!("\"{name}\" cannot name a variable")))
    }
}

fn required_block(command: &parse::Command) -> Result<&[parse::Command], Error> {
    command
        .block
        .as_deref()
        .ok_or_else(|| Error::new(command.line, &format!("{} needs a block", command.name)))
}

/// Whether `text` looks like `local@domain` (redirect's target, checked before any mail
/// goes there).
pub(crate) fn is_address(text: &str) -> bool {
    match text.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text
                    .chars()
                    .any(|c| c.is_whitespace() || c == '<' || c == '>')
        }
        None => false,
    }
}

/// The arguments of one command or test, taken as it is compiled: tags first (in any
/// order), then the positional arguments in order, then its tests.
struct Args<'a> {
    line: usize,
    name: &'a str,
    tags: Vec<(String, Option<&'a Argument>)>,
    positional: std::collections::VecDeque<&'a Argument>,
    tests: &'a [parse::Test],
    tests_taken: bool,
}

/// Tags that take the argument after them.
const TAGS_WITH_VALUE: &[&str] = &[
    "comparator",
    "count",
    "value",
    "flags",
    "days",
    "subject",
    "from",
    "addresses",
    "handle",
    "content",
    "zone",
];

impl<'a> Args<'a> {
    fn new(line: usize, name: &'a str, arguments: &'a Arguments) -> Result<Self, Error> {
        let mut tags = Vec::new();
        let mut positional = std::collections::VecDeque::new();
        let mut values = arguments.values.iter().peekable();
        while let Some(value) = values.next() {
            match value {
                Argument::Tag(tag) => {
                    if !positional.is_empty() {
                        return Err(Error::new(
                            line,
                            &format!("{name}: the tag :{tag} must come before the other arguments"),
                        ));
                    }
                    if tags.iter().any(|(t, _)| t == tag) {
                        return Err(Error::new(line, &format!("{name}: :{tag} given twice")));
                    }
                    let value = if TAGS_WITH_VALUE.contains(&tag.as_str()) {
                        match values.next() {
                            Some(value @ (Argument::Strings(_) | Argument::Number(_))) => {
                                Some(value)
                            }
                            _ => {
                                return Err(Error::new(
                                    line,
                                    &format!("{name}: :{tag} needs a value after it"),
                                ));
                            }
                        }
                    } else {
                        None
                    };
                    tags.push((tag.clone(), value));
                }
                other => positional.push_back(other),
            }
        }
        Ok(Args {
            line,
            name,
            tags,
            positional,
            tests: &arguments.tests,
            tests_taken: false,
        })
    }

    fn error(&self, message: &str) -> Error {
        Error::new(self.line, &format!("{}: {message}", self.name))
    }

    /// Whether the tag was given (it is taken).
    fn has(&self, tag: &str) -> bool {
        self.tags.iter().any(|(t, _)| t == tag)
    }

    /// Takes a tag without a value; whether it was given.
    fn flag(&mut self, tag: &str) -> bool {
        match self.tags.iter().position(|(t, _)| t == tag) {
            Some(at) => {
                self.tags.remove(at);
                true
            }
            None => false,
        }
    }

    fn tagged_strings(&mut self, tag: &str) -> Result<Vec<String>, Error> {
        let at = self.tags.iter().position(|(t, _)| t == tag);
        match at.map(|at| self.tags.remove(at)) {
            Some((_, Some(Argument::Strings(strings)))) => Ok(strings.clone()),
            _ => Err(self.error(&format!(":{tag} needs a string list"))),
        }
    }

    fn tagged_number(&mut self, tag: &str) -> Result<u64, Error> {
        let at = self.tags.iter().position(|(t, _)| t == tag);
        match at.map(|at| self.tags.remove(at)) {
            Some((_, Some(Argument::Number(n)))) => Ok(*n),
            _ => Err(self.error(&format!(":{tag} needs a number"))),
        }
    }

    fn tagged_string(&mut self, tag: &str) -> Result<String, Error> {
        match self.tagged_strings(tag)?.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(self.error(&format!(":{tag} takes one string"))),
        }
    }

    fn strings(&mut self, what: &str) -> Result<Vec<String>, Error> {
        match self.positional.pop_front() {
            Some(Argument::Strings(strings)) => Ok(strings.clone()),
            _ => Err(self.error(&format!("expected {what}"))),
        }
    }

    fn string(&mut self, what: &str) -> Result<String, Error> {
        match self.strings(what)?.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(self.error(&format!("{what} is one string, not a list"))),
        }
    }

    /// Positional arguments not yet taken.
    fn remaining(&self) -> usize {
        self.positional.len()
    }

    fn number(&mut self, what: &str) -> Result<u64, Error> {
        match self.positional.pop_front() {
            Some(Argument::Number(n)) => Ok(*n),
            _ => Err(self.error(&format!("expected {what}, a number"))),
        }
    }

    fn test(&mut self) -> Result<&'a parse::Test, Error> {
        match self.tests {
            [one] => {
                self.tests_taken = true;
                Ok(one)
            }
            _ => Err(self.error("expected one test")),
        }
    }

    fn tests(&mut self) -> Result<&'a [parse::Test], Error> {
        if self.tests.is_empty() {
            return Err(self.error("expected a list of tests"));
        }
        self.tests_taken = true;
        Ok(self.tests)
    }

    /// Everything given was taken.
    fn done(self) -> Result<(), Error> {
        if let Some((tag, _)) = self.tags.first() {
            return Err(self.error(&format!("the tag :{tag} is not known here")));
        }
        if !self.positional.is_empty() {
            return Err(self.error("too many arguments"));
        }
        if !self.tests.is_empty() && !self.tests_taken {
            return Err(self.error("takes no test"));
        }
        Ok(())
    }
}
