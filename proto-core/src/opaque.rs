//! Bytes a session holds that a debug print must not show.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// A reused buffer whose `Debug` shows only its length: the body bytes a
/// session hands its runtime (an SMTP message, an IMAP APPEND), which are no
/// one's business in a log, and may hold a password.
#[derive(Default, Clone, PartialEq, Eq)]
pub struct Opaque(Vec<u8>);

impl Deref for Opaque {
    type Target = Vec<u8>;

    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl DerefMut for Opaque {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl fmt::Debug for Opaque {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Opaque({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_length_only() {
        let mut bytes = Opaque::default();
        bytes.extend_from_slice(b"secret");
        assert_eq!(format!("{bytes:?}"), "Opaque(6 bytes)");
        assert_eq!(&bytes[..], b"secret");
    }
}
