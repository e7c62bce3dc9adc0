//! The conformance suite (`testkit/conformance`, one script per RFC rule) over TCP against
//! the real binary, and against the servers Postern replaces, each started on loopback by
//! the test: Dovecot for IMAP and POP3, Postfix for SMTP (its submission port logging in
//! through Dovecot's SASL). Every script must pass against
//! each of them, unless it marks a justified difference (`@differs dovecot ...`), which is
//! reported as skipped with its reason. Each script gets an account of its own, holding the
//! messages its set-up delivers, so the scripts see the state they describe.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestServer, external_tool, unavailable};
use testkit::remote::{Fixture, Options, Outcome, Target, run_script};

/// The suite's scripts for `protocol`, by name.
fn suite(protocol: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testkit/conformance")
        .join(protocol);
    let mut scripts: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("the conformance suite")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "script"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).expect("script"))
        })
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty(), "no {protocol} scripts");
    scripts
}

/// The account a script runs as: the `n`th script run on a URL scheme (`imaps`, `imap`,
/// `smtp`, …) has its own.
struct Account {
    email: String,
    password: String,
}

impl Account {
    fn of(scheme: &str, n: usize) -> Account {
        Account {
            email: format!("{scheme}-{n}@example.test"),
            password: format!("conformance-passphrase-{n}"),
        }
    }
}

/// What a suite runs against: a server's port for one protocol.
struct Port<'a> {
    /// The kind of server, for `@differs`.
    server: &'a str,
    protocol: &'a str,
    target: Target,
    /// An SMTP submission port (see [`Options::submission`]).
    submission: bool,
}

impl Port<'_> {
    /// The URL's scheme, which names the accounts its scripts run as.
    fn scheme(&self) -> String {
        match (self.target.implicit_tls, self.submission) {
            (true, _) => format!("{}s", self.protocol),
            (false, true) => "submission".into(),
            (false, false) => self.protocol.to_string(),
        }
    }
}

/// Runs the suite of `port`'s protocol against it; `prepare` makes each script's account
/// hold what its fixture says. Fails the test if a script failed; says which were skipped,
/// and why.
fn run_suite(port: &Port<'_>, mut prepare: impl FnMut(&Account, &Fixture)) {
    let (server, protocol, target) = (port.server, port.protocol, &port.target);
    let (mut passed, mut skips, mut failures) = (0, Vec::new(), Vec::new());
    let scripts = suite(protocol);
    for (n, (name, text)) in scripts.iter().enumerate() {
        let account = Account::of(&port.scheme(), n);
        prepare(&account, &Fixture::of(text));
        let options = Options {
            insecure: true,
            user: Some(account.email),
            password: Some(account.password),
            wait: Duration::from_secs(20),
            prepared: true,
            server: Some(server.to_string()),
            starttls: !target.implicit_tls && protocol != "smtp",
            submission: port.submission,
        };
        match run_script(text, target, &options) {
            Outcome::Passed => passed += 1,
            Outcome::Skipped(why) => skips.push(format!("{name}: {why}")),
            Outcome::Failed(what) => failures.push(format!("{name}: {what}")),
        }
    }
    let url = format!("{}://", port.scheme());
    eprintln!(
        "conformance: {url} against {server}: {passed} passed, {} failed, {} skipped of {}",
        failures.len(),
        skips.len(),
        scripts.len()
    );
    for skip in &skips {
        eprintln!("  skipped {skip}");
    }
    assert!(
        failures.is_empty(),
        "{protocol} against {server}:\n{}",
        failures.join("\n\n")
    );
}

/// The fixture's messages as a Maildir under `root` (in `new/`, in script order).
fn write_maildir(root: &Path, fixture: &Fixture) {
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(root.join(sub)).expect("maildir");
    }
    for (n, (_, message)) in fixture.messages.iter().enumerate() {
        let name = format!("{:010}.M{n}P1.conformance", 1_700_000_000 + n);
        std::fs::write(root.join("new").join(name), message).expect("message");
    }
}

/// The most scripts of one protocol Dovecot is given accounts for.
const ACCOUNTS: usize = 200;

