//! Who really sent a message arriving from outside: SPF (RFC 7208) on the envelope sender
//! and HELO name, DKIM (RFC 6376) on every signature, ARC (RFC 8617) on a chain, and DMARC
//! (RFC 7489) on the author's domain — checked with mail-auth, DNS asked through the
//! engine's [`Resolver`](crate::dns::Resolver). The results go into one
//! `Authentication-Results:` field (RFC 8601) under our hostname, and a failing message is
//! refused or sent to Junk as its author's domain asks, if our configuration agrees.
//!
//! Mail from clients that logged in, or from networks the operator trusts (loopback by
//! default, as Postfix's `mynetworks` and policyd-spf's `skip_addresses`), is not checked;
//! results claiming our name are removed from every message all the same ([`forged`]).

mod answers;
mod check;
pub mod correspondents;
pub mod dnsbl;
pub mod forged;
pub mod greylist;
pub mod rspamd;
mod spf;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use mail_auth::MessageAuthenticator;
use mail_auth::hickory_resolver::config::{ResolveHosts, ResolverConfig, ResolverOpts};

pub use check::{Checked, Disposition, Sender, check};
pub use spf::SpfCheck;

use proto_smtp::Reply;

use crate::Engine;
use crate::delivery::spool::SummarizingSpool;
use crate::io::Executor;
use crate::mail::date::unix_now;
use crate::store::{AccountId, Store, StoreError};

/// What the operator chose (`[security]`).
#[derive(Clone, Debug)]
pub struct SenderChecks {
    /// Check SPF, DKIM, ARC and DMARC on mail from outside.
    pub enabled: bool,
    /// Refuse mail that fails DMARC under a `p=reject` policy.
    pub dmarc_reject: bool,
    /// Deliver mail that fails DMARC under a `p=quarantine` policy to Junk.
    pub dmarc_quarantine: bool,
    /// Clients in these networks are not checked.
    pub trusted_networks: Vec<Network>,
    /// DNS blocklists (zones) whose clients are refused at `RCPT`.
    pub dnsbl: Vec<String>,
    /// The content scanner checked mail is shown to.
    pub rspamd: Option<rspamd::Rspamd>,
}

impl Default for SenderChecks {
    fn default() -> Self {
        SenderChecks {
            enabled: true,
            dmarc_reject: true,
            dmarc_quarantine: true,
            trusted_networks: vec![
                Network::from_str("127.0.0.0/8").expect("a valid network"),
                Network::from_str("::1/128").expect("a valid network"),
            ],
            dnsbl: Vec::new(),
            rspamd: None,
        }
    }
}

impl SenderChecks {
    /// Whether mail from `ip` is checked, for a client that did not log in.
    pub fn applies_to(&self, ip: IpAddr) -> bool {
        self.enabled && !self.trusts(ip)
    }

    /// Whether `ip` is in the trusted networks.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.trusted_networks.iter().any(|n| n.contains(ip))
    }

    /// What is done with a message, after our configuration: a policy the operator turned
    /// off delivers as usual.
    pub fn disposition(&self, asked: Disposition) -> Disposition {
        match asked {
            Disposition::Reject if self.dmarc_reject => Disposition::Reject,
            Disposition::Reject | Disposition::Quarantine if self.dmarc_quarantine => {
                Disposition::Quarantine
            }
            _ => Disposition::Accept,
        }
    }
}

/// mail-auth's checker. It would use this resolver only for questions its caches do not
/// answer, and [`check`] answers them all; so it is given no name server, and no hosts file
/// (reading `/etc/hosts` would block the async thread the first SPF check runs on).
pub fn authenticator() -> MessageAuthenticator {
    let config = ResolverConfig::from_name_servers(Vec::new());
    let mut options = ResolverOpts::default();
    options.use_hosts_file = ResolveHosts::Never;
    MessageAuthenticator::new(config, options)
        .expect("a resolver without name servers needs nothing from the system")
}

/// An IP network, `192.0.2.0/24` or `2001:db8::/32`; a bare address is a network of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    /// `address/prefix`; a prefix past the family's width is the whole address.
    pub fn new(address: IpAddr, prefix: u8) -> Self {
        let max = if address.is_ipv4() { 32 } else { 128 };
        Network {
            address,
            prefix: prefix.min(max),
        }
    }

    pub fn address(&self) -> IpAddr {
        self.address
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The same network with the host bits of its address cleared: one spelling per
    /// network (`192.0.2.7/24` is `192.0.2.0/24`).
    pub fn masked(self) -> Self {
        let address = match self.address {
            IpAddr::V4(v4) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4((u32::from(v4) & mask).into())
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(v6) & mask).into())
            }
        };
        Network { address, ..self }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn same_prefix(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let bits = |bytes: &[u8]| bytes.iter().fold(0u128, |n, &b| n << 8 | u128::from(b));
    let width = a.len() as u32 * 8;
    let shift = width.saturating_sub(u32::from(prefix));
    bits(a).checked_shr(shift).unwrap_or(0) == bits(b).checked_shr(shift).unwrap_or(0)
}

impl FromStr for Network {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or network"))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(prefix) => prefix
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Network { address, prefix })
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// Greylisting's word on a recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GreylistVerdict {
    Pass,
    /// Refused for now, with this reply.
    Wait(Reply),
    /// Would be refused, but the recipient wrote to `domain`, the sender's: let through if
    /// the sender proves to be of it (SPF, or DKIM at the end of the message).
    Correspondent {
        domain: String,
        refusal: Reply,
    },
}

/// The envelope's part of a check, owned so that the check can run on the blocking pool.
#[derive(Clone, Debug)]
pub struct OwnedSender {
    pub ip: IpAddr,
    pub helo: String,
    pub mail_from: String,
    /// The recipients, for the content scanner; empty where none is asked.
    pub recipients: Vec<String>,
}

