//! The resolver the engine holds: static answers first, then the network.

use std::net::IpAddr;
use std::sync::Arc;

use super::{DnsError, Lookup, MxAnswer, Resolver, Secured, StaticTable, Tlsa, normalize_name};

/// Answers a name from the [`StaticTable`] when it lists it, else from `upstream`. Static
/// answers count as DNSSEC-secure: the operator wrote them, no one on the network can. Without
/// an upstream (no network DNS configured, or it could not start), names outside the table
/// fail with a temporary error: a missing resolver proves nothing about a domain.
#[derive(Default)]
pub struct Overlay {
    table: StaticTable,
    upstream: Option<Arc<dyn Resolver>>,
}

impl Overlay {
    pub fn new(table: StaticTable, upstream: Option<Arc<dyn Resolver>>) -> Self {
        Overlay { table, upstream }
    }

    /// One lookup: `local` answers from the table, when it lists the name; `remote` asks
    /// the upstream otherwise.
    fn answer<'a, T: Send + 'a>(
        &'a self,
        name: &'a str,
        local: fn(&StaticTable, &str) -> Option<T>,
        remote: for<'b> fn(&'b dyn Resolver, &'b str) -> Lookup<'b, T>,
    ) -> Lookup<'a, T> {
        Box::pin(async move {
            let name = normalize_name(name)?;
            if let Some(answer) = local(&self.table, &name) {
                return Ok(answer);
            }
            match &self.upstream {
                Some(upstream) => remote(upstream.as_ref(), &name).await,
                None => Err(DnsError::Unavailable(format!(
                    "{name} is not in [dns.static] and no DNS server is configured"
                ))),
            }
        })
    }
}

impl Resolver for Overlay {
    fn mx<'a>(&'a self, domain: &'a str) -> Lookup<'a, Secured<MxAnswer>> {
        let local = |table: &StaticTable, name: &str| {
            let records = table.get(name)?;
            Some(Secured::new(records.mx_answer(), true))
        };
        self.answer(domain, local, |up, name| up.mx(name))
    }

    fn addresses<'a>(&'a self, host: &'a str) -> Lookup<'a, Secured<Vec<IpAddr>>> {
        let local = |table: &StaticTable, name: &str| {
            let records = table.get(name)?;
            Some(Secured::new(records.addresses(), true))
        };
        self.answer(host, local, |up, name| up.addresses(name))
    }

    fn txt<'a>(&'a self, name: &'a str) -> Lookup<'a, Vec<String>> {
        let local = |table: &StaticTable, name: &str| Some(table.get(name)?.txt.clone());
        self.answer(name, local, |up, name| up.txt(name))
    }

    fn tlsa<'a>(&'a self, name: &'a str) -> Lookup<'a, Secured<Vec<Tlsa>>> {
        let local =
            |table: &StaticTable, name: &str| Some(Secured::new(table.tlsa(name)?.to_vec(), true));
        self.answer(name, local, |up, name| up.tlsa(name))
    }

    fn ptr<'a>(&'a self, name: &'a str) -> Lookup<'a, Vec<String>> {
        let local = |table: &StaticTable, name: &str| Some(table.get(name)?.ptr.clone());
        self.answer(name, local, |up, name| up.ptr(name))
    }
}
