//! Password hashing: argon2id with OWASP's recommended parameters (19 MiB, t=2, p=1), stored
//! as PHC strings so parameters can be raised later without breaking old hashes.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Hashes a password for storage.
pub fn hash(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| format!("cannot hash password: {e}"))
}

/// A hash no password is checked against successfully in practice, with the parameters
/// of real ones: logins of unknown users and disabled accounts are checked against it, so
/// they cost what a wrong password costs and cannot be told apart by their timing.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let mut secret = [0u8; 32];
        // Without randomness the decoy is still as costly to check: that is its job.
        let _ = getrandom::fill(&mut secret);
        let text: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        hash(&text).unwrap_or_default()
    })
}

/// Checks a password against a stored PHC string; a malformed hash never verifies.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let stored = hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse", &stored));
        assert!(!verify("wrong horse", &stored));
    }

    #[test]
    fn the_decoy_is_a_real_hash() {
        assert!(decoy().starts_with("$argon2id$"));
        assert!(!verify("", decoy()));
        assert_eq!(decoy(), decoy(), "made once");
    }

    #[test]
    fn garbage_hash_never_verifies() {
        assert!(!verify("x", "not a phc string"));
        assert!(!verify("x", ""));
    }
}
