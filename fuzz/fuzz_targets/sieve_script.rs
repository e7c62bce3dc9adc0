//! A Sieve script as a user uploads it, then run on a message whose header fields follow the
//! script in the input (after a NUL): checking never panics, and a script that compiles
//! runs without panicking, within its bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proto_sieve::{MAX_ACTIONS, Message, compile};

/// Header fields as `name: value` lines; addresses are the values' words holding `@`.
struct Fields(Vec<(String, String)>);

impl Message for Fields {
    fn header(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn addresses(&self, name: &str) -> Vec<String> {
        self.header(name)
            .iter()
            .flat_map(|v| {
                v.split_whitespace()
                    .filter(|w| w.contains('@'))
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn envelope(&self, part: &str) -> Option<String> {
        self.addresses(part).into_iter().next()
    }

    fn size(&self) -> u64 {
        self.0.iter().map(|(n, v)| (n.len() + v.len()) as u64).sum()
    }

    fn mailbox_exists(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }
}

fuzz_target!(|data: &[u8]| {
    let (script, header) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(source) = std::str::from_utf8(script) else {
        return;
    };
    let Ok(script) = compile(source) else {
        return;
    };
    let fields = Fields(
        String::from_utf8_lossy(header)
            .lines()
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect(),
    );
    let outcome = script.run(&fields);
    assert!(outcome.actions.len() <= MAX_ACTIONS);
    if outcome.error.is_some() {
        assert_eq!(outcome.actions.len(), 1, "a failed run keeps the message");
    }
});
