//! Splitting the client's byte stream into commands (RFC 9051 2.2, 4.3;
//! RFC 7888 LITERAL+/LITERAL-; RFC 3502 MULTIAPPEND; RFC 7889 APPENDLIMIT).
//!
//! # Why a framer
//!
//! An IMAP command is one or more lines: a line that ends in a literal
//! announcement `{n}` is followed by `n` octets of data and then the rest of
//! the command. Before a *synchronizing* literal `{n}` the client waits for a
//! `+` continuation; before a *non-synchronizing* one `{n+}` it does not.
//! Where a command ends can only be known by following the announcements, so
//! the framer does that and nothing else; the grammar lives in the parser.
//!
//! # Contract
//!
//! - [`CommandFramer::feed`] copies as much input as fits in a fixed buffer of
//!   `max_command + 1` octets and says how much it took; the caller keeps the
//!   rest and feeds it after draining frames. Memory is bounded whatever the
//!   client sends.
//! - [`CommandFramer::next_frame`] returns the next [`Frame`], or `None` when
//!   it needs more input or a decision. Frames borrow the buffer until the
//!   next call.
//! - Small literals (LOGIN, SEARCH strings, mailbox names) are collected in
//!   place: the whole command, with its literal data inline, is handed to
//!   [`parse_command`] when its last line is in. The command's size,
//!   line endings and literals included, is bounded by `max_command`, and
//!   the number of literals by `max_literals`. Before a literal is accepted
//!   the command must start with a valid tag and a known verb, so that no
//!   continuation invites data for a command that cannot succeed.
//! - An APPEND message literal is never collected. Once the command is
//!   known up to the announcement, the framer yields [`Frame::AppendStart`]
//!   and waits: the session checks the mailbox and quota and calls
//!   [`CommandFramer::accept_literal`] (then a [`Frame::Continue`] follows if
//!   the client waits for one) or [`CommandFramer::reject_command`]. Accepted
//!   data comes as [`Frame::LiteralChunk`]s of whatever size arrived, then
//!   [`Frame::AppendLiteralEnd`]. The rest of that line either announces the
//!   next message ([`Frame::AppendNext`], MULTIAPPEND, same decision) or ends
//!   the command ([`Frame::AppendEnd`]): only then may the session commit and
//!   answer `OK`. The session may also call `reject_command` in the middle
//!   of a message (quota exceeded, storage error); the framer then drops the
//!   rest of the command.
//! - A message in APPEND's `UTF8 (~{n})` form (RFC 6855) is streamed the
//!   same way, marked [`AppendInfo::utf8`]; the framer takes the `)` after
//!   its data as part of the rest of the line.
//! - Refusals are [`Frame::Rejected`] with the response owed. A refused
//!   synchronizing literal is simply not sent by the client. A refused
//!   non-synchronizing one is read and dropped when no larger than
//!   `max_message`; a larger one cannot be skipped at acceptable cost, so the
//!   refusal is fatal and the session closes after answering, which RFC 7888
//!   allows. A command longer than `max_command` is fatal too: its end cannot
//!   be found without reading it, and guessing would let literal data be run
//!   as commands.
//! - Between commands the session may read raw lines instead
//!   ([`CommandFramer::next_line`]) for AUTHENTICATE responses and the `DONE`
//!   of IDLE.
//!
//! Lines may end in CRLF or a bare LF, as the parser accepts. Empty lines
//! between commands are ignored.

mod literal;
mod step;

use std::ops::Range;

use crate::error::{ParseError, Rejected};
use crate::parse::{
    MessageLiteral, leading_tag, parse_append_next, parse_append_prefix, parse_command,
};
use crate::types::command::{AppendOptions, Command};
use crate::types::core::Tag;
use crate::types::mailbox::Mailbox;
use proto_core::input::{line_len, strip_line_end};
use step::{FRESH, Ready, State, TagSource};

/// Limits of a [`CommandFramer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramerConfig {
    /// Longest command in octets, its line endings and small literals
    /// included. Also bounds each line of an APPEND and each raw line.
    pub max_command: usize,
    /// Most literals in one command, APPEND messages not counted.
    pub max_literals: usize,
    /// Largest APPEND message (what APPENDLIMIT advertises).
    pub max_message: u32,
    /// LITERAL+ is advertised; otherwise LITERAL- rules apply and
    /// non-synchronizing literals over 4096 octets are refused.
    pub literal_plus: bool,
}

impl Default for FramerConfig {
    fn default() -> Self {
        Self {
            max_command: 64 * 1024,
            max_literals: 100,
            max_message: 64 * 1024 * 1024,
            literal_plus: true,
        }
    }
}

