//! One HTTPS request to another server, over the runtime's [`Dialer`] with a verified
//! certificate: the MTA-STS policy fetch, the ACME client and webhooks (which may also be
//! plain HTTP). The content scanner's
//! requests ([`crate::trust::rspamd`]) are written and read the same way. One request per connection
//! (`Connection: close`), the response head read by httparse, its body by length, by chunks
//! or to the end, never more than the caller's limit.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::dns::Resolver;
use crate::io::{Dialer, Outgoing, ReadOutcome, TlsCheck};

/// The most a response head may take.
const HEAD_LIMIT: usize = 8 * 1024;

/// A request: where it goes and what it says.
pub(crate) struct Request<'a> {
    pub method: &'a str,
    /// Over TLS with a verified certificate; plain HTTP otherwise.
    pub tls: bool,
    /// The server's name (or address): what the certificate must name.
    pub host: &'a str,
    pub port: u16,
    /// The path and query.
    pub target: &'a str,
    /// Fields besides `Host`, `Connection` and `Content-Length`.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// A response, read whole.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first field called `name`, as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
            .map(str::trim)
    }
}

/// Sends `request` to each address of its host in turn until one answers; a body over
/// `body_limit` bytes is an error.
pub(crate) async fn send<D: Dialer>(
    resolver: &dyn Resolver,
    dialer: &D,
    request: &Request<'_>,
    body_limit: usize,
    timeout: Duration,
) -> Result<Response, String> {
    let host = request.host;
    let addresses = match host.trim_matches(['[', ']']).parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => {
            resolver
                .addresses(host)
                .await
                .map_err(|e| format!("cannot find {host}: {e}"))?
                .value
        }
    };
    let mut last = format!("{host} has no address");
    for ip in addresses {
        let addr = SocketAddr::new(ip, request.port);
        match exchange(dialer, request, addr, body_limit, timeout).await {
            Ok(response) => return Ok(response),
            Err(error) => last = error,
        }
    }
    Err(last)
}

async fn exchange<D: Dialer>(
    dialer: &D,
    request: &Request<'_>,
    addr: SocketAddr,
    body_limit: usize,
    timeout: Duration,
) -> Result<Response, String> {
    let host = request.host;
    let deadline = Instant::now() + timeout;
    let fail = |what: &str, e: std::io::Error| format!("{what} {host}[{}]: {e}", addr.ip());
    let mut conn = dialer
        .connect(addr, timeout)
        .await
        .map_err(|e| fail("cannot connect to", e))?;
    if request.tls {
        conn.start_tls(host.trim_matches(['[', ']']), &TlsCheck::WebPki)
            .await
            .map_err(|e| fail("no verified TLS with", e))?;
    }
    conn.write_all(&head(request))
        .await
        .map_err(|e| fail("cannot write to", e))?;
    let head_only = request.method == "HEAD";
    let mut received = Vec::new();
    let mut buf = vec![0; 4096];
    loop {
        let closed = match conn.read(&mut buf, Some(deadline)).await {
            Ok(ReadOutcome::Data(n)) => {
                received.extend_from_slice(buf.get(..n).unwrap_or_default());
                if received.len() > HEAD_LIMIT.saturating_add(body_limit) {
                    return Err(format!("the response of {host} is too large"));
                }
                false
            }
            Ok(ReadOutcome::Closed | ReadOutcome::Shutdown) => true,
            // Many servers close without TLS's close_notify; the body's length is checked
            // where one is given.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => true,
            Ok(ReadOutcome::TimedOut) => return Err(format!("{host} took too long")),
            Err(e) => return Err(fail("cannot read from", e)),
        };
        match parse(&received, head_only, closed, body_limit) {
            Ok(Some(response)) => return Ok(response),
            Ok(None) if !closed => continue,
            Ok(None) => return Err(format!("{host}: the response ended early")),
            Err(why) => return Err(format!("{host}: {why}")),
        }
    }
}

