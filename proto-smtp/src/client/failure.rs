//! Why a recipient, a message or a whole session failed, in the terms a queue
//! acts on: try again later (4xx) or give up and bounce (5xx).

use std::borrow::Cow;
use std::fmt;

use crate::Reply;
use crate::reply::Enhanced;

/// Where in the conversation something happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Waiting for the server's greeting.
    Greeting,
    /// `EHLO`.
    Ehlo,
    /// `HELO`, after the server refused `EHLO`.
    Helo,
    /// `STARTTLS`, or the decision to go without it.
    StartTls,
    /// `AUTH`.
    Auth,
    /// Between messages.
    Idle,
    /// `RSET`, before a message on a connection that carried one already.
    Rset,
    /// `MAIL FROM`, or the checks of a message before it.
    Mail,
    /// `RCPT TO`.
    Rcpt,
    /// `DATA`, until the server's `354`.
    Data,
    /// Sending the message body.
    Body,
    /// The final reply to the message, after its end-of-data `.`.
    EndOfData,
    /// `QUIT`.
    Quit,
}

impl Stage {
    /// How a log line or a bounce names the stage.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Greeting => "the greeting",
            Self::Ehlo => "EHLO",
            Self::Helo => "HELO",
            Self::StartTls => "STARTTLS",
            Self::Auth => "AUTH",
            Self::Idle => "the wait between messages",
            Self::Rset => "RSET",
            Self::Mail => "MAIL FROM",
            Self::Rcpt => "RCPT TO",
            Self::Data => "DATA",
            Self::Body => "the message body",
            Self::EndOfData => "the end of data",
            Self::Quit => "QUIT",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A failure: the server's refusal, or one the session states itself
/// (a timeout, a lost connection, a reply it cannot read, a message the server
/// cannot take). Either way it is a reply, so a queue reads every failure the
/// same way and a bounce can quote it: 4xx is temporary, 5xx permanent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Failure {
    /// When it happened.
    pub stage: Stage,
    /// The server's reply, or the one the session words for itself.
    pub reply: Reply,
    /// The reply is the server's (a bounce says "the server said"), not the
    /// session's own.
    pub remote: bool,
}

impl Failure {
    /// The server refused with `reply`.
    pub(crate) fn remote(stage: Stage, reply: Reply) -> Self {
        Self {
            stage,
            reply,
            remote: true,
        }
    }

    /// The session fails on its own account.
    pub(crate) fn local(
        stage: Stage,
        code: u16,
        enhanced: Enhanced,
        text: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            stage,
            reply: Reply::new(code, enhanced, text),
            remote: false,
        }
    }

    /// A temporary failure of our own: the connection, not the mail, is at
    /// fault, so whatever was in progress may succeed on another attempt.
    pub(crate) fn temporary(
        stage: Stage,
        enhanced: Enhanced,
        text: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::local(stage, 451, enhanced, text)
    }

    /// Whether to give up (5xx) rather than try again later.
    pub fn is_permanent(&self) -> bool {
        self.reply.code >= 500
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whose = if self.remote {
            "server replied"
        } else {
            "failed"
        };
        write!(f, "{} {whose}: {}", self.stage, self.reply)
    }
}

impl std::error::Error for Failure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanence_is_the_reply_class() {
        let refused = Failure::remote(Stage::Rcpt, Reply::new(550, (5, 1, 1), "No such user"));
        assert!(refused.is_permanent());
        assert_eq!(
            refused.to_string(),
            "RCPT TO server replied: 550 5.1.1 No such user"
        );
        let lost = Failure::temporary(Stage::Mail, (4, 4, 2), "lost connection");
        assert!(!lost.is_permanent() && !lost.remote);
        assert_eq!(
            lost.to_string(),
            "MAIL FROM failed: 451 4.4.2 lost connection"
        );
    }
}
