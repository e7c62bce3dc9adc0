//! Disposable aliases: addresses made up for a user (one per shop, newsletter, sign-up
//! form) that deliver to their account, each counted as it is used, and turned off in one
//! step when it draws spam; mail to one that is off is refused for good (`550 5.2.1`), as
//! to a disabled account. The address is random, in the user's own domain, so it tells
//! nothing about the user and cannot be guessed from another.

use crate::address::Address;
use crate::mail::date::unix_now;
use crate::store::{DisposableAlias, Store, StoreError};
use crate::{Engine, Error};

/// Disposable aliases an account may keep.
pub const MAX_PER_ACCOUNT: usize = 200;

/// The longest note, in characters.
const MAX_NOTE: usize = 200;

/// Characters of a made-up local part: lowercase letters and digits, 12 of them (about 62
/// bits), none of the look-alikes `0 1 l o`.
const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
const LENGTH: usize = 12;

impl<S: Store> Engine<S> {
    /// Makes a disposable alias for `email`'s account, in its domain, with `note` saying
    /// what it is for.
    pub fn new_disposable_alias(&self, email: &str, note: &str) -> Result<DisposableAlias, Error> {
        let account = self.existing_account(email)?;
        let note = note.trim();
        if note.chars().count() > MAX_NOTE || note.chars().any(char::is_control) {
            return Err(Error::Invalid(format!(
                "a note is one line of at most {MAX_NOTE} characters"
            )));
        }
        if self.store.disposable_aliases(account.id)?.len() >= MAX_PER_ACCOUNT {
            return Err(Error::Invalid(format!(
                "{email} has {MAX_PER_ACCOUNT} disposable aliases, the most an account keeps: \
                 remove one first"
            )));
        }
        let domain = Address::parse(&account.email)?.domain().to_string();
        // A collision is as likely as guessing 62 bits; try again all the same.
        for _ in 0..4 {
            let alias = DisposableAlias {
                address: format!("{}@{domain}", local_part()?),
                account: account.id,
                created: unix_now(),
                uses: 0,
                last_used: None,
                enabled: true,
                note: note.to_string(),
            };
            match self.store.add_disposable_alias(&alias) {
                Ok(()) => return Ok(alias),
                Err(StoreError::AlreadyExists(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Invalid(
            "no free address was found; try again".into(),
        ))
    }

    /// `email`'s disposable aliases, by address.
    pub fn disposable_aliases(&self, email: &str) -> Result<Vec<DisposableAlias>, Error> {
        let account = self.existing_account(email)?;
        Ok(self.store.disposable_aliases(account.id)?)
    }

    /// Turns the disposable alias `address` on or off. With `owner`, only if it is theirs
    /// (a user's own page or token); without, any (the administrator).
    pub fn set_disposable_alias_enabled(
        &self,
        owner: Option<&str>,
        address: &str,
        enabled: bool,
    ) -> Result<DisposableAlias, Error> {
        let missing = || StoreError::NotFound(format!("the disposable alias {address}"));
        let alias = self.store.disposable_alias(address)?.ok_or_else(missing)?;
        if let Some(owner) = owner
            && self.existing_account(owner)?.id != alias.account
        {
            return Err(missing().into());
        }
        self.store
            .set_disposable_alias_enabled(&alias.address, enabled)?;
        Ok(DisposableAlias { enabled, ..alias })
    }

    /// Whether `address` is a disposable alias (any case); a storage failure says no: it
    /// only decides whether a use is counted.
    pub(crate) fn is_disposable(&self, address: &str) -> bool {
        matches!(self.store.disposable_alias(address), Ok(Some(_)))
    }

    /// Counts a message accepted for the disposable alias `address`. A failure is logged:
    /// the count is not worth refusing mail for.
    pub(crate) fn note_disposable_use(&self, address: &str) {
        if let Err(error) = self.store.note_disposable_use(address, unix_now()) {
            tracing::warn!(address, %error, "cannot count a disposable alias's use");
        }
    }
}

/// A random local part of [`LENGTH`] characters of [`ALPHABET`].
fn local_part() -> Result<String, Error> {
    let mut random = [0u8; LENGTH];
    getrandom::fill(&mut random)
        .map_err(|e| Error::Invalid(format!("no randomness for an address: {e}")))?;
    // 32 characters: each byte's low five bits pick one, evenly.
    Ok(random
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_parts_are_random_and_plain() {
        let a = local_part().unwrap();
        let b = local_part().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), LENGTH);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
        assert_eq!(ALPHABET.len(), 32);
    }
}
