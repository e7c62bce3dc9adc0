//! A whole command: tag, verb, arguments, CRLF.

use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::take_while1;
use nom::character::complete::char;
use nom::combinator::{all_consuming, cond, map, map_opt};
use nom::error::context;
use nom::multi::many1;
use nom::sequence::{preceded, terminated};

use crate::chars::is_tag_char;
use crate::error::{ParseError, Rejected};
use crate::parse::args::{
    append_options, authenticate_args, create_params, id_params, list_args, quota_limits,
    select_params, status_items, store,
};
use crate::parse::core::{
    LiteralAnnouncement, arg, astring, atom, crlf, list_mailbox, literal_announcement, mailbox, sp,
    upper_keyword, word,
};
use crate::parse::fetch::{fetch_attrs, fetch_modifiers};
use crate::parse::search::{search_args, sort_args, thread_args};
use crate::parse::values::sequence_set;
use crate::parse::{Expected, IResult};
use crate::types::command::{AppendMessage, AppendOptions, Command, CommandBody};
use crate::types::core::Tag;
use crate::types::mailbox::Mailbox;

/// Parses one complete command: the command line(s) with the data of every
/// literal inline, exactly as received, ending in CRLF (or a bare LF).
///
/// This is what the [`CommandFramer`](crate::CommandFramer) hands over; it
/// is public so that tests, fuzzers and other servers can use the grammar
/// without the framer.
pub fn parse_command(input: &[u8]) -> Result<Command<'_>, Rejected<'_>> {
    let (rest, tag) = command_tag(input).map_err(|_| Rejected {
        tag: None,
        error: ParseError::InvalidTag,
        fatal: false,
    })?;
    let reject = |error| Rejected {
        tag: Some(tag.clone()),
        error,
        fatal: false,
    };
    let (rest, verb) = verb(rest).map_err(|_| reject(ParseError::UnknownCommand))?;
    let body = terminated(|i| arguments(verb, i), crlf);
    match all_consuming(body).parse(rest) {
        Ok((_, body)) => Ok(Command { tag, body }),
        Err(e) => Err(reject(syntax(verb.name(), &e))),
    }
}

/// The syntax error for a failed parse of `command`'s arguments.
fn syntax(command: &'static str, error: &nom::Err<Expected>) -> ParseError {
    let expected = match error {
        nom::Err::Error(Expected(x)) | nom::Err::Failure(Expected(x)) => *x,
        nom::Err::Incomplete(_) => None,
    };
    ParseError::Syntax { command, expected }
}

/// Checks that a command still being collected starts with a tag and a
/// known verb, so that the framer does not invite literal data for garbage.
pub(crate) fn check_start(input: &[u8]) -> Result<(), ParseError> {
    let (rest, _) = command_tag(input).map_err(|_| ParseError::InvalidTag)?;
    verb(rest)
        .map(|_| ())
        .map_err(|_| ParseError::UnknownCommand)
}

/// The tag at the start of `input`, if there is a valid one.
pub(crate) fn leading_tag(input: &[u8]) -> Option<Tag<'_>> {
    command_tag(input).ok().map(|(_, tag)| tag)
}

/// `tag SP`.
fn command_tag(i: &[u8]) -> IResult<'_, Tag<'_>> {
    let tag = map_opt(take_while1(is_tag_char), |t: &[u8]| {
        Tag::new(std::str::from_utf8(t).ok()?)
    });
    terminated(tag, sp).parse(i)
}

/// The commands, with `UID` variants apart so errors can name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Capability,
    Noop,
    Logout,
    StartTls,
    Authenticate,
    Login,
    Enable,
    Select,
    Examine,
    Create,
    Delete,
    Rename,
    Subscribe,
    Unsubscribe,
    List,
    Lsub,
    Namespace,
    Status,
    Append,
    Idle,
    Check,
    Close,
    Unselect,
    Expunge,
    Search { uid: bool },
    Fetch { uid: bool },
    Store { uid: bool },
    Copy { uid: bool },
    Move { uid: bool },
    Sort { uid: bool },
    Thread { uid: bool },
    UidExpunge,
    GetQuota,
    GetQuotaRoot,
    SetQuota,
    Id,
    Compress,
}

