//! How a message went to the server that took it — over TLS with a verified certificate,
//! over TLS whose certificate could not be verified, or in cleartext — and how many
//! deliveries went each way since the server started: opportunistic TLS falls back
//! silently by design (RFC 7435), so the operator is shown how often it did.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// How one connection carried mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// TLS, the certificate valid for the host's name.
    Verified,
    /// TLS with a certificate that was not checked (self-signed, expired, another name).
    Unverified,
    /// No TLS: the server did not offer it, or every handshake failed.
    Cleartext,
}

impl Transport {
    /// What a connection came to: whether the session ended up encrypted, and whether the
    /// certificate was checked when it was.
    pub(crate) fn of(encrypted: bool, verified: bool) -> Self {
        match (encrypted, verified) {
            (false, _) => Transport::Cleartext,
            (true, true) => Transport::Verified,
            (true, false) => Transport::Unverified,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Verified => "TLS verified",
            Transport::Unverified => "TLS unverified",
            Transport::Cleartext => "cleartext",
        })
    }
}

/// Deliveries (one per recipient a server accepted) by [`Transport`], since the process
/// started. Shared by the delivery workers and whoever reports on them.
#[derive(Debug, Default)]
pub struct TransportCounts {
    verified: AtomicU64,
    unverified: AtomicU64,
    cleartext: AtomicU64,
}

/// A reading of [`TransportCounts`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counted {
    pub verified: u64,
    pub unverified: u64,
    pub cleartext: u64,
}

impl TransportCounts {
    pub(crate) fn add(&self, transport: Transport) {
        let counter = match transport {
            Transport::Verified => &self.verified,
            Transport::Unverified => &self.unverified,
            Transport::Cleartext => &self.cleartext,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn read(&self) -> Counted {
        Counted {
            verified: self.verified.load(Ordering::Relaxed),
            unverified: self.unverified.load(Ordering::Relaxed),
            cleartext: self.cleartext.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_way_is_counted_apart() {
        let counts = TransportCounts::default();
        counts.add(Transport::of(true, true));
        counts.add(Transport::of(true, false));
        counts.add(Transport::of(true, false));
        counts.add(Transport::of(false, true));
        assert_eq!(
            counts.read(),
            Counted {
                verified: 1,
                unverified: 2,
                cleartext: 1
            }
        );
        assert_eq!(Transport::Unverified.to_string(), "TLS unverified");
    }
}
