//! The client TLS configurations outbound connections choose from, one per way of checking
//! the server's certificate. Both runtimes' dialers hold one [`ClientTls`], so the choice,
//! and DANE's verifier, are written once.

use std::io;
use std::sync::Arc;

use rustls::ClientConfig;

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
