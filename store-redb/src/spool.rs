//! Message bodies on their way in: in memory up to [`SMALL_BLOB_MAX`] bytes, then in a file in
//! the spool directory, hashed as they are written.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

use engine::store::{BlobFact, BlobId, Spool, StoreError, StoreResult};
use sha2::{Digest, Sha256};

use crate::SMALL_BLOB_MAX;
use crate::error::file_error;
use crate::files;

/// The directory spools write their files into, and the thread that removes the files of
/// spools dropped unfinished.
///
/// A message is refused, or its client goes away, wherever the engine happens to be: often
/// on an async thread, which must not wait for a large file to be unlinked. Such a spool's
/// file goes to this thread instead, and whatever it has not removed when the process ends
/// is cleared at the next open ([`clear_stale`]).
pub(crate) struct SpoolDir {
    path: PathBuf,
    discards: mpsc::Sender<(File, TempFile)>,
}

impl SpoolDir {
    /// The spool directory at `path` (which exists); its thread runs until the store and
    /// every spool it made are gone.
    pub(crate) fn new(path: PathBuf) -> StoreResult<Arc<SpoolDir>> {
        let (discards, discarded) = mpsc::channel::<(File, TempFile)>();
        std::thread::Builder::new()
            .name("spool-discard".into())
            .spawn(move || discarded.into_iter().for_each(drop))
            .map_err(|err| StoreError::Io(format!("cannot start the spool's thread: {err}")))?;
        Ok(Arc::new(SpoolDir { path, discards }))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Closes and removes an unfinished spool's file on the spool's thread (here, should
    /// that thread be gone).
    fn discard(&self, file: File, temp: TempFile) {
        if let Err(mpsc::SendError(leftover)) = self.discards.send((file, temp)) {
            drop(leftover);
        }
    }
}

/// A message body being received (the store's [`Spool`]).
///
/// Holds at most [`SMALL_BLOB_MAX`] bytes in memory: the first write that would go past it
/// moves the body to a temporary file, which is removed if the spool is dropped without being
/// delivered (by the [`SpoolDir`]'s thread). After a failed write the spool refuses further
/// writes and delivery, since the body would have a hole.
pub struct RedbSpool {
    dir: Arc<SpoolDir>,
    hasher: Sha256,
    len: u64,
    buffer: Buffer,
    failed: bool,
    facts: Vec<(BlobFact, Vec<u8>)>,
}

enum Buffer {
    Memory(Vec<u8>),
    File {
        writer: BufWriter<File>,
        temp: TempFile,
    },
}

/// A completely received body, named by its hash, ready to be stored.
pub(crate) struct SpooledBody {
    pub(crate) id: BlobId,
    pub(crate) size: u64,
    pub(crate) data: BodyData,
    /// What the engine derived from the body, kept with it.
    pub(crate) facts: Vec<(BlobFact, Vec<u8>)>,
}

/// Where a [`SpooledBody`]'s bytes are.
pub(crate) enum BodyData {
    Memory(Vec<u8>),
    /// A file synced to disk.
    File(TempFile),
}

impl RedbSpool {
    /// An empty spool whose file, if it needs one, goes into `dir`.
    pub(crate) fn new(dir: Arc<SpoolDir>) -> Self {
        RedbSpool {
            dir,
            hasher: Sha256::new(),
            len: 0,
            buffer: Buffer::Memory(Vec::new()),
            failed: false,
            facts: Vec::new(),
        }
    }

    /// Ends the body: a file is flushed and synced to disk, and the body gets its id.
    pub(crate) fn finish(mut self) -> StoreResult<SpooledBody> {
        if self.failed {
            return Err(StoreError::Io(
                "the message body is incomplete: an earlier write to its spool failed".into(),
            ));
        }
        let data = match std::mem::replace(&mut self.buffer, Buffer::Memory(Vec::new())) {
            Buffer::Memory(bytes) => BodyData::Memory(bytes),
            Buffer::File { writer, temp } => {
                let file = writer.into_inner().map_err(|err| {
                    file_error("writing spool file", temp.path(), err.into_error())
                })?;
                file.sync_all()
                    .map_err(|err| file_error("syncing spool file", temp.path(), err))?;
                BodyData::File(temp)
            }
        };
        Ok(SpooledBody {
            id: BlobId(std::mem::take(&mut self.hasher).finalize().into()),
            size: self.len,
            data,
            facts: std::mem::take(&mut self.facts),
        })
    }

    /// Stores `bytes` after what is already there, moving to a file if memory would overflow.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.buffer {
            Buffer::Memory(data) if data.len() + bytes.len() <= SMALL_BLOB_MAX => {
                reserve_bounded(data, bytes.len());
                data.extend_from_slice(bytes);
                Ok(())
            }
            Buffer::Memory(data) => {
                let (file, temp) = TempFile::create(self.dir.path())?;
                let mut writer = BufWriter::new(file);
                writer
                    .write_all(data)
                    .and_then(|()| writer.write_all(bytes))
                    .map_err(|err| io_context(err, "writing spool file", temp.path()))?;
                self.buffer = Buffer::File { writer, temp };
                Ok(())
            }
            Buffer::File { writer, temp } => writer
                .write_all(bytes)
                .map_err(|err| io_context(err, "writing spool file", temp.path())),
        }
    }
}

