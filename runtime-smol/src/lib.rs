//! Runs Postern on smol: accepts connections on the listeners the server bound, wraps them
//! in rustls where needed, and hands each to the engine's session driver; [`SmolDialer`]
//! opens the connections outbound delivery makes.
//!
//! Everything protocol-specific lives in the proto crates and the engine; this crate only
//! provides sockets, TLS, timers and a blocking pool (see [`engine::io`]).

mod conn;
mod dial;
mod pool;
mod stream;

use std::sync::Arc;
use std::time::Duration;

use async_channel::Receiver;
use engine::Engine;
use engine::admission::ConnectionLimit;
use engine::io::{Background, DRAIN_LIMIT, Executor};
use engine::listener::{ListenSocket, Listener};
use engine::queue::Delivery;
use engine::store::Store;
use futures_lite::{AsyncWriteExt, future};
use smol::Timer;

use conn::SmolConnection;
pub use dial::{SmolDialer, SmolOutgoing};

/// Named in the logs.
pub const NAME: &str = "smol";

/// The smol implementation of [`Executor`].
#[derive(Clone, Copy, Default)]
pub struct SmolExecutor;

impl Executor for SmolExecutor {
    fn unblock<T, F>(&self, work: F) -> impl Future<Output = T> + Send + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        pool::unblock(work)
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send + use<> {
        async move {
            Timer::after(duration).await;
        }
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        smol::spawn(task).detach();
    }
}

/// Serves every listener and runs outbound `delivery` and the `background` tasks until
/// `shutdown` is closed, then stops accepting, lets open sessions and deliveries finish
/// (they are told to wind down), and returns.
pub fn run<S: Store>(
    engine: Arc<Engine<S>>,
    sockets: Vec<ListenSocket>,
    limit: Arc<ConnectionLimit>,
    delivery: Arc<Delivery<S, SmolExecutor, SmolDialer>>,
    background: Vec<Background>,
    shutdown: Receiver<()>,
) -> std::io::Result<()> {
    let executor = Arc::new(smol::Executor::new());
    // A second thread on multi-core machines: TLS handshakes are CPU work.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4)) - 1;
    let (stop_workers, workers_stop) = async_channel::bounded::<()>(1);
    let mut threads = Vec::new();
    for i in 0..workers {
        let executor = executor.clone();
        let stop = workers_stop.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("postern-io-{i}"))
                .spawn(move || smol::block_on(executor.run(stop.recv())))?,
        );
    }

    // Every session task holds a clone of `alive`; when all are gone, `drained` closes.
    let (alive, drained) = async_channel::bounded::<()>(1);
    let result = smol::block_on(executor.run(async {
        let mut acceptors = Vec::new();
        for ListenSocket { socket, listener } in sockets {
            let socket = async_net::TcpListener::try_from(socket)?;
            let ctx = AcceptContext {
                engine: engine.clone(),
                listener: Arc::new(listener),
                limit: limit.clone(),
                shutdown: shutdown.clone(),
                alive: alive.clone(),
            };
            acceptors.push(executor.spawn(accept_loop(executor.clone(), socket, ctx)));
        }
        // The delivery workers end with the sessions: a delivery in progress is finished.
        for _ in 0..delivery.workers() {
            let (delivery, shutdown, alive) = (delivery.clone(), shutdown.clone(), alive.clone());
            executor
                .spawn(async move {
                    let _alive = alive;
                    delivery.work(shutdown).await;
                })
                .detach();
        }
        for task in background {
            executor.spawn(task).detach();
        }
        drop(alive);
        // Wait for the shutdown signal (the sender is dropped or sends).
        let _ = shutdown.recv().await;
        tracing::info!("shutting down: no new connections; finishing open sessions");
        for acceptor in acceptors {
            acceptor.cancel().await;
        }
        let drain = async {
            let _ = drained.recv().await;
            true
        };
        let limit = async {
            Timer::after(DRAIN_LIMIT).await;
            false
        };
        if !future::or(drain, limit).await {
            tracing::warn!("sessions still open after {DRAIN_LIMIT:?}; closing them");
        }
        Ok(())
    }));
    drop(stop_workers);
    for thread in threads {
        let _ = thread.join();
    }
    result
}

/// What every connection accepted on one listener shares.
struct AcceptContext<S: Store> {
    engine: Arc<Engine<S>>,
    listener: Arc<Listener>,
    limit: Arc<ConnectionLimit>,
    shutdown: Receiver<()>,
    alive: async_channel::Sender<()>,
}

async fn accept_loop<S: Store>(
    executor: Arc<smol::Executor<'static>>,
    socket: async_net::TcpListener,
    ctx: AcceptContext<S>,
) {
    loop {
        let (mut stream, peer) = match socket.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                Timer::after(ctx.limit.accept_failed(&e)).await;
                continue;
            }
        };
        let Some(admission) = ctx.limit.admit(&ctx.listener.per_source, peer.ip()) else {
            if let Some(greeting) = ctx.listener.busy_greeting() {
                // One attempt that does not wait: a new socket's send buffer is empty.
                let _ = future::poll_once(stream.write_all(greeting)).await;
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn = SmolConnection::new(stream, ctx.listener.tls.clone(), ctx.shutdown.clone());
        let held = (ctx.alive.clone(), admission);
        let listener = ctx.listener.clone();
        executor
            .spawn(engine::listener::accepted(
                ctx.engine.clone(),
                SmolExecutor,
                listener,
                conn,
                peer,
                held,
            ))
            .detach();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::io::BLOCKING_THREADS;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static RUNNING: AtomicUsize = AtomicUsize::new(0);
    static MOST: AtomicUsize = AtomicUsize::new(0);

    /// Three times as many jobs as may run: they all finish, never more than the bound at once.
    #[test]
    fn blocking_jobs_are_bounded() {
        let job = || {
            MOST.fetch_max(RUNNING.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(10));
            RUNNING.fetch_sub(1, Ordering::SeqCst);
        };
        smol::block_on(async {
            let jobs: Vec<_> = (0..3 * BLOCKING_THREADS)
                .map(|_| smol::spawn(SmolExecutor.unblock(job)))
                .collect();
            for job in jobs {
                job.await;
            }
        });
        assert!(MOST.load(Ordering::SeqCst) <= BLOCKING_THREADS);
        assert_eq!(RUNNING.load(Ordering::SeqCst), 0);
        assert!(pool::threads() <= BLOCKING_THREADS);
    }

    /// A job that panics ends its awaiter, not the pool: the next job still runs.
    #[test]
    fn a_panicking_job_leaves_the_pool_working() {
        let failed = std::panic::catch_unwind(|| {
            smol::block_on(SmolExecutor.unblock(|| panic!("a job's own failure")))
        });
        assert!(failed.is_err());
        assert_eq!(smol::block_on(SmolExecutor.unblock(|| 7)), 7);
    }
}
