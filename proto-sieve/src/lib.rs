//! Sieve, the language people filter their mail with (RFC 5228), with the extensions mail
//! clients offer: `fileinto`, `envelope`, `imap4flags` (RFC 5232), `copy` (RFC 3894),
//! `subaddress` (RFC 5233), `relational` (RFC 5231), `mailbox` (RFC 5490), `vacation`
//! (RFC 5230), `body` (RFC 5173), `reject` and `ereject` (RFC 5429), `date` (RFC 5260),
//! `include` (RFC 6609), `variables` (RFC 5229) and the `i;ascii-numeric` comparator.
//!
//! [`compile`] checks a script once, when it is uploaded: an unknown command, a missing
//! `require`, a wrong argument is an [`Error`] naming the line, so a script that compiles
//! runs without surprises. [`Script::run`] then runs it on each message for one recipient,
//! reading the message through the [`Message`] trait: it does no I/O and takes no clock.
//! Its work is bounded ([`MAX_WORK`] characters compared, [`MAX_ACTIONS`] actions), and a
//! run that passes a bound keeps the message, as RFC 5228 §2.10.6 asks of a failed run.
//!
//! ```
//! use proto_sieve::{Action, Message, compile};
//!
//! struct Mail;
//! impl Message for Mail {
//!     fn header(&self, name: &str) -> Vec<String> {
//!         match name.to_ascii_lowercase().as_str() {
//!             "subject" => vec!["[list] hello".to_string()],
//!             _ => Vec::new(),
//!         }
//!     }
//!     fn addresses(&self, _: &str) -> Vec<String> { Vec::new() }
//!     fn envelope(&self, _: &str) -> Option<String> { None }
//!     fn size(&self) -> u64 { 1000 }
//!     fn mailbox_exists(&self, _: &str) -> bool { true }
//! }
//!
//! let script = compile(r#"
//!     require "fileinto";
//!     if header :matches "subject" "[list] *" { fileinto "Lists"; }
//! "#).unwrap();
//! let outcome = script.run(&Mail);
//! assert_eq!(outcome.actions, vec![Action::FileInto {
//!     mailbox: "Lists".into(), flags: vec![], create: false,
//! }]);
//! ```

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
#![warn(missing_docs)]

mod date;
mod lexer;
mod matching;
mod parse;
mod run;
mod script;
mod variables;

use std::fmt;

pub use date::When;
pub use run::{
    Action, BodyTransform, MAX_ACTIONS, MAX_INCLUDES, MAX_REDIRECTS, MAX_WORK, Message, Outcome,
};
pub use script::{EXTENSIONS, Script};
pub use variables::{MAX_VALUE, MAX_VARIABLES};

/// The longest script taken, in bytes: a person's filters fit many times over, and it
/// bounds what checking one costs.
pub const MAX_SCRIPT: usize = 64 * 1024;

/// Why a script was refused, and on which line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The line (from 1) the problem is on.
    pub line: usize,
    /// What is wrong, for the person who wrote the script.
    pub message: String,
}

impl Error {
    pub(crate) fn new(line: usize, message: &str) -> Self {
        Error {
            line,
            message: message.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for Error {}

/// Checks a script and compiles it for [`Script::run`].
pub fn compile(source: &str) -> Result<Script, Error> {
    if source.len() > MAX_SCRIPT {
        return Err(Error::new(
            1,
            &format!("the script is over {} KiB", MAX_SCRIPT / 1024),
        ));
    }
    script::compile(&parse::parse(source)?)
}
