//! Group commit: concurrent writers share one redb write transaction and one fsync.
//!
//! A writer queues its [`WriteOp`] and waits. If no thread is leading, it becomes the leader:
//! it takes everything queued, opens one write transaction, runs each operation in turn,
//! commits once (`Durability::Immediate`, so the commit fsyncs), hands every waiting writer its
//! own result and steps down. Writers that queued meanwhile form the next batch, led by one of
//! them; the leader itself returns at once rather than serving batches that are not its own.
//!
//! One operation failing must not fail the others. redb's savepoints cannot help here (a
//! savepoint can only be taken before a transaction opens any table), so every operation is
//! split in two: [`WriteOp::prepare`] checks everything that can reject it without changing any
//! table, and only then [`WriteOp::apply`] writes. A rejected operation leaves no trace in the
//! batch. An error in `apply` means storage itself failed halfway: the whole batch is
//! abandoned, and every writer in it gets the error.
//!
//! A batch holds the database ([`Db::hold`]) from its transaction's start to its end, so a
//! reopen after a storage failure never cuts it short. A batch that fails tells the [`Db`],
//! which finds out whether the database must be reopened; the next batch then runs on the
//! reopened database. One that commits durably tells it the storage works.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use engine::store::{StoreError, StoreResult};
use redb::{Durability, WriteTransaction};

use crate::database::{Db, Held};
use crate::error::{DbResultExt, duplicate};
use crate::file_changes::FileChanges;
use crate::tables::Tables;

/// A write: checked, then applied, inside a batch's transaction.
pub(crate) trait WriteOp: Send + 'static {
    /// What `prepare` worked out, for `apply`.
    type Plan;
    type Output: Send + 'static;

    /// Checks everything that can make this write fail for its own reasons (missing or
    /// duplicate records, quota) and does what may fail on the file system, but changes no
    /// table. An error rejects this write alone.
    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Self::Plan>;

    /// Makes the change. An error here abandons the whole batch.
    fn apply(plan: Self::Plan, batch: &mut Batch<'_>) -> StoreResult<Self::Output>;

    /// Whether the write must be on disk before its writer hears back. Derived data that can
    /// be made again (summaries) need not be: a batch of only such writes commits without
    /// an fsync, and the next durable commit persists it.
    const DURABLE: bool = true;
}

/// What a [`WriteOp`] works with: every table, open in the batch's transaction, and the
/// file-system changes that commit or roll back with it.
pub(crate) struct Batch<'txn> {
    pub(crate) tables: Tables<'txn>,
    pub(crate) files: FileChanges,
}

/// The queue of writes and the leader election; see the module documentation.
#[derive(Default)]
pub(crate) struct GroupCommit {
    state: Mutex<State>,
    /// Signalled when a batch has finished.
    batch_done: Condvar,
    commits: AtomicU64,
}

#[derive(Default)]
struct State {
    /// Writes waiting for the next batch.
    queue: Vec<Box<dyn Job>>,
    /// Whether some thread is running a batch.
    leading: bool,
}

