//! SASL for `AUTH` (RFC 5034): the PLAIN mechanism (RFC 4616), the only one
//! worth offering once TLS protects the connection.
//!
//! Only decoding lives here; the session runs the exchange and the engine
//! checks the credentials.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// The mechanisms listed by `CAPA` (`SASL PLAIN`) and by `AUTH` alone,
/// separated by spaces.
pub(crate) const MECHANISMS: &str = "PLAIN";

/// Base64 with or without padding: clients differ.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A user name and password waiting for the engine's verdict, from
/// `USER`/`PASS` or `AUTH PLAIN`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) username: String,
    pub(crate) password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Why a PLAIN response was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaslError {
    /// Not base64.
    Base64,
    /// Decoded, but not `authzid NUL authcid NUL password` in UTF-8.
    Malformed,
    /// An authorization identity other than the user: we do not act on
    /// behalf of others.
    Authzid,
}

impl SaslError {
    pub(crate) fn text(self) -> &'static str {
        match self {
            Self::Base64 => "Invalid base64 data",
            Self::Malformed => "Malformed authentication response",
            Self::Authzid => "Authorization identity must be empty or the user's own",
        }
    }
}

/// Decodes a PLAIN response (RFC 4616 2). `=` alone is the empty response
/// (RFC 5034 4), which is malformed for PLAIN.
pub(crate) fn decode_plain(response: &[u8]) -> Result<Credentials, SaslError> {
    let decoded = match response {
        b"=" => Vec::new(),
        _ => BASE64.decode(response).map_err(|_| SaslError::Base64)?,
    };
    let text = String::from_utf8(decoded).map_err(|_| SaslError::Malformed)?;
    let mut fields = text.split('\0');
    let (Some(authzid), Some(username), Some(password), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(SaslError::Malformed);
    };
    if username.is_empty() || password.is_empty() {
        return Err(SaslError::Malformed);
    }
    if !authzid.is_empty() && authzid != username {
        return Err(SaslError::Authzid);
    }
    Ok(Credentials {
        username: username.to_owned(),
        password: password.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(raw: &str) -> Result<Credentials, SaslError> {
        decode_plain(BASE64.encode(raw).as_bytes())
    }

    #[test]
    fn decodes_plain() {
        let creds = plain("\0user\0secret").unwrap();
        assert_eq!(
            (creds.username.as_str(), creds.password.as_str()),
            ("user", "secret")
        );
        assert!(!format!("{creds:?}").contains("secret"));
        assert_eq!(plain("user\0user\0pw").unwrap().username, "user");
        // Unpadded base64 is accepted.
        assert_eq!(decode_plain(b"AHVzZXIAc2VjcmV0").unwrap().username, "user");
    }

    #[test]
    fn refuses_what_is_not_plain() {
        assert_eq!(decode_plain(b"!!"), Err(SaslError::Base64));
        assert_eq!(decode_plain(b"="), Err(SaslError::Malformed));
        assert_eq!(plain("\0user"), Err(SaslError::Malformed));
        assert_eq!(plain("\0user\0pw\0more"), Err(SaslError::Malformed));
        assert_eq!(plain("\0\0pw"), Err(SaslError::Malformed));
        assert_eq!(plain("\0user\0"), Err(SaslError::Malformed));
        assert_eq!(decode_plain(b"AP8A/w=="), Err(SaslError::Malformed)); // "\0\xff\0\xff"
        assert_eq!(plain("admin\0user\0pw"), Err(SaslError::Authzid));
    }
}
