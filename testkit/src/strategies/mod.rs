//! Property-test strategies (proptest) for the commands and responses of SMTP, POP3 and
//! IMAP, as Postern's own property tests use them: typed values that `proto-smtp` and
//! `proto-imap` write out, and the bytes on the wire (`command_line`). Use them to fuzz
//! another parser against Postern's: whatever one of these generates, a conforming server
//! must read, and `proto_smtp::parse_command` or `proto_imap::parse_command` reads back as
//! what was generated.
//!
//! ```no_run
//! use proptest::prelude::*;
//!
//! proptest! {
//!     #[test]
//!     fn my_parser_reads_every_imap_command(line in testkit::strategies::imap::command_line()) {
//!         // my_parser::parse(&line).unwrap();
//!         prop_assert!(line.ends_with(b"\r\n"));
//!     }
//! }
//! ```

pub mod imap;
pub mod pop3;
pub mod smtp;
