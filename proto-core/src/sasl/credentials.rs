//! What a finished exchange (or a protocol's own login command) hands the
//! engine.

use std::fmt;

/// A user name and password waiting for the engine's verdict. The password
/// never shows in `Debug` output, so credentials can be logged as they are.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    authzid: String,
    username: String,
    password: String,
}

impl Credentials {
    /// Credentials given outside SASL: POP3 `USER`/`PASS`, IMAP `LOGIN`.
    pub fn new(username: String, password: String) -> Self {
        Self {
            authzid: String::new(),
            username,
            password,
        }
    }

    /// Credentials from PLAIN, which names an identity to act as. `None`
    /// unless it is empty or the user's own: we act for no one else.
    pub(super) fn with_authzid(authzid: &str, username: &str, password: &str) -> Option<Self> {
        (authzid.is_empty() || authzid == username).then(|| Self {
            authzid: authzid.to_owned(),
            username: username.to_owned(),
            password: password.to_owned(),
        })
    }

    /// The identity the client asked to act as: empty, or the user's own.
    pub fn authzid(&self) -> &str {
        &self.authzid
    }

    /// The authenticating user, as the client gave it.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The user, once the engine accepted the credentials.
    pub fn into_username(self) -> String {
        self.username
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("authzid", &self.authzid)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let creds = Credentials::new("user".into(), "secret".into());
        let debug = format!("{creds:?}");
        assert!(debug.contains("user") && !debug.contains("secret"));
        assert_eq!((creds.authzid(), creds.password()), ("", "secret"));
    }

    #[test]
    fn authzid_is_empty_or_the_user() {
        assert!(Credentials::with_authzid("", "user", "pw").is_some());
        let own = Credentials::with_authzid("user", "user", "pw").unwrap();
        assert_eq!((own.authzid(), own.username()), ("user", "user"));
        assert!(Credentials::with_authzid("admin", "user", "pw").is_none());
        assert!(Credentials::with_authzid("User", "user", "pw").is_none());
    }
}
