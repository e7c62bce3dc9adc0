//! The stored form of a summary, as it comes back from disk: `Summary::from_bytes` takes
//! any bytes without panicking or allocating beyond them, what it reads writes back to a
//! form that reads the same, and sections served from a summary that does not fit its
//! message (a corrupted or mismatched one) still stay within the message.
//!
//! Input: two octets of position and one of damage, then a message. Both the input itself
//! and the message's real stored summary, damaged at that position and cut short there,
//! are read back.
#![no_main]

#[path = "common/parser_panics.rs"]
mod parser_panics;
#[path = "common/sections.rs"]
mod sections;

use engine::mail::Summary;
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: parser_panics::install(), |data: &[u8]| {
    read_back(data, data);
    let Some((&[lo, hi, damage], message)) = data.split_first_chunk::<3>() else { return };
    let mut stored = parser_panics::derive(message).to_bytes();
    let at = usize::from(u16::from_le_bytes([lo, hi])) % stored.len();
    read_back(message, &stored[..at]);
    stored[at] ^= damage;
    read_back(message, &stored);
});

fn read_back(message: &[u8], stored: &[u8]) {
    if let Some(summary) = Summary::from_bytes(stored) {
        let again = Summary::from_bytes(&summary.to_bytes());
        assert_eq!(
            again.as_ref(),
            Some(&summary),
            "written back, it reads differently"
        );
        sections::check(message, &summary);
    }
}
