//! IMAP in the engine: what the IMAP session's commands mean against the store.

mod append;
pub mod convert;
pub mod fetch;
mod jobs;
pub mod mailboxes;
pub mod messages;
pub mod quota;
pub mod reply;
pub mod search;
pub mod selected;
pub mod serve;
mod state;
pub mod view;
