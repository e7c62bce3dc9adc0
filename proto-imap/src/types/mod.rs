//! The data model: commands, responses and the values inside them,
//! independent of how they are parsed or written.

pub(crate) mod body;
pub(crate) mod command;
pub(crate) mod core;
pub(crate) mod datetime;
pub(crate) mod fetch;
pub(crate) mod flag;
pub mod mailbox;
pub(crate) mod response;
pub(crate) mod search;
pub(crate) mod sequence;
