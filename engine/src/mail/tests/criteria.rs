//! SEARCH keys against whole messages.

use std::borrow::Cow;
use std::cell::Cell;
use std::num::NonZeroU32;

use proto_imap::{Atom, Date, SearchKey, SeqNum, SeqRange, SeqRanges, SequenceSet};

use super::{FORWARD, MIXED, crlf};
use crate::mail::{
    LazyContent, MessageFacts, ResolvedSets, SearchScope, Summary, matches, needs_content,
    ruled_out_by_filter, search_filter,
};
use crate::store::{BlobId, FLAG_FLAGGED, FLAG_SEEN, Message};

/// 2025-04-16 06:30:00 UTC: the MIXED message's Date, which its sender wrote as
/// 2025-04-15 23:30 -0700.
const ARRIVED: i64 = 1_744_785_000;

fn record(size: usize) -> Message {
    Message {
        uid: 40,
        blob: BlobId([0; 32]),
        size: size as u64,
        internal_date: ARRIVED,
        flags: FLAG_SEEN | FLAG_FLAGGED,
        keywords: vec!["$Forwarded".into()],
        modseq: 7,
    }
}

const SCOPE: SearchScope<'static> = SearchScope {
    messages: 12,
    max_uid: 50,
    saved: &[3, 40],
    recent: &[(1, 39), (41, 60)],
    now: ARRIVED + 3600,
    sets: &ResolvedSets::NONE,
};

