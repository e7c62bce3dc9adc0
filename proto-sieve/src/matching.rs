//! How tests compare (RFC 5228 §2.7): comparators (RFC 4790), match types with the
//! relational ones (RFC 5231), and the parts of an address (RFC 5228 §2.7.4, RFC 5233).

use std::cmp::Ordering;
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparator {
    /// `i;octet`: bytes as they are.
    Octet,
    /// `i;ascii-casemap`, the default: ASCII letters without case.
    AsciiCasemap,
    /// `i;ascii-numeric`: the number a string starts with; one without is larger than all.
    AsciiNumeric,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MatchType {
    Is,
    Contains,
    /// `*` any run of characters, `?` one, `\` takes the next literally.
    Matches,
    /// The key is a regular expression (draft-ietf-sieve-regex) found anywhere in the
    /// value unless anchored; letters without case unless the comparator is `i;octet`.
    Regex,
    /// How many values there are, against the key as a number.
    Count(Relation),
    /// Each value against the key, by the comparator's order.
    Value(Relation),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl Relation {
    pub(crate) fn parse(text: &str) -> Option<Relation> {
        Some(match text.to_ascii_lowercase().as_str() {
            "gt" => Relation::Gt,
            "ge" => Relation::Ge,
            "lt" => Relation::Lt,
            "le" => Relation::Le,
            "eq" => Relation::Eq,
            "ne" => Relation::Ne,
            _ => return None,
        })
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Relation::Gt => ordering == Ordering::Greater,
            Relation::Ge => ordering != Ordering::Less,
            Relation::Lt => ordering == Ordering::Less,
            Relation::Le => ordering != Ordering::Greater,
            Relation::Eq => ordering == Ordering::Equal,
            Relation::Ne => ordering != Ordering::Equal,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressPart {
    All,
    LocalPart,
    Domain,
    /// The local part before its first `+` (subaddress).
    User,
    /// After it; an address without one has no detail.
    Detail,
}

impl AddressPart {
    /// The part of `address` (`local@domain`, or a bare local part); `None` when it has no
    /// such part.
    pub(crate) fn of(self, address: &str) -> Option<String> {
        let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
        Some(match self {
            AddressPart::All => address.to_string(),
            AddressPart::LocalPart => local.to_string(),
            AddressPart::Domain => domain.to_string(),
            AddressPart::User => local
                .split_once('+')
                .map_or(local, |(user, _)| user)
                .to_string(),
            AddressPart::Detail => local.split_once('+')?.1.to_string(),
        })
    }
}

/// How a test compares: the comparator and the match type, from its tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Compare {
    pub(crate) comparator: Comparator,
    pub(crate) match_type: MatchType,
}

impl Compare {
    /// Whether any of `values` matches any of `keys` ([`any_matches`]); for a `:matches`
    /// that does, what it took goes into `taken`: the value, then what each wildcard
    /// matched (RFC 5229 §3.2).
    pub(crate) fn any(
        self,
        values: &[String],
        keys: &[String],
        budget: &mut Budget,
        taken: &mut Option<Vec<String>>,
    ) -> Result<bool, Exhausted> {
        any_matches(
            self.comparator,
            self.match_type,
            values,
            keys,
            budget,
            taken,
        )
    }
}

/// The work a script may do, counted in characters compared: what bounds a script's CPU
/// whatever its keys and the message's header hold.
#[derive(Debug)]
pub(crate) struct Budget {
    left: u64,
}

impl Budget {
    pub(crate) fn new(left: u64) -> Self {
        Budget { left }
    }

    /// Spends `cost`; `false` once the budget is gone.
    pub(crate) fn spend(&mut self, cost: usize) -> bool {
        let cost = u64::try_from(cost).unwrap_or(u64::MAX).max(1);
        match self.left.checked_sub(cost) {
            Some(left) => {
                self.left = left;
                true
            }
            None => {
                self.left = 0;
                false
            }
        }
    }
}

/// The budget ran out while comparing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exhausted;

/// Whether any of `values` matches any of `keys` (for `:count`, whether their number
/// does); a `:matches` that does says in `taken` what it took.
pub(crate) fn any_matches(
    comparator: Comparator,
    match_type: MatchType,
    values: &[String],
    keys: &[String],
    budget: &mut Budget,
    taken: &mut Option<Vec<String>>,
) -> Result<bool, Exhausted> {
    if let MatchType::Count(relation) = match_type {
        let count = values.len().to_string();
        return Ok(keys
            .iter()
            .any(|key| relation.holds(numeric_order(&count, key))));
    }
    if match_type == MatchType::Regex {
        return any_regex(comparator, values, keys, budget, taken);
    }
    for value in values {
        for key in keys {
            if !budget.spend(value.len().saturating_add(key.len())) {
                return Err(Exhausted);
            }
            if matches_one(comparator, match_type, value, key, budget, taken)? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn matches_one(
    comparator: Comparator,
    match_type: MatchType,
    value: &str,
    key: &str,
    budget: &mut Budget,
    taken: &mut Option<Vec<String>>,
) -> Result<bool, Exhausted> {
    Ok(match match_type {
        MatchType::Is => order(comparator, value, key) == Ordering::Equal,
        MatchType::Value(relation) => relation.holds(order(comparator, value, key)),
        MatchType::Count(_) | MatchType::Regex => false,
        MatchType::Contains => match comparator {
            Comparator::Octet => value.contains(key),
            _ => value
                .to_ascii_lowercase()
                .contains(&key.to_ascii_lowercase()),
        },
        MatchType::Matches => {
            let fold = |s: &str| match comparator {
                Comparator::Octet => s.chars().collect::<Vec<char>>(),
                _ => s.chars().map(|c| c.to_ascii_lowercase()).collect(),
            };
            match glob(&fold(value), &pattern(&fold(key)), budget)? {
                Some(wildcards) => {
                    // Folding keeps one character for one, so the places are the value's.
                    let chars: Vec<char> = value.chars().collect();
                    let text = |range: Range<usize>| -> String {
                        chars.get(range).unwrap_or_default().iter().collect()
                    };
                    let mut took = vec![value.to_string()];
                    took.extend(wildcards.into_iter().map(text));
                    *taken = Some(took);
                    true
                }
                None => false,
            }
        }
    })
}

/// Longest compiled pattern, in octets of its program: what a `:regex` key may cost to
/// build and to run.
const REGEX_SIZE: usize = 256 * 1024;

/// Deepest nesting of groups and repetitions in a `:regex` key.
const REGEX_NESTING: u32 = 32;

/// What compiling one `:regex` key costs in a run's work, besides its length: a script of
/// many keys stops at its bound long before their compiling takes a noticeable time.
const REGEX_COMPILE: usize = 10_000;

/// A `:regex` key compiled for `comparator`: POSIX extended syntax is read as the `regex`
/// crates read theirs, which agree on everything people write in filters.
pub(crate) fn regex(
    comparator: Comparator,
    key: &str,
) -> Result<regex_lite::Regex, regex_lite::Error> {
    regex_lite::RegexBuilder::new(key)
        .case_insensitive(comparator != Comparator::Octet)
        .size_limit(REGEX_SIZE)
        .nest_limit(REGEX_NESTING)
        .build()
}

/// Whether any of `values` matches any of the regular expressions `keys` (each compiled
/// once); on a match, `taken` holds the text matched and each group's (RFC 5229 §3.2 as
/// the regex draft extends it). A key that is not a regular expression (one made of
/// variables) matches nothing. Each value searched costs its length times the key's.
fn any_regex(
    comparator: Comparator,
    values: &[String],
    keys: &[String],
    budget: &mut Budget,
    taken: &mut Option<Vec<String>>,
) -> Result<bool, Exhausted> {
    let mut compiled = Vec::with_capacity(keys.len());
    for key in keys {
        if !budget.spend(key.len().saturating_add(REGEX_COMPILE)) {
            return Err(Exhausted);
        }
        compiled.push((key.len(), regex(comparator, key).ok()));
    }
    for value in values {
        for (len, regex) in &compiled {
            if !budget.spend(value.len().saturating_mul(*len)) {
                return Err(Exhausted);
            }
            let Some(captures) = regex.as_ref().and_then(|r| r.captures(value)) else {
                continue;
            };
            let groups = captures.iter();
            *taken = Some(
                groups
                    .map(|g| g.map_or_else(String::new, |m| m.as_str().to_string()))
                    .collect(),
            );
            return Ok(true);
        }
    }
    Ok(false)
}

/// `value` against `key` by the comparator's order.
fn order(comparator: Comparator, value: &str, key: &str) -> Ordering {
    match comparator {
        Comparator::Octet => value.as_bytes().cmp(key.as_bytes()),
        Comparator::AsciiCasemap => value
            .bytes()
            .map(|b| b.to_ascii_lowercase())
            .cmp(key.bytes().map(|b| b.to_ascii_lowercase())),
        Comparator::AsciiNumeric => numeric_order(value, key),
    }
}

/// RFC 4790 §9.1: the numbers the strings start with, a string without one above every
/// number (and equal to another such).
fn numeric_order(value: &str, key: &str) -> Ordering {
    let number = |s: &str| -> Option<String> {
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return None;
        }
        let trimmed = digits.trim_start_matches('0');
        Some(if trimmed.is_empty() { "0" } else { trimmed }.to_string())
    };
    match (number(value), number(key)) {
        (Some(a), Some(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(&b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// One element of a `:matches` pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Glob {
    Char(char),
    One,
    Any,
}

fn pattern(key: &[char]) -> Vec<Glob> {
    let mut out = Vec::with_capacity(key.len());
    let mut chars = key.iter();
    while let Some(&c) = chars.next() {
        out.push(match c {
            '*' => Glob::Any,
            '?' => Glob::One,
            '\\' => match chars.next() {
                Some(&escaped) => Glob::Char(escaped),
                None => Glob::Char('\\'),
            },
            c => Glob::Char(c),
        });
    }
    out
}

/// Wildcard matching that goes back only to the last `*`: at most as many steps as
/// `value` times `pattern`, each counted in the budget. On a match, where each wildcard's
/// match lies in `value`, in the pattern's order.
fn glob(
    value: &[char],
    pattern: &[Glob],
    budget: &mut Budget,
) -> Result<Option<Vec<Range<usize>>>, Exhausted> {
    let (mut v, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    // Where in `value` each element of the pattern began to match, on the path taken.
    let mut starts = vec![0usize; pattern.len()];
    loop {
        if !budget.spend(1) {
            return Err(Exhausted);
        }
        if let Some(start) = starts.get_mut(p) {
            *start = v;
        }
        match (value.get(v), pattern.get(p)) {
            (_, Some(Glob::Any)) => {
                p = p.saturating_add(1);
                star = Some((p, v));
            }
            (Some(c), Some(Glob::Char(k))) if c == k => {
                v = v.saturating_add(1);
                p = p.saturating_add(1);
            }
            (Some(_), Some(Glob::One)) => {
                v = v.saturating_add(1);
                p = p.saturating_add(1);
            }
            (None, None) => {
                // A `*` took up to where what follows it began; a `?`, its one character.
                let wildcards = pattern.iter().enumerate().filter_map(|(i, element)| {
                    let start = *starts.get(i)?;
                    let end = match element {
                        Glob::Char(_) => return None,
                        Glob::One => start.saturating_add(1),
                        Glob::Any => starts.get(i.saturating_add(1)).copied().unwrap_or(v),
                    };
                    Some(start..end)
                });
                return Ok(Some(wildcards.collect()));
            }
            _ => match star {
                // Let the last `*` take one more character, and go on from there.
                Some((after, taken)) if taken < value.len() => {
                    let taken = taken.saturating_add(1);
                    star = Some((after, taken));
                    (p, v) = (after, taken);
                }
                _ => return Ok(None),
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn matches(comparator: Comparator, match_type: MatchType, value: &str, key: &str) -> bool {
        any_matches(
            comparator,
            match_type,
            &[value.to_string()],
            &[key.to_string()],
            &mut Budget::new(1 << 20),
            &mut None,
        )
        .unwrap()
    }

    #[test]
    fn match_types_as_rfc_5228_shows_them() {
        use Comparator::*;
        use MatchType::*;
        assert!(matches(AsciiCasemap, Is, "Frobnitz", "frobnitz"));
        assert!(!matches(Octet, Is, "Frobnitz", "frobnitz"));
        assert!(matches(AsciiCasemap, Contains, "MAKE MONEY FAST", "money"));
        assert!(matches(
            AsciiCasemap,
            Matches,
            "[acme-users] hi",
            "[acme-users] *"
        ));
        assert!(matches(AsciiCasemap, Matches, "abc", "a?c"));
        assert!(!matches(AsciiCasemap, Matches, "abcd", "a?c"));
        assert!(matches(AsciiCasemap, Matches, "a*b", "a\\*b"));
        assert!(!matches(AsciiCasemap, Matches, "axb", "a\\*b"));
        assert!(matches(AsciiCasemap, Matches, "", "*"));
        assert!(matches(
            AsciiCasemap,
            Matches,
            "x-spam: yes yes",
            "*yes*yes"
        ));
        assert!(matches(Octet, Matches, "ümlaut", "?mlaut"));
    }

    #[test]
    fn what_the_wildcards_took() {
        let took = |value: &str, key: &str| {
            let mut taken = None;
            let hit = any_matches(
                Comparator::AsciiCasemap,
                MatchType::Matches,
                &[value.to_string()],
                &[key.to_string()],
                &mut Budget::new(1 << 20),
                &mut taken,
            )
            .unwrap();
            hit.then(|| taken.unwrap())
        };
        // RFC 5229 §3.2's example.
        assert_eq!(
            took("[acme-users] [fwd] version 1.0 is out", "[*] *"),
            Some(vec![
                "[acme-users] [fwd] version 1.0 is out".to_string(),
                "acme-users".to_string(),
                "[fwd] version 1.0 is out".to_string(),
            ])
        );
        assert_eq!(
            took("Ann Example <ann@Example.ORG>", "*<*@*>"),
            Some(vec![
                "Ann Example <ann@Example.ORG>".into(),
                "Ann Example ".into(),
                "ann".into(),
                "Example.ORG".into(),
            ])
        );
        assert_eq!(
            took("abcd", "?b*"),
            Some(vec!["abcd".into(), "a".into(), "cd".into()])
        );
        assert_eq!(
            took("xyz", "**"),
            Some(vec!["xyz".into(), "".into(), "xyz".into()])
        );
        assert_eq!(took("abc", "a?d"), None);
    }

    #[test]
    fn regular_expressions() {
        let took = |comparator, value: &str, key: &str| {
            let mut taken = None;
            let hit = any_matches(
                comparator,
                MatchType::Regex,
                &[value.to_string()],
                &[key.to_string()],
                &mut Budget::new(1 << 20),
                &mut taken,
            )
            .unwrap();
            hit.then(|| taken.unwrap())
        };
        assert_eq!(
            took(
                Comparator::AsciiCasemap,
                "Re: [ACME] budget",
                r"\[(acme|foo)\] (.*)$"
            ),
            Some(vec!["[ACME] budget".into(), "ACME".into(), "budget".into()])
        );
        assert_eq!(took(Comparator::Octet, "[ACME]", r"\[acme\]"), None);
        assert_eq!(
            took(Comparator::AsciiCasemap, "x", "(a)|x"),
            Some(vec!["x".into(), "".into()])
        );
        assert!(regex(Comparator::Octet, "(unclosed").is_err());
        assert!(
            regex(
                Comparator::Octet,
                &"(".repeat(40)
                    .to_string()
                    .chars()
                    .chain(")".repeat(40).chars())
                    .collect::<String>()
            )
            .is_err()
        );
        assert!(regex(Comparator::Octet, "a{1000}{1000}").is_err());
    }

    #[test]
    fn relational_and_numeric() {
        use Comparator::*;
        let gt = MatchType::Value(Relation::Gt);
        assert!(matches(AsciiNumeric, gt, "10", "9"));
        assert!(!matches(AsciiCasemap, gt, "10", "9"));
        assert!(matches(AsciiNumeric, MatchType::Is, "007", "7"));
        assert!(matches(AsciiNumeric, gt, "none", "99999"));
        let two = [String::from("a"), String::from("b")];
        let count = |relation, key: &str| {
            any_matches(
                AsciiNumeric,
                MatchType::Count(relation),
                &two,
                &[key.to_string()],
                &mut Budget::new(100),
                &mut None,
            )
            .unwrap()
        };
        assert!(count(Relation::Eq, "2"));
        assert!(count(Relation::Ge, "1"));
        assert!(!count(Relation::Lt, "2"));
    }

    #[test]
    fn address_parts() {
        assert_eq!(
            AddressPart::User.of("ken+sieve@example.org").as_deref(),
            Some("ken")
        );
        assert_eq!(
            AddressPart::Detail.of("ken+sieve@example.org").as_deref(),
            Some("sieve")
        );
        assert_eq!(AddressPart::Detail.of("ken@example.org"), None);
        assert_eq!(
            AddressPart::Domain.of("ken@Example.org").as_deref(),
            Some("Example.org")
        );
        assert_eq!(AddressPart::LocalPart.of("a@b@c").as_deref(), Some("a@b"));
    }

    #[test]
    fn the_budget_stops_the_work() {
        let value = "a".repeat(2000);
        let key = "*a*a*a*a*a*a*b".to_string();
        let run = |budget| {
            any_matches(
                Comparator::AsciiCasemap,
                MatchType::Matches,
                std::slice::from_ref(&value),
                std::slice::from_ref(&key),
                &mut Budget::new(budget),
                &mut None,
            )
        };
        assert_eq!(run(100_000), Ok(false));
        assert_eq!(run(3_000), Err(Exhausted));
    }
}
