//! POP3 (RFC 1939, RFC 2449, RFC 2595, RFC 5034): command lines as a client sends them,
//! and hostile input.

use proptest::prelude::*;

/// Command lines in the canonical form `Command::encode` writes.
pub fn canonical_line() -> impl Strategy<Value = String> {
    let initial = proptest::option::of("[A-Za-z0-9+/]{1,30}={0,2}|=|\\*");
    prop_oneof![
        "CAPA|AUTH|STLS|QUIT|STAT|LIST|NOOP|RSET|UIDL",
        "[!-~\u{e9}]{1,40}".prop_map(|name| format!("USER {name}")),
        "[ -~\u{e9}]{1,40}".prop_map(|password| format!("PASS {password}")),
        ("[A-Za-z0-9_-]{1,20}", initial).prop_map(|(mechanism, initial)| match initial {
            Some(initial) => format!("AUTH {mechanism} {initial}"),
            None => format!("AUTH {mechanism}"),
        }),
        ("LIST|RETR|DELE|UIDL", any::<u64>()).prop_map(|(k, msg)| format!("{k} {msg}")),
        (any::<u64>(), any::<u64>()).prop_map(|(msg, n)| format!("TOP {msg} {n}")),
    ]
}

/// Input fragments that reach a server's deep states, mixed with arbitrary bytes: what a
/// server must survive, in any chunks.
pub fn hostile_input() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"USER alice\r\n".to_vec()),
        Just(b"PASS secret\r\n".to_vec()),
        Just(b"PASS wrong\r\n".to_vec()),
        Just(b"AUTH PLAIN\r\n".to_vec()),
        Just(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n".to_vec()),
        Just(b"AGFsaWNlAHNlY3JldA==\r\n".to_vec()),
        Just(b"STLS\r\n".to_vec()),
        Just(b"CAPA\r\n".to_vec()),
        Just(b"LIST\r\n".to_vec()),
        Just(b"UIDL\r\n".to_vec()),
        Just(b"RETR 2\r\n".to_vec()),
        Just(b"TOP 2 1\r\n".to_vec()),
        Just(b"DELE 1\r\n".to_vec()),
        Just(b"RSET\r\n".to_vec()),
        Just(b"QUIT\r\n".to_vec()),
        Just(b"*\r\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(
            prop_oneof![Just(b'x'), Just(b' '), Just(b'\r'), Just(b'\n'), Just(b'.')],
            0..600
        ),
    ];
    proptest::collection::vec(token, 0..40).prop_map(|parts| parts.concat())
}
