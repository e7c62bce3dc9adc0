//! Validated tokens: command tags and atoms.

use std::borrow::Cow;
use std::fmt;

use crate::chars::{is_atom_char, is_tag_char};

/// Declares a string token whose characters are checked on construction,
/// so that every value can be written back as a bare token.
macro_rules! token {
    ($(#[$meta:meta])* $name:ident, $valid:path) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name<'a>(Cow<'a, str>);

        impl<'a> $name<'a> {
            /// Validates the token; `None` if it is empty or has a forbidden
            /// character.
            pub fn new(text: impl Into<Cow<'a, str>>) -> Option<Self> {
                let text = text.into();
                (!text.is_empty() && text.bytes().all($valid)).then_some(Self(text))
            }

            /// The token's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Copies the token so it can outlive the input it was parsed
            /// from (the session keeps those of commands that wait).
            pub fn into_owned(self) -> $name<'static> {
                $name(Cow::Owned(self.0.into_owned()))
            }
        }

        impl fmt::Display for $name<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// Copies borrowed data so that it can outlive its input; what `into_owned`
/// of the types holding `Cow`s is made of.
pub(crate) fn owned<T: ?Sized + ToOwned + 'static>(cow: Cow<'_, T>) -> Cow<'static, T> {
    Cow::Owned(cow.into_owned())
}

token!(
    /// A command tag (`tag = 1*<any ASTRING-CHAR except "+">`), echoed in the
    /// tagged response that completes the command.
    Tag,
    is_tag_char
);

token!(
    /// An atom (`1*ATOM-CHAR`): keywords, capability names, SASL mechanisms,
    /// quota resource names. Compared as given; IMAP atoms are
    /// case-insensitive where the protocol says so and that is the caller's
    /// business.
    Atom,
    is_atom_char
);

/// Declares a closed set of protocol keywords: `ALL` lists them, `name` gives
/// the wire spelling. The parser matches names case-insensitively against
/// `ALL` and the encoder writes `name`, so the two share one table.
macro_rules! keywords {
    ($(#[$meta:meta])* $vis:vis enum $ty:ident { $($(#[$vmeta:meta])* $variant:ident => $name:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $ty {
            $($(#[$vmeta])* $variant,)+
        }

        impl $ty {
            /// Every keyword of the set.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The keyword as written on the wire.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }
        }
    };
}
pub(crate) use keywords;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates() {
        assert!(Tag::new("a001").is_some());
        assert!(Tag::new("a]").is_some());
        assert!(Tag::new("a+").is_none());
        assert!(Tag::new("").is_none());
        assert!(Tag::new("a b").is_none());
        assert!(Atom::new("AUTH=PLAIN").is_some());
        assert!(Atom::new("a]").is_none());
        assert!(Atom::new("\u{e9}").is_none());
    }
}
