//! A consistent copy of the store taken while it serves, a check that a copy is whole, and
//! its restoration into an empty data directory.
//!
//! The copy is a write in the group-commit queue that writes nothing: while it runs, no
//! other write commits and no body file is released (files go only after a commit), so the
//! tables it copies and the body files it links agree. Body files never change once placed,
//! so a hard link is a copy (a plain copy where the destination is another file system).
//! Writers wait meanwhile: the copy takes as long as writing the database once.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use crate::typed::{Open, ReadableTable};
use engine::store::{BackupReport, BlobId, StoreError, StoreResult};
use sha2::{Digest, Sha256};

use crate::blobs::BlobFiles;
use crate::error::{DbResultExt, file_error};
use crate::files;
use crate::group_commit::{Batch, WriteOp};
use crate::tables::Tables;
use crate::{BLOBS_DIR, DATABASE_FILE};

/// The [`WriteOp`] that copies the store into an empty directory.
pub(crate) struct Snapshot {
    pub(crate) dest: std::path::PathBuf,
    pub(crate) blobs: BlobFiles,
}

impl WriteOp for Snapshot {
    type Plan = BackupReport;
    type Output = BackupReport;

    // Everything happens in `prepare`, which may do what can fail and change no table.
    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<BackupReport> {
        let database = copy_database().create(self.dest.join(DATABASE_FILE)).db()?;
        let txn = database.begin_write().db()?;
        let mut copied = BackupReport::default();
        {
            let mut to = Tables::open(&txn)?;
            copied.rows = copy_tables(&batch.tables, &mut to)?;
        }
        txn.commit().db()?;
        let copies = BlobFiles::new(&self.dest.join(BLOBS_DIR));
        for row in batch.tables.blob_refs.iter().db()? {
            let id = BlobId(*row.db()?.0.value());
            if batch.tables.blob_data.get(&id.0).db()?.is_some() {
                continue;
            }
            let (from, to) = (self.blobs.path(&id), copies.path(&id));
            if let Some(dir) = to.parent() {
                files::private_dir()
                    .recursive(true)
                    .create(dir)
                    .map_err(|e| file_error("creating", dir, e))?;
            }
            fs::hard_link(&from, &to)
                .or_else(|_| fs::copy(&from, &to).map(drop))
                .map_err(|e| file_error("copying", &from, e))?;
        }
        Ok(copied)
    }

    fn apply(plan: BackupReport, _: &mut Batch<'_>) -> StoreResult<BackupReport> {
        Ok(plan)
    }

    // Nothing is written: no fsync is owed to anyone for it.
    const DURABLE: bool = false;
}

/// How a copy's database is opened: with the store's bounded page cache, not redb's
/// 1 GiB, so that copying a large store does not grow the server by the store's size.
pub(crate) fn copy_database() -> redb::Builder {
    let mut builder = redb::Builder::new();
    builder.set_cache_size(crate::DEFAULT_CACHE_SIZE);
    builder
}

/// Copies every table, row by row as stored.
fn copy_tables(from: &Tables<'_>, to: &mut Tables<'_>) -> StoreResult<u64> {
    let mut rows = 0;
    for (from, to) in from.raw().into_iter().zip(to.raw_mut()) {
        for row in redb::ReadableTable::iter(from).db()? {
            let (key, value) = row.db()?;
            to.insert(key.value(), value.value()).db()?;
            rows += 1;
        }
    }
    Ok(rows)
}

/// Reads every body the database refers to and checks its bytes against its id (their
/// SHA-256): a copy that passes holds every message whole.
pub(crate) fn verify(txn: &redb::ReadTransaction, blobs: &BlobFiles) -> StoreResult<BackupReport> {
    let mut found = BackupReport::default();
    let refs = txn.open(crate::tables::BLOB_REFS).db()?;
    for row in refs.iter().db()? {
        let id = BlobId(*row.db()?.0.value());
        let mut reader = crate::blobs::read(txn, blobs, &id)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let n = reader
                .read(&mut buffer)
                .map_err(|e| StoreError::Io(format!("reading message body {id}: {e}")))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            found.bytes += n as u64;
        }
        if <[u8; 32]>::from(hasher.finalize()) != id.0 {
            return Err(StoreError::Io(format!(
                "message body {id} does not have the bytes its name says: the copy is damaged"
            )));
        }
        found.bodies += 1;
    }
    Ok(found)
}

/// Copies the backup in `src` into `data_dir`, which must hold no store.
pub(crate) fn restore(src: &Path, data_dir: &Path) -> io::Result<()> {
    files::private_dir().recursive(true).create(data_dir)?;
    fs::copy(src.join(DATABASE_FILE), data_dir.join(DATABASE_FILE))?;
    copy_tree(&src.join(BLOBS_DIR), &data_dir.join(BLOBS_DIR))
}

fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    if !from.is_dir() {
        return Ok(());
    }
    files::private_dir().recursive(true).create(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs::hard_link(entry.path(), &target)
                .or_else(|_| fs::copy(entry.path(), &target).map(drop))?;
        }
    }
    Ok(())
}
