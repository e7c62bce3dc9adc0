//! A mailbox's search index: the [signatures](super::search_filter::Signature) of its
//! messages' search filters, turned sideways.
//!
//! The UIDs of a mailbox fall into blocks of [`BLOCK_UIDS`]. Once its mailbox's UIDNEXT has
//! passed a block, no message can join it, and its index is kept: one row per signature
//! bit, each row a bitmap over the block's UIDs (set where that message's signature has the
//! bit). A SEARCH for a string then reads, per block, only the rows of the string's
//! trigrams and ANDs them: what is left are the candidates, and only their filters and text
//! are read. A block's index never changes; a message expunged from it leaves a candidate
//! that is no longer listed, and a message without a filter is a candidate for every string.
//!
//! On 100,000 messages a search reads some 800 rows of 128 bytes instead of 100,000 filters.

use super::search_filter::{self, SIGNATURE_BITS};

/// UIDs per block.
pub const BLOCK_UIDS: u32 = 1024;
/// Bytes of a row: one bit per UID of the block.
pub const ROW_BYTES: usize = BLOCK_UIDS as usize / 8;
/// Rows of a block: one per signature bit.
pub const ROWS: usize = SIGNATURE_BITS;

/// The most rows one search reads of a block: with about half of a row's bits set, 32
/// rows leave a message that lacks the strings a candidate about once in four billion.
pub const MOST_ROWS: usize = 32;

/// Blocks read in one go: what a search holds of the index at once is at most this many
/// blocks' [`MOST_ROWS`] rows (256 KiB).
pub const BLOCKS_AT_ONCE: u32 = 64;

/// A block is indexed once at least this many of its UIDs are messages, and its index is
/// dropped when fewer than [`SPARSE`] are left: a mailbox whose old mail is expunged keeps
/// no index for blocks it hardly uses.
pub const DENSE: usize = BLOCK_UIDS as usize / 4;
/// See [`DENSE`].
pub const SPARSE: usize = BLOCK_UIDS as usize / 8;

/// The block a UID is in.
pub fn block_of(uid: u32) -> u32 {
    uid / BLOCK_UIDS
}

/// The blocks no message can join any more, for a mailbox whose next UID is `uid_next`.
pub fn complete_blocks(uid_next: u32) -> std::ops::Range<u32> {
    0..uid_next / BLOCK_UIDS
}

/// The rows of a block's index, made one message at a time.
pub struct BlockBuilder {
    block: u32,
    rows: Vec<u8>,
}

impl BlockBuilder {
    pub fn new(block: u32) -> Self {
        BlockBuilder {
            block,
            rows: vec![0; ROWS * ROW_BYTES],
        }
    }

    /// Adds the message `uid` (of this block) with its search filter, if it has one. A
    /// message whose filter is missing or does not fold is a candidate for everything.
    pub fn add(&mut self, uid: u32, filter: Option<&[u8]>) {
        if block_of(uid) != self.block {
            return;
        }
        let column = (uid % BLOCK_UIDS) as usize;
        let (byte, mask) = (column / 8, 1u8 << (column % 8));
        let signature = filter.and_then(search_filter::signature);
        let rows = self.rows.chunks_exact_mut(ROW_BYTES).enumerate();
        for (_, bits) in rows.filter(|(row, _)| {
            signature
                .as_ref()
                .is_none_or(|s| s[row / 8] & (1 << (row % 8)) != 0)
        }) {
            if let Some(b) = bits.get_mut(byte) {
                *b |= mask;
            }
        }
    }

    /// The rows, [`ROWS`] of [`ROW_BYTES`] one after the other.
    pub fn finish(self) -> Vec<u8> {
        self.rows
    }
}

/// The UIDs of a block that may hold every string searched for: the AND of the rows read
/// (`rows`, [`ROW_BYTES`] each).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidates([u8; ROW_BYTES]);

