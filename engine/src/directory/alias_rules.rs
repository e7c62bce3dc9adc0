//! What a new alias may not be: one an account of the same address hides (mail to it
//! goes to the account, so the alias would never be used), or one that sends mail round
//! in a circle back to itself. Both are refused with the reason, where the operator makes
//! them, rather than found later in a bounce.

use std::collections::{BTreeSet, VecDeque};

use crate::address::Address;
use crate::store::{Alias, Store, StoreError};
use crate::{Engine, Error};

/// Addresses followed at most while looking for a loop: far more than any real directory
/// chains, and a bound on the work one command can cause.
const MAX_FOLLOWED: usize = 10_000;

impl<S: Store> Engine<S> {
    /// Refuses `alias` when an account hides it or it would form a loop.
    pub(crate) fn check_new_alias(&self, alias: &Alias) -> Result<(), Error> {
        if !alias.source.starts_with('@') && self.store.account(&alias.source)?.is_some() {
            return Err(Error::Invalid(format!(
                "{} is an account: its mail goes to its own mailboxes, and an alias of that \
                 address would never be used",
                alias.source
            )));
        }
        if let Some(path) = self.circle(alias)? {
            return Err(Error::Invalid(format!(
                "this alias would send mail round in a loop: {}",
                path.join(" -> ")
            )));
        }
        Ok(())
    }

    /// The way mail to `alias.target` would come back to `alias.source` with the alias
    /// added, if it would.
    fn circle(&self, alias: &Alias) -> Result<Option<Vec<String>>, StoreError> {
        // Each address reached, with the one it was reached from.
        let mut reached: Vec<(String, usize)> = vec![(alias.source.clone(), 0)];
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([(alias.target.clone(), 0)]);
        while let Some((address, from)) = queue.pop_front() {
            if reached.len() >= MAX_FOLLOWED {
                break;
            }
            let (node, next) = self.next_hops(&address, alias)?;
            reached.push((address.clone(), from));
            let here = reached.len() - 1;
            if node.as_deref() == Some(alias.source.as_str()) || address == alias.source {
                let mut path = vec![alias.source.clone()];
                let mut at = here;
                while at != 0 {
                    path.push(reached[at].0.clone());
                    at = reached[at].1;
                }
                path[1..].reverse();
                if address != alias.source {
                    path.push(alias.source.clone());
                }
                return Ok(Some(path));
            }
            for target in next {
                if seen.insert(target.clone()) {
                    queue.push_back((target, here));
                }
            }
        }
        Ok(None)
    }

    /// Where mail to `address` goes next, as routing decides it, with `added` counted as
    /// if it existed: nowhere for an account or another domain; else its aliases, its
    /// `+detail`-less address's, or its domain's catch-all (then named as the node).
    fn next_hops(
        &self,
        address: &str,
        added: &Alias,
    ) -> Result<(Option<String>, Vec<String>), StoreError> {
        let Ok(parsed) = Address::parse(address) else {
            return Ok((None, Vec::new()));
        };
        if !self.store.domain_exists(parsed.domain())? {
            return Ok((None, Vec::new()));
        }
        let targets = |source: &str| -> Result<Vec<String>, StoreError> {
            let mut targets = self.store.alias_targets(source)?;
            if added.source == source {
                targets.push(added.target.clone());
            }
            Ok(targets)
        };
        let mut candidates = vec![parsed.as_str().to_string()];
        if let Some(base) = parsed.without_detail() {
            candidates.push(base.as_str().to_string());
        }
        for candidate in &candidates {
            if self.store.account(candidate)?.is_some() {
                return Ok((None, Vec::new()));
            }
            let found = targets(candidate)?;
            if !found.is_empty() {
                return Ok((None, found));
            }
        }
        let catch_all = format!("@{}", parsed.domain());
        let found = targets(&catch_all)?;
        Ok((Some(catch_all), found))
    }
}
