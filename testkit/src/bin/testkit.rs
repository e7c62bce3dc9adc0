//! `testkit run URL PATH...`: conversation scripts against a mail server over TCP. Each
//! script passes, fails (the line, what was expected, what came) or is skipped (why); the
//! exit status is 1 when any failed. `--tap FILE` writes a TAP report for CI.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use testkit::remote::{Options, Outcome, Target, run_script};

#[derive(Parser)]
#[command(
    name = "testkit",
    version,
    about = "Conversation scripts for mail servers."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scripts (files, or folders of *.script) against the server at URL:
    /// smtp://, smtps://, imap://, imaps://, pop3:// or pop3s://host:port.
    Run {
        url: String,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Accept any certificate (a test server's self-signed one).
        #[arg(long)]
        insecure: bool,
        /// Log in as this user where the scripts use their first @user.
        #[arg(long)]
        user: Option<String>,
        /// That user's password.
        #[arg(long)]
        password: Option<String>,
        /// Seconds to wait for a line from the server.
        #[arg(long, default_value_t = 10)]
        wait: u64,
        /// Also write a TAP report here.
        #[arg(long, value_name = "FILE")]
        tap: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let Command::Run {
        url,
        paths,
        insecure,
        user,
        password,
        wait,
        tap,
    } = Cli::parse().command;
    let target = match Target::parse(&url) {
        Ok(target) => target,
        Err(e) => {
            eprintln!("testkit: {e}");
            return ExitCode::from(2);
        }
    };
    let options = Options {
        insecure,
        user,
        password,
        wait: Duration::from_secs(wait),
    };
    let scripts = match scripts(&paths) {
        Ok(scripts) => scripts,
        Err(e) => {
            eprintln!("testkit: {e}");
            return ExitCode::from(2);
        }
    };
    let mut report = format!("1..{}\n", scripts.len());
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (number, path) in scripts.iter().enumerate() {
        let number = number + 1;
        let outcome = match std::fs::read_to_string(path) {
            Ok(text) => run_script(&text, &target, &options),
            Err(e) => Outcome::Failed(format!("cannot read it: {e}")),
        };
        let name = path.display();
        match outcome {
            Outcome::Passed => {
                passed += 1;
                println!("PASS  {name}");
                let _ = writeln!(report, "ok {number} - {name}");
            }
            Outcome::Skipped(why) => {
                skipped += 1;
                println!("SKIP  {name}: {why}");
                let _ = writeln!(report, "ok {number} - {name} # SKIP {why}");
            }
            Outcome::Failed(why) => {
                failed += 1;
                println!("FAIL  {name}: {why}");
                let _ = writeln!(report, "not ok {number} - {name}\n  # {why}");
            }
        }
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if let Some(tap) = tap
        && let Err(e) = std::fs::write(&tap, report)
    {
        eprintln!("testkit: cannot write {}: {e}", tap.display());
        return ExitCode::from(2);
    }
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The script files the paths name, folders expanded to their `*.script` files, sorted.
fn scripts(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries =
                std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|p| p.extension().is_some_and(|ext| ext == "script"))
                .collect();
            files.sort();
            found.extend(files);
        } else if Path::new(path).is_file() {
            found.push(path.clone());
        } else {
            return Err(format!("{}: no such script or folder", path.display()));
        }
    }
    Ok(found)
}
