//! Listener-wide settings shared by every session of that listener.

use std::time::Duration;

/// Settings of one ManageSieve listener.
///
/// Shared by its sessions through an `Arc`. Text fields go on the wire as quoted strings or
/// literals, so no value can forge a response line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Our name, in the greeting.
    pub hostname: String,
    /// The runtime can run TLS on this listener, so `STARTTLS` is offered while the
    /// connection is still cleartext.
    pub starttls: bool,
    /// Allow `AUTHENTICATE` on a cleartext connection. Off by default so that passwords
    /// never cross the network in the clear.
    pub auth_without_tls: bool,
    /// How long the client may stay silent once logged in.
    pub timeout: Duration,
    /// How long a client may take to log in, from the greeting, however it trickles its
    /// bytes.
    pub login_timeout: Duration,
    /// Bad commands (unknown, malformed, out of state, failed logins) tolerated before the
    /// session says `BYE` and closes.
    pub max_errors: u32,
    /// The `IMPLEMENTATION` capability: the server's name.
    pub implementation: String,
    /// The `SIEVE` capability: the extensions scripts may require, separated by spaces.
    pub extensions: String,
    /// The `MAXREDIRECTS` capability: the most `redirect`s one run of a script carries out.
    pub max_redirects: Option<u32>,
    /// The largest script, in octets. A command carrying a longer one is dropped as it
    /// arrives and refused with `QUOTA/MAXSIZE`; the session's input holds at most this much
    /// and a little more.
    pub max_script_size: usize,
}

impl ServerConfig {
    /// Defaults: no STARTTLS, no cleartext logins, 30 minutes of silence once logged in,
    /// one minute to log in, 10 errors, scripts of up to 64 KiB with no extension.
    pub fn new(hostname: impl Into<String>) -> Self {
        Self {
            hostname: hostname.into(),
            starttls: false,
            auth_without_tls: false,
            timeout: Duration::from_secs(30 * 60),
            login_timeout: Duration::from_secs(60),
            max_errors: 10,
            implementation: "Postern".into(),
            extensions: String::new(),
            max_redirects: None,
            max_script_size: 64 * 1024,
        }
    }
}
