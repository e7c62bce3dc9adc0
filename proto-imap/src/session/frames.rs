//! What the framer hands over: commands, refusals, continuations, streamed
//! APPEND messages, and the raw lines of AUTHENTICATE and IDLE.

use std::mem;

use proto_core::sasl::{Next as SaslNext, SaslError};

use super::{Append, Event, Pending, Phase, ServerSession};
use crate::error::{ParseError, Rejected};
use crate::framer::{AppendInfo, CommandFramer, Frame};
use crate::parse::{AuthenticateLine, parse_authenticate_line, parse_idle_done};
use crate::types::command::owned_flags;
use crate::types::core::Tag;
use crate::types::mailbox::Mailbox;
use crate::types::response::{Code, PlainCode, Status};

/// What the framer must do once the frame that asked for it is handled (the
/// frame borrows the framer until then).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FramerOp {
    None,
    /// Drop the rest of the APPEND just refused.
    RejectCommand,
}

impl ServerSession {
    /// Handles the next frame. Returns whether there was one.
    pub(super) fn step_frame(&mut self) -> bool {
        // The frame borrows the framer while its handler needs `&mut self`:
        // lend the framer out meanwhile (handlers never touch `self.framer`).
        let stand_in = CommandFramer::new(self.config.framer);
        let mut framer = mem::replace(self.common.input_mut(), stand_in);
        let op = framer.next_frame().map(|frame| self.handle_frame(frame));
        *self.common.input_mut() = framer;
        match op {
            None => return false,
            Some(FramerOp::None) => {}
            Some(FramerOp::RejectCommand) => self.common.input_mut().reject_command(),
        }
        true
    }

    fn handle_frame(&mut self, frame: Frame<'_>) -> FramerOp {
        match frame {
            Frame::Command(command) => return self.handle_command(command),
            Frame::Rejected(rejected) => self.rejected(&rejected),
            Frame::Continue => self.continuation("Ready for literal data"),
            Frame::AppendStart {
                tag,
                mailbox,
                message,
            } => return self.append_start(tag, mailbox, message),
            Frame::AppendNext(message) => return self.append_message(message, false),
            Frame::LiteralChunk(bytes) => {
                self.chunk.clear();
                self.chunk.extend_from_slice(bytes);
                self.common.notify(Event::AppendData);
            }
            Frame::AppendLiteralEnd => self.common.notify(Event::AppendMessageEnd),
            Frame::AppendEnd => {
                if self.append.is_some() {
                    self.common.ask(Pending::AppendCommit);
                }
            }
        }
        FramerOp::None
    }

    /// Answers a command the framer refused. A fatal refusal closes the
    /// connection, and so does any refusal in the middle of an APPEND the
    /// engine has started: it has no way to drop the messages it already
    /// received but to see the connection close.
    fn rejected(&mut self, rejected: &Rejected<'_>) {
        self.encode(&rejected.response());
        let in_append = self.append.take().is_some();
        if rejected.fatal || in_append {
            self.bye("Closing connection");
            self.close();
        } else if rejected.error != ParseError::MessageTooBig {
            self.count_error();
        }
    }

    fn append_start(
        &mut self,
        tag: Tag<'_>,
        mailbox: Mailbox<'_>,
        message: AppendInfo<'_>,
    ) -> FramerOp {
        if self.user.is_none() {
            self.bad_state(&tag);
            return FramerOp::RejectCommand;
        }
        self.append = Some(Append {
            tag: tag.into_owned(),
            mailbox: mailbox.into_owned(),
            deadline: self
                .common
                .idle_since()
                .checked_add(self.config.append_limit),
        });
        self.append_message(message, true)
    }

