//! Crash torture against the binary: `bench/torture.py` runs mixed traffic on every
//! protocol (MX, submission into the queue, IMAP APPEND/STORE/MOVE/EXPUNGE, POP3 DELE,
//! calendar PUT/DELETE), kills the server with SIGKILL at a random moment, restarts it and
//! checks that nothing acknowledged was lost or doubled, UIDs and modseqs, the queue and
//! the calendar; then fills a small tmpfs and checks the server refuses with 4xx and
//! recovers. The script prints its seed: a failure is replayed with `--seed`.

mod common;

use std::path::Path;
use std::process::Command;

/// Rounds of traffic and kill here; `bench/torture.py` defaults to 100.
const ROUNDS: &str = "20";

#[test]
fn acknowledged_work_survives_kills_and_a_full_disk() {
    let Some(python) = common::external_tool("python3") else {
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/torture.py");
    let report = common::run(
        Command::new(python)
            .arg(script)
            .arg(common::BIN)
            .args(["--rounds", ROUNDS]),
    );
    print!("{report}");
    for line in report.lines() {
        if let Some(why) = line.strip_prefix("SKIPPED: ") {
            common::skipped(why);
        }
    }
    assert!(
        report.contains("every invariant held"),
        "the torture did not finish: {report}"
    );
}
