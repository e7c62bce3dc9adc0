//! The blocking pool: at most [`BLOCKING_THREADS`] threads run storage and password work,
//! started as work comes and gone after [`KEEP_ALIVE`] without any.
//!
//! The `blocking` crate smol uses keeps every thread it ever started (up to 500) for as
//! long as the process lives. Each one idles with the stack it touched and its allocator
//! cache: after a burst of load the server held 44 of them, about 2.5 MB of stacks alone,
//! for good. Here jobs beyond the bound wait in the queue, and a thread that finds nothing
//! to do for [`KEEP_ALIVE`] ends, so memory comes back when the load does.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_task::{Runnable, Task};
use engine::io::BLOCKING_THREADS;

/// How long a thread waits for work before it ends (tokio's blocking pool waits as long).
const KEEP_ALIVE: Duration = Duration::from_secs(10);

static POOL: Pool = Pool {
    state: Mutex::new(State {
        queue: VecDeque::new(),
        threads: 0,
        idle: 0,
    }),
    work: Condvar::new(),
};

struct Pool {
    state: Mutex<State>,
    /// Signalled when a job is queued.
    work: Condvar,
}

struct State {
    queue: VecDeque<Runnable>,
    /// Threads running, idle ones included.
    threads: usize,
    /// Threads waiting for work.
    idle: usize,
}

/// Runs `work` on the pool; the task gives its result.
pub(crate) fn unblock<T, F>(work: F) -> Task<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    // A job that panics does so in its awaiter (which ends that session), not here.
    let (runnable, task) = async_task::Builder::new()
        .propagate_panic(true)
        .spawn(move |()| async move { work() }, |r| POOL.schedule(r));
    runnable.schedule();
    task
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn schedule(&'static self, runnable: Runnable) {
        let mut state = self.lock();
        state.queue.push_back(runnable);
        if state.idle > 0 {
            drop(state);
            self.work.notify_one();
            return;
        }
        if state.threads >= BLOCKING_THREADS {
            // Every thread is busy: one takes the job when it is done with its own.
            return;
        }
        state.threads += 1;
        let id = state.threads;
        drop(state);
        let started = std::thread::Builder::new()
            .name(format!("postern-blocking-{id}"))
            .spawn(move || self.serve());
        if let Err(error) = started {
            let mut state = self.lock();
            state.threads -= 1;
            let alone = state.threads == 0;
            drop(state);
            tracing::error!(%error, "cannot start a thread for blocking work");
            if alone {
                // No thread would ever take the queue: run it here rather than never.
                loop {
                    let job = self.lock().queue.pop_front();
                    let Some(job) = job else { break };
                    job.run();
                }
            }
        }
    }

    /// A thread's life: jobs as they come, until none came for [`KEEP_ALIVE`].
    fn serve(&self) {
        let mut state = self.lock();
        loop {
            while let Some(job) = state.queue.pop_front() {
                drop(state);
                job.run();
                state = self.lock();
            }
            state.idle += 1;
            let (woken, wait) = self
                .work
                .wait_timeout(state, KEEP_ALIVE)
                .unwrap_or_else(PoisonError::into_inner);
            state = woken;
            state.idle -= 1;
            if wait.timed_out() && state.queue.is_empty() {
                state.threads -= 1;
                return;
            }
        }
    }
}

/// Threads the pool runs now.
#[cfg(test)]
pub(crate) fn threads() -> usize {
    POOL.lock().threads
}
