//! Values that appear in many commands: sequence sets, dates, flags.

use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::take_while_m_n;
use nom::character::complete::{char, one_of};
use nom::combinator::{cond, map, map_opt, opt, value};
use nom::error::context;
use nom::multi::separated_list1;
use nom::sequence::{delimited, preceded};

use crate::parse::IResult;
use crate::parse::core::{atom, nz_number, paren_list0};
use crate::types::core::Atom;
use crate::types::datetime::{Date, DateTime, MONTHS};
use crate::types::flag::Flag;
use crate::types::sequence::{SeqNum, SeqRange, SeqRanges, SequenceSet};

/// `seq-number`: a non-zero number or `*`.
fn seq_number(i: &[u8]) -> IResult<'_, SeqNum> {
    alt((
        map(nz_number, SeqNum::Value),
        value(SeqNum::Largest, char('*')),
    ))
    .parse(i)
}

fn seq_range(i: &[u8]) -> IResult<'_, SeqRange> {
    let (i, from) = seq_number(i)?;
    let (i, to) = opt(preceded(char(':'), seq_number)).parse(i)?;
    Ok((
        i,
        SeqRange {
            from,
            to: to.unwrap_or(from),
        },
    ))
}

/// `sequence-set` or `$` (RFC 5182).
pub(crate) fn sequence_set(i: &[u8]) -> IResult<'_, SequenceSet> {
    context(
        "sequence set",
        alt((
            value(SequenceSet::Saved, char('$')),
            map_opt(separated_list1(char(','), seq_range), |ranges| {
                SeqRanges::new(ranges).map(SequenceSet::Ranges)
            }),
        )),
    )
    .parse(i)
}

fn two_digits(i: &[u8]) -> IResult<'_, u8> {
    map_opt(
        take_while_m_n(2, 2, |b: u8| b.is_ascii_digit()),
        |d: &[u8]| std::str::from_utf8(d).ok()?.parse().ok(),
    )
    .parse(i)
}

fn month(i: &[u8]) -> IResult<'_, u8> {
    map_opt(
        take_while_m_n(3, 3, |b: u8| b.is_ascii_alphabetic()),
        |m: &[u8]| {
            (1..=12).zip(MONTHS).find_map(|(number, name)| {
                m.eq_ignore_ascii_case(name.as_bytes()).then_some(number)
            })
        },
    )
    .parse(i)
}

fn year(i: &[u8]) -> IResult<'_, u16> {
    map_opt(
        take_while_m_n(4, 4, |b: u8| b.is_ascii_digit()),
        |d: &[u8]| std::str::from_utf8(d).ok()?.parse().ok(),
    )
    .parse(i)
}

/// `day-month-year` with a 1-2 digit day (`date-day`), or a space-padded
/// one when `padded` (`date-day-fixed`).
fn date_text(padded: bool) -> impl Fn(&[u8]) -> IResult<'_, Date> {
    move |i| {
        let day_digits = take_while_m_n(1, 2, |b: u8| b.is_ascii_digit());
        let day = map_opt(day_digits, |d: &[u8]| {
            std::str::from_utf8(d).ok()?.parse::<u8>().ok()
        });
        let day = preceded(cond(padded, opt(char(' '))), day);
        map_opt(
            (day, char('-'), month, char('-'), year),
            |(day, _, month, _, year)| Date::new(year, month, day),
        )
        .parse(i)
    }
}

/// `date`: bare or quoted (`1-Feb-1994`).
pub(crate) fn date(i: &[u8]) -> IResult<'_, Date> {
    context(
        "date",
        alt((
            date_text(false),
            delimited(char('"'), date_text(false), char('"')),
        )),
    )
    .parse(i)
}

/// `date-time`: `"dd-Mon-yyyy hh:mm:ss +zzzz"`.
pub(crate) fn date_time(i: &[u8]) -> IResult<'_, DateTime> {
    let time = (two_digits, char(':'), two_digits, char(':'), two_digits);
    let zone = (one_of("+-"), two_digits, two_digits);
    context(
        "date-time",
        map_opt(
            delimited(
                char('"'),
                (date_text(true), char(' '), time, char(' '), zone),
                char('"'),
            ),
            |(date, _, (h, _, m, _, s), _, (sign, zh, zm))| {
                if zm >= 60 {
                    return None;
                }
                // At most 99 * 60 + 59: none of these can fail.
                let minutes = i16::from(zh).checked_mul(60)?.checked_add(i16::from(zm))?;
                let offset = if sign == '-' {
                    minutes.checked_neg()?
                } else {
                    minutes
                };
                DateTime::new(date, (h, m, s), offset)
            },
        ),
    )
    .parse(i)
}

/// `flag`: a system flag, `\`-extension or keyword.
pub(crate) fn flag(i: &[u8]) -> IResult<'_, Flag<'_>> {
    context(
        "flag",
        alt((
            map(preceded(char('\\'), atom), system_flag),
            map(atom, Flag::Keyword),
        )),
    )
    .parse(i)
}

fn system_flag(name: Atom<'_>) -> Flag<'_> {
    let known = [
        ("Seen", Flag::Seen),
        ("Answered", Flag::Answered),
        ("Flagged", Flag::Flagged),
        ("Deleted", Flag::Deleted),
        ("Draft", Flag::Draft),
    ];
    known
        .into_iter()
        .find(|(n, _)| name.as_str().eq_ignore_ascii_case(n))
        .map_or(Flag::Extension(name), |(_, flag)| flag)
}

/// `flag-list`: `(flag ...)`, possibly empty.
pub(crate) fn flag_list(i: &[u8]) -> IResult<'_, Vec<Flag<'_>>> {
    context("flag list", paren_list0(flag)).parse(i)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn n(v: u32) -> SeqNum {
        SeqNum::Value(NonZeroU32::new(v).unwrap())
    }

    #[test]
    fn sequence_sets() {
        let (_, set) = sequence_set(b"1,3:*,7:5").unwrap();
        let SequenceSet::Ranges(r) = set else {
            panic!()
        };
        assert_eq!(
            r.as_slice(),
            &[
                SeqRange::single(n(1)),
                SeqRange {
                    from: n(3),
                    to: SeqNum::Largest
                },
                SeqRange {
                    from: n(7),
                    to: n(5)
                }
            ]
        );
        assert_eq!(sequence_set(b"$").unwrap().1, SequenceSet::Saved);
        assert!(sequence_set(b"0").is_err());
        assert!(sequence_set(b",1").is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(
            date(b"1-Feb-1994").unwrap().1,
            Date::new(1994, 2, 1).unwrap()
        );
        assert_eq!(
            date(b"\"01-feb-1994\"").unwrap().1,
            Date::new(1994, 2, 1).unwrap()
        );
        assert!(date(b"31-Feb-1994").is_err());
        let (_, dt) = date_time(b"\" 1-Feb-1994 12:34:56 -0130\"").unwrap();
        assert_eq!(dt.offset_minutes(), -90);
        assert_eq!(dt.time(), (12, 34, 56));
        assert!(date_time(b"\"01-Feb-1994 12:34:56 +0160\"").is_err());
        assert!(date_time(b"\"01-Feb-1994 24:00:00 +0000\"").is_err());
    }

    #[test]
    fn flags() {
        let (_, flags) = flag_list(b"(\\seen $Forwarded \\X)").unwrap();
        assert_eq!(flags[0], Flag::Seen);
        assert_eq!(flags[1], Flag::Keyword(Atom::new("$Forwarded").unwrap()));
        assert_eq!(flags[2], Flag::Extension(Atom::new("X").unwrap()));
        assert!(flag_list(b"(\\)").is_err());
    }
}
