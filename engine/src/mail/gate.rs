//! At most a few costly parses at once, process-wide.
//!
//! A parse within the [budget](super::budget) can still take tens of MiB, and a large
//! message's decoded parts come on top: clients fetching several large messages at once
//! would add these up. A costly parse holds a [`Permit`] for as long as it lives, and so
//! does the reading of a large message whole for one, from before it is read (see
//! [`whole_message`](super::whole_message)); the thread that wants one while all are taken
//! (a blocking pool thread: parses never run on async threads) waits for one to be given
//! back. A thread that holds one already gets another at once: the parse of a message read
//! under a permit counts as the same one.

use std::cell::Cell;
use std::marker::PhantomData;
use std::num::NonZeroUsize;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::available_parallelism;

/// Permits: one per core, at most two, so costly parses never take every core either.
const MAX_PERMITS: usize = 2;

/// Permits taken.
static TAKEN: Mutex<usize> = Mutex::new(0);
/// Signalled when a permit is given back.
static GIVEN_BACK: Condvar = Condvar::new();

thread_local! {
    /// Permits this thread holds: the first counts in [`TAKEN`], the ones within it not.
    static HELD: Cell<usize> = const { Cell::new(0) };
}

/// The right to run one costly parse; given back when dropped, on the thread that took it
/// (it is not `Send`).
#[derive(Debug)]
pub(super) struct Permit {
    /// Whether this is the thread's first, counted in [`TAKEN`].
    counted: bool,
    not_send: PhantomData<*const ()>,
}

/// Waits for a permit, unless this thread holds one.
pub(super) fn permit() -> Permit {
    let counted = HELD.get() == 0;
    if counted {
        let permits = available_parallelism().map_or(1, NonZeroUsize::get);
        let permits = permits.min(MAX_PERMITS);
        let mut taken = taken();
        while *taken >= permits {
            taken = GIVEN_BACK
                .wait(taken)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *taken += 1;
    }
    HELD.set(HELD.get() + 1);
    Permit {
        counted,
        not_send: PhantomData,
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        HELD.set(HELD.get().saturating_sub(1));
        if self.counted {
            *taken() -= 1;
            GIVEN_BACK.notify_one();
        }
    }
}

/// The count is only ever changed by one statement under the lock: a panic elsewhere
/// leaves it consistent.
fn taken() -> MutexGuard<'static, usize> {
    TAKEN.lock().unwrap_or_else(PoisonError::into_inner)
}
