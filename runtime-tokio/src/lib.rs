//! Runs Postern on tokio (the `tokio` feature of `server`): the same listeners and session
//! drivers as `runtime-smol`, with tokio's sockets, timers and blocking pool; [`TokioDialer`]
//! opens the connections outbound delivery makes.

mod conn;
mod dial;
mod stream;

use std::sync::Arc;
use std::time::Duration;

use async_channel::Receiver;
use engine::Engine;
use engine::admission::ConnectionLimit;
use engine::io::{BLOCKING_THREADS, Background, DRAIN_LIMIT, Executor};
use engine::listener::{ListenSocket, Listener};
use engine::queue::Delivery;
use engine::store::Store;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use conn::TokioConnection;
pub use dial::{TokioDialer, TokioOutgoing};

/// Named in the logs.
pub const NAME: &str = "tokio";

/// The tokio implementation of [`Executor`].
#[derive(Clone, Copy, Default)]
pub struct TokioExecutor;

impl Executor for TokioExecutor {
    fn unblock<T, F>(&self, work: F) -> impl Future<Output = T> + Send + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let task = tokio::task::spawn_blocking(work);
        async move {
            match task.await {
                Ok(value) => value,
                // The work panicked: surface it on this task as well.
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send + use<> {
        tokio::time::sleep(duration)
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        tokio::spawn(task);
    }
}

/// One worker thread per core (at most 4), at most [`BLOCKING_THREADS`] blocking jobs.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .max_blocking_threads(BLOCKING_THREADS)
        .thread_name("postern-io")
        .enable_all()
        .build()
}

/// Tells a client over the connection limit to try again later, in one attempt that does
/// not wait (a new socket's send buffer is empty).
fn refuse(listener: &Listener, stream: &TcpStream) {
    if let Some(greeting) = listener.busy_greeting() {
        let _ = stream.try_write(greeting);
    }
}

/// Serves every listener and runs outbound `delivery` and the `background` tasks until
/// `shutdown` is closed, then stops accepting, lets open sessions and deliveries finish
/// (they are told to wind down), and returns.
pub fn run<S: Store>(
    engine: Arc<Engine<S>>,
    sockets: Vec<ListenSocket>,
    limit: Arc<ConnectionLimit>,
    delivery: Arc<Delivery<S, TokioExecutor, TokioDialer>>,
    background: Vec<Background>,
    shutdown: Receiver<()>,
) -> std::io::Result<()> {
    runtime()?.block_on(async {
        let mut sessions = JoinSet::new();
        // The delivery workers end with the sessions: a delivery in progress is finished.
        for _ in 0..delivery.workers() {
            sessions.spawn(delivery.clone().work(shutdown.clone()));
        }
        for task in background {
            tokio::spawn(task);
        }
        let mut acceptors = Vec::new();
        for ListenSocket { socket, listener } in sockets {
            socket.set_nonblocking(true)?;
            let socket = tokio::net::TcpListener::from_std(socket)?;
            let listener = Arc::new(listener);
            acceptors.push((socket, listener));
        }
        let accept_all = async {
            let mut accepts = JoinSet::new();
            for (socket, listener) in acceptors {
                accepts.spawn(async move { (socket.accept().await, socket, listener) });
            }
            while let Some(Ok((accepted, socket, listener))) = accepts.join_next().await {
                match accepted {
                    Ok((stream, peer)) => 'accepted: {
                        let Some(admission) = limit.admit(&listener.per_source, peer.ip()) else {
                            refuse(&listener, &stream);
                            break 'accepted;
                        };
                        let _ = stream.set_nodelay(true);
                        let tls = listener.tls.clone();
                        let conn = TokioConnection::new(stream, tls, shutdown.clone());
                        let session = engine::listener::accepted(
                            engine.clone(),
                            TokioExecutor,
                            listener.clone(),
                            conn,
                            peer,
                            admission,
                        );
                        sessions.spawn(session);
                        while sessions.try_join_next().is_some() {}
                    }
                    Err(e) => tokio::time::sleep(limit.accept_failed(&e)).await,
                }
                accepts.spawn(async move { (socket.accept().await, socket, listener) });
            }
        };
        tokio::select! {
            () = accept_all => {}
            _ = shutdown.recv() => {}
        }
        tracing::info!("shutting down: no new connections; finishing open sessions");
        let drain = async { while sessions.join_next().await.is_some() {} };
        if tokio::time::timeout(DRAIN_LIMIT, drain).await.is_err() {
            tracing::warn!("sessions still open after {DRAIN_LIMIT:?}; closing them");
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
        runtime().expect("runtime").block_on(async {
            let jobs: Vec<_> = (0..3 * BLOCKING_THREADS)
                .map(|_| tokio::spawn(TokioExecutor.unblock(job)))
                .collect();
            for job in jobs {
                job.await.expect("job");
            }
        });
        assert!(MOST.load(Ordering::SeqCst) <= BLOCKING_THREADS);
        assert_eq!(RUNNING.load(Ordering::SeqCst), 0);
    }
}
