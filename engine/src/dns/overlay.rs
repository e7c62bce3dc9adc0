//! The resolver the engine holds: static answers first, then the network.

use std::net::IpAddr;
use std::sync::Arc;

use super::{DnsError, Lookup, MxAnswer, Resolver, StaticRecords, StaticTable, normalize_name};

/// Answers a name from the [`StaticTable`] when it lists it, else from `upstream`. Without
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

    /// One lookup: `local` answers from the table's records, `remote` asks the upstream.
    fn answer<'a, T: Send + 'a>(
        &'a self,
        name: &'a str,
        local: fn(&StaticRecords) -> T,
        remote: for<'b> fn(&'b dyn Resolver, &'b str) -> Lookup<'b, T>,
    ) -> Lookup<'a, T> {
        Box::pin(async move {
            let name = normalize_name(name)?;
            if let Some(records) = self.table.get(&name) {
                return Ok(local(records));
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
    fn mx<'a>(&'a self, domain: &'a str) -> Lookup<'a, MxAnswer> {
        self.answer(domain, StaticRecords::mx_answer, |up, name| up.mx(name))
    }

    fn addresses<'a>(&'a self, host: &'a str) -> Lookup<'a, Vec<IpAddr>> {
        self.answer(host, StaticRecords::addresses, |up, name| {
            up.addresses(name)
        })
    }

    fn txt<'a>(&'a self, name: &'a str) -> Lookup<'a, Vec<String>> {
        self.answer(name, |records| records.txt.clone(), |up, name| up.txt(name))
    }
}
