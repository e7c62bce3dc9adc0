//! How outbound delivery behaves: `[delivery]` in the configuration, as the engine takes it.

use std::time::Duration;

use proto_smtp::client::Credentials;

use super::schedule::RetryPolicy;

/// How outbound delivery behaves; `[delivery]` in the configuration.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// The name given in `EHLO`: the server's hostname.
    pub hostname: String,
    /// The port remote mail exchangers are reached on: 25, but tests point it elsewhere.
    pub remote_port: u16,
    /// Deliveries in progress at once.
    pub workers: usize,
    /// Deliveries to one destination host at once, however many workers there are (a
    /// connection kept idle for the next message does not count).
    pub connections_per_host: usize,
    /// How long a TCP connection to a mail exchanger may take.
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    /// Send everything through this host instead of the recipients' mail exchangers.
    pub relay: Option<Relay>,
    /// Tell the sender, once, when a recipient is still not delivered after this long.
    pub delay_warning: Option<Duration>,
    /// Deliver to mail exchangers only over TLS with a verified certificate, never falling
    /// back to unverified TLS or cleartext (a relay has its own setting).
    pub require_tls: bool,
    /// Look up and honour the destinations' MTA-STS policies (RFC 8461).
    pub mta_sts: bool,
    /// The port MTA-STS policies are fetched from: 443, but tests point it elsewhere.
    pub mta_sts_port: u16,
}

/// A relay host (smarthost): what a server on a network that blocks port 25, or one that
/// must send through a provider, hands all its outbound mail to.
#[derive(Clone, Debug)]
pub struct Relay {
    pub host: String,
    pub port: u16,
    /// TLS from the first byte (`smtps://`, port 465) rather than after STARTTLS.
    pub implicit_tls: bool,
    /// Whether the relay's certificate must be valid for `host`. TLS itself is always
    /// required: the credentials and all the mail go to it.
    pub verify_tls: bool,
    /// For `AUTH` (PLAIN or LOGIN), when the relay wants it.
    pub credentials: Option<Credentials>,
}

impl DeliveryConfig {
    pub fn new(hostname: impl Into<String>) -> Self {
        Self {
            hostname: hostname.into(),
            remote_port: 25,
            workers: 4,
            connections_per_host: 10,
            connect_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            relay: None,
            delay_warning: Some(Duration::from_secs(4 * 3600)),
            require_tls: false,
            mta_sts: true,
            mta_sts_port: 443,
        }
    }
}
