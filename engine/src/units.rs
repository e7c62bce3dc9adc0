//! Sizes and lengths of time as people write and read them: `25M`, `2G`, `5m`, `35d` in the
//! configuration, the CLI, the API and the web pages, and `1.5 GiB`, `3 d 4 h` in what they
//! show. One reading and one writing of each, so a size the panel accepts is one the config accepts too.

use std::time::Duration;

/// Bytes from a whole number with an optional binary unit: `1048576`, `500K`, `25M`, `2G`,
/// `1T` (also `MB`, `MiB`; case does not matter).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = number_and_unit(text);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size (such as 500M, 2G or 1048576)"))?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(format!("{text:?}: unknown size unit (use K, M, G or T)")),
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// A length of time from a whole number and a unit: `30s`, `5m`, `12h`, `35d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = number_and_unit(text);
    let unit_seconds = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?} is not a length of time: write a number and s, m, h or d (\"5m\")"
            ));
        }
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_seconds))
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is not a length of time"))
}

/// The leading digits of `text`, and what follows them.
fn number_and_unit(text: &str) -> (&str, &str) {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(split)
}

/// Bytes for people: `512 bytes`, `1.5 GiB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{bytes} bytes"),
        _ => format!("{value:.1} {}", UNITS[unit]),
    }
}

/// Seconds for people: `3d 4h`, `2h 5m`, `12m`, `40s`.
pub fn span(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn sizes_are_read_as_people_write_them() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("2K"), Ok(2048));
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("25 MiB"), Ok(25 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5X").is_err());
        assert!(parse_size("-5M").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn durations_are_read_as_people_write_them() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("35d"), Ok(Duration::from_secs(35 * 86_400)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("five minutes").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn sizes_and_spans_read_well() {
        assert_eq!(size(512), "512 bytes");
        assert_eq!(size(3 << 29), "1.5 GiB");
        assert_eq!(size(25 << 20), "25.0 MiB");
        assert_eq!(span(90_000), "1d 1h");
        assert_eq!(span(7_500), "2h 5m");
        assert_eq!(span(125), "2m");
        assert_eq!(span(40), "40s");
        assert_eq!(span(-5), "0s");
    }

    proptest! {
        #[test]
        fn a_size_in_any_unit_reads_back(number in 0u64..1 << 20, shift in prop::sample::select(vec![0u32, 10, 20, 30])) {
            let unit = match shift { 0 => "", 10 => "K", 20 => "M", _ => "G" };
            prop_assert_eq!(parse_size(&format!("{number}{unit}")), Ok(number << shift));
        }

        #[test]
        fn any_text_is_read_or_refused_without_panic(text in "\\PC{0,12}") {
            let _ = parse_size(&text);
            let _ = parse_duration(&text);
        }
    }
}
