//! The LOGIN mechanism: the server asks for the user name, then the
//! password, each sent on its own. Obsolete but still spoken (Outlook), and
//! harmless under TLS.

use super::SaslError;

/// The first challenge: base64 of `Username:`.
pub(super) const USERNAME: &str = "VXNlcm5hbWU6";
/// The second challenge: base64 of `Password:`.
pub(super) const PASSWORD: &str = "UGFzc3dvcmQ6";

/// Reads one response, base64 already decoded: the user name or the
/// password, non-empty UTF-8.
pub(super) fn decode(message: &[u8]) -> Result<String, SaslError> {
    match std::str::from_utf8(message) {
        Ok(text) if !text.is_empty() => Ok(text.to_owned()),
        _ => Err(SaslError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_field() {
        assert_eq!(decode(b"user").as_deref(), Ok("user"));
        assert_eq!(decode(b"\xff"), Err(SaslError::Malformed));
        assert_eq!(decode(b""), Err(SaslError::Malformed));
    }
}
