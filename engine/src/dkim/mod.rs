//! DKIM signing of outbound mail (RFC 6376; Ed25519 per RFC 8463) and the keys it signs
//! with.
//!
//! Each local domain may hold keys, Ed25519 and RSA, kept in the store ([`DkimKey`]) so the
//! running server signs with a key the moment `postern dkim generate` has stored it. A message
//! leaving the queue is signed with every key of its author's domain (the RFC 5322 `From:`;
//! else the envelope sender's): one `DKIM-Signature` per key, so a receiver that knows only
//! RSA still finds one it can check (RFC 8463 §4). mail-auth does the canonicalization,
//! hashing and signing on ring; this module chooses the keys and the header fields, and
//! makes and describes keys ([`keys`]).

mod admin;
pub mod keys;
mod sign;
#[cfg(test)]
mod tests;

use std::fmt;

pub use keys::DnsRecord;
pub(crate) use sign::signatures;

/// The signature algorithm a key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// `ed25519-sha256` (RFC 8463): short keys and signatures; not every receiver checks it.
    Ed25519,
    /// `rsa-sha256` with a 2048-bit key: what every receiver checks.
    Rsa,
}

impl Algorithm {
    /// The name in the key record's `k=` tag and in `postern dkim` commands.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::Rsa => "rsa",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A private key as PKCS#8 DER. Its `Debug` shows no byte of it, so a key inside a logged or
/// printed value stays secret.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey(Vec<u8>);

impl PrivateKey {
    pub fn from_pkcs8_der(der: Vec<u8>) -> Self {
        PrivateKey(der)
    }

    pub fn pkcs8_der(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(..)")
    }
}

/// A domain's signing key, published in DNS as `selector._domainkey.domain`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkimKey {
    /// Lower-cased, a local domain.
    pub domain: String,
    /// Lower-cased DNS labels.
    pub selector: String,
    pub algorithm: Algorithm,
    pub private_key: PrivateKey,
    /// When it was made or imported (Unix seconds).
    pub created: i64,
}

impl DkimKey {
    /// The DNS name its public key is published under, without the final dot.
    pub fn record_name(&self) -> String {
        format!("{}._domainkey.{}", self.selector, self.domain)
    }
}
