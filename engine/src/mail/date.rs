//! Date-time text from a Unix timestamp (always in UTC): RFC 5322 for trace headers, the
//! HTTP form (RFC 9110 §5.6.7) for `Date` and `Last-Modified`, RFC 3339 for JSON.

pub use proto_core::calendar::{civil_from_days, days_from_civil};

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Now, in Unix seconds (0 if the clock is before 1970).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Formats `unix_seconds` as e.g. `Sat, 21 Nov 2026 11:40:13 +0000`.
pub fn rfc5322(unix_seconds: i64) -> String {
    let (weekday, day, month, year, time) = fields(unix_seconds);
    format!("{weekday}, {day} {month} {year:04} {time} +0000")
}

/// Formats `unix_seconds` as e.g. `Sun, 06 Nov 1994 08:49:37 GMT` (IMF-fixdate).
pub fn http_date(unix_seconds: i64) -> String {
    let (weekday, day, month, year, time) = fields(unix_seconds);
    format!("{weekday}, {day:02} {month} {year:04} {time} GMT")
}

/// Formats `unix_seconds` as e.g. `1994-11-06T08:49:37Z` (RFC 3339), for JSON.
pub fn rfc3339(unix_seconds: i64) -> String {
    let (_, day, _, year, time) = fields(unix_seconds);
    let (_, month, _) = civil_from_days(unix_seconds.div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}T{time}Z")
}

/// The weekday, day, month name, year and `hh:mm:ss` of `unix_seconds`, in UTC.
fn fields(unix_seconds: i64) -> (&'static str, i64, &'static str, i64, String) {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let time = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    (
        DAYS[days.rem_euclid(7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        time,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_dates() {
        assert_eq!(rfc5322(0), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc5322(1_795_261_213), "Sat, 21 Nov 2026 11:40:13 +0000");
        assert_eq!(rfc5322(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(rfc5322(-1), "Wed, 31 Dec 1969 23:59:59 +0000");
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    }

    proptest! {
        #[test]
        fn days_round_trip(days in -1_000_000i64..1_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }

        #[test]
        fn any_plausible_time_formats(t in -62_135_596_800i64..253_402_300_799i64) {
            let text = rfc5322(t);
            prop_assert!(text.ends_with(" +0000"));
            prop_assert!(text.len() <= 31);
        }
    }
}
