//! How the outbound client behaves: the name it gives, its TLS policy, the
//! relay's credentials and how long it waits for each reply.

use std::time::Duration;

use proto_core::sasl::Credentials;

/// When to use `STARTTLS` on a connection that starts in cleartext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tls {
    /// Use it when the server offers it, else go on in cleartext; a refused
    /// `STARTTLS` goes on in cleartext too (RFC 3207 permits both; it is what
    /// most MTAs do for MX delivery).
    #[default]
    Opportunistic,
    /// Fail the session, temporarily, when the server does not offer it or
    /// refuses it: the queue retries later rather than send in the clear
    /// (MTA-STS, DANE, a relay that must not see passwords in the clear).
    Required,
    /// Never use it, even when offered.
    Never,
}

/// How long the client waits for each reply, or for the runtime to supply the
/// next piece of the body. The defaults are those of RFC 5321 4.5.3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// The `220` greeting: 5 minutes.
    pub greeting: Duration,
    /// `EHLO` or `HELO`; `STARTTLS`, `AUTH`, `RSET` and `QUIT` wait as long:
    /// 5 minutes.
    pub ehlo: Duration,
    /// `MAIL FROM`: 5 minutes.
    pub mail: Duration,
    /// Each `RCPT TO`: 5 minutes.
    pub rcpt: Duration,
    /// `DATA`, until its `354`: 2 minutes.
    pub data_init: Duration,
    /// Each piece of the body: 3 minutes from the `354` or the last piece.
    pub data_block: Duration,
    /// The reply to the end-of-data `.`: 10 minutes, since the server may
    /// filter the message before it answers.
    pub data_end: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            greeting: Duration::from_secs(5 * 60),
            ehlo: Duration::from_secs(5 * 60),
            mail: Duration::from_secs(5 * 60),
            rcpt: Duration::from_secs(5 * 60),
            data_init: Duration::from_secs(2 * 60),
            data_block: Duration::from_secs(3 * 60),
            data_end: Duration::from_secs(10 * 60),
        }
    }
}

/// Settings of the outbound client, shared by its sessions through an `Arc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Our name, given in `EHLO`/`HELO`.
    pub hostname: String,
    /// Whether to use `STARTTLS`.
    pub tls: Tls,
    /// Credentials for a relay (smarthost) that wants `AUTH`. When set, the
    /// session authenticates before sending mail, and only over TLS: if that
    /// is not possible it fails, temporarily, rather than send the password
    /// in the clear or send mail the relay would refuse.
    pub credentials: Option<Credentials>,
    /// How long to wait for each reply.
    pub timeouts: Timeouts,
}

impl ClientConfig {
    /// Opportunistic TLS, no credentials, RFC 5321 timeouts.
    pub fn new(hostname: impl Into<String>) -> Self {
        Self {
            hostname: hostname.into(),
            tls: Tls::Opportunistic,
            credentials: None,
            timeouts: Timeouts::default(),
        }
    }
}
