//! The socket under every connection, accepted or dialed: plain TCP that can turn into TLS,
//! with the time limits both directions share.

use std::io;
use std::time::{Duration, Instant};

use async_net::TcpStream;
use engine::io::{HANDSHAKE_LIMIT, ReadOutcome, WRITE_LIMIT};
use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, future};
use smol::Timer;

/// `T` is the TLS stream: rustls's server or client side.
pub(crate) enum Stream<T> {
    Plain(TcpStream),
    Tls(Box<T>),
    /// Only while a handshake is in progress or after it failed.
    Closed,
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream<T> {
    /// Reads what is available into `buf`, waiting at most until `deadline`.
    pub(crate) async fn read(
        &mut self,
        buf: &mut [u8],
        deadline: Option<Instant>,
    ) -> io::Result<ReadOutcome> {
        let read = async {
            let n = match self {
                Stream::Plain(s) => s.read(buf).await?,
                Stream::Tls(s) => s.read(buf).await?,
                Stream::Closed => 0,
            };
            Ok(if n == 0 {
                ReadOutcome::Closed
            } else {
                ReadOutcome::Data(n)
            })
        };
        let timeout = async {
            match deadline {
                Some(at) => Timer::at(at).await,
                None => future::pending().await,
            };
            Ok(ReadOutcome::TimedOut)
        };
        future::or(read, timeout).await
    }

    /// Writes all of `data` and flushes it.
    pub(crate) async fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        let stream: &mut (dyn AsyncWrite + Unpin + Send) = match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s,
            Stream::Closed => return Err(io::ErrorKind::NotConnected.into()),
        };
        // The limit is on progress, not on the whole write: a slow link is fine, a peer
        // that reads nothing is not.
        let stalled = "the peer accepts no data";
        while !data.is_empty() {
            match within(WRITE_LIMIT, stalled, stream.write(data)).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => data = &data[n..],
            }
        }
        within(WRITE_LIMIT, stalled, stream.flush()).await
    }

    /// Ends the connection from this side: TLS's close_notify, then the socket's write side.
    pub(crate) async fn close(&mut self) -> io::Result<()> {
        let stream: &mut (dyn AsyncWrite + Unpin + Send) = match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s,
            Stream::Closed => return Ok(()),
        };
        within(WRITE_LIMIT, "the peer accepts no data", stream.close()).await
    }

    /// Turns the plain socket into TLS with `handshake`, which gets [`HANDSHAKE_LIMIT`].
    /// After a failed handshake, or on a stream that is not plain, the stream is closed.
    pub(crate) async fn start_tls<F>(
        &mut self,
        handshake: impl FnOnce(TcpStream) -> F,
    ) -> io::Result<()>
    where
        F: Future<Output = io::Result<T>>,
    {
        let Stream::Plain(tcp) = std::mem::replace(self, Stream::Closed) else {
            return Err(io::Error::other("TLS is already active"));
        };
        // Boxed: a handshake's state (rustls's connection with its buffers) is large and
        // lives only while it runs; inline, every connection's future would keep room for it
        // from its first byte to its last.
        let handshake = Box::pin(within(
            HANDSHAKE_LIMIT,
            "TLS handshake timed out",
            handshake(tcp),
        ));
        let tls = handshake.await?;
        *self = Stream::Tls(Box::new(tls));
        Ok(())
    }
}

/// `work`, unless it takes longer than `limit`: then a `TimedOut` error saying `what`.
pub(crate) async fn within<T>(
    limit: Duration,
    what: &str,
    work: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let expired = async {
        Timer::after(limit).await;
        Err(io::Error::new(io::ErrorKind::TimedOut, what.to_string()))
    };
    future::or(work, expired).await
}
