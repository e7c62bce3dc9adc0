//! Flags and keywords of stored messages.
//!
//! IMAP keywords are case-insensitive atoms (ASCII), so they are compared ignoring ASCII case:
//! a message keeps its keywords sorted that way and unique, in the spelling it got first.

use std::cmp::Ordering;

use engine::store::{FlagChange, Flags};

/// Keywords as stored: sorted and unique ignoring ASCII case; of spellings that differ only in
/// case, the first one is kept.
pub(crate) fn normalize_keywords<S: AsRef<str>>(
    keywords: impl IntoIterator<Item = S>,
) -> Vec<String> {
    let mut sorted: Vec<String> = keywords
        .into_iter()
        .map(|keyword| keyword.as_ref().to_owned())
        .collect();
    // A stable sort keeps equal spellings in their order, and `dedup_by` keeps the first.
    sorted.sort_by(|a, b| keyword_order(a, b));
    sorted.dedup_by(|later, first| later.eq_ignore_ascii_case(first));
    sorted
}

/// The order of keywords: by their bytes, ignoring ASCII case.
fn keyword_order<'a>(a: &'a str, b: &'a str) -> Ordering {
    let folded = |keyword: &'a str| keyword.bytes().map(|byte| byte.to_ascii_lowercase());
    folded(a).cmp(folded(b))
}

/// Whether two normalized keyword lists hold the same keywords, ignoring case.
fn same_keywords(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

/// Applies `change` to a message's `flags` and (normalized) `keywords`. Returns whether anything
/// changed; a keyword differing only in case from one the message has is no change, and the
/// message keeps its spelling.
pub(crate) fn apply_change(
    flags: &mut Flags,
    keywords: &mut Vec<String>,
    change: &FlagChange,
) -> bool {
    let (new_flags, new_keywords) = match change {
        FlagChange::Add {
            flags: added,
            keywords: more,
        } => (
            *flags | added,
            normalize_keywords(keywords.iter().chain(more)),
        ),
        FlagChange::Remove {
            flags: removed,
            keywords: fewer,
        } => (
            *flags & !removed,
            keywords
                .iter()
                .filter(|kept| !fewer.iter().any(|gone| gone.eq_ignore_ascii_case(kept)))
                .cloned()
                .collect(),
        ),
        FlagChange::Replace {
            flags: replaced,
            keywords: others,
        } => (*replaced, normalize_keywords(others)),
    };
    let keywords_changed = !same_keywords(keywords, &new_keywords);
    if new_flags == *flags && !keywords_changed {
        return false;
    }
    *flags = new_flags;
    if keywords_changed {
        *keywords = new_keywords;
    }
    true
}

#[cfg(test)]
mod tests {
    use engine::store::{FLAG_DELETED, FLAG_SEEN};

    use super::*;

    fn strings(keywords: &[&str]) -> Vec<String> {
        keywords.iter().map(|&keyword| keyword.to_owned()).collect()
    }

    #[test]
    fn keywords_are_sorted_and_unique_ignoring_case() {
        assert_eq!(
            normalize_keywords(["b", "$junk", "A", "$Junk", "B", "a"]),
            ["$junk", "A", "b"]
        );
        assert!(normalize_keywords(Vec::<String>::new()).is_empty());
    }

    #[test]
    fn changes() {
        let mut flags = FLAG_SEEN;
        let mut keywords = strings(&["$Junk", "work"]);

        let add = FlagChange::Add {
            flags: FLAG_SEEN,
            keywords: strings(&["$JUNK", "WORK"]),
        };
        assert!(!apply_change(&mut flags, &mut keywords, &add));
        assert_eq!(keywords, ["$Junk", "work"]);

        let add = FlagChange::Add {
            flags: FLAG_DELETED,
            keywords: strings(&["Later", "$junk"]),
        };
        assert!(apply_change(&mut flags, &mut keywords, &add));
        assert_eq!(flags, FLAG_SEEN | FLAG_DELETED);
        assert_eq!(keywords, ["$Junk", "Later", "work"]);

        let remove = FlagChange::Remove {
            flags: FLAG_SEEN,
            keywords: strings(&["LATER", "absent"]),
        };
        assert!(apply_change(&mut flags, &mut keywords, &remove));
        assert_eq!(flags, FLAG_DELETED);
        assert_eq!(keywords, ["$Junk", "work"]);

        let same = FlagChange::Replace {
            flags: FLAG_DELETED,
            keywords: strings(&["Work", "$junk", "WORK"]),
        };
        assert!(!apply_change(&mut flags, &mut keywords, &same));
        assert_eq!(keywords, ["$Junk", "work"]);

        let replace = FlagChange::Replace {
            flags: 0,
            keywords: Vec::new(),
        };
        assert!(apply_change(&mut flags, &mut keywords, &replace));
        assert_eq!((flags, keywords.len()), (0, 0));
    }
}
