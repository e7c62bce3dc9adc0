//! DNS for mail: where a domain's mail goes (MX), a host's addresses (AAAA and A), TXT
//! records and TLSA records; outbound delivery, MTA-STS and DANE ask now, SPF, DKIM and
//! DMARC will later. MX, address and TLSA answers say whether DNSSEC vouches for them
//! ([`Secured`]), which DANE needs.
//!
//! The rest of the engine asks through [`Resolver`], an object-safe interface, so that
//! [`Engine`](crate::Engine) holds one `Arc<dyn Resolver>` whatever answers it. The server
//! gives it an [`Overlay`]: the configuration's [`StaticTable`] answers for the names it
//! lists (split horizon, tests), and a [`NetworkResolver`] for every other name.
//!
//! The protocol crates never see DNS: they stay sans-IO, and the engine decides what an
//! answer means for a message.
//!
//! Names are domain names in ASCII (internationalised ones in their `xn--` form), compared
//! without regard to case and with or without the final dot.

mod answer;
mod error;
mod name;
mod network;
mod overlay;
pub mod publish;
mod table;
#[cfg(test)]
mod tests;
mod tlsa;

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

pub use answer::{MxAnswer, MxHost, Secured};
pub use error::DnsError;
pub use name::{normalize_name, reverse_name};
pub use network::{NetworkConfig, NetworkResolver};
pub use overlay::Overlay;
pub use table::{StaticRecords, StaticTable};
pub use tlsa::Tlsa;

/// A lookup in progress. Boxed so that [`Resolver`] stays object-safe; `Send` so that it can
/// be awaited on any runtime's worker threads.
pub type Lookup<'a, T> = Pin<Box<dyn Future<Output = Result<T, DnsError>> + Send + 'a>>;

/// What the engine asks of DNS. Every answer is final for the caller: an `Err` says whether
/// trying again later can help ([`DnsError::is_temporary`]).
pub trait Resolver: Send + Sync {
    /// Where mail for `domain` goes. A domain that does not exist is the answer
    /// [`MxAnswer::NxDomain`], not an error: for mail it is as definite as a list of hosts.
    fn mx<'a>(&'a self, domain: &'a str) -> Lookup<'a, Secured<MxAnswer>>;

    /// The addresses of `host`: its AAAA records, then its A records. Addresses of one
    /// family are an answer even when the other's lookup failed, as they can be delivered
    /// to. Empty when the name exists with neither; [`DnsError::NxDomain`] when it does not
    /// exist.
    /// Secure only when both families' answers are.
    fn addresses<'a>(&'a self, host: &'a str) -> Lookup<'a, Secured<Vec<IpAddr>>>;

    /// The TXT records of `name`, each one's strings joined without separator (as SPF and
    /// DKIM read them). Empty when the name exists without TXT records;
    /// [`DnsError::NxDomain`] when it does not exist.
    fn txt<'a>(&'a self, name: &'a str) -> Lookup<'a, Vec<String>>;

    /// The TLSA records of `name` (`_25._tcp.mx.example.net`). Empty when there are none,
    /// NXDOMAIN included: for DANE both mean "no TLSA records" (RFC 7672 §2.2), whereas a
    /// failed lookup — DNSSEC validation included ([`DnsError::Bogus`]) — is an error.
    fn tlsa<'a>(&'a self, name: &'a str) -> Lookup<'a, Secured<Vec<Tlsa>>>;

    /// The names the PTR records of `name` (an address's [`reverse_name`]) give, without
    /// their final dot. Empty when there are none; [`DnsError::NxDomain`] when the name
    /// does not exist.
    fn ptr<'a>(&'a self, name: &'a str) -> Lookup<'a, Vec<String>>;
}
