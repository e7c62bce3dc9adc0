//! SIGHUP: read the configuration file again and present its certificate (a renewed one,
//! or another file) from the next handshake on. Nothing stops: connections keep the
//! certificate they started with. A configuration or certificate that cannot be used is
//! logged and the server goes on as it was.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use engine::Engine;
use engine::store::Store;

use crate::config::Config;
use crate::tls::{self, Presented};

/// What a reload needs: where the configuration is, and what the running server chose at
/// start (its data directory, hostname and addresses name the self-signed certificate).
pub struct Reload<S: Store> {
    pub file: Option<PathBuf>,
    pub engine: Arc<Engine<S>>,
    pub presented: Arc<Presented>,
    pub data_dir: PathBuf,
    pub hostname: String,
    pub listening: Vec<IpAddr>,
}

impl<S: Store> Reload<S> {
    /// Reloads, and logs (and audits) what it did.
    pub fn run(&self) {
        let config = match Config::load(self.file.as_deref(), std::env::vars()) {
            Ok(config) => config,
            Err(error) => {
                tracing::error!(%error, "not reloaded: the configuration cannot be used; nothing changed");
                return;
            }
        };
        let pair = tls::read(&tls::Source {
            files: config.tls.as_ref(),
            acme: config.acme.is_some(),
            data_dir: &self.data_dir,
            hostname: &self.hostname,
            listening: &self.listening,
        });
        match pair {
            Ok(pair) => {
                let path = pair.path.display().to_string();
                let described = pair.certificate.clone();
                tls::present(&self.engine, &self.presented, pair);
                let (names, until) = described.map_or((String::new(), String::new()), |c| {
                    (c.names.join(" "), engine::mail::date::rfc3339(c.not_after))
                });
                tracing::info!(
                    cert = path,
                    names,
                    until,
                    "reloaded: new connections get this certificate (other settings apply at the next start)"
                );
                self.engine
                    .audit("reload", "server", None, &format!("certificate {path}"));
            }
            Err(error) => {
                tracing::error!(%error, "not reloaded: the certificate cannot be used; the one in use stays");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new pair for `name` in `dir`; its certificate (DER).
    fn write_pair(dir: &std::path::Path, name: &str) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new([name.to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
        cert.der().to_vec()
    }

    /// The names the engine describes and the certificate a handshake gets.
    fn presented(reload: &Reload<store_redb::RedbStore>) -> (Vec<String>, Vec<u8>) {
        let names = reload.engine.certificate().unwrap().names;
        let key = reload.presented.current();
        (names, key.cert[0].to_vec())
    }

    #[test]
    fn a_reload_presents_the_new_pair_and_an_unusable_one_changes_nothing() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("postern.toml");
        std::fs::write(&file, "[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n").unwrap();
        let first = write_pair(dir.path(), "one.test");
        let config = Config::load(Some(&file), []).unwrap();
        let source = tls::Source {
            files: config.tls.as_ref(),
            acme: false,
            data_dir: dir.path(),
            hostname: "mx.test",
            listening: &[],
        };
        let loaded = tls::load(&source, Arc::default()).unwrap();
        let store = store_redb::RedbStore::open(&dir.path().join("data")).unwrap();
        let engine = Arc::new(Engine::new(store, "mx.test"));
        engine.set_certificate(loaded.certificate);
        let reload = Reload {
            file: Some(file.clone()),
            engine,
            presented: loaded.presented,
            data_dir: dir.path().join("data"),
            hostname: "mx.test".into(),
            listening: Vec::new(),
        };
        assert_eq!(presented(&reload), (vec!["one.test".into()], first.clone()));

        let second = write_pair(dir.path(), "two.test");
        reload.run();
        assert_eq!(
            presented(&reload),
            (vec!["two.test".into()], second.clone())
        );

        // A key of another certificate; then a file that is not a certificate; then a
        // configuration with a mistake: each time the pair in use stays.
        let key = std::fs::read(dir.path().join("key.pem")).unwrap();
        write_pair(dir.path(), "three.test");
        std::fs::write(dir.path().join("key.pem"), key).unwrap();
        reload.run();
        assert_eq!(
            presented(&reload),
            (vec!["two.test".into()], second.clone())
        );
        std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
        reload.run();
        assert_eq!(
            presented(&reload),
            (vec!["two.test".into()], second.clone())
        );
        std::fs::write(&file, "[tls]\ncert = 5\n").unwrap();
        reload.run();
        assert_eq!(presented(&reload), (vec!["two.test".into()], second));
    }
}
