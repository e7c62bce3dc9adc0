//! The request headers WebDAV adds: `Depth` (RFC 4918 §10.2) and `Overwrite` (§10.6).

/// How deep a PROPFIND or REPORT goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    Zero,
    One,
    Infinity,
}

impl Depth {
    /// The `Depth` header's value; `default` when it is absent (RFC 4918 says infinity for
    /// PROPFIND, 0 for REPORT unless the report says otherwise). `None` when malformed.
    pub fn parse(value: Option<&str>, default: Depth) -> Option<Depth> {
        match value.map(str::trim) {
            None => Some(default),
            Some("0") => Some(Depth::Zero),
            Some("1") => Some(Depth::One),
            Some(v) if v.eq_ignore_ascii_case("infinity") => Some(Depth::Infinity),
            Some(_) => None,
        }
    }
}

/// Whether `Overwrite` lets a COPY or MOVE replace what is at its destination (absent: it
/// does).
pub fn overwrite(value: Option<&str>) -> bool {
    !matches!(value.map(str::trim), Some("F" | "f"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth() {
        assert_eq!(Depth::parse(None, Depth::Infinity), Some(Depth::Infinity));
        assert_eq!(Depth::parse(Some(" 1"), Depth::Zero), Some(Depth::One));
        assert_eq!(
            Depth::parse(Some("Infinity"), Depth::Zero),
            Some(Depth::Infinity)
        );
        assert_eq!(Depth::parse(Some("2"), Depth::Zero), None);
    }

    #[test]
    fn overwrite_header() {
        assert!(overwrite(None) && overwrite(Some("T")));
        assert!(!overwrite(Some("F")));
    }
}