impl Verb {
    fn name(self) -> &'static str {
        match self {
            Self::Capability => "CAPABILITY",
            Self::Noop => "NOOP",
            Self::Logout => "LOGOUT",
            Self::StartTls => "STARTTLS",
            Self::Authenticate => "AUTHENTICATE",
            Self::Login => "LOGIN",
            Self::Enable => "ENABLE",
            Self::Select => "SELECT",
            Self::Examine => "EXAMINE",
            Self::Create => "CREATE",
            Self::Delete => "DELETE",
            Self::Rename => "RENAME",
            Self::Subscribe => "SUBSCRIBE",
            Self::Unsubscribe => "UNSUBSCRIBE",
            Self::List => "LIST",
            Self::Lsub => "LSUB",
            Self::Namespace => "NAMESPACE",
            Self::Status => "STATUS",
            Self::Append => "APPEND",
            Self::Idle => "IDLE",
            Self::Check => "CHECK",
            Self::Close => "CLOSE",
            Self::Unselect => "UNSELECT",
            Self::Expunge => "EXPUNGE",
            Self::Search { uid: false } => "SEARCH",
            Self::Search { uid: true } => "UID SEARCH",
            Self::Fetch { uid: false } => "FETCH",
            Self::Fetch { uid: true } => "UID FETCH",
            Self::Store { uid: false } => "STORE",
            Self::Store { uid: true } => "UID STORE",
            Self::Copy { uid: false } => "COPY",
            Self::Copy { uid: true } => "UID COPY",
            Self::Move { uid: false } => "MOVE",
            Self::Move { uid: true } => "UID MOVE",
            Self::Sort { uid: false } => "SORT",
            Self::Sort { uid: true } => "UID SORT",
            Self::Thread { uid: false } => "THREAD",
            Self::Thread { uid: true } => "UID THREAD",
            Self::UidExpunge => "UID EXPUNGE",
            Self::GetQuota => "GETQUOTA",
            Self::GetQuotaRoot => "GETQUOTAROOT",
            Self::SetQuota => "SETQUOTA",
            Self::Id => "ID",
            Self::Compress => "COMPRESS",
        }
    }
}

/// The verb, or `UID` and the verb after it.
fn verb(i: &[u8]) -> IResult<'_, Verb> {
    let (rest, name) = upper_keyword::<12>(i)?;
    let plain = match name.as_bytes() {
        b"CAPABILITY" => Verb::Capability,
        b"NOOP" => Verb::Noop,
        b"LOGOUT" => Verb::Logout,
        b"STARTTLS" => Verb::StartTls,
        b"AUTHENTICATE" => Verb::Authenticate,
        b"LOGIN" => Verb::Login,
        b"ENABLE" => Verb::Enable,
        b"SELECT" => Verb::Select,
        b"EXAMINE" => Verb::Examine,
        b"CREATE" => Verb::Create,
        b"DELETE" => Verb::Delete,
        b"RENAME" => Verb::Rename,
        b"SUBSCRIBE" => Verb::Subscribe,
        b"UNSUBSCRIBE" => Verb::Unsubscribe,
        b"LIST" => Verb::List,
        b"LSUB" => Verb::Lsub,
        b"NAMESPACE" => Verb::Namespace,
        b"STATUS" => Verb::Status,
        b"APPEND" => Verb::Append,
        b"IDLE" => Verb::Idle,
        b"CHECK" => Verb::Check,
        b"CLOSE" => Verb::Close,
        b"UNSELECT" => Verb::Unselect,
        b"EXPUNGE" => Verb::Expunge,
        b"GETQUOTA" => Verb::GetQuota,
        b"GETQUOTAROOT" => Verb::GetQuotaRoot,
        b"SETQUOTA" => Verb::SetQuota,
        b"ID" => Verb::Id,
        b"COMPRESS" => Verb::Compress,
        b"UID" => return arg(uid_verb).parse(rest),
        other => match uid_capable(other, false) {
            Some(verb) => verb,
            None => return nom::combinator::fail().parse(i),
        },
    };
    Ok((rest, plain))
}

fn uid_verb(i: &[u8]) -> IResult<'_, Verb> {
    let (rest, name) = upper_keyword::<8>(i)?;
    match name.as_bytes() {
        b"EXPUNGE" => Ok((rest, Verb::UidExpunge)),
        other => match uid_capable(other, true) {
            Some(verb) => Ok((rest, verb)),
            None => nom::combinator::fail().parse(i),
        },
    }
}

