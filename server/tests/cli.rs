//! The management CLI, with the server stopped and running, and the process lifecycle.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use common::{TestServer, cli_in, read_maildir};

#[test]
fn manage_without_a_running_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("postern.toml");
    std::fs::write(
        &config,
        format!("data_dir = \"{}\"\n", dir.path().join("data").display()),
    )
    .expect("config");
    let ok = |args: &[&str], stdin: &str| {
        let out = cli_in(&config, args, stdin);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let fails = |args: &[&str], stdin: &str| {
        let out = cli_in(&config, args, stdin);
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // Management commands never make a data directory: a wrong path is an error.
    let err = fails(&["domain", "list"], "");
    assert!(err.contains("no Postern data in"), "{err}");
    assert!(!dir.path().join("data").exists());
    // `setup` with the existing configuration makes it.
    ok(&["setup", "--non-interactive"], "");
    let out = cli_in(&config, &["domain", "add", "Example.TEST"], "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "data directory: {}",
            dir.path().join("data").display()
        )),
        "{err}"
    );
    assert_eq!(ok(&["domain", "list"], ""), "example.test\n");
    let err = fails(&["domain", "add", "bad domain"], "");
    assert!(
        err.contains("\"bad domain\" is not a valid domain name"),
        "{err}"
    );
    let err = fails(
        &["user", "add", "x@other.test", "--password-stdin"],
        "carol-passphrase\n",
    );
    assert!(err.contains("other.test is not a local domain"), "{err}");
    ok(
        &[
            "user",
            "add",
            "carol@example.test",
            "--password-stdin",
            "--quota",
            "10M",
        ],
        "carol-passphrase\n",
    );
    let err = fails(
        &["user", "add", "carol@example.test", "--password-stdin"],
        "carol-passphrase\n",
    );
    assert!(err.contains("already exists"), "{err}");
    // A new password meets the rules: long enough, not among the first guessed.
    let err = fails(
        &["user", "passwd", "carol@example.test", "--password-stdin"],
        "new\n",
    );
    assert!(err.contains("at least 10 characters"), "{err}");
    let err = fails(
        &["user", "passwd", "carol@example.test", "--password-stdin"],
        "1234567890\n",
    );
    assert!(err.contains("anyone guessing"), "{err}");
    ok(
        &["user", "passwd", "carol@example.test", "--password-stdin"],
        "a newer passphrase\n",
    );
    ok(&["user", "quota", "carol@example.test", "1G"], "");
    ok(&["user", "disable", "carol@example.test"], "");
    let list = ok(&["user", "list", "--domain", "example.test"], "");
    assert!(
        list.contains("carol@example.test")
            && list.contains("quota 1.0 GiB")
            && list.contains("disabled"),
        "{list}"
    );
    ok(&["user", "enable", "carol@example.test"], "");
    ok(&["alias", "add", "@example.test", "carol@example.test"], "");
    ok(
        &["alias", "add", "info@example.test", "carol@example.test"],
        "",
    );
    assert_eq!(
        ok(&["alias", "list"], ""),
        "@example.test -> carol@example.test\ninfo@example.test -> carol@example.test\n"
    );
    // Aliases that would never be used or would loop are refused; one out says so.
    let err = fails(&["alias", "add", "carol@example.test", "x@example.net"], "");
    assert!(err.contains("is an account"), "{err}");
    let err = fails(
        &["alias", "add", "@example.test", "nobody@example.test"],
        "",
    );
    assert!(err.contains("loop"), "{err}");
    let said = ok(&["alias", "add", "out@example.test", "x@example.net"], "");
    assert!(said.contains("forwarded there"), "{said}");
    ok(
        &["alias", "remove", "out@example.test", "x@example.net"],
        "",
    );
    // DKIM keys: made, listed (without their private part), published.
    let selector = ["--selector", "s1", "--algorithm", "ed25519"];
    ok(
        &[
            &["dkim", "generate", "--domain", "example.test"][..],
            &selector,
        ]
        .concat(),
        "",
    );
    let keys = ok(&["dkim", "list"], "");
    assert!(
        keys.starts_with("example.test  s1  ed25519  created "),
        "{keys}"
    );
    assert_eq!(keys.lines().count(), 1, "{keys}");
    let dns = ok(&["dkim", "dns", "--domain", "example.test"], "");
    assert!(
        dns.contains("\ns1._domainkey.example.test. IN TXT \"v=DKIM1; k=ed25519; p="),
        "{dns}"
    );
    let err = fails(
        &[
            "dkim",
            "generate",
            "--domain",
            "example.test",
            "--selector",
            "s2",
        ],
        "",
    );
    assert!(err.contains("one selector names one key"), "{err}");
    let err = fails(&["domain", "remove", "example.test"], "");
    assert!(
        err.contains("in use") && err.contains("1 DKIM key"),
        "{err}"
    );
    ok(
        &[
            "dkim",
            "remove",
            "--domain",
            "example.test",
            "--selector",
            "s1",
        ],
        "",
    );
    assert_eq!(ok(&["dkim", "list"], ""), "");
    ok(
        &["alias", "remove", "@example.test", "carol@example.test"],
        "",
    );
    ok(
        &["alias", "remove", "info@example.test", "carol@example.test"],
        "",
    );
    ok(&["user", "remove", "carol@example.test"], "");
    ok(&["domain", "remove", "example.test"], "");
    assert_eq!(ok(&["domain", "list"], ""), "");
    let err = fails(
        &["user", "add", "nope", "--password-stdin"],
        "carol-passphrase\n",
    );
    assert!(err.contains("not a valid address"), "{err}");
}

