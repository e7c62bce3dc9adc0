//! Message bodies at rest: content-addressed and reference-counted.
//!
//! A body of at most [`SMALL_BLOB_MAX`](crate::SMALL_BLOB_MAX) bytes is a row of the
//! `blob_data` table; a larger one is the file `blobs/ab/cdef…` (its id in hex, split after
//! the first byte). `blob_refs` counts the messages using each body, whichever way it is stored.
//! `blob_summaries`, `blob_search` and `blob_headers` keep what the engine derived from a
//! body (its summary, search filter and header section), for as long as the body is kept.
//!
//! Files change along with the transaction that references them, through
//! [`FileChanges`](crate::file_changes::FileChanges): a
//! new file is synced, with its directory, before the commit that refers to it, and removed if
//! that transaction is abandoned; a file whose last reference goes is removed after the commit.
//! All of this happens on the group-commit leader, one batch at a time, so a file being placed
//! and the same file being removed never interleave.
//!
//! A file can still outlive every reference to it: when the process is killed between placing
//! it and the commit, or the commit fails after it was placed. [`BlobFiles::sweep_orphans`]
//! removes such files whenever the database is opened.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::typed::{Open, ReadableTable};
use engine::store::{BlobFact, BlobId, Message, StoreError, StoreResult};
use redb::{Database, ReadTransaction, ReadableDatabase};

use crate::error::{DbResultExt, file_error};
use crate::file_changes::{FileChanges, remove_quietly};
use crate::files;
use crate::group_commit::{Batch, WriteOp};
use crate::spool::TempFile;
use crate::tables::{BLOB_DATA, BLOB_REFS, Tables, fact_table};

/// The directory of large bodies.
#[derive(Clone, Debug)]
pub(crate) struct BlobFiles {
    root: Arc<Path>,
}

impl BlobFiles {
    pub(crate) fn new(root: &Path) -> Self {
        BlobFiles {
            root: Arc::from(root),
        }
    }

    /// The file of a large body.
    pub(crate) fn path(&self, id: &BlobId) -> PathBuf {
        self.location(id).1
    }

    /// The subdirectory and the file name of a large body.
    fn location(&self, id: &BlobId) -> (PathBuf, PathBuf) {
        let hex = id.to_string();
        let (prefix, rest) = hex.split_at(2);
        let dir = self.root.join(prefix);
        let path = dir.join(rest);
        (dir, path)
    }

    /// Makes the spooled (and synced) file `temp` the file of body `id`, which no message
    /// references yet. An intact copy already there (one released earlier in this batch, or
    /// left by an interrupted delivery) is kept instead.
    pub(crate) fn place(
        &self,
        changes: &mut FileChanges,
        id: &BlobId,
        size: u64,
        temp: TempFile,
    ) -> StoreResult<()> {
        let (dir, path) = self.location(id);
        if fs::metadata(&path).is_ok_and(|meta| meta.is_file() && meta.len() == size) {
            // A leftover's directory entry may never have been synced.
            changes.keep(path, dir);
            return Ok(());
        }
        match files::private_dir().create(&dir) {
            Ok(()) => changes.sync_later(self.root.to_path_buf()),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(file_error("creating blob directory", &dir, err)),
        }
        let from = temp.path().to_path_buf();
        temp.persist(&path)
            .map_err(|err| file_error(&format!("moving {} to", from.display()), &path, err))?;
        changes.created(path, dir);
        Ok(())
    }

