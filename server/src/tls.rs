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

use engine::Engine;
use engine::acme::{ALPN, Challenges};
use engine::client_tls::pem_certificates;
use engine::store::Store;

use crate::config::Tls;
use crate::secrets::write_private;

mod validity;

/// The server's TLS configurations and what they present.
#[derive(Debug)]
pub struct Loaded {
    /// For every listener but HTTPS.
    pub config: Arc<ServerConfig>,
    /// For HTTPS: HTTP/1.1 by ALPN, and `acme-tls/1` for TLS-ALPN-01 validations.
    pub https: Arc<ServerConfig>,
    /// The certificate presented, which [`present`] changes while the server runs.
    pub presented: Arc<Presented>,
    /// The certificate file.
    pub path: PathBuf,
    /// Its names and validity, when they can be read.
    pub certificate: Option<engine::web::Certificate>,
}

/// Where the presented certificate comes from, and what a self-signed one names.
pub struct Source<'a> {
    /// `[tls]`: the operator's files.
    pub files: Option<&'a Tls>,
    /// `[acme]` is on: the certificate it obtained, once there is one.
    pub acme: bool,
    pub data_dir: &'a Path,
    pub hostname: &'a str,
    /// The addresses the server listens on.
    pub listening: &'a [IpAddr],
}

/// Builds the rustls configurations around the certificate [`read`] finds; TLS-ALPN-01
/// validations are answered from `challenges`.
pub fn load(source: &Source<'_>, challenges: Arc<Challenges>) -> Result<Loaded, String> {
    let pair = read(source)?;
    let presented = Arc::new(Presented {
        current: RwLock::new(pair.key),
        challenges,
    });
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(presented.clone());
    let mut https = config.clone();
    https.alpn_protocols = vec![b"http/1.1".to_vec(), ALPN.to_vec()];
    Ok(Loaded {
        config: Arc::new(config),
        https: Arc::new(https),
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
    /// Its names and validity, when they can be read.
    pub certificate: Option<engine::web::Certificate>,
}

/// Reads the pair to present: the `[tls]` files; else, with `[acme]`, the certificate it
/// obtained; else the self-signed pair in `data_dir/tls/` (made when missing, or again when
/// the hostname or the listening addresses changed).
pub fn read(source: &Source<'_>) -> Result<Pair, String> {
    if let Some(tls) = source.files {
        return pair(&tls.cert, &tls.key);
    }
    if source.acme {
        let (cert, key) = crate::acme::files(source.data_dir);
        if cert.exists() {
            match pair(&cert, &key) {
                Ok(pair) => return Ok(pair),
                Err(error) => {
                    tracing::warn!(%error, "the ACME certificate cannot be used; a self-signed one stands in until a new one is obtained");
                }
            }
        }
    }
    let (cert, key) = self_signed(source.data_dir, source.hostname, source.listening)?;
    pair(&cert, &key)
}

/// The chain in `cert` and the private key in `key`.
pub fn pair(cert: &Path, key: &Path) -> Result<Pair, String> {
    let chain = pem_certificates(cert)?;
    let certificate = chain.first().and_then(validity::describe);
    let private_key = PrivateKeyDer::from_pem_file(key)
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
        path: cert.to_path_buf(),
        certificate,
    })
}

/// Presents `pair` from the next handshake on, and tells `engine` (health, dashboard) what
/// it is.
pub fn present<S: Store>(engine: &Engine<S>, presented: &Presented, pair: Pair) {
    // Described first, so that whoever gets the new one can read about it.
    engine.set_certificate(pair.certificate);
    *presented
        .current
        .write()
        .unwrap_or_else(PoisonError::into_inner) = pair.key;
}

/// The certificate every handshake is answered with, replaceable while the server runs:
/// connections made keep the one they started with, new ones get the new one, and none
/// is dropped.
#[derive(Debug)]
pub struct Presented {
    current: RwLock<Arc<CertifiedKey>>,
    challenges: Arc<Challenges>,
}

impl Presented {
    /// What a handshake gets now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ResolvesServerCert for Presented {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // RFC 8737 3: a TLS-ALPN-01 validation offers `acme-tls/1` and names what it
        // validates; it gets the challenge's certificate, or no handshake.
        if hello
            .alpn()
            .is_some_and(|mut offered| offered.any(|p| p == ALPN))
        {
            return hello
                .server_name()
                .and_then(|name| self.challenges.tls_alpn_answer(name));
        }
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

    fn source<'a>(
        files: Option<&'a Tls>,
        acme: bool,
        data_dir: &'a Path,
        hostname: &'a str,
        listening: &'a [IpAddr],
    ) -> Source<'a> {
        Source {
            files,
            acme,
            data_dir,
            hostname,
            listening,
        }
    }

    fn load_from(source: &Source<'_>) -> Result<Loaded, String> {
        load(source, Arc::default())
    }

    #[test]
    fn self_signed_is_made_once_and_loads() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let listening = ["0.0.0.0".parse().unwrap(), "192.0.2.7".parse().unwrap()];
        let loaded = load_from(&source(None, false, dir.path(), "mail.test", &listening)).unwrap();
        let cert = loaded.path;
        let names = loaded.certificate.unwrap().names;
        assert_eq!(
            names,
            ["mail.test", "localhost"],
            "the certificate is described"
        );
        let first = std::fs::read(&cert).unwrap();
        load_from(&source(None, false, dir.path(), "mail.test", &listening)).unwrap();
        assert_eq!(std::fs::read(&cert).unwrap(), first, "kept across restarts");
        load_from(&source(None, false, dir.path(), "other.test", &listening)).unwrap();
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
        let err = load_from(&source(Some(&tls), false, Path::new("/tmp"), "x", &[])).unwrap_err();
        assert!(err.contains("/nonexistent/cert.pem"), "{err}");
    }

    #[test]
    fn an_obtained_certificate_is_presented_and_a_broken_one_stands_aside() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let acme_on = source(None, true, dir.path(), "mail.test", &[]);
        // None obtained yet: self-signed.
        assert_eq!(
            read(&acme_on).unwrap().path,
            dir.path().join("tls/self-signed.crt")
        );
        let (cert, key) = crate::acme::files(dir.path());
        std::fs::create_dir_all(cert.parent().unwrap()).unwrap();
        let signing = rcgen::KeyPair::generate().unwrap();
        let issued = rcgen::CertificateParams::new(vec!["mail.example.com".into()])
            .unwrap()
            .self_signed(&signing)
            .unwrap();
        std::fs::write(&cert, issued.pem()).unwrap();
        std::fs::write(&key, signing.serialize_pem()).unwrap();
        let pair = read(&acme_on).unwrap();
        assert_eq!(pair.path, cert);
        assert_eq!(pair.certificate.unwrap().names, ["mail.example.com"]);
        // Without [acme] the file is not looked at.
        let acme_off = source(None, false, dir.path(), "mail.test", &[]);
        assert_ne!(read(&acme_off).unwrap().path, cert);
        std::fs::write(&key, "not a key").unwrap();
        assert_ne!(read(&acme_on).unwrap().path, cert);
    }
}
