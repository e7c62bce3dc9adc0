//! SEARCH, SORT and THREAD arguments.

use std::borrow::Cow;

use nom::Parser;
use nom::combinator::{map, opt};
use nom::error::context;
use nom::multi::many1;
use nom::sequence::{preceded, terminated};

use crate::parse::IResult;
use crate::parse::core::{
    arg, astring, atom, number64, nz_number, one_of_names, paren_list0, paren_list1, sp, string,
    upper_keyword, word,
};
use crate::parse::values::{date, sequence_set};
use crate::types::search::{
    EntryType, SearchKey, SearchReturn, SortCriterion, SortKey, ThreadAlgorithm,
};

/// How deep `NOT`, `OR` and parentheses may nest: deep enough for any real
/// client, shallow enough that a hostile one cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

/// The arguments of SEARCH after the verb.
pub(crate) type SearchArgs<'a> = (
    Option<Vec<SearchReturn>>,
    Option<Cow<'a, [u8]>>,
    Vec<SearchKey<'a>>,
);

/// `[SP RETURN (opts)] [SP CHARSET cs] 1*(SP key)`.
pub(crate) fn search_args(i: &[u8]) -> IResult<'_, SearchArgs<'_>> {
    let returns = preceded(
        (sp, word("RETURN"), sp),
        paren_list0(one_of_names(SearchReturn::ALL, SearchReturn::name)),
    );
    let charset = preceded((sp, word("CHARSET"), sp), astring);
    (opt(returns), opt(charset), search_keys).parse(i)
}

/// `1*(SP search-key)`.
pub(crate) fn search_keys(i: &[u8]) -> IResult<'_, Vec<SearchKey<'_>>> {
    many1(arg(|i| search_key(i, 0))).parse(i)
}

/// The arguments of SORT after the verb.
pub(crate) type SortArgs<'a> = (Vec<SortCriterion>, Cow<'a, [u8]>, Vec<SearchKey<'a>>);

/// `SP (criteria) SP charset keys` of SORT.
pub(crate) fn sort_args(i: &[u8]) -> IResult<'_, SortArgs<'_>> {
    let criterion = map(
        (
            opt(terminated(word("REVERSE"), sp)),
            one_of_names(SortKey::ALL, SortKey::name),
        ),
        |(reverse, key)| SortCriterion {
            reverse: reverse.is_some(),
            key,
        },
    );
    (
        arg(context("sort criteria", paren_list1(criterion))),
        arg(astring),
        search_keys,
    )
        .parse(i)
}

/// `SP algorithm SP charset keys` of THREAD.
pub(crate) fn thread_args(
    i: &[u8],
) -> IResult<'_, (ThreadAlgorithm, Cow<'_, [u8]>, Vec<SearchKey<'_>>)> {
    (
        arg(context(
            "thread algorithm",
            one_of_names(ThreadAlgorithm::ALL, ThreadAlgorithm::name),
        )),
        arg(astring),
        search_keys,
    )
        .parse(i)
}

fn search_key(i: &[u8], depth: usize) -> IResult<'_, SearchKey<'_>> {
    if depth > MAX_DEPTH {
        return context("search key (nested too deeply)", nom::combinator::fail()).parse(i);
    }
    // `depth` is at most `MAX_DEPTH` here, so one more cannot overflow.
    let nested = |i| search_key(i, depth.saturating_add(1));
    match i.first() {
        Some(b'(') => map(paren_list1(nested), SearchKey::And).parse(i),
        Some(b'0'..=b'9' | b'*' | b'$') => map(sequence_set, SearchKey::SequenceSet).parse(i),
        _ => context("search key", |i| named_key(i, depth)).parse(i),
    }
}

