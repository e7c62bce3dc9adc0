//! The DNS records a local domain needs so that mail reaches this server and is trusted,
//! and clients find it: MX, SPF, DKIM, DMARC, MTA-STS with TLS-RPT, the names of the
//! autoconfiguration and policy hosts, the SRV records of RFC 6186 and RFC 6764, and the
//! server's own addresses; and, for each, what DNS says of it now.

use std::collections::BTreeSet;
use std::future::Future;
use std::net::IpAddr;
use std::task::Poll;

use futures_lite::future::{block_on, poll_fn};
use sha2::{Digest, Sha256};

use super::{DnsError, MxAnswer, Resolver};
use crate::store::Store;
use crate::web::{Endpoint, MtaStsMode, Security, Service};
use crate::{Engine, Error};

/// A record to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// Fully qualified, with the final dot.
    pub name: String,
    /// `MX`, `TXT`, `CNAME`, `SRV`, `A/AAAA`.
    pub kind: &'static str,
    /// As a zone file writes it.
    pub value: String,
    /// What it is for.
    pub why: &'static str,
    check: Check,
}

/// How to tell whether DNS has a record.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Check {
    /// `host` is among the domain's exchangers.
    Mx { domain: String, host: String },
    /// `name` has the TXT record `exact`; one starting with `prefix` is of the same kind.
    Txt {
        name: String,
        prefix: String,
        exact: String,
    },
    /// `name` has addresses in common with `host`.
    SameAddresses { name: String, host: String },
    /// `host` has addresses.
    HasAddresses { host: String },
    /// The resolver has no question for it (SRV).
    Unchecked,
}

/// What DNS says of a wanted record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// As wanted.
    Matches,
    /// Something else is published in its place (the text says what).
    Differs(String),
    /// The name has these addresses (for the server's own name, whose addresses only the
    /// operator knows).
    Resolves(String),
    Missing,
    /// Not looked up: the resolver cannot ask for this type.
    Unchecked,
    /// The lookup failed (the text says why): try again later.
    Failed(String),
}

impl Found {
    /// A word for programs (`matches`, `differs`, `resolves`, `missing`, `unchecked`,
    /// `failed`) and what it found or why it failed.
    pub fn describe(&self) -> (&'static str, Option<&str>) {
        match self {
            Found::Matches => ("matches", None),
            Found::Differs(text) => ("differs", Some(text)),
            Found::Resolves(text) => ("resolves", Some(text)),
            Found::Missing => ("missing", None),
            Found::Unchecked => ("unchecked", None),
            Found::Failed(text) => ("failed", Some(text)),
        }
    }
}

