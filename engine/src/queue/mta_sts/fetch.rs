//! Fetching a domain's MTA-STS policy: `https://mta-sts.<domain>/.well-known/mta-sts.txt`
//! with a verified certificate (RFC 8461 3.3). No redirects are followed, as the RFC
//! requires.

use std::time::Duration;

use crate::dns::Resolver;
use crate::https::{self, Request, Response};
use crate::io::Dialer;

/// The largest policy taken (RFC 8461 3.3 lets senders stop at 64 KiB).
const BODY_LIMIT: usize = 64 * 1024;

/// The policy text of `domain`, from `port` (443 but in tests).
pub(crate) async fn fetch<D: Dialer>(
    resolver: &dyn Resolver,
    dialer: &D,
    domain: &str,
    port: u16,
    timeout: Duration,
) -> Result<String, String> {
    let host = format!("mta-sts.{domain}");
    let request = Request {
        method: "GET",
        tls: true,
        host: &host,
        port,
        target: "/.well-known/mta-sts.txt",
        headers: &[("User-Agent", "Postern"), ("Accept", "text/plain")],
        body: &[],
    };
    let response = https::send(resolver, dialer, &request, BODY_LIMIT, timeout).await?;
    policy(response).map_err(|why| format!("{host}: {why}"))
}

/// The policy in a response: status 200, `text/plain`, UTF-8.
fn policy(response: Response) -> Result<String, String> {
    if response.status != 200 {
        return Err(format!("status {}", response.status));
    }
    let text_plain = response
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("text/plain"));
    if !text_plain {
        return Err("the policy is not text/plain".into());
    }
    String::from_utf8(response.body).map_err(|_| "the policy is not UTF-8".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, content_type: &str, body: &[u8]) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.as_bytes().to_vec())],
            body: body.to_vec(),
        }
    }

    #[test]
    fn a_policy_is_plain_text_with_status_200() {
        let text = "version: STSv1\r\nmode: enforce\r\n";
        let ok = response(200, "text/plain; charset=utf-8", text.as_bytes());
        assert_eq!(policy(ok).unwrap(), text);
        for bad in [
            response(404, "text/plain", b"nope"),
            response(301, "text/plain", b""),
            response(200, "text/html", b"<html>"),
            response(200, "text/plain", b"\xff\xfe"),
        ] {
            assert!(policy(bad).is_err());
        }
    }
}
