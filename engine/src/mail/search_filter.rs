//! A message's search filter: a Bloom filter of the byte trigrams of its text as SEARCH
//! sees it (the folded values of its top-level header fields and the folded text of its
//! `text/*` parts), made at delivery and kept beside the body.
//!
//! A HEADER, BODY or TEXT string is a substring of that text only if each of its trigrams
//! is one of the text's, so a string with a trigram the filter lacks cannot match and the
//! message is not read. Each header value and the body are haystacks of their own (SEARCH
//! never matches across two), so trigrams across them are not kept. The filter never says
//! no wrongly; it says yes wrongly for about one trigram in four, so a five-letter string
//! (three trigrams) reads about one message in a hundred of those that lack it. Strings
//! shorter than three bytes, and messages without a filter, are answered by reading the
//! message.
//!
//! A filter's size is a multiple of a [`Signature`]'s, and a trigram's bits in it are the
//! signature's bits scaled up: OR-ing each run of bits together folds any filter of this
//! layout into the message's signature, the column it adds to its mailbox's search index
//! ([`super::search_index`]).

use super::decoded::SearchText;

/// The first byte of a filter; one of another layout is treated as absent.
const LAYOUT: u8 = 1;

/// Bits per distinct trigram. With two bits set per trigram, about half the bits end up set
/// and a trigram the text lacks finds both of its bits set about one time in four.
const BITS_PER_TRIGRAM: usize = 3;

/// Smallest and largest filter, in bytes. A text with more distinct trigrams than the
/// largest holds well (about 22,000) gets a filter that lets most strings through: it is
/// read, as without one.
const MIN_BYTES: usize = SIGNATURE_BYTES;
const MAX_BYTES: usize = 8 * 1024;

/// The bytes of a [`Signature`]: 4,096 bits, which a text of 2,000 distinct trigrams (a
/// few kilobytes of mail) leaves about three in five unset.
pub(super) const SIGNATURE_BYTES: usize = 512;
/// The bits of a [`Signature`].
pub(super) const SIGNATURE_BITS: usize = SIGNATURE_BYTES * 8;

/// A filter folded to [`SIGNATURE_BITS`]: what the search index keeps of each message.
pub(super) type Signature = [u8; SIGNATURE_BYTES];

/// The filter of a message's search text, to keep with its body.
pub(super) fn of_text(text: &SearchText) -> Vec<u8> {
    let mut trigrams: Vec<u32> = text
        .header
        .iter()
        .map(|(_, value)| value.as_bytes())
        .chain(std::iter::once(text.body.as_bytes()))
        .flat_map(|value| value.windows(3).map(trigram))
        .collect();
    trigrams.sort_unstable();
    trigrams.dedup();
    let bytes = (trigrams.len() * BITS_PER_TRIGRAM)
        .div_ceil(8)
        .next_multiple_of(SIGNATURE_BYTES)
        .clamp(MIN_BYTES, MAX_BYTES);
    let mut filter = vec![0u8; 1 + bytes];
    filter[0] = LAYOUT;
    let bits = &mut filter[1..];
    for t in trigrams {
        for bit in positions(t, bits.len()) {
            bits[bit / 8] |= 1 << (bit % 8);
        }
    }
    filter
}

/// Whether text with this filter can contain `needle` (folded as the text is); `true` when
/// the filter cannot tell.
pub(super) fn may_contain(filter: &[u8], needle: &[u8]) -> bool {
    let Some((&LAYOUT, bits)) = filter.split_first() else {
        return true;
    };
    if bits.is_empty() {
        return true;
    }
    needle.windows(3).all(|window| {
        positions(trigram(window), bits.len())
            .into_iter()
            .all(|bit| bits[bit / 8] & (1 << (bit % 8)) != 0)
    })
}

/// The filter folded into a [`Signature`]: each of its bits the OR of a run of the
/// filter's. `None` for a filter that does not fold (another layout, or an older size that
/// is not a multiple of a signature's).
pub(super) fn signature(filter: &[u8]) -> Option<Signature> {
    let (&LAYOUT, bits) = filter.split_first()? else {
        return None;
    };
    if bits.is_empty() || !bits.len().is_multiple_of(SIGNATURE_BYTES) {
        return None;
    }
    let run = bits.len() / SIGNATURE_BYTES;
    let mut folded = [0u8; SIGNATURE_BYTES];
    for (at, &byte) in bits.iter().enumerate() {
        for bit in (0..8).filter(|bit| byte & (1 << bit) != 0) {
            let to = (at * 8 + bit) / run;
            folded[to / 8] |= 1 << (to % 8);
        }
    }
    Some(folded)
}

