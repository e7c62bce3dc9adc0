//! Each runtime's dialer with the client configurations of [`client`](super::client),
//! against servers on loopback: plain, TLS with a self-signed certificate, and TLS with a
//! certificate from a test CA.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::dns::Tlsa;
use engine::io::{Dialer, Outgoing, ReadOutcome, TlsCheck};
use engine::queue::dane::{Usable, is_mismatch};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, PublicKeyData,
};
use rustls::crypto::ring::sign::any_supported_type;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};

use engine::client_tls::ClientTls;

/// A runtime to test: its dialer and a way to run a future on it.
trait Runtime {
    type Dialer: Dialer;
    fn dialer(tls: ClientTls) -> Self::Dialer;
    fn block_on<T>(work: impl Future<Output = T>) -> T;
}

struct Smol;

impl Runtime for Smol {
    type Dialer = runtime_smol::SmolDialer;

    fn dialer(tls: ClientTls) -> Self::Dialer {
        runtime_smol::SmolDialer::new(tls)
    }

    fn block_on<T>(work: impl Future<Output = T>) -> T {
        async_io::block_on(work)
    }
}

#[cfg(feature = "tokio")]
struct Tokio;

#[cfg(feature = "tokio")]
impl Runtime for Tokio {
    type Dialer = runtime_tokio::TokioDialer;

    fn dialer(tls: ClientTls) -> Self::Dialer {
        runtime_tokio::TokioDialer::new(tls)
    }

    fn block_on<T>(work: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work)
    }
}

/// A `#[test]` per scenario and runtime: `on_smol::NAME`, and `on_tokio::NAME` with the
/// `tokio` feature.
macro_rules! on_each_runtime {
    ($($scenario:ident),* $(,)?) => {
        mod on_smol {
            $(#[test]
            fn $scenario() {
                super::$scenario::<super::Smol>();
            })*
        }
        #[cfg(feature = "tokio")]
        mod on_tokio {
            $(#[test]
            fn $scenario() {
                super::$scenario::<super::Tokio>();
            })*
        }
    };
}

on_each_runtime!(
    plain_round_trip,
    read_deadline_times_out,
    peer_close_reads_as_closed,
    refused_connection_fails_at_once,
    unanswered_connection_times_out,
    opportunistic_tls_takes_a_self_signed_certificate,
    opportunistic_tls_checks_the_server_holds_the_key,
    verified_tls_refuses_a_self_signed_certificate,
    verified_tls_trusts_the_ca_file,
    verified_tls_checks_the_name,
    server_name_must_be_a_name,
    dane_ee_pins_a_self_signed_key,
    dane_ee_refuses_another_key,
    dane_ta_anchors_the_chain_and_checks_the_name,
);

const PATIENCE: Duration = Duration::from_secs(10);

/// Certificates for `localhost`: a self-signed one, the same presented by a server without
/// its key, and one from a test CA whose certificate is in `ca_file`.
struct Pki {
    self_signed: Arc<ServerConfig>,
    without_key: Arc<ServerConfig>,
    ca_signed: Arc<ServerConfig>,
    ca_file: tempfile::NamedTempFile,
    /// The CA-signed certificate presented with the CA's certificate after it, as a server
    /// whose TLSA record names its CA (DANE-TA) must.
    ca_chain: Arc<ServerConfig>,
    /// The self-signed certificate's SubjectPublicKeyInfo, the test CA's certificate and
    /// its SubjectPublicKeyInfo.
    self_signed_spki: Vec<u8>,
    ca_cert: Vec<u8>,
    ca_spki: Vec<u8>,
}

impl Pki {
    fn new() -> Pki {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let self_signed = rcgen::generate_simple_self_signed(["localhost".to_string()]).unwrap();

        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // Not rcgen's default name, which the self-signed certificate has as its issuer.
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Postern test CA");
        let ca_key = KeyPair::generate().unwrap();
        let ca_spki = ca_key.subject_public_key_info();
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(["localhost".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();
        let ca_file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(ca_file.path(), ca.pem()).unwrap();

        // A certificate with another key: what a server that copied a certificate has.
        let other_key = PrivatePkcs8KeyDer::from(KeyPair::generate().unwrap().serialize_der());
        let mismatched = CertifiedKey::new(
            vec![self_signed.cert.der().clone()],
            any_supported_type(&other_key.into()).unwrap(),
        );
        let without_key = ServerConfig::builder()
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(SingleCertAndKey::from(mismatched)));

        Pki {
            self_signed: server_config(
                vec![self_signed.cert.der().clone()],
                &self_signed.signing_key,
            ),
            without_key: Arc::new(without_key),
            ca_signed: server_config(vec![leaf.der().clone()], &leaf_key),
            ca_file,
            ca_chain: server_config(vec![leaf.der().clone(), ca.der().clone()], &leaf_key),
            self_signed_spki: self_signed.signing_key.subject_public_key_info(),
            ca_cert: ca.der().to_vec(),
            ca_spki,
        }
    }

    /// The client configurations with the test CA trusted.
    fn trusting_ca(&self) -> ClientTls {
        ClientTls::load(Some(self.ca_file.path())).unwrap()
    }
}

fn server_config(chain: Vec<CertificateDer<'static>>, key: &KeyPair) -> Arc<ServerConfig> {
    let key = PrivatePkcs8KeyDer::from(key.serialize_der()).into();
    Arc::new(
        ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
    )
}

/// A DANE check with the records given in presentation format.
fn dane(records: &[String]) -> TlsCheck {
    let records: Vec<Tlsa> = records.iter().map(|r| r.parse().unwrap()).collect();
    TlsCheck::Dane(Arc::new(Usable::select(&records).unwrap()))
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(data))
}

