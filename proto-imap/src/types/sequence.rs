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

    /// The numbers named when the largest number in use is `largest`, as disjoint
    /// intervals: `1:*,1:*,...` is one interval, however often it is written.
    pub fn intervals(&self, largest: u32) -> Intervals {
        let mut bounds: Vec<(u32, u32)> = self.0.iter().map(|r| r.bounds(largest)).collect();
        bounds.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(bounds.len());
        for (lo, hi) in bounds {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        Intervals(merged)
    }
}

/// Disjoint, ascending, non-adjacent inclusive intervals of numbers: a set as the server
/// works with it, whose size does not depend on how the client wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Intervals(Vec<(u32, u32)>);

impl Intervals {
    /// Whether `n` is in one of the intervals (a binary search).
    pub fn contains(&self, n: u32) -> bool {
        let after = self.0.partition_point(|&(lo, _)| lo <= n);
        after
            .checked_sub(1)
            .and_then(|i| self.0.get(i))
            .is_some_and(|&(_, hi)| n <= hi)
    }

    /// The intervals, ascending.
    pub fn as_slice(&self) -> &[(u32, u32)] {
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

    /// The numbers named when the largest number in use is `largest`, as disjoint
    /// intervals; none for `$`, which the session must resolve first.
    pub fn intervals(&self, largest: u32) -> Intervals {
        match self {
            Self::Saved => Intervals::default(),
            Self::Ranges(ranges) => ranges.intervals(largest),
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    fn nz(n: u32) -> SeqNum {
        SeqNum::Value(NonZeroU32::new(n).unwrap())
    }

    fn ranges(text: &[(u32, u32)]) -> SequenceSet {
        let ranges = text
            .iter()
            .map(|&(a, b)| SeqRange {
                from: nz(a),
                to: nz(b),
            })
            .collect();
        SequenceSet::Ranges(SeqRanges::new(ranges).unwrap())
    }

    #[test]
    fn repeated_and_overlapping_ranges_merge() {
        let set = ranges(&[(5, 9), (1, 3), (4, 4), (20, 30), (8, 12), (25, 22)]);
        assert_eq!(set.intervals(100).as_slice(), [(1, 12), (20, 30)]);
        let many = SequenceSet::Ranges(
            SeqRanges::new(vec![
                SeqRange {
                    from: nz(1),
                    to: SeqNum::Largest,
                };
                10_000
            ])
            .unwrap(),
        );
        assert_eq!(many.intervals(7).as_slice(), [(1, 7)]);
    }

    proptest::proptest! {
        #[test]
        fn intervals_hold_exactly_the_numbers_named(
            pairs in proptest::collection::vec((1u32..60, 1u32..60), 1..20),
            largest in 1u32..60,
        ) {
            let set = ranges(&pairs);
            let intervals = set.intervals(largest);
            for n in 0..70 {
                let named = pairs.iter().any(|&(a, b)| (a.min(b)..=a.max(b)).contains(&n));
                proptest::prop_assert_eq!(intervals.contains(n), named, "{}", n);
            }
            for pair in intervals.as_slice().windows(2) {
                proptest::prop_assert!(pair[0].1.saturating_add(1) < pair[1].0);
            }
        }
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
        let intervals = set.intervals(10);
        assert!(intervals.contains(3));
        assert!(intervals.contains(10));
        assert!(!intervals.contains(5));
        assert!(!SequenceSet::Saved.intervals(1).contains(1));
        assert!(SeqRanges::new(Vec::new()).is_none());
    }
}