#[test]
fn the_suite_passes_against_postern_over_tcp() {
    let server = TestServer::start("");
    server.cli(&["domain", "add", "example.test"], "");
    let work = tempfile::tempdir().expect("temp dir");
    let mut prepare = |account: &Account, fixture: &Fixture| {
        let email = account.email.as_str();
        // Each account has a storage quota (QUOTA's scripts read it), as Dovecot's do.
        server.cli(
            &["user", "add", email, "--password-stdin", "--quota", "1G"],
            &format!("{}\n", account.password),
        );
        if !fixture.messages.is_empty() {
            let maildir = work.path().join(email);
            write_maildir(&maildir, fixture);
            let maildir = maildir.to_str().expect("utf-8");
            server.cli(&["import", email, "--maildir", maildir], "");
        }
    };
    // TLS from the start, and taken up on the plain ports (`--starttls`).
    for (protocol, scheme, service) in [
        ("imap", "imaps", "imaps"),
        ("imap", "imap", "imap"),
        ("pop3", "pop3s", "pop3s"),
        ("pop3", "pop3", "pop3"),
        ("smtp", "smtp", "smtp"),
        ("smtp", "smtp", "submission"),
        ("managesieve", "sieve", "managesieve"),
    ] {
        let url = format!("{scheme}://127.0.0.1:{}", server.port(service));
        let port = Port {
            server: "postern",
            protocol,
            target: Target::parse(&url).expect("url"),
            submission: service == "submission",
        };
        run_suite(&port, &mut prepare);
    }
}

/// Peers run as root here: Dovecot and Postfix drop to their own accounts.
fn as_root(peer: &str) -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    unavailable(
        &format!("CI runs as root, for {peer}"),
        &format!("{peer}'s private instance needs root; the suite did not run against it"),
    );
    false
}

fn free_port() -> u16 {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    socket.local_addr().expect("address").port()
}

fn wait_for_port(port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs a command that starts a daemon and returns: the daemon keeps no pipe of ours open.
fn start_daemon(command: &mut Command) {
    let status = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("start the daemon");
    assert!(status.success(), "{command:?} failed: {status}");
}

/// A certificate for loopback and its key, as PEM files in `dir`.
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, cert.pem()).expect("write");
    std::fs::write(&key_file, key.serialize_pem()).expect("write");
    (cert_file, key_file)
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A private Dovecot on loopback: IMAP and POP3 with STARTTLS and with TLS from the start,
/// a passwd-file of the scripts' accounts, a Maildir per account with a 1 GiB quota and the
/// special-use mailboxes a new account has, mail kept as `nobody`, and its SASL for Postfix
/// on a socket. Stopped when dropped.
struct Dovecot {
    dir: tempfile::TempDir,
    imap: u16,
    imaps: u16,
    pop3: u16,
    pop3s: u16,
    /// Pigeonhole's ManageSieve, when Debian's dovecot-managesieved is installed.
    sieve: Option<u16>,
}

