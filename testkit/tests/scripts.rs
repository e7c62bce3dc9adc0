//! Runs every conversation script under `scripts/` (Postern's own) and `conformance/` (the
//! suite by RFC section, which other servers are held to as well).

use std::path::Path;

fn run_dir(name: &str, at_least: usize) {
    run_in("scripts", name, at_least);
}

fn run_in(suite: &str, name: &str, at_least: usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(suite).join(name);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "script"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= at_least,
        "expected the {name} scripts, found {}",
        paths.len()
    );
    let failures: Vec<String> = paths
        .iter()
        .filter_map(|path| testkit::run_file(path).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} scripts failed:\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n\n")
    );
}

#[test]
fn smtp_scripts() {
    run_dir("smtp", 11);
}

#[test]
fn pop3_scripts() {
    run_dir("pop3", 3);
}

#[test]
fn imap_scripts() {
    run_dir("imap", 25);
}

#[test]
fn managesieve_scripts() {
    run_dir("managesieve", 3);
}

#[test]
fn http_scripts() {
    run_dir("http", 1);
}

#[test]
fn imap_conformance() {
    run_in("conformance", "imap", 20);
}

#[test]
fn smtp_conformance() {
    run_in("conformance", "smtp", 10);
}

#[test]
fn managesieve_conformance() {
    run_in("conformance", "managesieve", 5);
}

#[test]
fn pop3_conformance() {
    run_in("conformance", "pop3", 10);
}

/// The harness itself: scripts the server does not follow must fail, and say where.
#[test]
fn wrong_scripts_fail() {
    const IMAP: &str = "@protocol imap\n@config implicit_tls true\n@domain example.test\n\
                        @user alice@example.test secret\n";
    let cases = [
        // A line the server does not send.
        (
            "S: * OK *\nC: a NOOP\nS: a NO *\n",
            "line 7: expected \"a NO *\"",
        ),
        // Output the script does not expect.
        ("S: * OK *\nC: a NOOP\n", "more than the script expects"),
        // The server waits for the client while the script waits for the server.
        (
            "S: * OK *\nS: * OK *\n",
            "line 6: expected \"* OK *\", but the server waits",
        ),
        // A value used before it was captured.
        (
            "S: * OK *\nC: a SELECT {{box}}\n",
            "{{box}} was not captured",
        ),
        // A captured value must come back the same.
        (
            "S: * OK [CAPABILITY {{caps}}] *\nC: a CAPABILITY\nS: * CAPABILITY {{caps}}x\n",
            "line 7: expected",
        ),
        // The server closes before the script is done.
        (
            "S: * OK *\nC: a LOGOUT\nS: * BYE *\nS: a OK *\nS: * OK *\n",
            "closed the connection",
        ),
        // Session B waits for a notice A's change never causes.
        (
            "@session A\nS: * OK *\n@session B\nS: * OK *\nC: b NOOP\nS: b OK *\n\
             @session A\nS: * 1 EXISTS\n",
            "line 12 (session A): expected \"* 1 EXISTS\", but the server waits",
        ),
    ];
    for (conversation, error) in cases {
        let script = format!("{IMAP}{conversation}");
        match testkit::run_script(&script) {
            Ok(()) => panic!("script passed but should not:\n{script}"),
            Err(e) => assert!(e.contains(error), "wrong error {e:?} for:\n{script}"),
        }
    }
}