/// The verbs that have a `UID` form.
fn uid_capable(name: &[u8], uid: bool) -> Option<Verb> {
    Some(match name {
        b"SEARCH" => Verb::Search { uid },
        b"FETCH" => Verb::Fetch { uid },
        b"STORE" => Verb::Store { uid },
        b"COPY" => Verb::Copy { uid },
        b"MOVE" => Verb::Move { uid },
        b"SORT" => Verb::Sort { uid },
        b"THREAD" => Verb::Thread { uid },
        _ => return None,
    })
}

/// The arguments of `verb`, up to the final CRLF.
fn arguments(verb: Verb, i: &[u8]) -> IResult<'_, CommandBody<'_>> {
    use CommandBody as C;
    match verb {
        Verb::Capability => Ok((i, C::Capability)),
        Verb::Noop => Ok((i, C::Noop)),
        Verb::Logout => Ok((i, C::Logout)),
        Verb::StartTls => Ok((i, C::StartTls)),
        Verb::Namespace => Ok((i, C::Namespace)),
        Verb::Idle => Ok((i, C::Idle)),
        Verb::Check => Ok((i, C::Check)),
        Verb::Close => Ok((i, C::Close)),
        Verb::Unselect => Ok((i, C::Unselect)),
        Verb::Expunge => Ok((i, C::Expunge)),
        Verb::Authenticate => map(authenticate_args, |(mechanism, initial)| C::Authenticate {
            mechanism,
            initial,
        })
        .parse(i),
        Verb::Login => map((arg(astring), arg(astring)), |(username, password)| {
            C::Login { username, password }
        })
        .parse(i),
        Verb::Enable => map(many1(arg(atom)), C::Enable).parse(i),
        Verb::Select => map((arg(mailbox), select_params), |(mailbox, params)| {
            C::Select { mailbox, params }
        })
        .parse(i),
        Verb::Examine => map((arg(mailbox), select_params), |(mailbox, params)| {
            C::Examine { mailbox, params }
        })
        .parse(i),
        Verb::Create => map((arg(mailbox), create_params), |(mailbox, special_use)| {
            C::Create {
                mailbox,
                special_use,
            }
        })
        .parse(i),
        Verb::Delete => map(arg(mailbox), C::Delete).parse(i),
        Verb::Rename => map((arg(mailbox), arg(mailbox)), |(from, to)| C::Rename {
            from,
            to,
        })
        .parse(i),
        Verb::Subscribe => map(arg(mailbox), C::Subscribe).parse(i),
        Verb::Unsubscribe => map(arg(mailbox), C::Unsubscribe).parse(i),
        Verb::List => map(list_args, C::List).parse(i),
        Verb::Lsub => map((arg(mailbox), arg(list_mailbox)), |(reference, pattern)| {
            C::Lsub { reference, pattern }
        })
        .parse(i),
        Verb::Status => map((arg(mailbox), arg(status_items)), |(mailbox, items)| {
            C::Status { mailbox, items }
        })
        .parse(i),
        Verb::Append => map(
            (arg(mailbox), many1(append_message)),
            |(mailbox, messages)| C::Append { mailbox, messages },
        )
        .parse(i),
        Verb::UidExpunge => map(arg(sequence_set), C::UidExpunge).parse(i),
        Verb::Search { uid } => map(search_args, |(returns, charset, keys)| C::Search {
            uid,
            returns,
            charset,
            keys,
        })
        .parse(i),
        Verb::Fetch { uid } => map(
            (arg(sequence_set), arg(fetch_attrs), fetch_modifiers),
            |(set, attrs, modifiers)| C::Fetch {
                uid,
                set,
                attrs,
                modifiers,
            },
        )
        .parse(i),
        Verb::Store { uid } => store(uid)(i),
        Verb::Copy { uid } => map((arg(sequence_set), arg(mailbox)), |(set, mailbox)| {
            C::Copy { uid, set, mailbox }
        })
        .parse(i),
        Verb::Move { uid } => map((arg(sequence_set), arg(mailbox)), |(set, mailbox)| {
            C::Move { uid, set, mailbox }
        })
        .parse(i),
        Verb::Sort { uid } => map(sort_args, |(criteria, charset, keys)| C::Sort {
            uid,
            criteria,
            charset,
            keys,
        })
        .parse(i),
        Verb::Thread { uid } => map(thread_args, |(algorithm, charset, keys)| C::Thread {
            uid,
            algorithm,
            charset,
            keys,
        })
        .parse(i),
        Verb::GetQuota => map(arg(astring), C::GetQuota).parse(i),
        Verb::GetQuotaRoot => map(arg(mailbox), C::GetQuotaRoot).parse(i),
        Verb::SetQuota => map((arg(astring), quota_limits), |(root, limits)| C::SetQuota {
            root,
            limits,
        })
        .parse(i),
        Verb::Id => map(id_params, C::Id).parse(i),
        Verb::Compress => map(arg(atom), C::Compress).parse(i),
    }
}

