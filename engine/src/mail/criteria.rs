//! Whether one message matches a SEARCH key tree (RFC 3501 6.4.4, RFC 9051, RFC 5032
//! OLDER/YOUNGER, RFC 7162 MODSEQ, RFC 5182 `$`).
//!
//! Strings match as case-insensitive substrings of decoded text: SUBJECT, FROM, TO, CC and
//! BCC look at RFC 2047-decoded header values kept in the [`Summary`]; HEADER at any
//! top-level field; BODY at the text of every `text/*` part decoded from its transfer
//! encoding and charset; TEXT at both the top-level header fields and the body text. Only
//! HEADER, BODY and TEXT read the message, through [`LazyContent`], once per message.
//! Charsets of search strings are the session's business: keys arrive as UTF-8.
//!
//! Dates:
//! - BEFORE, ON, SINCE compare the UTC day of the internal date (we keep no timezone for
//!   it; RFC 3501 says to disregard time and timezone).
//! - SENTBEFORE, SENTON, SENTSINCE compare the day written in the `Date:` header, in the
//!   sender's own timezone; a message without a valid `Date:` uses its internal date.
//! - OLDER n: the internal date is more than n seconds before `now`; YOUNGER n: at most.
//!
//! RECENT, NEW and OLD ask whether the message is `\Recent` in the searching session.

use std::borrow::Cow;
use std::cell::{Cell, OnceCell};

use proto_imap::{Date, Intervals, SearchKey, SequenceSet};

use super::decoded::SearchText;
use super::parts::TransferEncoding;
use super::summary::Summary;
use super::text::{contains_folded, day_of, days_from_civil, fold};
use super::{search_filter, search_index};
use crate::store::{
    FLAG_ANSWERED, FLAG_DELETED, FLAG_DRAFT, FLAG_FLAGGED, FLAG_SEEN, Flags, Message,
};

/// What a search knows about the mailbox.
#[derive(Debug, Clone, Copy)]
pub struct SearchScope<'a> {
    /// Messages in the mailbox: `*` of a sequence set.
    pub messages: u32,
    /// The highest UID in the mailbox (0 when empty): `*` of a UID set.
    pub max_uid: u32,
    /// UIDs of the saved search result `$` (RFC 5182), ascending; empty when none is saved.
    pub saved: &'a [u32],
    /// UIDs that are `\Recent` in the session, as ascending inclusive ranges.
    pub recent: &'a [(u32, u32)],
    /// The current time in Unix seconds, for OLDER and YOUNGER.
    pub now: i64,
    /// The keys' sequence sets, merged once for the whole search.
    pub sets: &'a ResolvedSets,
}

/// The sequence sets of a search's keys, each merged into disjoint intervals once, before
/// the messages are looked at: a set written as thousands of ranges costs each message one
/// binary search, not a pass over the ranges.
#[derive(Debug, Default)]
pub struct ResolvedSets(Vec<(usize, Intervals)>);

impl ResolvedSets {
    /// None resolved: each set is merged where it is used.
    pub const NONE: ResolvedSets = ResolvedSets(Vec::new());