    /// Removes the files of bodies that no committed message refers to, and logs how many and
    /// how large they were. Runs whenever the database is opened, while no write can be in
    /// flight.
    ///
    /// Each prefix directory is compared with the range of `blob_refs` its ids fall in: the
    /// ranges together read the table once, and only one directory's ids are held at a time.
    /// Files whose names are not body ids are not the store's, and stay.
    pub(crate) fn sweep_orphans(&self, db: &Database) -> StoreResult<()> {
        let txn = db.begin_read().db()?;
        let refs = txn.open(BLOB_REFS).db()?;
        let prefixes = fs::read_dir(&self.root)
            .map_err(|err| file_error("reading blob directory", &self.root, err))?;
        let (mut files, mut bytes) = (0u64, 0u64);
        // An entry that cannot be read is skipped: a sweep may leave garbage, never take data.
        for prefix in prefixes.filter_map(Result::ok) {
            let Some([first]) = prefix.file_name().to_str().and_then(from_hex::<1>) else {
                continue;
            };
            if !prefix.file_type().is_ok_and(|kind| kind.is_dir()) {
                continue;
            }
            let (mut low, mut high) = ([0; 32], [0xff; 32]);
            (low[0], high[0]) = (first, first);
            let mut referenced = HashSet::new();
            for row in refs.range::<&[u8; 32]>(&low..=&high).db()? {
                referenced.insert(*row.db()?.0.value());
            }
            let dir = prefix.path();
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(err) => {
                    tracing::warn!(path = %dir.display(), error = %err, "cannot sweep blob directory");
                    continue;
                }
            };
            for file in entries.filter_map(Result::ok) {
                let Some(rest) = file.file_name().to_str().and_then(from_hex::<31>) else {
                    continue;
                };
                let mut id = [first; 32];
                id[1..].copy_from_slice(&rest);
                if referenced.contains(&id) {
                    continue;
                }
                let size = file.metadata().map_or(0, |meta| meta.len());
                if remove_quietly(&file.path(), "cannot remove unreferenced blob file") {
                    files += 1;
                    bytes += size;
                }
            }
        }
        if files > 0 {
            tracing::info!(
                blobs = %self.root.display(),
                files,
                bytes,
                "removed blob files no message refers to (left by deliveries that never committed)"
            );
        }
        Ok(())
    }

    /// Opens the file of body `id`.
    fn open(&self, id: &BlobId) -> StoreResult<File> {
        let (_, path) = self.location(id);
        File::open(&path).map_err(|err| match err.kind() {
            io::ErrorKind::NotFound => StoreError::Io(format!(
                "the file of stored body {id} is missing: {}",
                path.display()
            )),
            _ => file_error("opening blob file", &path, err),
        })
    }
}

/// Adds `count` references to body `id`. `data` is the body when it is new and small.
pub(crate) fn add_refs(
    tables: &mut Tables<'_>,
    id: &BlobId,
    count: u64,
    data: Option<&[u8]>,
) -> StoreResult<()> {
    let refs = tables.blob_refs.get(&id.0).db()?.map_or(0, |v| v.value());
    tables
        .blob_refs
        .insert(&id.0, refs.saturating_add(count))
        .db()?;
    if let Some(data) = data {
        tables.blob_data.insert(&id.0, data).db()?;
    }
    Ok(())
}

/// How many of `messages` use each body.
fn count_bodies(messages: &[Message]) -> BTreeMap<BlobId, u64> {
    let mut counts = BTreeMap::new();
    for message in messages {
        *counts.entry(message.blob).or_insert(0) += 1;
    }
    counts
}

/// Adds the references of `messages`, new copies of stored messages, to their bodies.
pub(crate) fn share(tables: &mut Tables<'_>, messages: &[Message]) -> StoreResult<()> {
    for (id, count) in count_bodies(messages) {
        add_refs(tables, &id, count, None)?;
    }
    Ok(())
}

/// Drops the references `messages`, just removed, held on their bodies; see [`drop_refs`].
pub(crate) fn release(
    batch: &mut Batch<'_>,
    files: &BlobFiles,
    messages: &[Message],
) -> StoreResult<()> {
    for (id, count) in count_bodies(messages) {
        drop_refs(&mut batch.tables, files, &mut batch.files, &id, count)?;
    }
    Ok(())
}

/// Drops the reference a queued message held on its body.
pub(crate) fn release_one(
    batch: &mut Batch<'_>,
    files: &BlobFiles,
    id: &BlobId,
) -> StoreResult<()> {
    drop_refs(&mut batch.tables, files, &mut batch.files, id, 1)
}