/// `append-opts SP append-data` with the literal inline.
fn append_message(i: &[u8]) -> IResult<'_, AppendMessage<'_>> {
    let (i, options) = append_options(i)?;
    let (i, announced) = message_literal(i)?;
    let (i, data) = nom::bytes::complete::take(announced.literal.size).parse(i)?;
    let (i, _) = cond(announced.utf8, context(UTF8_CLOSE, char(')'))).parse(i)?;
    Ok((
        i,
        AppendMessage {
            options,
            binary: announced.literal.binary,
            utf8: announced.utf8,
            data: data.into(),
        },
    ))
}

/// What is expected after the data of a `UTF8 (` message.
const UTF8_CLOSE: &str = "\")\" after the UTF8 message";

/// How an APPEND message's literal is announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MessageLiteral {
    pub(crate) literal: LiteralAnnouncement,
    /// Inside `UTF8 (` (RFC 6855 4): `)` follows the data.
    pub(crate) utf8: bool,
}

/// `SP` and the announcement of a message literal: `[~]{n[+]}`, or
/// `UTF8 (~{n[+]}` of RFC 6855 (where a plain literal is taken too).
fn message_literal(i: &[u8]) -> IResult<'_, MessageLiteral> {
    let utf8 = map(
        preceded((word("UTF8"), sp, char('(')), literal_announcement),
        |literal| MessageLiteral {
            literal,
            utf8: true,
        },
    );
    let plain = map(literal_announcement, |literal| MessageLiteral {
        literal,
        utf8: false,
    });
    arg(context("message literal", alt((utf8, plain)))).parse(i)
}

/// The start of a streamed APPEND: everything up to the first message
/// literal's announcement.
#[derive(Debug)]
pub(crate) struct AppendPrefix<'a> {
    pub(crate) tag: Tag<'a>,
    pub(crate) mailbox: Mailbox<'a>,
    pub(crate) options: AppendOptions<'a>,
    pub(crate) literal: MessageLiteral,
}

/// Recognises the start of an APPEND whose message literal is announced at
/// the end of `input`. `None` when `input` is not an APPEND or when the
/// literal announced is the mailbox name's (then it is an ordinary small
/// literal); `Some(Err)` for an APPEND with bad arguments.
pub(crate) fn parse_append_prefix(input: &[u8]) -> Option<Result<AppendPrefix<'_>, Rejected<'_>>> {
    let (rest, tag) = command_tag(input).ok()?;
    let (rest, verb) = verb(rest).ok()?;
    if verb != Verb::Append || all_consuming(arg(literal_announcement)).parse(rest).is_ok() {
        return None;
    }
    let prefix = (arg(mailbox), append_options, message_literal);
    Some(match all_consuming(prefix).parse(rest) {
        Ok((_, (mailbox, options, literal))) => Ok(AppendPrefix {
            tag,
            mailbox,
            options,
            literal,
        }),
        Err(e) => Err(Rejected {
            tag: Some(tag),
            error: syntax("APPEND", &e),
            fatal: false,
        }),
    })
}

/// The line after an APPEND message literal (`utf8`: of a `UTF8 (` message,
/// so starting with its `)`): another message's options and announcement
/// (MULTIAPPEND), or `None` for the end of the command.
pub(crate) fn parse_append_next(
    line: &[u8],
    utf8: bool,
) -> Result<Option<(AppendOptions<'_>, MessageLiteral)>, ParseError> {
    let expected = |what| ParseError::Syntax {
        command: "APPEND",
        expected: Some(what),
    };
    let line = match line.strip_prefix(b")") {
        Some(rest) if utf8 => rest,
        _ if utf8 => return Err(expected(UTF8_CLOSE)),
        _ => line,
    };
    let next = (append_options, message_literal);
    all_consuming(alt_end(next))
        .parse(line)
        .map(|(_, next)| next)
        .map_err(|_| expected("another message or end of line"))
}

/// `parser` or a bare end of line (`None`).
fn alt_end<'a, O>(
    parser: impl Parser<&'a [u8], Output = O, Error = Expected>,
) -> impl Parser<&'a [u8], Output = Option<O>, Error = Expected> {
    alt((map(crlf, |()| None), map(parser, Some)))
}
