//! Base subject extraction (RFC 5256 2.1), which SORT SUBJECT and both THREAD algorithms
//! group by.
//!
//! ```text
//! subj-refwd  = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
//! subj-blob   = "[" *BLOBCHAR "]" *WSP
//! subj-leader = (*subj-blob subj-refwd) / WSP
//! subj-trailer = "(fwd)" / WSP
//! subj-fwd    = "[fwd:" subject "]"
//! ```
//!
//! Input is the subject already RFC 2047-decoded (mail-parser does that). The result is
//! case-folded for comparison, with whether anything removed marked a reply or forward,
//! which THREAD=REFERENCES needs when merging threads by subject.

use super::text::fold;

/// The folded base subject, and whether the subject was a reply or forward.
pub(super) fn base_subject(subject: &str) -> (String, bool) {
    // (1) Tabs and line breaks become spaces, runs of spaces one space.
    let mut text = String::with_capacity(subject.len());
    for c in subject.chars() {
        let c = if matches!(c, '\t' | '\r' | '\n') {
            ' '
        } else {
            c
        };
        if !(c == ' ' && text.ends_with(' ')) {
            text.push(c);
        }
    }
    let mut text = text.as_str();
    let mut reply = false;
    loop {
        // (2) Trailers: "(fwd)" and blanks.
        loop {
            if let Some(rest) = text.strip_suffix(' ') {
                text = rest;
            } else if let Some(rest) = strip_suffix_ci(text, "(fwd)") {
                text = rest;
                reply = true;
            } else {
                break;
            }
        }
        // (3)-(5) Leaders, then a leading blob when something follows it, until neither.
        loop {
            let mut changed = false;
            while let Some((len, refwd)) = leader(text) {
                text = text.get(len..).unwrap_or_default();
                reply |= refwd;
                changed = true;
            }
            if let Some(len) = blob(text) {
                let rest = text.get(len..).unwrap_or_default();
                if !rest.trim_start_matches(' ').is_empty() {
                    text = rest;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        // (6) "[fwd: subject]": unwrap and start again.
        match strip_prefix_ci(text, "[fwd:").and_then(|rest| rest.strip_suffix(']')) {
            Some(inner) => {
                text = inner;
                reply = true;
            }
            None => break,
        }
    }
    (fold(text), reply)
}

/// Length of a `subj-leader` at the start, and whether it was a `subj-refwd`.
fn leader(text: &str) -> Option<(usize, bool)> {
    if text.starts_with(' ') {
        return Some((1, false));
    }
    let mut at = 0;
    while let Some(len) = text.get(at..).and_then(blob) {
        at += len;
    }
    let rest = text.get(at..)?;
    let after = strip_prefix_ci(rest, "re")
        .or_else(|| strip_prefix_ci(rest, "fwd"))
        .or_else(|| strip_prefix_ci(rest, "fw"))?;
    let after = after.trim_start_matches(' ');
    let after = match blob(after) {
        Some(len) => after.get(len..)?,
        None => after,
    };
    let after = after.strip_prefix(':')?;
    Some((text.len() - after.len(), true))
}

/// Length of a `subj-blob` (`[...]` and the blanks after it) at the start.
fn blob(text: &str) -> Option<usize> {
    let inner = text.strip_prefix('[')?;
    let close = inner.find(['[', ']'])?;
    let after = inner.get(close..)?.strip_prefix(']')?;
    Some(text.len() - after.trim_start_matches(' ').len())
}

fn strip_prefix_ci<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

fn strip_suffix_ci<'t>(text: &'t str, suffix: &str) -> Option<&'t str> {
    let cut = text.len().checked_sub(suffix.len())?;
    let tail = text.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix)
        .then(|| text.get(..cut))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(subject: &str) -> String {
        base_subject(subject).0
    }

    #[test]
    fn rfc5256_examples() {
        assert_eq!(base("Re: test"), "TEST");
        assert_eq!(base("re: re: test"), "TEST");
        assert_eq!(base("Fwd: test"), "TEST");
        assert_eq!(base("FW: test"), "TEST");
        assert_eq!(base("test (fwd)"), "TEST");
        assert_eq!(base("test (fwd) (FWD)  "), "TEST");
        assert_eq!(base("[fwd: test]"), "TEST");
        assert_eq!(base("[Fwd: Re: [list] test (fwd)]"), "TEST");
        assert_eq!(base("[list] Re: test"), "TEST");
        assert_eq!(base("Re [list]: test"), "TEST");
        assert_eq!(base("Re: [list] Re: test"), "TEST");
        assert_eq!(base("[list] test"), "TEST");
        assert_eq!(base("  a\t\r\n  b  "), "A B");
    }

    #[test]
    fn blobs_stay_when_nothing_would_remain() {
        assert_eq!(base("[list]"), "[LIST]");
        assert_eq!(base("Re: [list]"), "[LIST]");
        assert_eq!(base("[a] [b]"), "[B]");
    }

    #[test]
    fn words_that_only_look_like_prefixes_stay() {
        assert_eq!(base("Reply needed"), "REPLY NEEDED");
        assert_eq!(base("Re test"), "RE TEST");
        assert_eq!(base("Fwd"), "FWD");
        assert_eq!(base("Ré: test"), "RÉ: TEST");
        assert_eq!(base(""), "");
        assert_eq!(base("[unclosed test"), "[UNCLOSED TEST");
    }

    #[test]
    fn marks_replies_and_forwards() {
        assert!(!base_subject("test").1);
        assert!(!base_subject("[list] test").1);
        assert!(base_subject("Re: test").1);
        assert!(base_subject("test (fwd)").1);
        assert!(base_subject("[fwd: test]").1);
    }
}