/// Makes room for `extra` more bytes without the capacity passing [`SMALL_BLOB_MAX`] (plain
/// `Vec` growth doubles, which could allocate nearly twice that). The caller has checked that
/// the bytes themselves fit.
fn reserve_bounded(data: &mut Vec<u8>, extra: usize) {
    let needed = data.len() + extra;
    if needed > data.capacity() {
        let target = needed.max(data.capacity() * 2).min(SMALL_BLOB_MAX);
        data.reserve_exact(target - data.len());
    }
}

impl Write for RedbSpool {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::other(
                "an earlier write to this message spool failed",
            ));
        }
        match self.append(bytes) {
            Ok(()) => {
                self.hasher.update(bytes);
                self.len += bytes.len() as u64;
                Ok(bytes.len())
            }
            Err(err) => {
                self.failed = true;
                Err(err)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.buffer {
            Buffer::Memory(_) => Ok(()),
            Buffer::File { writer, temp } => writer
                .flush()
                .map_err(|err| io_context(err, "writing spool file", temp.path())),
        }
    }
}

impl Spool for RedbSpool {
    fn len(&self) -> u64 {
        self.len
    }

    fn attach_fact(&mut self, fact: BlobFact, bytes: Vec<u8>) {
        self.facts.push((fact, bytes));
    }

    fn prepend(&mut self, header: &[u8]) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other(
                "an earlier write to this message spool failed",
            ));
        }
        let result = self.rewrite_with(header);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn read_back(&mut self) -> io::Result<Vec<u8>> {
        match &mut self.buffer {
            Buffer::Memory(data) => Ok(data.clone()),
            Buffer::File { writer, temp } => {
                writer
                    .flush()
                    .map_err(|err| io_context(err, "writing spool file", temp.path()))?;
                fs::read(temp.path())
                    .map_err(|err| io_context(err, "reading spool file", temp.path()))
            }
        }
    }
}

impl RedbSpool {
    /// Starts the body again with `header`, then what it held; the hash is taken anew.
    fn rewrite_with(&mut self, header: &[u8]) -> io::Result<()> {
        let old = std::mem::replace(&mut self.buffer, Buffer::Memory(Vec::new()));
        self.hasher = Sha256::new();
        self.len = 0;
        self.write_all(header)?;
        match old {
            Buffer::Memory(data) => self.write_all(&data),
            Buffer::File { writer, temp } => {
                let file = writer.into_inner().map_err(|err| {
                    io_context(err.into_error(), "writing spool file", temp.path())
                })?;
                drop(file);
                let mut reader = io::BufReader::with_capacity(
                    64 * 1024,
                    File::open(temp.path())
                        .map_err(|err| io_context(err, "reading spool file", temp.path()))?,
                );
                io::copy(&mut reader, self).map(drop)
            }
        }
    }
}

