//! The DNS thread: a current-thread tokio runtime that owns hickory's resolver and answers
//! each job in a task of its own.

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError as HickoryError, NetError, NoRecords};
use hickory_resolver::proto::dnssec::Proof;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::{Resolver, TokioResolver};

use super::{NetworkConfig, Reply};
use crate::dns::{DnsError, MxAnswer, MxHost, Secured, Tlsa, answer::ROOT};

/// A question for the DNS thread, with where its answer goes.
pub(super) enum Job {
    Mx(Name, Reply<Secured<MxAnswer>>),
    Addresses(Name, Reply<Secured<Vec<IpAddr>>>),
    Txt(Name, Reply<Vec<String>>),
    Tlsa(Name, Reply<Secured<Vec<Tlsa>>>),
    Ptr(Name, Reply<Vec<String>>),
}

/// Starts the thread and waits until its resolver is built, so that a configuration
/// without name servers is reported to the caller rather than per lookup.
pub(super) fn spawn(
    config: NetworkConfig,
    jobs: async_channel::Receiver<Job>,
) -> Result<(), String> {
    let (ready, started) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("postern-dns".into())
        .spawn(move || run(config, jobs, ready))
        .map_err(|e| format!("cannot start the DNS thread: {e}"))?;
    started
        .recv()
        .unwrap_or_else(|_| Err("the DNS thread stopped while starting".into()))
}

fn run(
    config: NetworkConfig,
    jobs: async_channel::Receiver<Job>,
    ready: std::sync::mpsc::SyncSender<Result<(), String>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready.send(Err(format!("cannot start the DNS runtime: {e}")));
            return;
        }
    };
    runtime.block_on(async move {
        // Built inside the runtime: hickory spawns its connections' tasks onto it.
        let resolver = match build(&config) {
            Ok(resolver) => resolver,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        // Lookups asked meanwhile wait in the channel, at most one lookup's time.
        let resolver = match config.dnssec {
            true => validating_or_not(&config, resolver).await,
            false => resolver,
        };
        // Ends when the NetworkResolver is dropped; dropping the runtime then cancels the
        // lookups still running.
        while let Ok(job) = jobs.recv().await {
            tokio::spawn(answer(resolver.clone(), config.timeout, job));
        }
    });
}

/// `resolver`, which validates, if validation works through the name servers; else one that
/// does not. Some name servers (stub resolvers, some home routers) strip the signatures
/// DNSSEC needs: every validated answer would then be bogus, and all outbound mail would
/// wait. The root's DNSKEY set, signed by the trust anchor hickory carries, is asked for:
/// proven secure, validation stays on; any other answer turns it off, and DANE with it,
/// with a warning; no answer at all (the network is down) leaves it on.
async fn validating_or_not(config: &NetworkConfig, resolver: TokioResolver) -> TokioResolver {
    let probe = within(
        config.timeout,
        records(&resolver, Name::root(), RecordType::DNSKEY),
    );
    let why = match probe.await {
        Ok(answer) if answer.secure => return resolver,
        Err(DnsError::Timeout | DnsError::Unavailable(_)) => return resolver,
        Ok(_) => "the root's keys came without signatures".to_string(),
        Err(error) => error.to_string(),
    };
    let plain = NetworkConfig {
        dnssec: false,
        ..config.clone()
    };
    match build(&plain) {
        Ok(plain) => {
            tracing::warn!(
                %why,
                "the name servers do not pass DNSSEC through, so answers cannot be validated: \
                 DANE is off (use a validating resolver, or set [dns] dnssec = false to say so)"
            );
            plain
        }
        Err(_) => resolver,
    }
}

