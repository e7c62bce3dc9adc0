//! Arguments of the commands that are more than a mailbox or a set:
//! SELECT/EXAMINE, CREATE, LIST, STATUS, STORE, APPEND, ID, SETQUOTA,
//! AUTHENTICATE.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::take_while1;
use nom::character::complete::{char, one_of};
use nom::combinator::{map, map_opt, opt, value};
use nom::error::context;
use nom::multi::separated_list1;
use nom::sequence::{delimited, preceded, separated_pair};

use crate::parse::IResult;
use crate::parse::core::{
    arg, atom, committed, list_mailbox, mailbox, nstring, number64, nz_number, nz_number64,
    one_of_names, paren_list0, paren_list1, sp, string, upper_keyword, word,
};
use crate::parse::values::{date_time, flag, flag_list, sequence_set};
use crate::types::command::{
    AppendOptions, CommandBody, IdParams, ListCommand, ListReturn, ListSelect, QResync,
    SelectParams, StatusItem, StoreMode,
};
use crate::types::core::Atom;
use crate::types::flag::{KnownAttr, MailboxAttr};

/// `[SP (CONDSTORE / QRESYNC (...))]` of SELECT and EXAMINE; each once.
pub(crate) fn select_params(i: &[u8]) -> IResult<'_, SelectParams> {
    let seq_match = delimited(
        char('('),
        separated_pair(sequence_set, sp, sequence_set),
        char(')'),
    );
    let qresync = map(
        delimited(
            char('('),
            (
                nz_number,
                arg(nz_number64),
                opt(arg(sequence_set)),
                opt(arg(seq_match)),
            ),
            char(')'),
        ),
        |(uid_validity, modseq, known_uids, seq_match)| QResync {
            uid_validity,
            modseq,
            known_uids,
            seq_match,
        },
    );
    let param = alt((
        map(word("CONDSTORE"), |_| None),
        map(preceded(word("QRESYNC"), arg(qresync)), Some),
    ));
    let list = map_opt(paren_list1(param), |params| {
        let mut out = SelectParams::default();
        for param in params {
            match param {
                None if !out.condstore => out.condstore = true,
                Some(q) if out.qresync.is_none() => out.qresync = Some(q),
                _ => return None,
            }
        }
        Some(out)
    });
    map(
        opt(arg(context("select parameter", list))),
        Option::unwrap_or_default,
    )
    .parse(i)
}

/// A `\`-attribute of LIST or CREATE USE.
pub(crate) fn mailbox_attr(i: &[u8]) -> IResult<'_, MailboxAttr<'_>> {
    map(preceded(char('\\'), atom), |name| {
        KnownAttr::ALL
            .iter()
            .find(|known| name.as_str().eq_ignore_ascii_case(known.name()))
            .map_or(MailboxAttr::Extension(name), |&known| {
                MailboxAttr::Known(known)
            })
    })
    .parse(i)
}

/// `[SP (USE (attrs))]` of CREATE (RFC 6154).
pub(crate) fn create_params(i: &[u8]) -> IResult<'_, Vec<MailboxAttr<'_>>> {
    let use_param = preceded(word("USE"), arg(paren_list0(mailbox_attr)));
    let list = delimited(char('('), use_param, char(')'));
    map(
        opt(arg(context("create parameter", list))),
        Option::unwrap_or_default,
    )
    .parse(i)
}

/// Everything after `LIST`.
pub(crate) fn list_args(i: &[u8]) -> IResult<'_, ListCommand<'_>> {
    let select_option = one_of_names(ListSelect::ALL, ListSelect::name);
    let selection = map_opt(paren_list0(select_option), |opts: Vec<ListSelect>| {
        // RFC 5258: RECURSIVEMATCH modifies a base option and is BAD alone.
        let base = opts
            .iter()
            .any(|o| matches!(o, ListSelect::Subscribed | ListSelect::SpecialUse));
        (base || !opts.contains(&ListSelect::RecursiveMatch)).then_some(opts)
    });
    let patterns = alt((paren_list1(list_mailbox), map(list_mailbox, |p| vec![p])));
    let status = preceded(word("STATUS"), arg(status_items));
    let return_option = alt((
        value(ListReturn::Subscribed, word("SUBSCRIBED")),
        value(ListReturn::Children, word("CHILDREN")),
        value(ListReturn::SpecialUse, word("SPECIAL-USE")),
        map(status, ListReturn::Status),
    ));
    let returns = preceded((word("RETURN"), sp), paren_list0(return_option));
    map(
        (
            opt(arg(committed('(', context("selection options", selection)))),
            arg(mailbox),
            arg(patterns),
            opt(arg(context("return options", returns))),
        ),
        |(selection, reference, patterns, returns)| ListCommand {
            selection: selection.unwrap_or_default(),
            reference,
            patterns,
            returns: returns.unwrap_or_default(),
        },
    )
    .parse(i)
}

