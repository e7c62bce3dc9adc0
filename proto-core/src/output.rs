//! What a session has written for its peer and not yet handed out.
//!
//! A session writes its replies into one buffer that lives as long as the
//! session, and hands everything pending out at once (`Action::Send`), so a
//! pipelined burst goes out in one write and no reply costs an allocation.
//! The runtime borrows the bytes until its next call into the session; the
//! buffer is cleared then, not before.

/// Capacity a fresh buffer starts with: room for a greeting and a few replies.
const INITIAL: usize = 512;

/// Most capacity kept once a batch was handed out. One large batch (a long
/// listing, a chunk of a streamed message) can grow the buffer well past its
/// usual size; that memory is given back, so a connection at rest holds
/// little.
const RETAINED: usize = 64 * 1024;

/// Pending output: written by the session, handed out whole.
///
/// Bytes handed out by [`hand_out`](Self::hand_out) no longer count as
/// pending; the buffer is cleared for reuse at the next
/// [`buf`](Self::buf) or [`reclaim`](Self::reclaim).
pub struct Output {
    buf: Vec<u8>,
    /// `buf` was handed out whole.
    handed_out: bool,
    /// [`is_full`](Self::is_full) from this many pending bytes on.
    high_water: usize,
}

impl Output {
    /// An empty output that counts as full from `high_water` pending bytes
    /// on.
    pub fn new(high_water: usize) -> Self {
        Self {
            buf: Vec::with_capacity(INITIAL),
            handed_out: false,
            high_water,
        }
    }

    /// The buffer to write replies into, after the pending ones.
    pub fn buf(&mut self) -> &mut Vec<u8> {
        self.reclaim();
        &mut self.buf
    }

    /// Pending bytes: written and not yet handed out.
    pub fn len(&self) -> usize {
        if self.handed_out { 0 } else { self.buf.len() }
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the pending bytes reached the high-water mark: a session hands
    /// them out before it processes more input, which bounds the buffer
    /// whatever a client pipelines.
    pub fn is_full(&self) -> bool {
        self.len() >= self.high_water
    }

    /// Every pending byte, to be written to the peer. From now on they are not
    /// pending.
    pub fn hand_out(&mut self) -> &[u8] {
        self.reclaim();
        self.handed_out = true;
        &self.buf
    }

    /// Clears what was handed out, giving back a buffer that one large batch
    /// grew. Writing reclaims too; calling this as soon as the runtime is done
    /// with the bytes keeps an idle session small.
    pub fn reclaim(&mut self) {
        if self.handed_out {
            self.handed_out = false;
            self.buf.clear();
            self.buf.shrink_to(RETAINED);
        }
    }

    /// Gives back the whole buffer if nothing is pending: the session is at rest (see
    /// [`Session::rest`](crate::session::Session::rest)), and the next reply may be a while.
    pub fn rest(&mut self) {
        if self.is_empty() {
            self.handed_out = false;
            self.buf = Vec::new();
        }
    }

    /// The bytes the buffer holds, pending or not: what memory it costs.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bytes are left out: a session's output may echo what a client
        // must not see logged.
        f.debug_struct("Output")
            .field("pending", &self.len())
            .field("high_water", &self.high_water)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handed_out_bytes_are_no_longer_pending() {
        let mut out = Output::new(8);
        out.buf().extend_from_slice(b"250 Ok\r\n");
        assert!(out.is_full());
        assert_eq!(out.hand_out(), b"250 Ok\r\n");
        assert!(out.is_empty() && !out.is_full());
        assert_eq!(out.hand_out(), b"");
        out.buf().extend_from_slice(b"221 Bye\r\n");
        assert_eq!(out.hand_out(), b"221 Bye\r\n");
    }

    #[test]
    fn a_large_batch_is_given_back() {
        let mut out = Output::new(1024);
        out.buf().resize(4 * RETAINED, b'x');
        assert_eq!(out.hand_out().len(), 4 * RETAINED);
        out.reclaim();
        assert!(out.capacity() <= RETAINED);
    }

    #[test]
    fn at_rest_the_buffer_is_given_back_unless_something_is_pending() {
        let mut out = Output::new(1024);
        out.buf().extend_from_slice(b"* OK ready\r\n");
        out.rest();
        assert_eq!(out.hand_out(), b"* OK ready\r\n");
        out.rest();
        assert_eq!(out.capacity(), 0);
        out.buf().extend_from_slice(b"a OK\r\n");
        assert_eq!(out.hand_out(), b"a OK\r\n");
    }
}
