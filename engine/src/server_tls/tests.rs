//! The stream against rustls's own client, over a socket in memory that hands the server
//! its bytes in pieces of a chosen size.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use proptest::prelude::*;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig};

use super::*;

/// The bytes in flight each way.
#[derive(Default)]
struct Wire {
    to_server: VecDeque<u8>,
    to_client: Vec<u8>,
    /// Most bytes one read of the server's gets.
    piece: usize,
    /// The client closed its side: the server's reads end once `to_server` is empty.
    closed: bool,
}

#[derive(Clone)]
struct Socket(Rc<RefCell<Wire>>);

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut wire = self.0.borrow_mut();
        if wire.to_server.is_empty() {
            return if wire.closed {
                Poll::Ready(Ok(0))
            } else {
                Poll::Pending
            };
        }
        let n = buf.len().min(wire.piece).min(wire.to_server.len());
        for (to, from) in buf[..n].iter_mut().zip(wire.to_server.drain(..n)) {
            *to = from;
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.borrow_mut().to_client.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn configs() -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = CertificateDer::from(certified.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(cert).unwrap();
    let client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

/// A client and a server at either end of one wire.
struct Pair {
    wire: Rc<RefCell<Wire>>,
    client: ClientConnection,
    /// What the client decrypted and the test has not looked at.
    received: Vec<u8>,
    server: ServerTls<Socket>,
}

fn cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

/// Moves what the client has to send onto the wire, and what the server sent into the
/// client; what the client decrypts goes to `received`.
fn pump(client: &mut ClientConnection, wire: &RefCell<Wire>, received: &mut Vec<u8>) {
    let mut wire = wire.borrow_mut();
    while client.wants_write() {
        client.write_tls(&mut wire.to_server).unwrap();
    }
    let sent = std::mem::take(&mut wire.to_client);
    let mut sent = &sent[..];
    while !sent.is_empty() {
        client.read_tls(&mut sent).unwrap();
        client.process_new_packets().unwrap();
        match client.reader().read_to_end(received) {
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => panic!("{error}"),
        }
    }
}

fn connect(piece: usize) -> Pair {
    let (server_config, client_config) = configs();
    let wire = Rc::new(RefCell::new(Wire {
        piece,
        ..Wire::default()
    }));
    let name = ServerName::try_from("localhost").unwrap();
    let mut client = ClientConnection::new(client_config, name).unwrap();
    let mut accept = pin!(ServerTls::accept(Socket(wire.clone()), server_config));
    let mut received = Vec::new();
    for _ in 0..10_000 {
        pump(&mut client, &wire, &mut received);
        if let Poll::Ready(server) = accept.as_mut().poll(&mut cx()) {
            let server = server.unwrap();
            pump(&mut client, &wire, &mut received);
            assert!(!client.is_handshaking());
            return Pair {
                wire,
                client,
                received,
                server,
            };
        }
    }
    panic!("the handshake did not finish");
}

/// The error a server's handshake ends in on `sent`, read `piece` octets at a time, the
/// client gone after it when `closed`; and the wire, to see what the server sent.
fn failed_handshake(sent: &[u8], piece: usize, closed: bool) -> (io::Error, Rc<RefCell<Wire>>) {
    let (server_config, _) = configs();
    let wire = Rc::new(RefCell::new(Wire {
        to_server: sent.iter().copied().collect(),
        piece,
        closed,
        ..Wire::default()
    }));
    let mut accept = pin!(ServerTls::accept(Socket(wire.clone()), server_config));
    let Poll::Ready(Err(error)) = accept.as_mut().poll(&mut cx()) else {
        panic!("the handshake did not fail");
    };
    (error, wire)
}

impl Pair {
    /// What the server reads, `room` bytes at a time, until it would wait.
    fn server_reads(&mut self, room: usize) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = vec![0; room];
        for _ in 0..1_000_000 {
            pump(&mut self.client, &self.wire, &mut self.received);
            match Pin::new(&mut self.server).poll_read(&mut cx(), &mut buf) {
                Poll::Ready(Ok(0)) | Poll::Pending => return got,
                Poll::Ready(Ok(n)) => got.extend_from_slice(&buf[..n]),
                Poll::Ready(Err(error)) => panic!("{error}"),
            }
        }
        panic!("the server kept reading");
    }

    /// Writes `data` from the server and flushes it.
    fn server_writes(&mut self, mut data: &[u8]) {
        let mut server = Pin::new(&mut self.server);
        while !data.is_empty() {
            match server.as_mut().poll_write(&mut cx(), data) {
                Poll::Ready(Ok(n)) => data = &data[n..],
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(server.poll_flush(&mut cx()), Poll::Ready(Ok(()))));
    }

    /// What the client has decrypted.
    fn client_reads(&mut self) -> Vec<u8> {
        pump(&mut self.client, &self.wire, &mut self.received);
        std::mem::take(&mut self.received)
    }

    /// Bytes the server holds besides rustls's own state.
    fn held(&self) -> usize {
        self.server.incoming.capacity()
            + self.server.plain.capacity()
            + self.server.outgoing.capacity()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever the sizes of the pieces the socket gives and of the reader's buffer, each
    /// side gets what the other sent, and a quiet connection holds no more than a small
    /// read buffer.
    #[test]
    fn data_crosses_in_any_pieces(
        piece in 1usize..6_000,
        room in 1usize..6_000,
        from_client in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40_000), 1..4),
        from_server in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..100_000), 1..3),
    ) {
        let mut pair = connect(piece);
        for message in &from_client {
            pair.client.writer().write_all(message).unwrap();
            let got = pair.server_reads(room);
            prop_assert_eq!(&got, message);
        }
        for message in &from_server {
            pair.server_writes(message);
            prop_assert_eq!(&pair.client_reads(), message);
        }
        prop_assert!(pair.held() <= READ_MIN, "{} bytes held", pair.held());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever a client sends instead of a handshake, in whatever pieces, the handshake
    /// fails with an error (or waits for more) and holds no more than a bounded buffer.
    #[test]
    fn any_bytes_end_a_handshake_in_an_error(
        sent in prop::collection::vec(any::<u8>(), 0..40_000),
        record_like in any::<bool>(),
        piece in 1usize..20_000,
    ) {
        let mut sent = sent;
        if record_like && sent.len() >= 5 {
            // A handshake record's header with any length, so more than the header is read.
            sent[..3].copy_from_slice(&[22, 3, 1]);
        }
        failed_handshake(&sent, piece, true);
    }

    /// A record damaged on the way ends the connection with an error, never a panic, and
    /// none of it is read.
    #[test]
    fn a_damaged_record_is_an_error(flip in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut pair = connect(1 << 20);
        pair.client.writer().write_all(b"a1 NOOP\r\n").unwrap();
        prop_assert_eq!(pair.server_reads(100), b"a1 NOOP\r\n");
        pair.client.writer().write_all(&[7; 300]).unwrap();
        {
            let mut wire = pair.wire.borrow_mut();
            while pair.client.wants_write() {
                pair.client.write_tls(&mut wire.to_server).unwrap();
            }
            // Any byte of the one record but its outer type and legacy version, which
            // TLS 1.3 fixes and ignores (RFC 8446 §5.1, §5.2; rustls authenticates the
            // constants in their place).
            let at = 3 + flip.index(wire.to_server.len() - 3);
            wire.to_server[at] ^= 1 << bit;
        }
        let mut buf = [0; 1000];
        let mut read = Vec::new();
        let outcome = loop {
            match Pin::new(&mut pair.server).poll_read(&mut cx(), &mut buf) {
                Poll::Ready(Ok(n)) if n > 0 => read.extend_from_slice(&buf[..n]),
                other => break other,
            }
        };
        // A flipped length may leave the record waiting for bytes that never come.
        prop_assert!(
            matches!(outcome, Poll::Ready(Err(_)) | Poll::Pending),
            "{outcome:?}"
        );
        prop_assert!(read.is_empty(), "{} bytes of a damaged record read", read.len());
    }
}

