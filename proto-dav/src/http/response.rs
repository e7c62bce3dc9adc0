//! Responses: what the engine answers with, and how the session writes it
//! (RFC 9112 4, 6).
//!
//! The session owns the framing: it writes `Content-Length` and
//! `Connection` itself and drops those the engine set, along with
//! `Transfer-Encoding`, so no response can announce a length other than the
//! one it has. Header names that are not tokens are dropped and CR, LF and
//! NUL in values become spaces (RFC 9110 5.5): nothing the engine puts in a
//! header can split the response.

use std::borrow::Cow;
use std::fmt;

/// A response for the session to write.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code. A code outside 200 to 599 is written as `500`: an
    /// interim (1xx) response is the session's to send, not an answer.
    pub status: u16,
    /// Header fields, in order. `Content-Length`, `Transfer-Encoding` and
    /// `Connection` are the session's and are dropped.
    pub headers: Vec<(Cow<'static, str>, String)>,
    /// The body; not written for `HEAD` requests and `204`/`304` responses.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with this status, no fields and no body.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header field.
    pub fn header(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body and its `Content-Type`, replacing any set before.
    pub fn body(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
        self.headers
            .push((Cow::Borrowed("Content-Type"), content_type.to_owned()));
        self.body = body;
        self
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body is no one's business in a log, and may be large.
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &format_args!("{} bytes", self.body.len()))
            .finish()
    }
}

/// What the `Connection` field of a response says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Connection {
    /// Nothing: HTTP/1.1 connections persist by default.
    Default,
    /// `keep-alive`, which an HTTP/1.0 client needs to hear (RFC 9112 C.2.2).
    KeepAlive,
    /// `close`: the connection closes after this response.
    Close,
}

/// The interim response to `Expect: 100-continue` (RFC 9110 10.1.1).
pub(crate) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Fields the session writes itself.
const FRAMING: [&str; 3] = ["content-length", "transfer-encoding", "connection"];

/// Appends `response` to `out`: without its body when it answers a `HEAD`
/// request (`head_request`), with `connection` saying whether the connection
/// persists.
pub(crate) fn write(
    out: &mut Vec<u8>,
    response: &Response,
    head_request: bool,
    connection: Connection,
) {
    let status = match response.status {
        status @ 200..=599 => status,
        _ => 500,
    };
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &response.headers {
        if !is_token(name) || FRAMING.iter().any(|f| name.eq_ignore_ascii_case(f)) {
            continue;
        }
        field(out, name, value);
    }
    // RFC 9110 8.6: never with 204; with 304 it would describe the
    // resource, not this (always empty) body.
    let bodiless = matches!(status, 204 | 304);
    if !bodiless {
        field(out, "Content-Length", &response.body.len().to_string());
    }
    match connection {
        Connection::Default => {}
        Connection::KeepAlive => field(out, "Connection", "keep-alive"),
        Connection::Close => field(out, "Connection", "close"),
    }
    out.extend_from_slice(b"\r\n");
    if !head_request && !bodiless {
        out.extend_from_slice(&response.body);
    }
}

/// Appends one header field, its value cleaned of CR, LF and NUL.
fn field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend(value.bytes().map(|b| match b {
        b'\r' | b'\n' | b'\0' => b' ',
        b => b,
    }));
    out.extend_from_slice(b"\r\n");
}

/// Whether `name` is a token (RFC 9110 5.6.2), as field names must be.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A quoted-string holding `text` (RFC 9110 5.6.4): for the realm of a
/// challenge, which comes from configuration.
pub(crate) fn quoted(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len().saturating_add(2));
    quoted.push('"');
    for c in text.chars().filter(|c| !c.is_control()) {
        if matches!(c, '"' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// The reason phrase of a status code (RFC 9110 15, RFC 4918 11, RFC 6585).
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        422 => "Unprocessable Content",
        423 => "Locked",
        424 => "Failed Dependency",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        507 => "Insufficient Storage",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(response: &Response, head_request: bool, connection: Connection) -> String {
        let mut out = Vec::new();
        write(&mut out, response, head_request, connection);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn status_fields_length_body() {
        let response = Response::new(207)
            .header("DAV", "1, 2, calendar-access")
            .body("application/xml; charset=utf-8", b"<x/>".to_vec());
        assert_eq!(
            written(&response, false, Connection::Default),
            "HTTP/1.1 207 Multi-Status\r\nDAV: 1, 2, calendar-access\r\n\
             Content-Type: application/xml; charset=utf-8\r\nContent-Length: 4\r\n\r\n<x/>"
        );
        assert_eq!(
            written(&response, true, Connection::Close),
            "HTTP/1.1 207 Multi-Status\r\nDAV: 1, 2, calendar-access\r\n\
             Content-Type: application/xml; charset=utf-8\r\nContent-Length: 4\r\n\
             Connection: close\r\n\r\n"
        );
    }

    #[test]
    fn framing_is_the_sessions() {
        let response = Response::new(200)
            .header("content-length", "99")
            .header("Transfer-Encoding", "chunked")
            .header("CONNECTION", "keep-alive")
            .header("Bad Name", "x")
            .header("", "x")
            .body("text/plain", b"hi".to_vec())
            .body("text/html", b"hello".to_vec());
        assert_eq!(
            written(&response, false, Connection::KeepAlive),
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\
             Connection: keep-alive\r\n\r\nhello"
        );
    }

    #[test]
    fn no_length_or_body_for_204_and_304() {
        for status in [204, 304] {
            let response = Response::new(status).body("text/plain", b"x".to_vec());
            let text = written(&response, false, Connection::Default);
            assert!(!text.contains("Content-Length") && text.ends_with("\r\n\r\n"));
        }
    }

    #[test]
    fn values_cannot_split_the_response() {
        let response = Response::new(302).header("Location", "/a\r\nSet-Cookie: x=1\r\n\r\n\0");
        let text = written(&response, false, Connection::Default);
        assert_eq!(
            text,
            "HTTP/1.1 302 Found\r\nLocation: /a  Set-Cookie: x=1     \r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn odd_statuses() {
        let text = written(&Response::new(100), false, Connection::Default);
        assert!(text.starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
        let text = written(&Response::new(299), false, Connection::Default);
        assert!(text.starts_with("HTTP/1.1 299 Unknown\r\n"));
        assert_eq!(reason(100), "Continue");
    }

    #[test]
    fn realms_are_quoted() {
        assert_eq!(quoted("Postern"), "\"Postern\"");
        assert_eq!(quoted("a\"b\\c\r\nd"), "\"a\\\"b\\\\cd\"");
    }

    #[test]
    fn debug_leaves_the_body_out() {
        let response = Response::new(200).body("text/plain", b"secret".to_vec());
        let debug = format!("{response:?}");
        assert!(debug.contains("6 bytes") && !debug.contains("secret"));
    }
}