impl Dovecot {
    fn start() -> Option<Dovecot> {
        let dovecot = external_tool("dovecot")?;
        if !as_root("Dovecot") {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        // Its login and mail processes run as other users: they must reach in.
        chmod(dir.path(), 0o755);
        let d = dir.path();
        for sub in ["run", "state", "home"] {
            std::fs::create_dir_all(d.join(sub)).expect("mkdir");
            chmod(&d.join(sub), 0o755);
        }
        // Every account a script may use, written before Dovecot reads the file: it notices
        // a rewrite only by the file's time, in whole seconds.
        let accounts: String = (0..ACCOUNTS)
            .flat_map(|n| {
                [
                    "imap",
                    "imaps",
                    "pop3",
                    "pop3s",
                    "submission",
                    "managesieve",
                ]
                .map(|scheme| Account::of(scheme, n))
            })
            .map(|account| format!("{}:{{PLAIN}}{}\n", account.email, account.password))
            .collect();
        std::fs::write(d.join("passwd"), accounts).expect("passwd");
        chmod(&d.join("passwd"), 0o644);
        let (cert, key) = certificate(d);
        chmod(&key, 0o644);
        let (imap, imaps, pop3, pop3s) = (free_port(), free_port(), free_port(), free_port());
        let sieve = Path::new("/usr/lib/dovecot/managesieve")
            .exists()
            .then(free_port);
        let managesieve = match sieve {
            Some(port) => format!(
                "protocols = $protocols sieve\n\
                 service managesieve-login {{\n  inet_listener sieve {{\n    port = {port}\n  }}\n}}\n\
                 plugin {{\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n}}\n"
            ),
            None => {
                unavailable(
                    "dovecot-managesieved is not installed; CI must install it (see .ci/run)",
                    "dovecot-managesieved is not installed: ManageSieve's suite skips Dovecot",
                );
                String::new()
            }
        };
        let config = format!(
            "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/log\n\
             listen = 127.0.0.1\nprotocols = imap pop3\n\
             ssl = required\nssl_cert = <{cert}\nssl_key = <{key}\n\
             auth_mechanisms = plain login\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={d}/home/%u\n}}\n\
             mail_location = maildir:~/Maildir\n\
             mail_plugins = quota\nprotocol imap {{\n  mail_plugins = $mail_plugins imap_quota\n}}\n\
             plugin {{\n  quota = maildir:User quota\n  quota_rule = *:storage=1G\n}}\n\
             namespace inbox {{\n  inbox = yes\n  \
             mailbox Sent {{\n    special_use = \\Sent\n    auto = create\n  }}\n  \
             mailbox Drafts {{\n    special_use = \\Drafts\n    auto = create\n  }}\n  \
             mailbox Junk {{\n    special_use = \\Junk\n    auto = create\n  }}\n  \
             mailbox Trash {{\n    special_use = \\Trash\n    auto = create\n  }}\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    port = {imap}\n  }}\n  \
             inet_listener imaps {{\n    port = {imaps}\n    ssl = yes\n  }}\n}}\n\
             service pop3-login {{\n  inet_listener pop3 {{\n    port = {pop3}\n  }}\n  \
             inet_listener pop3s {{\n    port = {pop3s}\n    ssl = yes\n  }}\n}}\n\
             service auth {{\n  unix_listener auth-postfix {{\n    mode = 0666\n  }}\n}}\n\
             {managesieve}",
            d = d.display(),
            cert = cert.display(),
            key = key.display(),
        );
        std::fs::write(d.join("dovecot.conf"), config).expect("config");
        start_daemon(Command::new(dovecot).arg("-c").arg(d.join("dovecot.conf")));
        let started = Dovecot {
            dir,
            imap,
            imaps,
            pop3,
            pop3s,
            sieve,
        };
        for port in [imap, imaps, pop3, pop3s].into_iter().chain(sieve) {
            wait_for_port(port, "Dovecot", &started.dir.path().join("log"));
        }
        Some(started)
    }

    /// The socket Postfix asks to check logins (`smtpd_sasl_type = dovecot`).
    fn sasl_socket(&self) -> PathBuf {
        self.dir.path().join("run/auth-postfix")
    }

    /// Puts a script's messages in its account's Maildir.
    fn prepare(&self, account: &Account, fixture: &Fixture) {
        let home = self.dir.path().join("home").join(&account.email);
        write_maildir(&home.join("Maildir"), fixture);
        common::run(
            Command::new("chown")
                .args(["-R", "nobody:nogroup"])
                .arg(&home),
        );
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("run/master.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
    }
}

#[test]
fn the_suite_passes_against_dovecot() {
    let Some(dovecot) = Dovecot::start() else {
        return;
    };
    let sieve = dovecot.sieve.map(|port| ("managesieve", "sieve", port));
    let ports = [
        ("imap", "imaps", dovecot.imaps),
        ("imap", "imap", dovecot.imap),
        ("pop3", "pop3s", dovecot.pop3s),
        ("pop3", "pop3", dovecot.pop3),
    ];
    for (protocol, scheme, port) in ports.into_iter().chain(sieve) {
        let port = Port {
            server: "dovecot",
            protocol,
            target: Target::parse(&format!("{scheme}://127.0.0.1:{port}")).expect("url"),
            submission: false,
        };
        run_suite(&port, |account, fixture| dovecot.prepare(account, fixture));
    }
}

/// A private Postfix on loopback: smtpd on one port, example.test's `smtp-N` accounts
/// known (their mail discarded), loopback not trusted (so relaying is refused as for any
/// client), STARTTLS offered; and a submission port, TLS required, logins checked by
/// Dovecot's SASL at `sasl` (the `submission-N` accounts). Stopped when dropped.
struct Postfix {
    dir: tempfile::TempDir,
    port: u16,
    submission: u16,
}

impl Postfix {
    fn start(sasl: &Path) -> Option<Postfix> {
        let postfix = external_tool("postfix")?;
        if !as_root("Postfix") {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        for sub in ["etc", "spool", "lib"] {
            std::fs::create_dir_all(d.join(sub)).expect("mkdir");
        }
        common::run(Command::new("chown").arg("postfix").arg(d.join("lib")));
        let (cert, key) = certificate(d);
        let (port, submission) = (free_port(), free_port());
        let main = format!(
            "compatibility_level = 3.6\nqueue_directory = {d}/spool\ndata_directory = {d}/lib\n\
             myhostname = mx.test\nmydestination =\ninet_interfaces = 127.0.0.1\n\
             inet_protocols = ipv4\nmynetworks = 192.0.2.0/24\n\
             virtual_mailbox_domains = example.test\n\
             virtual_mailbox_maps = regexp:{d}/etc/users\nvirtual_transport = discard:\n\
             smtpd_relay_restrictions = reject_unauth_destination\n\
             smtpd_tls_security_level = may\nsmtpd_tls_cert_file = {cert}\n\
             smtpd_tls_key_file = {key}\n\
             maillog_file_prefixes = {d}\nmaillog_file = {d}/log\n",
            d = d.display(),
            cert = cert.display(),
            key = key.display(),
        );
        std::fs::write(d.join("etc/main.cf"), main).expect("main.cf");
        std::fs::write(d.join("etc/users"), "/^smtp-[0-9]+@example\\.test$/ OK\n").expect("users");
        // Debian's services, but smtpd on our ports, not chrooted; the submission port as
        // Debian's commented-out example has it.
        let master = std::fs::read_to_string("/etc/postfix/master.cf").expect("master.cf");
        let submission_service = format!(
            "127.0.0.1:{submission} inet n - n - - smtpd -o smtpd_tls_security_level=encrypt \
             -o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=yes \
             -o smtpd_sasl_type=dovecot -o smtpd_sasl_path={} \
             -o smtpd_relay_restrictions=permit_sasl_authenticated,reject",
            sasl.display()
        );
        let master: Vec<String> = master
            .lines()
            .map(
                |line| match line.starts_with("smtp ") && line.contains(" inet ") {
                    true => format!("127.0.0.1:{port} inet n - n - - smtpd\n{submission_service}"),
                    false => line.to_string(),
                },
            )
            .collect();
        std::fs::write(d.join("etc/master.cf"), master.join("\n") + "\n").expect("master.cf");
        start_daemon(
            Command::new(postfix)
                .arg("-c")
                .arg(d.join("etc"))
                .arg("start"),
        );
        let started = Postfix {
            dir,
            port,
            submission,
        };
        for port in [port, submission] {
            wait_for_port(port, "Postfix", &started.dir.path().join("log"));
        }
        Some(started)
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("postfix")
            .arg("-c")
            .arg(self.dir.path().join("etc"))
            .arg("stop")
            .status();
    }
}

#[test]
fn the_suite_passes_against_postfix() {
    // Dovecot checks the submission port's logins.
    let Some(dovecot) = Dovecot::start() else {
        return;
    };
    let Some(postfix) = Postfix::start(&dovecot.sasl_socket()) else {
        return;
    };
    for (port, submission) in [(postfix.port, false), (postfix.submission, true)] {
        let port = Port {
            server: "postfix",
            protocol: "smtp",
            target: Target::parse(&format!("smtp://127.0.0.1:{port}")).expect("url"),
            submission,
        };
        // Its MX accounts are every smtp-N@example.test (the users map); those of the
        // submission port, Dovecot's.
        run_suite(&port, |_, _| {});
    }
}
