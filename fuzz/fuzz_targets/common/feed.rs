//! How the session targets drive a server session: the input in chunks of the size the
//! first octet chose, each taken only as the session has room, its actions carried out
//! after every chunk, and once the input is spent, an hour of silence. Every chunk leaves
//! the session's input within `bound`.

use std::time::{Duration, Instant};

use proto_core::session::Session;

/// Feeds `input` to `session` as described above; `drain` carries out its actions at the
/// time it is given.
pub fn feed<S: Session>(
    session: &mut S,
    mut input: &[u8],
    chunk: usize,
    bound: usize,
    mut drain: impl FnMut(&mut S, Instant),
) {
    let start = Instant::now();
    for _ in 0..100_000 {
        if session.is_closed() {
            break;
        }
        drain(session, start);
        if input.is_empty() {
            let later = start + Duration::from_secs(3600);
            session.handle_timeout(later);
            drain(session, later);
            break;
        }
        let room = session.input_capacity();
        if room == 0 {
            break;
        }
        let n = room.min(chunk).min(input.len());
        let used = session.handle_input(&input[..n], start);
        input = &input[used..];
        assert!(session.buffered_input() <= bound);
    }
}
