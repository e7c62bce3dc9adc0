//! The stored form of summaries, and derivation on any input.

use std::num::NonZeroU32;

use proptest::collection::vec;
use proptest::prelude::*;

use super::{FORWARD, MIXED, crlf};
use crate::mail::{
    HeaderText, PartInfo, PartKind, SentDate, SortKeys, Summary, ThreadKeys, TransferEncoding,
};

#[test]
fn real_summaries_round_trip() {
    for text in [MIXED, FORWARD] {
        let summary = Summary::derive(&crlf(text));
        assert_eq!(Summary::from_bytes(&summary.to_bytes()), Some(summary));
    }
}

#[test]
fn refuses_anything_but_a_whole_summary() {
    let bytes = Summary::derive(&crlf(FORWARD)).to_bytes();
    assert_eq!(Summary::from_bytes(&[]), None);
    for len in 0..bytes.len() {
        assert_eq!(Summary::from_bytes(&bytes[..len]), None, "cut at {len}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(Summary::from_bytes(&longer), None);
    let mut other_version = bytes.clone();
    other_version[0] = 1;
    assert_eq!(Summary::from_bytes(&other_version), None);
    // A huge length prefix is refused without allocating it.
    let mut huge = vec![1u8];
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(Summary::from_bytes(&huge), None);
}

#[test]
fn refuses_inconsistent_parts() {
    let mut summary = Summary::derive(&crlf(FORWARD));
    summary.parts[0].body_start = summary.parts[0].end + 1;
    assert_eq!(Summary::from_bytes(&summary.to_bytes()), None);
}

fn text() -> impl Strategy<Value = String> {
    ".{0,12}"
}

fn encoding() -> impl Strategy<Value = TransferEncoding> {
    prop_oneof![
        Just(TransferEncoding::SevenBit),
        Just(TransferEncoding::EightBit),
        Just(TransferEncoding::Binary),
        Just(TransferEncoding::Base64),
        Just(TransferEncoding::QuotedPrintable),
        "X-[A-Z0-9-]{1,8}".prop_map(TransferEncoding::Other),
    ]
}

prop_compose! {
    fn part_info()(
        number in vec(1u32.., 1..4),
        offsets in (any::<u32>(), any::<u32>(), any::<u32>()),
        kind in prop_oneof![
            Just(PartKind::Leaf),
            Just(PartKind::Multipart),
            any::<u32>().prop_map(|header_end| PartKind::Message { header_end }),
        ],
        encoding in encoding(),
        charset in proptest::option::of(text()),
    ) -> PartInfo {
        let mut offsets = [offsets.0, offsets.1, offsets.2];
        offsets.sort_unstable();
        PartInfo {
            number: number.into_iter().filter_map(NonZeroU32::new).collect(),
            header_start: offsets[0],
            body_start: offsets[1],
            end: offsets[2],
            kind,
            encoding,
            charset,
        }
    }
}

prop_compose! {
    fn sort_keys()(
        sent in proptest::option::of((any::<i64>(), any::<i32>())),
        strings in vec(text(), 6),
    ) -> SortKeys {
        SortKeys {
            sent: sent.map(|(unix, offset_seconds)| SentDate { unix, offset_seconds }),
            subject: strings[0].clone(),
            from: strings[1].clone(),
            to: strings[2].clone(),
            cc: strings[3].clone(),
            display_from: strings[4].clone(),
            display_to: strings[5].clone(),
        }
    }
}

prop_compose! {
    pub(super) fn summary()(
        wire in vec(vec(any::<u8>(), 0..40), 3),
        header_end in any::<u32>(),
        parts in vec(part_info(), 0..5),
        sort in sort_keys(),
        message_id in proptest::option::of(text()),
        references in vec(text(), 0..4),
        is_reply in any::<bool>(),
        search in vec(text(), 5),
    ) -> Summary {
        Summary {
            envelope: wire[0].clone(),
            body_structure: wire[1].clone(),
            body: wire[2].clone(),
            header_end,
            parts,
            sort,
            thread: ThreadKeys { message_id, references, is_reply },
            search: HeaderText {
                subject: search[0].clone(),
                from: search[1].clone(),
                to: search[2].clone(),
                cc: search[3].clone(),
                bcc: search[4].clone(),
            },
        }
    }
}

/// A real message with some bytes replaced: malformed MIME of every kind.
fn mangled_message() -> impl Strategy<Value = Vec<u8>> {
    let messages = prop_oneof![Just(crlf(MIXED)), Just(crlf(FORWARD))];
    (
        messages,
        vec((any::<prop::sample::Index>(), any::<u8>()), 0..12),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(mut message, edits, cut)| {
            for (at, byte) in edits {
                let at = at.index(message.len());
                message[at] = byte;
            }
            message.truncate(cut.index(message.len() + 1));
            message
        })
}

proptest! {
    #[test]
    fn any_summary_round_trips(summary in summary()) {
        prop_assert_eq!(Summary::from_bytes(&summary.to_bytes()), Some(summary));
    }

    #[test]
    fn from_bytes_never_panics(bytes in vec(any::<u8>(), 0..512)) {
        let _ = Summary::from_bytes(&bytes);
    }

    #[test]
    fn from_bytes_never_panics_on_damaged_summaries(
        summary in summary(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = summary.to_bytes();
        for (at, byte) in edits {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        let _ = Summary::from_bytes(&bytes);
    }

    #[test]
    fn derive_never_panics_and_round_trips(bytes in vec(any::<u8>(), 0..2048)) {
        let summary = Summary::derive(&bytes);
        prop_assert!(summary.header_end as usize <= bytes.len());
        // No IMAP string, quoted or literal, may carry NUL.
        for wire in [&summary.envelope, &summary.body_structure, &summary.body] {
            prop_assert!(!wire.contains(&0));
        }
        prop_assert_eq!(Summary::from_bytes(&summary.to_bytes()), Some(summary));
    }

    #[test]
    fn derive_handles_malformed_mime(message in mangled_message()) {
        let summary = Summary::derive(&message);
        for part in &summary.parts {
            prop_assert!(part.header_start <= part.body_start && part.body_start <= part.end);
            prop_assert!(part.end as usize <= message.len());
        }
        prop_assert!(summary.body_structure.starts_with(b"(") && summary.body_structure.ends_with(b")"));
        prop_assert_eq!(Summary::from_bytes(&summary.to_bytes()), Some(summary));
    }
}
