//! The credentials of `Authorization: Basic` (RFC 7617).

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use proto_core::sasl::Credentials;

/// Base64 with or without padding: RFC 7617 wants it padded, but refusing a
/// client over a missing `=` helps no one.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A Basic `Authorization` value that cannot be read: not base64, not UTF-8
/// (the charset the challenge announces), or without the `:` between user and
/// password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// The credentials in an `Authorization` value: `None` for a scheme other
/// than Basic, which the engine may understand.
pub(crate) fn credentials(value: &str) -> Result<Option<Credentials>, Malformed> {
    let (scheme, token) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("Basic") {
        return Ok(None);
    }
    let decoded = BASE64
        .decode(token.trim_matches([' ', '\t']))
        .map_err(|_| Malformed)?;
    let decoded = String::from_utf8(decoded).map_err(|_| Malformed)?;
    // The user name cannot hold a colon; the password can (RFC 7617 2).
    let (user, password) = decoded.split_once(':').ok_or(Malformed)?;
    Ok(Some(Credentials::new(user.to_owned(), password.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(value: &str) -> Option<(String, String)> {
        credentials(value)
            .unwrap()
            .map(|c| (c.username().to_owned(), c.password().to_owned()))
    }

    #[test]
    fn basic_credentials() {
        // RFC 7617 2's example.
        let expected = Some(("Aladdin".into(), "open sesame".into()));
        assert_eq!(pair("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="), expected);
        assert_eq!(pair("basic   QWxhZGRpbjpvcGVuIHNlc2FtZQ"), expected);
        // RFC 7617 2.1's: UTF-8, and a colon in the password.
        assert_eq!(
            pair("BASIC dGVzdDoxMjPCow=="),
            Some(("test".into(), "123\u{a3}".into()))
        );
        assert_eq!(pair("Basic YTpiOmM="), Some(("a".into(), "b:c".into())));
    }

    #[test]
    fn other_schemes_are_left_alone() {
        assert_eq!(pair("Bearer abc.def"), None);
        assert_eq!(pair("Digest username=\"a\""), None);
        assert_eq!(pair("Basically"), None);
    }

    #[test]
    fn malformed_basic_values() {
        for value in [
            "Basic",
            "Basic !!!",
            "Basic YWxhZGRpbg==",
            "Basic /w==",
            "Basic YTpi YTpi",
        ] {
            assert_eq!(credentials(value), Err(Malformed), "{value}");
        }
    }
}
