//! The SASL PLAIN mechanism (RFC 4616), the only one worth offering once TLS
//! protects the connection. Only decoding lives here; the session runs the
//! exchange and the engine checks the credentials.

use std::fmt;

/// A user name and password waiting for the engine's verdict, from `LOGIN`
/// or `AUTHENTICATE PLAIN`.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Credentials {
    pub(super) username: String,
    pub(super) password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password is never printed.
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Why a PLAIN message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PlainError {
    /// Not `authzid NUL authcid NUL password` in UTF-8 with a user and a
    /// password.
    Malformed,
    /// An authorization identity other than the user: we do not act on
    /// behalf of others.
    Authzid,
}

/// Decodes a PLAIN message (RFC 4616 2), already base64-decoded.
pub(super) fn decode(message: &[u8]) -> Result<Credentials, PlainError> {
    let text = std::str::from_utf8(message).map_err(|_| PlainError::Malformed)?;
    let mut fields = text.split('\0');
    let (Some(authzid), Some(username), Some(password), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(PlainError::Malformed);
    };
    if username.is_empty() || password.is_empty() {
        return Err(PlainError::Malformed);
    }
    if !authzid.is_empty() && authzid != username {
        return Err(PlainError::Authzid);
    }
    Ok(Credentials {
        username: username.to_owned(),
        password: password.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plain() {
        let creds = decode(b"\0user\0secret").unwrap();
        assert_eq!(
            (creds.username.as_str(), creds.password.as_str()),
            ("user", "secret")
        );
        assert!(!format!("{creds:?}").contains("secret"));
        assert_eq!(decode(b"user\0user\0pw").unwrap().username, "user");
    }

    #[test]
    fn refuses_what_is_not_plain() {
        assert_eq!(decode(b""), Err(PlainError::Malformed));
        assert_eq!(decode(b"\0user"), Err(PlainError::Malformed));
        assert_eq!(decode(b"\0user\0pw\0more"), Err(PlainError::Malformed));
        assert_eq!(decode(b"\0\0pw"), Err(PlainError::Malformed));
        assert_eq!(decode(b"\0user\0"), Err(PlainError::Malformed));
        assert_eq!(decode(b"\0\xff\0\xff"), Err(PlainError::Malformed));
        assert_eq!(decode(b"admin\0user\0pw"), Err(PlainError::Authzid));
    }
}
