//! Whose addresses a logged-in user may send as: an address is theirs when mail to it
//! reaches their account — their own address (with any `+detail`), an alias leading to
//! them, a catch-all they receive — or when the operator granted it (`[security.send_as]`:
//! a relay client sending for others, an outside address of the user's). Checked on the
//! envelope sender (`MAIL FROM`) and on every `From:` address of what they submit, as
//! Postfix's `reject_sender_login_mismatch` does with a login map made of the same aliases.

use std::collections::{BTreeMap, HashMap};

use mail_parser::MessageParser;
use proto_smtp::Reply;

use super::routing::store_failure;
use crate::Engine;
use crate::address::Address;
use crate::store::{Store, StoreError};

/// Addresses granted to users beyond their own, by user.
#[derive(Debug, Default)]
pub struct Grants(HashMap<String, Vec<Grant>>);

/// One grant: any address, any address of a domain, or one address.
#[derive(Debug, PartialEq, Eq)]
enum Grant {
    Any,
    Domain(String),
    Address(String),
}

impl Grants {
    /// From the configuration's form: user → `"*"`, `"@domain"` or addresses.
    pub fn new(config: &BTreeMap<String, Vec<String>>) -> Self {
        let grants = config.iter().map(|(user, granted)| {
            let granted = granted.iter().map(|text| {
                let text = text.trim().to_lowercase();
                match text.strip_prefix('@') {
                    _ if text == "*" => Grant::Any,
                    Some(domain) => Grant::Domain(domain.to_string()),
                    None => Grant::Address(text),
                }
            });
            (user.trim().to_lowercase(), granted.collect())
        });
        Grants(grants.collect())
    }

    fn allow(&self, user: &Address, address: &Address) -> bool {
        let Some(granted) = self.0.get(user.as_str()) else {
            return false;
        };
        granted.iter().any(|grant| match grant {
            Grant::Any => true,
            Grant::Domain(domain) => address.domain() == domain,
            Grant::Address(granted) => address.as_str() == granted,
        })
    }
}

impl<S: Store> Engine<S> {
    /// Lets users send as the addresses `[security.send_as]` grants them.
    pub fn set_send_as(&mut self, config: &BTreeMap<String, Vec<String>>) {
        self.send_as = Grants::new(config);
    }

    /// Whether `user` (logged in) may use `address` as a sender. The null sender is
    /// anyone's (bounces and notifications).
    pub fn may_send_as(&self, user: &str, address: &str) -> Result<bool, StoreError> {
        if address.is_empty() {
            return Ok(true);
        }
        let (Ok(user), Ok(address)) = (Address::parse(user), Address::parse(address)) else {
            return Ok(false);
        };
        if self.send_as.allow(&user, &address) {
            return Ok(true);
        }
        let Some(account) = self.store.account(user.as_str())? else {
            return Ok(false);
        };
        Ok(self.local_accounts(&address)?.contains(&account.id))
    }

    /// Decides a logged-in user's `MAIL FROM`: `None` to accept, else the refusal.
    pub fn check_envelope_sender(&self, user: &str, sender: &str) -> Option<Reply> {
        match self.may_send_as(user, sender) {
            Ok(true) => None,
            Ok(false) => {
                tracing::warn!(user, sender, "sender address refused: not the user's");
                Some(Reply::new(
                    553,
                    (5, 7, 1),
                    format!("Sender address rejected: not owned by user {user}"),
                ))
            }
            Err(e) => Some(store_failure(&e)),
        }
    }

    /// Decides the `From:` of what a logged-in user submits (`header`: its header section,
    /// `None` if it was too long to keep): `None` to accept, else the refusal.
    pub fn check_author(&self, user: &str, header: Option<&[u8]>) -> Option<Reply> {
        let Some(header) = header else {
            return Some(Reply::new(
                552,
                (5, 3, 4),
                "Message header too large to check its From: address",
            ));
        };
        for author in authors(header) {
            match self.may_send_as(user, &author) {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(user, author, "message refused: its From: is not the user's");
                    return Some(Reply::new(
                        550,
                        (5, 7, 1),
                        format!("From: address {author} not owned by user {user}"),
                    ));
                }
                Err(e) => return Some(store_failure(&e)),
            }
        }
        None
    }
}

/// Every address of the `From:` fields of a header section (groups included); a `From:`
/// that names no address, or a message without one, has none.
fn authors(header: &[u8]) -> Vec<String> {
    let Some(message) = MessageParser::new().parse_headers(header) else {
        return Vec::new();
    };
    let mut addresses = Vec::new();
    for field in message.header_values(mail_parser::HeaderName::From) {
        if let Some(list) = field.as_address() {
            addresses.extend(list.iter().filter_map(|a| a.address().map(str::to_string)));
        }
    }
    addresses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_name_addresses_domains_or_anything() {
        let config = BTreeMap::from([
            ("Relay@Example.com".to_string(), vec!["*".to_string()]),
            (
                "ann@example.com".to_string(),
                vec!["@Example.ORG".to_string(), "ann@gmail.test".to_string()],
            ),
        ]);
        let grants = Grants::new(&config);
        let a = |text: &str| Address::parse(text).unwrap();
        assert!(grants.allow(&a("relay@example.com"), &a("anyone@anywhere.test")));
        assert!(grants.allow(&a("ann@example.com"), &a("boss@example.org")));
        assert!(grants.allow(&a("ann@example.com"), &a("Ann@Gmail.test")));
        assert!(!grants.allow(&a("ann@example.com"), &a("ann@other.test")));
        assert!(!grants.allow(&a("bob@example.com"), &a("bob@example.org")));
    }

    #[test]
    fn every_from_address_is_found() {
        let header = b"Subject: x\r\nFrom: Ann <ann@example.org>, bob@example.org\r\n\
                       From: team: carol@example.org;\r\nTo: x@y\r\n";
        assert_eq!(
            authors(header),
            ["ann@example.org", "bob@example.org", "carol@example.org"]
        );
        assert!(authors(b"Subject: no author\r\n").is_empty());
        // A comment and folding do not hide the address.
        let folded = b"From: (the boss)\r\n <boss@example.org>\r\n";
        assert_eq!(authors(folded), ["boss@example.org"]);
    }
}
