//! The exported strategies as someone fuzzing their own parser uses them: from outside the
//! crate, on the wire bytes, with Postern's parsers as the reference every generated line
//! must satisfy.

use proptest::prelude::*;
use testkit::strategies::{imap, pop3, smtp};

proptest! {
    #[test]
    fn every_imap_command_line_is_read_back(line in imap::command_line()) {
        prop_assert!(line.ends_with(b"\r\n"));
        prop_assert!(proto_imap::parse_command(&line).is_ok(), "{}", String::from_utf8_lossy(&line));
    }

    #[test]
    fn every_smtp_command_line_is_read_back(line in smtp::command_line()) {
        let line = line.strip_suffix(b"\r\n").expect("CRLF");
        prop_assert!(proto_smtp::parse_command(line).is_ok(), "{}", String::from_utf8_lossy(line));
    }

    #[test]
    fn every_pop3_command_line_is_read_back(line in pop3::canonical_line()) {
        prop_assert!(proto_pop3::parse_command(line.as_bytes()).is_ok(), "{line}");
    }
}
