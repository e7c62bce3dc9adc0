//! The command framer fed arbitrary bytes in arbitrary chunks, accepting every APPEND: it
//! never panics, never gets stuck, and its buffer stays within its bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proto_imap::{CommandFramer, Frame, FramerConfig};

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk.max(1));
    let config = FramerConfig {
        max_command: 4096,
        ..FramerConfig::default()
    };
    let bound = config.max_command + 1;
    let mut framer = CommandFramer::new(config);
    let mut rest = input;
    for _ in 0..100_000 {
        if framer.is_closed() {
            break;
        }
        let mut accept = false;
        if let Some(frame) = framer.next_frame() {
            accept = matches!(frame, Frame::AppendStart { .. } | Frame::AppendNext(_));
        } else if rest.is_empty() {
            break;
        } else {
            let n = rest.len().min(chunk);
            let used = framer.feed(&rest[..n]);
            rest = &rest[used..];
            if used == 0 && framer.next_frame().is_none() {
                let _ = framer.next_line();
            }
        }
        if accept {
            framer.accept_literal();
        }
        assert!(framer.buffered() <= bound);
    }
});
