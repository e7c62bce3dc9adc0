//! What a command handler hands back: untagged data to send, then the completion.

use std::borrow::Cow;
use std::time::Instant;

use proto_imap::{Code, Data, PlainCode, Status};

use crate::store::StoreError;

/// The result of one command.
#[derive(Debug)]
pub struct Reply {
    pub data: Vec<Data<'static>>,
    pub status: Status,
    pub code: Option<Code<'static>>,
    pub text: Cow<'static, str>,
}

impl Reply {
    pub fn ok(text: impl Into<Cow<'static, str>>) -> Self {
        Reply {
            data: Vec::new(),
            status: Status::Ok,
            code: None,
            text: text.into(),
        }
    }

    pub fn no(code: Option<PlainCode>, text: impl Into<Cow<'static, str>>) -> Self {
        Reply {
            data: Vec::new(),
            status: Status::No,
            code: code.map(Code::Plain),
            text: text.into(),
        }
    }

    pub fn bad(text: impl Into<Cow<'static, str>>) -> Self {
        Reply {
            data: Vec::new(),
            status: Status::Bad,
            code: None,
            text: text.into(),
        }
    }

    pub fn with_data(mut self, data: Vec<Data<'static>>) -> Self {
        self.data = data;
        self
    }

    pub fn with_code(mut self, code: Code<'static>) -> Self {
        self.code = Some(code);
        self
    }

    /// Writes the untagged data and completes the session's pending command.
    pub fn complete(self, session: &mut proto_imap::ServerSession) {
        for data in &self.data {
            session.write_data(data);
        }
        session.complete(self.status, self.code, &self.text, Instant::now());
    }
}

impl From<StoreError> for Reply {
    /// Store failures as IMAP answers: the client's mistakes with their response codes,
    /// everything else as a temporary server problem.
    fn from(e: StoreError) -> Self {
        match e {
            // The store's own words name internal ids: the client gets ours.
            StoreError::NotFound(what) => {
                tracing::debug!(%what, "not found in IMAP");
                Reply::no(Some(PlainCode::NonExistent), "No such mailbox")
            }
            StoreError::AlreadyExists(what) => {
                tracing::debug!(%what, "already exists in IMAP");
                Reply::no(Some(PlainCode::AlreadyExists), "Mailbox already exists")
            }
            StoreError::OverQuota { .. } => Reply::no(Some(PlainCode::OverQuota), "Quota exceeded"),
            // As Dovecot answers a full disk.
            StoreError::Full(what) => {
                tracing::error!(%what, "disk full in IMAP");
                Reply::no(Some(PlainCode::OverQuota), "Not enough disk space")
            }
            other => {
                tracing::error!(error = %other, "storage failure in IMAP");
                Reply::no(
                    Some(PlainCode::Unavailable),
                    "Storage problem, try again later",
                )
            }
        }
    }
}