/// Accepts one connection, with `tls` as implicit TLS, and echoes what it reads until the
/// client closes or the handshake fails.
fn echo_server(tls: Option<Arc<ServerConfig>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let _ = match tls {
            Some(config) => echo(StreamOwned::new(
                ServerConnection::new(config).unwrap(),
                tcp,
            )),
            None => echo(tcp),
        };
    });
    addr
}

fn echo(mut stream: impl Read + Write) -> io::Result<()> {
    let mut buf = [0; 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n])?;
        stream.flush()?;
    }
}

/// Sends a line and expects it back.
async fn round_trip(conn: &mut impl Outgoing) {
    let line = b"EHLO client.test\r\n";
    conn.write_all(line).await.unwrap();
    let deadline = Instant::now() + PATIENCE;
    let mut got = Vec::new();
    let mut buf = [0; 64];
    while got.len() < line.len() {
        match conn.read(&mut buf, Some(deadline)).await.unwrap() {
            ReadOutcome::Data(n) => got.extend_from_slice(&buf[..n]),
            other => panic!("expected the echo, got {other:?}"),
        }
    }
    assert_eq!(got, line);
}

/// Connects to a server with the certificate `cert` and starts TLS for `name`.
fn start_tls<R: Runtime>(
    tls: ClientTls,
    cert: &Arc<ServerConfig>,
    name: &str,
    check: TlsCheck,
) -> io::Result<()> {
    let addr = echo_server(Some(cert.clone()));
    R::block_on(async {
        let mut conn = R::dialer(tls).connect(addr, PATIENCE).await?;
        conn.start_tls(name, &check).await?;
        round_trip(&mut conn).await;
        Ok(())
    })
}

/// Connects to `addr` with the runtime's dialer, giving up after `timeout`.
async fn connect<R: Runtime>(
    addr: SocketAddr,
    timeout: Duration,
) -> io::Result<<R::Dialer as Dialer>::Conn> {
    R::dialer(ClientTls::load(None).unwrap())
        .connect(addr, timeout)
        .await
}

fn plain_round_trip<R: Runtime>() {
    let addr = echo_server(None);
    R::block_on(async {
        let mut conn = connect::<R>(addr, PATIENCE).await.unwrap();
        round_trip(&mut conn).await;
    });
}

fn read_deadline_times_out<R: Runtime>() {
    let addr = echo_server(None);
    R::block_on(async {
        let mut conn = connect::<R>(addr, PATIENCE).await.unwrap();
        let start = Instant::now();
        let deadline = start + Duration::from_millis(100);
        let outcome = conn.read(&mut [0; 16], Some(deadline)).await.unwrap();
        assert_eq!(outcome, ReadOutcome::TimedOut);
        assert!(Instant::now() >= deadline);
    });
}

fn peer_close_reads_as_closed<R: Runtime>() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let closer = std::thread::spawn(move || drop(listener.accept().unwrap()));
    R::block_on(async {
        let mut conn = connect::<R>(addr, PATIENCE).await.unwrap();
        closer.join().unwrap();
        let deadline = Instant::now() + PATIENCE;
        let outcome = conn.read(&mut [0; 16], Some(deadline)).await.unwrap();
        assert_eq!(outcome, ReadOutcome::Closed);
    });
}

fn refused_connection_fails_at_once<R: Runtime>() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    R::block_on(async {
        let Err(e) = connect::<R>(addr, PATIENCE).await else {
            panic!("connected to {addr}, where nothing listens");
        };
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
    });
}

fn unanswered_connection_times_out<R: Runtime>() {
    // A listener that never accepts: once its backlog is full, the kernel drops further
    // SYNs and a connect waits, as it would for a host that does not answer.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut backlog = Vec::new();
    while let Ok(tcp) = TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
        backlog.push(tcp);
        assert!(backlog.len() < 10_000, "the backlog never fills");
    }
    R::block_on(async {
        let start = Instant::now();
        let Err(e) = connect::<R>(addr, Duration::from_millis(200)).await else {
            panic!("connected past a full backlog");
        };
        assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
        assert!(start.elapsed() < PATIENCE);
    });
}

fn opportunistic_tls_takes_a_self_signed_certificate<R: Runtime>() {
    let pki = Pki::new();
    start_tls::<R>(
        ClientTls::load(None).unwrap(),
        &pki.self_signed,
        "localhost",
        TlsCheck::Any,
    )
    .unwrap();
}