    /// The sets of `keys`, where `*` is `messages` (sequence numbers) or `max_uid`.
    pub fn of(keys: &[SearchKey<'_>], messages: u32, max_uid: u32) -> Self {
        let mut sets = ResolvedSets::default();
        for key in keys {
            sets.collect(key, messages, max_uid);
        }
        sets
    }

    fn collect(&mut self, key: &SearchKey<'_>, messages: u32, max_uid: u32) {
        match key {
            SearchKey::Uid(set) => self.0.push((address(set), set.intervals(max_uid))),
            SearchKey::SequenceSet(set) => self.0.push((address(set), set.intervals(messages))),
            SearchKey::Not(key) => self.collect(key, messages, max_uid),
            SearchKey::Or(a, b) => {
                self.collect(a, messages, max_uid);
                self.collect(b, messages, max_uid);
            }
            SearchKey::And(keys) => {
                for key in keys {
                    self.collect(key, messages, max_uid);
                }
            }
            _ => {}
        }
    }

    fn get(&self, set: &SequenceSet) -> Option<&Intervals> {
        let at = address(set);
        self.0.iter().find(|(a, _)| *a == at).map(|(_, i)| i)
    }
}

/// Where a set of the search's keys lives: the keys outlive the search, so it names the set.
fn address(set: &SequenceSet) -> usize {
    std::ptr::from_ref(set) as usize
}

/// Reads a message's bytes; `None` if they cannot be read.
type Load<'a> = Box<dyn FnOnce() -> Option<Cow<'a, [u8]>> + 'a>;

/// Reads a message's stored search filter; `None` if it has none.
type LoadFilter<'a> = Box<dyn FnOnce() -> Option<Vec<u8>> + 'a>;

/// The message's bytes, read only if a key needs them and its search filter cannot rule
/// the key out, and decoded once.
pub struct LazyContent<'a> {
    load: Cell<Option<Load<'a>>>,
    bytes: OnceCell<Option<Cow<'a, [u8]>>>,
    text: OnceCell<Option<SearchText>>,
    load_filter: Cell<Option<LoadFilter<'a>>>,
    filter: OnceCell<Option<Vec<u8>>>,
}

impl<'a> LazyContent<'a> {
    /// Content that `load` reads when first needed; `None` from it (the body could not be
    /// read) makes HEADER, BODY and TEXT keys fail to match.
    pub fn new(load: impl FnOnce() -> Option<Cow<'a, [u8]>> + 'a) -> Self {
        LazyContent {
            load: Cell::new(Some(Box::new(load))),
            bytes: OnceCell::new(),
            text: OnceCell::new(),
            load_filter: Cell::new(None),
            filter: OnceCell::new(),
        }
    }

    /// Consults the message's search filter, read by `load` when a key first asks, before
    /// reading the message.
    pub fn with_filter(self, load: impl FnOnce() -> Option<Vec<u8>> + 'a) -> Self {
        self.load_filter.set(Some(Box::new(load)));
        self
    }

    /// A search filter for a message that had none and was read to answer a key: the
    /// search keeps it, so the next one need not read the message.
    pub fn made_filter(&self) -> Option<Vec<u8>> {
        let had_none = matches!(self.filter.get(), Some(None));
        if !had_none || self.bytes.get().is_none() {
            return None;
        }
        self.text().map(search_filter::of_text)
    }

    /// Whether the filter, if the message has one, lets a string through.
    fn passes_filter(&self, needle: &[u8]) -> bool {
        let filter = self
            .filter
            .get_or_init(|| self.load_filter.take().and_then(|load| load()));
        filter
            .as_deref()
            .is_none_or(|filter| filter_admits(filter, needle))
    }

    fn bytes(&self) -> Option<&[u8]> {
        self.bytes
            .get_or_init(|| self.load.take().and_then(|load| load()))
            .as_deref()
    }

    /// The decoded text; `None` when the message could not be read.
    fn text(&self) -> Option<&SearchText> {
        let text = self
            .text
            .get_or_init(|| self.bytes().map(SearchText::of_message));
        text.as_ref()
    }

    /// Whether BODY or TEXT `needle` can match at all, decided without decoding when that
    /// is safe: for an all-ASCII message with no encoded parts or words, decoded text is the
    /// raw text, so an ASCII needle absent from the raw bytes (ignoring ASCII case) is absent.
    fn may_contain(&self, summary: &Summary, needle: &[u8]) -> bool {
        if !self.passes_filter(needle) {
            return false;
        }
        let Some(bytes) = self.bytes() else {
            return false;
        };
        let plain = needle.is_ascii()
            && bytes.is_ascii()
            && !summary.parts.iter().any(|p| {
                matches!(
                    p.encoding,
                    TransferEncoding::Base64 | TransferEncoding::QuotedPrintable
                )
            })
            && !bytes.windows(2).any(|w| w == b"=?");
        !plain
            || bytes
                .windows(needle.len().max(1))
                .any(|w| w.eq_ignore_ascii_case(needle))
    }
}

