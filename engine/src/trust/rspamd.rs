//! A content scanner: rspamd, asked over its HTTP protocol (`POST /checkv2`, the message as
//! the body, the envelope in header fields). Its action decides what becomes of the
//! message — refused, deferred, delivered to Junk or as usual — and its score goes into an
//! `X-Spam-Status:` field, which mail clients' junk filters read.
//!
//! The scanner runs beside the server (usually on the same machine); the request is made
//! from the blocking pool within the sender checks' bound, and a scanner that does not
//! answer in time lets the message through unscanned, with a log line, as a milter set to
//! `accept` does: a broken scanner must not stop the mail.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::https::{Request, Response, head, parse};

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a scan may take in all; rspamd's own task timeout is 8 seconds.
const SCAN_TIMEOUT: Duration = Duration::from_secs(20);
/// The most a reply may hold: rspamd's JSON with every symbol is a few kilobytes.
const REPLY_LIMIT: usize = 256 * 1024;

/// Where rspamd listens (`[security] rspamd = "http://127.0.0.1:11333"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rspamd {
    host: String,
    port: u16,
}

impl FromStr for Rspamd {
    type Err = String;

    fn from_str(url: &str) -> Result<Self, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!(
                "{url:?}: rspamd is reached over plain HTTP (http://host:port), beside the server"
            )
        })?;
        let authority = rest.trim_end_matches('/');
        if authority.contains('/') || authority.is_empty() {
            return Err(format!("{url:?}: expected http://host:port"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => {
                let port = port
                    .parse()
                    .map_err(|_| format!("{url:?}: {port:?} is not a port"))?;
                (host, port)
            }
            _ => (authority, 11333),
        };
        Ok(Rspamd {
            host: host.trim_matches(['[', ']']).to_string(),
            port,
        })
    }
}

/// The envelope rspamd is told about.
#[derive(Clone, Debug)]
pub struct Envelope<'a> {
    pub ip: std::net::IpAddr,
    pub helo: &'a str,
    pub mail_from: &'a str,
    pub recipients: &'a [String],
}

/// What rspamd asks done with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Accept,
    /// Deliver to Junk (`add header`, `rewrite subject`).
    Junk,
    /// Try again later (`soft reject`, `greylist`).
    Defer,
    /// Refuse (`reject`).
    Reject,
}

/// The outcome of a scan.
#[derive(Clone, Debug, PartialEq)]
pub struct Scan {
    pub action: Action,
    pub score: f64,
    /// The score at which rspamd refuses a message.
    pub required: f64,
}

impl Scan {
    /// The fields that go into the message, CRLF-terminated.
    pub fn header(&self) -> String {
        let spam = match self.action {
            Action::Accept => "No",
            _ => "Yes",
        };
        let mut header = format!(
            "X-Spam-Status: {spam}, score={:.2} required={:.2}\r\n",
            self.score, self.required
        );
        if spam == "Yes" {
            header.push_str("X-Spam-Flag: YES\r\n");
        }
        header
    }

    /// For the log line of the message: `spam=27.30/junk`.
    pub fn summary(&self) -> String {
        let action = match self.action {
            Action::Accept => "accept",
            Action::Junk => "junk",
            Action::Defer => "defer",
            Action::Reject => "reject",
        };
        format!("spam={:.2}/{action}", self.score)
    }
}

impl Rspamd {
    /// Scans `message`; blocks for at most [`SCAN_TIMEOUT`] plus the connection's.
    pub fn scan(&self, message: &[u8], envelope: &Envelope<'_>) -> Result<Scan, String> {
        let ip = envelope.ip.to_string();
        let mut headers = vec![("IP", ip.as_str()), ("From", envelope.mail_from)];
        if !envelope.helo.is_empty() {
            headers.push(("Helo", envelope.helo));
        }
        headers.extend(envelope.recipients.iter().map(|r| ("Rcpt", r.as_str())));
        let request = Request {
            method: "POST",
            tls: false,
            host: &self.host,
            port: self.port,
            target: "/checkv2",
            headers: &headers,
            body: message,
        };
        let response = self.exchange(&head(&request))?;
        if response.status != 200 {
            return Err(format!("rspamd answered HTTP {}", response.status));
        }
        read_reply(&response.body)
    }

