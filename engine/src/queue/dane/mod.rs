//! DANE for outbound SMTP (RFC 7672): a receiving domain that signs its DNS with DNSSEC can
//! publish TLSA records for its mail exchangers, saying which certificate or key each one
//! presents. Delivery then requires TLS to such a host and checks its certificate against the
//! records instead of a list of trusted roots, so that neither stripping STARTTLS nor a
//! forged certificate can redirect or read the mail.
//!
//! The records count only when DNSSEC vouches for every step that led to them: the MX
//! records, the host's addresses and the TLSA records themselves (RFC 7672 §2.2); the
//! delivery code checks the first two, [`host_policy`] the last.

mod records;
mod verifier;

use std::sync::Arc;

pub use records::Usable;
pub use verifier::{DaneVerifier, is_mismatch};

use crate::dns::{DnsError, Resolver};

/// What a host's TLSA records ask of a connection to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostPolicy {
    /// No secure TLSA records: DANE does not apply to the host.
    None,
    /// TLSA records exist but none is usable for SMTP: TLS is still mandatory, though any
    /// certificate is taken (RFC 7672 §2.2).
    Encrypt,
    /// TLS is mandatory and the certificate must match these records.
    Verify(Arc<Usable>),
}

/// The TLSA records of `host` for `port` (`_25._tcp.mx.example.net`) and what they ask.
/// An `Err` is a lookup that failed, DNSSEC validation included: then the host must not be
/// used at all, not even without DANE, since the failure may be an attacker hiding the
/// records (RFC 7672 §2.2).
pub async fn host_policy(
    resolver: &dyn Resolver,
    host: &str,
    port: u16,
) -> Result<HostPolicy, DnsError> {
    let answer = resolver.tlsa(&format!("_{port}._tcp.{host}")).await?;
    if !answer.secure || answer.value.is_empty() {
        return Ok(HostPolicy::None);
    }
    Ok(match Usable::select(&answer.value) {
        Some(usable) => HostPolicy::Verify(Arc::new(usable)),
        None => HostPolicy::Encrypt,
    })
}