#[test]
fn manage_through_the_running_server_and_stop_cleanly() {
    let mut server = TestServer::start("");
    server.add_test_users();
    let users = server.cli(&["user", "list"], "");
    assert!(
        users.contains("alice@example.test") && users.contains("bob@example.test"),
        "{users}"
    );
    let status = server.stop();
    assert!(
        status.success(),
        "SIGTERM should end the server cleanly: {status}"
    );
    // After it stopped, the CLI opens the data directory itself.
    let users = server.cli(&["user", "list"], "");
    assert!(users.contains("alice@example.test"), "{users}");
}

#[test]
fn shutdown_finishes_a_message_in_progress() {
    let mut server = TestServer::start("");
    server.add_test_users();
    let stream = TcpStream::connect(("127.0.0.1", server.port("smtp"))).expect("connect");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    let mut line = String::new();
    let mut expect = |prefix: &str| {
        loop {
            line.clear();
            reader.read_line(&mut line).expect("read");
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
        assert!(line.starts_with(prefix), "expected {prefix}, got {line:?}");
    };
    expect("220");
    writer
        .write_all(
            b"EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n",
        )
        .expect("write");
    expect("250");
    expect("250");
    expect("250");
    expect("354");
    writer
        .write_all(b"Subject: in flight\r\n\r\nfirst half\r\n")
        .expect("write");
    let pid = server.pid().to_string();
    let signalled = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    assert!(signalled.expect("kill").success());
    std::thread::sleep(std::time::Duration::from_millis(300));
    writer.write_all(b"second half\r\n.\r\n").expect("write");
    expect("250");
    expect("421");
    assert!(
        server.wait().success(),
        "the server should exit cleanly after the session"
    );
    let dir = server.dir.path().join("export-after-stop");
    server.cli(
        &[
            "export",
            "alice@example.test",
            "--maildir",
            dir.to_str().expect("utf-8"),
        ],
        "",
    );
    let alice = read_maildir(&dir);
    assert!(
        alice
            .iter()
            .any(|(_, m)| m.ends_with(b"first half\r\nsecond half\r\n"))
    );
}

#[test]
fn bad_config_is_explained() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[listen]\nsmpt = [\"127.0.0.1:25\"]\n").expect("config");
    let out = cli_in(&config, &["serve"], "");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("smpt") && err.contains("bad.toml"), "{err}");
}

#[test]
fn import_reads_what_export_wrote() {
    let server = TestServer::start("");
    server.add_test_users();
    let maildir = server.dir.path().join("dovecot-style");
    for (folder, name, body) in [
        (
            "",
            "1700000000.M1P1.host,S=60:2,S",
            "Subject: seen one\r\n\r\nbody\r\n",
        ),
        (
            "",
            "1700000001.M2P1.host,S=60:2,",
            "Subject: unseen\r\n\r\nbody\r\n",
        ),
        (
            ".Work.Projects",
            "1700000002.M3P1.host:2,FS",
            "Subject: nested\n\nbody\n",
        ),
    ] {
        let cur = maildir.join(folder).join("cur");
        std::fs::create_dir_all(&cur).expect("mkdir");
        std::fs::create_dir_all(maildir.join(folder).join("new")).expect("mkdir");
        std::fs::write(cur.join(name), body).expect("write");
    }
    let out = server.cli(
        &[
            "import",
            "bob@example.test",
            "--maildir",
            maildir.to_str().expect("utf-8"),
        ],
        "",
    );
    assert!(out.contains("imported 3 messages"), "{out}");
    let exported = server.export("bob@example.test");
    let folders: Vec<&str> = exported.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(folders, ["INBOX", "INBOX", "Work.Projects"]);
    assert!(
        exported
            .iter()
            .any(|(_, m)| m == b"Subject: nested\r\n\r\nbody\r\n")
    );

    // Again, with one message more: only that one is added, and on a terminal the
    // command shows how far it is.
    std::fs::write(
        maildir.join("cur/1700000003.M4P1.host:2,"),
        "Subject: late\r\n\r\nbody\r\n",
    )
    .expect("write");
    let import = format!(
        "{} --config {} import bob@example.test --maildir {}",
        common::BIN,
        server.config.display(),
        maildir.display()
    );
    // util-linux's `script` runs it on a pseudo-terminal.
    let Some(script) = common::external_tool("script") else {
        return;
    };
    let out = common::run(std::process::Command::new(script).args([
        "--quiet",
        "--return",
        "--command",
        &import,
        "/dev/null",
    ]));
    assert!(
        out.contains("imported 1 messages") && out.contains("3 were there already"),
        "{out}"
    );
    assert!(out.contains("4 of 4"), "progress on a terminal: {out:?}");
    assert_eq!(server.export("bob@example.test").len(), 4);
    // Exported mail is private to whoever exported it.
    let target = server.dir.path().join("private-export");
    server.cli(
        &[
            "export",
            "bob@example.test",
            "--maildir",
            target.to_str().expect("utf-8"),
        ],
        "",
    );
    let file = std::fs::read_dir(target.join("cur"))
        .expect("cur")
        .next()
        .expect("a message")
        .expect("entry");
    use std::os::unix::fs::PermissionsExt;
    let mode = file.metadata().expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let mode = std::fs::metadata(target.join("cur"))
        .expect("cur")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
}