/// `(status-att ...)`.
pub(crate) fn status_items(i: &[u8]) -> IResult<'_, Vec<StatusItem>> {
    let item = one_of_names(StatusItem::ALL, StatusItem::name);
    context("status items", paren_list1(item)).parse(i)
}

/// `SP set [SP (UNCHANGEDSINCE n)] SP [+-]FLAGS[.SILENT] SP flags` of STORE.
pub(crate) fn store(uid: bool) -> impl Fn(&[u8]) -> IResult<'_, CommandBody<'_>> {
    move |i| {
        let unchanged = delimited(
            char('('),
            preceded(word("UNCHANGEDSINCE"), arg(number64)),
            char(')'),
        );
        let mode = map(opt(one_of("+-")), |sign| match sign {
            Some('+') => StoreMode::Add,
            Some(_) => StoreMode::Remove,
            None => StoreMode::Replace,
        });
        let item = map_opt(upper_keyword::<12>, |name| match name.as_bytes() {
            b"FLAGS" => Some(false),
            b"FLAGS.SILENT" => Some(true),
            _ => None,
        });
        let flags = alt((flag_list, separated_list1(sp, flag)));
        map(
            (
                arg(sequence_set),
                opt(arg(context("store modifier", unchanged))),
                arg(context("store item", (mode, item))),
                arg(flags),
            ),
            |(set, unchanged_since, (mode, silent), flags)| CommandBody::Store {
                uid,
                set,
                unchanged_since,
                mode,
                silent,
                flags,
            },
        )
        .parse(i)
    }
}

/// `[SP flag-list] [SP date-time]` before an APPEND message.
pub(crate) fn append_options(i: &[u8]) -> IResult<'_, AppendOptions<'_>> {
    let flags = committed('(', flag_list);
    let date = committed('"', date_time);
    map((opt(arg(flags)), opt(arg(date))), |(flags, date)| {
        AppendOptions {
            flags: flags.unwrap_or_default(),
            date,
        }
    })
    .parse(i)
}

/// `SP (field value ...)` or `SP NIL` of ID.
pub(crate) fn id_params(i: &[u8]) -> IResult<'_, Option<IdParams<'_>>> {
    let pair = separated_pair(string, sp, nstring);
    arg(context(
        "ID parameters",
        alt((value(None, word("NIL")), map(paren_list0(pair), Some))),
    ))
    .parse(i)
}

/// `SP (resource limit ...)` of SETQUOTA.
pub(crate) fn quota_limits(i: &[u8]) -> IResult<'_, Vec<(Atom<'_>, u64)>> {
    let limit = separated_pair(atom, sp, number64);
    arg(context("quota limits", paren_list0(limit))).parse(i)
}

/// `SP mechanism [SP initial-response]` of AUTHENTICATE (RFC 4959).
pub(crate) fn authenticate_args(i: &[u8]) -> IResult<'_, (Atom<'_>, Option<Vec<u8>>)> {
    (arg(atom), opt(arg(context("base64", sasl_base64)))).parse(i)
}

/// Base64 of a SASL exchange, `=` for an empty one; decoded.
pub(crate) fn sasl_base64(i: &[u8]) -> IResult<'_, Vec<u8>> {
    let chars = take_while1(|b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    map_opt(chars, |b64: &[u8]| match b64 {
        b"=" => Some(Vec::new()),
        _ => STANDARD.decode(b64).ok(),
    })
    .parse(i)
}
