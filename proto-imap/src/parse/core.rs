//! Lexical building blocks of the grammar (RFC 9051 9): numbers, atoms,
//! strings with literals, lists. Every parser works on complete input: a
//! whole command with its literal data inline.

use std::borrow::Cow;
use std::num::{NonZeroU32, NonZeroU64};

use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::{take, take_while1};
use nom::character::complete::{char, digit1};
use nom::combinator::{cut, map, map_opt, opt, peek, value, verify};
use nom::error::context;
use nom::multi::{separated_list0, separated_list1};
use nom::sequence::{delimited, preceded};

use crate::chars::{is_astring_char, is_atom_char, is_list_char, is_quotable};
use crate::parse::IResult;
use crate::types::core::Atom;
use crate::types::mailbox::Mailbox;

/// One space.
pub(crate) fn sp(i: &[u8]) -> IResult<'_, char> {
    char(' ').parse(i)
}

/// End of line: CRLF, or a bare LF (lenient, like the framer).
pub(crate) fn crlf(i: &[u8]) -> IResult<'_, ()> {
    value((), (opt(char('\r')), char('\n'))).parse(i)
}

/// Parses ASCII digits into any unsigned integer, failing on overflow.
fn digits<T: std::str::FromStr>(i: &[u8]) -> IResult<'_, T> {
    map_opt(digit1, |d: &[u8]| std::str::from_utf8(d).ok()?.parse().ok()).parse(i)
}

/// `number`: 32-bit unsigned.
pub(crate) fn number(i: &[u8]) -> IResult<'_, u32> {
    digits(i)
}

/// `number64` (rev2): 63-bit unsigned.
pub(crate) fn number64(i: &[u8]) -> IResult<'_, u64> {
    map_opt(digits::<u64>, |n| (n <= i64::MAX as u64).then_some(n)).parse(i)
}

/// `nz-number`.
pub(crate) fn nz_number(i: &[u8]) -> IResult<'_, NonZeroU32> {
    map_opt(digits, NonZeroU32::new).parse(i)
}

/// `nz-number64` / `mod-sequence-value` (RFC 7162): non-zero, 63-bit.
pub(crate) fn nz_number64(i: &[u8]) -> IResult<'_, NonZeroU64> {
    map_opt(number64, NonZeroU64::new).parse(i)
}

/// A keyword token: letters, digits, `.`, `-`. Commands, item names and
/// options are matched against it case-insensitively.
pub(crate) fn keyword(i: &[u8]) -> IResult<'_, &[u8]> {
    take_while1(|b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-').parse(i)
}

/// Matches a keyword token against a closed set (see `keywords!`).
pub(crate) fn one_of_names<T: Copy>(
    all: &'static [T],
    name: fn(T) -> &'static str,
) -> impl Fn(&[u8]) -> IResult<'_, T> {
    move |i| {
        map_opt(keyword, |word: &[u8]| {
            all.iter()
                .copied()
                .find(|&item| word.eq_ignore_ascii_case(name(item).as_bytes()))
        })
        .parse(i)
    }
}

/// `atom`.
pub(crate) fn atom(i: &[u8]) -> IResult<'_, Atom<'_>> {
    map_opt(take_while1(is_atom_char), |a: &[u8]| {
        Atom::new(std::str::from_utf8(a).ok()?)
    })
    .parse(i)
}

/// `quoted`: `"` chars with `\"` and `\\` escapes `"`. Borrows unless there
/// is an escape to remove.
pub(crate) fn quoted(i: &[u8]) -> IResult<'_, Cow<'_, [u8]>> {
    let (rest, _) = char('"').parse(i)?;
    let mut owned: Option<Vec<u8>> = None;
    let mut bytes = rest.iter().enumerate();
    while let Some((pos, &b)) = bytes.next() {
        match b {
            b'"' => {
                // `pos` is where the quote is, so this split always succeeds.
                let Some((text, [_quote, after @ ..])) = rest.split_at_checked(pos) else {
                    return fail(rest);
                };
                let value = owned.map_or(Cow::Borrowed(text), Cow::Owned);
                return Ok((after, value));
            }
            b'\\' => match bytes.next() {
                Some((_, &escaped @ (b'"' | b'\\'))) => {
                    let buf =
                        owned.get_or_insert_with(|| rest.get(..pos).unwrap_or_default().to_vec());
                    buf.push(escaped);
                }
                _ => return fail(rest),
            },
            b if is_quotable(b) => {
                if let Some(buf) = owned.as_mut() {
                    buf.push(b);
                }
            }
            _ => return fail(rest),
        }
    }
    fail(rest)
}

fn fail<T>(i: &[u8]) -> IResult<'_, T> {
    Err(nom::Err::Error(nom::error::ParseError::from_error_kind(
        i,
        nom::error::ErrorKind::Verify,
    )))
}

/// How a literal is announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LiteralAnnouncement {
    pub(crate) size: u32,
    /// `~{n}`: literal8 (RFC 3516), only allowed for APPEND data.
    pub(crate) binary: bool,
    /// `{n}` rather than `{n+}` (RFC 7888): the client waits for `+`.
    pub(crate) sync: bool,
}

