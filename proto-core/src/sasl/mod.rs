//! SASL (RFC 4422) as the mail protocols use it: `AUTH` in SMTP (RFC 4954)
//! and POP3 (RFC 5034), `AUTHENTICATE` in IMAP (RFC 9051, RFC 4959).
//!
//! What is the same in all three lives here: the mechanisms, the exchange of
//! challenges and base64 responses ([`Exchange`]), and what a response may
//! say. Each protocol keeps what differs: how a challenge is framed (`334 `
//! or `+ `), the replies to a failure, and which mechanisms it offers.
//! Checking the credentials is the engine's business.
//!
//! One rule holds for every protocol: the authorization identity of PLAIN
//! must be empty or the user's own. We do not act on behalf of others, so
//! any other identity is refused ([`SaslError::Authzid`]) before the engine
//! is asked.

mod credentials;
mod exchange;
mod login;
mod mechanism;
mod plain;

pub use credentials::Credentials;
pub use exchange::{Exchange, Next, SaslError};
pub use mechanism::{Mechanism, Names};
