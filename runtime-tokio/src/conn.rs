//! A client connection on tokio: plain TCP that can turn into TLS (STARTTLS or implicit).

use std::io;
use std::sync::Arc;
use std::time::Instant;

use async_channel::Receiver;
use engine::io::{Connection, ReadOutcome};
use engine::server_tls::ServerTls;
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, FuturesAsyncReadCompatExt, TokioAsyncReadCompatExt};

use crate::stream::Stream;

/// The engine's TLS stream speaks futures-io; tokio-util's wrappers carry it over to tokio's
/// traits and back.
type Tls = Compat<ServerTls<Compat<TcpStream>>>;

pub(crate) struct TokioConnection {
    stream: Stream<Tls>,
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
        tokio::select! {
            outcome = stream.read(buf, deadline) => outcome,
            _ = shutdown.recv(), if watch_shutdown => Ok(ReadOutcome::Shutdown),
        }
    }

    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.stream.write_all(data).await
    }

    async fn close(&mut self) -> io::Result<()> {
        self.stream.close().await
    }

    async fn start_tls(&mut self) -> io::Result<()> {
        let config = self.tls.clone().ok_or_else(|| {
            io::Error::new(io::ErrorKind::Unsupported, "no TLS certificate configured")
        })?;
        self.stream
            .start_tls(
                |tcp| async move { Ok(ServerTls::accept(tcp.compat(), config).await?.compat()) },
            )
            .await
    }
}
