//! What the engine needs from a runtime: a connection to read and write, a way to run
//! blocking work, and a timer. `runtime-smol` and `runtime-tokio` implement these, so the
//! session drivers in this crate are written once and run on either.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto_core::session::Session;

use crate::queue::dane::Usable;

/// A client that has not finished its TLS handshake by then is dropped.
pub const HANDSHAKE_LIMIT: Duration = Duration::from_secs(60);

/// A write that makes no progress for this long ends the connection: a client that stops
/// reading cannot hold its connection, and what the server keeps for it, forever.
pub const WRITE_LIMIT: Duration = Duration::from_secs(120);

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

    /// Writes all of `data` and flushes it; fails with `TimedOut` when the peer accepts no
    /// byte for [`WRITE_LIMIT`].
    fn write_all(&mut self, data: &[u8]) -> impl Future<Output = io::Result<()>> + Send;

    /// Performs the server side of a TLS handshake on this connection (STARTTLS).
    fn start_tls(&mut self) -> impl Future<Output = io::Result<()>> + Send;

    /// Ends the connection from this side once what was written is out: over TLS with a
    /// close_notify first (RFC 8446 §6.1), so the client can tell the end from a cut.
    /// Dropping a connection also closes it, without that.
    fn close(&mut self) -> impl Future<Output = io::Result<()>> + Send {
        async { Ok(()) }
    }

    /// From now on, inflates what is read and deflates what is written (IMAP COMPRESS,
    /// RFC 4978). Only [`Compressible`](crate::deflate::Compressible) connections can.
    fn start_compression(&mut self) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this connection cannot compress",
        ))
    }
}

/// A connection lent to a driver is a connection.
impl<C: Connection> Connection for &mut C {
    fn read(
        &mut self,
        buf: &mut [u8],
        deadline: Option<Instant>,
        watch_shutdown: bool,
    ) -> impl Future<Output = io::Result<ReadOutcome>> + Send {
        (**self).read(buf, deadline, watch_shutdown)
    }

    fn write_all(&mut self, data: &[u8]) -> impl Future<Output = io::Result<()>> + Send {
        (**self).write_all(data)
    }

    fn start_tls(&mut self) -> impl Future<Output = io::Result<()>> + Send {
        (**self).start_tls()
    }

    fn close(&mut self) -> impl Future<Output = io::Result<()>> + Send {
        (**self).close()
    }

    fn start_compression(&mut self) -> io::Result<()> {
        (**self).start_compression()
    }
}

/// How the certificate of a server this one connects to is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsCheck {
    /// Any certificate is taken (opportunistic TLS, RFC 7435); the handshake's signatures
    /// are still checked.
    Any,
    /// It must chain to a trusted root and name the server.
    WebPki,
    /// It must match the server's TLSA records (DANE, RFC 7672).
    Dane(Arc<Usable>),
}

/// A connection this server opened to another one: outbound delivery to a remote MX or a
/// relay host.
pub trait Outgoing: Send {
    /// Reads what is available into `buf`, waiting at most until `deadline`. Never
    /// [`ReadOutcome::Shutdown`]: delivery finishes the exchange it is in.
    fn read(
        &mut self,
        buf: &mut [u8],
        deadline: Option<Instant>,
    ) -> impl Future<Output = io::Result<ReadOutcome>> + Send;

    /// Writes all of `data` and flushes it; fails with `TimedOut` when the peer accepts no
    /// byte for [`WRITE_LIMIT`].
    fn write_all(&mut self, data: &[u8]) -> impl Future<Output = io::Result<()>> + Send;

    /// Performs the client side of a TLS handshake (after STARTTLS, or at once for implicit
    /// TLS) with the server named `server_name`, its certificate checked as `check` says.
    /// Fails after [`HANDSHAKE_LIMIT`].
    fn start_tls(
        &mut self,
        server_name: &str,
        check: &TlsCheck,
    ) -> impl Future<Output = io::Result<()>> + Send;
}

/// Opens outbound connections.
pub trait Dialer: Clone + Send + Sync + 'static {
    type Conn: Outgoing;

    /// Connects to `addr`, giving up after `timeout`.
    fn connect(
        &self,
        addr: SocketAddr,
        timeout: Duration,
    ) -> impl Future<Output = io::Result<Self::Conn>> + Send;
}