/// The [`Signature`] bits a text holding `needle` has set, ascending; none (nothing can be
/// ruled out) for a needle shorter than a trigram.
pub(super) fn signature_bits(needle: &[u8]) -> Vec<u16> {
    let mut bits: Vec<u16> = needle
        .windows(3)
        .flat_map(|window| positions(trigram(window), SIGNATURE_BYTES))
        .filter_map(|bit| u16::try_from(bit).ok())
        .collect();
    bits.sort_unstable();
    bits.dedup();
    bits
}

fn trigram(window: &[u8]) -> u32 {
    window
        .iter()
        .take(3)
        .fold(0, |t, &b| (t << 8) | u32::from(b))
}

/// The two bits a trigram sets in a filter of `bytes` bytes: the halves of a 64-bit mix
/// (splitmix64's finalizer), each scaled to the filter's size.
fn positions(trigram: u32, bytes: usize) -> [usize; 2] {
    let mut h = u64::from(trigram).wrapping_add(0x9e37_79b9_7f4a_7c15);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    let bits = bytes as u64 * 8;
    let scale = |half: u64| ((half * bits) >> 32) as usize;
    [scale(h >> 32), scale(h & 0xffff_ffff)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::text::fold;
    use proptest::prelude::*;

    fn text(header: &[&str], body: &str) -> SearchText {
        SearchText {
            header: header
                .iter()
                .map(|v| (mail_parser::HeaderName::Subject, fold(v)))
                .collect(),
            body: fold(body),
        }
    }

    fn folded(needle: &str) -> Vec<u8> {
        fold(needle).into_bytes()
    }

    #[test]
    fn finds_what_the_text_holds_and_rules_out_most_of_what_it_lacks() {
        let filter = of_text(&text(
            &["Quarterly report"],
            "The quick brown fox jumps over the lazy dog",
        ));
        for present in ["quarterly", "REPORT", "fox jumps", "lazy dog", "ick"] {
            assert!(may_contain(&filter, &folded(present)), "{present}");
        }
        let absent = ["invoice", "zebra", "xylophone", "kangaroo", "wombat"];
        let passed = absent
            .iter()
            .filter(|a| may_contain(&filter, &folded(a)))
            .count();
        assert!(passed <= 1, "{passed} of {absent:?} passed");
    }

    #[test]
    fn short_needles_and_unknown_layouts_cannot_be_ruled_out() {
        let filter = of_text(&text(&[], "abc"));
        assert!(may_contain(&filter, b"zz"));
        assert!(may_contain(&filter, b""));
        assert!(may_contain(&[], b"zzz"));
        assert!(may_contain(&[LAYOUT + 1, 0, 0], b"zzz"));
        assert!(!may_contain(&filter, b"zzz"));
    }

    #[test]
    fn size_follows_the_text_within_bounds() {
        assert_eq!(of_text(&text(&[], "")).len(), 1 + MIN_BYTES);
        let long: String = (0..200_000u32)
            .map(|i| char::from_u32(0x4e00 + i % 20_000).unwrap())
            .collect();
        assert_eq!(of_text(&text(&[], &long)).len(), 1 + MAX_BYTES);
    }

    #[test]
    fn every_filter_made_now_folds_into_its_signature() {
        for body in ["", "short", &"many distinct words here ".repeat(400)] {
            let filter = of_text(&text(&["Subject"], body));
            assert_eq!((filter.len() - 1) % SIGNATURE_BYTES, 0);
            assert!(signature(&filter).is_some());
        }
        assert_eq!(
            signature(&[LAYOUT; 9]),
            None,
            "an older size folds into nothing"
        );
        assert_eq!(signature(&[]), None);
    }

    proptest! {
        #[test]
        fn a_signature_has_every_bit_of_a_substring(
            body in ".{0,2000}",
            start in 0usize..2000,
            len in 3usize..40,
        ) {
            let text = text(&[], &body);
            let signature = signature(&of_text(&text)).expect("folds");
            let hay = text.body.as_bytes();
            let start = start.min(hay.len());
            let end = (start + len).min(hay.len());
            for bit in signature_bits(&hay[start..end]) {
                let bit = usize::from(bit);
                prop_assert!(signature[bit / 8] & (1 << (bit % 8)) != 0);
            }
        }

        #[test]
        fn never_rules_out_a_substring(
            header in proptest::collection::vec(".{0,40}", 0..4),
            body in ".{0,300}",
            start in 0usize..400,
            len in 0usize..40,
        ) {
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            let text = text(&header, &body);
            let filter = of_text(&text);
            let haystacks: Vec<&[u8]> = text
                .header
                .iter()
                .map(|(_, v)| v.as_bytes())
                .chain([text.body.as_bytes()])
                .collect();
            for hay in haystacks {
                let start = start.min(hay.len());
                let end = (start + len).min(hay.len());
                prop_assert!(may_contain(&filter, &hay[start..end]));
            }
        }
    }
}
