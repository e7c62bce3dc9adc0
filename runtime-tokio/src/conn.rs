//! A client connection on tokio: plain TCP that can turn into TLS (STARTTLS or implicit).

use std::io;
use std::sync::Arc;
use std::time::Instant;

use async_channel::Receiver;
use engine::io::{Connection, HANDSHAKE_LIMIT, ReadOutcome, WRITE_LIMIT};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Only while a handshake is in progress or after it failed.
    Closed,
}

pub(crate) struct TokioConnection {
    stream: Stream,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: Receiver<()>,
}

impl TokioConnection {
    pub(crate) fn new(
        stream: TcpStream,
        tls: Option<Arc<rustls::ServerConfig>>,
        shutdown: Receiver<()>,
    ) -> Self {
        TokioConnection {
            stream: Stream::Plain(stream),
            tls,
            shutdown,
        }
    }
}

impl Connection for TokioConnection {
    async fn read(
        &mut self,
        buf: &mut [u8],
        deadline: Option<Instant>,
        watch_shutdown: bool,
    ) -> io::Result<ReadOutcome> {
        let TokioConnection {
            stream, shutdown, ..
        } = self;
        let read = async {
            match stream {
                Stream::Plain(s) => s.read(buf).await,
                Stream::Tls(s) => s.read(buf).await,
                Stream::Closed => Ok(0),
            }
        };
        let timeout = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            n = read => Ok(match n? {
                0 => ReadOutcome::Closed,
                n => ReadOutcome::Data(n),
            }),
            () = timeout => Ok(ReadOutcome::TimedOut),
            _ = shutdown.recv(), if watch_shutdown => Ok(ReadOutcome::Shutdown),
        }
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
        let tls = tokio::time::timeout(HANDSHAKE_LIMIT, TlsAcceptor::from(config).accept(tcp))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
        self.stream = Stream::Tls(Box::new(tls));
        Ok(())
    }
}

/// `io` unless it waits longer than [`WRITE_LIMIT`].
async fn progress<T>(io: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    tokio::time::timeout(WRITE_LIMIT, io)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the client accepts no data"))?
}
