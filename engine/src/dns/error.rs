//! Why a lookup gave no answer, and whether asking again later can help.

use std::fmt;

/// A lookup that failed. The delivery queue retries a message on a temporary error and
/// bounces it on a permanent one, so the split matters more than the detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsError {
    /// The name does not exist (NXDOMAIN). Permanent.
    NxDomain,
    /// The name is not one DNS can hold (bad characters, over-long labels); the text says
    /// which name and why. Permanent.
    InvalidName(String),
    /// No answer within the time a lookup may take. Temporary.
    Timeout,
    /// The name server answered with an error code (SERVFAIL, REFUSED, ...). Temporary.
    Server(String),
    /// Too many lookups are in progress; this one was not started. Temporary.
    Busy,
    /// DNSSEC validation failed (a "bogus" answer): signatures that do not verify, or
    /// records missing that the signed zone says must be there. It may be an attack or a
    /// broken zone; either way the answer is not used. Temporary.
    Bogus,
    /// No name server could be asked (no network, no resolver configured). Temporary.
    Unavailable(String),
}

impl DnsError {
    /// Whether the same lookup may succeed later.
    pub fn is_temporary(&self) -> bool {
        !matches!(self, DnsError::NxDomain | DnsError::InvalidName(_))
    }
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::NxDomain => f.write_str("the domain does not exist (NXDOMAIN)"),
            DnsError::InvalidName(why) => f.write_str(why),
            DnsError::Timeout => f.write_str("DNS lookup timed out"),
            DnsError::Server(code) => write!(f, "the DNS server answered {code}"),
            DnsError::Bogus => {
                f.write_str("the answer failed DNSSEC validation (forged, or a broken zone)")
            }
            DnsError::Busy => f.write_str("too many DNS lookups in progress"),
            DnsError::Unavailable(why) => write!(f, "DNS is unavailable: {why}"),
        }
    }
}

impl std::error::Error for DnsError {}
