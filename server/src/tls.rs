//! The TLS server configuration: the operator's certificate, or a self-signed one made on
//! first start so that STARTTLS and implicit TLS work out of the box.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::Tls;

/// Builds the rustls configuration from the configured files, or from the self-signed pair
/// in `data_dir/tls/` (created when missing). Returns it with the certificate's path.
pub fn load(
    configured: Option<&Tls>,
    data_dir: &Path,
    hostname: &str,
) -> Result<(Arc<ServerConfig>, PathBuf), String> {
    let (cert, key) = match configured {
        Some(tls) => (tls.cert.clone(), tls.key.clone()),
        None => self_signed(data_dir, hostname)?,
    };
    let chain = CertificateDer::pem_file_iter(&cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read certificate {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("no certificate found in {}", cert.display()));
    }
    let private_key = PrivateKeyDer::from_pem_file(&key)
        .map_err(|e| format!("cannot read private key {}: {e}", key.display()))?;
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| {
            format!(
                "certificate {} and key {} do not form a usable pair: {e}",
                cert.display(),
                key.display()
            )
        })?;
    Ok((Arc::new(config), cert))
}

/// The generated pair's paths, creating it on first use.
fn self_signed(data_dir: &Path, hostname: &str) -> Result<(PathBuf, PathBuf), String> {
    let dir = data_dir.join("tls");
    let cert = dir.join("self-signed.crt");
    let key = dir.join("self-signed.key");
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut names = vec![hostname.to_string()];
    if hostname != "localhost" {
        names.push("localhost".into());
    }
    let generated = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("cannot generate a self-signed certificate: {e}"))?;
    write_private(&key, generated.signing_key.serialize_pem().as_bytes())?;
    write_private(&cert, generated.cert.pem().as_bytes())?;
    tracing::info!(cert = %cert.display(), "generated a self-signed certificate");
    Ok((cert, key))
}

/// Writes a file only its owner can read: everything in the data directory is the owner's.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(bytes))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_is_made_once_and_loads() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let (_, cert) = load(None, dir.path(), "mail.test").unwrap();
        let first = std::fs::read(&cert).unwrap();
        load(None, dir.path(), "mail.test").unwrap();
        assert_eq!(std::fs::read(&cert).unwrap(), first, "kept across restarts");
    }

    #[test]
    fn missing_files_are_named() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls = Tls {
            cert: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
        };
        let err = load(Some(&tls), Path::new("/tmp"), "x").unwrap_err();
        assert!(err.contains("/nonexistent/cert.pem"), "{err}");
    }
}