impl Drop for RedbSpool {
    fn drop(&mut self) {
        if let Buffer::File { writer, temp } =
            std::mem::replace(&mut self.buffer, Buffer::Memory(Vec::new()))
        {
            // What the writer still buffers is not written: the file is going.
            let (file, _unwritten) = writer.into_parts();
            self.dir.discard(file, temp);
        }
    }
}

impl fmt::Debug for RedbSpool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("RedbSpool");
        debug.field("len", &self.len);
        match &self.buffer {
            Buffer::Memory(_) => debug.field("in", &"memory"),
            Buffer::File { temp, .. } => debug.field("in", &temp.path()),
        };
        debug.field("failed", &self.failed).finish()
    }
}

/// A file in the spool directory; removed when dropped, unless moved into place with
/// [`TempFile::persist`].
pub(crate) struct TempFile {
    path: PathBuf,
    persisted: bool,
}

impl TempFile {
    /// Creates a new, empty file with a name not used before in `dir`.
    fn create(dir: &Path) -> io::Result<(File, TempFile)> {
        /// Distinguishes the files of one process; the database lock keeps other processes out.
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let mut attempts = 0;
        loop {
            let name = format!(
                "{}-{}.tmp",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            let path = dir.join(name);
            // Owner-only, like every file of the data directory: it holds mail.
            match files::private_file()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => {
                    let temp = TempFile {
                        path,
                        persisted: false,
                    };
                    return Ok((file, temp));
                }
                // A leftover of an earlier process with the same pid: try the next name.
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists && attempts < 100 => {
                    attempts += 1;
                }
                Err(err) => return Err(io_context(err, "creating spool file", &path)),
            }
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file to `dest` (on the same file system); it is then no longer removed.
    pub(crate) fn persist(mut self, dest: &Path) -> io::Result<()> {
        fs::rename(&self.path, dest)?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted
            && let Err(err) = fs::remove_file(&self.path)
            && err.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %err, "cannot remove spool file");
        }
    }
}

/// Removes what earlier runs left in the spool directory (bodies of deliveries that never
/// completed). Called at open, when the database lock guarantees no other process uses it.
pub(crate) fn clear_stale(dir: &Path) -> StoreResult<()> {
    let entries =
        fs::read_dir(dir).map_err(|err| file_error("reading spool directory", dir, err))?;
    for entry in entries {
        let path = entry
            .map_err(|err| file_error("reading spool directory", dir, err))?
            .path();
        if let Err(err) = fs::remove_file(&path) {
            tracing::warn!(path = %path.display(), error = %err, "cannot remove stale spool file");
        }
    }
    Ok(())
}

