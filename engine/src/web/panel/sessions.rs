//! Who is logged in to the web pages: a bounded table of sessions, each named by a random
//! secret the browser keeps in a cookie, with the CSRF token its forms carry. Sessions live
//! in memory (a restart logs everyone out) and end after [`LIFETIME`] or at log-out; past
//! [`MAX_SESSIONS`] the oldest is forgotten, so no number of logins grows the table.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// How long a session lasts from its login, in seconds.
pub const LIFETIME: i64 = 12 * 3600;

/// Sessions kept at most, server-wide.
pub const MAX_SESSIONS: usize = 1024;

/// A logged-in browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub email: String,
    /// Logged in as an administrator (the account's flag at login).
    pub admin: bool,
    /// What every form of this session sends back.
    pub csrf: String,
    /// Unix seconds.
    pub expires: i64,
}

/// The table, keyed by the SHA-256 digest of each session's secret: a memory dump shows no
/// cookie that could be replayed.
#[derive(Default)]
pub struct Sessions {
    table: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    /// Starts a session for `email` at `now`; returns the cookie's secret.
    pub fn start(&self, email: &str, admin: bool, now: i64) -> Option<String> {
        let secret = random()?;
        let session = Session {
            email: email.to_string(),
            admin,
            csrf: random()?,
            expires: now.saturating_add(LIFETIME),
        };
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.retain(|_, s| s.expires > now);
        if table.len() >= MAX_SESSIONS {
            let oldest = table
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(key, _)| *key);
            if let Some(oldest) = oldest {
                table.remove(&oldest);
            }
        }
        table.insert(digest(&secret), session);
        Some(secret)
    }

    /// The session of a cookie's secret, while it lasts.
    pub fn get(&self, secret: &str, now: i64) -> Option<Session> {
        let table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table
            .get(&digest(secret))
            .filter(|session| session.expires > now)
            .cloned()
    }

    /// Ends a session.
    pub fn end(&self, secret: &str) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.remove(&digest(secret));
    }

    /// Ends every session of `email` (its password changed, it was removed or disabled).
    pub fn end_all_of(&self, email: &str) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.retain(|_, session| !session.email.eq_ignore_ascii_case(email));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.table.lock().map(|t| t.len()).unwrap_or_default()
    }
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// 256 random bits, URL-safe.
fn random() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |differ, (x, y)| differ | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_end_at_logout_expiry_and_for_their_user() {
        let sessions = Sessions::default();
        let a = sessions.start("ann@example.org", true, 1000).unwrap();
        let b = sessions.start("bob@example.org", false, 1000).unwrap();
        let found = sessions.get(&a, 1001).unwrap();
        assert!(found.admin && found.email == "ann@example.org" && found.csrf.len() == 43);
        assert_eq!(sessions.get(&a, 1000 + LIFETIME), None, "expired");
        sessions.end(&b);
        assert_eq!(sessions.get(&b, 1001), None, "logged out");
        let c = sessions.start("ann@example.org", true, 1000).unwrap();
        sessions.end_all_of("ANN@example.org");
        assert_eq!(sessions.get(&c, 1001), None);
        assert_eq!(sessions.get("made-up", 1001), None);
    }

    #[test]
    fn the_table_never_grows_past_its_bound() {
        let sessions = Sessions::default();
        let first = sessions.start("u@example.org", false, 0).unwrap();
        for i in 1..=MAX_SESSIONS as i64 + 10 {
            sessions.start("u@example.org", false, i).unwrap();
        }
        assert_eq!(sessions.len(), MAX_SESSIONS);
        assert_eq!(sessions.get(&first, 1), None, "the oldest went first");
    }

    #[test]
    fn secrets_are_compared_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
