//! Variables (RFC 5229): `set` names them, `${name}` in a string reads one, and `${1}`,
//! `${2}`… read what the wildcards of the last successful `:matches` took. Each script has
//! its own (an included one starts with none), and both their number and their length are
//! bounded: a run cannot grow without end by setting variables in a loop of includes.

/// Variables a script may set; one more fails the run.
pub const MAX_VARIABLES: usize = 128;

/// The longest value a variable holds, in octets; a longer one is cut at a character.
pub const MAX_VALUE: usize = 4096;

/// Match variables kept: `${0}` (the whole value) to `${9}`.
const MATCHED: usize = 10;

/// How `set` changes its value first (RFC 5229 §4.1), in the order they apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Modifier {
    Lower,
    Upper,
    LowerFirst,
    UpperFirst,
    QuoteWildcard,
    Length,
}

impl Modifier {
    /// The tags, each with its modifier, in the order of precedence (40, 30, 20, 10).
    pub(crate) const TAGS: [(&'static str, Modifier); 6] = [
        ("lower", Modifier::Lower),
        ("upper", Modifier::Upper),
        ("lowerfirst", Modifier::LowerFirst),
        ("upperfirst", Modifier::UpperFirst),
        ("quotewildcard", Modifier::QuoteWildcard),
        ("length", Modifier::Length),
    ];

    /// Its precedence: two modifiers of one precedence cannot go together.
    pub(crate) fn precedence(self) -> u8 {
        match self {
            Modifier::Lower | Modifier::Upper => 40,
            Modifier::LowerFirst | Modifier::UpperFirst => 30,
            Modifier::QuoteWildcard => 20,
            Modifier::Length => 10,
        }
    }

    fn apply(self, value: String) -> String {
        match self {
            Modifier::Lower => value.to_lowercase(),
            Modifier::Upper => value.to_uppercase(),
            Modifier::LowerFirst | Modifier::UpperFirst => {
                let mut chars = value.chars();
                let Some(first) = chars.next() else {
                    return value;
                };
                let first: String = match self {
                    Modifier::LowerFirst => first.to_lowercase().collect(),
                    _ => first.to_uppercase().collect(),
                };
                first + chars.as_str()
            }
            Modifier::QuoteWildcard => {
                let mut quoted = String::with_capacity(value.len());
                for c in value.chars() {
                    if matches!(c, '*' | '?' | '\\') {
                        quoted.push('\\');
                    }
                    quoted.push(c);
                }
                quoted
            }
            Modifier::Length => value.chars().count().to_string(),
        }
    }
}

/// Whether `name` can name a variable: an identifier (RFC 5229 §3), not a number.
pub(crate) fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `text` refers to a variable, so that only a run can know what it says.
pub(crate) fn refers(text: &str) -> bool {
    text.contains("${")
}

/// One script's variables.
#[derive(Debug, Default)]
pub(crate) struct Variables {
    /// Names lowercased (names are case-insensitive), with their values.
    named: Vec<(String, String)>,
    /// What the last successful `:matches` took: the whole value, then each wildcard's.
    matched: Vec<String>,
}

/// A script set more than [`MAX_VARIABLES`] variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooMany;

impl Variables {
    /// Sets `name` (already checked to be one) to `value` as `modifiers` change it.
    pub(crate) fn set(
        &mut self,
        name: &str,
        value: String,
        modifiers: &[Modifier],
    ) -> Result<(), TooMany> {
        let value = modifiers
            .iter()
            .fold(value, |value, modifier| modifier.apply(value));
        let value = bounded(value);
        let name = name.to_ascii_lowercase();
        let count = self.named.len();
        match self.named.iter_mut().find(|(n, _)| *n == name) {
            Some((_, old)) => *old = value,
            None if count >= MAX_VARIABLES => return Err(TooMany),
            None => self.named.push((name, value)),
        }
        Ok(())
    }

    /// The value of a variable; an unset one is empty (RFC 5229 §3).
    pub(crate) fn get(&self, name: &str) -> &str {
        self.named
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or("", |(_, value)| value.as_str())
    }