fn opportunistic_tls_checks_the_server_holds_the_key<R: Runtime>() {
    let pki = Pki::new();
    let e = start_tls::<R>(
        ClientTls::load(None).unwrap(),
        &pki.without_key,
        "localhost",
        TlsCheck::Any,
    )
    .unwrap_err();
    assert!(e.to_string().contains("BadSignature"), "{e}");
}

fn verified_tls_refuses_a_self_signed_certificate<R: Runtime>() {
    let pki = Pki::new();
    let e = start_tls::<R>(
        pki.trusting_ca(),
        &pki.self_signed,
        "localhost",
        TlsCheck::WebPki,
    )
    .unwrap_err();
    assert!(e.to_string().contains("UnknownIssuer"), "{e}");
}

fn verified_tls_trusts_the_ca_file<R: Runtime>() {
    let pki = Pki::new();
    let e = start_tls::<R>(
        ClientTls::load(None).unwrap(),
        &pki.ca_signed,
        "localhost",
        TlsCheck::WebPki,
    )
    .unwrap_err();
    assert!(e.to_string().contains("UnknownIssuer"), "{e}");
    start_tls::<R>(
        pki.trusting_ca(),
        &pki.ca_signed,
        "localhost",
        TlsCheck::WebPki,
    )
    .unwrap();
}

fn verified_tls_checks_the_name<R: Runtime>() {
    let pki = Pki::new();
    let e = start_tls::<R>(
        pki.trusting_ca(),
        &pki.ca_signed,
        "other.test",
        TlsCheck::WebPki,
    )
    .unwrap_err();
    assert!(e.to_string().contains("not valid for name"), "{e}");
    // Without verification the name does not matter either.
    start_tls::<R>(
        pki.trusting_ca(),
        &pki.ca_signed,
        "other.test",
        TlsCheck::Any,
    )
    .unwrap();
}

fn server_name_must_be_a_name<R: Runtime>() {
    let pki = Pki::new();
    let e = start_tls::<R>(
        pki.trusting_ca(),
        &pki.ca_signed,
        "not a name",
        TlsCheck::WebPki,
    )
    .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
}

fn dane_ee_pins_a_self_signed_key<R: Runtime>() {
    let pki = Pki::new();
    let pin = dane(&[format!("3 1 1 {}", sha256_hex(&pki.self_signed_spki))]);
    // The certificate names localhost; DANE-EE looks at the key alone.
    start_tls::<R>(
        ClientTls::load(None).unwrap(),
        &pki.self_signed,
        "mx.other.test",
        pin,
    )
    .unwrap();
}

fn dane_ee_refuses_another_key<R: Runtime>() {
    let pki = Pki::new();
    let pin = dane(&[format!("3 1 1 {}", sha256_hex(b"another key"))]);
    let e = start_tls::<R>(
        ClientTls::load(None).unwrap(),
        &pki.self_signed,
        "localhost",
        pin,
    )
    .unwrap_err();
    assert!(is_mismatch(&e), "{e}");
    // The key alone is not enough: the server must hold it.
    let pin = dane(&[format!("3 1 1 {}", sha256_hex(&pki.self_signed_spki))]);
    let e = start_tls::<R>(
        ClientTls::load(None).unwrap(),
        &pki.without_key,
        "localhost",
        pin,
    )
    .unwrap_err();
    assert!(e.to_string().contains("BadSignature"), "{e}");
}

fn dane_ta_anchors_the_chain_and_checks_the_name<R: Runtime>() {
    let pki = Pki::new();
    let anchor = || dane(&[format!("2 1 1 {}", sha256_hex(&pki.ca_spki))]);
    // Not one of Mozilla's roots, and not in `ca_file`: the record alone makes it trusted.
    start_tls::<R>(
        ClientTls::load(None).unwrap(),
        &pki.ca_chain,
        "localhost",
        anchor(),
    )
    .unwrap();
    let e = start_tls::<R>(
        ClientTls::load(None).unwrap(),
        &pki.ca_chain,
        "other.test",
        anchor(),
    )
    .unwrap_err();
    assert!(is_mismatch(&e), "{e}");
    // A server that leaves the anchor out of its chain does not match...
    let e = start_tls::<R>(
        ClientTls::load(None).unwrap(),
        &pki.ca_signed,
        "localhost",
        anchor(),
    )
    .unwrap_err();
    assert!(is_mismatch(&e), "{e}");
    // ...unless the record holds the whole anchor certificate.
    let whole = dane(&[format!("2 0 0 {}", hex(&pki.ca_cert))]);
    start_tls::<R>(
        ClientTls::load(None).unwrap(),
        &pki.ca_signed,
        "localhost",
        whole,
    )
    .unwrap();
    // The anchor is sought among the issuers the server sends, not in its own certificate.
    let self_signed = dane(&[format!("2 1 1 {}", sha256_hex(&pki.self_signed_spki))]);
    let e = start_tls::<R>(
        ClientTls::load(None).unwrap(),
        &pki.self_signed,
        "localhost",
        self_signed,
    )
    .unwrap_err();
    assert!(is_mismatch(&e), "{e}");
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}
