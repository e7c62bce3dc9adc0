//! The answers to the challenges of an order in progress, where the listeners find them:
//! the HTTP router for HTTP-01 (RFC 8555 8.3) and the TLS certificate resolver for
//! TLS-ALPN-01 (RFC 8737). Only this server's own orders put answers here, one per name it
//! asked for, and take them out when the order ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use rcgen::{CertificateParams, CustomExtension, KeyPair};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The path under which HTTP-01 answers are fetched.
pub const HTTP_PREFIX: &str = "/.well-known/acme-challenge/";

/// The ALPN protocol a TLS-ALPN-01 validation offers, alone.
pub const ALPN: &[u8] = b"acme-tls/1";

/// Answers waiting for the certificate authority's validation.
#[derive(Debug, Default)]
pub struct Challenges {
    /// HTTP-01: token → key authorization.
    http: Mutex<HashMap<String, String>>,
    /// TLS-ALPN-01: name → the certificate that proves control of it.
    tls_alpn: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl Challenges {
    /// The body of `GET /.well-known/acme-challenge/<token>`, for a token of ours.
    pub fn http_answer(&self, path: &str) -> Option<String> {
        let token = path.strip_prefix(HTTP_PREFIX)?;
        lock(&self.http).get(token).cloned()
    }

    /// The certificate a TLS-ALPN-01 validation of `name` is answered with.
    pub fn tls_alpn_answer(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        lock(&self.tls_alpn)
            .get(&name.to_ascii_lowercase())
            .cloned()
    }

    pub(crate) fn put_http(&self, token: &str, key_authorization: &str) {
        lock(&self.http).insert(token.to_owned(), key_authorization.to_owned());
    }

    pub(crate) fn remove_http(&self, token: &str) {
        lock(&self.http).remove(token);
    }

    /// Makes and keeps the certificate for a TLS-ALPN-01 validation of `name`: self-signed,
    /// naming `name` alone, with the acmeIdentifier extension holding the SHA-256 digest of
    /// the key authorization (RFC 8737 3).
    pub(crate) fn put_tls_alpn(&self, name: &str, digest: &[u8]) -> Result<(), String> {
        let failed = |e: rcgen::Error| format!("cannot make the TLS-ALPN-01 certificate: {e}");
        let mut params = CertificateParams::new(vec![name.to_owned()]).map_err(failed)?;
        params.custom_extensions = vec![CustomExtension::new_acme_identifier(digest)];
        let key = KeyPair::generate().map_err(failed)?;
        let cert = params.self_signed(&key).map_err(failed)?;
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        // Not `CertifiedKey::from_der`: its check parses the certificate with webpki, which
        // refuses the acmeIdentifier extension it does not know (it is critical).
        let signing = rustls::crypto::ring::default_provider()
            .key_provider
            .load_private_key(private)
            .map_err(|e| format!("cannot use the TLS-ALPN-01 key: {e}"))?;
        let certified = CertifiedKey::new(vec![cert.der().clone()], signing);
        lock(&self.tls_alpn).insert(name.to_ascii_lowercase(), Arc::new(certified));
        Ok(())
    }

    pub(crate) fn remove_tls_alpn(&self, name: &str) {
        lock(&self.tls_alpn).remove(&name.to_ascii_lowercase());
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_found_by_token_and_name_until_removed() {
        let challenges = Challenges::default();
        challenges.put_http("tok-1", "tok-1.thumb");
        assert_eq!(
            challenges
                .http_answer("/.well-known/acme-challenge/tok-1")
                .as_deref(),
            Some("tok-1.thumb")
        );
        assert_eq!(
            challenges.http_answer("/.well-known/acme-challenge/tok-2"),
            None
        );
        assert_eq!(challenges.http_answer("/tok-1"), None);
        challenges.remove_http("tok-1");
        assert_eq!(
            challenges.http_answer("/.well-known/acme-challenge/tok-1"),
            None
        );

        challenges
            .put_tls_alpn("Mail.Example.com", &[7; 32])
            .unwrap();
        let answer = challenges.tls_alpn_answer("mail.example.com").unwrap();
        // The digest sits in the certificate, DER OCTET STRING of 32 bytes.
        let der = answer.cert[0].as_ref();
        let mut expected = vec![0x04, 0x20];
        expected.extend_from_slice(&[7; 32]);
        assert!(der.windows(expected.len()).any(|w| w == expected));
        challenges.remove_tls_alpn("mail.example.com");
        assert!(challenges.tls_alpn_answer("mail.example.com").is_none());
    }
}
