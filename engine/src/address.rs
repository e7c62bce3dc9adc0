//! Mail addresses as the directory sees them: `local@domain`, compared case-insensitively.

use std::borrow::Cow;
use std::fmt;

/// A syntactically valid `local@domain` address, lower-cased.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    normalized: String,
    at: usize,
}

/// Why a string is not an address, or not a domain name, naming it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvalidAddress {
    Address(String),
    Domain(String),
}

impl fmt::Display for InvalidAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidAddress::Address(text) => {
                write!(f, "{text:?} is not a valid address (expected user@domain)")
            }
            InvalidAddress::Domain(text) => write!(
                f,
                "{text:?} is not a valid domain name (expected a name such as example.org)"
            ),
        }
    }
}

impl std::error::Error for InvalidAddress {}

impl Address {
    /// Parses and lower-cases `local@domain`. The domain must be a dotted name or a
    /// single label (loopback test domains), without spaces or control characters. The
    /// checks apply to the lower-cased form (lower-casing can lengthen a name, or turn `İ`
    /// into `i` and a combining dot), so what this returns always parses again.
    pub fn parse(input: &str) -> Result<Address, InvalidAddress> {
        let invalid = || InvalidAddress::Address(input.to_string());
        let normalized = input.to_lowercase();
        let at = normalized.rfind('@').ok_or_else(invalid)?;
        let (local, domain) = (&normalized[..at], &normalized[at + 1..]);
        if local.is_empty() || local.len() > 64 || !valid_domain(domain) {
            return Err(invalid());
        }
        if local
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '@')
        {
            return Err(invalid());
        }
        Ok(Address { normalized, at })
    }

    pub fn as_str(&self) -> &str {
        &self.normalized
    }

    pub fn local(&self) -> &str {
        &self.normalized[..self.at]
    }

    pub fn domain(&self) -> &str {
        &self.normalized[self.at + 1..]
    }

    /// The address without a `+detail` sub-address (`user+tag@d` -> `user@d`), if it has one.
    pub fn without_detail(&self) -> Option<Address> {
        let plus = self.local().find('+').filter(|&i| i > 0)?;
        Some(Address {
            normalized: format!("{}@{}", &self.local()[..plus], self.domain()),
            at: plus,
        })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized)
    }
}

/// `path` (an SMTP path's address) with a quoted local part written without its quotes
/// where it needs none: `"bob"@example.org` is `bob@example.org`, as the quotes are not part
/// of the string (RFC 5322 §3.2.4; Postfix reads it so too). A local part that needs them
/// (a space, an `@`, dots that do not separate words) stays as it came.
pub fn unquoted(path: &str) -> Cow<'_, str> {
    let Some(quoted) = path.strip_prefix('"') else {
        return Cow::Borrowed(path);
    };
    let mut local = String::new();
    let mut chars = quoted.char_indices();
    let rest = loop {
        match chars.next() {
            Some((_, '\\')) => match chars.next() {
                Some((_, c)) => local.push(c),
                None => return Cow::Borrowed(path),
            },
            Some((i, '"')) => break &quoted[i + 1..],
            Some((_, c)) => local.push(c),
            None => return Cow::Borrowed(path),
        }
    };
    let dot_atom = local
        .split('.')
        .all(|word| !word.is_empty() && word.chars().all(is_atext));
    match rest.starts_with('@') && dot_atom {
        true => Cow::Owned(format!("{local}{rest}")),
        false => Cow::Borrowed(path),
    }
}

/// RFC 5322 atext, and UTF-8 beyond ASCII (RFC 6532).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

/// Lower-cases and checks a domain name.
pub fn normalize_domain(input: &str) -> Result<String, InvalidAddress> {
    let domain = input.trim_end_matches('.').to_lowercase();
    if valid_domain(&domain) {
        Ok(domain)
    } else {
        Err(InvalidAddress::Domain(input.to_string()))
    }
}

fn valid_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c == '-' || c.is_alphanumeric() && !c.is_whitespace())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quotes_that_change_nothing_are_dropped() {
        assert_eq!(unquoted(r#""bob"@example.org"#), "bob@example.org");
        assert_eq!(unquoted(r#""b.o\b"@example.org"#), "b.ob@example.org");
        assert_eq!(unquoted("bob@example.org"), "bob@example.org");
        for needed in [
            r#""john doe"@example.org"#,
            r#""a@b"@example.org"#,
            r#"".bob"@example.org"#,
            r#""b..ob"@example.org"#,
            r#""""@example.org"#,
            r#""bob"#,
            r#""bob"x@example.org"#,
        ] {
            assert_eq!(unquoted(needed), needed);
        }
    }

    #[test]
    fn parses_and_lowercases() {
        let a = Address::parse("Alice@Example.COM").unwrap();
        assert_eq!(a.as_str(), "alice@example.com");
        assert_eq!(a.local(), "alice");
        assert_eq!(a.domain(), "example.com");
    }

    #[test]
    fn what_parses_parses_again() {
        for input in ["Alice@Example.COM", "AÏS@İ.test", "b@localhost"] {
            if let Ok(address) = Address::parse(input) {
                let again = Address::parse(address.as_str()).expect("parses again");
                assert_eq!(again.as_str(), address.as_str());
            }
        }
        // `İ` lower-cases to `i` and a combining dot, which no domain holds.
        assert!(Address::parse("a@İ.test").is_err());
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "a b@x.test",
            "a@-x.test",
            "a@x..test",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn strips_detail() {
        let a = Address::parse("bob+lists@x.test").unwrap();
        assert_eq!(a.without_detail().unwrap().as_str(), "bob@x.test");
        assert!(
            Address::parse("bob@x.test")
                .unwrap()
                .without_detail()
                .is_none()
        );
        assert!(
            Address::parse("+x@x.test")
                .unwrap()
                .without_detail()
                .is_none()
        );
    }

    #[test]
    fn unicode_addresses_are_kept() {
        let a = Address::parse("Jörg@Bücher.Example").unwrap();
        assert_eq!(a.domain(), "bücher.example");
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,80}") {
            let _ = Address::parse(&s);
            let _ = normalize_domain(&s);
        }

        #[test]
        fn what_parses_parses_again_to_itself(s in "\\PC{0,30}@\\PC{0,30}") {
            if let Ok(a) = Address::parse(&s) {
                let again = Address::parse(a.as_str());
                prop_assert_eq!(again.map(|b| b.as_str().to_owned()).ok(), Some(a.as_str().to_owned()));
            }
        }

        #[test]
        fn parsed_parts_rejoin(local in "[a-z0-9.+_-]{1,20}", domain in "[a-z0-9]{1,10}(\\.[a-z]{2,5}){0,2}") {
            let a = Address::parse(&format!("{local}@{domain}")).unwrap();
            prop_assert_eq!(format!("{}@{}", a.local(), a.domain()), a.as_str());
        }
    }
}
