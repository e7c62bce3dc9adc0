//! The content scanner: a real rspamd from Debian, started on loopback ports of its own with
//! a private configuration, scans mail arriving on the MX port (sent by Python's smtplib).
//! Its action decides: a clean message is delivered with `X-Spam-Status: No`, one it would
//! mark is delivered to Junk, GTUBE (the standard test pattern) is refused; with the scanner
//! gone, mail is delivered unscanned.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestServer, external_tool, run};

/// An rspamd on loopback, stopped when dropped.
struct Rspamd {
    child: Child,
    port: u16,
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

impl Rspamd {
    /// Starts rspamd with the packaged rules, its workers on ports of their own, no DNS
    /// worth waiting for, and one rule of ours: a subject saying "buy now" scores 20.
    fn start(rspamd: &Path, dir: &Path) -> Rspamd {
        let (port, controller) = (free_port(), free_port());
        let db = dir.join("db");
        std::fs::create_dir_all(dir.join("override.d")).unwrap();
        std::fs::create_dir_all(dir.join("local.d")).unwrap();
        std::fs::create_dir_all(&db).unwrap();
        let files = [
            (
                "override.d/worker-normal.inc",
                format!("bind_socket = \"127.0.0.1:{port}\";\ncount = 1;\n"),
            ),
            (
                "override.d/worker-controller.inc",
                format!("bind_socket = \"127.0.0.1:{controller}\";\ncount = 1;\n"),
            ),
            ("override.d/worker-proxy.inc", "count = 0;\n".into()),
            ("override.d/worker-fuzzy.inc", "count = 0;\n".into()),
            (
                "override.d/logging.inc",
                "type = \"console\";\nlevel = \"error\";\n".into(),
            ),
            (
                "override.d/options.inc",
                "dns { timeout = 0.1s; retransmits = 1; }\n".into(),
            ),
            // Clean mail scores about 7 here, with no DNS to vouch for anyone.
            (
                "override.d/actions.conf",
                "reject = 50;\nadd_header = 12;\nrewrite_subject = null;\ngreylist = null;\n"
                    .into(),
            ),
            (
                "local.d/multimap.conf",
                "TEST_JUNK_SUBJECT {\n  type = \"header\";\n  header = \"Subject\";\n  regexp = true;\n  map = \"${LOCAL_CONFDIR}/junk-subjects.map\";\n  score = 20.0;\n}\n"
                    .into(),
            ),
            ("junk-subjects.map", "/buy now/i\n".into()),
        ];
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let mut command = Command::new(rspamd);
        command.args(["-f", "-c", "/etc/rspamd/rspamd.conf"]);
        for (name, value) in [
            ("LOCAL_CONFDIR", dir),
            ("DBDIR", &db),
            ("RUNDIR", dir),
            ("LOGDIR", dir),
        ] {
            command
                .arg("--var")
                .arg(format!("{name}={}", value.display()));
        }
        // As root (CI), its workers run as nobody, who must be able to write its database.
        if run(Command::new("id").arg("-u")).trim() == "0" {
            run(Command::new("chown").arg("-R").arg("nobody").arg(&db));
            command.args(["-u", "nobody", "-g", "nogroup"]);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rspamd");
        let scanner = Rspamd { child, port };
        // Compiling its rules takes a while on a fresh machine.
        let deadline = Instant::now() + Duration::from_secs(180);
        while !scanner.answers() {
            assert!(Instant::now() < deadline, "rspamd did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        scanner
    }

    fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let request = b"GET /ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        let mut reply = String::new();
        stream.write_all(request).is_ok()
            && stream.read_to_string(&mut reply).is_ok()
            && reply.starts_with("HTTP/1.1 200")
    }
}

impl Drop for Rspamd {
    /// SIGTERM, which stops its workers too (a SIGKILL would leave them serving).
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SEND: &str = r#"
import smtplib, sys
port, subject, body = int(sys.argv[1]), sys.argv[2], sys.argv[3]
message = (
    "From: Ann <ann@sender.example>\r\nTo: Bob <bob@example.test>\r\n"
    f"Subject: {subject}\r\nDate: Sat, 05 Dec 2026 11:40:13 +0000\r\n"
    f"Message-ID: <{abs(hash(subject))}@sender.example>\r\n\r\n{body}\r\n"
).encode()
with smtplib.SMTP("127.0.0.1", port) as s:
    s.ehlo("mail.sender.example")
    try:
        s.sendmail("ann@sender.example", ["bob@example.test"], message)
        print("250")
    except smtplib.SMTPDataError as e:
        print(e.smtp_code, e.smtp_error.decode())
"#;

const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

#[test]
fn the_scanner_decides_refused_junk_or_delivered() {
    let (Some(rspamd), Some(python)) = (external_tool("rspamd"), external_tool("python3")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let scanner = Rspamd::start(&rspamd, dir.path());
    let server = TestServer::start(&format!(
        "[security]\n# Loopback stands for the internet here.\ntrusted_networks = []\n\
         rspamd = \"http://127.0.0.1:{}\"\n[greylisting]\nenabled = false\n\
         [dns.static]\n\"_dmarc.example\" = {{}}\n",
        scanner.port
    ));
    server.add_test_users();
    let send = |subject: &str, body: &str| {
        run(Command::new(&python)
            .args(["-c", SEND])
            .arg(server.port("smtp").to_string())
            .args([subject, body]))
        .trim()
        .to_string()
    };

    assert_eq!(send("lunch", "Shall we have lunch tomorrow?"), "250");
    assert_eq!(send("Buy now, cheap", "Only today."), "250");
    let refused = send("test", GTUBE);
    assert!(refused.starts_with("550 5.7.1"), "{refused}");
    drop(scanner);
    assert_eq!(send("unscanned", "The scanner is down."), "250");

    let mail = server.export("bob@example.test");
    let find = |subject: &str| {
        mail.iter()
            .find(|(_, bytes)| {
                String::from_utf8_lossy(bytes).contains(&format!("Subject: {subject}"))
            })
            .map(|(folder, bytes)| (folder.clone(), String::from_utf8_lossy(bytes).into_owned()))
            .unwrap_or_else(|| panic!("no message {subject:?}"))
    };
    let (folder, clean) = find("lunch");
    assert!(!folder.contains("Junk"), "{folder}");
    assert!(clean.contains("X-Spam-Status: No, score="), "{clean}");
    let (folder, junk) = find("Buy now");
    assert!(folder.contains("Junk"), "{folder}");
    assert!(junk.contains("X-Spam-Status: Yes, score="), "{junk}");
    assert!(junk.contains("X-Spam-Flag: YES"), "{junk}");
    let (folder, unscanned) = find("unscanned");
    assert!(!folder.contains("Junk"), "{folder}");
    assert!(!unscanned.contains("X-Spam-Status"), "{unscanned}");
    assert_eq!(mail.len(), 3, "the GTUBE message was refused");
}
