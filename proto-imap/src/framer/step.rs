//! The framer's state machine: what to do with the next octets in each
//! state. Decisions are returned as [`Ready`] (offsets, not borrows) so the
//! state can change before the frame borrows the buffer.

use std::ops::Range;

use proto_core::input::{line_len, strip_line_end};

use crate::error::ParseError;
use crate::framer::CommandFramer;
use crate::framer::literal::{Announced, announced_literal};
use crate::parse::{AppendPrefix, check_start, parse_append_next, parse_append_prefix};
use crate::types::core::Tag;

/// Largest non-synchronizing literal when only LITERAL- is advertised
/// (RFC 7888 section 5).
const LITERAL_MINUS_MAX: u64 = 4096;

/// Where the framer is in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Collecting a command: `len` octets from `start` belong to it,
    /// `literal` octets of a small literal are still to come, and it has had
    /// `literals` literals so far.
    Command {
        len: usize,
        literal: usize,
        literals: usize,
    },
    /// An APPEND message was announced; the session must decide. `utf8`:
    /// in the `UTF8 (` form, whose `)` follows the data.
    AppendDecision { size: u32, sync: bool, utf8: bool },
    /// Handing out an accepted message literal.
    AppendLiteral { remaining: u32, utf8: bool },
    /// After a message literal: the rest of its line is next.
    AppendTail { utf8: bool },
    /// Dropping a refused command: `skip` literal octets, then lines up to
    /// one that announces no non-synchronizing literal.
    Discard { skip: u64 },
    /// A fatal refusal was reported; nothing more is read.
    Closed,
}

/// Between commands.
pub(super) const FRESH: State = State::Command {
    len: 0,
    literal: 0,
    literals: 0,
};

/// Where the tag of a refusal comes from.
pub(super) enum TagSource {
    /// Parse it from the buffer at this offset.
    At(usize),
    /// Already known (APPEND) or unknown.
    Owned(Option<Tag<'static>>),
}

/// A frame decided on, described by buffer offsets so that the state can
/// be updated before the buffer is borrowed for the frame.
pub(super) enum Ready {
    Command(Range<usize>),
    Reject {
        tag: TagSource,
        error: ParseError,
        fatal: bool,
    },
    Continue,
    AppendStart(Range<usize>),
    /// The line announcing the next message, after the `)` of a `UTF8 (`
    /// message.
    AppendNext(Range<usize>),
    Chunk(Range<usize>),
    AppendLiteralEnd,
    AppendEnd,
}

impl CommandFramer {
    /// Advances over buffered input until a frame is due; `None` when more
    /// input or a decision is needed.
    pub(super) fn step(&mut self) -> Option<Ready> {
        loop {
            if std::mem::take(&mut self.continue_owed) {
                return Some(Ready::Continue);
            }
            match self.state {
                State::Closed | State::AppendDecision { .. } => return None,
                State::Command { .. } => return self.step_command(),
                State::AppendLiteral { remaining, utf8 } => {
                    return self.step_literal(remaining, utf8);
                }
                State::AppendTail { utf8 } => return self.step_append_tail(utf8),
                State::Discard { skip } => {
                    if let Some(ready) = self.step_discard(skip) {
                        return ready;
                    }
                }
            }
        }
    }

    fn step_command(&mut self) -> Option<Ready> {
        loop {
            let State::Command {
                len,
                literal,
                literals,
            } = self.state
            else {
                return None;
            };
            let available = self.pending().len();
            let unread = self.pending().get(len..).unwrap_or_default();
            if literal > 0 {
                let take = literal.min(unread.len());
                if take == 0 {
                    return None;
                }
                // `take` is at most `literal`, and `len + take` at most `available`.
                self.state = State::Command {
                    len: len.saturating_add(take),
                    literal: literal.saturating_sub(take),
                    literals,
                };
                continue;
            }
            let Some(line_size) = line_len(unread) else {
                if available > self.config.max_command {
                    return Some(self.fatal(TagSource::At(self.start), ParseError::CommandTooLong));
                }
                return None;
            };
            // At most `available`: cannot overflow.
            let line_end = len.saturating_add(line_size);
            if line_end > self.config.max_command {
                return Some(self.fatal(TagSource::At(self.start), ParseError::CommandTooLong));
            }
            let line = strip_line_end(self.pending().get(len..line_end).unwrap_or_default());
            if len == 0 && line.is_empty() {
                self.consume(line_end);
                continue;
            }
            let Some(announced) = announced_literal(line) else {
                let range = self.consume(line_end);
                self.state = FRESH;
                return Some(Ready::Command(range));
            };
            if let Some(ready) = self.literal_announced(line_end, literals, announced) {
                return Some(ready);
            }
        }
    }