    fn exchange(&self, request: &[u8]) -> Result<Response, String> {
        let address = self.address()?;
        let deadline = Instant::now() + SCAN_TIMEOUT;
        let fail = |e: std::io::Error| format!("rspamd at {address}: {e}");
        let mut stream = TcpStream::connect_timeout(&address, CONNECT_TIMEOUT).map_err(fail)?;
        stream.set_write_timeout(Some(SCAN_TIMEOUT)).map_err(fail)?;
        stream.write_all(request).map_err(fail)?;
        let mut received = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("rspamd at {address} took too long"));
            }
            stream.set_read_timeout(Some(left)).map_err(fail)?;
            let n = stream.read(&mut buf).map_err(fail)?;
            received.extend_from_slice(buf.get(..n).unwrap_or_default());
            if received.len() > REPLY_LIMIT {
                return Err(format!("rspamd at {address}: the reply is too large"));
            }
            let closed = n == 0;
            match parse(&received, false, closed, REPLY_LIMIT) {
                Ok(Some(response)) => return Ok(response),
                Ok(None) if !closed => {}
                Ok(None) => return Err(format!("rspamd at {address}: the reply ended early")),
                Err(why) => return Err(format!("rspamd at {address}: {why}")),
            }
        }
    }

    fn address(&self) -> Result<SocketAddr, String> {
        (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| format!("rspamd at {}: {e}", self.host))?
            .next()
            .ok_or_else(|| format!("rspamd at {} has no address", self.host))
    }
}

/// rspamd's JSON reply, as a [`Scan`].
fn read_reply(body: &[u8]) -> Result<Scan, String> {
    let reply: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("rspamd's reply is not JSON: {e}"))?;
    let action = match reply.get("action").and_then(|a| a.as_str()) {
        Some("reject") => Action::Reject,
        Some("soft reject" | "greylist") => Action::Defer,
        Some("add header" | "rewrite subject") => Action::Junk,
        Some("no action") => Action::Accept,
        Some(other) => return Err(format!("rspamd asked for an unknown action {other:?}")),
        None => return Err("rspamd's reply names no action".into()),
    };
    let number = |name: &str| reply.get(name).and_then(|n| n.as_f64()).unwrap_or(0.0);
    Ok(Scan {
        action,
        score: number("score"),
        required: number("required_score"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_host_and_port() {
        let parsed: Rspamd = "http://127.0.0.1:11333".parse().unwrap();
        assert_eq!((parsed.host.as_str(), parsed.port), ("127.0.0.1", 11333));
        let parsed: Rspamd = "http://[::1]:11333/".parse().unwrap();
        assert_eq!((parsed.host.as_str(), parsed.port), ("::1", 11333));
        let parsed: Rspamd = "http://scanner".parse().unwrap();
        assert_eq!((parsed.host.as_str(), parsed.port), ("scanner", 11333));
        assert!("https://127.0.0.1:11333".parse::<Rspamd>().is_err());
        assert!("http://127.0.0.1:port".parse::<Rspamd>().is_err());
        assert!("http://127.0.0.1:11333/checkv2".parse::<Rspamd>().is_err());
    }

    #[test]
    fn actions_and_scores_are_read_from_the_reply() {
        let scan = read_reply(
            br#"{"action":"add header","score":7.3,"required_score":15.0,"symbols":{}}"#,
        )
        .unwrap();
        assert_eq!(scan.action, Action::Junk);
        assert_eq!(
            scan.header(),
            "X-Spam-Status: Yes, score=7.30 required=15.00\r\nX-Spam-Flag: YES\r\n"
        );
        assert_eq!(scan.summary(), "spam=7.30/junk");
        let clean = read_reply(br#"{"action":"no action","score":-0.5,"required_score":15}"#);
        assert_eq!(
            clean.unwrap().header(),
            "X-Spam-Status: No, score=-0.50 required=15.00\r\n"
        );
        for (action, expected) in [
            ("reject", Action::Reject),
            ("soft reject", Action::Defer),
            ("greylist", Action::Defer),
            ("rewrite subject", Action::Junk),
        ] {
            let body = format!(r#"{{"action":"{action}","score":1}}"#);
            assert_eq!(read_reply(body.as_bytes()).unwrap().action, expected);
        }
        assert!(read_reply(b"<html>").is_err());
        assert!(read_reply(br#"{"action":"explode"}"#).is_err());
        assert!(read_reply(br#"{"score":1}"#).is_err());
    }
}
