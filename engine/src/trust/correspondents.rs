//! The domains each user wrote to. Greylisting lets a reply from one of them through at
//! once, as long as the sender proves where it comes from: its envelope sender passes SPF,
//! or the message carries a passing DKIM signature of the domain. A stranger claiming to
//! be a correspondent is greylisted like anyone else.

use crate::Engine;
use crate::address::Address;
use crate::mail::date::unix_now;
use crate::store::{AccountId, Store};

/// Domains an account keeps, the ones it wrote to most recently.
pub const KEEP: usize = 1_000;
/// A domain written to again is recorded again after this long, in seconds: often enough
/// to keep the most recent ones, rarely enough not to write for every message.
const RECORD_EVERY: i64 = 24 * 3600;

impl<S: Store> Engine<S> {
    /// Notes that `user` (logged in) sent a message to `recipients` in other domains. A
    /// failure to record is logged: it costs a greylisted reply at worst.
    pub fn note_correspondents<'a>(&self, user: &str, recipients: impl Iterator<Item = &'a str>) {
        let account = match self.store.account(user) {
            Ok(Some(account)) => account.id,
            Ok(None) => return,
            Err(error) => {
                tracing::error!(%error, "cannot read an account to note whom it wrote to");
                return;
            }
        };
        let now = unix_now();
        let mut due: Vec<String> = Vec::new();
        for domain in recipients.filter_map(domain_of) {
            if due.contains(&domain) {
                continue;
            }
            match self.store.correspondent(account, &domain) {
                Ok(Some(last)) if now - last < RECORD_EVERY => {}
                Ok(_) => due.push(domain),
                Err(error) => {
                    tracing::error!(%error, "cannot read whom an account wrote to");
                    return;
                }
            }
        }
        if due.is_empty() {
            return;
        }
        if let Err(error) = self.store.note_correspondents(account, &due, now, KEEP) {
            tracing::error!(%error, "cannot note whom an account wrote to");
        }
    }

    /// The domain of `mail_from`, or of one of its parents, that one of `accounts` wrote to:
    /// mail from `bounces.example.com` is a correspondent's when the user wrote to
    /// `example.com`. `None` for the null sender and for strangers.
    pub fn correspondent_domain(&self, accounts: &[AccountId], mail_from: &str) -> Option<String> {
        let mut domain = domain_of(mail_from)?;
        loop {
            for &account in accounts {
                match self.store.correspondent(account, &domain) {
                    Ok(Some(_)) => return Some(domain),
                    Ok(None) => {}
                    Err(error) => {
                        tracing::error!(%error, "cannot read whom an account wrote to");
                        return None;
                    }
                }
            }
            // Parents down to two labels: nobody writes to a public suffix itself.
            let (_, parent) = domain.split_once('.')?;
            if !parent.contains('.') {
                return None;
            }
            domain = parent.to_string();
        }
    }
}

/// Whether a passing DKIM signature of `signer` (`d=`) vouches for mail of the
/// correspondent `domain`: the domain itself or one of its subdomains signed it.
pub fn signs_for(signer: &str, domain: &str) -> bool {
    signer.eq_ignore_ascii_case(domain)
        || signer
            .to_ascii_lowercase()
            .strip_suffix(&domain.to_ascii_lowercase())
            .is_some_and(|sub| sub.ends_with('.'))
}

/// The lower-cased domain of an address; `None` without one.
fn domain_of(address: &str) -> Option<String> {
    let address = Address::parse(address).ok()?;
    let domain = address.domain();
    (!domain.is_empty()).then(|| domain.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_and_its_subdomains_sign_for_it() {
        assert!(signs_for("example.com", "example.com"));
        assert!(signs_for("Mail.Example.com", "example.com"));
        assert!(!signs_for("badexample.com", "example.com"));
        assert!(!signs_for("com", "example.com"));
    }
}
