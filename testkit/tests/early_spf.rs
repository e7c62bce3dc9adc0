//! SPF checks begun at `MAIL FROM` are bounded in total: a client looping on `MAIL FROM`
//! and `RSET` starts at most 64 at once; past that a transaction's SPF is left for the
//! checks at the end of its message, and a finished check frees its place.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use engine::Engine;
use engine::io::Executor;
use engine::trust::OwnedSender;
use futures_lite::future::block_on;
use store_redb::RedbStore;

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Holds the tasks spawned on it without running them: checks that never finish.
#[derive(Clone, Default)]
struct Holding(Arc<Mutex<Vec<Task>>>);

impl Holding {
    fn held(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

impl Executor for Holding {
    fn unblock<T, F>(&self, work: F) -> impl Future<Output = T> + Send + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        std::future::ready(work())
    }

    fn sleep(&self, _duration: Duration) -> impl Future<Output = ()> + Send + use<> {
        std::future::ready(())
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.0.lock().unwrap().push(Box::pin(task));
    }
}

fn sender() -> OwnedSender {
    OwnedSender {
        ip: "192.0.2.1".parse().unwrap(),
        helo: "client.example.org".into(),
        mail_from: "ann@example.org".into(),
        recipients: Vec::new(),
    }
}

#[test]
fn early_spf_checks_are_bounded_in_total() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(Engine::new(RedbStore::open(dir.path()).unwrap(), "mx.test"));
    let executor = Holding::default();
    let _running: Vec<_> = (0..64)
        .map(|_| engine.begin_spf(&executor, sender()))
        .collect();
    assert_eq!(executor.held(), 64);

    let mut past = engine.begin_spf(&executor, sender());
    assert_eq!(executor.held(), 64, "none started past the bound");
    assert!(
        block_on(past.result()).is_none(),
        "left for the checks at the end of the message"
    );

    // A check that ends (here: dropped unfinished) gives its place back.
    drop(executor.0.lock().unwrap().pop());
    let _next = engine.begin_spf(&executor, sender());
    assert_eq!(executor.held(), 64);
}