/// What the framer found.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete command.
    Command(Command<'a>),
    /// A refused command; send `rejected.response()` and close if fatal.
    Rejected(Rejected<'a>),
    /// The client waits for a continuation: send `+ ...` now.
    Continue,
    /// An APPEND up to its first message literal; call
    /// [`CommandFramer::accept_literal`] or [`CommandFramer::reject_command`].
    AppendStart {
        /// The command's tag, for the final response.
        tag: Tag<'a>,
        /// Destination mailbox.
        mailbox: Mailbox<'a>,
        /// The first message.
        message: AppendInfo<'a>,
    },
    /// Another message of a MULTIAPPEND; accept or reject it as above.
    AppendNext(AppendInfo<'a>),
    /// Part of an accepted message literal.
    LiteralChunk(&'a [u8]),
    /// The message literal is complete.
    AppendLiteralEnd,
    /// The APPEND command is complete: commit and answer.
    AppendEnd,
}

/// What is known of an APPEND message before its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendInfo<'a> {
    /// Flags and internal date.
    pub options: AppendOptions<'a>,
    /// Size in octets of the message.
    pub size: u32,
    /// Announced as literal8 `~{n}` (RFC 3516): may contain NUL.
    pub binary: bool,
    /// Sent as `UTF8 (~{n})` (RFC 6855 4): may have UTF-8 header fields.
    /// The framer takes the `)` after the data; whether the form is allowed
    /// (`ENABLE UTF8=ACCEPT`) is the session's business.
    pub utf8: bool,
}

impl<'a> AppendInfo<'a> {
    fn new(options: AppendOptions<'a>, literal: MessageLiteral) -> Self {
        Self {
            options,
            size: literal.literal.size,
            binary: literal.literal.binary,
            utf8: literal.utf8,
        }
    }
}

/// Splits client input into frames; see the module documentation. `Debug`
/// shows how much input is held, not what: a LOGIN literal may be a password.
pub struct CommandFramer {
    config: FramerConfig,
    buf: Vec<u8>,
    /// Start of the unprocessed octets; what lies before it may still be
    /// borrowed by the last frame and is dropped on the next `feed`.
    start: usize,
    state: State,
    /// A `+` is owed for an accepted synchronizing APPEND literal.
    continue_owed: bool,
    /// Tag of the APPEND in progress, for refusals after its first line.
    append_tag: Option<Tag<'static>>,
}

/// The skeleton's view of the framer: what it holds, not what it means.
impl proto_core::input::Input for CommandFramer {
    /// Up to `max_command + 1` octets are held, as in [`feed`](Self::feed).
    fn room(&self) -> usize {
        self.config
            .max_command
            .saturating_add(1)
            .saturating_sub(self.buffered())
    }

    fn feed(&mut self, data: &[u8]) -> usize {
        CommandFramer::feed(self, data)
    }

    /// What [`feed`](Self::feed) would drop first is all there is: drop it, and the room.
    fn rest(&mut self) {
        if self.buffered() == 0 {
            self.buf = Vec::new();
            self.start = 0;
        }
    }

    fn buffered(&self) -> usize {
        CommandFramer::buffered(self)
    }

    fn discard(&mut self) {
        *self = Self::new(self.config);
    }
}

impl std::fmt::Debug for CommandFramer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandFramer")
            .field("buffered", &self.buffered())
            .field("state", &self.state)
            .field("continue_owed", &self.continue_owed)
            .field("append_tag", &self.append_tag)
            .finish_non_exhaustive()
    }
}

impl CommandFramer {
    /// A framer with the given limits.
    pub fn new(config: FramerConfig) -> Self {
        Self {
            config,
            buf: Vec::new(),
            start: 0,
            state: FRESH,
            continue_owed: false,
            append_tag: None,
        }
    }

    /// Takes as much of `input` as fits and returns how much it took; zero
    /// once closed or while the buffer is full (drain frames first).
    pub fn feed(&mut self, input: &[u8]) -> usize {
        if self.state == State::Closed {
            return 0;
        }
        self.buf.drain(..self.start);
        self.start = 0;
        // Saturating: `max_command` is the embedder's choice and may be `usize::MAX`.
        let room = self
            .config
            .max_command
            .saturating_add(1)
            .saturating_sub(self.buf.len());
        let take = room.min(input.len());
        self.buf
            .extend_from_slice(input.get(..take).unwrap_or_default());
        take
    }

    /// Octets received and not yet handed out.
    pub fn buffered(&self) -> usize {
        self.pending().len()
    }

