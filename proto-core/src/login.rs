//! The one question every server session asks its runtime in the same words:
//! may this user log in? SMTP `AUTH`, POP3 `USER`/`PASS` and `AUTH`, IMAP
//! `LOGIN` and `AUTHENTICATE` all hand out [`Action::Login`] and take the
//! verdict back as a `Result<_, LoginError>`; each protocol words the refusal
//! its own way.
//!
//! [`Action::Login`]: crate::session::Action::Login

use std::fmt;

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoginError {
    /// Unknown user or wrong password. Counts towards the session's error
    /// budget, which bounds password guessing per connection.
    BadCredentials,
    /// The account cannot be used now (storage trouble, throttling): a
    /// temporary refusal, not the client's fault, not counted.
    Unavailable,
    /// Another session holds what this one needs (POP3's maildrop lock):
    /// temporary, not counted.
    InUse,
}

impl fmt::Display for LoginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadCredentials => "bad credentials",
            Self::Unavailable => "account unavailable",
            Self::InUse => "in use by another session",
        })
    }
}

impl std::error::Error for LoginError {}
