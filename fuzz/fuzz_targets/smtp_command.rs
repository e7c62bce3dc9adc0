//! Any command line parses to a command or an error, and what parses re-encodes to a line
//! that parses to the same command.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proto_smtp::parse_command;

fuzz_target!(|line: &[u8]| {
    if let Ok(command) = parse_command(line) {
        let mut encoded = Vec::new();
        command.encode(&mut encoded);
        let reparsed = parse_command(encoded.strip_suffix(b"\r\n").unwrap_or(&encoded));
        assert_eq!(reparsed.as_ref().ok(), Some(&command));
    }
});
