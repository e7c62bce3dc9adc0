//! The TLS configurations: as a server, the operator's certificate or a self-signed one made
//! on first start so that STARTTLS and implicit TLS work out of the box; as a client, for
//! outbound delivery, a verifying one and an opportunistic one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SanType};
use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;

use engine::client_tls::pem_certificates;

use crate::config::Tls;
use crate::secrets::write_private;

mod validity;

/// The server's TLS configuration and what it presents.
#[derive(Debug)]
pub struct Loaded {
    pub config: Arc<ServerConfig>,
    /// The certificate presented, which [`Presented::replace`] changes while the server
    /// runs.
    pub presented: Arc<Presented>,
    /// The certificate file.
    pub path: PathBuf,
    /// Its names and expiry, when they can be read.
    pub certificate: Option<engine::web::Certificate>,
}

/// Builds the rustls configuration from the configured files, or from the self-signed pair
/// in `data_dir/tls/` (made when missing, or again when `hostname` or the `listening`
/// addresses changed).
pub fn load(
    configured: Option<&Tls>,
    data_dir: &Path,
    hostname: &str,
    listening: &[IpAddr],
) -> Result<Loaded, String> {
    let pair = read(configured, data_dir, hostname, listening)?;
    let presented = Arc::new(Presented(RwLock::new(pair.key)));
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(presented.clone());
    Ok(Loaded {
        config: Arc::new(config),
        presented,
        path: pair.path,
        certificate: pair.certificate,
    })
}

/// A certificate chain and its key, read from their files and checked to belong together.
pub struct Pair {
    key: Arc<CertifiedKey>,
    /// The certificate file.
    pub path: PathBuf,
    /// Its names and expiry, when they can be read.
    pub certificate: Option<engine::web::Certificate>,
}

/// Reads the pair [`load`] presents: the configured files, or the self-signed pair.
pub fn read(
    configured: Option<&Tls>,
    data_dir: &Path,
    hostname: &str,
    listening: &[IpAddr],
) -> Result<Pair, String> {
    let (cert, key) = match configured {
        Some(tls) => (tls.cert.clone(), tls.key.clone()),
        None => self_signed(data_dir, hostname, listening)?,
    };
    let chain = pem_certificates(&cert)?;
    let certificate = chain.first().and_then(validity::describe);
    let private_key = PrivateKeyDer::from_pem_file(&key)
        .map_err(|e| format!("cannot read private key {}: {e}", key.display()))?;
    let provider = rustls::crypto::ring::default_provider();
    let certified = CertifiedKey::from_der(chain, private_key, &provider).map_err(|e| {
        format!(
            "certificate {} and key {} do not form a usable pair: {e}",
            cert.display(),
            key.display()
        )
    })?;
    Ok(Pair {
        key: Arc::new(certified),
        path: cert,
        certificate,
    })
}

/// The certificate every handshake is answered with, replaceable while the server runs:
/// connections made keep the one they started with, new ones get the new one, and none
/// is dropped.
#[derive(Debug)]
pub struct Presented(RwLock<Arc<CertifiedKey>>);

impl Presented {
    /// Presents `pair` from the next handshake on.
    pub fn replace(&self, pair: Pair) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = pair.key;
    }

    /// What a handshake gets now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ResolvesServerCert for Presented {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// The names a self-signed certificate for `hostname` holds: the hostname as its subject's
/// common name and first SAN, then `localhost`, the loopback addresses and every specific
/// address the server listens on, so a client told to trust it can verify it however it
/// connects.
fn self_signed_names(hostname: &str, listening: &[IpAddr]) -> (Vec<String>, Vec<IpAddr>) {
    let mut names = vec![hostname.to_owned()];
    if hostname != "localhost" {
        names.push("localhost".into());
    }
    let mut addresses = vec![
        IpAddr::from(Ipv4Addr::LOCALHOST),
        IpAddr::from(Ipv6Addr::LOCALHOST),
    ];
    for &address in listening {
        if !address.is_unspecified() && !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    (names, addresses)
}

/// The generated pair's paths, made on first use and again when the names it should hold
/// changed (they are written beside it, in `self-signed.names`).
fn self_signed(
    data_dir: &Path,
    hostname: &str,
    listening: &[IpAddr],
) -> Result<(PathBuf, PathBuf), String> {
    let dir = data_dir.join("tls");
    let cert = dir.join("self-signed.crt");
    let key = dir.join("self-signed.key");
    let names_file = dir.join("self-signed.names");
    let (names, addresses) = self_signed_names(hostname, listening);
    let listed: Vec<String> = names
        .iter()
        .cloned()
        .chain(addresses.iter().map(IpAddr::to_string))
        .collect();
    let listed = listed.join("\n");
    let current = std::fs::read_to_string(&names_file).ok();
    if cert.exists() && key.exists() && current.as_deref() == Some(listed.as_str()) {
        return Ok((cert, key));
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let failed = |e: rcgen::Error| format!("cannot generate a self-signed certificate: {e}");
    let mut params = CertificateParams::new(names).map_err(failed)?;
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, hostname);
    params
        .subject_alt_names
        .extend(addresses.into_iter().map(SanType::IpAddress));
    let signing_key = KeyPair::generate().map_err(failed)?;
    let generated = params.self_signed(&signing_key).map_err(failed)?;
    write_private(&key, signing_key.serialize_pem().as_bytes())?;
    write_private(&cert, generated.pem().as_bytes())?;
    write_private(&names_file, listed.as_bytes())?;
    tracing::info!(cert = %cert.display(), names = %listed.replace('\n', " "), "generated a self-signed certificate");
    Ok((cert, key))
}

#[cfg(test)]
mod dial_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_is_made_once_and_loads() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let listening = ["0.0.0.0".parse().unwrap(), "192.0.2.7".parse().unwrap()];
        let loaded = load(None, dir.path(), "mail.test", &listening).unwrap();
        let cert = loaded.path;
        let names = loaded.certificate.unwrap().names;
        assert_eq!(
            names,
            ["mail.test", "localhost"],
            "the certificate is described"
        );
        let first = std::fs::read(&cert).unwrap();
        load(None, dir.path(), "mail.test", &listening).unwrap();
        assert_eq!(std::fs::read(&cert).unwrap(), first, "kept across restarts");
        load(None, dir.path(), "other.test", &listening).unwrap();
        assert_ne!(
            std::fs::read(&cert).unwrap(),
            first,
            "made again for a new hostname"
        );
    }

    #[test]
    fn self_signed_names_the_host_and_every_address() {
        let listening = [
            "0.0.0.0".parse().unwrap(),
            "192.0.2.7".parse().unwrap(),
            "127.0.0.1".parse().unwrap(),
        ];
        let (names, addresses) = self_signed_names("mail.test", &listening);
        assert_eq!(names, ["mail.test", "localhost"]);
        let addresses: Vec<String> = addresses.iter().map(IpAddr::to_string).collect();
        assert_eq!(addresses, ["127.0.0.1", "::1", "192.0.2.7"]);
    }

    #[test]
    fn missing_files_are_named() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls = Tls {
            cert: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
        };
        let err = load(Some(&tls), Path::new("/tmp"), "x", &[]).unwrap_err();
        assert!(err.contains("/nonexistent/cert.pem"), "{err}");
    }
}
