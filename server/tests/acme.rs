//! Certificates from an ACME authority, end to end: Pebble (the ACME test server, Debian
//! package `pebble`) on loopback validates the names over TLS-ALPN-01 and HTTP-01 against
//! the real binary, and curl checks that the certificate presented afterwards chains to
//! Pebble's root. A restart presents what was obtained without a new order; a certificate
//! near its expiry is renewed.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestServer, external_tool};

/// Pebble and its DNS server, stopped when dropped.
struct Pebble {
    children: Vec<Child>,
    dir: tempfile::TempDir,
    directory: String,
    /// The CA Pebble's own HTTPS certificate comes from.
    ca_file: PathBuf,
    management: u16,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    let socket = TcpListener::bind("127.0.0.1:0").expect("bind");
    socket.local_addr().expect("address").port()
}

/// Starts Pebble validating on `http_port` (HTTP-01) and `tls_port` (TLS-ALPN-01), every
/// name resolving to 127.0.0.1; `None` (a visible skip, or a failure in CI) when Pebble is
/// not installed.
fn pebble(http_port: u16, tls_port: u16) -> Option<Pebble> {
    let pebble = external_tool("pebble")?;
    let challtestsrv = external_tool("pebble-challtestsrv")?;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .expect("CA");
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params =
        rcgen::CertificateParams::new(["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("params");
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    let cert = params.signed_by(&key, &ca).expect("certificate");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write");
    std::fs::write(dir.path().join("cert.pem"), cert.pem()).expect("write");
    std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).expect("write");
    let (listen, management, dns) = (free_port(), free_port(), free_port());
    let config = serde_json::json!({
        "pebble": {
            "listenAddress": format!("127.0.0.1:{listen}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": dir.path().join("cert.pem"),
            "privateKey": dir.path().join("key.pem"),
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false
        }
    });
    let config_file = dir.path().join("pebble.json");
    std::fs::write(&config_file, config.to_string()).expect("write");
    let log =
        |name: &str| Stdio::from(std::fs::File::create(dir.path().join(name)).expect("log file"));
    let dns_server = Command::new(challtestsrv)
        .args(["-dns01", &format!("127.0.0.1:{dns}")])
        .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
        .args(["-management", &format!("127.0.0.1:{}", free_port())])
        .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
        .stdout(log("challtestsrv.log"))
        .stderr(log("challtestsrv.err"))
        .spawn()
        .expect("start pebble-challtestsrv");
    let authority = Command::new(pebble)
        .arg("-config")
        .arg(&config_file)
        .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
        // Validations at once, and no nonces refused at random.
        .env("PEBBLE_VA_NOSLEEP", "1")
        .env("PEBBLE_WFE_NONCEREJECT", "0")
        .stdout(log("pebble.log"))
        .stderr(log("pebble.err"))
        .spawn()
        .expect("start pebble");
    let pebble = Pebble {
        children: vec![dns_server, authority],
        directory: format!("https://127.0.0.1:{listen}/dir"),
        ca_file,
        management,
        dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", listen)).is_err() {
        assert!(Instant::now() < deadline, "pebble did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(pebble)
}

impl Pebble {
    /// The root Pebble issues under, fetched from its management interface.
    fn root(&self, curl: &Path) -> PathBuf {
        let root = self.dir.path().join("root.pem");
        common::run(
            // Pebble's management interface has a certificate of its own making.
            Command::new(curl)
                .args(["-sS", "--fail", "--insecure"])
                .arg(format!("https://127.0.0.1:{}/roots/0", self.management))
                .arg("-o")
                .arg(&root),
        );
        root
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }
}

/// Waits until `name` on the server's HTTPS port presents a certificate that chains to
/// `root`; curl, told to trust nothing else, checks it.
fn wait_for_certificate(
    curl: &Path,
    root: &Path,
    name: &str,
    port: u16,
    pebble: &Pebble,
    server: &TestServer,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = Command::new(curl)
            .args(["-sS", "--fail", "--max-time", "5", "--cacert"])
            .arg(root)
            .arg("--resolve")
            .arg(format!("{name}:{port}:127.0.0.1"))
            .arg(format!("https://{name}:{port}/health"))
            .output()
            .expect("run curl");
        if out.status.success() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no certificate for {name} chaining to Pebble's root: {}\npebble:\n{}\npostern:\n{}",
            String::from_utf8_lossy(&out.stderr),
            pebble.log(),
            log_of(server)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn log_of(server: &TestServer) -> String {
    std::fs::read_to_string(server.log.as_ref().expect("log")).unwrap_or_default()
}

#[test]
fn certificates_are_obtained_kept_and_renewed() {
    let (http_port, https_port) = (free_port(), free_port());
    let Some(pebble) = pebble(http_port, https_port) else {
        return;
    };
    let Some(curl) = external_tool("curl") else {
        return;
    };
    let root = pebble.root(&curl);
    let acme = |name: &str, challenge: &str| {
        format!(
            "[acme]\ndirectory = \"{}\"\nca_file = \"{}\"\ncontact = [\"postmaster@example.com\"]\nnames = [\"{name}\"]\nchallenge = \"{challenge}\"\n",
            pebble.directory,
            pebble.ca_file.display()
        )
    };
    let presented = |name: &str, server: &TestServer| {
        wait_for_certificate(&curl, &root, name, https_port, &pebble, server);
    };
    let mut server = TestServer::configure(&acme("mail.example.com", "tls-alpn-01"));
    let fixed_ports = |server: &TestServer| {
        let text = std::fs::read_to_string(&server.config).expect("config");
        let text = text
            .replace(
                "https = [\"127.0.0.1:0\"]",
                &format!("https = [\"127.0.0.1:{https_port}\"]"),
            )
            .replace(
                "http = [\"127.0.0.1:0\"]",
                &format!("http = [\"127.0.0.1:{http_port}\"]"),
            );
        std::fs::write(&server.config, text).expect("config");
    };
    fixed_ports(&server);
    server.log = Some(server.dir.path().join("postern.log"));
    server.restart();

    // TLS-ALPN-01: validated on the HTTPS port.
    presented("mail.example.com", &server);
    let log = log_of(&server);
    assert!(log.contains("opened an ACME account"), "{log}");
    assert!(log.contains("proof=tls-alpn-01"), "{log}");
    assert!(log.contains("obtained a certificate"), "{log}");
    let data = server.dir.path().join("data");
    let acme_dir = data.join("acme");
    for file in ["account.json", "cert.pem", "key.pem"] {
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(acme_dir.join(file))
                .expect(file)
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    let account = std::fs::read(acme_dir.join("account.json")).expect("account");
    // The certificate is described where the operator looks.
    let health = common::run(
        Command::new(&curl)
            .args(["-sS", "--fail"])
            .arg(format!("http://127.0.0.1:{http_port}/health/detailed")),
    );
    assert!(health.contains("mail.example.com"), "{health}");
    // And how its renewal stands, which `postern doctor` reads.
    let health: serde_json::Value = serde_json::from_str(&health).expect("JSON");
    assert!(health["acme"]["renews_at"].is_string(), "{health}");
    assert!(health["acme"]["last_error"].is_null(), "{health}");

    // HTTP-01, for another name: the names changed, so a new order, on the same account.
    server.stop();
    let text = std::fs::read_to_string(&server.config).expect("config");
    let text = text
        .replace("\"mail.example.com\"", "\"www.example.com\"")
        .replace("\"tls-alpn-01\"", "\"http-01\"");
    std::fs::write(&server.config, text).expect("config");
    server.restart();
    presented("www.example.com", &server);
    let log = log_of(&server);
    assert!(log.contains("proof=http-01"), "{log}");
    assert_eq!(log.matches("opened an ACME account").count(), 1, "{log}");
    assert_eq!(
        std::fs::read(acme_dir.join("account.json")).expect("account"),
        account
    );

    // A restart presents what was obtained at once and orders nothing.
    server.stop();
    let orders = log_of(&server).matches("asking for a certificate").count();
    server.restart();
    presented("www.example.com", &server);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        log_of(&server).matches("asking for a certificate").count(),
        orders
    );

    // A certificate near its expiry (here one made by hand, valid one more hour) is
    // presented until its renewal replaces it.
    server.stop();
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params =
        rcgen::CertificateParams::new(["www.example.com".to_string()]).expect("params");
    let now = std::time::SystemTime::now();
    params.not_before = (now - Duration::from_secs(86_400)).into();
    params.not_after = (now + Duration::from_secs(3600)).into();
    let expiring = params.self_signed(&key).expect("certificate");
    std::fs::write(acme_dir.join("cert.pem"), expiring.pem()).expect("write");
    std::fs::write(acme_dir.join("key.pem"), key.serialize_pem()).expect("write");
    server.restart();
    presented("www.example.com", &server);
    assert_eq!(
        log_of(&server).matches("asking for a certificate").count(),
        orders + 1
    );
}