fn build(config: &NetworkConfig) -> Result<TokioResolver, String> {
    let provider = TokioRuntimeProvider::default();
    let mut builder = match &config.nameservers {
        Some(servers) => {
            let servers = servers
                .iter()
                .map(|addr| {
                    let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                    for connection in &mut server.connections {
                        connection.port = addr.port();
                    }
                    server
                })
                .collect();
            Resolver::builder_with_config(ResolverConfig::from_name_servers(servers), provider)
        }
        None => Resolver::builder(provider).map_err(|e| {
            format!(
                "cannot read the system's DNS configuration (/etc/resolv.conf): {e}; \
                 list name servers in [dns] nameservers"
            )
        })?,
    };
    let options = builder.options_mut();
    // A first try and one retry (hickory's `attempts` counts retries) fit in one lookup's
    // time, so a lost UDP datagram is sent again.
    options.timeout = config.timeout / 2;
    options.attempts = 1;
    options.cache_size = config.cache_size;
    // DNSSEC from the root's trust anchor, which hickory carries: every record comes back
    // marked secure, insecure or bogus, and DANE uses only secure ones.
    options.validate = config.dnssec;
    // Mail is routed by DNS alone; [dns.static] is where local names go.
    options.use_hosts_file = ResolveHosts::Never;
    // hickory's own per-connection bound must not refuse what ours admits (an address
    // lookup is two queries).
    options.max_active_requests = options
        .max_active_requests
        .max(config.max_in_flight.saturating_mul(2));
    builder
        .build()
        .map_err(|e| format!("cannot set up the DNS resolver: {e}"))
}

async fn answer(resolver: TokioResolver, limit: Duration, job: Job) {
    match job {
        Job::Mx(name, reply) => reply.send(within(limit, mx(&resolver, name)).await),
        Job::Addresses(name, reply) => reply.send(within(limit, addresses(&resolver, name)).await),
        Job::Txt(name, reply) => reply.send(within(limit, txt(&resolver, name)).await),
        Job::Tlsa(name, reply) => reply.send(within(limit, tlsa(&resolver, name)).await),
        Job::Ptr(name, reply) => reply.send(within(limit, ptr(&resolver, name)).await),
    }
}

async fn within<T>(
    limit: Duration,
    lookup: impl Future<Output = Result<T, DnsError>>,
) -> Result<T, DnsError> {
    tokio::time::timeout(limit, lookup)
        .await
        .unwrap_or(Err(DnsError::Timeout))
}

async fn mx(resolver: &TokioResolver, name: Name) -> Result<Secured<MxAnswer>, DnsError> {
    let lookup = match resolver.lookup(name, RecordType::MX).await {
        Ok(lookup) => lookup,
        Err(e) => {
            let (negative, secure) = negative(e)?;
            let answer = match negative {
                Negative::NoData => MxAnswer::NoMx,
                Negative::NxDomain => MxAnswer::NxDomain,
            };
            return Ok(Secured::new(answer, secure));
        }
    };
    let secure = proven(lookup.answers())?;
    let records = lookup
        .answers()
        .iter()
        .filter_map(|record| match &record.data {
            RData::MX(mx) => Some(MxHost {
                preference: mx.preference,
                host: host_name(&mx.exchange),
            }),
            _ => None,
        });
    Ok(Secured::new(
        MxAnswer::from_records(records.collect()),
        secure,
    ))
}

/// AAAA and A asked together. Addresses of either kind are an answer even if the other
/// lookup failed: the caller can deliver to them. Secure only when both answers are.
async fn addresses(resolver: &TokioResolver, name: Name) -> Result<Secured<Vec<IpAddr>>, DnsError> {
    let (v6, v4) = futures_lite::future::zip(
        records(resolver, name.clone(), RecordType::AAAA),
        records(resolver, name, RecordType::A),
    )
    .await;
    let mut found = Vec::new();
    let mut secure = true;
    let mut failure = None;
    for result in [v6, v4] {
        match result {
            Ok(data) => {
                secure &= data.secure;
                found.extend(data.value.iter().filter_map(|data| match data {
                    RData::AAAA(v6) => Some(IpAddr::V6(v6.0)),
                    RData::A(v4) => Some(IpAddr::V4(v4.0)),
                    _ => None,
                }));
            }
            // A temporary failure outweighs NXDOMAIN: the domain may exist after all.
            Err(e)
                if failure
                    .as_ref()
                    .is_none_or(|f: &DnsError| !f.is_temporary()) =>
            {
                secure = false;
                failure = Some(e)
            }
            Err(_) => secure = false,
        }
    }
    match failure {
        Some(e) if found.is_empty() => Err(e),
        _ => Ok(Secured::new(found, secure)),
    }
}