    /// Decides on a literal announced at the end of the command's first
    /// `line_end` octets. `None`: accepted, nothing to tell the client.
    fn literal_announced(
        &mut self,
        line_end: usize,
        literals: usize,
        announced: Announced,
    ) -> Option<Ready> {
        let at = self.start;
        let append = match parse_append_prefix(self.pending().get(..line_end).unwrap_or_default()) {
            None => None,
            Some(Ok(AppendPrefix { tag, literal, .. })) => {
                Some(Ok((tag.into_owned(), literal.utf8)))
            }
            Some(Err(rejected)) => Some(Err(rejected.error)),
        };
        match append {
            Some(Ok((tag, utf8))) => {
                if let Some(error) = self.message_refusal(announced) {
                    return Some(self.refuse(TagSource::At(at), line_end, announced, error));
                }
                self.append_tag = Some(tag);
                let range = self.consume(line_end);
                self.state = State::AppendDecision {
                    size: u32::try_from(announced.size).unwrap_or(u32::MAX),
                    sync: announced.sync,
                    utf8,
                };
                return Some(Ready::AppendStart(range));
            }
            Some(Err(error)) => {
                return Some(self.refuse(TagSource::At(at), line_end, announced, error));
            }
            None => {}
        }
        let start = check_start(self.pending().get(..line_end).unwrap_or_default());
        // What the command may still grow by; the caller checked that
        // `line_end <= max_command`.
        let room = self.config.max_command.saturating_sub(line_end);
        let error = if let Err(error) = start {
            Some(error)
        } else if literals >= self.config.max_literals {
            Some(ParseError::TooManyLiterals)
        } else if announced.size > room as u64 || self.literal_minus_violation(announced) {
            Some(ParseError::LiteralTooBig)
        } else {
            None
        };
        if let Some(error) = error {
            return Some(self.refuse(TagSource::At(at), line_end, announced, error));
        }
        self.state = State::Command {
            len: line_end,
            literal: announced.size as usize,
            // Below `max_literals`, checked above.
            literals: literals.saturating_add(1),
        };
        announced.sync.then_some(Ready::Continue)
    }

    fn literal_minus_violation(&self, announced: Announced) -> bool {
        !self.config.literal_plus && !announced.sync && announced.size > LITERAL_MINUS_MAX
    }

    /// Why an APPEND message of this size cannot be taken, if it cannot.
    fn message_refusal(&self, announced: Announced) -> Option<ParseError> {
        if announced.size > u64::from(self.config.max_message) {
            Some(ParseError::MessageTooBig)
        } else if self.literal_minus_violation(announced) {
            Some(ParseError::LiteralTooBig)
        } else {
            None
        }
    }

    /// Refuses a command whose first `line_end` octets end in `announced`.
    fn refuse(
        &mut self,
        tag: TagSource,
        line_end: usize,
        announced: Announced,
        error: ParseError,
    ) -> Ready {
        self.consume(line_end);
        self.append_tag = None;
        let fatal = if announced.sync {
            self.state = FRESH;
            false
        } else if announced.size <= u64::from(self.config.max_message) {
            self.state = State::Discard {
                skip: announced.size,
            };
            false
        } else {
            self.state = State::Closed;
            true
        };
        Ready::Reject { tag, error, fatal }
    }