    /// A `:matches` succeeded and took these (the whole value first).
    pub(crate) fn matched(&mut self, mut taken: Vec<String>) {
        taken.truncate(MATCHED);
        self.matched = taken.into_iter().map(bounded).collect();
    }

    /// `text` with each `${name}` and `${n}` replaced by its value. What is not a
    /// reference (`${`, a name with a namespace, `${a b}`) stays as written.
    pub(crate) fn expand(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find("${") {
            let (before, from) = rest.split_at(at);
            out.push_str(before);
            let inner = from.get(2..).unwrap_or_default();
            let Some(end) = inner.find('}') else {
                out.push_str(from);
                return out;
            };
            let (reference, after) = inner.split_at(end);
            match self.lookup(reference) {
                Some(value) => {
                    out.push_str(value);
                    rest = after.get(1..).unwrap_or_default();
                }
                None => {
                    out.push_str("${");
                    rest = inner;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// What `${reference}` says, or `None` when it is not a reference.
    fn lookup(&self, reference: &str) -> Option<&str> {
        if !reference.is_empty() && reference.bytes().all(|b| b.is_ascii_digit()) {
            let n: usize = reference.parse().unwrap_or(usize::MAX);
            return Some(self.matched.get(n).map_or("", String::as_str));
        }
        is_name(reference).then(|| self.get(reference))
    }
}

/// `value` cut to [`MAX_VALUE`] octets, at a character.
fn bounded(mut value: String) -> String {
    if value.len() > MAX_VALUE {
        let mut end = MAX_VALUE;
        while !value.is_char_boundary(end) {
            end = end.saturating_sub(1);
        }
        value.truncate(end);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_expand_and_others_stay() {
        let mut vars = Variables::default();
        vars.set("Folder", "Lists".into(), &[]).unwrap();
        vars.matched(vec!["[acme] hi".into(), "acme".into(), "hi".into()]);
        assert_eq!(vars.expand("${folder}/${1}"), "Lists/acme");
        assert_eq!(vars.expand("${FOLDER}${02}${9}${unset}"), "Listshi");
        assert_eq!(vars.expand("${0}"), "[acme] hi");
        // Not references: left as they are.
        assert_eq!(vars.expand("${"), "${");
        assert_eq!(vars.expand("a${b c}d"), "a${b c}d");
        assert_eq!(vars.expand("${env.x}"), "${env.x}");
        assert_eq!(vars.expand("$${folder}}"), "$Lists}");
        assert_eq!(vars.expand("${${folder}}"), "${Lists}");
    }

    #[test]
    fn modifiers_as_rfc_5229_shows_them() {
        let mut vars = Variables::default();
        let set = |vars: &mut Variables, modifiers: &[Modifier], value: &str| {
            vars.set("a", value.into(), modifiers).unwrap();
            vars.get("a").to_string()
        };
        assert_eq!(set(&mut vars, &[Modifier::Length], "juMBlEd lETteRS"), "15");
        assert_eq!(
            set(&mut vars, &[Modifier::Lower], "juMBlEd lETteRS"),
            "jumbled letters"
        );
        assert_eq!(
            set(
                &mut vars,
                &[Modifier::Upper, Modifier::LowerFirst],
                "juMBlEd"
            ),
            "jUMBLED"
        );
        assert_eq!(
            set(&mut vars, &[Modifier::UpperFirst], "juMBlEd"),
            "JuMBlEd"
        );
        assert_eq!(
            set(&mut vars, &[Modifier::QuoteWildcard], "a*b?c\\"),
            "a\\*b\\?c\\\\"
        );
        assert_eq!(set(&mut vars, &[], &"é".repeat(3000)).len(), 4096);
    }

    #[test]
    fn names_and_bounds() {
        assert!(is_name("a_1") && is_name("_x") && !is_name("1a") && !is_name("a.b"));
        assert!(!is_name(""));
        let mut vars = Variables::default();
        for n in 0..MAX_VARIABLES {
            vars.set(&format!("v{n}"), String::new(), &[]).unwrap();
        }
        assert_eq!(vars.set("one_more", String::new(), &[]), Err(TooMany));
        assert_eq!(vars.set("V0", "again".into(), &[]), Ok(()));
        assert_eq!(vars.get("v0"), "again");
    }
}
