//! The rustls side of DANE: a certificate verifier that checks the server's chain against its
//! TLSA records instead of a list of trusted roots. Both runtimes' dialers use it through
//! [`ClientTls`](crate::client_tls::ClientTls).

use std::fmt;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, DigitallySignedStruct, Error, OtherError, RootCertStore, SignatureScheme,
};

use super::Usable;

/// Why a certificate was refused: its chain matches none of the TLSA records.
#[derive(Debug)]
pub struct Mismatch;

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the certificate does not match the server's TLSA records")
    }
}

impl std::error::Error for Mismatch {}

/// Checks a server's certificate against its usable TLSA records (RFC 7672 §3.1):
/// - DANE-EE: the server's own certificate matches; no name, date or chain check.
/// - DANE-TA: a certificate of the chain (or one a `2 0 0` record holds whole) matches, and
///   the server's certificate chains to it, is in date and names the host the connection
///   was made for (the MX host name, RFC 7672 §3.2.2).
///
/// The handshake's signatures are checked as always, so the server must hold the key.
#[derive(Debug)]
pub struct DaneVerifier {
    records: Arc<Usable>,
    provider: Arc<CryptoProvider>,
}

impl DaneVerifier {
    pub fn new(records: Arc<Usable>, provider: Arc<CryptoProvider>) -> Self {
        DaneVerifier { records, provider }
    }

    /// DANE-TA: a chain validation whose only trust anchors are the matching certificates.
    fn anchored(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), Error> {
        let mut anchors = RootCertStore::empty();
        let in_chain = intermediates
            .iter()
            .filter(|cert| self.records.anchor_matches(cert))
            .map(|cert| cert.as_ref());
        for anchor in in_chain.chain(self.records.full_anchors()) {
            // An anchor webpki cannot read is no anchor; the others may still do.
            let _ = anchors.add(CertificateDer::from(anchor.to_vec()));
        }
        if anchors.is_empty() {
            return Err(mismatch());
        }
        WebPkiServerVerifier::builder_with_provider(Arc::new(anchors), self.provider.clone())
            .build()
            .map_err(|e| Error::General(e.to_string()))?
            .verify_server_cert(end_entity, intermediates, server_name, &[], now)
            .map(|_| ())
    }
}

impl ServerCertVerifier for DaneVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if self.records.end_entity_matches(end_entity) {
            return Ok(ServerCertVerified::assertion());
        }
        if !self.records.has_anchors() {
            return Err(mismatch());
        }
        self.anchored(end_entity, intermediates, server_name, now)
            .map(|()| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn mismatch() -> Error {
    Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Mismatch))))
}

/// Whether a failed handshake's error is a certificate that did not match its TLSA records.
pub fn is_mismatch(error: &std::io::Error) -> bool {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<Error>())
        .is_some_and(|e| matches!(e, Error::InvalidCertificate(_)))
}