/// Checks running at once; each holds a blocking thread while its DNS lookups run.
const MAX_CHECKS: usize = 8;
/// Checks of messages too large to have been kept in memory (read back from the spool
/// whole) running at once.
const MAX_LARGE_CHECKS: usize = 1;

impl<S: Store> Engine<S> {
    /// Sets what is checked on mail from outside.
    pub fn set_sender_checks(&mut self, checks: SenderChecks) {
        self.sender_checks = checks;
    }

    pub fn sender_checks(&self) -> &SenderChecks {
        &self.sender_checks
    }

    /// Turns greylisting on or off, with its delays, and remembers the triplets that got
    /// through before (dropping the ones past `max_age` from the store).
    pub fn set_greylisting(&mut self, config: greylist::GreylistConfig) -> Result<(), StoreError> {
        let now = unix_now();
        self.store.prune_greylist(
            now.saturating_sub(config.max_age),
            greylist::CAPACITY as u64,
        )?;
        let shared = self.greylist.shared.take();
        self.greylist = greylist::Greylist::new(config);
        if let Some(shared) = shared {
            self.greylist.share(shared);
        }
        let mut remembered = 0usize;
        for pass in self.store.greylist_passes()? {
            remembered += usize::from(self.greylist.remember(&pass, now));
        }
        if remembered > 0 {
            tracing::info!(triplets = remembered, "greylisting remembers known senders");
        }
        Ok(())
    }

    /// Keeps greylisting's triplets in `shared`, where the other nodes of a shared queue see
    /// them.
    pub fn share_greylist(&mut self, shared: Arc<dyn greylist::SharedGreylist>) {
        self.greylist.share(shared);
    }

    /// Greylisting's answer to `RCPT TO:<recipient>` from `ip` (a client that did not log
    /// in) for mail from `sender`, to be delivered to `accounts`. Clients in the trusted
    /// networks are let through.
    pub fn greylisted(
        &self,
        ip: IpAddr,
        sender: &str,
        recipient: &str,
        accounts: &[AccountId],
    ) -> GreylistVerdict {
        if self.sender_checks.trusts(ip) {
            return GreylistVerdict::Pass;
        }
        let now = unix_now();
        let (verdict, record) = self.greylist.check(ip, sender, recipient, now);
        if let Some(record) = record {
            match self.store.put_greylist_pass(&record) {
                Err(error) => {
                    tracing::error!(%error, "cannot record a greylisting pass; kept in memory");
                }
                // Now and then the old and the many go, as at start.
                Ok(()) if self.greylist.recorded_one() => {
                    let before = now.saturating_sub(self.greylist.config().max_age);
                    if let Err(error) = self.store.prune_greylist(before, greylist::CAPACITY as u64)
                    {
                        tracing::error!(%error, "cannot remove old greylisting passes");
                    }
                }
                Ok(()) => {}
            }
        }
        let seconds = match verdict {
            greylist::Greylisting::Pass => return GreylistVerdict::Pass,
            greylist::Greylisting::Wait(seconds) => seconds,
        };
        let refusal = Reply::new(
            451,
            (4, 7, 1),
            format!(
                "Greylisted: this server accepts mail from new senders after a short delay; try again in {seconds} seconds"
            ),
        );
        match self.correspondent_domain(accounts, sender) {
            Some(domain) => GreylistVerdict::Correspondent { domain, refusal },
            None => {
                tracing::info!(client = %ip, from = sender, to = recipient, seconds, "greylisted");
                GreylistVerdict::Wait(refusal)
            }
        }
    }

    /// Checks the message in `spool` (as received) from `sender`, with the transaction's
    /// SPF check; gives the spool back. An `Err` says why the message could not be read or
    /// checked.
    pub async fn check_sender<E: Executor>(
        self: &Arc<Self>,
        executor: &E,
        spool: SummarizingSpool<S::Spool>,
        sender: OwnedSender,
        spf: SpfCheck,
    ) -> (SummarizingSpool<S::Spool>, Result<Checked, String>) {
        let spf = spf.take().await;
        let _slot = self.checks.acquire("all", MAX_CHECKS).await;
        let _large = match spool.is_kept() {
            true => None,
            false => Some(self.checks.acquire("large", MAX_LARGE_CHECKS).await),
        };
        let engine = self.clone();
        executor
            .unblock(move || {
                let mut spool = spool;
                let message = match spool.contents() {
                    Ok(message) => message,
                    Err(e) => return (spool, Err(e.to_string())),
                };
                let authenticator = engine.authenticator.get_or_init(authenticator);
                let recipients = sender.recipients;
                let sender = Sender {
                    ip: sender.ip,
                    helo: &sender.helo,
                    mail_from: &sender.mail_from,
                };
                // A panic in the checks (of a message no parser expected) must not cost the
                // message: it is delivered unchecked, with a log line.
                let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    futures_lite::future::block_on(check(
                        authenticator,
                        engine.resolver.as_ref(),
                        &engine.hostname,
                        &message,
                        &sender,
                        spf,
                    ))
                }));
                let Ok(mut checked) = checked else {
                    return (spool, Err("the checks failed on this message".into()));
                };
                if let Some(scanner) = &engine.sender_checks.rspamd {
                    let envelope = rspamd::Envelope {
                        ip: sender.ip,
                        helo: sender.helo,
                        mail_from: sender.mail_from,
                        recipients: &recipients,
                    };
                    match scanner.scan(&message, &envelope) {
                        Ok(scan) => checked.spam = Some(scan),
                        Err(error) => {
                            tracing::warn!(%error, "cannot scan a message; delivered unscanned");
                        }
                    }
                }
                (spool, Ok(checked))
            })
            .await
    }
}