/// Adds what was being done, and to which file, to an I/O error a spool writer sees.
fn io_context(err: io::Error, action: &str, path: &Path) -> io::Error {
    io::Error::new(err.kind(), format!("{action} {}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spool_dir() -> (tempfile::TempDir, Arc<SpoolDir>) {
        let dir = tempfile::tempdir().unwrap();
        let spool_dir = SpoolDir::new(dir.path().to_path_buf()).unwrap();
        (dir, spool_dir)
    }

    fn files_in(dir: &SpoolDir) -> usize {
        fs::read_dir(dir.path()).unwrap().count()
    }

    /// Waits (boundedly) for the spool's thread to remove what was dropped.
    fn emptied(dir: &SpoolDir) -> bool {
        (0..1000).any(|_| {
            let empty = files_in(dir) == 0;
            if !empty {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            empty
        })
    }

    #[test]
    fn prepended_fields_come_first_in_memory_and_in_a_file() {
        let (_guard, dir) = spool_dir();
        for body_len in [10, SMALL_BLOB_MAX - 4, SMALL_BLOB_MAX + 10] {
            let mut spool = RedbSpool::new(Arc::clone(&dir));
            let body = vec![b'b'; body_len];
            spool.write_all(&body).unwrap();
            spool.prepend(b"Head: 1\r\n").unwrap();
            spool.write_all(b"tail").unwrap();
            let whole = [&b"Head: 1\r\n"[..], &body, b"tail"].concat();
            assert_eq!(spool.read_back().unwrap(), whole, "{body_len}");
            let stored = spool.finish().unwrap();
            assert_eq!(stored.size, whole.len() as u64);
            assert_eq!(stored.id.0, <[u8; 32]>::from(Sha256::digest(&whole)));
            let data = match &stored.data {
                BodyData::Memory(data) => data.clone(),
                BodyData::File(temp) => fs::read(temp.path()).unwrap(),
            };
            assert_eq!(data, whole);
            drop(stored);
            assert_eq!(
                files_in(&dir),
                0,
                "the first file was removed with the copy"
            );
        }
    }

    #[test]
    fn small_bodies_stay_in_memory() {
        let (_guard, dir) = spool_dir();
        let mut spool = RedbSpool::new(Arc::clone(&dir));
        for _ in 0..SMALL_BLOB_MAX / 1024 {
            spool.write_all(&[b'x'; 1024]).unwrap();
        }
        assert_eq!(spool.len(), SMALL_BLOB_MAX as u64);
        assert_eq!(files_in(&dir), 0);
        let Buffer::Memory(data) = &spool.buffer else {
            panic!("spilled at the threshold")
        };
        assert!(data.capacity() <= SMALL_BLOB_MAX);
        let body = spool.finish().unwrap();
        assert!(matches!(body.data, BodyData::Memory(ref data) if data.len() == SMALL_BLOB_MAX));
        assert_eq!(
            body.id.0,
            <[u8; 32]>::from(Sha256::digest(vec![b'x'; SMALL_BLOB_MAX]))
        );
    }

    #[test]
    fn large_bodies_spill_and_dropped_spools_clean_up() {
        let (_guard, dir) = spool_dir();
        let mut spool = RedbSpool::new(Arc::clone(&dir));
        spool.write_all(b"head\r\n").unwrap();
        spool.write_all(&vec![7; SMALL_BLOB_MAX]).unwrap();
        assert!(matches!(spool.buffer, Buffer::File { .. }));
        assert_eq!(files_in(&dir), 1);
        drop(spool);
        assert!(emptied(&dir), "the dropped spool's file was removed");

        let mut spool = RedbSpool::new(Arc::clone(&dir));
        spool.write_all(&vec![1; SMALL_BLOB_MAX + 1]).unwrap();
        let body = spool.finish().unwrap();
        let BodyData::File(temp) = &body.data else {
            panic!("not spilled")
        };
        assert_eq!(fs::read(temp.path()).unwrap(), vec![1; SMALL_BLOB_MAX + 1]);
        assert_eq!(body.size, SMALL_BLOB_MAX as u64 + 1);
        drop(body);
        assert_eq!(files_in(&dir), 0);
    }

    #[test]
    fn a_failed_spill_poisons_the_spool() {
        let (guard, dir) = spool_dir();
        let mut spool = RedbSpool::new(Arc::clone(&dir));
        spool.write_all(b"hello").unwrap();
        drop(guard); // the spool directory disappears
        let err = spool.write_all(&vec![0; SMALL_BLOB_MAX]).unwrap_err();
        assert!(err.to_string().contains("creating spool file"), "{err}");
        assert!(spool.write_all(b"more").is_err());
        assert!(spool.finish().is_err());
    }

    #[test]
    fn clear_stale_empties_the_directory() {
        let (_guard, dir) = spool_dir();
        fs::write(dir.path().join("1-0.tmp"), b"left over").unwrap();
        clear_stale(dir.path()).unwrap();
        assert_eq!(files_in(&dir), 0);
    }
}