/// Runs `check` with the facts of `text`, counting how often its bytes were read.
fn with_facts(text: &str, check: impl FnOnce(&MessageFacts<'_>, &Cell<u32>)) {
    with_stored_filter(text, None, check);
}

/// [`with_facts`] for a message whose stored search filter is `filter`.
fn with_stored_filter(
    text: &str,
    filter: Option<Vec<u8>>,
    check: impl FnOnce(&MessageFacts<'_>, &Cell<u32>),
) {
    let bytes = crlf(text);
    let summary = Summary::derive(&bytes);
    let message = record(bytes.len());
    let reads = Cell::new(0);
    let facts = MessageFacts {
        seq: 5,
        message: &message,
        summary: &summary,
        content: LazyContent::new(|| {
            reads.set(reads.get() + 1);
            Some(Cow::Borrowed(&bytes[..]))
        })
        .with_filter(|| filter),
        scope: SCOPE,
    };
    check(&facts, &reads);
}

fn s(text: &'static str) -> Cow<'static, [u8]> {
    Cow::Borrowed(text.as_bytes())
}

fn date(year: u16, month: u8, day: u8) -> Date {
    Date::new(year, month, day).expect("a valid date")
}

fn set(from: SeqNum, to: SeqNum) -> SequenceSet {
    SequenceSet::Ranges(SeqRanges::new(vec![SeqRange { from, to }]).expect("one range"))
}

fn n(value: u32) -> SeqNum {
    SeqNum::Value(NonZeroU32::new(value).expect("non-zero"))
}

/// Asserts that every key of `yes` matches and none of `no` does.
fn check(m: &MessageFacts<'_>, yes: &[SearchKey<'_>], no: &[SearchKey<'_>]) {
    for key in yes {
        assert!(matches(key, m), "{key:?}");
    }
    for key in no {
        assert!(!matches(key, m), "{key:?}");
    }
}

fn atom(text: &'static str) -> Atom<'static> {
    Atom::new(text).expect("an atom")
}

#[test]
fn flags_and_keywords() {
    with_facts(MIXED, |m, _| {
        let yes = [
            SearchKey::All,
            SearchKey::Seen,
            SearchKey::Flagged,
            SearchKey::Unanswered,
            SearchKey::Undeleted,
            SearchKey::Undraft,
            SearchKey::Old,
            SearchKey::Keyword(atom("$forwarded")),
            SearchKey::Unkeyword(atom("$Junk")),
        ];
        let no = [
            SearchKey::Unseen,
            SearchKey::Unflagged,
            SearchKey::Answered,
            SearchKey::Deleted,
            SearchKey::Draft,
            SearchKey::New,
            SearchKey::Recent,
            SearchKey::Keyword(atom("$Junk")),
            SearchKey::Unkeyword(atom("$Forwarded")),
        ];
        check(m, &yes, &no);
    });
}

#[test]
fn recent_new_and_old_ask_the_session() {
    with_facts(MIXED, |m, _| {
        let recent = MessageFacts {
            seq: m.seq,
            message: m.message,
            summary: m.summary,
            content: LazyContent::new(|| None),
            scope: SearchScope {
                recent: &[(3, 3), (38, 45)],
                ..SCOPE
            },
        };
        check(
            &recent,
            &[SearchKey::Recent],
            &[SearchKey::Old, SearchKey::New],
        );
        let unseen = Message {
            flags: 0,
            ..m.message.clone()
        };
        let recent_unseen = MessageFacts {
            message: &unseen,
            content: LazyContent::new(|| None),
            ..recent
        };
        check(
            &recent_unseen,
            &[SearchKey::Recent, SearchKey::New],
            &[SearchKey::Old],
        );
    });
}

#[test]
fn address_and_subject_keys_match_decoded_text_without_reading_the_message() {
    with_facts(MIXED, |m, reads| {
        let yes = [
            SearchKey::From(s("jane@EXAMPLE")),
            SearchKey::From(s("doe, jane")),
            SearchKey::To(s("jörg müller")),
            SearchKey::To(s("BOB@")),
            SearchKey::Cc(s("carol")),
            SearchKey::Subject(s("grüße from")),
            SearchKey::Subject(s("GRÜSSE")),
            SearchKey::Subject(s("")),
        ];
        let no = [
            SearchKey::Bcc(s("jane")),
            SearchKey::Subject(s("=?UTF-8?")),
            SearchKey::From(s("bob")),
        ];
        check(m, &yes, &no);
        assert_eq!(reads.get(), 0);
    });
}

#[test]
fn header_body_and_text_read_the_message_once() {
    with_facts(MIXED, |m, reads| {
        let yes = [
            SearchKey::Header(s("message-id"), s("m1@example")),
            SearchKey::Header(s("Cc"), s("")),
            SearchKey::Header(s("to"), s("Jörg")),
            SearchKey::Body(s("grüße aus berlin")),
            SearchKey::Body(s("umbrochen wird")),
            SearchKey::Text(s("doe, jane")),
            SearchKey::Text(s("berlin")),
        ];
        let no = [
            SearchKey::Header(s("X-Missing"), s("")),
            SearchKey::Header(s("Subject"), s("berlin")),
            SearchKey::Body(s("Doe, Jane")),
            SearchKey::Body(s("Catalog")),
            SearchKey::Text(s("nowhere")),
        ];
        check(m, &yes, &no);
        assert_eq!(reads.get(), 1);
    });
    with_facts(FORWARD, |m, _| {
        assert!(matches(&SearchKey::Body(s("lunch at noon")), m));
        assert!(matches(&SearchKey::Text(s("See below")), m));
    });
}

#[test]
fn a_search_filter_rules_strings_out_without_reading_the_message() {
    let filter = search_filter(&crlf(MIXED));
    let found = [
        SearchKey::Header(s("to"), s("Jörg")),
        SearchKey::Body(s("grüße aus berlin")),
        SearchKey::Text(s("doe, jane")),
        SearchKey::Text(s("GRÜSSE")),
    ];
    with_stored_filter(MIXED, Some(filter.clone()), |m, reads| {
        for key in [
            SearchKey::Text(s("nowhere")),
            SearchKey::Body(s("Catalog")),
            SearchKey::Header(s("Subject"), s("zebra")),
        ] {
            assert!(!matches(&key, m), "{key:?}");
        }
        assert_eq!(reads.get(), 0);
        for key in &found {
            assert!(matches(key, m), "{key:?}");
        }
        assert_eq!(reads.get(), 1);
        // It had one: nothing to keep.
        assert_eq!(m.content.made_filter(), None);
    });
    // Before anything is read: a conjunction with a string the filter rules out.
    let nowhere = SearchKey::Text(s("nowhere"));
    assert!(ruled_out_by_filter(
        &[SearchKey::Seen, nowhere.clone()],
        &filter
    ));
    assert!(ruled_out_by_filter(
        &[SearchKey::And(vec![SearchKey::Body(s("zebra"))])],
        &filter
    ));
    assert!(!ruled_out_by_filter(&found, &filter));
    assert!(!ruled_out_by_filter(
        &[SearchKey::Or(Box::new(nowhere), Box::new(SearchKey::Seen))],
        &filter
    ));
    // A message without one is read, and the search makes the filter delivery would have.
    with_stored_filter(MIXED, None, |m, reads| {
        assert!(!matches(&SearchKey::Text(s("nowhere")), m));
        assert_eq!(reads.get(), 1);
        assert_eq!(m.content.made_filter(), Some(filter));
    });
    // A search that did not read the message has nothing to keep.
    with_stored_filter(MIXED, None, |m, _| {
        assert!(matches(&SearchKey::Seen, m));
        assert_eq!(m.content.made_filter(), None);
    });
}

#[test]
fn dates() {
    with_facts(MIXED, |m, _| {
        // The internal date's UTC day is the 16th; the sender's day is the 15th.
        let yes = [
            SearchKey::On(date(2025, 4, 16)),
            SearchKey::Since(date(2025, 4, 16)),
            SearchKey::Before(date(2025, 4, 17)),
            SearchKey::SentOn(date(2025, 4, 15)),
            SearchKey::SentBefore(date(2025, 4, 16)),
            SearchKey::SentSince(date(2025, 4, 15)),
            SearchKey::Younger(NonZeroU32::new(3600).expect("non-zero")),
            SearchKey::Older(NonZeroU32::new(3599).expect("non-zero")),
        ];
        let no = [
            SearchKey::On(date(2025, 4, 15)),
            SearchKey::Before(date(2025, 4, 16)),
            SearchKey::Since(date(2025, 4, 17)),
            SearchKey::SentOn(date(2025, 4, 16)),
            SearchKey::SentSince(date(2025, 4, 16)),
            SearchKey::SentBefore(date(2025, 4, 15)),
            SearchKey::Younger(NonZeroU32::new(3599).expect("non-zero")),
            SearchKey::Older(NonZeroU32::new(3600).expect("non-zero")),
        ];
        check(m, &yes, &no);
    });
    // Without a Date header, SENT* use the internal date.
    with_facts("Subject: undated\n\nx\n", |m, _| {
        assert!(matches(&SearchKey::SentOn(date(2025, 4, 16)), m));
    });
}

#[test]
fn sizes_sets_modseq_and_logic() {
    with_facts(MIXED, |m, _| {
        let size = m.message.size;
        let yes = [
            SearchKey::Larger(size - 1),
            SearchKey::Smaller(size + 1),
            SearchKey::SequenceSet(set(n(5), SeqNum::Largest)),
            SearchKey::SequenceSet(set(n(12), n(4))),
            SearchKey::SequenceSet(SequenceSet::Saved),
            SearchKey::Uid(set(n(40), n(40))),
            SearchKey::Not(Box::new(SearchKey::Uid(set(n(41), SeqNum::Largest)))),
            SearchKey::Uid(SequenceSet::Saved),
            SearchKey::ModSeq {
                entry: None,
                modseq: 7,
            },
            SearchKey::Or(Box::new(SearchKey::Deleted), Box::new(SearchKey::Seen)),
            SearchKey::And(vec![SearchKey::Seen, SearchKey::Flagged]),
            SearchKey::And(Vec::new()),
        ];
        let no = [
            SearchKey::Larger(size),
            SearchKey::Smaller(size),
            SearchKey::SequenceSet(set(SeqNum::Largest, SeqNum::Largest)),
            SearchKey::Uid(set(n(41), SeqNum::Largest)),
            SearchKey::ModSeq {
                entry: None,
                modseq: 8,
            },
            SearchKey::Not(Box::new(SearchKey::All)),
            SearchKey::And(vec![SearchKey::Seen, SearchKey::Deleted]),
        ];
        check(m, &yes, &no);
    });
}

#[test]
fn knows_which_keys_need_the_message() {
    assert!(!needs_content(&SearchKey::And(vec![
        SearchKey::From(s("x")),
        SearchKey::Seen
    ])));
    assert!(needs_content(&SearchKey::Not(Box::new(SearchKey::Body(
        s("x")
    )))));
    assert!(needs_content(&SearchKey::Or(
        Box::new(SearchKey::All),
        Box::new(SearchKey::Header(s("a"), s("b")))
    )));
}

#[test]
fn unreadable_content_matches_no_text_key() {
    let summary = Summary::derive(&crlf(MIXED));
    let message = record(10);
    let facts = MessageFacts {
        seq: 1,
        message: &message,
        summary: &summary,
        content: LazyContent::new(|| None),
        scope: SCOPE,
    };
    assert!(!matches(&SearchKey::Text(s("")), &facts));
    assert!(matches(&SearchKey::From(s("jane")), &facts));
}
