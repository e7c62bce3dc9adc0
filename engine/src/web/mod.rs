//! The web side beside calendars and contacts, on the same HTTP stack: what the server
//! reports about itself (`/metrics`, `/health`, `/health/detailed`), and the documents mail
//! clients set themselves up from (Thunderbird's autoconfig, Outlook's autodiscover, Apple's
//! configuration profile, and the MTA-STS policy that senders fetch).
//!
//! [`Page`] is what the router found; [`answer`] makes its response on the blocking pool.

pub mod api;
mod autoconfig;
mod mobileconfig;
mod mta_sts;
pub mod panel;
pub mod status;
#[cfg(test)]
mod tests;

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use proto_dav::{Head, Response};

use crate::Engine;
use crate::mail::date::unix_now;
use crate::store::{Account, Store};
use crate::trust::Network;

/// What the operator chose (`[http]`) and what the server is: its listeners, for the pages
/// that describe them. (Its certificate can change while it runs: [`Engine::certificate`].)
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Clients from these networks may read `/metrics` and `/health/detailed`.
    pub admin_networks: Vec<Network>,
    /// The MTA-STS policy served for each local domain.
    pub mta_sts: MtaSts,
    /// Where each service listens, in the order the operator listed them.
    pub endpoints: Vec<Endpoint>,
    /// When the server started (Unix seconds).
    pub started: i64,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            admin_networks: ["127.0.0.0/8", "::1/128"]
                .into_iter()
                .map(|n| Network::from_str(n).expect("a valid network"))
                .collect(),
            mta_sts: MtaSts::default(),
            endpoints: Vec::new(),
            started: unix_now(),
        }
    }
}

impl WebConfig {
    /// Whether `ip` may see the pages for administrators.
    pub fn admits(&self, ip: IpAddr) -> bool {
        // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.admin_networks.iter().any(|n| n.contains(ip))
    }

    /// The first endpoint of `service`, preferring implicit TLS, then STARTTLS.
    fn preferred(&self, service: Service) -> impl Iterator<Item = &Endpoint> {
        let mut found: Vec<&Endpoint> = self
            .endpoints
            .iter()
            .filter(|e| e.service == service)
            .collect();
        found.sort_by_key(|e| e.security);
        // One entry per kind of security: clients try them in order.
        found.dedup_by_key(|e| e.security);
        found.into_iter()
    }
}

/// A service clients connect to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// Mail from other servers (port 25).
    Mx,
    Submission,
    Imap,
    Pop3,
    /// Calendars, contacts and these pages.
    Http,
    /// Sieve scripts edited by mail clients (RFC 5804, port 4190).
    ManageSieve,
}

/// How a connection is protected, in the order clients should prefer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Security {
    /// TLS from the first byte (993, 995, 465, 443).
    Tls,
    StartTls,
    Plain,
}

/// One listening socket.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The listener's name in the configuration (`imaps`, `submission`, …).
    pub name: &'static str,
    pub service: Service,
    pub security: Security,
    pub address: SocketAddr,
}

/// The certificate the listeners present.
#[derive(Clone, Debug)]
pub struct Certificate {
    /// The DNS names it is valid for.
    pub names: Vec<String>,
    /// From when it is valid (Unix seconds).
    pub not_before: i64,
    /// When it expires (Unix seconds).
    pub not_after: i64,
}

/// The MTA-STS policy (RFC 8461 §3.2) of every local domain: our hostname as its one MX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MtaSts {
    pub mode: MtaStsMode,
    /// How long senders may cache it, in seconds.
    pub max_age: u64,
}

impl Default for MtaSts {
    fn default() -> Self {
        MtaSts {
            mode: MtaStsMode::Testing,
            max_age: 7 * 86_400,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MtaStsMode {
    /// Senders report failures but deliver anyway: the safe start.
    Testing,
    /// Senders deliver only over verified TLS to the listed exchangers.
    Enforce,
    /// No policy is served.
    None,
}

/// A page or document the router found, answered by [`answer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    Metrics,
    Health,
    HealthDetailed,
    /// Thunderbird's `config-v1.1.xml` for the domain of an address, or of the host asked
    /// (`autoconfig.example.com`).
    Autoconfig,
    /// Outlook's POX autodiscover: the address is in the request's body.
    Autodiscover,
    /// An Apple configuration profile for the logged-in user.
    MobileConfig,
    /// `mta-sts.<domain>/.well-known/mta-sts.txt`.
    MtaSts,
}

/// Bodies of requests that are not logged in are small: the autodiscover request is a few
/// hundred bytes.
pub const MAX_ANONYMOUS_BODY: u64 = 16 * 1024;

impl Page {
    /// The page at `path` (any method), if it is one of these.
    pub fn at(path: &str) -> Option<Page> {
        Some(match path {
            "/metrics" => Page::Metrics,
            "/health" => Page::Health,
            "/health/detailed" => Page::HealthDetailed,
            "/.well-known/autoconfig/mail/config-v1.1.xml" | "/mail/config-v1.1.xml" => {
                Page::Autoconfig
            }
            "/.well-known/mta-sts.txt" => Page::MtaSts,
            "/mobileconfig" => Page::MobileConfig,
            // Outlook capitalises it; other clients do not.
            _ if path.eq_ignore_ascii_case("/autodiscover/autodiscover.xml") => Page::Autodiscover,
            _ => return None,
        })
    }

    /// Whether only clients from `[http] admin_networks` may see it.
    pub fn for_administrators(&self) -> bool {
        matches!(self, Page::Metrics | Page::HealthDetailed)
    }

    /// Whether it needs a logged-in user.
    pub fn needs_login(&self) -> bool {
        matches!(self, Page::MobileConfig)
    }

    /// Whether it reads a request body.
    pub fn takes_body(&self) -> bool {
        matches!(self, Page::Autodiscover)
    }
}

/// The response to `page`, asked for with `head` (and `body`) by `account` if logged in.
/// Reads the store: runs on the blocking pool.
pub fn answer<S: Store>(
    engine: &Engine<S>,
    page: &Page,
    head: &Head,
    body: &[u8],
    account: Option<&Account>,
) -> Response {
    match page {
        Page::Metrics => status::metrics(engine),
        Page::Health => status::health(engine),
        Page::HealthDetailed => status::detailed(engine),
        Page::Autoconfig => autoconfig::thunderbird(engine, head),
        Page::Autodiscover => autoconfig::outlook(engine, head, body),
        Page::MobileConfig => match account {
            Some(account) => mobileconfig::profile(engine, account),
            None => text(401, "log in first\n"),
        },
        Page::MtaSts => mta_sts::policy(engine, head),
    }
}

/// A plain-text response.
fn text(status: u16, text: &str) -> Response {
    Response::new(status).body("text/plain; charset=utf-8", text.as_bytes().to_vec())
}

/// The host a request was sent to, lowercased and without its port.
fn host(head: &Head) -> Option<String> {
    let host = head.header("host")?.trim();
    let name = match host.strip_prefix('[') {
        // An IPv6 literal names no domain.
        Some(_) => return None,
        None => host.split(':').next().unwrap_or(host),
    };
    Some(name.trim_end_matches('.').to_ascii_lowercase())
}

/// `domain`, lowercased, if it is one of ours.
fn local_domain<S: Store>(engine: &Engine<S>, domain: &str) -> Option<String> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    match engine.store().domain_exists(&domain) {
        Ok(true) => Some(domain),
        Ok(false) => None,
        Err(error) => {
            tracing::error!(%error, "cannot read the domains");
            None
        }
    }
}
