//! The redb database behind the store, reopened after a storage failure.
//!
//! When writing the database file fails (most often because the disk is full), redb latches
//! the error: every later transaction of that `Database` fails with "Previous I/O error" until
//! it is closed and opened again. [`Db`] holds the open database and does that, so a store whose
//! disk filled up works again once space is freed, without a restart. Nothing is acknowledged
//! meanwhile: the writes that fail return their error.
//!
//! Every read and every batch of writes holds a read lock on the database for as long as its
//! transaction lives. Reopening takes the write lock: it waits for the transactions in flight to
//! end, so none is cut short, and holds new ones back until the new database is ready. The old
//! database is closed before the new one is opened, since redb locks the file against a second
//! open, even from the same process.
//!
//! A failure is noticed when a read or a batch fails: the database is then asked whether it
//! latched an I/O error. The next read or batch reopens it, but a reopen is attempted at most
//! once per retry interval: while the disk is still full, calls in between fail at once rather
//! than each paying for an open (which repairs the file). Threads that saw the same failure
//! reopen once between them.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use engine::store::{StoreError, StoreResult};
use redb::{
    Database, DatabaseError, ReadTransaction, ReadableDatabase, StorageError, TransactionError,
};
use redb::{WriteTransaction, backends::FileBackend};

use crate::error::{DbResultExt, file_error};
use crate::files;

/// Makes a redb `Database` of the opened database file: on a [`FileBackend`] normally, on one
/// that injects faults in tests.
pub(crate) type OpenFile = dyn Fn(File) -> Result<Database, DatabaseError> + Send + Sync;

/// Brings a database just opened, and what lives beside it, in line (schema, orphaned files).
pub(crate) type OnOpen = dyn Fn(&mut Database) -> StoreResult<()> + Send + Sync;

/// The usual [`OpenFile`], with a page cache of `cache_size` bytes. A database that was not
/// closed cleanly (the process was killed, the machine lost power) is repaired as it opens,
/// which reads all of it: that is said once, since it can take a while.
pub(crate) fn file_backend(file: File, cache_size: usize) -> Result<Database, DatabaseError> {
    let said = AtomicBool::new(false);
    redb::Builder::new()
        .set_cache_size(cache_size)
        .set_repair_callback(move |_| {
            if !said.swap(true, Ordering::Relaxed) {
                tracing::warn!("the database was not closed cleanly; repairing it");
            }
        })
        .create_with_backend(FileBackend::new(file)?)
}

/// The open database, reopened after a storage failure; see the module documentation.
pub(crate) struct Db {
    path: PathBuf,
    open_file: Box<OpenFile>,
    on_open: Box<OnOpen>,
    retry_interval: Duration,
    current: RwLock<Current>,
    /// False from a storage failure until a durable commit succeeds again.
    healthy: AtomicBool,
    /// Whether that failure was a full disk: calls refused until the reopen say so too.
    full: AtomicBool,
}

struct Current {
    /// `None` after a reopen failed.
    db: Option<Database>,
    /// Counts the opens, so that threads that saw one database fail reopen it once.
    generation: u64,
    /// Whether `db` is known to have latched an I/O error.
    failed: AtomicBool,
    /// When a reopen was last attempted.
    reopened_at: Option<Instant>,
    /// Closed for good: the process is stopping.
    closed: bool,
}

impl Current {
    fn usable(&self) -> bool {
        self.db.is_some() && !self.failed.load(Ordering::Acquire)
    }
}

/// The database, held open (not reopened) while this lives.
pub(crate) struct Held<'db> {
    current: RwLockReadGuard<'db, Current>,
    owner: &'db Db,
}

impl Held<'_> {
    fn database(&self) -> StoreResult<&Database> {
        self.current
            .db
            .as_ref()
            .ok_or_else(|| self.owner.unavailable())
    }

    fn begin_read(&self) -> StoreResult<ReadTransaction> {
        self.database()?.begin_read().db()
    }

    pub(crate) fn begin_write(&self) -> StoreResult<WriteTransaction> {
        self.database()?.begin_write().db()
    }
}

impl Db {
    /// Opens (creating, owner-only, if needed) the database file at `path` with `open_file`,
    /// runs `on_open` on it, and does both again whenever it is reopened, at most every
    /// `retry_interval`.
    pub(crate) fn open(
        path: &Path,
        open_file: Box<OpenFile>,
        on_open: Box<OnOpen>,
        retry_interval: Duration,
    ) -> StoreResult<Db> {
        let mut db = open_database(path, &*open_file)?;
        on_open(&mut db)?;
        Ok(Db {
            path: path.to_path_buf(),
            open_file,
            on_open,
            retry_interval,
            current: RwLock::new(Current {
                db: Some(db),
                generation: 0,
                failed: AtomicBool::new(false),
                reopened_at: None,
                closed: false,
            }),
            healthy: AtomicBool::new(true),
            full: AtomicBool::new(false),
        })
    }