#[test]
fn dns_prints_the_records_a_domain_needs_as_zone_file_lines() {
    let mut server = TestServer::start(
        "[dns]\nnameservers = []\n[dns.static]\n\"example.test\" = { mx = [\"10 mx.test\"] }\n",
    );
    server.add_test_users();
    server.cli(&["dkim", "generate", "--domain", "example.test"], "");
    let zone = server.cli(&["dns", "--domain", "example.test", "--check"], "");
    for line in [
        "; in DNS now: matches\nexample.test. IN MX 10 mx.test.",
        "example.test. IN TXT \"v=spf1 mx ~all\"",
        "_dmarc.example.test. IN TXT \"v=DMARC1; p=quarantine; rua=mailto:postmaster@example.test\"",
        "autoconfig.example.test. IN CNAME mx.test.",
        "_smtp._tls.example.test. IN TXT \"v=TLSRPTv1; rua=mailto:postmaster@example.test\"",
    ] {
        assert!(zone.contains(line), "{line:?} missing from:\n{zone}");
    }
    // The running server's listeners give the SRV records their ports.
    let imaps = server.port("imaps");
    assert!(
        zone.contains(&format!(
            "_imaps._tcp.example.test. IN SRV 0 1 {imaps} mx.test."
        )),
        "{zone}"
    );
    // A 2048-bit RSA key's record is cut into strings of at most 255 bytes.
    let rsa = zone
        .lines()
        .find(|l| l.contains("._domainkey.") && l.contains("k=rsa"))
        .expect("an RSA key's record");
    assert!(rsa.contains("\" \""), "{rsa}");
    // The same as a table, one record a row.
    let table = server.cli(
        &[
            "dns",
            "--domain",
            "example.test",
            "--check",
            "--format",
            "table",
        ],
        "",
    );
    let mx = table
        .lines()
        .find(|l| l.starts_with("MX "))
        .unwrap_or_else(|| panic!("{table}"));
    let columns: Vec<&str> = mx.split_whitespace().collect();
    assert_eq!(
        columns,
        ["MX", "example.test.", "10", "mx.test.", "(matches)"]
    );
    assert!(table.starts_with("TYPE "), "{table}");
    // Without the server, from the configuration alone.
    server.stop();
    let offline = server.cli(&["dns", "--domain", "example.test"], "");
    assert!(
        offline.contains("example.test. IN MX 10 mx.test."),
        "{offline}"
    );
    assert!(!offline.contains("in DNS now"), "{offline}");
}

#[test]
fn logs_to_a_file_or_a_journal_carry_no_colour_codes() {
    let server = TestServer::configure("");
    server.cli(&["setup", "--non-interactive"], "");
    server.cli(&["domain", "add", "example.test"], "");
    // Run without a server, the command logs here; its standard error is a pipe.
    let out = server.cli_output(&["dkim", "generate", "--domain", "example.test"], "");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("DKIM key made"), "{log}");
    assert!(!log.contains('\u{1b}'), "colour codes in {log:?}");
}

/// `name` on the path, if it is there (an optional tool: its absence is no failure).
fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

