//! Runs the conversation scripts named on the command line and says how each went:
//! `cargo run -p testkit --example run-scripts -- testkit/scripts/imap/*.script`.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut failed = 0;
    for arg in std::env::args().skip(1) {
        match testkit::run_file(Path::new(&arg)) {
            Ok(()) => println!("ok   {arg}"),
            Err(e) => {
                failed += 1;
                println!("FAIL {e}\n");
            }
        }
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
