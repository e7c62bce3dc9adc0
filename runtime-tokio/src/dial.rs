//! Outbound connections on tokio: TCP to another server, then TLS as its client.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use engine::client_tls::ClientTls;
use engine::io::{Dialer, Outgoing, ReadOutcome, TlsCheck};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::stream::{Stream, within};

/// The tokio implementation of [`Dialer`]. Clones share the TLS configurations.
#[derive(Clone)]
pub struct TokioDialer {
    tls: ClientTls,
}

impl TokioDialer {
    /// The server builds `tls` once, for every connection.
    pub fn new(tls: ClientTls) -> Self {
        TokioDialer { tls }
    }
}

impl Dialer for TokioDialer {
    type Conn = TokioOutgoing;

    async fn connect(&self, addr: SocketAddr, timeout: Duration) -> io::Result<TokioOutgoing> {
        let tcp = within(timeout, "connecting timed out", TcpStream::connect(addr)).await?;
        // Commands are small and each waits for its reply: sending them at once saves a
        // round of Nagle's delay per command.
        tcp.set_nodelay(true)?;
        Ok(TokioOutgoing {
            stream: Stream::Plain(tcp),
            dialer: self.clone(),
        })
    }
}

/// A connection a [`TokioDialer`] opened.
pub struct TokioOutgoing {
    stream: Stream<TlsStream<TcpStream>>,
    dialer: TokioDialer,
}

impl Outgoing for TokioOutgoing {
    async fn read(&mut self, buf: &mut [u8], deadline: Option<Instant>) -> io::Result<ReadOutcome> {
        self.stream.read(buf, deadline).await
    }

    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.stream.write_all(data).await
    }

    async fn start_tls(&mut self, server_name: &str, check: &TlsCheck) -> io::Result<()> {
        let name = ServerName::try_from(server_name.to_string()).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("{server_name:?}: {e}"))
        })?;
        let connector = TlsConnector::from(self.dialer.tls.config(check)?);
        self.stream
            .start_tls(|tcp| connector.connect(name, tcp))
            .await
    }
}
