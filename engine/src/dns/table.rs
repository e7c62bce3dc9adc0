//! Answers the configuration gives: they replace DNS for the names they list.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::answer::ROOT;
use super::{DnsError, MxAnswer, MxHost, Tlsa, normalize_name};

/// The records the configuration gives one name. A type left empty has no records (NOERROR
/// without data): a listed name is never looked up in DNS, for any type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StaticRecords {
    /// A null MX (RFC 7505) is one host named `.`.
    pub mx: Vec<MxHost>,
    pub a: Vec<Ipv4Addr>,
    pub aaaa: Vec<Ipv6Addr>,
    /// One string per TXT record.
    pub txt: Vec<String>,
    /// The TLSA records of this host, for every port: they answer `_<port>._tcp.<name>`
    /// unless that name is listed itself.
    pub tlsa: Vec<Tlsa>,
    /// The names PTR records give, for an address's reverse name.
    pub ptr: Vec<String>,
}

impl StaticRecords {
    pub(super) fn mx_answer(&self) -> MxAnswer {
        MxAnswer::from_records(self.mx.clone())
    }

    /// AAAA before A, as a real lookup gives them.
    pub(super) fn addresses(&self) -> Vec<IpAddr> {
        let v6 = self.aaaa.iter().copied().map(IpAddr::from);
        v6.chain(self.a.iter().copied().map(IpAddr::from)).collect()
    }
}

/// Names and their [`StaticRecords`].
#[derive(Clone, Debug, Default)]
pub struct StaticTable {
    names: HashMap<String, StaticRecords>,
}

impl StaticTable {
    /// Adds `name` with its records. Refuses, saying why to the person who wrote the
    /// configuration, a name that is not a domain name, one already listed (in any case,
    /// with or without the final dot), an MX host that is not a domain name, and a null MX
    /// next to other MX hosts (RFC 7505 §3).
    pub fn insert(&mut self, name: &str, mut records: StaticRecords) -> Result<(), String> {
        let invalid = |e: DnsError| e.to_string();
        let key = normalize_name(name).map_err(invalid)?;
        if self.names.contains_key(&key) {
            return Err(format!("{name:?} is listed twice"));
        }
        for mx in &mut records.mx {
            if mx.host != ROOT {
                mx.host = normalize_name(&mx.host).map_err(invalid)?;
            }
        }
        if records.mx.len() > 1 && records.mx.iter().any(|mx| mx.host == ROOT) {
            return Err(format!(
                "{name:?} has a null MX (\".\") next to other MX hosts; a domain that accepts \
                 no mail lists \".\" alone"
            ));
        }
        self.names.insert(key, records);
        Ok(())
    }

    /// The records of `name`, written in any case, with or without the final dot; `None`
    /// when it is not listed (or is no domain name).
    pub fn get(&self, name: &str) -> Option<&StaticRecords> {
        self.names.get(&normalize_name(name).ok()?)
    }

    /// The TLSA records that answer `name` (`_<port>._tcp.<host>`): those of the name itself
    /// when it is listed, else those of `<host>` when it is; `None` when neither is.
    pub fn tlsa(&self, name: &str) -> Option<&[Tlsa]> {
        if let Some(records) = self.get(name) {
            return Some(&records.tlsa);
        }
        let mut labels = name.splitn(3, '.');
        let (port, tcp, host) = (labels.next()?, labels.next()?, labels.next()?);
        let is_port = port
            .strip_prefix('_')
            .is_some_and(|digits| digits.parse::<u16>().is_ok());
        if !is_port || !tcp.eq_ignore_ascii_case("_tcp") {
            return None;
        }
        self.get(host).map(|records| records.tlsa.as_slice())
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}
