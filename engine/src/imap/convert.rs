//! Conversions between stored values and their IMAP forms: flags and keywords, and Unix
//! times and IMAP date-times.

use proto_imap::{Atom, Date, DateTime, Flag, FlagFetch};

use crate::mail::date::{civil_from_days, days_from_civil};
use crate::store::{FLAG_ANSWERED, FLAG_DELETED, FLAG_DRAFT, FLAG_FLAGGED, FLAG_SEEN, Flags};

const SYSTEM: [(Flags, Flag<'static>); 5] = [
    (FLAG_ANSWERED, Flag::Answered),
    (FLAG_FLAGGED, Flag::Flagged),
    (FLAG_DELETED, Flag::Deleted),
    (FLAG_SEEN, Flag::Seen),
    (FLAG_DRAFT, Flag::Draft),
];

/// Splits IMAP flags into system flag bits and keywords. Unknown `\` flags (extensions)
/// cannot be stored: `Err` names the first.
pub fn flags_from_imap(flags: &[Flag<'_>]) -> Result<(Flags, Vec<String>), String> {
    let mut bits = 0;
    let mut keywords = Vec::new();
    for flag in flags {
        match flag {
            Flag::Keyword(atom) => keywords.push(atom.as_str().to_string()),
            Flag::Extension(atom) => return Err(format!("\\{}", atom.as_str())),
            system => {
                bits |= SYSTEM
                    .iter()
                    .find(|(_, f)| f == system)
                    .map_or(0, |(b, _)| *b);
            }
        }
    }
    Ok((bits, keywords))
}

/// Stored flags as IMAP flags, system flags first.
pub fn flags_to_imap(bits: Flags, keywords: &[String]) -> Vec<Flag<'static>> {
    SYSTEM
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, f)| f.clone())
        .chain(
            keywords
                .iter()
                .filter_map(|k| Atom::new(k.clone()).map(Flag::Keyword)),
        )
        .collect()
}

/// The same, for FETCH FLAGS, with `\Recent` last when the message is recent in the session.
pub fn flags_fetch(bits: Flags, keywords: &[String], recent: bool) -> Vec<FlagFetch<'static>> {
    flags_to_imap(bits, keywords)
        .into_iter()
        .map(FlagFetch::Flag)
        .chain(recent.then_some(FlagFetch::Recent))
        .collect()
}

/// A Unix time as an IMAP date-time in UTC.
pub fn datetime_from_unix(unix: i64) -> DateTime {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let date = Date::new(year.clamp(1, 9999) as u16, month as u8, day as u8)
        .or_else(|| Date::new(1970, 1, 1))
        .expect("1970-01-01 is a valid date");
    let time = (
        (secs / 3600) as u8,
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
    );
    DateTime::new(date, time, 0).expect("a UTC time of day is valid")
}

/// An IMAP date-time as a Unix time.
pub fn datetime_to_unix(value: DateTime) -> i64 {
    let date = value.date();
    let days = days_from_civil(
        i64::from(date.year()),
        i64::from(date.month()),
        i64::from(date.day()),
    );
    let (h, m, s) = value.time();
    days * 86_400 + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s)
        - i64::from(value.offset_minutes()) * 60
}

/// Midnight UTC starting an IMAP date, as a Unix time.
pub fn date_to_unix(date: Date) -> i64 {
    days_from_civil(
        i64::from(date.year()),
        i64::from(date.month()),
        i64::from(date.day()),
    ) * 86_400
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip() {
        let imap = vec![
            Flag::Seen,
            Flag::Draft,
            Flag::Keyword(Atom::new("$Forwarded").unwrap()),
        ];
        let (bits, keywords) = flags_from_imap(&imap).unwrap();
        assert_eq!(bits, FLAG_SEEN | FLAG_DRAFT);
        assert_eq!(keywords, ["$Forwarded"]);
        assert_eq!(
            flags_to_imap(bits, &keywords),
            vec![Flag::Seen, Flag::Draft, imap[2].clone()]
        );
        assert!(flags_from_imap(&[Flag::Extension(Atom::new("Recent").unwrap())]).is_err());
    }

    #[test]
    fn dates_round_trip() {
        for unix in [0, 1_795_261_213, 951_782_400, 4_102_444_799] {
            assert_eq!(datetime_to_unix(datetime_from_unix(unix)), unix);
        }
        let date = Date::new(2026, 11, 21).unwrap();
        let with_offset = DateTime::new(date, (12, 0, 0), 60).unwrap();
        assert_eq!(
            datetime_to_unix(with_offset),
            date_to_unix(date) + 11 * 3600
        );
    }
}

/// A compact sequence set (`1:3,7`) for ascending numbers; `None` for none or a zero.
pub fn sequence_set(numbers: &[u32]) -> Option<proto_imap::SequenceSet> {
    use proto_imap::{SeqNum, SeqRange, SeqRanges, SequenceSet};
    use std::num::NonZeroU32;
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for &n in numbers {
        match ranges.last_mut() {
            Some((_, hi)) if n == *hi + 1 => *hi = n,
            _ => ranges.push((n, n)),
        }
    }
    let ranges = ranges
        .into_iter()
        .map(|(lo, hi)| {
            Some(SeqRange {
                from: SeqNum::Value(NonZeroU32::new(lo)?),
                to: SeqNum::Value(NonZeroU32::new(hi)?),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    SeqRanges::new(ranges).map(SequenceSet::Ranges)
}

#[cfg(test)]
mod set_tests {
    use super::sequence_set;

    #[test]
    fn ranges_are_compacted() {
        let set = sequence_set(&[1, 2, 3, 7, 9, 10]).unwrap();
        for n in [1, 2, 3, 7, 9, 10] {
            assert!(set.intervals(10).contains(n));
        }
        for n in [4, 5, 6, 8] {
            assert!(!set.intervals(10).contains(n));
        }
        assert!(sequence_set(&[]).is_none());
        assert!(sequence_set(&[0]).is_none());
    }
}
