//! Literal announcements, as the framer sees them.

/// A literal announced at the end of a line.
#[derive(Debug, Clone, Copy)]
pub(super) struct Announced {
    /// Saturated at `u64::MAX` for absurd digit strings.
    pub(super) size: u64,
    pub(super) sync: bool,
}

/// The literal announced at the end of a line (without its line ending):
/// `{digits}` or `{digits+}`. Only the end matters; whether the
/// announcement is well placed is the parser's business, and a misplaced one
/// still has its data consumed so that it can never be run as a command.
pub(super) fn announced_literal(line: &[u8]) -> Option<Announced> {
    let inner = line.strip_suffix(b"}")?;
    let (inner, sync) = match inner.strip_suffix(b"+") {
        Some(inner) => (inner, false),
        None => (inner, true),
    };
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = inner.get(open..)?.strip_prefix(b"{")?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // All digits, so `None` here can only mean overflow.
    let size = digits
        .iter()
        .try_fold(0u64, |n, &d| {
            let digit = char::from(d).to_digit(10)?;
            n.checked_mul(10)?.checked_add(u64::from(digit))
        })
        .unwrap_or(u64::MAX);
    Some(Announced { size, sync })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_announcements() {
        let a = announced_literal(b"a LOGIN {5}").unwrap();
        assert_eq!((a.size, a.sync), (5, true));
        let a = announced_literal(b"a LOGIN ~{12+}").unwrap();
        assert_eq!((a.size, a.sync), (12, false));
        assert_eq!(
            announced_literal(b"{99999999999999999999999}")
                .unwrap()
                .size,
            u64::MAX
        );
        assert!(announced_literal(b"a {}").is_none());
        assert!(announced_literal(b"a {1a}").is_none());
        assert!(announced_literal(b"a 5}").is_none());
        assert!(announced_literal(b"a {5} ").is_none());
    }
}
