//! SASL for `AUTH` (RFC 4954): the PLAIN (RFC 4616) and LOGIN mechanisms.
//!
//! Only decoding lives here; the session runs the exchange and the engine
//! checks the credentials.

use std::fmt;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

/// A SASL mechanism we offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// RFC 4616: `authzid NUL authcid NUL password` in one response.
    Plain,
    /// The de-facto LOGIN mechanism: username and password in two responses.
    Login,
}

impl Mechanism {
    /// Looks a mechanism name up, ignoring case.
    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("PLAIN") {
            Some(Self::Plain)
        } else if name.eq_ignore_ascii_case("LOGIN") {
            Some(Self::Login)
        } else {
            None
        }
    }
}

/// Credentials waiting for the engine's verdict.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) mechanism: Mechanism,
    pub(crate) authzid: String,
    pub(crate) username: String,
    pub(crate) password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("mechanism", &self.mechanism)
            .field("authzid", &self.authzid)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Why a SASL response was refused; both are `501 5.5.2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaslError {
    /// Not base64.
    Base64,
    /// Decoded, but not the shape the mechanism needs, or not UTF-8.
    Malformed,
}

impl SaslError {
    pub(crate) fn text(self) -> &'static str {
        match self {
            Self::Base64 => "Invalid base64 data",
            Self::Malformed => "Malformed authentication response",
        }
    }
}

/// Where a SASL exchange stands while waiting for the client's next line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SaslStep {
    /// `334 ` was sent; the PLAIN response is due.
    Plain,
    /// The LOGIN username is due.
    LoginUsername,
    /// The LOGIN password is due.
    LoginPassword { username: String },
}

/// What the session does after a step of the exchange.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SaslNext {
    /// The client sent `*` (RFC 4954 4): `501 5.0.0`.
    Cancelled,
    /// Undecodable response: `501 5.5.2`.
    Invalid(SaslError),
    /// Send `334 challenge` and wait in the given step.
    Challenge(SaslStep, &'static str),
    /// All credentials are in; ask the engine.
    Done(Credentials),
}

/// Starts an exchange, with the optional initial response of the `AUTH` command.
/// (LOGIN has no initial response in theory, but clients send the username.)
pub(crate) fn start(mechanism: Mechanism, initial: Option<&[u8]>) -> SaslNext {
    match (mechanism, initial) {
        (Mechanism::Plain, None) => SaslNext::Challenge(SaslStep::Plain, ""),
        (Mechanism::Login, None) => SaslNext::Challenge(SaslStep::LoginUsername, LOGIN_USERNAME),
        (Mechanism::Plain, Some(response)) => advance(SaslStep::Plain, response),
        (Mechanism::Login, Some(response)) => advance(SaslStep::LoginUsername, response),
    }
}

/// Takes the client's response line to the challenge of `step`.
pub(crate) fn advance(step: SaslStep, response: &[u8]) -> SaslNext {
    if response == b"*" {
        return SaslNext::Cancelled;
    }
    let next = match step {
        SaslStep::Plain => decode_plain(response).map(SaslNext::Done),
        SaslStep::LoginUsername => decode_login(response).map(|username| {
            SaslNext::Challenge(SaslStep::LoginPassword { username }, LOGIN_PASSWORD)
        }),
        SaslStep::LoginPassword { username } => decode_login(response).map(|password| {
            SaslNext::Done(Credentials {
                mechanism: Mechanism::Login,
                authzid: String::new(),
                username,
                password,
            })
        }),
    };
    next.unwrap_or_else(SaslNext::Invalid)
}

/// Decodes a PLAIN response into credentials.
fn decode_plain(response: &[u8]) -> Result<Credentials, SaslError> {
    let decoded = decode_base64(response)?;
    let mut parts = decoded.split(|&b| b == 0);
    let (Some(authzid), Some(username), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError::Malformed);
    };
    if username.is_empty() || password.is_empty() {
        return Err(SaslError::Malformed);
    }
    Ok(Credentials {
        mechanism: Mechanism::Plain,
        authzid: utf8(authzid)?,
        username: utf8(username)?,
        password: utf8(password)?,
    })
}

/// Decodes one LOGIN response (username or password): non-empty UTF-8.
fn decode_login(response: &[u8]) -> Result<String, SaslError> {
    let text = utf8(&decode_base64(response)?)?;
    if text.is_empty() {
        return Err(SaslError::Malformed);
    }
    Ok(text)
}

/// Base64 with or without padding (clients differ); `=` alone is the empty
/// response (RFC 4954 4).
fn decode_base64(response: &[u8]) -> Result<Vec<u8>, SaslError> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    if response == b"=" {
        return Ok(Vec::new());
    }
    LENIENT.decode(response).map_err(|_| SaslError::Base64)
}

fn utf8(bytes: &[u8]) -> Result<String, SaslError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| SaslError::Malformed)
}

/// The LOGIN challenges: base64 of `Username:` and `Password:`.
const LOGIN_USERNAME: &str = "VXNlcm5hbWU6";
const LOGIN_PASSWORD: &str = "UGFzc3dvcmQ6";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain() {
        let creds = decode_plain(b"AHVzZXIAc2VjcmV0").unwrap(); // "\0user\0secret"
        assert_eq!(
            (creds.authzid.as_str(), creds.username.as_str()),
            ("", "user")
        );
        assert_eq!(creds.password, "secret");
        assert!(!format!("{creds:?}").contains("secret"));
        assert_eq!(decode_plain(b"AHVzZXI"), Err(SaslError::Malformed)); // "\0user"
        assert_eq!(decode_plain(b"!!"), Err(SaslError::Base64));
        assert_eq!(decode_plain(b"="), Err(SaslError::Malformed));
    }

    #[test]
    fn login_exchange() {
        let SaslNext::Challenge(step, LOGIN_PASSWORD) = start(Mechanism::Login, Some(b"dXNlcg"))
        else {
            panic!("password challenge expected");
        };
        let SaslNext::Done(creds) = advance(step, b"c2VjcmV0") else {
            panic!("credentials expected");
        };
        assert_eq!(
            (creds.username.as_str(), creds.password.as_str()),
            ("user", "secret")
        );
        assert_eq!(advance(SaslStep::Plain, b"*"), SaslNext::Cancelled);
        assert_eq!(
            advance(SaslStep::Plain, b"%%"),
            SaslNext::Invalid(SaslError::Base64)
        );
    }

    #[test]
    fn login() {
        assert_eq!(decode_login(b"dXNlcg==").as_deref(), Ok("user"));
        assert_eq!(decode_login(b"dXNlcg").as_deref(), Ok("user"));
        assert_eq!(decode_login(b"/w=="), Err(SaslError::Malformed)); // 0xff
        assert_eq!(decode_login(b""), Err(SaslError::Malformed));
    }
}
