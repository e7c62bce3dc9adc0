//! The directory and its policy: domains, accounts and aliases, logins, where a recipient
//! address leads, whose addresses a user may send as, and quotas. Every protocol asks it the same questions.

mod admin;
mod alias_rules;
mod auth;
pub(crate) mod auth_cache;
pub mod disposable;
pub mod password;
pub mod password_rules;
pub(crate) mod quota;
pub mod rate;
pub(crate) mod routing;
mod senders;
pub mod srs;
pub(crate) mod throttle;
pub mod tokens;
pub mod vip;

pub use auth::{LoginClient, Refusal, VERIFICATIONS_AT_ONCE, log_in};
pub use routing::{Destination, RcptContext};
pub use senders::Grants;
