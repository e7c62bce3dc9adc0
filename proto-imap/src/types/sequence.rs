//! Message sets: `sequence-set` (RFC 9051) with `*` and the saved search
//! result `$` (RFC 5182).

use std::num::NonZeroU32;

/// One end of a range: a number or `*`, the largest number in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqNum {
    /// A message sequence number or UID.
    Value(NonZeroU32),
    /// `*`: the largest number in use (the last message, or the highest UID).
    Largest,
}

impl SeqNum {
    /// The number this stands for when the largest one in use is `largest`.
    pub fn resolve(self, largest: u32) -> u32 {
        match self {
            Self::Value(n) => n.get(),
            Self::Largest => largest,
        }
    }
}

/// `a:b` (either order, both ends included) or a single number (`a == b`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeqRange {
    /// First end as written.
    pub from: SeqNum,
    /// Second end as written; equal to `from` for a single number.
    pub to: SeqNum,
}

impl SeqRange {
    /// A range of one number.
    pub fn single(n: SeqNum) -> Self {
        Self { from: n, to: n }
    }

    /// The inclusive bounds, low first, when the largest number in use is
    /// `largest` (`4:2` is `2:4`, RFC 9051 9).
    pub fn bounds(self, largest: u32) -> (u32, u32) {
        let (a, b) = (self.from.resolve(largest), self.to.resolve(largest));
        (a.min(b), a.max(b))
    }
}

/// A non-empty list of ranges; the invariant is kept by [`SeqRanges::new`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SeqRanges(Vec<SeqRange>);

impl SeqRanges {
    /// `None` for an empty list, which has no wire form.
    pub fn new(ranges: Vec<SeqRange>) -> Option<Self> {
        (!ranges.is_empty()).then_some(Self(ranges))
    }

    /// The ranges in the order written.
    pub fn as_slice(&self) -> &[SeqRange] {
        &self.0
    }
}

/// A set of messages as a client writes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SequenceSet {
    /// `$`: the result saved by the last `SEARCH RETURN (SAVE)` (RFC 5182).
    Saved,
    /// Explicit ranges.
    Ranges(SeqRanges),
}

impl SequenceSet {
    /// A set of one number.
    pub fn single(n: NonZeroU32) -> Self {
        Self::Ranges(SeqRanges(vec![SeqRange::single(SeqNum::Value(n))]))
    }

    /// Whether `n` is in the set when the largest number in use is `largest`;
    /// always `false` for `$`, which the session must resolve first.
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        match self {
            Self::Saved => false,
            Self::Ranges(ranges) => ranges.as_slice().iter().any(|r| {
                let (lo, hi) = r.bounds(largest);
                (lo..=hi).contains(&n)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nz(n: u32) -> SeqNum {
        SeqNum::Value(NonZeroU32::new(n).unwrap())
    }

    #[test]
    fn membership_resolves_star_and_reversed_ranges() {
        let set = SequenceSet::Ranges(
            SeqRanges::new(vec![
                SeqRange {
                    from: nz(4),
                    to: nz(2),
                },
                SeqRange::single(SeqNum::Largest),
            ])
            .unwrap(),
        );
        assert!(set.contains(3, 10));
        assert!(set.contains(10, 10));
        assert!(!set.contains(5, 10));
        assert!(!SequenceSet::Saved.contains(1, 1));
        assert!(SeqRanges::new(Vec::new()).is_none());
    }
}