/// One message as SEARCH sees it.
pub struct MessageFacts<'a> {
    /// Its sequence number.
    pub seq: u32,
    /// Its store record: UID, flags, keywords, internal date, size, modseq.
    pub message: &'a Message,
    /// Its summary.
    pub summary: &'a Summary,
    /// Its bytes, if a key needs them.
    pub content: LazyContent<'a>,
    /// The mailbox around it.
    pub scope: SearchScope<'a>,
}

/// Whether `uid` is in one of the ascending, disjoint, inclusive `ranges`.
pub fn in_ranges(uid: u32, ranges: &[(u32, u32)]) -> bool {
    let index = ranges.partition_point(|&(first, _)| first <= uid);
    index
        .checked_sub(1)
        .and_then(|i| ranges.get(i))
        .is_some_and(|&(_, last)| uid <= last)
}

/// Whether `msg` matches `key`.
pub fn matches(key: &SearchKey<'_>, msg: &MessageFacts<'_>) -> bool {
    let m = msg.message;
    let flag = |f: Flags| m.flags & f != 0;
    let summary = msg.summary;
    let internal_day = || day_of(m.internal_date, 0);
    let sent_day = || {
        summary.sort.sent.map_or_else(internal_day, |s| {
            day_of(s.unix, i64::from(s.offset_seconds))
        })
    };
    match key {
        SearchKey::All => true,
        SearchKey::Recent => in_ranges(m.uid, msg.scope.recent),
        SearchKey::New => in_ranges(m.uid, msg.scope.recent) && !flag(FLAG_SEEN),
        SearchKey::Old => !in_ranges(m.uid, msg.scope.recent),
        SearchKey::Answered => flag(FLAG_ANSWERED),
        SearchKey::Deleted => flag(FLAG_DELETED),
        SearchKey::Draft => flag(FLAG_DRAFT),
        SearchKey::Flagged => flag(FLAG_FLAGGED),
        SearchKey::Seen => flag(FLAG_SEEN),
        SearchKey::Unanswered => !flag(FLAG_ANSWERED),
        SearchKey::Undeleted => !flag(FLAG_DELETED),
        SearchKey::Undraft => !flag(FLAG_DRAFT),
        SearchKey::Unflagged => !flag(FLAG_FLAGGED),
        SearchKey::Unseen => !flag(FLAG_SEEN),
        SearchKey::Keyword(k) => has_keyword(m, k.as_str()),
        SearchKey::Unkeyword(k) => !has_keyword(m, k.as_str()),
        SearchKey::Bcc(s) => contains_folded(&summary.search.bcc, s),
        SearchKey::Cc(s) => contains_folded(&summary.search.cc, s),
        SearchKey::From(s) => contains_folded(&summary.search.from, s),
        SearchKey::To(s) => contains_folded(&summary.search.to, s),
        SearchKey::Subject(s) => contains_folded(&summary.search.subject, s),
        SearchKey::Header(name, s) => {
            msg.content.passes_filter(s)
                && msg.content.text().is_some_and(|text| {
                    let name = String::from_utf8_lossy(name);
                    text.header.iter().any(|(field, value)| {
                        field.as_str().eq_ignore_ascii_case(&name) && contains_folded(value, s)
                    })
                })
        }
        SearchKey::Body(s) => {
            msg.content.may_contain(summary, s)
                && msg
                    .content
                    .text()
                    .is_some_and(|text| contains_folded(&text.body, s))
        }
        SearchKey::Text(s) => {
            msg.content.may_contain(summary, s)
                && msg.content.text().is_some_and(|text| {
                    text.header
                        .iter()
                        .any(|(_, value)| contains_folded(value, s))
                        || contains_folded(&text.body, s)
                })
        }
        SearchKey::Larger(n) => m.size > *n,
        SearchKey::Smaller(n) => m.size < *n,
        SearchKey::Before(d) => internal_day() < day(*d),
        SearchKey::On(d) => internal_day() == day(*d),
        SearchKey::Since(d) => internal_day() >= day(*d),
        SearchKey::SentBefore(d) => sent_day() < day(*d),
        SearchKey::SentOn(d) => sent_day() == day(*d),
        SearchKey::SentSince(d) => sent_day() >= day(*d),
        SearchKey::Older(secs) => {
            msg.scope.now.saturating_sub(m.internal_date) > i64::from(secs.get())
        }
        SearchKey::Younger(secs) => {
            msg.scope.now.saturating_sub(m.internal_date) <= i64::from(secs.get())
        }
        SearchKey::ModSeq { modseq, .. } => m.modseq >= *modseq,
        SearchKey::Uid(set) => in_set(set, m.uid, msg.scope.max_uid, msg),
        SearchKey::SequenceSet(set) => in_set(set, msg.seq, msg.scope.messages, msg),
        SearchKey::Not(key) => !matches(key, msg),
        SearchKey::Or(a, b) => matches(a, msg) || matches(b, msg),
        SearchKey::And(keys) => keys.iter().all(|k| matches(k, msg)),
    }
}

