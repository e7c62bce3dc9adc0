//! Starts the real `postern` binary on loopback for integration tests and drives its CLI.

#![allow(dead_code)] // Each test file uses a different part of this module.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_postern");

/// A running server with its own data directory and ephemeral ports.
pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    child: Option<Child>,
    /// Soft and hard `RLIMIT_NOFILE` the server starts with, when set.
    pub nofile: Option<(u64, u64)>,
    /// Where the server's log goes, when a test reads it (else to the test's own output).
    pub log: Option<PathBuf>,
    /// Service name (smtp, submission, submissions) to bound address.
    pub ports: HashMap<String, SocketAddr>,
}

impl TestServer {
    /// Starts a server; `extra` is appended to its config file.
    pub fn start(extra: &str) -> TestServer {
        let mut server = Self::configure(extra);
        server.restart();
        server
    }

    /// Writes the configuration (`extra` appended) without starting the server, for tests
    /// that prepare its surroundings first; [`restart`](Self::restart) starts it. Unless
    /// `extra` says otherwise (a `[dns]` section; a first line `hostname = ...`), the server
    /// is `mx.test` and asks no name server: nothing leaves loopback.
    pub fn configure(extra: &str) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("postern.toml");
        let no_dns = if extra.contains("[dns]") {
            ""
        } else {
            "[dns]\nnameservers = []\n"
        };
        let hostname = if extra.starts_with("hostname =") {
            ""
        } else {
            "hostname = \"mx.test\"\n"
        };
        let text = format!(
            "{hostname}data_dir = \"{}\"\n{extra}\n{no_dns}[listen]\nsmtp = [\"127.0.0.1:0\"]\nsubmission = [\"127.0.0.1:0\"]\nsubmissions = [\"127.0.0.1:0\"]\npop3 = [\"127.0.0.1:0\"]\npop3s = [\"127.0.0.1:0\"]\nimap = [\"127.0.0.1:0\"]\nimaps = [\"127.0.0.1:0\"]\nhttps = [\"127.0.0.1:0\"]\nhttp = [\"127.0.0.1:0\"]\nmanagesieve = [\"127.0.0.1:0\"]\n",
            dir.path().join("data").display()
        );
        std::fs::write(&config, text).expect("write config");
        TestServer {
            dir,
            config,
            child: None,
            nofile: None,
            log: None,
            ports: HashMap::new(),
        }
    }

    /// (Re)starts the process on the same data directory; waits until it listens.
    pub fn restart(&mut self) {
        let mut command = match self.nofile {
            Some((soft, hard)) => {
                let mut prlimit = Command::new("prlimit");
                prlimit.arg(format!("--nofile={soft}:{hard}")).arg(BIN);
                prlimit
            }
            None => Command::new(BIN),
        };
        let mut child = command
            .arg("--config")
            .arg(&self.config)
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(match &self.log {
                Some(path) => Stdio::from(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .expect("open the log"),
                ),
                None => Stdio::inherit(),
            })
            .spawn()
            .expect("start postern");
        let stdout = child.stdout.take().expect("stdout");
        let mut ports = HashMap::new();
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let Some(Ok(line)) = lines.next() else { break };
            let words: Vec<&str> = line.split_whitespace().collect();
            if let [service, addr, ..] = words.as_slice()
                && let Ok(addr) = addr.parse::<SocketAddr>()
            {
                ports.insert(service.to_string(), addr);
            }
            if line.starts_with("Next,") {
                break;
            }
        }
        assert!(
            ports.contains_key("smtp"),
            "server did not report its ports"
        );
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.ports = ports;
        self.child = Some(child);
    }

    pub fn port(&self, service: &str) -> u16 {
        self.ports[service].port()
    }

    /// Runs `postern --config ... ARGS`, feeding `stdin`; panics unless it succeeds.
    pub fn cli(&self, args: &[&str], stdin: &str) -> String {
        let out = self.cli_output(args, stdin);
        assert!(
            out.status.success(),
            "postern {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn cli_output(&self, args: &[&str], stdin: &str) -> Output {
        cli_in(&self.config, args, stdin)
    }

    /// The secret of a new API token: `postern token create ARGS`.
    pub fn token(&self, args: &[&str]) -> String {
        let out = self.cli(&[&["token", "create"], args].concat(), "");
        out.lines()
            .find(|line| line.starts_with("pst_"))
            .unwrap_or_else(|| panic!("no token in {out}"))
            .to_string()
    }

    /// The standard test users: alice and bob in example.test.
    pub fn add_test_users(&self) {
        self.cli(&["domain", "add", "example.test"], "");
        self.cli(
            &["user", "add", "alice@example.test", "--password-stdin"],
            "alice-secret\n",
        );
        self.cli(
            &["user", "add", "bob@example.test", "--password-stdin"],
            "bob-secret\n",
        );
    }

    /// Exports a user's mail and returns the message files' contents, by mailbox folder.
    pub fn export(&self, email: &str) -> Vec<(String, Vec<u8>)> {
        let target = self.dir.path().join(format!("export-{}", unique()));
        self.cli(
            &[
                "export",
                email,
                "--maildir",
                target.to_str().expect("utf-8 path"),
            ],
            "",
        );
        read_maildir(&target)
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server running").id()
    }

    /// SIGTERM, then wait for the process to exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        self.wait()
    }

    /// Waits for the process to exit by itself.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server running");
        child.wait().expect("wait for server")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn cli_in(config: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run postern");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for postern")
}

