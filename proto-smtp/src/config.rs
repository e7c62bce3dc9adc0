//! Listener-wide settings shared by every session of that listener.

use std::time::Duration;

/// What kind of listener a session serves; it decides who may start a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Port 25: anyone may hand us mail; the engine decides per recipient.
    #[default]
    Mx,
    /// Ports 587/465 (RFC 6409): only authenticated users may send, so `MAIL`
    /// before a successful `AUTH` is refused with `530 5.7.0`.
    Submission,
}

/// What to do with a line feed that is not preceded by a carriage return.
///
/// Whatever the policy, a bare LF never ends a `DATA` body: only the
/// exact bytes `CR LF . CR LF` do (SMTP smuggling, CVE-2023-51764).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BareLf {
    /// Accept the message and store every bare LF as CRLF (what Postfix's
    /// `smtpd_forbid_bare_newline = normalize` does).
    #[default]
    Normalize,
    /// Read the message to its real end, then refuse it with `550 5.5.2`.
    Reject,
}

/// Settings of one SMTP listener.
///
/// Shared by its sessions through an `Arc`, so changing it means building a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Our name, used in the greeting, in the `EHLO` reply and in `421` replies.
    pub hostname: String,
    /// Advertised as `SIZE n`; bigger messages get `552 5.3.4`.
    pub max_message_size: u64,
    /// MX or submission listener.
    pub mode: Mode,
    /// The runtime can run TLS on this listener, so `STARTTLS` is offered while
    /// the connection is still cleartext.
    pub starttls: bool,
    /// Allow `AUTH` on a cleartext connection. Off by default so that passwords
    /// never cross the network in the clear.
    pub auth_without_tls: bool,
    /// Bare LF policy for message bodies.
    pub bare_lf: BareLf,
    /// Recipients per transaction; beyond it `RCPT` gets `452 4.5.3` (RFC 5321 4.5.3.1.8
    /// requires accepting at least 100).
    pub max_recipients: usize,
    /// How long the client may stay silent between commands (RFC 5321 4.5.3.2: 5 minutes).
    pub command_timeout: Duration,
    /// How long the client may stay silent while sending a message body.
    pub data_timeout: Duration,
    /// How long sending one message body may take in all (`DATA` or every `BDAT` chunk
    /// of it), however busy the client keeps the connection.
    pub data_limit: Duration,
    /// Bad commands (syntax, unknown, out of sequence, failed authentication)
    /// tolerated before the session says `421 4.7.0` and closes.
    pub max_errors: u32,
}

impl ServerConfig {
    /// Defaults: MX mode, 25 MiB messages, no TLS, 100 recipients, 5 min command
    /// timeout, 3 min data timeout, 10 min for a whole body, 10 errors, bare LFs
    /// normalized.
    pub fn new(hostname: impl Into<String>) -> Self {
        Self {
            hostname: hostname.into(),
            max_message_size: 25 * 1024 * 1024,
            mode: Mode::Mx,
            starttls: false,
            auth_without_tls: false,
            bare_lf: BareLf::Normalize,
            max_recipients: 100,
            command_timeout: Duration::from_secs(5 * 60),
            data_timeout: Duration::from_secs(3 * 60),
            data_limit: Duration::from_secs(10 * 60),
            max_errors: 10,
        }
    }
}