fn named_key<'a>(i: &'a [u8], depth: usize) -> IResult<'a, SearchKey<'a>> {
    use SearchKey as K;
    // Called from `search_key` only, where `depth <= MAX_DEPTH`.
    let nested = |i| search_key(i, depth.saturating_add(1));
    let (i, name) = upper_keyword::<12>(i)?;
    let text = |f: fn(Cow<'a, [u8]>) -> SearchKey<'a>| map(arg(astring), f);
    let day = |f: fn(_) -> SearchKey<'static>| map(arg(date), f);
    match name.as_bytes() {
        b"ALL" => Ok((i, K::All)),
        b"ANSWERED" => Ok((i, K::Answered)),
        b"DELETED" => Ok((i, K::Deleted)),
        b"DRAFT" => Ok((i, K::Draft)),
        b"FLAGGED" => Ok((i, K::Flagged)),
        b"NEW" => Ok((i, K::New)),
        b"OLD" => Ok((i, K::Old)),
        b"RECENT" => Ok((i, K::Recent)),
        b"SEEN" => Ok((i, K::Seen)),
        b"UNANSWERED" => Ok((i, K::Unanswered)),
        b"UNDELETED" => Ok((i, K::Undeleted)),
        b"UNDRAFT" => Ok((i, K::Undraft)),
        b"UNFLAGGED" => Ok((i, K::Unflagged)),
        b"UNSEEN" => Ok((i, K::Unseen)),
        b"BCC" => text(K::Bcc).parse(i),
        b"BODY" => text(K::Body).parse(i),
        b"CC" => text(K::Cc).parse(i),
        b"FROM" => text(K::From).parse(i),
        b"SUBJECT" => text(K::Subject).parse(i),
        b"TEXT" => text(K::Text).parse(i),
        b"TO" => text(K::To).parse(i),
        b"BEFORE" => day(K::Before).parse(i),
        b"ON" => day(K::On).parse(i),
        b"SINCE" => day(K::Since).parse(i),
        b"SENTBEFORE" => day(K::SentBefore).parse(i),
        b"SENTON" => day(K::SentOn).parse(i),
        b"SENTSINCE" => day(K::SentSince).parse(i),
        b"HEADER" => map((arg(astring), arg(astring)), |(n, v)| K::Header(n, v)).parse(i),
        b"KEYWORD" => map(arg(atom), K::Keyword).parse(i),
        b"UNKEYWORD" => map(arg(atom), K::Unkeyword).parse(i),
        b"LARGER" => map(arg(number64), K::Larger).parse(i),
        b"SMALLER" => map(arg(number64), K::Smaller).parse(i),
        b"OLDER" => map(arg(nz_number), K::Older).parse(i),
        b"YOUNGER" => map(arg(nz_number), K::Younger).parse(i),
        b"UID" => map(arg(sequence_set), K::Uid).parse(i),
        b"NOT" => map(arg(nested), |k| K::Not(Box::new(k))).parse(i),
        b"OR" => map((arg(nested), arg(nested)), |(a, b)| {
            K::Or(Box::new(a), Box::new(b))
        })
        .parse(i),
        b"MODSEQ" => modseq(i),
        _ => nom::combinator::fail().parse(i),
    }
}

/// `MODSEQ [SP entry-name SP entry-type] SP mod-sequence-valzer`.
fn modseq(i: &[u8]) -> IResult<'_, SearchKey<'_>> {
    let entry_type = one_of_names(EntryType::ALL, EntryType::name);
    let entry = (arg(string), arg(entry_type));
    map((opt(entry), arg(number64)), |(entry, modseq)| {
        SearchKey::ModSeq { entry, modseq }
    })
    .parse(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_bounded() {
        let deep = format!(" {}ALL", "NOT ".repeat(MAX_DEPTH + 2));
        assert!(search_keys(deep.as_bytes()).is_err());
        let ok = format!(" {}ALL", "NOT ".repeat(MAX_DEPTH));
        assert!(search_keys(ok.as_bytes()).is_ok());
        let parens = format!(" {}ALL{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(search_keys(parens.as_bytes()).is_err());
    }

    #[test]
    fn char_is_not_a_key() {
        assert!(search_keys(b" FOO").is_err());
        assert!(search_keys(b" UNDELETEDXXXX").is_err());
    }
}
