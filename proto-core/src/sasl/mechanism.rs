//! The mechanisms we know, by the names clients use for them.

use std::fmt;

/// A SASL mechanism this crate can run. A protocol offers some of them: it
/// keeps its own list and refuses the others like unknown names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// RFC 4616: `authzid NUL authcid NUL password` in one response.
    Plain,
    /// The de-facto LOGIN mechanism (draft-murchison-sasl-login): user name
    /// and password in two responses. Outlook and old clients still use it.
    Login,
}

impl Mechanism {
    const ALL: [Self; 2] = [Self::Plain, Self::Login];

    /// Looks a mechanism up by name, ignoring case (RFC 4422 3.1).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|mechanism| mechanism.name().eq_ignore_ascii_case(name))
    }

    /// The registered name, in upper case.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::Login => "LOGIN",
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Mechanism names separated by spaces, as SMTP's `AUTH` EHLO keyword and
/// POP3's `SASL` capability list them.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a>(pub &'a [Mechanism]);

impl fmt::Display for Names<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, mechanism) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(mechanism.name())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(Mechanism::from_name("plain"), Some(Mechanism::Plain));
        assert_eq!(Mechanism::from_name("LoGiN"), Some(Mechanism::Login));
        assert_eq!(Mechanism::from_name("CRAM-MD5"), None);
        assert_eq!(Mechanism::from_name(""), None);
        let offered = [Mechanism::Plain, Mechanism::Login];
        assert_eq!(Names(&offered).to_string(), "PLAIN LOGIN");
        assert_eq!(Names(&[]).to_string(), "");
    }
}