impl GroupCommit {
    /// Runs `op` in a batch with whatever other writes are waiting, and returns once its result
    /// is durable (or it failed).
    pub(crate) fn submit<O: WriteOp>(&self, db: &Db, op: O) -> StoreResult<O::Output> {
        let slot = Arc::new(Mutex::new(None));
        let job = QueuedOp {
            op: Some(op),
            result: None,
            slot: Arc::clone(&slot),
        };
        let mut state = lock(&self.state);
        state.queue.push(Box::new(job));
        loop {
            // A leader fills the slot before it steps down, so with nobody leading either the
            // result is here or the job is still queued.
            if let Some(result) = lock(&slot).take() {
                return result;
            }
            if state.leading {
                state = self
                    .batch_done
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.leading = true;
            let mut jobs = std::mem::take(&mut state.queue);
            drop(state);

            // Should a write panic, the writers waiting on this batch still get an answer and
            // a new leader can take over; the panic then goes on in this thread.
            let (outcome, panic) =
                match panic::catch_unwind(AssertUnwindSafe(|| self.run_batch(db, &mut jobs))) {
                    Ok(outcome) => (outcome, None),
                    Err(payload) => {
                        let err = StoreError::Io("internal error: a write panicked".into());
                        (Err(err), Some(payload))
                    }
                };
            for job in jobs {
                job.finish(outcome.as_ref().copied());
            }

            state = lock(&self.state);
            state.leading = false;
            self.batch_done.notify_all();
            if let Some(payload) = panic {
                drop(state);
                panic::resume_unwind(payload);
            }
        }
    }

    /// How many transactions have been committed.
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Runs `jobs` in one write transaction of `db` and commits it (unless nothing was written).
    fn run_batch(&self, db: &Db, jobs: &mut [Box<dyn Job>]) -> StoreResult<()> {
        let held = db.hold()?;
        match self.commit_batch(&held, jobs) {
            Ok(durable) => {
                if durable {
                    db.note_durable_commit();
                }
                Ok(())
            }
            Err(err) => {
                db.note_failure(&held, &err);
                Err(err)
            }
        }
    }

    /// [`run_batch`](Self::run_batch) on the database held; whether it committed durably.
    fn commit_batch(&self, held: &Held<'_>, jobs: &mut [Box<dyn Job>]) -> StoreResult<bool> {
        let mut txn = held.begin_write()?;
        let durable = jobs.iter().any(|job| job.durable());
        txn.set_durability(if durable {
            Durability::Immediate
        } else {
            Durability::None
        })
        .db()?;
        let (ran, files) = {
            let mut batch = Batch {
                tables: Tables::open(&txn)?,
                files: FileChanges::default(),
            };
            (run_jobs(jobs, &mut batch), batch.files)
        };
        tracing::trace!(writes = jobs.len(), "group commit batch");

        match ran {
            Ok(0) => {
                // Every write was rejected: there is nothing to make durable.
                abandon(txn, files);
                Ok(false)
            }
            Ok(_) => {
                if let Err(err) = files.before_commit() {
                    abandon(txn, files);
                    return Err(err);
                }
                // If the commit fails, it may still have reached the disk: the new files stay
                // (until the database is opened again, which removes them if it did not).
                txn.commit().db()?;
                self.commits.fetch_add(1, Ordering::Relaxed);
                files.after_commit();
                Ok(durable)
            }
            Err(err) => {
                abandon(txn, files);
                Err(err)
            }
        }
    }
}

/// Runs every job; returns how many wrote something, or the error that spoiled the transaction.
fn run_jobs(jobs: &mut [Box<dyn Job>], batch: &mut Batch<'_>) -> StoreResult<usize> {
    let mut applied = 0;
    for job in jobs {
        if job.run(batch).map_err(|err| {
            StoreError::Io(format!(
                "nothing was stored: a write sharing the same commit failed: {err}"
            ))
        })? {
            applied += 1;
        }
    }
    Ok(applied)
}

/// Rolls back a transaction that will not be committed, and the files placed for it.
fn abandon(txn: WriteTransaction, files: FileChanges) {
    if let Err(err) = txn.abort() {
        tracing::warn!(error = %err, "aborting a write transaction failed");
    }
    files.after_abort();
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A queued write with its type erased, so writes of every kind share one queue.
trait Job: Send {
    /// Prepares and applies the write. `Ok(true)` if it was applied, `Ok(false)` if it was
    /// rejected, `Err` if it failed halfway and the transaction must not be committed.
    fn run(&mut self, batch: &mut Batch<'_>) -> Result<bool, StoreError>;

    /// Hands the writer its result, given how the batch ended.
    fn finish(self: Box<Self>, batch: Result<(), &StoreError>);

    /// See [`WriteOp::DURABLE`].
    fn durable(&self) -> bool;
}

/// Where a waiting writer finds its result.
type Slot<T> = Arc<Mutex<Option<StoreResult<T>>>>;

struct QueuedOp<O: WriteOp> {
    op: Option<O>,
    /// The write's own result, final only if the batch commits.
    result: Option<StoreResult<O::Output>>,
    slot: Slot<O::Output>,
}

impl<O: WriteOp> Job for QueuedOp<O> {
    fn run(&mut self, batch: &mut Batch<'_>) -> Result<bool, StoreError> {
        let Some(op) = self.op.take() else {
            return Ok(false);
        };
        let (result, ran) = match op.prepare(batch) {
            Err(rejected) => (Err(rejected), Ok(false)),
            Ok(plan) => match O::apply(plan, batch) {
                Ok(output) => (Ok(output), Ok(true)),
                Err(failed) => {
                    let copy = duplicate(&failed);
                    (Err(failed), Err(copy))
                }
            },
        };
        self.result = Some(result);
        ran
    }

    fn durable(&self) -> bool {
        O::DURABLE
    }

    fn finish(self: Box<Self>, batch: Result<(), &StoreError>) {
        let result = match (self.result, batch) {
            (Some(Err(own)), _) => Err(own),
            (Some(Ok(output)), Ok(())) => Ok(output),
            (_, Err(batch)) => Err(duplicate(batch)),
            // A batch commits only after running every job.
            (None, Ok(())) => Err(StoreError::Io("the write was not run".into())),
        };
        *lock(&self.slot) = Some(result);
    }
}
