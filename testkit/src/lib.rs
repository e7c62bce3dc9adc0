//! Drives Postern sessions without sockets.
//!
//! A conversation script is plain text, one line per event:
//!
//! ```text
//! # comment
//! @domain example.test                 set-up: add a local domain
//! @user alice@example.test secret      set-up: add an account (a quota in bytes may follow)
//! @alias @example.test alice@example.test
//! @postmaster alice@example.test       set-up: the account postmaster mail goes to
//! @screener alice@example.test        set-up: the account's Screener is on
//! @vip alice@example.test boss@x.test  set-up: an important sender of the account
//! @undo_send alice@example.test 30     set-up: the account's mail waits 30 s to be taken back
//! @webhook @example.test https://h.test/in   set-up: a webhook of a domain (or an address)
//! @webhook_only example.test           set-up: the domain's mail goes to webhooks only
//! @disposable shop-x1@example.test alice@example.test on   set-up: a disposable alias
//!                                      (on or off) delivering to the account
//! @admin_network 192.0.2.0/24          set-up: clients of this network see the pages for
//!                                      administrators (scripts connect from 192.0.2.1)
//! @admin alice@example.test            set-up: the account may manage the server
//! @token admin pst_secret              set-up: an API token with this secret, for the
//!                                      admin or for a user (`@token EMAIL pst_…`)
//! @config mode submission              session settings (see `configure` in script.rs)
//! @protocol pop3                       talk POP3 (or imap, http, managesieve, or smtp, the default)
//! @deliver alice@example.test Subject: x\r\n\r\nbody\r\n   a message into INBOX
//! S: 220 *                             a line the server must send; `*` matches any text
//!                                      (but a leading `* ` is itself: IMAP's untagged lines)
//! S*: 250-*                            any number of lines like this
//! U: * 2 EXISTS                        consecutive U: lines: a group sent in any order
//! U?: * OK [UNSEEN *]*                 a member of the group that may be missing
//! C: EHLO client.test                  a line the client sends, as written (CRLF appended)
//! R: .\n                               raw client bytes, escapes \r \n \t \\, nothing appended
//! C: Content-Length: ?                 in HTTP: the length of the body that follows the
//!                                      head in the same write (an `R:` line after `C:`)
//! @mailbox alice@example.test INBOX 1  check: the mailbox holds this many messages
//! @message alice@example.test INBOX 1 *Subject: hi*   check: message 1 matches (escapes allowed)
//! @queued alice@example.test bob@example.net   check: the outbound queue holds a message
//!                                      from this sender to exactly these recipients
//! @share alice@x default bob@x read    OWNER's calendar shared with SHAREE (read,
//!                                      read-write, or none to stop), when reached
//! @differs dovecot REASON              another server answers otherwise (remote runs skip it)
//! @timeout                             the client stays silent past the server's timeout
//! @shutdown                            the server is told to shut down
//! ```
//!
//! Consecutive client lines go out as one write, as a pipelining client sends them; the
//! server lines after them are what it must answer before the client sends more. The
//! session runs through the engine's real driver against a real store in a temporary
//! directory, so scripts test the whole receiving path except the socket. Checks run once
//! every session has ended.
//!
//! `@deliver` before the conversation is set-up; within it, it happens when the script
//! gets there, and sessions watching the mailbox (IMAP IDLE) hear of it as of any delivery.
//!
//! Values the server makes up (an IMAP UIDVALIDITY, a MODSEQ) can be captured and used
//! again: in a server line `{{name}}` matches like `*` and remembers the text, or, once
//! remembered, must match it again; in a client line it is replaced by that text.
//!
//! ```text
//! S: * OK [UIDVALIDITY {{validity}}] UIDs valid
//! C: a SELECT INBOX (QRESYNC ({{validity}} 1))
//! ```
//!
//! `@session NAME` starts or resumes a connection of that name: the lines that follow are
//! its own, until the next `@session`. Connections run concurrently on one engine and
//! connect when the script first reaches one of their lines; each sends its client lines
//! when the script gets there, so one session's change can be seen by another, and an
//! idling one is told of it at once. A script without `@session` has one connection.
//!
//! ```text
//! @session A
//! C: a IDLE
//! S: + idling
//! @session B
//! C: b STORE 1 +FLAGS (\Seen)
//! S: * 1 FETCH (FLAGS (\Seen))
//! S: b OK STORE completed
//! @session A
//! S: * 1 FETCH (UID 1 FLAGS (\Seen))
//! ```

mod expect;
pub mod mx;
pub mod remote;
mod script;
pub mod strategies;
mod wire;

pub use script::{run_file, run_script};
pub use wire::InlineExecutor;
