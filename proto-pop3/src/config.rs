//! Listener-wide settings shared by every session of that listener.

use std::time::Duration;

/// Settings of one POP3 listener.
///
/// Shared by its sessions through an `Arc`, so changing it means building a new one.
/// Text fields go on the wire: carriage returns and line feeds in them are
/// dropped or replaced, so a configuration value can never forge a response line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Our name, used in the greeting and the sign-off.
    pub hostname: String,
    /// The runtime can run TLS on this listener, so `STLS` (RFC 2595) is
    /// offered while the connection is still cleartext.
    pub stls: bool,
    /// Allow `USER`/`PASS` and `AUTH` on a cleartext connection. Off by default
    /// so that passwords never cross the network in the clear.
    pub auth_without_tls: bool,
    /// How long the client may stay silent (RFC 1939 3: at least 10 minutes).
    /// Past it the connection is closed without a response and without
    /// entering the UPDATE state.
    pub timeout: Duration,
    /// How long a client may take to log in, from the greeting, however it trickles
    /// its bytes (Dovecot's login processes allow 3 minutes).
    pub login_timeout: Duration,
    /// Bad commands (unknown, malformed, out of state, failed logins)
    /// tolerated before the session says `-ERR Too many errors` and closes.
    pub max_errors: u32,
    /// Value of the `IMPLEMENTATION` capability (RFC 2449 6.9), e.g. `"Postern"`;
    /// not advertised when `None`.
    pub implementation: Option<String>,
    /// Value of the `EXPIRE` capability (RFC 2449 6.7), e.g. `"NEVER"` or a
    /// number of days; not advertised when `None`.
    pub expire: Option<String>,
    /// Seconds of the `LOGIN-DELAY` capability (RFC 2449 6.5); not advertised
    /// when `None`. The session only announces it; enforcing it is the
    /// engine's business (answer [`LoginError::Unavailable`](crate::LoginError)).
    pub login_delay: Option<u32>,
}

impl ServerConfig {
    /// Defaults: no STLS, no cleartext logins, 10 minute timeout, 3 minutes to log
    /// in, 10 errors, no optional capabilities.
    pub fn new(hostname: impl Into<String>) -> Self {
        Self {
            hostname: hostname.into(),
            stls: false,
            auth_without_tls: false,
            timeout: Duration::from_secs(10 * 60),
            login_timeout: Duration::from_secs(3 * 60),
            max_errors: 10,
            implementation: None,
            expire: None,
            login_delay: None,
        }
    }
}