/// `[~]{n[+]}` CRLF.
pub(crate) fn literal_announcement(i: &[u8]) -> IResult<'_, LiteralAnnouncement> {
    let header = (
        opt(char('~')),
        delimited(char('{'), (number, opt(char('+'))), char('}')),
        crlf,
    );
    map(header, |(tilde, (size, plus), ())| LiteralAnnouncement {
        size,
        binary: tilde.is_some(),
        sync: plus.is_none(),
    })
    .parse(i)
}

/// `literal`: a header and that many octets (not a literal8).
pub(crate) fn literal(i: &[u8]) -> IResult<'_, &[u8]> {
    let (i, announced) = verify(literal_announcement, |a| !a.binary).parse(i)?;
    take(announced.size).parse(i)
}

/// `string`: quoted or literal.
pub(crate) fn string(i: &[u8]) -> IResult<'_, Cow<'_, [u8]>> {
    alt((quoted, map(literal, Cow::Borrowed))).parse(i)
}

/// `astring`: atom-like characters (with `]`) or a string.
pub(crate) fn astring(i: &[u8]) -> IResult<'_, Cow<'_, [u8]>> {
    alt((map(take_while1(is_astring_char), Cow::Borrowed), string)).parse(i)
}

/// `nstring`: `NIL` or a string.
pub(crate) fn nstring(i: &[u8]) -> IResult<'_, Option<Cow<'_, [u8]>>> {
    alt((value(None, word("NIL")), map(string, Some))).parse(i)
}

/// `mailbox`: an astring, `INBOX` in any case recognised.
pub(crate) fn mailbox(i: &[u8]) -> IResult<'_, Mailbox<'_>> {
    context("mailbox name", map(astring, Mailbox::new)).parse(i)
}

/// `list-mailbox`: list characters (with wildcards) or a string.
pub(crate) fn list_mailbox(i: &[u8]) -> IResult<'_, Cow<'_, [u8]>> {
    context(
        "mailbox pattern",
        alt((map(take_while1(is_list_char), Cow::Borrowed), string)),
    )
    .parse(i)
}

/// `item` once `first` is seen: a failure after it is final, so the error
/// names what was being parsed instead of what an alternative expected.
pub(crate) fn committed<'a, O>(
    first: char,
    item: impl Parser<&'a [u8], Output = O, Error = crate::parse::Expected>,
) -> impl Parser<&'a [u8], Output = O, Error = crate::parse::Expected> {
    preceded(peek(char(first)), cut(item))
}

/// `( item *(SP item) )`, possibly empty.
pub(crate) fn paren_list0<'a, O>(
    item: impl Parser<&'a [u8], Output = O, Error = crate::parse::Expected>,
) -> impl Parser<&'a [u8], Output = Vec<O>, Error = crate::parse::Expected> {
    delimited(char('('), separated_list0(sp, item), char(')'))
}

/// `( item *(SP item) )`, at least one item.
pub(crate) fn paren_list1<'a, O>(
    item: impl Parser<&'a [u8], Output = O, Error = crate::parse::Expected>,
) -> impl Parser<&'a [u8], Output = Vec<O>, Error = crate::parse::Expected> {
    delimited(char('('), separated_list1(sp, item), char(')'))
}

/// `SP item`, the shape of most arguments.
pub(crate) fn arg<'a, O>(
    item: impl Parser<&'a [u8], Output = O, Error = crate::parse::Expected>,
) -> impl Parser<&'a [u8], Output = O, Error = crate::parse::Expected> {
    preceded(sp, item)
}

/// A case-insensitive keyword, as a whole token (`ALL` does not match the
/// start of `ALLX`).
pub(crate) fn word<'a>(
    w: &'static str,
) -> impl Parser<&'a [u8], Output = &'a [u8], Error = crate::parse::Expected> {
    verify(keyword, move |t: &[u8]| {
        t.eq_ignore_ascii_case(w.as_bytes())
    })
}

/// A keyword token upper-cased into a stack buffer of `N` bytes, for
/// matching against byte-string literals; longer tokens fail.
pub(crate) struct Upper<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Upper<N> {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

pub(crate) fn upper_keyword<const N: usize>(i: &[u8]) -> IResult<'_, Upper<N>> {
    map_opt(keyword, |w: &[u8]| {
        let mut buf = [0; N];
        buf.get_mut(..w.len())?.copy_from_slice(w);
        buf.make_ascii_uppercase();
        Some(Upper { buf, len: w.len() })
    })
    .parse(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings() {
        assert_eq!(
            quoted(b"\"a\\\"b\" x").unwrap(),
            (&b" x"[..], Cow::Owned(b"a\"b".to_vec()))
        );
        assert!(matches!(quoted(b"\"ab\"").unwrap().1, Cow::Borrowed(b"ab")));
        assert!(quoted(b"\"a\\nb\"").is_err());
        assert!(quoted(b"\"a\rb\"").is_err());
        assert_eq!(literal(b"{3}\r\nabcd").unwrap(), (&b"d"[..], &b"abc"[..]));
        assert_eq!(literal(b"{3+}\r\nabc").unwrap().1, b"abc");
        assert!(literal(b"{3}\r\nab").is_err());
        assert_eq!(astring(b"a]b c").unwrap().1, Cow::Borrowed(b"a]b"));
        assert_eq!(nstring(b"nil").unwrap().1, None);
        assert!(number(b"4294967296").is_err());
        assert!(nz_number(b"0").is_err());
    }
}
