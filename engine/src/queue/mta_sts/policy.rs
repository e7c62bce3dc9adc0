//! An MTA-STS policy (RFC 8461 3.2): which mail exchangers a domain uses, and whether mail
//! to it must travel over TLS with a verified certificate.

/// What the policy asks of senders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Only to the listed exchangers, over verified TLS; else the mail waits.
    Enforce,
    /// Report what would fail, deliver as usual.
    Testing,
    /// No policy.
    None,
}

/// A parsed policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    /// Exchanger names or `*.`-prefixed patterns (one leftmost label), lower-cased.
    pub mx: Vec<String>,
    /// Seconds the policy may be cached.
    pub max_age: u64,
}

/// The longest `max_age` a policy may claim (RFC 8461 3.2: about a year).
const MAX_AGE_LIMIT: u64 = 31_557_600;

impl Policy {
    /// Parses a policy file: `key: value` lines; `version: STSv1`, `mode`, `max_age` and,
    /// unless the mode is `none`, at least one `mx` are required.
    pub fn parse(text: &str) -> Result<Policy, String> {
        let (mut version, mut mode, mut max_age, mut mx) = (None, None, None, Vec::new());
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                return Err(format!("not a key: value line: {line:?}"));
            };
            let value = value.trim();
            match key.trim() {
                "version" => version = Some(value.to_string()),
                "mode" => {
                    mode = Some(match value {
                        "enforce" => Mode::Enforce,
                        "testing" => Mode::Testing,
                        "none" => Mode::None,
                        _ => return Err(format!("unknown mode {value:?}")),
                    })
                }
                "max_age" => {
                    let age: u64 = value
                        .parse()
                        .map_err(|_| format!("max_age {value:?} is not a number"))?;
                    max_age = Some(age.min(MAX_AGE_LIMIT));
                }
                "mx" => mx.push(value.trim_end_matches('.').to_ascii_lowercase()),
                // Unknown keys are ignored, for extensions (RFC 8461 3.2).
                _ => {}
            }
        }
        if version.as_deref() != Some("STSv1") {
            return Err("no version: STSv1".into());
        }
        let mode = mode.ok_or("no mode")?;
        let max_age = max_age.ok_or("no max_age")?;
        if mode != Mode::None && mx.is_empty() {
            return Err("no mx".into());
        }
        Ok(Policy { mode, mx, max_age })
    }

    /// Whether `host` is one of the policy's exchangers: equal to a name, or matching a
    /// `*.suffix` pattern in exactly its leftmost label (RFC 8461 4.1).
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.mx
            .iter()
            .any(|pattern| match pattern.strip_prefix("*.") {
                Some(suffix) => host
                    .split_once('.')
                    .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
                None => *pattern == host,
            })
    }
}

/// The `id` of a domain's `_mta-sts` TXT record, if it announces a policy (RFC 8461 3.1):
/// one record starting with `v=STSv1`, with an `id` of 1 to 32 letters and digits.
pub fn record_id(records: &[String]) -> Option<String> {
    let mut ids = records.iter().filter_map(|record| {
        let mut fields = record.split(';').map(str::trim);
        if fields.next()? != "v=STSv1" {
            return None;
        }
        fields
            .find_map(|field| field.strip_prefix("id="))
            .map(str::to_string)
    });
    let id = ids.next()?;
    // More than one STSv1 record is as good as none.
    if ids.next().is_some() {
        return None;
    }
    let valid = (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric());
    valid.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_rfc_example() {
        let policy = Policy::parse(
            "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n\
             mx: backupmx.example.com\r\nmax_age: 604800\r\n",
        )
        .unwrap();
        assert_eq!(policy.mode, Mode::Enforce);
        assert_eq!(policy.max_age, 604_800);
        assert!(policy.allows("mail.example.com"));
        assert!(policy.allows("MX1.Example.NET."));
        assert!(!policy.allows("example.net"), "a wildcard needs a label");
        assert!(!policy.allows("a.b.example.net"), "one label only");
        assert!(!policy.allows("mail.example.org"));
    }

    #[test]
    fn refuses_what_is_not_a_policy() {
        for bad in [
            "mode: enforce\nmx: a\nmax_age: 1\n",
            "version: STSv2\nmode: enforce\nmx: a\nmax_age: 1\n",
            "version: STSv1\nmode: strict\nmx: a\nmax_age: 1\n",
            "version: STSv1\nmode: enforce\nmax_age: 1\n",
            "version: STSv1\nmode: enforce\nmx: a\nmax_age: soon\n",
            "<html>not found</html>",
        ] {
            assert!(Policy::parse(bad).is_err(), "{bad:?}");
        }
        let none = Policy::parse("version: STSv1\nmode: none\nmax_age: 86400\n").unwrap();
        assert_eq!(none.mode, Mode::None);
        let long = Policy::parse("version: STSv1\nmode: testing\nmx: a\nmax_age: 99999999999\n");
        assert_eq!(long.unwrap().max_age, MAX_AGE_LIMIT);
    }

    #[test]
    fn the_txt_record_names_the_policy_id() {
        let txt = |records: &[&str]| {
            record_id(&records.iter().map(|r| r.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(
            txt(&["v=STSv1; id=20160831085700Z;"]).as_deref(),
            Some("20160831085700Z")
        );
        assert_eq!(
            txt(&["v=spf1 -all", "v=STSv1;id=abc"]).as_deref(),
            Some("abc")
        );
        assert_eq!(
            txt(&["v=STSv1; id=a", "v=STSv1; id=b"]),
            None,
            "two records"
        );
        assert_eq!(txt(&["v=STSv1; id=not valid!"]), None);
        assert_eq!(txt(&["v=STSv1;"]), None);
        assert_eq!(txt(&[]), None);
    }
}
