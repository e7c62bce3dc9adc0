//! The certificate the listeners present: replaced on SIGHUP without dropping a
//! connection. (That an unusable one leaves the old in place is tested in
//! `server/src/reload.rs`.)

mod common;

use std::path::Path;
use std::process::Command;

use common::{TestServer, external_tool, run};

/// Connects over implicit TLS (IMAP), expects the `first` certificate (DER, hex), holds
/// that connection, sends the server (`pid`) SIGHUP, and waits until new connections get
/// the `second`; then the held connection must still answer. Bounded: at most 20 s.
const CLIENT: &str = r#"
import os, signal, socket, ssl, sys, time
port, pid, first, second = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE

def connect():
    tls = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
    greeting = tls.recv(1024)
    assert greeting.startswith(b"* OK"), greeting
    return tls, tls.getpeercert(binary_form=True).hex()

held, presented = connect()
assert presented == first, "before the reload, the first certificate"
if second != first:
    os.kill(pid, signal.SIGHUP)
deadline = time.monotonic() + 20
while True:
    tls, presented = connect()
    tls.close()
    if presented == second:
        break
    assert time.monotonic() < deadline, "the new certificate was never presented"
    time.sleep(0.1)
# The connection made before the reload goes on.
held.sendall(b"a1 NOOP\r\n")
answer = held.recv(1024)
assert answer.startswith(b"a1 OK"), answer
held.close()
print("reloaded without dropping a connection")
"#;

fn pair(name: &str) -> (String, String, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new([name.to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let hex = cert.der().iter().map(|b| format!("{b:02x}")).collect();
    (cert.pem(), key.serialize_pem(), hex)
}

fn install(dir: &Path, (cert, key, _): &(String, String, String)) {
    std::fs::write(dir.join("cert.pem"), cert).expect("write");
    std::fs::write(dir.join("key.pem"), key).expect("write");
}

#[test]
fn sighup_presents_the_new_certificate_and_keeps_connections() {
    let Some(python) = external_tool("python3") else {
        return;
    };
    let files = tempfile::tempdir().expect("temp dir");
    let (one, two) = (pair("one.example.test"), pair("two.example.test"));
    install(files.path(), &one);
    let server = TestServer::start(&format!(
        "[tls]\ncert = \"{0}/cert.pem\"\nkey = \"{0}/key.pem\"\n",
        files.path().display()
    ));
    // Renewed files: read on SIGHUP, not before.
    install(files.path(), &two);
    let said = run(Command::new(&python)
        .args(["-c", CLIENT])
        .arg(server.port("imaps").to_string())
        .arg(server.pid().to_string())
        .args([&one.2, &two.2]));
    assert!(said.contains("without dropping"), "{said}");
    // What the pages describe follows.
    let health = run(Command::new(&python).args([
        "-c",
        "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())",
        &format!("http://127.0.0.1:{}/health/detailed", server.port("http")),
    ]));
    assert!(health.contains("two.example.test"), "{health}");
    let audit = server.cli(&["audit"], "");
    assert!(
        audit.contains("reload") && audit.contains("cert.pem"),
        "{audit}"
    );
}
