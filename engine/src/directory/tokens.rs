//! API tokens (`postern token create`): 256 random bits shown once as `pst_…`, kept only as
//! their SHA-256 digest. A token is its own proof, so checking one costs a hash and a
//! lookup, not argon2; guessing one is hopeless at any rate.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::address::Address;
use crate::mail::date::unix_now;
use crate::store::{ApiToken, Store, StoreError, TokenScope};
use crate::{Engine, Error};

/// What every secret starts with, so a leaked one is recognised (by people and secret
/// scanners) for what it is.
pub const PREFIX: &str = "pst_";

/// How a token is named in lists, logs and `token revoke`: the start of its digest, which
/// says nothing about the secret.
pub fn token_id(token: &ApiToken) -> String {
    token
        .digest
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a token's record is kept under: the SHA-256 digest of its secret.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

impl<S: Store> Engine<S> {
    /// Makes a token for `scope` (a user's must exist) and returns its secret, which is not
    /// kept, with its record.
    pub fn create_token(&self, scope: TokenScope, note: &str) -> Result<(String, ApiToken), Error> {
        let scope = match scope {
            TokenScope::Admin => TokenScope::Admin,
            TokenScope::User(email) => TokenScope::User(self.user(&email)?.email),
        };
        let mut random = [0u8; 32];
        getrandom::fill(&mut random)
            .map_err(|e| Error::Invalid(format!("no randomness for a token: {e}")))?;
        let secret = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(random));
        let token = ApiToken {
            digest: digest(&secret),
            scope,
            note: note.trim().to_string(),
            created: unix_now(),
        };
        self.store.put_token(&token)?;
        Ok((secret, token))
    }

    pub fn tokens(&self) -> Result<Vec<ApiToken>, Error> {
        Ok(self.store.tokens()?)
    }

    /// Forgets the token whose [`token_id`] starts with `id` (at least 6 characters, and
    /// only one token may match).
    pub fn revoke_token(&self, id: &str) -> Result<ApiToken, Error> {
        let id = id.trim().to_ascii_lowercase();
        if id.len() < 6 {
            return Err(Error::Invalid(
                "give at least 6 characters of the token's id".into(),
            ));
        }
        let mut matching = self
            .store
            .tokens()?
            .into_iter()
            .filter(|token| hex(token).starts_with(&id));
        let (Some(token), None) = (matching.next(), matching.next()) else {
            return Err(Error::Invalid(format!("no single token has the id {id}")));
        };
        self.store.remove_token(&token.digest)?;
        Ok(token)
    }

    /// Forgets every token of the user `email`.
    pub(crate) fn remove_tokens_of(&self, email: &str) -> Result<(), StoreError> {
        for token in self.store.tokens()? {
            if token.scope == TokenScope::User(email.to_string()) {
                self.store.remove_token(&token.digest)?;
            }
        }
        Ok(())
    }

    /// The token a request presents, if it is one: a user's token only while the account
    /// exists and is enabled.
    pub fn token_for(&self, secret: &str) -> Result<Option<ApiToken>, StoreError> {
        if !secret.starts_with(PREFIX) {
            return Ok(None);
        }
        let Some(token) = self.store.token(&digest(secret))? else {
            return Ok(None);
        };
        if let TokenScope::User(email) = &token.scope {
            let usable = Address::parse(email)
                .ok()
                .map(|address| self.store.account(address.as_str()))
                .transpose()?
                .flatten()
                .is_some_and(|account| !account.disabled);
            if !usable {
                return Ok(None);
            }
        }
        Ok(Some(token))
    }
}

/// The whole digest in hex.
fn hex(token: &ApiToken) -> String {
    token.digest.iter().map(|b| format!("{b:02x}")).collect()
}
