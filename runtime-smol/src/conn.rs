//! A client connection on smol: plain TCP that can turn into TLS (STARTTLS or implicit).

use std::io;
use std::sync::Arc;
use std::time::Instant;

use async_channel::Receiver;
use async_net::TcpStream;
use engine::io::{Connection, HANDSHAKE_LIMIT, ReadOutcome, WRITE_LIMIT};
use futures_lite::{AsyncReadExt, AsyncWrite, AsyncWriteExt, future};
use futures_rustls::TlsAcceptor;
use futures_rustls::server::TlsStream;
use smol::Timer;

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Only while a handshake is in progress or after it failed.
    Closed,
}

pub(crate) struct SmolConnection {
    stream: Stream,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: Receiver<()>,
}

impl SmolConnection {
    pub(crate) fn new(
        stream: TcpStream,
        tls: Option<Arc<rustls::ServerConfig>>,
        shutdown: Receiver<()>,
    ) -> Self {
        SmolConnection {
            stream: Stream::Plain(stream),
            tls,
            shutdown,
        }
    }

    /// Implicit TLS: handshake before anything else.
    pub(crate) async fn handshake(mut self) -> io::Result<Self> {
        self.start_tls().await?;
        Ok(self)
    }
}

impl Connection for SmolConnection {
    async fn read(
        &mut self,
        buf: &mut [u8],
        deadline: Option<Instant>,
        watch_shutdown: bool,
    ) -> io::Result<ReadOutcome> {
        let SmolConnection {
            stream, shutdown, ..
        } = self;
        let read = async {
            let n = match stream {
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
        let shutdown = async {
            if watch_shutdown {
                let _ = shutdown.recv().await;
                Ok(ReadOutcome::Shutdown)
            } else {
                future::pending().await
            }
        };
        future::or(read, future::or(timeout, shutdown)).await
    }

    async fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        let stream: &mut (dyn AsyncWrite + Unpin + Send) = match &mut self.stream {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s,
            Stream::Closed => return Err(io::ErrorKind::NotConnected.into()),
        };
        // The limit is on progress, not on the whole write: a slow link is fine, a peer
        // that reads nothing is not.
        while !data.is_empty() {
            match progress(stream.write(data)).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => data = &data[n..],
            }
        }
        progress(stream.flush()).await
    }

    async fn start_tls(&mut self) -> io::Result<()> {
        let config = self.tls.clone().ok_or_else(|| {
            io::Error::new(io::ErrorKind::Unsupported, "no TLS certificate configured")
        })?;
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Closed) else {
            return Err(io::Error::other("TLS is already active"));
        };
        let handshake = async { TlsAcceptor::from(config).accept(tcp).await.map(Some) };
        let limit = async {
            Timer::after(HANDSHAKE_LIMIT).await;
            Ok(None)
        };
        let tls = future::or(handshake, limit)
            .await?
            .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))?;
        self.stream = Stream::Tls(Box::new(tls));
        Ok(())
    }
}

/// `io` unless it waits longer than [`WRITE_LIMIT`].
async fn progress<T>(io: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    let limit = async {
        Timer::after(WRITE_LIMIT).await;
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client accepts no data",
        ))
    };
    future::or(io, limit).await
}
