//! The file-system side of a write transaction: blob files are created before the commit
//! that refers to them and synced, with their directories, before it; removed if the
//! transaction is abandoned; and files whose last reference goes are removed after it.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use engine::store::StoreResult;

use crate::error::file_error;

/// The file-system side of one write transaction.
#[derive(Default)]
pub(crate) struct FileChanges {
    /// Directories whose entries must be durable before the commit.
    dirs_to_sync: BTreeSet<PathBuf>,
    /// Files this transaction created: removed if it is abandoned.
    created: Vec<PathBuf>,
    /// Files no message refers to once this transaction commits.
    released: BTreeSet<PathBuf>,
}

impl FileChanges {
    /// `path` was created in `dir` by this transaction.
    pub(crate) fn created(&mut self, path: PathBuf, dir: PathBuf) {
        self.released.remove(&path);
        self.created.push(path);
        self.dirs_to_sync.insert(dir);
    }

    /// `path` in `dir` was there already and is used again by this transaction.
    pub(crate) fn keep(&mut self, path: PathBuf, dir: PathBuf) {
        self.released.remove(&path);
        self.dirs_to_sync.insert(dir);
    }

    /// `dir` gained an entry (a new subdirectory, say) that must be durable.
    pub(crate) fn sync_later(&mut self, dir: PathBuf) {
        self.dirs_to_sync.insert(dir);
    }

    /// Nothing refers to `path` once this transaction commits.
    pub(crate) fn release(&mut self, path: PathBuf) {
        self.released.insert(path);
    }

    /// Makes new directory entries durable; the commit must not happen if this fails.
    pub(crate) fn before_commit(&self) -> StoreResult<()> {
        self.dirs_to_sync.iter().try_for_each(|dir| sync_dir(dir))
    }

    /// Removes the files the committed transaction released.
    pub(crate) fn after_commit(self) {
        for path in self.released {
            remove_quietly(&path, "cannot remove unreferenced blob file");
        }
    }

    /// Removes the files placed for a transaction that was abandoned before committing.
    pub(crate) fn after_abort(self) {
        for path in self.created {
            remove_quietly(&path, "cannot remove blob file of an abandoned write");
        }
    }
}

/// Removes a file nothing refers to; failing leaves garbage behind, not damage, so it is logged.
/// Returns whether this call removed it.
pub(crate) fn remove_quietly(path: &Path, message: &str) -> bool {
    match fs::remove_file(path) {
        Ok(()) => true,
        Err(err) if err.kind() == io::ErrorKind::NotFound => false,
        Err(err) => {
            tracing::warn!(path = %path.display(), error = %err, "{message}");
            false
        }
    }
}

/// Makes the entries of `dir` (files created, renamed or removed in it) durable.
#[cfg(unix)]
pub(crate) fn sync_dir(dir: &Path) -> StoreResult<()> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|err| file_error("syncing directory", dir, err))
}

/// Directories cannot be opened for syncing here; the file system journals their entries.
#[cfg(not(unix))]
pub(crate) fn sync_dir(_dir: &Path) -> StoreResult<()> {
    Ok(())
}
