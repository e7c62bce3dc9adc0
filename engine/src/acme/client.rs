//! instant-acme's requests sent through [`crate::https`]: the runtime's dialer, the
//! engine's resolver, a verified certificate, bounded responses.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use instant_acme::{BodyWrapper, BytesResponse, Error, HttpClient};

use crate::dns::Resolver;
use crate::https::{self, Request};
use crate::io::Dialer;

/// The largest response taken: a certificate chain is a few KiB.
const BODY_LIMIT: usize = 1024 * 1024;
/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Sends ACME requests to the certificate authority.
pub(crate) struct Client<D: Dialer> {
    pub resolver: Arc<dyn Resolver>,
    pub dialer: D,
}

impl<D: Dialer> HttpClient for Client<D> {
    fn request(
        &self,
        request: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, Error>> + Send>> {
        let (resolver, dialer) = (self.resolver.clone(), self.dialer.clone());
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = match body.collect().await {
                Ok(body) => body.to_bytes(),
                Err(never) => match never {},
            };
            if parts.uri.scheme_str() != Some("https") {
                return Err(Error::Str("the ACME server must be reached over https"));
            }
            let host = parts.uri.host().ok_or(Error::Str("a URL without a host"))?;
            let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let headers: Vec<(&str, &str)> = parts
                .headers
                .iter()
                .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
                .collect();
            let sent = Request {
                method: parts.method.as_str(),
                tls: true,
                host,
                port: parts.uri.port_u16().unwrap_or(443),
                target,
                headers: &headers,
                body: &body,
            };
            let received = https::send(&*resolver, &dialer, &sent, BODY_LIMIT, TIMEOUT)
                .await
                .map_err(|e| Error::Other(e.into()))?;
            let mut response = http::Response::builder().status(received.status);
            for (name, value) in &received.headers {
                response = response.header(name.as_str(), value.as_slice());
            }
            let response = response.body(()).map_err(|e| Error::Other(Box::new(e)))?;
            Ok(BytesResponse {
                parts: response.into_parts().0,
                body: Box::new(Bytes::from(received.body)),
            })
        })
    }
}
