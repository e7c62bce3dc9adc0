//! What a script expects the server to send next, and how a line the server sent is held
//! against it: one line (`S:`); any number of lines alike (`S*:`, such as the lines of an
//! SMTP reply before its last); or a group of lines in any order (`U:`, `U?:` for one that
//! may be missing), as the RFCs leave the order of untagged IMAP responses to the server.
//! The in-process and the remote runner both use this.

use std::collections::HashMap;

use crate::wire::capture;

/// An expectation at the head of a session's script.
#[derive(Clone, Debug)]
pub enum Expect {
    /// `S: pattern`: the next line.
    Line(String),
    /// `S*: pattern`: every next line that matches; the first that does not ends it.
    Repeated(String),
    /// Consecutive `U:`/`U?:` lines: each required one must come, optional ones may, in any
    /// order; the group ends with the first line none of its remaining members match (which
    /// the `S:` line after the group must then match).
    AnyOrder(Vec<Member>),
}

#[derive(Clone, Debug)]
pub struct Member {
    pub pattern: String,
    pub optional: bool,
}

/// Values a line gave `{{name}}` captures.
pub type Captured = Vec<(String, String)>;

/// What a server line did to an expectation.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The line is taken and the expectation met; the values it captured.
    Met(Captured),
    /// The line is taken; more of the group is still to come.
    Taken(Captured),
    /// The group is complete without this line, which is left for what comes next.
    Passed,
    /// The line does not fit: the message says what was expected.
    Mismatch(String),
}

/// The expectation a script line states, if it is one: `S: p`, `U: p`, `U?: p`.
pub enum Stated<'a> {
    Line(&'a str),
    Repeated(&'a str),
    Member(Member),
}

impl Stated<'_> {
    pub fn of(raw: &str) -> Option<Stated<'_>> {
        let after = |prefix: &str| {
            raw.strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix(' ').or(rest.is_empty().then_some("")))
        };
        if let Some(pattern) = after("S:") {
            return Some(Stated::Line(pattern));
        }
        if let Some(pattern) = after("S*:") {
            return Some(Stated::Repeated(pattern));
        }
        let (pattern, optional) = match (after("U:"), after("U?:")) {
            (Some(pattern), _) => (pattern, false),
            (_, Some(pattern)) => (pattern, true),
            _ => return None,
        };
        Some(Stated::Member(Member {
            pattern: pattern.to_string(),
            optional,
        }))
    }
}

impl Expect {
    /// Adds a group member to `self` when it is a group; `false` when it is not.
    pub fn join(&mut self, member: Member) -> bool {
        match self {
            Expect::AnyOrder(members) => {
                members.push(member);
                true
            }
            Expect::Line(_) | Expect::Repeated(_) => false,
        }
    }

    /// Holds `line` against the expectation; values captured so far are `vars`.
    pub fn offer(&mut self, line: &str, vars: &HashMap<String, String>) -> Verdict {
        match self {
            Expect::Line(pattern) => match capture(pattern, line, vars) {
                Some(captured) => Verdict::Met(captured),
                None => Verdict::Mismatch(format!("expected {pattern:?}")),
            },
            Expect::Repeated(pattern) => match capture(pattern, line, vars) {
                Some(captured) => Verdict::Taken(captured),
                None => Verdict::Passed,
            },
            Expect::AnyOrder(members) => {
                let found = members
                    .iter()
                    .enumerate()
                    .find_map(|(i, m)| capture(&m.pattern, line, vars).map(|c| (i, c)));
                match found {
                    Some((index, captured)) => {
                        members.remove(index);
                        if members.is_empty() {
                            Verdict::Met(captured)
                        } else {
                            Verdict::Taken(captured)
                        }
                    }
                    None if members.iter().all(|m| m.optional) => Verdict::Passed,
                    None => Verdict::Mismatch(format!(
                        "expected, in any order, {}",
                        self.describe_missing()
                    )),
                }
            }
        }
    }

    /// Whether every line still required has come: what is left may come, or not.
    pub fn is_satisfied(&self) -> bool {
        match self {
            Expect::Line(_) => false,
            Expect::Repeated(_) => true,
            Expect::AnyOrder(members) => members.iter().all(|m| m.optional),
        }
    }

    /// The patterns still required, for messages.
    pub fn describe_missing(&self) -> String {
        match self {
            Expect::Line(pattern) => format!("{pattern:?}"),
            Expect::Repeated(pattern) => format!("lines like {pattern:?}"),
            Expect::AnyOrder(members) => {
                let missing: Vec<String> = members
                    .iter()
                    .filter(|m| !m.optional)
                    .map(|m| format!("{:?}", m.pattern))
                    .collect();
                missing.join(", ")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(lines: &[&str]) -> Expect {
        let mut expect = None::<Expect>;
        for line in lines {
            let Some(Stated::Member(member)) = Stated::of(line) else {
                panic!("{line}");
            };
            match &mut expect {
                Some(expect) => assert!(expect.join(member)),
                None => expect = Some(Expect::AnyOrder(vec![member])),
            }
        }
        expect.unwrap()
    }

    #[test]
    fn a_group_takes_its_lines_in_any_order_and_leaves_the_next() {
        let vars = HashMap::new();
        let mut select = group(&[
            "U: * FLAGS (*)",
            "U: * 2 EXISTS",
            "U?: * 0 RECENT",
            "U: * OK [UIDVALIDITY {{v}}]*",
        ]);
        assert!(matches!(
            select.offer("* 2 EXISTS", &vars),
            Verdict::Taken(_)
        ));
        let Verdict::Taken(captured) = select.offer("* OK [UIDVALIDITY 7] ok", &vars) else {
            panic!()
        };
        assert_eq!(captured, [("v".to_string(), "7".to_string())]);
        // A line no member takes, while a required one is missing: a mismatch naming it.
        let Verdict::Mismatch(why) = select.offer("a OK done", &vars) else {
            panic!()
        };
        assert!(why.contains("FLAGS") && !why.contains("RECENT"), "{why}");
        assert!(matches!(
            select.offer("* FLAGS (\\Seen)", &vars),
            Verdict::Taken(_)
        ));
        // Only the optional one is left: the next line ends the group without being taken.
        assert_eq!(select.offer("a OK done", &vars), Verdict::Passed);
        assert!(matches!(select.offer("* 0 RECENT", &vars), Verdict::Met(_)));
    }

    #[test]
    fn repeated_lines_end_at_the_first_other() {
        let vars = HashMap::new();
        let mut ehlo = Expect::Repeated("250-*".into());
        assert!(matches!(
            ehlo.offer("250-PIPELINING", &vars),
            Verdict::Taken(_)
        ));
        assert!(matches!(
            ehlo.offer("250-SIZE 1000", &vars),
            Verdict::Taken(_)
        ));
        assert_eq!(ehlo.offer("250 CHUNKING", &vars), Verdict::Passed);
    }

    #[test]
    fn script_lines_state_expectations() {
        assert!(matches!(
            Stated::of("S: 220 *"),
            Some(Stated::Line("220 *"))
        ));
        assert!(matches!(Stated::of("S:"), Some(Stated::Line(""))));
        assert!(matches!(
            Stated::of("S*: 250-*"),
            Some(Stated::Repeated("250-*"))
        ));
        assert!(matches!(
            Stated::of("U?: * 0 RECENT"),
            Some(Stated::Member(Member { optional: true, .. }))
        ));
        assert!(Stated::of("C: a NOOP").is_none());
        assert!(Stated::of("Subject: x").is_none());
    }
}