    /// Asks the engine about the next message of the APPEND in progress.
    /// The `UTF8 (...)` form without `ENABLE UTF8=ACCEPT` is `BAD` (RFC 6855
    /// 4); after the first message that also closes the connection, the
    /// engine's cue to drop the messages it already has.
    fn append_message(&mut self, message: AppendInfo<'_>, first: bool) -> FramerOp {
        if message.utf8 && !self.enabled.utf8_accept {
            let Some(append) = self.append.take() else {
                return FramerOp::None;
            };
            let text = "APPEND UTF8 needs ENABLE UTF8=ACCEPT first";
            self.tagged(&append.tag, Status::Bad, None, text);
            if first {
                self.count_error();
            } else {
                self.bye("Closing connection");
                self.close();
            }
            return FramerOp::RejectCommand;
        }
        if self.append.is_some() {
            self.common.ask(Pending::AppendStart {
                flags: Some(owned_flags(message.options.flags)),
                date: message.options.date,
                size: message.size,
                binary: message.binary,
                first,
                utf8: message.utf8,
            });
        }
        FramerOp::None
    }

    /// Reads the client's response to a challenge of AUTHENTICATE.
    pub(super) fn step_sasl(&mut self) -> bool {
        let Some(line) = self.common.input_mut().next_line() else {
            return false;
        };
        // Owned, so that the framer is free again.
        let line = line.and_then(|line| match line {
            // "=" is the empty initial response; be lenient here too.
            b"=" => Ok(AuthenticateLine::Response(Vec::new())),
            line => parse_authenticate_line(line),
        });
        let Phase::Sasl { tag, exchange } = mem::replace(&mut self.phase, Phase::Command) else {
            return false;
        };
        match line {
            Err(ParseError::CommandTooLong) => self.line_too_long(tag),
            Err(error) => self.bad(&tag, &error.to_string()),
            Ok(AuthenticateLine::Cancel) => self.bad(&tag, "Authentication cancelled"),
            Ok(AuthenticateLine::Response(message)) => self.sasl(tag, exchange.respond(&message)),
        }
        true
    }

    /// Carries out a step of the SASL exchange of AUTHENTICATE (RFC 9051
    /// 6.2.2). The parser has decoded the base64 and read `*`.
    pub(super) fn sasl(&mut self, tag: Tag<'static>, next: SaslNext) {
        match next {
            SaslNext::Cancelled => self.bad(&tag, "Authentication cancelled"),
            SaslNext::Invalid(error @ SaslError::Authzid) => {
                let code = Code::Plain(PlainCode::AuthorizationFailed);
                self.tagged(&tag, Status::No, Some(code), error.text());
                self.count_error();
            }
            SaslNext::Invalid(SaslError::Base64 | SaslError::Malformed) => {
                self.bad(&tag, "Malformed PLAIN response");
            }
            // The framer bounds IMAP's lines; this comes only from line protocols.
            SaslNext::Invalid(error @ SaslError::TooLong) => self.bad(&tag, error.text()),
            SaslNext::Challenge(exchange, challenge) => {
                self.continuation(challenge);
                self.phase = Phase::Sasl { tag, exchange };
            }
            SaslNext::Done(credentials) => self.common.ask(Pending::Login { tag, credentials }),
        }
    }

    /// Reads the line that ends IDLE.
    pub(super) fn step_idle(&mut self) -> bool {
        let Some(line) = self.common.input_mut().next_line() else {
            return false;
        };
        let line = line.map(|line| parse_idle_done(line).is_ok());
        let Phase::Idle { tag } = mem::replace(&mut self.phase, Phase::Command) else {
            return false;
        };
        match line {
            Ok(done) => {
                self.common.ask(Pending::IdleDone { tag, bad: !done });
                if !done {
                    // RFC 2177: only DONE ends IDLE. Anything else is a
                    // protocol error, answered BAD once the engine completes.
                    self.count_error();
                }
            }
            Err(_) => self.line_too_long(tag),
        }
        true
    }

    /// A raw line over the limit: its end cannot be found without reading
    /// it, so the connection closes.
    fn line_too_long(&mut self, tag: Tag<'static>) {
        self.rejected(&Rejected {
            tag: Some(tag),
            error: ParseError::CommandTooLong,
            fatal: true,
        });
    }
}
