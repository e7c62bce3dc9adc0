//! Listener-wide settings shared by every HTTP session of that listener.

use std::time::Duration;

/// Settings of one HTTP listener.
///
/// Shared by its sessions through an `Arc`, so changing it means building a
/// new one. The defaults are those of common servers (nginx, Apache): small
/// enough that an idle or hostile client costs little, large enough for any
/// CalDAV or CardDAV client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The realm of `WWW-Authenticate: Basic realm="..."` (RFC 7617): what a
    /// client shows when it asks for a password. Quotes, backslashes and line
    /// ends in it are escaped or dropped on the wire.
    pub realm: String,
    /// Longest request head (request line and header fields, blank line
    /// included); a longer one gets `431` and the connection closes.
    pub max_head: usize,
    /// Most header fields in a head; more get `431` and the connection
    /// closes.
    pub max_headers: usize,
    /// Longest request body. A `Content-Length` above it gets `413` before the
    /// runtime is asked anything; a chunked body growing past it gets `413`
    /// where it does. Either way the connection closes: the rest of the body
    /// is not worth reading.
    pub max_body: u64,
    /// How long a connection may stay idle between requests (keep-alive);
    /// past it the connection closes without a response.
    pub idle_timeout: Duration,
    /// How long a client may stay silent while a head or a body is being
    /// received; past it, `408` and the connection closes.
    pub request_timeout: Duration,
    /// How long a head may take in all, from its first byte: a client that
    /// trickles a byte at a time stays within `request_timeout` but not within
    /// this (slowloris). Past it, `408` and the connection closes.
    pub head_deadline: Duration,
    /// Requests served on one connection; the response to the last one says
    /// `Connection: close`. A connection is then opened anew, which spreads
    /// long-lived clients over the listeners and bounds what one costs.
    pub max_requests: u32,
    /// Bad requests and failed logins tolerated on one connection: the
    /// response to the one that spends the budget says `Connection: close`.
    /// This bounds password guessing per connection.
    pub max_errors: u32,
}

impl ServerConfig {
    /// Defaults: 16 KiB heads of at most 64 fields, 16 MiB bodies, 75 s of
    /// keep-alive, 30 s to send a head or a stretch of body, 30 s for a whole
    /// head, 1000 requests and 10 errors per connection.
    pub fn new(realm: impl Into<String>) -> Self {
        Self {
            realm: realm.into(),
            max_head: 16 * 1024,
            max_headers: 64,
            max_body: 16 * 1024 * 1024,
            idle_timeout: Duration::from_secs(75),
            request_timeout: Duration::from_secs(30),
            head_deadline: Duration::from_secs(30),
            max_requests: 1000,
            max_errors: 10,
        }
    }
}
