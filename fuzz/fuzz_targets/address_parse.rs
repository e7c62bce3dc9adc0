//! Addresses, both kinds: the directory's `local@domain` ([`Address::parse`], used for every
//! account, alias, MAIL FROM and RCPT TO) and the header address lists an ENVELOPE is made
//! of (reached through `Summary::derive` of a message whose address fields are the input).
//! Nothing panics; a parsed address is lower-cased, splits back into its parts and parses
//! again to itself; a normalized domain normalizes to itself; the
//! ENVELOPE is well-formed.
#![no_main]

#[path = "common/parser_panics.rs"]
mod parser_panics;
#[path = "common/wire.rs"]
mod wire;

use engine::address::{Address, normalize_domain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: parser_panics::install(), |data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        directory(text);
    }
    header(data);
});

fn directory(text: &str) {
    if let Ok(address) = Address::parse(text) {
        let normalized = address.as_str();
        assert_eq!(normalized, text.to_lowercase());
        assert_eq!(
            format!("{}@{}", address.local(), address.domain()),
            normalized
        );
        assert!(!address.local().is_empty() && !address.domain().contains('@'));
        assert_eq!(
            Address::parse(normalized).as_ref(),
            Ok(&address),
            "not idempotent"
        );
        if let Some(base) = address.without_detail() {
            assert!(address.local().starts_with(&format!("{}+", base.local())));
            assert_eq!(base.domain(), address.domain());
            assert_eq!(Address::parse(base.as_str()).as_ref(), Ok(&base));
        }
    }
    if let Ok(domain) = normalize_domain(text) {
        assert_eq!(
            normalize_domain(&domain).as_deref(),
            Ok(domain.as_str()),
            "not idempotent"
        );
    }
}

fn header(value: &[u8]) {
    let mut message = Vec::new();
    for field in ["From", "Sender", "Reply-To", "To", "Cc", "Bcc"] {
        message.extend_from_slice(field.as_bytes());
        message.extend_from_slice(b": ");
        message.extend_from_slice(value);
        message.extend_from_slice(b"\r\n");
    }
    message.extend_from_slice(b"Subject: x\r\n\r\nbody\r\n");
    let summary = parser_panics::derive(&message);
    wire::assert_list("ENVELOPE", &summary.envelope);
}