/// Most blocking jobs running at once; the rest wait for a thread. Every thread costs its
/// stack and its allocator cache, and under load each would hold a job's buffers too: with
/// no bound, 100 IDLE sessions re-reading a mailbox that is being filled grew the pool to 60
/// threads and the server past 64 MB. 32 keeps group commit's batches large (SMTP ingest over
/// 50 connections is as fast as with 500) while a flood of work waits instead of growing.
pub const BLOCKING_THREADS: usize = 32;

/// Runtime services that are not tied to one connection.
pub trait Executor: Clone + Send + Sync + 'static {
    /// Runs blocking work (storage, password hashing) off the async threads, at most
    /// [`BLOCKING_THREADS`] jobs at once. The future does not borrow the executor, which keeps
    /// the drivers' futures `Send` for every lifetime.
    fn unblock<T, F>(&self, work: F) -> impl Future<Output = T> + Send + use<Self, T, F>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static;

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send + use<Self>;

    /// Runs `task` beside the session that started it, to its end: the DNS lookups of the
    /// checks on a sender, made while the client still sends its message. The task bounds
    /// its own time.
    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static);
}

/// Work the server runs beside its listeners until it stops (certificate renewal); it
/// watches the shutdown itself.
pub type Background = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs `work` on the blocking pool, then waits as long as it answers, or until `wake` is
/// signalled, for ever: the loop of the background tasks that look at the store now and
/// then (retention, snooze). The runtime ends it at shutdown.
pub async fn every<E, F>(executor: E, wake: &event_listener::Event, work: F)
where
    E: Executor,
    F: Fn() -> Duration + Send + Sync + 'static,
{
    let work = std::sync::Arc::new(work);
    loop {
        // Listening before working: a signal meanwhile still cuts the wait short.
        let woken = wake.listen();
        let step = work.clone();
        let wait = executor.unblock(move || step()).await;
        futures_lite::future::or(executor.sleep(wait), woken).await;
    }
}

/// Most bytes read from the socket at a time.
const READ_CHUNK: usize = 4096;
/// Fewest: an idle connection waits with a buffer this small, and it doubles while reads
/// fill it, so a client sending a message still gets [`READ_CHUNK`]-sized reads.
const READ_MIN: usize = 256;

/// The reading half of every driver's loop: a small buffer that grows while reads fill it,
/// and whether the server's shutdown was seen (and told to the session) already.
#[derive(Default)]
pub(crate) struct Reader {
    /// Kept only after a read that filled it.
    buf: Vec<u8>,
    shutdown_seen: bool,
}

impl Reader {
    /// Waits for input, the session's deadline or a shutdown, and tells the session.
    /// Returns `false` when the peer closed the connection.
    pub(crate) async fn turn<C: Connection, S: Session>(
        &mut self,
        conn: &mut C,
        session: &mut S,
    ) -> io::Result<bool> {
        let size = if self.buf.is_empty() {
            READ_MIN
        } else {
            self.buf.len() * 2
        };
        self.buf
            .resize(size.min(session.input_capacity()).min(READ_CHUNK), 0);
        let deadline = session.poll_timeout();
        match conn
            .read(&mut self.buf, deadline, !self.shutdown_seen)
            .await?
        {
            ReadOutcome::Data(n) => {
                session.handle_input(&self.buf[..n], Instant::now());
                if n < self.buf.len() {
                    self.buf = Vec::new();
                }
            }
            ReadOutcome::Closed => return Ok(false),
            // The connection says the deadline passed; trust it over a clock that may lag.
            ReadOutcome::TimedOut => {
                let now = Instant::now();
                session.handle_timeout(deadline.map_or(now, |at| at.max(now)));
            }
            ReadOutcome::Shutdown => {
                self.shutdown_seen = true;
                session.shutdown();
            }
        }
        Ok(true)
    }
}

/// Writes and clears what a session produced. A large buffer is given back, so a long
/// response written in pieces does not keep the memory of its largest piece (the driver
/// drops the buffer itself before it waits).
pub(crate) async fn flush<C: Connection>(conn: &mut C, out: &mut Vec<u8>) -> io::Result<()> {
    if !out.is_empty() {
        conn.write_all(out).await?;
        out.clear();
    }
    if out.capacity() > READ_CHUNK {
        *out = Vec::new();
    }
    Ok(())
}
