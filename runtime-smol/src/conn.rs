//! A client connection on smol: plain TCP that can turn into TLS (STARTTLS or implicit).

use std::io;
use std::sync::Arc;
use std::time::Instant;

use async_channel::Receiver;
use async_net::TcpStream;
use engine::io::{Connection, ReadOutcome};
use engine::server_tls::ServerTls;
use futures_lite::future;

use crate::stream::Stream;

pub(crate) struct SmolConnection {
    stream: Stream<ServerTls<TcpStream>>,
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
        let shutdown = async {
            if watch_shutdown {
                let _ = shutdown.recv().await;
                Ok(ReadOutcome::Shutdown)
            } else {
                future::pending().await
            }
        };
        future::or(stream.read(buf, deadline), shutdown).await
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
            .start_tls(|tcp| ServerTls::accept(tcp, config))
            .await
    }
}