impl<S: Store> Engine<S> {
    /// Every record the local `domain` needs.
    pub fn wanted_records(&self, domain: &str) -> Result<Vec<Wanted>, Error> {
        let domain = crate::address::normalize_domain(domain)?;
        if !self.store().domain_exists(&domain)? {
            return Err(crate::store::StoreError::NoSuchDomain(domain).into());
        }
        let host = self.hostname().trim_end_matches('.').to_ascii_lowercase();
        let web = self.web();
        let mut wanted = Vec::new();
        let mut add = |name: String, kind, value: String, why, check| {
            wanted.push(Wanted {
                name,
                kind,
                value,
                why,
                check,
            });
        };
        add(
            format!("{host}."),
            "A/AAAA",
            addresses_text(&web.endpoints),
            "this server's addresses, which every name below leads to",
            Check::HasAddresses { host: host.clone() },
        );
        add(
            format!("{domain}."),
            "MX",
            format!("10 {host}."),
            "mail for the domain comes here",
            Check::Mx {
                domain: domain.clone(),
                host: host.clone(),
            },
        );
        let (value, check) = txt(&domain, "v=spf1", "v=spf1 mx ~all");
        add(
            format!("{domain}."),
            "TXT",
            value,
            "SPF: the domain's mail leaves from its exchangers",
            check,
        );
        let dkim = self.dkim_keys(Some(&domain))?;
        for key in &dkim {
            if let Ok(record) = crate::dkim::DnsRecord::of(key) {
                let name = record.name.trim_end_matches('.');
                let (value, check) = txt(name, "v=DKIM1", &record.value);
                add(
                    record.name.clone(),
                    "TXT",
                    value,
                    "DKIM: the public key outgoing mail is signed with",
                    check,
                );
            }
        }
        let dmarc = format!("v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}");
        let (value, check) = txt(&format!("_dmarc.{domain}"), "v=DMARC1", &dmarc);
        add(
            format!("_dmarc.{domain}."),
            "TXT",
            value,
            "DMARC: what receivers do with mail that fails SPF and DKIM",
            check,
        );
        if web.mta_sts.mode != MtaStsMode::None {
            let id = policy_id(&host, web.mta_sts.mode, web.mta_sts.max_age);
            let sts = format!("v=STSv1; id={id}");
            let (value, check) = txt(&format!("_mta-sts.{domain}"), "v=STSv1", &sts);
            add(
                format!("_mta-sts.{domain}."),
                "TXT",
                value,
                "MTA-STS: senders fetch the policy (change the id when it changes)",
                check,
            );
            add(
                format!("mta-sts.{domain}."),
                "CNAME",
                format!("{host}."),
                "where the MTA-STS policy is served (the certificate must name it)",
                same_as(&format!("mta-sts.{domain}"), &host),
            );
            let report = format!("v=TLSRPTv1; rua=mailto:postmaster@{domain}");
            let (value, check) = txt(&format!("_smtp._tls.{domain}"), "v=TLSRPTv1", &report);
            add(
                format!("_smtp._tls.{domain}."),
                "TXT",
                value,
                "TLS-RPT: where senders report TLS failures",
                check,
            );
        }
        for name in ["autoconfig", "autodiscover"] {
            add(
                format!("{name}.{domain}."),
                "CNAME",
                format!("{host}."),
                "mail apps set themselves up from here",
                same_as(&format!("{name}.{domain}"), &host),
            );
        }
        for (service, endpoint) in srv_services(&web.endpoints) {
            add(
                format!("{service}._tcp.{domain}."),
                "SRV",
                format!("0 1 {} {host}.", endpoint.address.port()),
                "mail, calendar and contacts apps find the server (RFC 6186, RFC 6764)",
                Check::Unchecked,
            );
        }
        // Receivers look the sending address up backwards; the owner of the address block
        // (the hosting provider) publishes it, so there is nothing to check from here.
        add(
            "(each address above, reversed)".to_string(),
            "PTR",
            format!("{host}."),
            "receivers expect the address mail comes from to name this server",
            Check::Unchecked,
        );
        Ok(wanted)
    }

    /// What DNS says of each record now, all asked at once. Waits for the resolver (at
    /// most its timeout): runs on the blocking pool.
    pub fn check_records(&self, wanted: &[Wanted]) -> Vec<Found> {
        let resolver = self.resolver().as_ref();
        let mut lookups: Vec<_> = wanted
            .iter()
            .map(|w| Box::pin(check(resolver, &w.check)))
            .collect();
        let mut found: Vec<Option<Found>> = vec![None; wanted.len()];
        block_on(poll_fn(|cx| {
            for (slot, lookup) in found.iter_mut().zip(&mut lookups) {
                if slot.is_none()
                    && let Poll::Ready(result) = lookup.as_mut().poll(cx)
                {
                    *slot = Some(result);
                }
            }
            if found.iter().all(Option::is_some) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }));
        found.into_iter().flatten().collect()
    }
}

