//! Small text helpers shared by the summary, SEARCH and SORT: case folding, raw header
//! values and calendar days.

/// Folds text for case-insensitive comparison. SORT and THREAD must collate with
/// `i;unicode-casemap` (RFC 5051: titlecase, then NFKD); upper-casing is that mapping for
/// every character but a handful of digraphs, and needs no normalization tables. SEARCH
/// matches on the same folding so `ß` finds `SS` the way clients expect.
pub(super) fn fold(text: &str) -> String {
    text.chars().flat_map(char::to_uppercase).collect()
}

/// Whether `haystack` (already folded) contains `needle` (as the client sent it). An empty
/// needle matches everything, as RFC 3501 says for `HEADER name ""`.
pub(super) fn contains_folded(haystack: &str, needle: &[u8]) -> bool {
    let needle = fold(&String::from_utf8_lossy(needle));
    haystack.contains(&needle)
}

/// A header field's value as IMAP shows it in ENVELOPE and BODYSTRUCTURE: the raw bytes
/// (still RFC 2047 encoded) unfolded, with the surrounding blanks trimmed. NUL, which no
/// IMAP string may carry, becomes a space; `None` for an empty value, written `NIL`.
pub(super) fn raw_value(raw: &[u8]) -> Option<Vec<u8>> {
    let unfolded: Vec<u8> = raw
        .iter()
        .filter(|&&b| b != b'\r' && b != b'\n')
        .map(|&b| if b == 0 { b' ' } else { b })
        .collect();
    let start = unfolded.iter().position(|b| !is_blank(*b))?;
    let end = unfolded.iter().rposition(|b| !is_blank(*b))? + 1;
    unfolded.get(start..end).map(<[u8]>::to_vec)
}

/// Space or tab: the blanks of RFC 5322 folding white space.
pub(super) fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`),
/// so that SEARCH can compare calendar days without a time library.
pub(super) fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let month = i64::from(month);
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The day (days since the epoch) a Unix time falls on at a UTC offset in seconds.
pub(super) fn day_of(unix_seconds: i64, offset_seconds: i64) -> i64 {
    unix_seconds
        .saturating_add(offset_seconds)
        .div_euclid(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_like_casemap() {
        assert_eq!(fold("Straße re:"), "STRASSE RE:");
        assert!(contains_folded(&fold("Hello World"), b"wORLD"));
        assert!(contains_folded("", b""));
        assert!(!contains_folded("ABC", b"abd"));
    }

    #[test]
    fn raw_values_are_unfolded_and_trimmed() {
        assert_eq!(raw_value(b" a\r\n\tb \r\n").as_deref(), Some(&b"a\tb"[..]));
        assert_eq!(raw_value(b" \r\n"), None);
        assert_eq!(raw_value(b" x\0y").as_deref(), Some(&b"x y"[..]));
    }

    #[test]
    fn calendar_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(day_of(86_399, 0), 0);
        assert_eq!(day_of(86_399, 3600), 1);
        assert_eq!(day_of(-1, 0), -1);
    }
}
