//! `testkit run URL PATH...`: conversation scripts against a mail server over TCP. Each
//! script passes, fails (the line, what was expected, what came) or is skipped (why); the
//! exit status is 1 when any failed. `--tap FILE` and `--junit FILE` write reports for CI.

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
        /// The account holds the messages each script delivers in its set-up (a harness
        /// put them there); without it such scripts are skipped.
        #[arg(long)]
        prepared: bool,
        /// The kind of server (dovecot, postfix, …): scripts marked `@differs KIND` are
        /// skipped, saying why.
        #[arg(long, value_name = "KIND")]
        server: Option<String>,
        /// On smtp://, imap:// or pop3://, take up TLS right after the greeting (scripts
        /// written for TLS from the start then run on a port offering STARTTLS; those that
        /// take it up themselves still do).
        #[arg(long)]
        starttls: bool,
        /// The SMTP port is a submission port: run the scripts written for one
        /// (`@config mode submission`), skip the mail exchanger's.
        #[arg(long)]
        submission: bool,
        /// Seconds to wait for a line from the server.
        #[arg(long, default_value_t = 10)]
        wait: u64,
        /// Also write a TAP report here.
        #[arg(long, value_name = "FILE")]
        tap: Option<PathBuf>,
        /// Also write a JUnit XML report here.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let Command::Run {
        url,
        paths,
        insecure,
        user,
        password,
        prepared,
        server,
        starttls,
        submission,
        wait,
        tap,
        junit,
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
        prepared,
        server,
        starttls,
        submission,
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
    let mut outcomes = Vec::new();
    for (number, path) in scripts.iter().enumerate() {
        let number = number + 1;
        let outcome = match std::fs::read_to_string(path) {
            Ok(text) => run_script(&text, &target, &options),
            Err(e) => Outcome::Failed(format!("cannot read it: {e}")),
        };
        outcomes.push((path.display().to_string(), outcome.clone()));
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
    let reports = [(tap, report), (junit, junit_report(&url, &outcomes))];
    for (path, text) in reports {
        if let Some(path) = path
            && let Err(e) = std::fs::write(&path, text)
        {
            eprintln!("testkit: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The outcomes as JUnit XML: one test suite (the URL), one test case a script.
fn junit_report(url: &str, outcomes: &[(String, Outcome)]) -> String {
    use quick_xml::Writer;
    use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, Event};

    let count =
        |what: fn(&Outcome) -> bool| outcomes.iter().filter(|(_, o)| what(o)).count().to_string();
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    let mut suite = BytesStart::new("testsuite");
    suite.push_attribute(("name", url));
    suite.push_attribute(("tests", outcomes.len().to_string().as_str()));
    suite.push_attribute((
        "failures",
        count(|o| matches!(o, Outcome::Failed(_))).as_str(),
    ));
    suite.push_attribute((
        "skipped",
        count(|o| matches!(o, Outcome::Skipped(_))).as_str(),
    ));
    let mut events = vec![
        Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)),
        Event::Start(suite),
    ];
    for (name, outcome) in outcomes {
        let mut case = BytesStart::new("testcase");
        case.push_attribute(("classname", "testkit"));
        case.push_attribute(("name", name.as_str()));
        let (element, why) = match outcome {
            Outcome::Passed => {
                events.push(Event::Empty(case));
                continue;
            }
            Outcome::Failed(why) => ("failure", why),
            Outcome::Skipped(why) => ("skipped", why),
        };
        events.push(Event::Start(case));
        let mut detail = BytesStart::new(element);
        detail.push_attribute(("message", why.as_str()));
        events.push(Event::Empty(detail));
        events.push(Event::End(BytesEnd::new("testcase")));
    }
    events.push(Event::End(BytesEnd::new("testsuite")));
    for event in events {
        // Writing into a Vec cannot fail.
        let _ = writer.write_event(event);
    }
    let mut text = String::from_utf8_lossy(&writer.into_inner()).into_owned();
    text.push('\n');
    text
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
