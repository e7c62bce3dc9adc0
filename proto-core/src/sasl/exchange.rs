//! One authentication exchange: challenges out, responses in, until the
//! credentials are complete or the client gives up.

use crate::input::{InputBuffer, Line};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::{Credentials, Mechanism, login, plain};

/// Base64 with or without padding: clients differ, and neither RFC 4954 nor
/// RFC 5034 says which. (IMAP's grammar does want padding; its codec decodes
/// and hands over messages with [`Exchange::respond`].)
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An exchange waiting for the client's next response: which mechanism, and
/// how far along. It is a value, so a session keeps it in its state and a
/// finished exchange is simply gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange(Step);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// PLAIN's single message is due.
    Plain,
    /// LOGIN's user name is due.
    LoginUsername,
    /// LOGIN's password is due.
    LoginPassword { username: String },
}

/// What the session does after a step of the exchange.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// The client sent `*` (RFC 4954 4, RFC 5034 4, RFC 9051 6.2.2): the
    /// exchange is over.
    Cancelled,
    /// The response was refused: the exchange is over.
    Invalid(SaslError),
    /// Send the challenge (base64, possibly empty) and feed the client's
    /// answer to the exchange.
    Challenge(Exchange, &'static str),
    /// The credentials are complete: ask the engine.
    Done(Credentials),
}

/// Why a response was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslError {
    /// Not base64.
    Base64,
    /// Decoded, but not what the mechanism needs: wrong shape, not UTF-8, no
    /// user or no password.
    Malformed,
    /// An authorization identity other than the user: we do not act on
    /// behalf of others.
    Authzid,
    /// A response line longer than the protocol allows.
    TooLong,
}

impl SaslError {
    /// A sentence for the failure reply.
    pub fn text(self) -> &'static str {
        match self {
            Self::Base64 => "Invalid base64 data",
            Self::Malformed => "Malformed authentication response",
            Self::Authzid => "Authorization identity must be empty or the user's own",
            Self::TooLong => "Line too long",
        }
    }
}

impl Exchange {
    /// An exchange of `mechanism` before the client said anything.
    pub fn new(mechanism: Mechanism) -> Self {
        Self(match mechanism {
            Mechanism::Plain => Step::Plain,
            Mechanism::Login => Step::LoginUsername,
        })
    }

    /// Starts an exchange, with the initial response of the command as sent
    /// (SASL-IR, RFC 4954 4), or by asking for the first response. LOGIN has
    /// no initial response in theory, but clients send the user name.
    pub fn start(mechanism: Mechanism, initial: Option<&[u8]>) -> Next {
        let exchange = Self::new(mechanism);
        match initial {
            Some(response) => exchange.advance(response),
            None => exchange.ask(),
        }
    }

    /// The mechanism being run.
    pub fn mechanism(&self) -> Mechanism {
        match self.0 {
            Step::Plain => Mechanism::Plain,
            Step::LoginUsername | Step::LoginPassword { .. } => Mechanism::Login,
        }
    }

    /// Reads the client's response to the last challenge from the input of a
    /// line protocol (SMTP, POP3): the exchange back while the line has not
    /// all arrived; a line over `limit` is an invalid response.
    pub fn read_line(self, input: &mut InputBuffer, limit: usize) -> Result<Next, Self> {
        match input.next_line(limit) {
            Line::Incomplete => Err(self),
            Line::TooLong => Ok(Next::Invalid(SaslError::TooLong)),
            Line::Complete(range) => Ok(self.advance(input.line(range))),
        }
    }

    /// Takes the client's response line as sent, without its line end: `*`
    /// cancels, `=` is the empty response (RFC 4954 4, RFC 5034 4, RFC 4959
    /// 3), anything else is base64.
    pub fn advance(self, line: &[u8]) -> Next {
        let message = match line {
            b"*" => return Next::Cancelled,
            b"=" => Ok(Vec::new()),
            _ => BASE64.decode(line).map_err(|_| SaslError::Base64),
        };
        match message {
            Ok(message) => self.respond(&message),
            Err(error) => Next::Invalid(error),
        }
    }

    /// Takes a response already base64-decoded, for a protocol whose codec
    /// decodes by its own grammar (IMAP).
    pub fn respond(self, message: &[u8]) -> Next {
        let next = match self.0 {
            Step::Plain => plain::decode(message).map(Next::Done),
            Step::LoginUsername => {
                login::decode(message).map(|username| Self(Step::LoginPassword { username }).ask())
            }
            Step::LoginPassword { username } => login::decode(message)
                .map(|password| Next::Done(Credentials::new(username, password))),
        };
        next.unwrap_or_else(Next::Invalid)
    }