#[test]
fn data_sent_with_the_handshake_is_read_first() {
    let mut pair = connect(1 << 20);
    pair.client
        .writer()
        .write_all(b"a1 CAPABILITY\r\n")
        .unwrap();
    pair.client.writer().write_all(b"a2 NOOP\r\n").unwrap();
    pair.server_writes(b"* OK ready\r\n");
    assert_eq!(pair.server_reads(4096), b"a1 CAPABILITY\r\na2 NOOP\r\n");
    assert_eq!(pair.client_reads(), b"* OK ready\r\n");
}

#[test]
fn a_key_update_is_answered() {
    let mut pair = connect(100);
    pair.client.refresh_traffic_keys().unwrap();
    pair.client.writer().write_all(b"after the update").unwrap();
    assert_eq!(pair.server_reads(64), b"after the update");
    pair.server_writes(b"answered with new keys");
    assert_eq!(pair.client_reads(), b"answered with new keys");
}

#[test]
fn close_notify_ends_reads_both_ways() {
    let mut pair = connect(1000);
    pair.client.writer().write_all(b"a1 LOGOUT\r\n").unwrap();
    pair.client.send_close_notify();
    assert_eq!(pair.server_reads(100), b"a1 LOGOUT\r\n");
    assert!(matches!(
        Pin::new(&mut pair.server).poll_read(&mut cx(), &mut [0; 10]),
        Poll::Ready(Ok(0))
    ));
    pair.server_writes(b"* BYE\r\n");
    assert!(matches!(
        Pin::new(&mut pair.server).poll_close(&mut cx()),
        Poll::Ready(Ok(()))
    ));
    let mut got = Vec::new();
    pump(&mut pair.client, &pair.wire, &mut got);
    assert_eq!(got, b"* BYE\r\n");
    // The end of the data, not a wait for more: the client saw the close_notify.
    assert_eq!(pair.client.reader().read(&mut [0; 1]).unwrap(), 0);
}

#[test]
fn a_client_that_speaks_no_tls_gets_an_alert_and_an_error() {
    let (error, wire) = failed_handshake(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", 1000, false);
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    // An alert record.
    assert_eq!(wire.borrow().to_client.first(), Some(&21));
}

#[test]
fn a_handshake_message_past_the_bound_is_refused_before_it_is_read() {
    // A ClientHello of 64 KiB (the most rustls takes), in full records.
    let mut hello = vec![1, 0, 0xff, 0xfc];
    hello.resize(0x10000, 0);
    let mut records = Vec::new();
    for fragment in hello.chunks(16_384) {
        records.extend([22, 3, 1]);
        records.extend((fragment.len() as u16).to_be_bytes());
        records.extend(fragment);
    }
    let (error, wire) = failed_handshake(&records, 4096, true);
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    // Refused at the bound (less than the message), not once the message was whole.
    let read = 0x10000 + 20 - wire.borrow().to_server.len();
    assert!(read <= READ_MAX, "{read} bytes read");
}

#[test]
fn a_client_gone_in_the_handshake_is_an_early_end() {
    let (error, _) = failed_handshake(&[], 1000, true);
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
}
