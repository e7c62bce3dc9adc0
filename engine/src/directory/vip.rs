//! Important senders: addresses a user marks so that their mail stands out. Each message
//! from one (by its `From:` field, else its envelope sender) is stored with the
//! `$Important` keyword (RFC 8457), which mail clients show as a flag or a star and which
//! Sieve and searches can look for.

use mail_parser::MessageParser;

use crate::address::Address;
use crate::sieve::Placement;
use crate::store::{AccountId, Store, StoreError};
use crate::{Engine, Error};

/// The keyword mail from an important sender gets (RFC 8457 §3).
pub const IMPORTANT: &str = "$Important";

/// Important senders an account may keep.
pub const MAX_PER_ACCOUNT: usize = 1000;

impl<S: Store> Engine<S> {
    /// `email`'s important senders, in order.
    pub fn vip_senders(&self, email: &str) -> Result<Vec<String>, Error> {
        let account = self.existing_account(email)?;
        Ok(self.store.vip_senders(account.id)?)
    }

    /// Marks `sender` as one of `email`'s important senders (`vip`), or no longer. Removing
    /// one that is not is `NotFound`.
    pub fn set_vip_sender(&self, email: &str, sender: &str, vip: bool) -> Result<String, Error> {
        let account = self.existing_account(email)?;
        let sender = Address::parse(sender)?.as_str().to_ascii_lowercase();
        if vip && self.store.vip_senders(account.id)?.len() >= MAX_PER_ACCOUNT {
            return Err(Error::Invalid(format!(
                "{email} has {MAX_PER_ACCOUNT} important senders, the most an account keeps"
            )));
        }
        let changed = self.store.set_vip_sender(account.id, &sender, vip)?;
        if !vip && !changed {
            let what = format!("{sender} among the important senders of {email}");
            return Err(StoreError::NotFound(what).into());
        }
        Ok(sender)
    }

    /// Adds `$Important` to each copy `placement` keeps when the message (its `header`,
    /// its envelope sender `from`) comes from one of `account`'s important senders.
    pub(crate) fn mark_important(
        &self,
        account: AccountId,
        header: &[u8],
        from: &str,
        placement: &mut Placement,
    ) -> Result<(), StoreError> {
        if placement.copies.is_empty() {
            return Ok(());
        }
        let mut senders = authors(header);
        if !from.is_empty() {
            senders.push(from.to_string());
        }
        if senders.is_empty() || !self.store.is_vip_sender(account, &senders)? {
            return Ok(());
        }
        for (_, _, keywords) in &mut placement.copies {
            if !keywords.iter().any(|k| k.eq_ignore_ascii_case(IMPORTANT)) {
                keywords.push(IMPORTANT.to_string());
            }
        }
        Ok(())
    }
}

/// The addresses of a header section's `From:` field (the Screener reads them too).
pub(crate) fn authors(header: &[u8]) -> Vec<String> {
    let Some(message) = MessageParser::new().parse_headers(header) else {
        return Vec::new();
    };
    message
        .from()
        .map(|from| {
            from.iter()
                .filter_map(|a| a.address().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authors_are_read_from_the_from_field() {
        let header = b"Subject: hi\r\nFrom: \"The Boss\" <Boss@Example.org>, x@y.test\r\n\r\n";
        assert_eq!(authors(header), ["Boss@Example.org", "x@y.test"]);
        assert!(authors(b"Subject: none\r\n\r\n").is_empty());
        assert!(authors(b"").is_empty());
    }
}
