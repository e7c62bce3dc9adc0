//! The server side of TLS (`engine::server_tls`) fed arbitrary client bytes in pieces of
//! the size the first octet chose: the handshake fails, or waits for more, and nothing
//! panics, whatever rustls makes of the bytes. Its seeds are real ClientHellos, so rustls
//! answers them and waits for the client's next flight.
#![no_main]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use engine::server_tls::ServerTls;
use futures_lite::{AsyncRead, AsyncWrite};
use libfuzzer_sys::fuzz_target;
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The client's bytes, handed over `piece` at a time; what the server writes is dropped.
struct Socket(Rc<RefCell<(VecDeque<u8>, usize)>>);

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut wire = self.0.borrow_mut();
        let n = buf.len().min(wire.1).min(wire.0.len());
        for (to, from) in buf[..n].iter_mut().zip(wire.0.drain(..n)) {
            *to = from;
        }
        // Once the input is spent the client is gone.
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn config() -> Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let certified = rcgen::generate_simple_self_signed(vec!["mail.example.test".into()])
                .expect("certificate");
            let cert = CertificateDer::from(certified.cert.der().to_vec());
            let key = PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(vec![cert], PrivateKeyDer::Pkcs8(key))
                .expect("configuration");
            Arc::new(config)
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let Some((&piece, input)) = data.split_first() else {
        return;
    };
    let wire = Rc::new(RefCell::new((
        input.iter().copied().collect(),
        usize::from(piece.max(1)),
    )));
    let mut accept = pin!(ServerTls::accept(Socket(wire), config()));
    // Every read returns at once, so one poll runs the handshake until it ends: random bytes
    // never finish it, a ClientHello's answer ends at the client's spent input.
    let outcome = accept
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()));
    assert!(
        matches!(outcome, Poll::Ready(Err(_))),
        "a handshake finished without a client"
    );
});