/// The request's head and body as sent.
pub(crate) fn head(request: &Request<'_>) -> Vec<u8> {
    let host = match (request.port, request.tls) {
        (443, true) | (80, false) => request.host.to_owned(),
        (port, _) => format!("{}:{port}", request.host),
    };
    let mut out = format!(
        "{} {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n",
        request.method, request.target
    );
    for (name, value) in request.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if !request.body.is_empty() || request.method == "POST" {
        out.push_str(&format!("Content-Length: {}\r\n", request.body.len()));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(request.body);
    out
}

/// The response in `received` once it is whole (`None` while more is needed). A body
/// without a length ends when the connection does (`closed`); a response to HEAD has none.
pub(crate) fn parse(
    received: &[u8],
    head_only: bool,
    closed: bool,
    body_limit: usize,
) -> Result<Option<Response>, String> {
    let mut fields = [httparse::EMPTY_HEADER; 32];
    let mut head = httparse::Response::new(&mut fields);
    let start = match head.parse(received) {
        Ok(httparse::Status::Complete(start)) => start,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("not an HTTP response: {e}")),
    };
    let status = head.code.unwrap_or(0);
    let headers: Vec<(String, Vec<u8>)> = head
        .headers
        .iter()
        .map(|h| (h.name.to_owned(), h.value.to_vec()))
        .collect();
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(Some(response));
    }
    let rest = received.get(start..).unwrap_or_default();
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        dechunk(rest, body_limit)?
    } else if let Some(length) = response.header("content-length") {
        let length: usize = length.parse().map_err(|_| "a bad Content-Length")?;
        if length > body_limit {
            return Err("the body is too large".into());
        }
        rest.get(..length).map(<[u8]>::to_vec)
    } else {
        closed.then(|| rest.to_vec())
    };
    Ok(body.map(|body| {
        response.body = body;
        response
    }))
}

/// The body of a chunked response once its last chunk arrived.
fn dechunk(mut rest: &[u8], body_limit: usize) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    loop {
        let (start, size) = match httparse::parse_chunk_size(rest) {
            Ok(httparse::Status::Complete(found)) => found,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err("a bad chunk".into()),
        };
        let size = usize::try_from(size).map_err(|_| "a chunk too large")?;
        if size == 0 {
            return Ok(Some(body));
        }
        let end = start.checked_add(size).ok_or("a chunk too large")?;
        let Some(chunk) = rest.get(start..end) else {
            return Ok(None);
        };
        body.extend_from_slice(chunk);
        if body.len() > body_limit {
            return Err("the body is too large".into());
        }
        let Some(next) = rest.get(end.saturating_add(2)..) else {
            return Ok(None);
        };
        rest = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(response: &str) -> Response {
        parse(response.as_bytes(), false, true, 1024)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn the_body_by_length_chunks_or_close() {
        let body = "version: STSv1\r\nmode: enforce\r\n";
        let by_length = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}trailing",
            body.len()
        );
        let response = whole(&by_length);
        assert_eq!(
            (response.status, response.body.as_slice()),
            (200, body.as_bytes())
        );
        assert_eq!(response.header("content-type"), Some("text/plain"));
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                       8\r\nversion:\r\n17\r\n STSv1\r\nmode: enforce\r\n\r\n0\r\n\r\n";
        assert_eq!(whole(chunked).body, body.as_bytes());
        let to_close = format!("HTTP/1.0 200 OK\r\n\r\n{body}");
        assert_eq!(whole(&to_close).body, body.as_bytes());
    }

    #[test]
    fn a_response_is_whole_before_the_connection_closes() {
        let open = |r: &str, head_only| parse(r.as_bytes(), head_only, false, 1024).unwrap();
        assert_eq!(open("HTTP/1.1 200 OK\r\nContent-Len", false), None);
        assert_eq!(
            open("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", false),
            None
        );
        let done = open("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab", false).unwrap();
        assert_eq!(done.body, b"ab");
        // HEAD: the length describes a body that is not sent.
        let nonce = "HTTP/1.1 200 OK\r\nReplay-Nonce: xyz\r\nContent-Length: 9\r\n\r\n";
        assert_eq!(
            open(nonce, true).unwrap().header("replay-nonce"),
            Some("xyz")
        );
        assert_eq!(
            open(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
                false
            ),
            None
        );
        // Without a length, only the end of the connection ends the body.
        assert_eq!(open("HTTP/1.1 200 OK\r\n\r\nabc", false), None);
    }

    #[test]
    fn broken_or_oversized_responses_are_errors() {
        for bad in [
            "garbage\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ] {
            assert!(parse(bad.as_bytes(), false, true, 1024).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_request_says_its_length() {
        let request = Request {
            method: "POST",
            tls: true,
            host: "acme.test",
            port: 443,
            target: "/new-order",
            headers: &[("Content-Type", "application/jose+json")],
            body: b"{}",
        };
        assert_eq!(
            head(&request),
            b"POST /new-order HTTP/1.1\r\nHost: acme.test\r\nConnection: close\r\n\
              Content-Type: application/jose+json\r\nContent-Length: 2\r\n\r\n{}"
        );
    }
}
