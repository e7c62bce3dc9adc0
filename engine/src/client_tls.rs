//! The client TLS configurations outbound connections choose from, one per way of checking
//! the server's certificate. Both runtimes' dialers hold one [`ClientTls`], so the choice,
//! and DANE's verifier, are written once.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::io::TlsCheck;
use crate::queue::dane::DaneVerifier;

/// Built once at start and shared by every connection; clones share the configurations.
#[derive(Clone)]
pub struct ClientTls {
    verified: Arc<ClientConfig>,
    unverified: Arc<ClientConfig>,
}

impl ClientTls {
    /// `verified` checks the certificate chain and name against trusted roots; `unverified`
    /// takes any certificate (opportunistic TLS). A DANE configuration is derived from
    /// `verified`'s crypto provider for each connection, as it holds that host's records.
    pub fn new(verified: Arc<ClientConfig>, unverified: Arc<ClientConfig>) -> Self {
        ClientTls {
            verified,
            unverified,
        }
    }

    /// The configurations outbound connections choose from, built once and shared by
    /// every connection: `verified` trusts Mozilla's roots and the PEM certificates of
    /// `ca_file`; `unverified` takes any certificate (opportunistic TLS, RFC 7435). DANE's
    /// configurations are derived from them per connection.
    pub fn load(ca_file: Option<&Path>) -> Result<ClientTls, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(path) = ca_file {
            for cert in pem_certificates(path)? {
                roots.add(cert).map_err(|e| {
                    format!(
                        "{} holds a certificate that cannot be a root: {e}",
                        path.display()
                    )
                })?;
            }
        }
        let builder = || {
            ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("cannot set up client TLS: {e}"))
        };
        let verified = builder()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let unverified = builder()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(
                provider.signature_verification_algorithms,
            )))
            .with_no_client_auth();
        Ok(ClientTls::new(Arc::new(verified), Arc::new(unverified)))
    }

    /// The configuration that checks a certificate as `check` says.
    pub fn config(&self, check: &TlsCheck) -> io::Result<Arc<ClientConfig>> {
        match check {
            TlsCheck::Any => Ok(self.unverified.clone()),
            TlsCheck::WebPki => Ok(self.verified.clone()),
            TlsCheck::Dane(records) => {
                let provider = self.verified.crypto_provider().clone();
                let verifier = DaneVerifier::new(records.clone(), provider.clone());
                let config = ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(io::Error::other)?
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(verifier))
                    .with_no_client_auth();
                Ok(Arc::new(config))
            }
        }
    }
}

/// The certificates in the PEM file at `path`, at least one.
pub fn pem_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read certificate {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate found in {}", path.display()));
    }
    Ok(certs)
}

/// Takes any certificate: opportunistic TLS (RFC 7435) protects against passive
/// eavesdropping, which plain text does not, and a sender that cannot authenticate the
/// receiving MX gains nothing by refusing it. The handshake signatures are still checked,
/// by the provider's own verification, so the server must hold the key of the certificate
/// it sent.
#[derive(Debug)]
struct AnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unusable_ca_file_is_named() {
        let err = ClientTls::load(Some(Path::new("/nonexistent/ca.pem")))
            .err()
            .unwrap();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
        let empty = std::env::temp_dir().join(format!("postern-empty-{}.pem", std::process::id()));
        std::fs::write(&empty, "").unwrap();
        let err = ClientTls::load(Some(&empty)).err().unwrap();
        let _ = std::fs::remove_file(&empty);
        assert!(err.contains("no certificate found"), "{err}");
    }
}
