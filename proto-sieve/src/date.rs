//! The parts of a date as the `date` extension names them (RFC 5260 §4.2): an instant seen
//! in a zone, written as `year`, `date`, `iso8601` and the rest.

use proto_core::calendar::civil_from_days;

/// The most seconds either side of 1970 a date is taken at: years 0 to 9999, so every
/// part has the digits RFC 5260 gives it and no computation below can overflow.
const RANGE: (i64, i64) = (-62_167_219_200, 253_402_300_799);

/// An instant, and the zone it is seen in (minutes east of UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct When {
    /// Seconds since 1970-01-01 UTC.
    pub unix: i64,
    /// The zone's offset from UTC, in minutes (-1439 to 1439).
    pub offset: i32,
}

/// The date parts a test may ask for.
pub(crate) const PARTS: &[&str] = &[
    "year", "month", "day", "date", "julian", "hour", "minute", "second", "time", "iso8601",
    "std11", "zone", "weekday",
];

/// `+hhmm` / `-hhmm` (RFC 5260 §4.1) as minutes east of UTC.
pub(crate) fn parse_zone(text: &str) -> Option<i32> {
    let (east, digits) = match text.as_bytes() {
        [b'+', rest @ ..] => (true, rest),
        [b'-', rest @ ..] => (false, rest),
        _ => return None,
    };
    let [h1, h2, m1, m2] = digits else {
        return None;
    };
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let digit = |b: &u8| i32::from(b.saturating_sub(b'0'));
    let hours = digit(h1).saturating_mul(10).saturating_add(digit(h2));
    let minutes = digit(m1).saturating_mul(10).saturating_add(digit(m2));
    let offset = hours.saturating_mul(60).saturating_add(minutes);
    (hours < 24 && minutes < 60).then(|| {
        if east {
            offset
        } else {
            0i32.saturating_sub(offset)
        }
    })
}

/// The part `name` (one of [`PARTS`]) of `when`.
// Within RANGE and for offsets under a day, no operation here can overflow.
#[allow(clippy::arithmetic_side_effects)]
pub(crate) fn part(when: When, name: &str) -> String {
    let local = when.unix.clamp(RANGE.0, RANGE.1) + i64::from(when.offset) * 60;
    let days = local.div_euclid(86_400);
    let seconds = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let sign = if when.offset < 0 { '-' } else { '+' };
    let (zh, zm) = (when.offset.abs() / 60, when.offset.abs() % 60);
    match name {
        "year" => format!("{year:04}"),
        "month" => format!("{month:02}"),
        "day" => format!("{day:02}"),
        "date" => format!("{year:04}-{month:02}-{day:02}"),
        // The Modified Julian Day: days since 1858-11-17.
        "julian" => (days + 40_587).to_string(),
        "hour" => format!("{hour:02}"),
        "minute" => format!("{minute:02}"),
        "second" => format!("{second:02}"),
        "time" => format!("{hour:02}:{minute:02}:{second:02}"),
        "iso8601" => format!(
            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{sign}{zh:02}:{zm:02}"
        ),
        "std11" => {
            const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
            const MONTHS: [&str; 12] = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ];
            let weekday = DAYS.get(weekday(days)).copied().unwrap_or("Sun");
            let month = MONTHS.get(month as usize - 1).copied().unwrap_or("Jan");
            format!(
                "{weekday}, {day} {month} {year:04} {hour:02}:{minute:02}:{second:02} {sign}{zh:02}{zm:02}"
            )
        }
        "zone" => format!("{sign}{zh:02}{zm:02}"),
        "weekday" => weekday(days).to_string(),
        _ => String::new(),
    }
}

/// 0 for Sunday to 6 for Saturday; 1970-01-01 was a Thursday.
#[allow(clippy::arithmetic_side_effects)]
fn weekday(days: i64) -> usize {
    usize::try_from((days + 4).rem_euclid(7)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_an_instant_in_a_zone() {
        // 2026-12-06 23:55:30 UTC, a Sunday; seen in +0100 it is Monday.
        let utc = When {
            unix: 1_796_601_330,
            offset: 0,
        };
        assert_eq!(part(utc, "date"), "2026-12-06");
        assert_eq!(part(utc, "time"), "23:55:30");
        assert_eq!(part(utc, "weekday"), "0");
        assert_eq!(part(utc, "std11"), "Sun, 6 Dec 2026 23:55:30 +0000");
        assert_eq!(part(utc, "julian"), "61380");
        let paris = When { offset: 60, ..utc };
        assert_eq!(part(paris, "iso8601"), "2026-12-07T00:55:30+01:00");
        assert_eq!(part(paris, "weekday"), "1");
        assert_eq!(part(paris, "zone"), "+0100");
        let far = When {
            unix: i64::MAX,
            offset: -1439,
        };
        assert_eq!(part(far, "year"), "9999");
    }

    #[test]
    fn zones_as_rfc_5260_writes_them() {
        assert_eq!(parse_zone("+0100"), Some(60));
        assert_eq!(parse_zone("-0830"), Some(-510));
        for bad in ["0100", "+100", "+2400", "+0060", "UTC", "+01:00"] {
            assert_eq!(parse_zone(bad), None, "{bad}");
        }
    }
}
