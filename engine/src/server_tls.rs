//! TLS on an accepted connection that, while the client is quiet, holds rustls's keys and
//! state and not its buffers.
//!
//! rustls's buffered connection keeps a 4 KiB read buffer from its first read to its last, so
//! 10,000 clients in IDLE hold 40 MB of buffers that nothing is read into. This stream drives
//! rustls's unbuffered API with buffers of its own instead:
//! - TLS records are read into a buffer that starts at [`READ_MIN`] bytes, grows to the record
//!   being read, and is freed once every record in it has been processed;
//! - decrypted data waits in a buffer only until the session reads it;
//! - encrypted data is freed once written.
//!
//! It is a futures-io stream, so both runtimes use it: smol as it is, tokio through
//! tokio-util's compatibility wrappers.

use std::future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures_lite::{AsyncRead, AsyncWrite};
use rustls::ServerConfig;
use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, InsufficientSizeError};

/// What a waiting connection reads into: a command sent in one record fits.
const READ_MIN: usize = 256;
/// A TLS record on the wire at its largest (TLS 1.2: a header and 2^14 + 2,048 bytes).
const MAX_RECORD: usize = 5 + 16_384 + 2_048;
/// Most TLS data held unprocessed: a handshake message of 16 KiB spread over records, and
/// the record after it, 52 KiB in all. rustls takes client messages up to 64 KiB, but the
/// largest a server gets is the ClientHello, a few KiB even with post-quantum key shares,
/// and what a client can make a connection hold before it logs in is half what it was.
const READ_MAX: usize = 16 * 1024 + 2 * MAX_RECORD;
/// Most plaintext encrypted by one write: four full records.
const WRITE_CHUNK: usize = 4 * 16_384;

/// The server side of a TLS connection over `S`.
pub struct ServerTls<S> {
    socket: S,
    conn: UnbufferedServerConnection,
    /// TLS data read and not yet processed: `incoming[..filled]`.
    incoming: Vec<u8>,
    filled: usize,
    /// Decrypted data the reader has not taken yet: `plain[taken..]`.
    plain: Vec<u8>,
    taken: usize,
    /// TLS data to write: `outgoing[sent..]`.
    outgoing: Vec<u8>,
    sent: usize,
    /// The client sent its close_notify: reads end here.
    peer_closed: bool,
    /// Ours was sent.
    close_sent: bool,
    /// rustls reported an error: it is not called again.
    failed: bool,
}

/// What a call into rustls came to.
enum Progress {
    /// A record was processed or a message encoded: there may be more to do.
    Moved,
    /// The handshake waits for the client's next flight.
    Blocked,
    /// Application data may flow and no whole record is left to process.
    Open,
    /// What was asked of [`Open`](Progress::Open) traffic is in `outgoing`.
    Written,
    /// Both sides sent close_notify.
    Closed,
}

/// What to send once traffic is open.
#[derive(Clone, Copy)]
enum Outbound<'a> {
    Nothing,
    Data(&'a [u8]),
    CloseNotify,
}

impl<S: AsyncRead + AsyncWrite + Unpin> ServerTls<S> {
    /// Performs the server side of the handshake on `socket`. Data the client sends right
    /// after its last handshake message is kept for the first read.
    pub async fn accept(socket: S, config: Arc<ServerConfig>) -> io::Result<Self> {
        let conn = UnbufferedServerConnection::new(config).map_err(invalid)?;
        let mut tls = ServerTls {
            socket,
            conn,
            incoming: Vec::new(),
            filled: 0,
            plain: Vec::new(),
            taken: 0,
            outgoing: Vec::new(),
            sent: 0,
            peer_closed: false,
            close_sent: false,
            failed: false,
        };
        future::poll_fn(|cx| tls.poll_handshake(cx)).await?;
        Ok(tls)
    }

    fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.poll_send(cx))?;
            match self.process(cx, Outbound::Nothing)? {
                Progress::Moved => {}
                Progress::Open if !self.conn.is_handshaking() => return Poll::Ready(Ok(())),
                Progress::Open | Progress::Blocked => {
                    if !ready!(self.poll_fill(cx))? {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the client closed the connection during the TLS handshake",
                        )));
                    }
                }
                Progress::Written | Progress::Closed => {
                    return Poll::Ready(Err(invalid("the TLS connection closed in its handshake")));
                }
            }
        }
    }

    /// One call into rustls with what has been read, carrying out the state it returns;
    /// `send` is done if traffic is open.
    fn process(&mut self, cx: &mut Context<'_>, send: Outbound<'_>) -> io::Result<Progress> {
        if self.failed {
            return Err(invalid("the TLS connection failed"));
        }
        let status = self
            .conn
            .process_tls_records(&mut self.incoming[..self.filled]);
        let mut discard = status.discard;
        let state = match status.state {
            Ok(state) => state,
            Err(error) => {
                self.discard(discard);
                return Err(self.fail(cx, error));
            }
        };
        let progress = match state {
            ConnectionState::ReadTraffic(mut records) => {
                while let Some(record) = records.next_record() {
                    let record = record.map_err(invalid)?;
                    discard += record.discard;
                    self.plain.extend_from_slice(record.payload);
                }
                Progress::Moved
            }
            ConnectionState::EncodeTlsData(mut message) => {
                append(&mut self.outgoing, 64, |out| Ok(message.encode(out)?))?;
                Progress::Moved
            }
            // Written by the next `poll_send`, before anything else is.
            ConnectionState::TransmitTlsData(transmit) => {
                transmit.done();
                Progress::Moved
            }
            ConnectionState::BlockedHandshake => Progress::Blocked,
            ConnectionState::WriteTraffic(mut traffic) => match send {
                Outbound::Nothing => Progress::Open,
                Outbound::Data(data) => {
                    append(&mut self.outgoing, data.len() + 64, |out| {
                        Ok(traffic.encrypt(data, out)?)
                    })?;
                    Progress::Written
                }
                Outbound::CloseNotify => {
                    append(&mut self.outgoing, 64, |out| {
                        Ok(traffic.queue_close_notify(out)?)
                    })?;
                    Progress::Written
                }
            },
            ConnectionState::PeerClosed => {
                self.peer_closed = true;
                Progress::Moved
            }
            ConnectionState::Closed => Progress::Closed,
            // Early data is never offered, and later states are not known to this code.
            _ => return Err(invalid("unexpected TLS state")),
        };
        self.discard(discard);
        Ok(progress)
    }

    /// The error for `error`, after a try at sending the alert rustls queued for it, so the
    /// client learns why.
    fn fail(&mut self, cx: &mut Context<'_>, error: rustls::Error) -> io::Error {
        self.failed = true;
        // Called once more, rustls hands out what it queued before it reads anything: the
        // alert. Not twice: with its queue empty it would read the same records again.
        if let Ok(ConnectionState::EncodeTlsData(mut message)) = self
            .conn
            .process_tls_records(&mut self.incoming[..self.filled])
            .state
        {
            let _ = append(&mut self.outgoing, 64, |out| Ok(message.encode(out)?));
        }
        self.incoming = Vec::new();
        self.filled = 0;
        let _ = self.poll_send(cx);
        invalid(error)
    }

    fn discard(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.incoming.copy_within(n..self.filled, 0);
        self.filled -= n;
        if self.filled == 0 {
            self.incoming = Vec::new();
        }
    }

    /// Reads more TLS data; `false` at the end of the connection.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        if self.filled == self.incoming.len() {
            if self.filled >= READ_MAX {
                return Poll::Ready(Err(invalid("a TLS message too large")));
            }
            // Room for the whole of the first record, when its header says how large it is.
            let record = match self.incoming.get(3..5) {
                Some(&[high, low]) => 5 + usize::from(u16::from_be_bytes([high, low])),
                _ => 0,
            };
            let size = (self.incoming.len() * 2).max(record).max(READ_MIN);
            self.incoming.resize(size.min(READ_MAX), 0);
        }
        let n =
            ready!(Pin::new(&mut self.socket).poll_read(cx, &mut self.incoming[self.filled..]))?;
        self.filled += n;
        if self.filled == 0 {
            self.incoming = Vec::new();
        }
        Poll::Ready(Ok(n > 0))
    }

    /// Writes what was encrypted or encoded, then frees it.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.outgoing.len() {
            let n = ready!(Pin::new(&mut self.socket).poll_write(cx, &self.outgoing[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.outgoing = Vec::new();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }

    /// Carries out `send` once traffic is open.
    fn poll_traffic(&mut self, cx: &mut Context<'_>, send: Outbound<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_send(cx))?;
        loop {
            match self.process(cx, send)? {
                Progress::Written => return Poll::Ready(Ok(())),
                Progress::Moved => {}
                Progress::Open | Progress::Blocked | Progress::Closed => {
                    return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
                }
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for ServerTls<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            if this.taken < this.plain.len() {
                let waiting = &this.plain[this.taken..];
                let n = waiting.len().min(buf.len());
                buf[..n].copy_from_slice(&waiting[..n]);
                this.taken += n;
                if this.taken == this.plain.len() {
                    this.plain = Vec::new();
                    this.taken = 0;
                }
                return Poll::Ready(Ok(n));
            }
            if this.peer_closed {
                return Poll::Ready(Ok(0));
            }
            // Answers rustls owes the client (a key update) go out before more is read.
            ready!(this.poll_send(cx))?;
            match this.process(cx, Outbound::Nothing)? {
                Progress::Moved | Progress::Written => {}
                Progress::Open | Progress::Blocked => {
                    if !ready!(this.poll_fill(cx))? {
                        return Poll::Ready(Ok(0));
                    }
                }
                Progress::Closed => return Poll::Ready(Ok(0)),
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for ServerTls<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let data = &data[..data.len().min(WRITE_CHUNK)];
        ready!(this.poll_traffic(cx, Outbound::Data(data)))?;
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send(cx))?;
        Pin::new(&mut this.socket).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.close_sent {
            ready!(this.poll_traffic(cx, Outbound::CloseNotify))?;
            this.close_sent = true;
        }
        ready!(this.poll_send(cx))?;
        Pin::new(&mut this.socket).poll_close(cx)
    }
}

/// Why rustls wrote nothing into a buffer.
enum Unwritten {
    /// The buffer must have this many bytes.
    Short(usize),
    Failed(io::Error),
}

impl From<EncodeError> for Unwritten {
    fn from(error: EncodeError) -> Self {
        match error {
            EncodeError::InsufficientSize(InsufficientSizeError { required_size }) => {
                Unwritten::Short(required_size)
            }
            error => Unwritten::Failed(invalid(error)),
        }
    }
}

impl From<EncryptError> for Unwritten {
    fn from(error: EncryptError) -> Self {
        match error {
            EncryptError::InsufficientSize(InsufficientSizeError { required_size }) => {
                Unwritten::Short(required_size)
            }
            error => Unwritten::Failed(invalid(error)),
        }
    }
}

/// Appends to `out` what `encode` writes: given `room` bytes first, then as many as rustls
/// asks for.
fn append(
    out: &mut Vec<u8>,
    room: usize,
    mut encode: impl FnMut(&mut [u8]) -> Result<usize, Unwritten>,
) -> io::Result<()> {
    let at = out.len();
    out.resize(at + room, 0);
    loop {
        match encode(&mut out[at..]) {
            Ok(n) => {
                out.truncate(at + n);
                return Ok(());
            }
            Err(Unwritten::Short(size)) => out.resize(at + size, 0),
            Err(Unwritten::Failed(error)) => {
                out.truncate(at);
                return Err(error);
            }
        }
    }
}

fn invalid(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

#[cfg(test)]
mod tests;
