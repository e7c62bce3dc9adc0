//! What an operator does with DKIM keys: make or import them, list, remove, and get the DNS
//! records to publish. `postern dkim` ends here, from the CLI or the control socket.

use super::keys::{self, DnsRecord};
use super::{Algorithm, DkimKey};
use crate::address::normalize_domain;
use crate::store::{Store, StoreError};
use crate::{Engine, Error};

impl<S: Store> Engine<S> {
    /// Makes a key per algorithm for the local `domain` and stores each; a selector already
    /// taken stops them all before any is made. Without `selector`, each gets
    /// [`keys::default_selector`]; one selector names one key, so it goes with one algorithm.
    pub fn generate_dkim_keys(
        &self,
        domain: &str,
        selector: Option<&str>,
        algorithms: &[Algorithm],
        now: i64,
    ) -> Result<Vec<DkimKey>, Error> {
        let domain = self.local_domain(domain)?;
        if selector.is_some() && algorithms.len() > 1 {
            return Err(Error::Invalid(
                "one selector names one key: give --algorithm ed25519 or rsa with --selector"
                    .into(),
            ));
        }
        let selectors = algorithms
            .iter()
            .map(|&algorithm| match selector {
                Some(selector) => keys::normalize_selector(selector),
                None => Ok(keys::default_selector(algorithm, now)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let existing = self.store.dkim_keys(Some(&domain))?;
        if let Some(taken) = existing.iter().find(|k| selectors.contains(&k.selector)) {
            return Err(Error::Invalid(format!(
                "{} has a key already; choose another name with --selector",
                taken.record_name()
            )));
        }
        let mut made = Vec::new();
        for (&algorithm, selector) in algorithms.iter().zip(selectors) {
            made.push(DkimKey {
                domain: domain.clone(),
                selector,
                algorithm,
                private_key: keys::generate(algorithm)?,
                created: now,
            });
        }
        for key in &made {
            self.store.add_dkim_key(key)?;
            tracing::info!(domain = %key.domain, selector = %key.selector, algorithm = %key.algorithm, "DKIM key made");
        }
        Ok(made)
    }

    /// Stores a private key given in PEM form (see [`keys::import`]) as `selector` of the
    /// local `domain`.
    pub fn import_dkim_key(
        &self,
        domain: &str,
        selector: &str,
        pem: &str,
        now: i64,
    ) -> Result<DkimKey, Error> {
        let domain = self.local_domain(domain)?;
        let selector = keys::normalize_selector(selector)?;
        let (algorithm, private_key) = keys::import(pem)?;
        let key = DkimKey {
            domain,
            selector,
            algorithm,
            private_key,
            created: now,
        };
        self.store.add_dkim_key(&key)?;
        tracing::info!(domain = %key.domain, selector = %key.selector, algorithm = %key.algorithm, "DKIM key imported");
        Ok(key)
    }

    /// Every key, or those of one domain, by domain and selector.
    pub fn dkim_keys(&self, domain: Option<&str>) -> Result<Vec<DkimKey>, Error> {
        let domain = domain.map(normalize_domain).transpose()?;
        Ok(self.store.dkim_keys(domain.as_deref())?)
    }

    /// Removes one key: mail stops being signed with it at once; its DNS record may go once
    /// mail signed with it has been checked (a few days).
    pub fn remove_dkim_key(&self, domain: &str, selector: &str) -> Result<(), Error> {
        let domain = normalize_domain(domain)?;
        let selector = keys::normalize_selector(selector)?;
        self.store.remove_dkim_key(&domain, &selector)?;
        tracing::info!(%domain, %selector, "DKIM key removed");
        Ok(())
    }

    /// The TXT records that publish the domain's keys, with their keys.
    pub fn dkim_records(&self, domain: &str) -> Result<Vec<(DkimKey, DnsRecord)>, Error> {
        let domain = normalize_domain(domain)?;
        let keys = self.store.dkim_keys(Some(&domain))?;
        if keys.is_empty() {
            return Err(Error::Invalid(format!(
                "{domain} has no DKIM key; make them with `postern dkim generate --domain {domain}`"
            )));
        }
        keys.into_iter()
            .map(|key| DnsRecord::of(&key).map(|record| (key, record)))
            .collect()
    }

    /// `domain` normalized, if it is a local domain.
    fn local_domain(&self, domain: &str) -> Result<String, Error> {
        let domain = normalize_domain(domain)?;
        if !self.store.domain_exists(&domain)? {
            return Err(StoreError::NoSuchDomain(domain).into());
        }
        Ok(domain)
    }
}
