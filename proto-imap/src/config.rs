//! Listener-wide settings shared by every session of that listener.

use std::time::Duration;

use crate::framer::FramerConfig;

/// Settings of one IMAP listener.
///
/// Shared by its sessions through an `Arc`, so changing it means building a
/// new one. The hostname goes on the wire in the greeting: carriage returns
/// and line feeds in it become spaces, so it can never forge a response line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Our name, used in the greeting.
    pub hostname: String,
    /// The runtime can run TLS on this listener, so `STARTTLS` is advertised
    /// and allowed while the connection is still cleartext.
    pub starttls: bool,
    /// Allow `LOGIN` and `AUTHENTICATE` on a cleartext connection. Off by
    /// default so that passwords never cross the network in the clear: the
    /// session then advertises `LOGINDISABLED` and no `AUTH=PLAIN` before TLS
    /// and answers both commands `NO [PRIVACYREQUIRED]`.
    pub auth_without_tls: bool,
    /// Size limits of the command framer; `APPENDLIMIT` advertises
    /// [`FramerConfig::max_message`], and `LITERAL+` (or `LITERAL-`) follows
    /// [`FramerConfig::literal_plus`].
    pub framer: FramerConfig,
    /// How long a client may take to log in, from the greeting, and stay silent
    /// before it has. Past it the session says `* BYE Autologout; idle too long`
    /// and closes.
    pub login_timeout: Duration,
    /// How long one APPEND command (every message of it) may take in all, however the
    /// client trickles its bytes.
    pub append_limit: Duration,
    /// How long a logged-in client may stay silent, IDLE included (RFC 9051
    /// 5.4: at least 30 minutes).
    pub idle_timeout: Duration,
    /// Bad commands (`BAD` answers, commands in the wrong state, failed
    /// logins) tolerated before the session says `* BYE Too many errors` and
    /// closes.
    pub max_errors: u32,
}

impl ServerConfig {
    /// Defaults: no STARTTLS, no cleartext logins, the framer's default
    /// limits, 60 s to log in, 30 min idle, 20 errors.
    pub fn new(hostname: impl Into<String>) -> Self {
        Self {
            hostname: hostname.into(),
            starttls: false,
            auth_without_tls: false,
            framer: FramerConfig::default(),
            login_timeout: Duration::from_secs(60),
            append_limit: Duration::from_secs(30 * 60),
            idle_timeout: Duration::from_secs(30 * 60),
            max_errors: 20,
        }
    }
}
