//! The real resolver: hickory, on a thread of its own.
//!
//! hickory's resolver needs a tokio reactor, and the server may run on smol. So one
//! dedicated thread owns a current-thread tokio runtime and the resolver; lookups reach it
//! through a bounded channel and each waits for its answer on a channel of its own. Any
//! runtime (or none: `block_on`) can await that, and no hidden reactor is needed.
//!
//! Everything a peer could drive is bounded: lookups in flight (past the bound a lookup
//! fails at once, temporarily), the time one lookup takes, and hickory's cache.

mod worker;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hickory_resolver::proto::rr::Name;

use super::{DnsError, Lookup, MxAnswer, Resolver, Secured, Tlsa, normalize_name};
use worker::Job;

/// How the network resolver is set up.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// Recursive name servers to ask (UDP, then TCP for truncated answers); `None`: those
    /// of `/etc/resolv.conf`.
    pub nameservers: Option<Vec<SocketAddr>>,
    /// The longest one lookup may take, retries included; then it fails temporarily.
    pub timeout: Duration,
    /// Lookups waiting for an answer at once; past it a lookup fails with
    /// [`DnsError::Busy`] without being sent.
    pub max_in_flight: usize,
    /// Answers hickory keeps (it honours their TTLs).
    pub cache_size: u64,
    /// Validate answers with DNSSEC, so that DANE can trust them. Off, nothing is secure
    /// and DANE is never used; for name servers that strip DNSSEC records.
    pub dnssec: bool,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            nameservers: None,
            timeout: Duration::from_secs(5),
            max_in_flight: 256,
            cache_size: 4096,
            dnssec: true,
        }
    }
}

/// The handle lookups go through; the DNS thread stops when it is dropped.
pub struct NetworkResolver {
    jobs: async_channel::Sender<Job>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: usize,
}

impl NetworkResolver {
    /// Starts the DNS thread and its resolver. Fails when the thread cannot start or there
    /// is no name server to ask (no `/etc/resolv.conf`, or none listed in it): the server
    /// then runs on static answers alone. Needs no network: a lookup without one fails
    /// temporarily.
    pub fn start(config: NetworkConfig) -> Result<Self, String> {
        let max_in_flight = config.max_in_flight.max(1);
        let (jobs, queue) = async_channel::bounded(max_in_flight);
        worker::spawn(config, queue)?;
        Ok(NetworkResolver {
            jobs,
            in_flight: Arc::new(AtomicUsize::new(0)),
            max_in_flight,
        })
    }

    /// Sends one question to the DNS thread and waits for its answer.
    fn ask<'a, T: Send + 'a>(
        &'a self,
        name: &'a str,
        job: fn(Name, Reply<T>) -> Job,
    ) -> Lookup<'a, T> {
        Box::pin(async move {
            let name = normalize_name(name)?;
            // The final dot: no search domains of resolv.conf are tried.
            let name = Name::from_ascii(format!("{name}."))
                .map_err(|e| DnsError::InvalidName(format!("{name:?}: {e}")))?;
            let permit = self.permit()?;
            let (sender, answer) = async_channel::bounded(1);
            let reply = Reply {
                sender,
                _permit: permit,
            };
            // Never full: the channel holds as many jobs as there are permits.
            self.jobs
                .try_send(job(name, reply))
                .map_err(|_| DnsError::Unavailable("the DNS thread has stopped".into()))?;
            answer
                .recv()
                .await
                .unwrap_or_else(|_| Err(DnsError::Unavailable("the DNS thread has stopped".into())))
        })
    }

    fn permit(&self) -> Result<Permit, DnsError> {
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_in_flight).then_some(n + 1)
            })
            .map_err(|_| DnsError::Busy)?;
        Ok(Permit(self.in_flight.clone()))
    }
}

impl Resolver for NetworkResolver {
    fn mx<'a>(&'a self, domain: &'a str) -> Lookup<'a, Secured<MxAnswer>> {
        self.ask(domain, Job::Mx)
    }

    fn addresses<'a>(&'a self, host: &'a str) -> Lookup<'a, Secured<Vec<IpAddr>>> {
        self.ask(host, Job::Addresses)
    }

    fn txt<'a>(&'a self, name: &'a str) -> Lookup<'a, Vec<String>> {
        self.ask(name, Job::Txt)
    }

    fn tlsa<'a>(&'a self, name: &'a str) -> Lookup<'a, Secured<Vec<Tlsa>>> {
        self.ask(name, Job::Tlsa)
    }

    fn ptr<'a>(&'a self, name: &'a str) -> Lookup<'a, Vec<String>> {
        self.ask(name, Job::Ptr)
    }
}

/// One of the lookups in flight; given back when the DNS thread is done with it, not when
/// the caller stops waiting, so abandoned lookups still count until they time out.
struct Permit(Arc<AtomicUsize>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Where a lookup's answer goes, holding the lookup's place in flight.
struct Reply<T> {
    sender: async_channel::Sender<Result<T, DnsError>>,
    _permit: Permit,
}

impl<T> Reply<T> {
    fn send(self, answer: Result<T, DnsError>) {
        // The one message of a channel of one; fails only when the caller stopped waiting.
        let _ = self.sender.try_send(answer);
    }
}