async fn txt(resolver: &TokioResolver, name: Name) -> Result<Vec<String>, DnsError> {
    let data = records(resolver, name, RecordType::TXT).await?;
    let strings = data.value.iter().filter_map(|data| match data {
        RData::TXT(txt) => {
            let bytes: Vec<u8> = txt
                .txt_data
                .iter()
                .flat_map(|s| s.iter())
                .copied()
                .collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        _ => None,
    });
    Ok(strings.collect())
}

async fn ptr(resolver: &TokioResolver, name: Name) -> Result<Vec<String>, DnsError> {
    let data = records(resolver, name, RecordType::PTR).await?;
    let names = data.value.iter().filter_map(|data| match data {
        RData::PTR(ptr) => Some(ptr.0.to_ascii().trim_end_matches('.').to_ascii_lowercase()),
        _ => None,
    });
    Ok(names.collect())
}

/// TLSA records; a name that does not exist has none (RFC 7672 §2.2).
async fn tlsa(resolver: &TokioResolver, name: Name) -> Result<Secured<Vec<Tlsa>>, DnsError> {
    let data = match records(resolver, name, RecordType::TLSA).await {
        Err(DnsError::NxDomain) => return Ok(Secured::new(Vec::new(), false)),
        other => other?,
    };
    let found = data.value.iter().filter_map(|data| match data {
        RData::TLSA(tlsa) => Some(Tlsa {
            usage: tlsa.cert_usage.into(),
            selector: tlsa.selector.into(),
            matching: tlsa.matching.into(),
            data: tlsa.cert_data.clone(),
        }),
        _ => None,
    });
    Ok(Secured::new(found.collect(), data.secure))
}

/// The answer's data, empty for NOERROR without data; NXDOMAIN is an error.
async fn records(
    resolver: &TokioResolver,
    name: Name,
    kind: RecordType,
) -> Result<Secured<Vec<RData>>, DnsError> {
    match resolver.lookup(name, kind).await {
        Ok(lookup) => {
            let secure = proven(lookup.answers())?;
            let data = lookup.answers().iter().map(|r| r.data.clone()).collect();
            Ok(Secured::new(data, secure))
        }
        Err(e) => match negative(e)? {
            (Negative::NoData, secure) => Ok(Secured::new(Vec::new(), secure)),
            (Negative::NxDomain, _) => Err(DnsError::NxDomain),
        },
    }
}

/// Whether DNSSEC vouches for every record of an answer. A bogus record fails the lookup:
/// forged or broken, it must not be used (RFC 4035 §5.5). Without validation every record
/// is indeterminate, so nothing is secure.
fn proven(records: &[Record]) -> Result<bool, DnsError> {
    if records.iter().any(|record| record.proof == Proof::Bogus) {
        return Err(DnsError::Bogus);
    }
    Ok(!records.is_empty() && records.iter().all(|record| record.proof == Proof::Secure))
}

/// A definite answer that there are no records.
enum Negative {
    /// The name exists, without records of the type asked.
    NoData,
    NxDomain,
}

/// What hickory's error means: a [`Negative`] answer and whether DNSSEC proved it, or a
/// failure (all of them temporary).
fn negative(error: NetError) -> Result<(Negative, bool), DnsError> {
    match error {
        NetError::Dns(HickoryError::NoRecordsFound(NoRecords {
            response_code: ResponseCode::NXDomain,
            ..
        }))
        | NetError::Dns(HickoryError::ResponseCode(ResponseCode::NXDomain)) => {
            Ok((Negative::NxDomain, false))
        }
        NetError::Dns(HickoryError::NoRecordsFound(_)) => Ok((Negative::NoData, false)),
        // A denial that came with NSEC or NSEC3 records, validated.
        NetError::Dns(HickoryError::Nsec {
            response, proof, ..
        }) => {
            if !matches!(proof, Proof::Secure | Proof::Insecure) {
                return Err(DnsError::Bogus);
            }
            let negative = match response.metadata.response_code {
                ResponseCode::NXDomain => Negative::NxDomain,
                _ => Negative::NoData,
            };
            Ok((negative, proof == Proof::Secure))
        }
        NetError::Dns(HickoryError::DnssecBogus) => Err(DnsError::Bogus),
        NetError::Dns(HickoryError::ResponseCode(code)) => Err(DnsError::Server(code.to_string())),
        NetError::Timeout => Err(DnsError::Timeout),
        other => Err(DnsError::Unavailable(other.to_string())),
    }
}

/// An exchange's name as the rest of the engine compares names: lower case, no final dot.
fn host_name(name: &Name) -> String {
    if name.is_root() {
        return ROOT.to_string();
    }
    let text = name.to_ascii().to_ascii_lowercase();
    match text.strip_suffix('.') {
        Some(bare) => bare.to_string(),
        None => text,
    }
}