    fn fatal(&mut self, tag: TagSource, error: ParseError) -> Ready {
        self.state = State::Closed;
        self.append_tag = None;
        Ready::Reject {
            tag,
            error,
            fatal: true,
        }
    }

    fn step_literal(&mut self, remaining: u32, utf8: bool) -> Option<Ready> {
        if remaining == 0 {
            self.state = State::AppendTail { utf8 };
            return Some(Ready::AppendLiteralEnd);
        }
        let take = self.pending().len().min(remaining as usize);
        if take == 0 {
            return None;
        }
        let range = self.consume(take);
        self.state = State::AppendLiteral {
            // `take` is at most `remaining`.
            remaining: remaining.saturating_sub(take as u32),
            utf8,
        };
        Some(Ready::Chunk(range))
    }

    fn step_append_tail(&mut self, utf8: bool) -> Option<Ready> {
        let pending = self.pending();
        let Some(line_end) = line_len(pending) else {
            if pending.len() > self.config.max_command {
                let tag = TagSource::Owned(self.append_tag.take());
                return Some(self.fatal(tag, ParseError::CommandTooLong));
            }
            return None;
        };
        if line_end > self.config.max_command {
            let tag = TagSource::Owned(self.append_tag.take());
            return Some(self.fatal(tag, ParseError::CommandTooLong));
        }
        let next = parse_append_next(pending.get(..line_end).unwrap_or_default(), utf8)
            .map(|next| next.map(|(_, literal)| literal));
        match next {
            Ok(None) => {
                self.consume(line_end);
                self.state = FRESH;
                self.append_tag = None;
                Some(Ready::AppendEnd)
            }
            Ok(Some(next)) => {
                let literal = next.literal;
                let announced = Announced {
                    size: u64::from(literal.size),
                    sync: literal.sync,
                };
                if let Some(error) = self.message_refusal(announced) {
                    let tag = TagSource::Owned(self.append_tag.take());
                    return Some(self.refuse(tag, line_end, announced, error));
                }
                let line = self.consume(line_end);
                self.state = State::AppendDecision {
                    size: literal.size,
                    sync: literal.sync,
                    utf8: next.utf8,
                };
                // After the `)` that closes a `UTF8 (` message: the parse
                // above found one, so the line holds at least that octet.
                let after_paren = line.start.saturating_add(usize::from(utf8));
                Some(Ready::AppendNext(after_paren..line.end))
            }
            Err(error) => {
                // The line is dropped by the discard state, literal included.
                self.state = State::Discard { skip: 0 };
                let tag = TagSource::Owned(self.append_tag.take());
                Some(Ready::Reject {
                    tag,
                    error,
                    fatal: false,
                })
            }
        }
    }

    /// Drops input of a refused command. `None`: the state changed, go on;
    /// `Some(frame or None)`: return that.
    fn step_discard(&mut self, skip: u64) -> Option<Option<Ready>> {
        if skip > 0 {
            let take = (self.pending().len() as u64).min(skip);
            if take == 0 {
                return Some(None);
            }
            self.consume(take as usize);
            // `take` is at most `skip`.
            self.state = State::Discard {
                skip: skip.saturating_sub(take),
            };
            return None;
        }
        let pending = self.pending();
        let Some(len) = line_len(pending) else {
            if pending.len() > self.config.max_command {
                let ready = self.fatal(TagSource::Owned(None), ParseError::CommandTooLong);
                return Some(Some(ready));
            }
            return Some(None);
        };
        let announced = announced_literal(strip_line_end(pending.get(..len).unwrap_or_default()));
        self.consume(len);
        self.state = match announced {
            Some(a) if !a.sync && a.size <= u64::from(self.config.max_message) => {
                State::Discard { skip: a.size }
            }
            Some(a) if !a.sync => {
                let ready = self.fatal(TagSource::Owned(None), ParseError::LiteralTooBig);
                return Some(Some(ready));
            }
            // No literal, or one the client will wait in vain to send.
            _ => FRESH,
        };
        None
    }
}
