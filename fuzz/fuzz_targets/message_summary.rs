//! The summary delivery derives from any bytes, and the sections FETCH serves from it:
//! nothing panics, every part lies within the message and within its parent, every
//! section is a range of the message (or bytes made from one), a partial is a window of
//! the whole, the wire forms are well-formed IMAP, the stored form reads back, and the
//! search filter is made within its bounds.
#![no_main]

#[path = "common/parser_panics.rs"]
mod parser_panics;
#[path = "common/sections.rs"]
mod sections;
#[path = "common/wire.rs"]
mod wire;

// The engine's message model; if it moves, this is the one line to change (and in common/).
use engine::mail::{PartKind, Summary};
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: parser_panics::install(), |message: &[u8]| {
    let summary = parser_panics::derive(message);
    let len = message.len();
    // The search filter delivery keeps beside it: made from any bytes, and small.
    let filter = parser_panics::search_filter(message);
    assert!((9..=1 + 8192).contains(&filter.len()), "a search filter of {} octets", filter.len());
    assert!(summary.header_end as usize <= len, "header_end {} past {len}", summary.header_end);
    wire::assert_list("ENVELOPE", &summary.envelope);
    wire::assert_list("BODY", &summary.body);
    wire::assert_list("BODYSTRUCTURE", &summary.body_structure);
    for (i, p) in summary.parts.iter().enumerate() {
        let n = &p.number;
        assert!(!n.is_empty(), "part {i} has no number");
        assert!(
            p.header_start <= p.body_start && p.body_start <= p.end && p.end as usize <= len,
            "part {n:?}: {}..{}..{} in {len} octets",
            p.header_start,
            p.body_start,
            p.end
        );
        if let PartKind::Message { header_end } = p.kind {
            assert!(
                p.body_start <= header_end && header_end <= p.end,
                "part {n:?}: header_end {header_end}"
            );
        }
        assert!(summary.parts[..i].iter().all(|q| q.number != *n), "part {n:?} listed twice");
        // A part lies within its parent's body.
        if let Some(parent) = summary.part(&n[..n.len() - 1]) {
            assert!(
                parent.body_start <= p.header_start && p.end <= parent.end,
                "part {n:?} ({}..{}) lies outside its parent ({}..{})",
                p.header_start,
                p.end,
                parent.body_start,
                parent.end
            );
        }
    }
    sections::check(message, &summary);
    let stored = summary.to_bytes();
    let read_back = Summary::from_bytes(&stored);
    assert_eq!(read_back.as_ref(), Some(&summary), "the stored form reads back differently");
});
