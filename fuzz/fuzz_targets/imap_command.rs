//! Any command parses or is rejected, and what parses re-encodes to a command that parses to
//! the same thing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proto_imap::parse_command;

fuzz_target!(|input: &[u8]| {
    if let Ok(command) = parse_command(input) {
        let mut encoded = Vec::new();
        command.encode(&mut encoded);
        assert_eq!(parse_command(&encoded).ok(), Some(command));
    }
});