/// Whether any key in the tree reads the message content, so the caller knows whether
/// a [`LazyContent`] is worth setting up.
/// Whether a message whose search filter is `filter` cannot match all of `keys`: one of them
/// is a HEADER, BODY or TEXT string the filter rules out. Decided before the message's
/// summary or bytes are read.
pub fn ruled_out_by_filter(keys: &[SearchKey<'_>], filter: &[u8]) -> bool {
    keys.iter().any(|key| match key {
        SearchKey::Header(_, s) | SearchKey::Body(s) | SearchKey::Text(s) => {
            !filter_admits(filter, s)
        }
        SearchKey::And(keys) => ruled_out_by_filter(keys, filter),
        _ => false,
    })
}

/// The rows of a mailbox's [search index](super::search_index) that rule messages out for
/// these keys, ascending: those of the strings every match must hold (as
/// [`ruled_out_by_filter`] looks at them), at most [`search_index::MOST_ROWS`]. Empty when
/// the index cannot rule anything out.
pub fn index_rows(keys: &[SearchKey<'_>]) -> Vec<u16> {
    fn collect(keys: &[SearchKey<'_>], rows: &mut Vec<u16>) {
        for key in keys {
            match key {
                SearchKey::Header(_, s) | SearchKey::Body(s) | SearchKey::Text(s) => {
                    let needle = fold(&String::from_utf8_lossy(s));
                    rows.extend(search_filter::signature_bits(needle.as_bytes()));
                }
                SearchKey::And(keys) => collect(keys, rows),
                _ => {}
            }
        }
    }
    let mut rows = Vec::new();
    collect(keys, &mut rows);
    rows.sort_unstable();
    rows.dedup();
    // Any of them rule out what lacks the strings; past a few dozen, more rule out hardly
    // any more, and a long string would read a block's every row.
    rows.truncate(search_index::MOST_ROWS);
    rows
}

/// Whether a search string (as the client sent it) may be in text with this filter.
fn filter_admits(filter: &[u8], needle: &[u8]) -> bool {
    search_filter::may_contain(filter, fold(&String::from_utf8_lossy(needle)).as_bytes())
}

pub fn needs_content(key: &SearchKey<'_>) -> bool {
    match key {
        SearchKey::Header(..) | SearchKey::Body(_) | SearchKey::Text(_) => true,
        SearchKey::Not(key) => needs_content(key),
        SearchKey::Or(a, b) => needs_content(a) || needs_content(b),
        SearchKey::And(keys) => keys.iter().any(needs_content),
        _ => false,
    }
}

fn has_keyword(message: &Message, keyword: &str) -> bool {
    message
        .keywords
        .iter()
        .any(|k| k.eq_ignore_ascii_case(keyword))
}

/// `n` in `set`, where `*` is `largest` and `$` the saved UIDs (which name the message
/// whichever numbering the set uses).
fn in_set(set: &SequenceSet, n: u32, largest: u32, msg: &MessageFacts<'_>) -> bool {
    match set {
        SequenceSet::Saved => msg.scope.saved.binary_search(&msg.message.uid).is_ok(),
        set => match msg.scope.sets.get(set) {
            Some(intervals) => intervals.contains(n),
            None => set.intervals(largest).contains(n),
        },
    }
}

fn day(date: Date) -> i64 {
    days_from_civil(i64::from(date.year()), date.month(), date.day())
}
