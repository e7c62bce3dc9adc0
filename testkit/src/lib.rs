//! Drives Postern sessions without sockets.
//!
//! A conversation script is plain text, one line per event:
//!
//! ```text
//! # comment
//! @domain example.test                 set-up: add a local domain
//! @user alice@example.test secret      set-up: add an account
//! @alias @example.test alice@example.test
//! @config mode submission              session settings (see `configure` in script.rs)
//! @protocol pop3                       talk POP3 instead of SMTP
//! @deliver alice@example.test Subject: x\r\n\r\nbody\r\n   set-up: a message in INBOX
//! S: 220 *                             a line the server must send; `*` matches any text
//! C: EHLO client.test                  a line the client sends (CRLF appended)
//! R: .\n                               raw client bytes, escapes \r \n \t \\, nothing appended
//! @mailbox alice@example.test INBOX 1  check: the mailbox holds this many messages
//! @message alice@example.test INBOX 1 *Subject: hi*   check: message 1 matches (escapes allowed)
//! ```
//!
//! Consecutive client lines go out as one write, as a pipelining client sends them; the
//! server lines after them are what it must answer before the client sends more. The
//! session runs through the engine's real driver against a real store in a temporary
//! directory, so scripts test the whole receiving path except the socket.

mod script;
mod wire;

pub use script::{run_file, run_script};
