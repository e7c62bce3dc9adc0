//! The PLAIN mechanism (RFC 4616): the only one worth offering once TLS
//! protects the connection, and the one every client speaks.

use super::{Credentials, SaslError};

/// Reads a PLAIN message, base64 already decoded:
/// `[authzid] NUL authcid NUL passwd` in UTF-8, with a user and a password.
pub(super) fn decode(message: &[u8]) -> Result<Credentials, SaslError> {
    let text = std::str::from_utf8(message).map_err(|_| SaslError::Malformed)?;
    let mut fields = text.split('\0');
    let (Some(authzid), Some(username), Some(password), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(SaslError::Malformed);
    };
    if username.is_empty() || password.is_empty() {
        return Err(SaslError::Malformed);
    }
    Credentials::with_authzid(authzid, username, password).ok_or(SaslError::Authzid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plain() {
        let creds = decode(b"\0user\0secret").unwrap();
        assert_eq!(
            (creds.authzid(), creds.username(), creds.password()),
            ("", "user", "secret")
        );
        let creds = decode(b"user\0user\0pw").unwrap();
        assert_eq!((creds.authzid(), creds.username()), ("user", "user"));
        // Anything but NUL may be in a field, spaces and CR included.
        assert_eq!(decode(b"\0a b\0p\rw").unwrap().password(), "p\rw");
    }

    #[test]
    fn refuses_what_is_not_plain() {
        assert_eq!(decode(b""), Err(SaslError::Malformed));
        assert_eq!(decode(b"\0user"), Err(SaslError::Malformed));
        assert_eq!(decode(b"\0user\0pw\0more"), Err(SaslError::Malformed));
        assert_eq!(decode(b"\0\0pw"), Err(SaslError::Malformed));
        assert_eq!(decode(b"\0user\0"), Err(SaslError::Malformed));
        assert_eq!(decode(b"\0\xff\0\xff"), Err(SaslError::Malformed));
    }

    #[test]
    fn refuses_acting_for_someone_else() {
        assert_eq!(decode(b"admin\0user\0pw"), Err(SaslError::Authzid));
        // Malformed first: nothing is said about the identity of a broken message.
        assert_eq!(decode(b"admin\0user\0"), Err(SaslError::Malformed));
    }
}
