//! Keeping the data directory to its owner.
//!
//! The database holds every account's password hash and the blob and spool files hold mail, so
//! no other local user may read any of it. What the store creates is owner-only from the start
//! (directories 0700, files 0600: a umask can only take more away), and a data directory left
//! more open, by an older version or by hand, is tightened when the store opens.

use std::fs::{DirBuilder, OpenOptions};
use std::path::Path;

#[cfg(unix)]
use std::fs;
#[cfg(unix)]
use std::io;
#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
#[cfg(unix)]
use std::path::PathBuf;

/// A builder of directories only their owner may enter.
pub(crate) fn private_dir() -> DirBuilder {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut builder = DirBuilder::new();
    #[cfg(unix)]
    builder.mode(0o700);
    builder
}

/// Options that create files only their owner may read or write; the caller adds how to open.
pub(crate) fn private_file() -> OpenOptions {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    options.mode(0o600);
    options
}

/// Takes group and other permissions off `data_dir` and everything in it, and logs once what it
/// changed. Owner permissions stay as they are. Symbolic links inside are left alone (changing
/// one's mode would change its target, which may be outside the data directory); `data_dir`
/// itself may be one, to a directory on a larger disk say. An entry that cannot be checked or
/// changed (one another user owns, say) is logged and left as it is: it does not keep the store
/// from opening.
#[cfg(unix)]
pub(crate) fn tighten(data_dir: &Path) {
    let mut tightened = 0u64;
    let mut failed = 0u64;
    let mut first_failure = None;
    let root = fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let mut pending = vec![root];
    while let Some(path) = pending.pop() {
        match tighten_entry(&path, &mut pending) {
            Ok(changed) => tightened += u64::from(changed),
            // Removed while we looked: nothing left to protect.
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => {
                failed += 1;
                first_failure.get_or_insert_with(|| format!("{}: {err}", path.display()));
            }
        }
    }
    if tightened > 0 {
        tracing::warn!(
            data_dir = %data_dir.display(),
            entries = tightened,
            "the data directory was open to other users: took group and other permissions \
             off its entries"
        );
    }
    if let Some(first) = first_failure {
        tracing::warn!(
            data_dir = %data_dir.display(),
            entries = failed,
            first = %first,
            "cannot check or tighten the permissions of entries in the data directory"
        );
    }
}

/// Tightens the entry at `path` and queues a directory's entries; whether it changed the entry.
#[cfg(unix)]
fn tighten_entry(path: &Path, pending: &mut Vec<PathBuf>) -> io::Result<bool> {
    /// The permission bits that open an entry to its group and to others.
    const SHARED: u32 = 0o077;
    let meta = fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Ok(false);
    }
    let mode = meta.permissions().mode() & 0o7777;
    let changed = mode & SHARED != 0;
    if changed {
        fs::set_permissions(path, fs::Permissions::from_mode(mode & !SHARED))?;
    }
    if meta.is_dir() {
        for entry in fs::read_dir(path)? {
            pending.push(entry?.path());
        }
    }
    Ok(changed)
}

/// Modes are a Unix matter; elsewhere the data directory's access is the administrator's.
#[cfg(not(unix))]
pub(crate) fn tighten(_data_dir: &Path) {}
