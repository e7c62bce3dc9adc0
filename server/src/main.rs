//! `postern`: a complete mail server in one binary. See `postern --help`.

mod acme;
mod admin;
mod allocator;
mod checks;
mod cli;
mod config;
mod control;
mod fd_limit;
mod maildir;
mod memory;
mod reload;
mod secrets;
mod serve;
mod setup;
mod tls;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("postern: {message}");
            ExitCode::FAILURE
        }
    }
}
