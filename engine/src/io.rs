//! What the engine needs from a runtime: a connection to read and write, a way to run
//! blocking work, and a timer. `runtime-smol` and `runtime-tokio` implement these, so the
//! session drivers in this crate are written once and run on either.

use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

/// A client that has not finished its TLS handshake by then is dropped.
pub const HANDSHAKE_LIMIT: Duration = Duration::from_secs(60);

/// How long a shutdown waits for sessions that are still receiving a message.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(60);

/// Why a read returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// This many bytes were read (never 0).
    Data(usize),
    /// The peer closed the connection.
    Closed,
    /// The deadline passed before any byte arrived.
    TimedOut,
    /// The server is shutting down.
    Shutdown,
}

/// A client connection, plain or TLS.
pub trait Connection: Send {
    /// Reads what is available into `buf`, waiting at most until `deadline`. When
    /// `watch_shutdown` is set, a server shutdown also ends the wait.
    fn read(
        &mut self,
        buf: &mut [u8],
        deadline: Option<Instant>,
        watch_shutdown: bool,
    ) -> impl Future<Output = io::Result<ReadOutcome>> + Send;

    /// Writes all of `data` and flushes it.
    fn write_all(&mut self, data: &[u8]) -> impl Future<Output = io::Result<()>> + Send;

    /// Performs the server side of a TLS handshake on this connection (STARTTLS).
    fn start_tls(&mut self) -> impl Future<Output = io::Result<()>> + Send;
}

/// Runtime services that are not tied to one connection.
pub trait Executor: Clone + Send + Sync + 'static {
    /// Runs blocking work (storage, password hashing) off the async threads.
    fn unblock<T, F>(&self, work: F) -> impl Future<Output = T> + Send
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static;

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}