#[test]
fn setup_makes_a_server_ready_for_its_domain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("etc/postern.toml");
    let (data, unit) = (dir.path().join("mail"), dir.path().join("postern.service"));
    let setup = |extra: &[&str], stdin: &str| {
        let mut args = vec!["setup", "--non-interactive", "--password-stdin"];
        args.extend_from_slice(extra);
        cli_in(&config, &args, stdin)
    };
    let out = setup(
        &[
            "--hostname",
            "mail.example.test",
            "--domain",
            "example.test",
            "--admin",
            "boss@example.test",
            "--data-dir",
            data.to_str().expect("utf-8"),
            "--listen",
            "127.0.0.1",
            "--systemd-unit",
            unit.to_str().expect("utf-8"),
        ],
        "a-long-passphrase\n",
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    // What to publish, on standard output.
    for record in [
        "example.test. IN MX 10 mail.example.test.",
        "._domainkey.example.test. IN TXT \"v=DKIM1; k=ed25519; p=",
        "_dmarc.example.test. IN TXT",
    ] {
        assert!(stdout.contains(record), "{record} in {stdout}");
    }
    let written = std::fs::read_to_string(&config).expect("the configuration");
    assert!(written.contains("smtp = [\"127.0.0.1:25\"]"), "{written}");
    let unit_text = std::fs::read_to_string(&unit).expect("the unit");
    assert!(
        unit_text.contains(&format!(
            "ExecStart={} --config {} serve",
            common::BIN,
            config.display()
        )) && unit_text.contains(&format!("ReadWritePaths={}", data.display())),
        "{unit_text}"
    );
    // systemd reads it without complaint, and rates its confinement.
    match which("systemd-analyze") {
        Some(analyze) => {
            common::run(
                std::process::Command::new(&analyze)
                    .arg("verify")
                    .arg(&unit),
            );
            let rating = common::run(
                std::process::Command::new(&analyze)
                    .args(["security", "--offline=true"])
                    .arg(&unit),
            );
            assert!(rating.contains("Overall exposure level"), "{rating}");
            assert!(
                rating.contains(" OK") || rating.contains("SAFE"),
                "{rating}"
            );
        }
        None => common::skipped("systemd-analyze is not installed: the unit is not checked"),
    }
    let users =
        String::from_utf8_lossy(&cli_in(&config, &["user", "list"], "").stdout).into_owned();
    assert!(
        users.contains("boss@example.test") && users.contains("admin"),
        "{users}"
    );

    // Again: what exists is kept, and said so.
    let out = setup(
        &["--domain", "example.test", "--admin", "boss@example.test"],
        "",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("exists already") && stderr.contains("has DKIM keys already"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&config).expect("config"), written);
    let out = setup(&["--hostname", "other.example.test"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));

    // The written configuration serves (on ports of the test's choosing).
    let mut child = std::process::Command::new(common::BIN)
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .envs(
            [
                "SMTP",
                "SUBMISSION",
                "SUBMISSIONS",
                "IMAP",
                "IMAPS",
                "POP3",
                "POP3S",
                "HTTPS",
            ]
            .map(|name| (format!("POSTERN_LISTEN_{name}"), "127.0.0.1:0")),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let smtp = lines
        .by_ref()
        .take(30)
        .map_while(Result::ok)
        .find_map(|line| line.trim().strip_prefix("smtp").map(str::to_string))
        .and_then(|rest| {
            rest.split_whitespace()
                .next()?
                .parse::<std::net::SocketAddr>()
                .ok()
        })
        .expect("the server reports its SMTP port");
    let mut greeting = String::new();
    BufReader::new(TcpStream::connect(smtp).expect("connect"))
        .read_line(&mut greeting)
        .expect("greeting");
    // Run again while it serves: through the running server.
    let out = setup(
        &["--domain", "example.test", "--admin", "boss@example.test"],
        "",
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(greeting.starts_with("220 mail.example.test"), "{greeting}");
}

#[test]
fn setup_asks_for_what_its_flags_do_not_say() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("postern.toml");
    let data = dir.path().join("data");
    // Host name, data directory, addresses, the certificate's contact with Let's Encrypt,
    // domain, administrator (the default), its password, where the unit goes.
    let answers = format!(
        "mx.example.test\n{}\n127.0.0.1 ::1\nhostmaster@example.test\nexample.test\n\na-long-passphrase\nnone\n",
        data.display()
    );
    let out = cli_in(&config, &["setup", "--password-stdin"], &answers);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Added postmaster@example.test"), "{stderr}");
    let written = std::fs::read_to_string(&config).expect("the configuration");
    assert!(
        written.contains("hostname = \"mx.example.test\"")
            && written.contains("imaps = [\"127.0.0.1:993\", \"[::1]:993\"]")
            && written.contains("[acme]\ncontact = [\"hostmaster@example.test\"]"),
        "{written}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("postern --config"));
    // Too few answers: a clear error, not a half-made server.
    let other = dir.path().join("other.toml");
    let out = cli_in(&other, &["setup"], "mx.example.test\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no answer given"));
    assert!(!other.exists());
}
