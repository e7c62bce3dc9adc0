//! What a new password must be: long enough, not one of the passwords tried first by
//! anyone guessing, and not the address it protects. Checked wherever a password is chosen
//! (CLI, API, web pages); logins are never checked against it, so an older, weaker
//! password keeps working until it is changed.

/// The most used passwords in published leak corpora, lower-cased: guessers try these
/// first, whatever the length rule lets through.
const COMMON: &[&str] = &[
    "123456",
    "password",
    "12345678",
    "qwerty",
    "123456789",
    "12345",
    "1234",
    "111111",
    "1234567",
    "dragon",
    "123123",
    "baseball",
    "abc123",
    "football",
    "monkey",
    "letmein",
    "696969",
    "shadow",
    "master",
    "666666",
    "qwertyuiop",
    "123321",
    "mustang",
    "1234567890",
    "michael",
    "654321",
    "superman",
    "1qaz2wsx",
    "7777777",
    "121212",
    "000000",
    "qazwsx",
    "123qwe",
    "killer",
    "trustno1",
    "jordan",
    "jennifer",
    "zxcvbnm",
    "asdfgh",
    "hunter",
    "buster",
    "soccer",
    "harley",
    "batman",
    "andrew",
    "tigger",
    "sunshine",
    "iloveyou",
    "2000",
    "charlie",
    "robert",
    "thomas",
    "hockey",
    "ranger",
    "daniel",
    "starwars",
    "klaster",
    "112233",
    "george",
    "computer",
    "michelle",
    "jessica",
    "pepper",
    "1111",
    "zxcvbn",
    "555555",
    "11111111",
    "131313",
    "freedom",
    "777777",
    "pass",
    "maggie",
    "159753",
    "aaaaaa",
    "ginger",
    "princess",
    "joshua",
    "cheese",
    "amanda",
    "summer",
    "love",
    "ashley",
    "nicole",
    "chelsea",
    "biteme",
    "matthew",
    "access",
    "yankees",
    "987654321",
    "dallas",
    "austin",
    "thunder",
    "taylor",
    "matrix",
    "password1",
    "password12",
    "password123",
    "password1234",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "welcome",
    "welcome1",
    "welcome123",
    "admin",
    "admin123",
    "administrator",
    "root",
    "toor",
    "changeme",
    "secret",
    "letmein123",
    "qwerty123",
    "qwerty1234",
    "qwertyuiop123",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "1q2w3e4r5t6y",
    "q1w2e3r4t5",
    "0123456789",
    "0987654321",
    "1234567891",
    "12345678910",
    "123456789a",
    "a123456789",
    "abcd1234",
    "abcdefgh",
    "abcdefghij",
    "asdfghjkl",
    "asdfghjkl1",
    "zaq12wsx",
    "!qaz2wsx",
    "iloveyou1",
    "iloveyou12",
    "princess1",
    "sunshine1",
    "football1",
    "baseball1",
    "superman1",
    "michael1",
    "charlie1",
    "monkey123",
    "dragon123",
    "master123",
    "shadow123",
    "passwordpassword",
    "mailserver",
    "postmaster",
    "postern",
    "whatever",
    "trustno1!",
    "starwars1",
    "qwertyui",
    "q1w2e3r4",
    "1qaz2wsx3edc",
    "zxcvbnm123",
    "asdf1234",
];

/// The rules a new password must meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordRules {
    /// Fewest characters.
    pub min_length: usize,
    /// Refuse [`COMMON`] passwords, one character repeated, and the account's own address
    /// or its part before the `@`.
    pub refuse_guessable: bool,
}

impl Default for PasswordRules {
    fn default() -> Self {
        PasswordRules {
            min_length: 10,
            refuse_guessable: true,
        }
    }
}

/// Longest password accepted, in bytes: argon2 hashes any length, but a request carrying
/// megabytes of password is not a person choosing one.
const MAX_BYTES: usize = 1024;

impl PasswordRules {
    /// Why `password` may not protect `email`, in words for the person choosing it.
    pub fn check(&self, email: &str, password: &str) -> Result<(), String> {
        if password.is_empty() {
            return Err("the password must not be empty".into());
        }
        if password.len() > MAX_BYTES {
            return Err(format!("the password is longer than {MAX_BYTES} bytes"));
        }
        if password.chars().count() < self.min_length {
            return Err(format!(
                "the password is too short: use at least {} characters (a few words make a good one)",
                self.min_length
            ));
        }
        if self.refuse_guessable && guessable(email, password) {
            return Err(
                "the password is among the first ones anyone guessing tries: choose another".into(),
            );
        }
        Ok(())
    }
}

fn guessable(email: &str, password: &str) -> bool {
    let lower = password.to_lowercase();
    let mut chars = lower.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return true;
    }
    let email = email.to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    COMMON.contains(&lower.as_str()) || lower == email || (!local.is_empty() && lower == local)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const EMAIL: &str = "alice.wonder@example.org";

    #[test]
    fn short_common_and_own_passwords_are_refused_with_why() {
        let rules = PasswordRules::default();
        let refused = |password: &str| rules.check(EMAIL, password).unwrap_err();
        assert!(refused("").contains("empty"));
        assert!(refused("secret").contains("at least 10 characters"));
        assert!(refused("Password123").contains("anyone guessing"));
        assert!(refused("QWERTYUIOP").contains("anyone guessing"));
        assert!(refused("zzzzzzzzzzzz").contains("anyone guessing"));
        assert!(refused("Alice.Wonder@example.org").contains("anyone guessing"));
        assert!(refused("alice.wonder").contains("anyone guessing"));
        assert!(refused(&"ab".repeat(MAX_BYTES)).contains("longer than"));
        assert_eq!(rules.check(EMAIL, "correct horse battery"), Ok(()));
        // Characters, not bytes: ten letters of any script are ten.
        assert_eq!(rules.check(EMAIL, "éléphantsà"), Ok(()));
    }

    #[test]
    fn the_rules_are_the_operators() {
        let lax = PasswordRules {
            min_length: 4,
            refuse_guessable: false,
        };
        assert_eq!(lax.check(EMAIL, "secret"), Ok(()));
        assert!(lax.check(EMAIL, "abc").is_err());
    }

    #[test]
    fn the_list_is_lower_case_so_that_it_matches() {
        for password in COMMON {
            assert_eq!(*password, password.to_lowercase());
        }
    }

    proptest! {
        #[test]
        fn any_long_enough_uncommon_password_is_accepted(words in prop::collection::vec("[a-z]{5,8}", 3)) {
            let password = words.join(" ");
            prop_assert_eq!(PasswordRules::default().check(EMAIL, &password), Ok(()));
        }
    }
}