/// Removes `count` references to body `id`; the body goes with its last reference (its row and
/// summary at once, its file after the commit).
fn drop_refs(
    tables: &mut Tables<'_>,
    files: &BlobFiles,
    changes: &mut FileChanges,
    id: &BlobId,
    count: u64,
) -> StoreResult<()> {
    let refs = tables.blob_refs.get(&id.0).db()?.map_or(0, |v| v.value());
    if refs > count {
        tables.blob_refs.insert(&id.0, refs - count).db()?;
        return Ok(());
    }
    if refs < count {
        tracing::warn!(blob = %id, refs, count, "stored body had fewer references than messages");
    }
    tables.blob_refs.remove(&id.0).db()?;
    for fact in BlobFact::ALL {
        tables.blob_facts(fact).remove(&id.0).db()?;
    }
    if tables.blob_data.remove(&id.0).db()?.is_none() {
        let (_, path) = files.location(id);
        changes.release(path);
    }
    Ok(())
}

/// Opens body `id` for reading.
pub(crate) fn read(
    txn: &ReadTransaction,
    files: &BlobFiles,
    id: &BlobId,
) -> StoreResult<BlobReader> {
    // A small body's row goes with its last reference (`drop_refs`): found, it is live. One
    // lookup for the bodies most messages have.
    let data = txn.open(BLOB_DATA).db()?;
    if let Some(bytes) = data.get(&id.0).db()? {
        return Ok(BlobReader(Source::Memory(Cursor::new(
            bytes.value().to_vec(),
        ))));
    }
    let refs = txn.open(BLOB_REFS).db()?;
    if refs.get(&id.0).db()?.is_none() {
        return Err(StoreError::NotFound(format!("message body {id}")));
    }
    Ok(BlobReader(Source::File(files.open(id)?)))
}

/// What the engine keeps of body `id` as `fact`, if it has set it.
pub(crate) fn fact(
    txn: &ReadTransaction,
    id: &BlobId,
    fact: BlobFact,
) -> StoreResult<Option<Vec<u8>>> {
    let facts = txn.open(fact_table(fact)).db()?;
    Ok(facts.get(&id.0).db()?.map(|v| v.value().to_vec()))
}

/// The [`WriteOp`] behind `Store::set_blob_fact`.
pub(crate) struct SetFact {
    pub(crate) blob: BlobId,
    pub(crate) fact: BlobFact,
    pub(crate) bytes: Vec<u8>,
}

impl WriteOp for SetFact {
    type Plan = SetFact;
    type Output = ();

    /// A fact can always be derived again from the body.
    const DURABLE: bool = false;

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<SetFact> {
        if batch.tables.blob_refs.get(&self.blob.0).db()?.is_none() {
            return Err(StoreError::NotFound(format!("message body {}", self.blob)));
        }
        Ok(self)
    }

    fn apply(plan: SetFact, batch: &mut Batch<'_>) -> StoreResult<()> {
        batch
            .tables
            .blob_facts(plan.fact)
            .insert(&plan.blob.0, plan.bytes.as_slice())
            .db()?;
        Ok(())
    }
}

/// A stored message body being read (the store's `BlobReader`): from memory for a body kept
/// in the database, from its file otherwise.
#[derive(Debug)]
pub struct BlobReader(Source);

#[derive(Debug)]
enum Source {
    Memory(Cursor<Vec<u8>>),
    File(File),
}

impl engine::store::BlobRead for BlobReader {
    fn is_in_memory(&self) -> bool {
        matches!(self.0, Source::Memory(_))
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.0 {
            Source::Memory(cursor) => cursor.read(buf),
            Source::File(file) => file.read(buf),
        }
    }
}

/// The `N` bytes spelt by `hex` in lower-case hexadecimal (how blob files are named), or `None`.
fn from_hex<const N: usize>(hex: &str) -> Option<[u8; N]> {
    let (pairs, []) = hex.as_bytes().as_chunks::<2>() else {
        return None;
    };
    if pairs.len() != N {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut bytes = [0; N];
    for (byte, &[high, low]) in bytes.iter_mut().zip(pairs) {
        *byte = digit(high)? << 4 | digit(low)?;
    }
    Some(bytes)
}