impl Candidates {
    pub fn of_rows(rows: &[u8]) -> Self {
        let mut all = [0xff; ROW_BYTES];
        for row in rows.chunks_exact(ROW_BYTES) {
            for (a, r) in all.iter_mut().zip(row) {
                *a &= r;
            }
        }
        Candidates(all)
    }

    /// Whether the message `uid` (of this block) is a candidate.
    pub fn contains(&self, uid: u32) -> bool {
        let column = (uid % BLOCK_UIDS) as usize;
        self.0
            .get(column / 8)
            .is_some_and(|b| b & (1 << (column % 8)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::search_filter::signature_bits;
    use crate::mail::text::fold;
    use proptest::prelude::*;

    fn filter(body: &str) -> Vec<u8> {
        crate::mail::search_filter(
            format!("Subject: x\r\nContent-Type: text/plain\r\n\r\n{body}\r\n").as_bytes(),
        )
    }

    /// The rows a search for `needle` reads, picked out of a block's rows.
    fn candidates(rows: &[u8], needle: &str) -> Candidates {
        let picked: Vec<u8> = signature_bits(fold(needle).as_bytes())
            .iter()
            .flat_map(|&row| {
                let at = usize::from(row) * ROW_BYTES;
                rows[at..at + ROW_BYTES].to_vec()
            })
            .collect();
        Candidates::of_rows(&picked)
    }

    #[test]
    fn blocks_are_complete_once_uidnext_passes_them() {
        assert_eq!(complete_blocks(1), 0..0);
        assert_eq!(complete_blocks(1023), 0..0);
        assert_eq!(complete_blocks(1024), 0..1);
        assert_eq!(complete_blocks(5000), 0..4);
        assert_eq!(block_of(1023), 0);
        assert_eq!(block_of(1024), 1);
    }

    #[test]
    fn rules_out_messages_without_the_string() {
        let mut block = BlockBuilder::new(1);
        block.add(1024, Some(&filter("the quarterly report is attached")));
        block.add(1030, Some(&filter("lunch on friday?")));
        block.add(1031, None);
        block.add(5, Some(&filter("another block's message")));
        let rows = block.finish();
        let found = candidates(&rows, "Quarterly");
        assert!(found.contains(1024));
        assert!(!found.contains(1030), "lacks it");
        assert!(
            found.contains(1031),
            "no filter: a candidate for everything"
        );
        assert!(!found.contains(1025), "no message there");
        let short = candidates(&rows, "qu");
        assert!(short.contains(1030), "too short to rule anything out");
    }

    #[test]
    fn a_long_string_reads_a_bounded_number_of_rows() {
        let long = "the quick brown fox jumps over the lazy dog ".repeat(200);
        let line = format!("s SEARCH TEXT \"{long}\" BODY \"another string\"\r\n");
        let command = proto_imap::parse_command(line.as_bytes()).expect("a SEARCH");
        let proto_imap::CommandBody::Search { keys, .. } = &command.body else {
            panic!("not a SEARCH");
        };
        let rows = crate::mail::index_rows(keys);
        assert_eq!(rows.len(), MOST_ROWS);
        assert!(rows.windows(2).all(|pair| pair[0] < pair[1]));
    }

    proptest! {
        #[test]
        fn never_rules_out_a_message_holding_the_string(
            bodies in proptest::collection::vec("[a-z ]{0,300}", 1..20),
            pick in 0usize..20,
            start in 0usize..300,
            len in 3usize..20,
        ) {
            let mut block = BlockBuilder::new(0);
            for (uid, body) in bodies.iter().enumerate() {
                block.add(uid as u32 + 1, Some(&filter(body)));
            }
            let rows = block.finish();
            let pick = pick % bodies.len();
            let body = &bodies[pick];
            let start = start.min(body.len());
            let needle = &body[start..(start + len).min(body.len())];
            prop_assert!(candidates(&rows, needle).contains(pick as u32 + 1));
        }
    }
}
