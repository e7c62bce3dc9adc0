//! Turning redb and file-system failures into [`StoreError`]s a person can act on.

use std::io;
use std::path::Path;

use engine::store::{StoreError, StoreResult};

/// Converts any redb error (they all convert into [`redb::Error`]) into `StoreError::Io`, or
/// `StoreError::Full` when the file could not grow.
pub(crate) trait DbResultExt<T> {
    fn db(self) -> StoreResult<T>;
}

impl<T, E: Into<redb::Error>> DbResultExt<T> for Result<T, E> {
    fn db(self) -> StoreResult<T> {
        self.map_err(|err| match err.into() {
            redb::Error::Io(err) => StoreError::io(err.kind(), format!("database: {err}")),
            err => StoreError::Io(format!("database: {err}")),
        })
    }
}

/// A failed file-system operation, naming what was being done and to which path.
pub(crate) fn file_error(action: &str, path: &Path, err: io::Error) -> StoreError {
    StoreError::io(err.kind(), format!("{action} {}: {err}", path.display()))
}

/// A stored record that does not decode: the database was damaged or written by something else.
pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Io(format!(
        "corrupt {what} in the database (the file is damaged; restore it from a backup)"
    ))
}

/// A copy of `err` for a second recipient. Errors are not `Clone`; the copy keeps the text, which
/// is what a person reads.
pub(crate) fn duplicate(err: &StoreError) -> StoreError {
    match err {
        StoreError::Io(msg) => StoreError::Io(msg.clone()),
        StoreError::Full(msg) => StoreError::Full(msg.clone()),
        other => StoreError::Io(other.to_string()),
    }
}