async fn check(resolver: &dyn Resolver, check: &Check) -> Found {
    match check {
        Check::Mx { domain, host } => match resolver.mx(domain).await {
            Ok(answer) => match answer.value {
                MxAnswer::Hosts(hosts) if hosts.iter().any(|h| h.host == *host) => Found::Matches,
                MxAnswer::Hosts(hosts) => {
                    let names: Vec<&str> = hosts.iter().map(|h| h.host.as_str()).collect();
                    Found::Differs(names.join(", "))
                }
                MxAnswer::NullMx => Found::Differs("a null MX: the domain takes no mail".into()),
                MxAnswer::NoMx | MxAnswer::NxDomain => Found::Missing,
            },
            Err(error) => Found::Failed(error.to_string()),
        },
        Check::Txt {
            name,
            prefix,
            exact,
        } => match resolver.txt(name).await {
            Ok(records) => {
                if records.iter().any(|r| r == exact) {
                    return Found::Matches;
                }
                // Another record of the kind (an SPF policy of its own) is shown as it is.
                match records.iter().find(|r| r.starts_with(prefix.as_str())) {
                    Some(other) => Found::Differs(other.clone()),
                    None => Found::Missing,
                }
            }
            Err(DnsError::NxDomain) => Found::Missing,
            Err(error) => Found::Failed(error.to_string()),
        },
        Check::SameAddresses { name, host } => {
            let (theirs, ours) = (
                resolver.addresses(name).await,
                resolver.addresses(host).await,
            );
            match (theirs, ours) {
                (Err(DnsError::NxDomain), _) => Found::Missing,
                (Ok(theirs), Ok(ours)) if theirs.value.iter().any(|ip| ours.value.contains(ip)) => {
                    Found::Matches
                }
                (Ok(theirs), _) if theirs.value.is_empty() => Found::Missing,
                (Ok(theirs), _) => Found::Differs(join(&theirs.value)),
                (Err(error), _) => Found::Failed(error.to_string()),
            }
        }
        Check::HasAddresses { host } => match resolver.addresses(host).await {
            Ok(found) if found.value.is_empty() => Found::Missing,
            Ok(found) => Found::Resolves(join(&found.value)),
            Err(DnsError::NxDomain) => Found::Missing,
            Err(error) => Found::Failed(error.to_string()),
        },
        Check::Unchecked => Found::Unchecked,
    }
}

/// A TXT record of `name` with the text `exact`, and its value as a zone file writes it:
/// quoted strings of at most 255 bytes (RFC 1035 §3.3.14), which readers join again.
fn txt(name: &str, prefix: &str, exact: &str) -> (String, Check) {
    let strings: Vec<String> = exact
        .as_bytes()
        .chunks(255)
        .map(|chunk| format!("\"{}\"", String::from_utf8_lossy(chunk)))
        .collect();
    let check = Check::Txt {
        name: name.to_string(),
        prefix: prefix.to_string(),
        exact: exact.to_string(),
    };
    (strings.join(" "), check)
}

fn same_as(name: &str, host: &str) -> Check {
    Check::SameAddresses {
        name: name.to_string(),
        host: host.to_string(),
    }
}

fn join(addresses: &[IpAddr]) -> String {
    let texts: Vec<String> = addresses.iter().map(IpAddr::to_string).collect();
    texts.join(", ")
}

/// The addresses listened on that the internet can reach, or what to put there.
fn addresses_text(endpoints: &[Endpoint]) -> String {
    let public: BTreeSet<IpAddr> = endpoints
        .iter()
        .map(|e| e.address.ip())
        .filter(|ip| !ip.is_unspecified() && !ip.is_loopback())
        .collect();
    if public.is_empty() {
        return "this server's public IPv4 and IPv6 addresses".to_string();
    }
    join(&public.into_iter().collect::<Vec<_>>())
}

/// The SRV service names of the endpoints clients use, each once: implicit TLS as RFC 8314
/// prefers, STARTTLS besides.
fn srv_services(endpoints: &[Endpoint]) -> Vec<(&'static str, &Endpoint)> {
    let mut found: Vec<(&'static str, &Endpoint)> = Vec::new();
    for endpoint in endpoints {
        let names: &[&'static str] = match (endpoint.service, endpoint.security) {
            (Service::Submission, Security::Tls) => &["_submissions"],
            (Service::Submission, _) => &["_submission"],
            (Service::Imap, Security::Tls) => &["_imaps"],
            (Service::Imap, _) => &["_imap"],
            (Service::Pop3, Security::Tls) => &["_pop3s"],
            (Service::Pop3, _) => &["_pop3"],
            (Service::Http, Security::Tls) => &["_caldavs", "_carddavs"],
            (Service::Http, _) => &["_caldav", "_carddav"],
            // RFC 5804 §1.8.
            (Service::ManageSieve, _) => &["_sieve"],
            (Service::Mx, _) => &[],
        };
        for &name in names {
            if !found.iter().any(|(n, _)| *n == name) {
                found.push((name, endpoint));
            }
        }
    }
    found
}

/// The `id` of the MTA-STS record: it must change whenever the policy does (RFC 8461 §3.1),
/// so it is made from the policy.
fn policy_id(host: &str, mode: MtaStsMode, max_age: u64) -> String {
    let digest = Sha256::digest(format!("{host} {mode:?} {max_age}").as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
