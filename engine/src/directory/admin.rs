//! Administration of the directory: domains, accounts and aliases, with input checked and
//! normalized before it reaches the store. The CLI and the control socket both end here.

use super::password;
use super::password_rules::PasswordRules;
use crate::address::{Address, normalize_domain};
use crate::store::{Account, AccountChange, Alias, NewAccount, Store, StoreError};
use crate::{Engine, Error};

impl<S: Store> Engine<S> {
    pub fn add_domain(&self, name: &str) -> Result<String, Error> {
        let domain = normalize_domain(name)?;
        self.store.add_domain(&domain)?;
        Ok(domain)
    }

    pub fn remove_domain(&self, name: &str) -> Result<(), Error> {
        Ok(self.store.remove_domain(&normalize_domain(name)?)?)
    }

    pub fn domains(&self) -> Result<Vec<String>, Error> {
        Ok(self.store.domains()?)
    }

    /// What a new password must be ([`PasswordRules::default`] unless set).
    pub fn set_password_rules(&mut self, rules: PasswordRules) {
        self.password_rules = rules;
    }

    /// Creates an account with its default mailboxes; the domain must exist already. An
    /// `admin` may manage the server from the admin panel. Its password must meet the
    /// [`PasswordRules`].
    pub fn add_user(
        &self,
        email: &str,
        password: &str,
        quota: Option<u64>,
        admin: bool,
    ) -> Result<Account, Error> {
        let address = Address::parse(email)?;
        (self.password_rules)
            .check(address.as_str(), password)
            .map_err(Error::Invalid)?;
        Ok(self.store.create_account(NewAccount {
            email: address.to_string(),
            password_hash: password::hash(password).map_err(Error::Invalid)?,
            quota,
            admin,
        })?)
    }

    /// The account of `email`.
    pub fn user(&self, email: &str) -> Result<Account, Error> {
        let address = Address::parse(email)?;
        self.store
            .account(address.as_str())?
            .ok_or_else(|| Error::Store(StoreError::NotFound(format!("account {address}"))))
    }

    pub fn users(&self, domain: Option<&str>) -> Result<Vec<Account>, Error> {
        let domain = domain.map(normalize_domain).transpose()?;
        Ok(self.store.accounts(domain.as_deref())?)
    }

    /// Changes a password; the account's web sessions end.
    pub fn set_password(&self, email: &str, password: &str) -> Result<(), Error> {
        (self.password_rules)
            .check(email, password)
            .map_err(Error::Invalid)?;
        let hash = password::hash(password).map_err(Error::Invalid)?;
        self.change_user(email, AccountChange::PasswordHash(hash))
    }

    pub fn set_quota(&self, email: &str, quota: Option<u64>) -> Result<(), Error> {
        self.change_user(email, AccountChange::Quota(quota))
    }

    /// Makes `email` an administrator, or no longer one; its web sessions end, so none
    /// keeps a power it no longer has.
    pub fn set_admin(&self, email: &str, admin: bool) -> Result<(), Error> {
        self.change_user(email, AccountChange::Admin(admin))
    }

    /// Sets (or, with `None`, removes) the secret of the one-time codes the web pages ask
    /// the account for; its web sessions end.
    pub fn set_totp(&self, email: &str, secret: Option<Vec<u8>>) -> Result<(), Error> {
        self.change_user(email, AccountChange::Totp(secret))
    }

    /// Disables or enables an account; its web sessions end.
    pub fn set_disabled(&self, email: &str, disabled: bool) -> Result<(), Error> {
        self.change_user(email, AccountChange::Disabled(disabled))
    }

    /// Removes an account with its mail, and its API tokens and web sessions first: they
    /// must never reach a later account of the same address.
    pub fn remove_user(&self, email: &str) -> Result<(), Error> {
        let address = Address::parse(email)?;
        self.remove_tokens_of(address.as_str())?;
        self.panel.sessions.end_all_of(address.as_str());
        Ok(self.store.remove_account(address.as_str())?)
    }

    /// Changes an account; a change other than its quota ends its web sessions.
    fn change_user(&self, email: &str, change: AccountChange) -> Result<(), Error> {
        let address = Address::parse(email)?;
        let ends_sessions = !matches!(change, AccountChange::Quota(_));
        self.store.update_account(address.as_str(), change)?;
        if ends_sessions {
            self.panel.sessions.end_all_of(address.as_str());
        }
        Ok(())
    }

    /// Adds an alias. `source` is an address in a local domain or `@domain` (catch-all);
    /// `target` is any address.
    /// Adds an alias, unless an account hides it or it would form a loop
    /// (`alias_rules`). A target in another domain is forwarded to, its sender rewritten
    /// with SRS.
    pub fn add_alias(&self, source: &str, target: &str) -> Result<Alias, Error> {
        let alias = normalize_alias(source, target)?;
        let domain = source_domain(&alias.source);
        if !self.store.domain_exists(domain)? {
            return Err(crate::store::StoreError::NoSuchDomain(domain.to_string()).into());
        }
        self.check_new_alias(&alias)?;
        self.store.add_alias(&alias)?;
        Ok(alias)
    }

    pub fn remove_alias(&self, source: &str, target: &str) -> Result<(), Error> {
        Ok(self.store.remove_alias(&normalize_alias(source, target)?)?)
    }

    pub fn aliases(&self, domain: Option<&str>) -> Result<Vec<Alias>, Error> {
        let domain = domain.map(normalize_domain).transpose()?;
        Ok(self.store.aliases(domain.as_deref())?)
    }
}

fn normalize_alias(source: &str, target: &str) -> Result<Alias, Error> {
    let source = match source.strip_prefix('@') {
        Some(domain) => format!("@{}", normalize_domain(domain)?),
        None => Address::parse(source)?.to_string(),
    };
    let target = Address::parse(target)?.to_string();
    Ok(Alias { source, target })
}

/// The domain part of an alias source (`user@d` or `@d`).
fn source_domain(source: &str) -> &str {
    source.rsplit_once('@').map_or(source, |(_, d)| d)
}
