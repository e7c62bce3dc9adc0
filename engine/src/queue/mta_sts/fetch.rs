//! Fetching a domain's MTA-STS policy: `https://mta-sts.<domain>/.well-known/mta-sts.txt`
//! with a verified certificate (RFC 8461 3.3), one HTTP/1.1 GET whose response head httparse
//! reads. No redirects are followed, as the RFC requires.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::dns::Resolver;
use crate::io::{Dialer, Outgoing, ReadOutcome, TlsCheck};

/// The largest policy taken (RFC 8461 3.3 lets senders stop at 64 KiB).
const BODY_LIMIT: usize = 64 * 1024;
/// The most a response head may take.
const HEAD_LIMIT: usize = 8 * 1024;

/// The policy text of `domain`, from `port` (443 but in tests).
pub(crate) async fn fetch<D: Dialer>(
    resolver: &dyn Resolver,
    dialer: &D,
    domain: &str,
    port: u16,
    timeout: Duration,
) -> Result<String, String> {
    let host = format!("mta-sts.{domain}");
    let addresses = resolver
        .addresses(&host)
        .await
        .map_err(|e| format!("cannot find {host}: {e}"))?
        .value;
    let mut last = format!("{host} has no address");
    for ip in addresses {
        match get(dialer, &host, SocketAddr::new(ip, port), timeout).await {
            Ok(text) => return Ok(text),
            Err(error) => last = error,
        }
    }
    Err(last)
}

async fn get<D: Dialer>(
    dialer: &D,
    host: &str,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<String, String> {
    let deadline = Instant::now() + timeout;
    let fail = |what: &str, e: std::io::Error| format!("{what} {host}[{}]: {e}", addr.ip());
    let mut conn = dialer
        .connect(addr, timeout)
        .await
        .map_err(|e| fail("cannot connect to", e))?;
    conn.start_tls(host, &TlsCheck::WebPki)
        .await
        .map_err(|e| fail("no verified TLS with", e))?;
    let request = format!(
        "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Postern\r\n\
         Accept: text/plain\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(request.as_bytes())
        .await
        .map_err(|e| fail("cannot write to", e))?;
    let mut response = Vec::new();
    let mut buf = vec![0; 4096];
    loop {
        match conn.read(&mut buf, Some(deadline)).await {
            Ok(ReadOutcome::Data(n)) => {
                response.extend_from_slice(buf.get(..n).unwrap_or_default());
                if response.len() > HEAD_LIMIT + BODY_LIMIT {
                    return Err(format!("the policy of {host} is too large"));
                }
            }
            Ok(ReadOutcome::Closed | ReadOutcome::Shutdown) => break,
            // Many servers close without TLS's close_notify; the body's length is checked
            // where one is given.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Ok(ReadOutcome::TimedOut) => return Err(format!("{host} took too long")),
            Err(e) => return Err(fail("cannot read from", e)),
        }
    }
    body(&response).map_err(|why| format!("{host}: {why}"))
}

/// The policy in an HTTP response: status 200, `text/plain`, the body by its length, by
/// chunks, or to the end.
fn body(response: &[u8]) -> Result<String, String> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut head = httparse::Response::new(&mut headers);
    let start = match head.parse(response) {
        Ok(httparse::Status::Complete(start)) => start,
        Ok(httparse::Status::Partial) => return Err("the response ended early".into()),
        Err(e) => return Err(format!("not an HTTP response: {e}")),
    };
    if head.code != Some(200) {
        return Err(format!("status {}", head.code.unwrap_or(0)));
    }
    let header = |name: &str| {
        head.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
    };
    if !header("content-type").is_some_and(|t| t.starts_with("text/plain")) {
        return Err("the policy is not text/plain".into());
    }
    let rest = response.get(start..).unwrap_or_default();
    let body = if header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        dechunk(rest)?
    } else if let Some(length) = header("content-length") {
        let length: usize = length.parse().map_err(|_| "a bad Content-Length")?;
        rest.get(..length).ok_or("the body ended early")?.to_vec()
    } else {
        rest.to_vec()
    };
    String::from_utf8(body).map_err(|_| "the policy is not UTF-8".into())
}

/// The body of a chunked response.
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let (start, size) = match httparse::parse_chunk_size(rest) {
            Ok(httparse::Status::Complete(found)) => found,
            _ => return Err("a bad chunk".into()),
        };
        let size = usize::try_from(size).map_err(|_| "a chunk too large")?;
        if size == 0 {
            return Ok(body);
        }
        let end = start.checked_add(size).ok_or("a chunk too large")?;
        let chunk = rest.get(start..end).ok_or("a chunk ended early")?;
        body.extend_from_slice(chunk);
        if body.len() > BODY_LIMIT {
            return Err("the policy is too large".into());
        }
        rest = rest
            .get(end.saturating_add(2)..)
            .ok_or("a chunk ended early")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_by_length_chunks_or_close() {
        let policy = "version: STSv1\r\nmode: enforce\r\n";
        let by_length = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{policy}trailing",
            policy.len()
        );
        assert_eq!(body(by_length.as_bytes()).unwrap(), policy);
        let chunked = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n\
                       8\r\nversion:\r\n17\r\n STSv1\r\nmode: enforce\r\n\r\n0\r\n\r\n";
        assert_eq!(body(chunked.as_bytes()).unwrap(), policy);
        let to_close = format!("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n{policy}");
        assert_eq!(body(to_close.as_bytes()).unwrap(), policy);
    }

    #[test]
    fn anything_else_is_no_policy() {
        for bad in [
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope",
            "HTTP/1.1 301 Moved\r\nLocation: https://elsewhere/\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>",
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 99\r\n\r\nshort",
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "garbage",
        ] {
            assert!(body(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