    /// Whether a fatal refusal ended the input.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The next frame, or `None` when more input or a decision is needed.
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        let ready = self.step()?;
        Some(self.frame(ready))
    }

    /// Accepts the APPEND message just announced: its data will be handed
    /// out, after a [`Frame::Continue`] if the client waits for one. Has no
    /// effect unless a decision is pending.
    pub fn accept_literal(&mut self) {
        if let State::AppendDecision { size, sync, utf8 } = self.state {
            self.state = State::AppendLiteral {
                remaining: size,
                utf8,
            };
            self.continue_owed = sync;
        }
    }

    /// Abandons the APPEND in progress, at its decision point or in the
    /// middle of a message: the rest of the command is read and dropped. The
    /// session answers `NO` itself. Has no effect outside an APPEND.
    pub fn reject_command(&mut self) {
        let next = match self.state {
            // The client waits for a `+` it will not get; nothing follows.
            State::AppendDecision { sync: true, .. } => FRESH,
            State::AppendDecision {
                size, sync: false, ..
            } => State::Discard {
                skip: u64::from(size),
            },
            State::AppendLiteral { remaining, .. } => State::Discard {
                skip: u64::from(remaining),
            },
            State::AppendTail { .. } => State::Discard { skip: 0 },
            _ => return,
        };
        self.state = next;
        self.continue_owed = false;
        self.append_tag = None;
    }

    /// Reads one raw line (without its line ending) between commands, for
    /// AUTHENTICATE responses and IDLE's `DONE`. `None` if no complete line
    /// is buffered or a command is half read. A line longer than
    /// `max_command` is a fatal error.
    pub fn next_line(&mut self) -> Option<Result<&[u8], ParseError>> {
        if self.state != FRESH {
            return None;
        }
        let pending = self.pending();
        let Some(len) = line_len(pending) else {
            if pending.len() > self.config.max_command {
                self.state = State::Closed;
                return Some(Err(ParseError::CommandTooLong));
            }
            return None;
        };
        if len > self.config.max_command {
            self.state = State::Closed;
            return Some(Err(ParseError::CommandTooLong));
        }
        let range = self.consume(len);
        let line = self.buf.get(range).unwrap_or_default();
        Some(Ok(strip_line_end(line)))
    }

    fn pending(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    /// Hands out the next `n` pending octets (fewer if fewer are buffered)
    /// and returns where they lie in the buffer.
    fn consume(&mut self, n: usize) -> Range<usize> {
        let at = self.start;
        self.start = at.saturating_add(n).min(self.buf.len());
        at..self.start
    }

    fn frame(&self, ready: Ready) -> Frame<'_> {
        let slice = |range: Range<usize>| self.buf.get(range).unwrap_or_default();
        match ready {
            Ready::Command(range) => match parse_command(slice(range)) {
                Ok(command) => Frame::Command(command),
                Err(rejected) => Frame::Rejected(rejected),
            },
            Ready::Reject { tag, error, fatal } => Frame::Rejected(Rejected {
                tag: match tag {
                    TagSource::At(at) => leading_tag(self.buf.get(at..).unwrap_or_default()),
                    TagSource::Owned(tag) => tag,
                },
                error,
                fatal,
            }),
            Ready::Continue => Frame::Continue,
            Ready::AppendStart(range) => match parse_append_prefix(slice(range)) {
                Some(Ok(prefix)) => Frame::AppendStart {
                    tag: prefix.tag,
                    mailbox: prefix.mailbox,
                    message: AppendInfo::new(prefix.options, prefix.literal),
                },
                // The same octets parsed a moment ago: cannot happen.
                _ => Frame::Rejected(unexpected()),
            },
            // The range starts after the `)` of a `UTF8 (` message.
            Ready::AppendNext(range) => match parse_append_next(slice(range), false) {
                Ok(Some((options, literal))) => {
                    Frame::AppendNext(AppendInfo::new(options, literal))
                }
                // The same octets parsed a moment ago: cannot happen.
                _ => Frame::Rejected(unexpected()),
            },
            Ready::Chunk(range) => Frame::LiteralChunk(slice(range)),
            Ready::AppendLiteralEnd => Frame::AppendLiteralEnd,
            Ready::AppendEnd => Frame::AppendEnd,
        }
    }
}

/// The refusal for a re-parse that disagrees with the first parse.
fn unexpected() -> Rejected<'static> {
    Rejected {
        tag: None,
        error: ParseError::Syntax {
            command: "APPEND",
            expected: None,
        },
        fatal: true,
    }
}

#[cfg(test)]
mod tests {
    use proto_core::input::Input;

    use super::*;

    /// At rest the framer holds nothing once everything was framed, and keeps what was not.
    #[test]
    fn rest_keeps_only_what_is_unframed() {
        let mut framer = CommandFramer::new(FramerConfig {
            max_command: 8192,
            max_literals: 3,
            max_message: 1000,
            literal_plus: true,
        });
        let long = format!("a NOOP {}\r\nb LOG", "x".repeat(4000));
        framer.feed(long.as_bytes());
        assert!(matches!(framer.next_frame(), Some(Frame::Rejected(_))));
        assert_eq!(framer.next_frame(), None);
        framer.rest();
        assert_eq!(framer.buffered(), 5);
        framer.feed(b"OUT\r\n");
        assert!(matches!(framer.next_frame(), Some(Frame::Command(_))));
        assert_eq!(framer.next_frame(), None);
        framer.rest();
        assert_eq!(framer.buf.capacity(), 0);
    }
}
