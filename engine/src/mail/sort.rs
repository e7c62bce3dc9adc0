//! SORT (RFC 5256, RFC 5957 DISPLAYFROM/DISPLAYTO) over summaries.
//!
//! Keys come from [`SortKeys`](super::SortKeys), already case-folded, so comparing is
//! comparing strings. DATE is the sent date, or the internal date when `Date:` is missing
//! or invalid (RFC 5256 2.2). Messages equal on every key keep mailbox order.

use std::cmp::Ordering;
use std::num::NonZeroU32;

use proto_imap::{SortCriterion, SortKey};

use super::summary::Summary;

/// One message to sort or thread.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The number to answer with: the sequence number, or the UID for UID SORT and UID
    /// THREAD. Either way ascending ids are mailbox order, which breaks ties.
    pub id: NonZeroU32,
    /// The message's summary.
    pub summary: &'a Summary,
    /// INTERNALDATE, Unix seconds.
    pub internal_date: i64,
    /// RFC822.SIZE.
    pub size: u64,
}

impl Entry<'_> {
    /// The sent date as SORT and THREAD use it (RFC 5256 2.2).
    pub(super) fn sent(&self) -> i64 {
        self.summary
            .sort
            .sent
            .map_or(self.internal_date, |sent| sent.unix)
    }
}

/// The ids of `entries` ordered by `criteria`.
pub fn sort(entries: &[Entry<'_>], criteria: &[SortCriterion]) -> Vec<NonZeroU32> {
    let mut order: Vec<&Entry<'_>> = entries.iter().collect();
    order.sort_by(|a, b| compare(a, b, criteria).then(a.id.cmp(&b.id)));
    order.into_iter().map(|e| e.id).collect()
}

fn compare(a: &Entry<'_>, b: &Entry<'_>, criteria: &[SortCriterion]) -> Ordering {
    let (ka, kb) = (&a.summary.sort, &b.summary.sort);
    for criterion in criteria {
        let ordering = match criterion.key {
            SortKey::Arrival => a.internal_date.cmp(&b.internal_date),
            SortKey::Date => a.sent().cmp(&b.sent()),
            SortKey::Size => a.size.cmp(&b.size),
            SortKey::Subject => ka.subject.cmp(&kb.subject),
            SortKey::From => ka.from.cmp(&kb.from),
            SortKey::To => ka.to.cmp(&kb.to),
            SortKey::Cc => ka.cc.cmp(&kb.cc),
            SortKey::DisplayFrom => ka.display_from.cmp(&kb.display_from),
            SortKey::DisplayTo => ka.display_to.cmp(&kb.display_to),
        };
        let ordering = if criterion.reverse {
            ordering.reverse()
        } else {
            ordering
        };
        if ordering.is_ne() {
            return ordering;
        }
    }
    Ordering::Equal
}