    /// Asks for the next response with this step's challenge.
    fn ask(self) -> Next {
        let challenge = match self.0 {
            Step::Plain => "",
            Step::LoginUsername => login::USERNAME,
            Step::LoginPassword { .. } => login::PASSWORD,
        };
        Next::Challenge(self, challenge)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(line: &[u8]) -> Next {
        Exchange::start(Mechanism::Plain, Some(line))
    }

    fn done(next: Next) -> Credentials {
        match next {
            Next::Done(credentials) => credentials,
            other => panic!("credentials expected, got {other:?}"),
        }
    }

    #[test]
    fn plain_in_one_response() {
        let creds = done(plain(b"AHVzZXIAc2VjcmV0")); // "\0user\0secret", unpadded
        assert_eq!((creds.username(), creds.password()), ("user", "secret"));
        assert!(!format!("{creds:?}").contains("secret"));
        let creds = done(plain(b"dXNlcgB1c2VyAHB3")); // "user\0user\0pw"
        assert_eq!((creds.authzid(), creds.username()), ("user", "user"));
    }

    #[test]
    fn plain_after_an_empty_challenge() {
        let Next::Challenge(exchange, "") = Exchange::start(Mechanism::Plain, None) else {
            panic!("empty challenge expected");
        };
        assert_eq!(exchange.mechanism(), Mechanism::Plain);
        assert_eq!(
            done(exchange.advance(b"AHVzZXIAc2VjcmV0")).username(),
            "user"
        );
    }

    #[test]
    fn plain_refusals() {
        assert_eq!(plain(b"!!"), Next::Invalid(SaslError::Base64));
        assert_eq!(plain(b"%%"), Next::Invalid(SaslError::Base64));
        assert_eq!(plain(b"="), Next::Invalid(SaslError::Malformed));
        assert_eq!(plain(b""), Next::Invalid(SaslError::Malformed));
        assert_eq!(plain(b"AHVzZXI"), Next::Invalid(SaslError::Malformed)); // "\0user"
        assert_eq!(plain(b"/w=="), Next::Invalid(SaslError::Malformed)); // 0xff
        assert_eq!(plain(b"AP8A/w=="), Next::Invalid(SaslError::Malformed)); // "\0\xff\0\xff"
        // "admin\0user\0secret"
        assert_eq!(
            plain(b"YWRtaW4AdXNlcgBzZWNyZXQ="),
            Next::Invalid(SaslError::Authzid)
        );
        assert_eq!(plain(b"*"), Next::Cancelled);
    }

    #[test]
    fn login_in_two_responses() {
        let Next::Challenge(exchange, login::USERNAME) = Exchange::start(Mechanism::Login, None)
        else {
            panic!("user name challenge expected");
        };
        let Next::Challenge(exchange, login::PASSWORD) = exchange.advance(b"dXNlcg==") else {
            panic!("password challenge expected");
        };
        assert_eq!(exchange.mechanism(), Mechanism::Login);
        let creds = done(exchange.advance(b"c2VjcmV0"));
        assert_eq!(
            (creds.authzid(), creds.username(), creds.password()),
            ("", "user", "secret")
        );
    }

    #[test]
    fn login_with_the_user_name_up_front() {
        let Next::Challenge(exchange, login::PASSWORD) =
            Exchange::start(Mechanism::Login, Some(b"dXNlcg"))
        else {
            panic!("password challenge expected");
        };
        assert_eq!(done(exchange.advance(b"c2VjcmV0")).password(), "secret");
    }

    #[test]
    fn login_refusals() {
        let login = || Exchange::new(Mechanism::Login);
        assert_eq!(login().advance(b"*"), Next::Cancelled);
        assert_eq!(login().advance(b"="), Next::Invalid(SaslError::Malformed));
        assert_eq!(
            login().advance(b"/w=="),
            Next::Invalid(SaslError::Malformed)
        );
        assert_eq!(
            login().advance(b"dXN lcg"),
            Next::Invalid(SaslError::Base64)
        );
        let Next::Challenge(exchange, _) = login().advance(b"dXNlcg") else {
            panic!("password challenge expected");
        };
        assert_eq!(exchange.advance(b""), Next::Invalid(SaslError::Malformed));
    }

    #[test]
    fn decoded_responses() {
        let creds = done(Exchange::new(Mechanism::Plain).respond(b"\0user\0secret"));
        assert_eq!(creds.username(), "user");
        assert_eq!(
            Exchange::new(Mechanism::Plain).respond(b"admin\0user\0pw"),
            Next::Invalid(SaslError::Authzid)
        );
        // Only `advance` reads the wire forms: decoded, `*` is a user name.
        assert!(matches!(
            Exchange::new(Mechanism::Login).respond(b"*"),
            Next::Challenge(_, login::PASSWORD)
        ));
    }
}