/// An SMTP client for tests that speak the protocol themselves: replies read whole
/// (multi-line ones to their last line).
pub struct Smtp {
    reader: BufReader<std::net::TcpStream>,
    writer: std::net::TcpStream,
}

impl Smtp {
    /// Connects to the loopback `port` (waiting at most a minute for any reply).
    pub fn connect(port: u16) -> Smtp {
        let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        Smtp {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("send");
    }

    /// The last line of the next reply.
    pub fn reply(&mut self) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("reply");
            if line.as_bytes().get(3) != Some(&b'-') {
                return line;
            }
        }
    }
}

/// Every message file under a Maildir++ root: (folder, bytes), sorted.
pub fn read_maildir(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut folders = vec![("INBOX".to_string(), root.to_path_buf())];
    for entry in std::fs::read_dir(root).expect("read maildir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(folder) = name.strip_prefix('.') {
            folders.push((folder.to_string(), entry.path()));
        }
    }
    for (folder, path) in folders {
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(path.join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                out.push((
                    folder.clone(),
                    std::fs::read(entry.path()).expect("read message"),
                ));
            }
        }
    }
    out.sort();
    out
}

/// The named external client, or `None` when it is missing and this is not CI (where
/// every client must be installed, so a missing one fails the test).
pub fn external_tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        unavailable(
            &format!("{name} is not installed; CI must install it (see .ci/run)"),
            &format!("{name} is not installed (apt-get install {name})"),
        );
    }
    found
}

/// Something a test needs is missing: a failure in CI, which must provide it (`in_ci` says
/// what is wrong), else a visible skip (`note` says why).
pub fn unavailable(in_ci: &str, note: &str) {
    assert!(std::env::var_os("CI").is_none(), "{in_ci}");
    skipped(note);
}

/// Says that a test skips part of its work, where a person running `cargo test` sees it:
/// written to standard error directly, past the test harness's capture of `eprintln!`.
pub fn skipped(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}

/// Runs a command and returns its output, panicking with its stderr if it fails.
pub fn run(command: &mut Command) -> String {
    let out = command.output().expect("run command");
    assert!(
        out.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// The path of a file under `server/tests/`.
pub fn test_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
}

/// Sends `clients/curl-mail.txt` from bob to alice through the MX port with curl.
pub fn send_with_curl(server: &TestServer, curl: &Path) {
    run(Command::new(curl)
        .args([
            "--silent",
            "--show-error",
            "--mail-from",
            "bob@example.test",
        ])
        .args(["--mail-rcpt", "alice@example.test", "--upload-file"])
        .arg(test_file("clients/curl-mail.txt"))
        .arg(format!(
            "smtp://127.0.0.1:{}/curl.test",
            server.port("smtp")
        )));
}

/// Runs `clients/SCRIPT` with Python, passing the ports of `services`, and prints what it
/// reports. `false` when Python is missing outside CI (the test is skipped).
pub fn run_python_client(server: &TestServer, script: &str, services: &[&str]) -> bool {
    let script = test_file(&format!("clients/{script}"));
    run_python(server, &[script.as_os_str()], services)
}

/// [`run_python_client`] for a script short enough to stand in the test itself.
pub fn run_python_source(server: &TestServer, source: &str, services: &[&str]) -> bool {
    run_python(server, &["-c".as_ref(), source.as_ref()], services)
}

fn run_python(server: &TestServer, args: &[&std::ffi::OsStr], services: &[&str]) -> bool {
    let Some(python) = external_tool("python3") else {
        return false;
    };
    let mut command = Command::new(python);
    command.args(args);
    for service in services {
        command.arg(server.port(service).to_string());
    }
    print!("{}", run(&mut command));
    true
}

/// dkimpy, when the Python on the path has it (CI installs it: see .ci/run).
pub fn dkimpy() -> Option<PathBuf> {
    python_with(
        "dkim, nacl",
        "dkimpy",
        "pip install dkimpy pynacl, or apt-get install python3-dkim",
    )
}

/// The Python on the path, when it can import `modules` (CI installs them: see .ci/run);
/// `what` and `install` say what is missing and how to get it.
pub fn python_with(modules: &str, what: &str, install: &str) -> Option<PathBuf> {
    let python = external_tool("python3")?;
    let found = Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        unavailable(
            &format!("{what} is not installed; CI must install it (see .ci/run)"),
            &format!("{what} is not installed ({install})"),
        );
        return None;
    }
    Some(python)
}
