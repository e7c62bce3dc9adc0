//! Secrets the server keeps in its data directory, readable by its owner only: made once,
//! then read back at every start, so what they sign stays valid across restarts.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The key of the sender rewriting of forwarded mail (SRS): `srs.key` in the data directory,
/// 32 random bytes made on first start. Bounces to addresses rewritten with a lost key are
/// refused, so it belongs in backups with the rest of the directory.
pub fn srs_key(data_dir: &Path) -> Result<[u8; 32], String> {
    let path = data_dir.join("srs.key");
    match std::fs::read(&path) {
        Ok(bytes) => <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
            format!(
                "{} is not a 32-byte key; remove it to make a new one",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0; 32];
            rustls::crypto::ring::default_provider()
                .secure_random
                .fill(&mut key)
                .map_err(|_| "the system gives no random bytes".to_string())?;
            write_private(&path, &key)?;
            tracing::info!(key = %path.display(), "made the key for rewriting forwarded senders");
            Ok(key)
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Writes a file only its owner can read: everything in the data directory is the owner's.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
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
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_srs_key_is_made_once_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = srs_key(dir.path()).unwrap();
        assert_eq!(srs_key(dir.path()).unwrap(), first);
        let mode = std::fs::metadata(dir.path().join("srs.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(dir.path().join("srs.key"), b"short").unwrap();
        assert!(srs_key(dir.path()).unwrap_err().contains("32-byte"));
    }
}