    /// Whether the database works: false from a storage failure until a durable commit
    /// succeeds again.
    pub(crate) fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Runs `read` in a read transaction. If the database failed under it, it is reopened (when
    /// a reopen is due) and `read` runs once more: reads can be repeated.
    pub(crate) fn read<T>(
        &self,
        read: impl Fn(&ReadTransaction) -> StoreResult<T>,
    ) -> StoreResult<T> {
        {
            let held = self.hold()?;
            let result = held.begin_read().and_then(|txn| read(&txn));
            match result {
                Err(err) if self.note_failure(&held, &err) => {}
                other => return other,
            }
        }
        let held = self.hold()?;
        held.begin_read().and_then(|txn| read(&txn))
    }

    /// The database, held for a transaction; reopened first if it failed and a reopen is due.
    pub(crate) fn hold(&self) -> StoreResult<Held<'_>> {
        let current = self.lock();
        if current.usable() {
            return Ok(Held {
                current,
                owner: self,
            });
        }
        let seen = current.generation;
        drop(current);
        self.reopen(seen)?;
        let current = self.lock();
        if current.usable() {
            Ok(Held {
                current,
                owner: self,
            })
        } else {
            Err(self.unavailable())
        }
    }

    /// Called when a transaction on `held` failed with `err`: finds out whether the database
    /// latched an I/O error, and if so marks it for reopening. Returns whether it did.
    pub(crate) fn note_failure(&self, held: &Held<'_>, err: &StoreError) -> bool {
        if !matches!(err, StoreError::Io(_) | StoreError::Full(_)) {
            return false;
        }
        if held.current.failed.load(Ordering::Acquire) {
            return true;
        }
        let Ok(db) = held.database() else {
            return false;
        };
        // Fails at once, before waiting for any writer, if an I/O error is latched.
        let latched = matches!(
            db.try_begin_write(),
            Err(TransactionError::Storage(StorageError::PreviousIo))
        );
        if latched {
            held.current.failed.store(true, Ordering::Release);
            self.full
                .store(matches!(err, StoreError::Full(_)), Ordering::Relaxed);
            if self.healthy.swap(false, Ordering::Relaxed) {
                tracing::warn!(
                    database = %self.path.display(),
                    error = %err,
                    "storage failed (is the disk full?): nothing more is stored until the \
                     database can be reopened"
                );
            }
        }
        latched
    }

    /// Called when a batch of writes was committed durably: the storage works.
    pub(crate) fn note_durable_commit(&self) {
        if !self.healthy.load(Ordering::Relaxed) && !self.healthy.swap(true, Ordering::Relaxed) {
            tracing::info!(
                database = %self.path.display(),
                "storage recovered: the database was reopened and writes succeed again"
            );
        }
    }

    /// Closes the database for good, once the calls in progress are done: the file records a
    /// clean shutdown, and the next open needs no repair. Calls made afterwards fail.
    pub(crate) fn close(&self) -> StoreResult<()> {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        current.closed = true;
        match current.db.take() {
            Some(db) => db.close().map_err(|err| {
                StoreError::Io(format!("closing database {}: {err}", self.path.display()))
            }),
            None => Ok(()),
        }
    }

    /// Closes the database seen at `seen` and opens it again, unless another thread did since
    /// or the last attempt was less than the retry interval ago.
    fn reopen(&self, seen: u64) -> StoreResult<()> {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if current.closed {
            return Err(StoreError::Io(format!(
                "database {} is closed: the server is stopping",
                self.path.display()
            )));
        }
        if current.generation != seen {
            return Ok(());
        }
        if current
            .reopened_at
            .is_some_and(|at| at.elapsed() < self.retry_interval)
        {
            return Err(self.unavailable());
        }
        current.reopened_at = Some(Instant::now());
        current.generation += 1;
        *current.failed.get_mut() = false;
        // Closed first: redb locks the file against a second open.
        current.db = None;
        let db = open_database(&self.path, &*self.open_file).and_then(|mut db| {
            (self.on_open)(&mut db)?;
            Ok(db)
        });
        match db {
            Ok(db) => {
                current.db = Some(db);
                Ok(())
            }
            Err(err) => {
                tracing::debug!(
                    database = %self.path.display(),
                    error = %err,
                    "reopening the database failed"
                );
                Err(err)
            }
        }
    }

    /// The error of a call while the database waits to be reopened.
    fn unavailable(&self) -> StoreError {
        let text = format!(
            "database {}: unusable after a storage failure (is the disk full?); reopening it is \
             retried at most every {} s",
            self.path.display(),
            self.retry_interval.as_secs()
        );
        if self.full.load(Ordering::Relaxed) {
            StoreError::Full(text)
        } else {
            StoreError::Io(text)
        }
    }

    fn lock(&self) -> RwLockReadGuard<'_, Current> {
        self.current.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Opens the database file at `path`, creating it owner-only (it holds every password hash).
fn open_database(path: &Path, open_file: &OpenFile) -> StoreResult<Database> {
    let file = files::private_file()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|err| file_error("opening database", path, err))?;
    open_file(file).map_err(|err| match err {
        DatabaseError::DatabaseAlreadyOpen => StoreError::Io(format!(
            "database {} is in use by another process (is `postern serve` running?)",
            path.display()
        )),
        DatabaseError::Storage(StorageError::Io(err)) => StoreError::io(
            err.kind(),
            format!("opening database {}: {err}", path.display()),
        ),
        other => StoreError::Io(format!("opening database {}: {other}", path.display())),
    })
}
