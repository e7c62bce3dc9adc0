//! The configuration file: one TOML document, every key optional, each overridable by a
//! `POSTERN_*` environment variable. Defaults are the embedded, loopback-only setup that
//! `postern serve` runs with no arguments.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use engine::directory::password_rules::PasswordRules;
use engine::dns::{MxHost, StaticRecords, StaticTable};
use engine::web::{Endpoint, Security as Protection, Service};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// This server's name in greetings and trace headers.
    pub hostname: String,
    pub data_dir: PathBuf,
    /// The account that receives postmaster@ of every local domain (RFC 5321 §4.5.1) when
    /// that address is not an account or alias itself. Absent: the first account created.
    pub postmaster: Option<String>,
    pub listen: Listen,
    /// Absent: a certificate from `[acme]`, or a self-signed one generated in the data
    /// directory.
    pub tls: Option<Tls>,
    /// Certificates from an ACME authority (Let's Encrypt unless `directory` says another),
    /// obtained and renewed while the server runs.
    pub acme: Option<Acme>,
    pub limits: Limits,
    pub storage: Storage,
    pub smtp: Smtp,
    pub pop3: Pop3,
    pub imap: Imap,
    pub managesieve: ManageSieve,
    pub dns: Dns,
    pub delivery: Delivery,
    pub queue: Queue,
    pub security: Security,
    pub greylisting: Greylisting,
    pub audit: Audit,
    pub http: Http,
    pub webhooks: Webhooks,
}

/// Addresses per service; an empty list disables that service.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Listen {
    #[serde(deserialize_with = "socket_addresses")]
    pub smtp: Vec<SocketAddr>,
    #[serde(deserialize_with = "socket_addresses")]
    pub submission: Vec<SocketAddr>,
    #[serde(deserialize_with = "socket_addresses")]
    pub submissions: Vec<SocketAddr>,
    /// POP3 with STLS (110).
    #[serde(deserialize_with = "socket_addresses")]
    pub pop3: Vec<SocketAddr>,
    /// POP3 over implicit TLS (995).
    #[serde(deserialize_with = "socket_addresses")]
    pub pop3s: Vec<SocketAddr>,
    /// IMAP with STARTTLS (143).
    #[serde(deserialize_with = "socket_addresses")]
    pub imap: Vec<SocketAddr>,
    /// IMAP over implicit TLS (993).
    #[serde(deserialize_with = "socket_addresses")]
    pub imaps: Vec<SocketAddr>,
    /// HTTP over TLS (443): calendars and contacts (CalDAV, CardDAV).
    #[serde(deserialize_with = "socket_addresses")]
    pub https: Vec<SocketAddr>,
    /// Plain HTTP, for loopback or behind a reverse proxy that terminates TLS.
    #[serde(deserialize_with = "socket_addresses")]
    pub http: Vec<SocketAddr>,
    /// ManageSieve with STARTTLS (4190): mail clients edit their Sieve filters.
    #[serde(deserialize_with = "socket_addresses")]
    pub managesieve: Vec<SocketAddr>,
}

impl Listen {
    /// Each listener's name, addresses, service and protection.
    pub fn services(&self) -> [(&'static str, &[SocketAddr], Service, Protection); 10] {
        [
            ("smtp", &self.smtp, Service::Mx, Protection::StartTls),
            (
                "submission",
                &self.submission,
                Service::Submission,
                Protection::StartTls,
            ),
            (
                "submissions",
                &self.submissions,
                Service::Submission,
                Protection::Tls,
            ),
            ("pop3", &self.pop3, Service::Pop3, Protection::StartTls),
            ("pop3s", &self.pop3s, Service::Pop3, Protection::Tls),
            ("imap", &self.imap, Service::Imap, Protection::StartTls),
            ("imaps", &self.imaps, Service::Imap, Protection::Tls),
            ("https", &self.https, Service::Http, Protection::Tls),
            ("http", &self.http, Service::Http, Protection::Plain),
            (
                "managesieve",
                &self.managesieve,
                Service::ManageSieve,
                Protection::StartTls,
            ),
        ]
    }

    /// The endpoints as configured (before binding: a port of 0 stays 0), for what the
    /// CLI describes without a running server.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        let mut endpoints = Vec::new();
        for (name, addresses, service, security) in self.services() {
            for &address in addresses {
                endpoints.push(Endpoint {
                    name,
                    service,
                    security,
                    address,
                });
            }
        }
        endpoints
    }

    /// Every address listened on, once each.
    pub fn addresses(&self) -> Vec<std::net::IpAddr> {
        let mut addresses = Vec::new();
        let lists = [
            &self.smtp,
            &self.submission,
            &self.submissions,
            &self.pop3,
            &self.pop3s,
            &self.imap,
            &self.imaps,
            &self.https,
            &self.http,
            &self.managesieve,
        ];
        for socket in lists.into_iter().flatten() {
            if !addresses.contains(&socket.ip()) {
                addresses.push(socket.ip());
            }
        }
        addresses
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// `[acme]`: the certificate is obtained from an ACME authority and renewed before it
/// expires.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Acme {
    /// The authority's directory URL.
    pub directory: String,
    /// Addresses the authority may write to about the certificates (expiry warnings).
    pub contact: Vec<String>,
    /// The names the certificate holds; empty: the hostname.
    pub names: Vec<String>,
    /// How each name is proven: `"tls-alpn-01"` (on port 443) or `"http-01"` (on port 80).
    /// Absent: TLS-ALPN-01 when HTTPS listens on port 443, else HTTP-01.
    pub challenge: Option<Challenge>,
    /// How long before it expires a certificate is renewed (at most a third of its
    /// lifetime).
    pub renew_before: Span,
    /// PEM certificates trusted, besides Mozilla's roots, for the authority's own HTTPS: a
    /// private or test authority.
    pub ca_file: Option<PathBuf>,
}

impl Default for Acme {
    fn default() -> Self {
        Acme {
            directory: engine::acme::LETS_ENCRYPT.into(),
            contact: Vec::new(),
            names: Vec::new(),
            challenge: None,
            renew_before: Span(Duration::from_secs(30 * 86_400)),
            ca_file: None,
        }
    }
}

/// `[acme] challenge`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub enum Challenge {
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
    #[serde(rename = "http-01")]
    Http01,
}

impl Config {
    /// What `[acme]` asks the authority for, with its defaults filled in.
    pub fn acme_request(&self) -> Option<engine::acme::Request> {
        let acme = self.acme.as_ref()?;
        let on_port = |addrs: &[SocketAddr], port| addrs.iter().any(|a| a.port() == port);
        let proof = match acme.challenge {
            Some(Challenge::TlsAlpn01) => engine::acme::Proof::TlsAlpn01,
            Some(Challenge::Http01) => engine::acme::Proof::Http01,
            None if !on_port(&self.listen.https, 443) && on_port(&self.listen.http, 80) => {
                engine::acme::Proof::Http01
            }
            None => engine::acme::Proof::TlsAlpn01,
        };
        let names = match acme.names.as_slice() {
            [] => vec![self.hostname.clone()],
            names => names.to_vec(),
        };
        Some(engine::acme::Request {
            directory: acme.directory.clone(),
            contact: acme.contact.clone(),
            names,
            proof,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_message_size: Size,
    /// Connections served at once, over every listener. The server lowers it to what its
    /// file-descriptor limit allows.
    pub max_connections: usize,
    /// Connections one client may hold on one listener at once; IPv6 clients are counted
    /// per /64 network.
    pub max_connections_per_ip: usize,
    /// Messages a logged-in user may send per hour; 0: no limit.
    pub messages_per_hour: u32,
    /// Recipients a logged-in user may send to per hour; 0: no limit.
    pub recipients_per_hour: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Smtp {
    /// Allow AUTH over connections without TLS (off: passwords never travel in clear).
    pub auth_without_tls: bool,
    /// What to do with lines ending in a bare LF inside a message.
    pub bare_lf: BareLf,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pop3 {
    /// Allow USER/PASS and AUTH before STLS on the plain POP3 port.
    pub auth_without_tls: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Imap {
    /// Allow LOGIN and AUTHENTICATE before STARTTLS on the plain IMAP port.
    pub auth_without_tls: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ManageSieve {
    /// Allow AUTHENTICATE before STARTTLS on the ManageSieve port.
    pub auth_without_tls: bool,
}

/// How names are looked up: MX, addresses and TXT for outbound delivery (and later SPF,
/// DKIM, DMARC).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dns {
    /// The longest one lookup may take, retries included; then it fails temporarily and
    /// the message waits in the queue.
    pub timeout: Span,
    /// Recursive name servers to ask, `"IP"` or `"IP:port"`. Absent: those of
    /// `/etc/resolv.conf`; empty: none, so that only `[dns.static]` names resolve.
    pub nameservers: Option<Vec<Nameserver>>,
    /// Validate answers with DNSSEC (on by default), which DANE needs. Off for name servers
    /// that strip DNSSEC records: then nothing is secure and DANE is never used.
    pub dnssec: bool,
    /// Answers that replace DNS for the names they list (split horizon, tests).
    #[serde(rename = "static")]
    pub static_names: StaticDns,
}

impl Default for Dns {
    fn default() -> Self {
        Dns {
            timeout: Span(Duration::from_secs(5)),
            nameservers: None,
            dnssec: true,
            static_names: StaticDns::default(),
        }
    }
}

/// A name server's address; port 53 unless given.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub struct Nameserver(pub SocketAddr);

impl TryFrom<String> for Nameserver {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let text = text.trim();
        if let Ok(addr) = text.parse() {
            return Ok(Nameserver(addr));
        }
        match text.parse::<IpAddr>() {
            Ok(ip) => Ok(Nameserver(SocketAddr::new(ip, 53))),
            Err(_) => Err(format!(
                "dns.nameservers: {text:?} is not an IP address or IP:port \
                 (like \"127.0.0.1\", \"127.0.0.1:53\" or \"[::1]:53\")"
            )),
        }
    }
}

/// `[dns.static]`: for each name, the records that answer for it instead of DNS. Checked
/// while the file is read, so a mistake is reported before the server starts.
#[derive(Debug, Default, Deserialize)]
#[serde(try_from = "BTreeMap<String, StaticEntry>")]
pub struct StaticDns(pub StaticTable);

/// One name of `[dns.static]` as written: `mx` entries are `"host"` or `"preference host"`;
/// `tlsa` entries are TLSA records in zone-file form, `"3 1 1 <hex>"`, for every port of
/// the host; `ptr` the names of an address, listed under the address itself
/// (`"192.0.2.7" = { ptr = ["mail.example.org"] }`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct StaticEntry {
    mx: Vec<String>,
    a: Vec<String>,
    aaaa: Vec<String>,
    txt: Vec<String>,
    tlsa: Vec<String>,
    ptr: Vec<String>,
}

impl TryFrom<BTreeMap<String, StaticEntry>> for StaticDns {
    type Error = String;

    fn try_from(entries: BTreeMap<String, StaticEntry>) -> Result<Self, String> {
        let mut table = StaticTable::default();
        for (name, entry) in entries {
            let records = entry
                .records()
                .map_err(|e| format!("[dns.static] {name:?}: {e}"))?;
            // An address stands for its reverse name, where its PTR records live.
            let name = match name.parse::<IpAddr>() {
                Ok(ip) => engine::dns::reverse_name(ip),
                Err(_) => name,
            };
            table
                .insert(&name, records)
                .map_err(|e| format!("[dns.static]: {e}"))?;
        }
        Ok(StaticDns(table))
    }
}

impl StaticEntry {
    fn records(self) -> Result<StaticRecords, String> {
        let mx = self
            .mx
            .iter()
            .enumerate()
            .map(|(position, text)| mx_host(position, text))
            .collect::<Result<_, _>>()?;
        let a = addresses("a", &self.a, |ip| match ip {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        })?;
        let aaaa = addresses("aaaa", &self.aaaa, |ip| match ip {
            IpAddr::V6(v6) => Some(v6),
            IpAddr::V4(_) => None,
        })?;
        let tlsa = self
            .tlsa
            .iter()
            .map(|text| text.parse().map_err(|e| format!("tlsa: {e}")))
            .collect::<Result<_, String>>()?;
        Ok(StaticRecords {
            mx,
            a,
            aaaa,
            txt: self.txt,
            tlsa,
            ptr: self
                .ptr
                .iter()
                .map(|name| name.trim_end_matches('.').to_ascii_lowercase())
                .collect(),
        })
    }
}

/// The addresses listed under `key` (`a` or `aaaa`); `family` keeps those of its kind.
fn addresses<T>(
    key: &str,
    texts: &[String],
    family: fn(IpAddr) -> Option<T>,
) -> Result<Vec<T>, String> {
    let (kind, other) = if key == "a" {
        ("IPv4", "aaaa")
    } else {
        ("IPv6", "a")
    };
    let parse = |text: &String| match text.trim().parse() {
        Ok(ip) => family(ip).ok_or_else(|| {
            format!("{key}: {text:?} is not an {kind} address; list it under {other}")
        }),
        Err(_) => Err(format!("{key}: {text:?} is not an {kind} address")),
    };
    texts.iter().map(parse).collect()
}

/// `"host"` (its preference is its position in the list) or `"preference host"`.
fn mx_host(position: usize, text: &str) -> Result<MxHost, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let (preference, host) = match words.as_slice() {
        [host] => (u16::try_from(position).unwrap_or(u16::MAX), *host),
        [preference, host] => match preference.parse() {
            Ok(preference) => (preference, *host),
            Err(_) => {
                return Err(format!(
                    "mx: in {text:?}, the preference must be a whole number from 0 to 65535"
                ));
            }
        },
        _ => {
            return Err(format!(
                "mx: {text:?} is neither \"host\" nor \"preference host\""
            ));
        }
    };
    Ok(MxHost {
        preference,
        host: host.to_string(),
    })
}

/// The database.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Storage {
    /// Bytes of database pages kept in memory; absent: a sixteenth of the memory the server
    /// may use (machine or cgroup), between 2 and 16 MiB. More makes reads of large
    /// mailboxes and many accounts faster; less keeps a small machine's memory for the rest.
    pub cache_size: Option<Size>,
}

/// Where the outbound queue is kept.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Queue {
    pub backend: QueueBackend,
    /// Redis, for `backend = "redis"`: `redis://[:password@]host[:port][/db]`.
    pub redis_url: String,
    /// The Redis password, when it is not in the URL.
    pub redis_password: Option<String>,
    /// This node's name among those sharing the queue, shown with the messages it delivers;
    /// `hostname` when absent.
    pub node: Option<String>,
}

/// `[queue] backend`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum QueueBackend {
    /// This node's database: one node.
    Redb,
    /// Redis: several nodes share one queue.
    Redis,
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            backend: QueueBackend::Redb,
            redis_url: "redis://127.0.0.1:6379/".into(),
            redis_password: None,
            node: None,
        }
    }
}

/// The audit log.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Audit {
    /// How long entries are kept.
    pub retention: Span,
}

impl Default for Audit {
    fn default() -> Self {
        let seconds = u64::try_from(engine::audit::DEFAULT_RETENTION).unwrap_or(u64::MAX);
        Audit {
            retention: Span(Duration::from_secs(seconds)),
        }
    }
}

/// How webhook calls are made and retried (the webhooks themselves are in the database:
/// `postern webhook`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Webhooks {
    /// The wait before a failed call is made again; each next wait is twice the last.
    pub first_retry: Span,
    /// The longest wait between two attempts.
    pub longest_retry: Span,
    /// Attempts in all before a call is given up.
    pub attempts: u32,
    /// How long one attempt may take.
    pub timeout: Span,
    /// Calls in progress at once.
    pub concurrency: usize,
}

impl Default for Webhooks {
    fn default() -> Self {
        let engine = engine::webhooks::WebhookConfig::default();
        Webhooks {
            first_retry: Span(engine.first_retry),
            longest_retry: Span(engine.longest_retry),
            attempts: engine.attempts,
            timeout: Span(engine.timeout),
            concurrency: engine.concurrency,
        }
    }
}

impl Webhooks {
    /// As the engine takes it.
    pub fn engine(&self) -> engine::webhooks::WebhookConfig {
        engine::webhooks::WebhookConfig {
            first_retry: self.first_retry.0.max(Duration::from_secs(1)),
            longest_retry: self.longest_retry.0.max(self.first_retry.0),
            attempts: self.attempts.max(1),
            timeout: self.timeout.0.max(Duration::from_secs(1)),
            concurrency: self.concurrency.clamp(1, 64),
        }
    }
}

/// Greylisting on the MX listener: a new (client network, sender, recipient) is told to
/// try again later.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Greylisting {
    pub enabled: bool,
    /// How long a new triplet waits before a retry is accepted.
    pub min_delay: Span,
    /// How long a triplet is remembered after its last message.
    pub max_age: Span,
}

impl Default for Greylisting {
    fn default() -> Self {
        Greylisting {
            enabled: true,
            min_delay: Span(Duration::from_secs(5 * 60)),
            max_age: Span(Duration::from_secs(35 * 24 * 3600)),
        }
    }
}

impl Greylisting {
    /// The engine's form of these settings.
    pub fn engine_config(&self) -> engine::trust::greylist::GreylistConfig {
        let seconds = |span: Span| i64::try_from(span.0.as_secs()).unwrap_or(i64::MAX);
        engine::trust::greylist::GreylistConfig {
            enabled: self.enabled,
            min_delay: seconds(self.min_delay),
            max_age: seconds(self.max_age),
        }
    }
}

/// The web side (`[http]`), served on the `https` and `http` listeners.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Http {
    /// Clients from these networks may read `/metrics` and `/health/detailed`.
    pub admin_networks: Vec<NetworkSetting>,
    /// The MTA-STS policy served at `mta-sts.<domain>` for every local domain.
    pub mta_sts_mode: MtaStsMode,
    /// How long senders may keep that policy.
    pub mta_sts_max_age: Span,
}

impl Default for Http {
    fn default() -> Self {
        let web = engine::web::WebConfig::default();
        let defaults = web.mta_sts;
        Http {
            admin_networks: web.admin_networks.into_iter().map(NetworkSetting).collect(),
            mta_sts_mode: MtaStsMode::Testing,
            mta_sts_max_age: Span(Duration::from_secs(defaults.max_age)),
        }
    }
}

impl Http {
    /// The engine's form of these settings; the listeners and certificate are added by
    /// whoever knows them.
    pub fn engine_config(&self) -> engine::web::WebConfig {
        use engine::web::MtaStsMode as Mode;
        engine::web::WebConfig {
            admin_networks: self.admin_networks.iter().map(|n| n.0).collect(),
            mta_sts: engine::web::MtaSts {
                mode: match self.mta_sts_mode {
                    MtaStsMode::Testing => Mode::Testing,
                    MtaStsMode::Enforce => Mode::Enforce,
                    MtaStsMode::None => Mode::None,
                },
                max_age: self.mta_sts_max_age.0.as_secs(),
            },
            ..engine::web::WebConfig::default()
        }
    }
}

/// `[http] mta_sts_mode`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MtaStsMode {
    /// Senders report failures but deliver anyway: the safe start.
    Testing,
    /// Senders deliver only over verified TLS to our hostname.
    Enforce,
    /// No policy is served.
    None,
}

/// Listening addresses, each `IP:port`; a mistake names the entry and what was expected.
fn socket_addresses<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<SocketAddr>, D::Error> {
    let texts = Vec::<String>::deserialize(deserializer)?;
    texts
        .iter()
        .map(|text| {
            text.trim().parse().map_err(|_| {
                serde::de::Error::custom(format!(
                    "expected IP:port (such as 0.0.0.0:25 or [::]:25), got {text}"
                ))
            })
        })
        .collect()
}

/// A length of time written as a number and a unit: `"30s"`, `"5m"`, `"12h"`, `"35d"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Span(pub Duration);

impl TryFrom<String> for Span {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        engine::units::parse_duration(&text).map(Span)
    }
}

/// A number of bytes, written as a whole number or with a unit: `26214400`, `"25M"`, `"2G"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "SizeText")]
pub struct Size(pub u64);

#[derive(Deserialize)]
#[serde(untagged)]
enum SizeText {
    Bytes(u64),
    Text(String),
}

impl TryFrom<SizeText> for Size {
    type Error = String;

    fn try_from(text: SizeText) -> Result<Self, String> {
        match text {
            SizeText::Bytes(bytes) => Ok(Size(bytes)),
            SizeText::Text(text) => engine::units::parse_size(&text).map(Size),
        }
    }
}

/// What is checked on mail from outside: SPF, DKIM, ARC and DMARC.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Security {
    /// Check who sent mail arriving from outside, and record it in an
    /// `Authentication-Results:` field.
    pub check_senders: bool,
    /// Refuse mail that fails DMARC when its author's domain publishes `p=reject`.
    pub dmarc_reject: bool,
    /// Deliver mail that fails DMARC to Junk when its author's domain publishes
    /// `p=quarantine` (or `p=reject` with `dmarc_reject` off).
    pub dmarc_quarantine: bool,
    /// Clients in these networks (`"192.0.2.0/24"`, `"2001:db8::/32"`, an address) are not
    /// checked: the machine itself and hosts that relay for it.
    pub trusted_networks: Vec<NetworkSetting>,
    /// `[security.send_as]`: addresses a user may send as besides those whose mail reaches
    /// them: `"relay@example.com" = ["*"]`, `["@example.org", "team@example.net"]`.
    pub send_as: BTreeMap<String, Vec<String>>,
    /// DNS blocklists whose listed clients are refused on the MX port (`["zen.example"]`).
    pub dnsbl: Vec<String>,
    /// The rspamd that scans checked mail (`"http://127.0.0.1:11333"`): its action refuses
    /// a message, defers it or sends it to Junk.
    pub rspamd: Option<RspamdSetting>,
    /// Fewest characters of a new password (set with the CLI, the API or the web pages).
    pub min_password_length: usize,
    /// Refuse new passwords among those guessers try first, and an account's own address.
    pub refuse_guessable_passwords: bool,
}

impl Default for Security {
    fn default() -> Self {
        let defaults = engine::trust::SenderChecks::default();
        Security {
            check_senders: defaults.enabled,
            dmarc_reject: defaults.dmarc_reject,
            dmarc_quarantine: defaults.dmarc_quarantine,
            trusted_networks: defaults
                .trusted_networks
                .into_iter()
                .map(NetworkSetting)
                .collect(),
            send_as: BTreeMap::new(),
            dnsbl: defaults.dnsbl,
            rspamd: None,
            min_password_length: PasswordRules::default().min_length,
            refuse_guessable_passwords: PasswordRules::default().refuse_guessable,
        }
    }
}

impl Security {
    /// What a new password must be.
    pub fn password_rules(&self) -> PasswordRules {
        PasswordRules {
            min_length: self.min_password_length,
            refuse_guessable: self.refuse_guessable_passwords,
        }
    }

    /// The engine's form of these settings.
    pub fn sender_checks(&self) -> engine::trust::SenderChecks {
        engine::trust::SenderChecks {
            enabled: self.check_senders,
            dmarc_reject: self.dmarc_reject,
            dmarc_quarantine: self.dmarc_quarantine,
            trusted_networks: self.trusted_networks.iter().map(|n| n.0).collect(),
            dnsbl: self.dnsbl.clone(),
            rspamd: self.rspamd.as_ref().map(|r| r.0.clone()),
        }
    }
}

/// `[security] rspamd`, checked as the file is read.
#[derive(Debug, Deserialize)]
#[serde(try_from = "String")]
pub struct RspamdSetting(pub engine::trust::rspamd::Rspamd);

impl TryFrom<String> for RspamdSetting {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse().map(RspamdSetting)
    }
}

/// A network in a list such as `[security] trusted_networks`, checked as the file is read.
#[derive(Debug, Deserialize)]
#[serde(try_from = "String")]
pub struct NetworkSetting(pub engine::trust::Network);

impl TryFrom<String> for NetworkSetting {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
            .map(NetworkSetting)
            .map_err(|e| format!("{text:?} is not a network (such as \"192.0.2.0/24\"): {e}"))
    }
}

/// Outbound delivery: mail from authenticated users to other domains.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Delivery {
    /// Messages delivered at once.
    pub workers: usize,
    /// Deliveries to one destination host at once.
    pub connections_per_host: usize,
    /// The port remote mail exchangers listen on: 25 on the internet; tests and private
    /// networks may use another.
    pub remote_port: u16,
    /// The longest a TCP connection to a mail exchanger may take to open.
    pub connect_timeout: Span,
    /// Attempts before a recipient is given up on.
    pub max_attempts: u32,
    /// How long after it was sent a message's undelivered recipients are given up on.
    pub max_age: Span,
    /// How long after it was sent the sender is told, once, that a recipient is not
    /// delivered yet; "0s": never.
    pub delay_warning: Span,
    /// PEM certificates trusted, besides Mozilla's roots, when verifying the servers mail is
    /// delivered to: a relay host or a partner with its own CA.
    pub ca_file: Option<PathBuf>,
    /// Send all outbound mail through this host: `smtp://host[:port]` (STARTTLS, port 587
    /// unless given) or `smtps://host[:port]` (TLS from the start, 465).
    pub relay: Option<RelayUrl>,
    /// The relay's user name for `AUTH`, when it wants one.
    pub relay_user: Option<String>,
    /// The relay's password.
    pub relay_password: Option<String>,
    /// Whether the relay's certificate must be valid for its name (TLS is always used).
    pub relay_verify_tls: bool,
    /// Deliver to remote mail exchangers only over TLS with a verified certificate: no
    /// falling back to unverified TLS or cleartext; such recipients wait in the queue.
    pub require_tls: bool,
    /// Honour the destinations' MTA-STS policies (RFC 8461).
    pub mta_sts: bool,
    /// The port MTA-STS policies are fetched from (443; tests use another).
    pub mta_sts_port: u16,
}

/// Where a relay host listens, from `[delivery] relay`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub struct RelayUrl {
    pub host: String,
    pub port: u16,
    pub implicit_tls: bool,
}

impl TryFrom<String> for RelayUrl {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let bad = || {
            format!(
                "delivery.relay: {text:?} is not smtp://host[:port] or smtps://host[:port] \
                 (like \"smtp://smtp.example.com:587\")"
            )
        };
        let (implicit_tls, rest) = match text.split_once("://") {
            Some(("smtp", rest)) => (false, rest),
            Some(("smtps", rest)) => (true, rest),
            _ => return Err(bad()),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let default_port = if implicit_tls { 465 } else { 587 };
        // `[v6]:port`, `[v6]`, `host:port` or `host`.
        let (host, port) = match rest.strip_prefix('[') {
            Some(bracketed) => {
                let (host, after) = bracketed.split_once(']').ok_or_else(bad)?;
                match after.strip_prefix(':') {
                    Some(port) => (host, port.parse().map_err(|_| bad())?),
                    None if after.is_empty() => (host, default_port),
                    None => return Err(bad()),
                }
            }
            None => match rest.rsplit_once(':') {
                Some((host, port)) => (host, port.parse().map_err(|_| bad())?),
                None => (rest, default_port),
            },
        };
        if host.is_empty() || port == 0 || host.contains(['/', '@', ' ']) {
            return Err(bad());
        }
        Ok(RelayUrl {
            host: host.to_string(),
            port,
            implicit_tls,
        })
    }
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            workers: 4,
            connections_per_host: 10,
            remote_port: 25,
            connect_timeout: Span(Duration::from_secs(30)),
            max_attempts: 15,
            max_age: Span(Duration::from_secs(7 * 86_400)),
            delay_warning: Span(Duration::from_secs(4 * 3600)),
            ca_file: None,
            relay: None,
            relay_user: None,
            relay_password: None,
            relay_verify_tls: true,
            require_tls: false,
            mta_sts: true,
            mta_sts_port: 443,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BareLf {
    /// Rewrite to CRLF (what most servers do).
    #[default]
    Normalize,
    /// Refuse the message.
    Reject,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hostname: "localhost".into(),
            data_dir: PathBuf::from("postern-data"),
            postmaster: None,
            listen: Listen::default(),
            tls: None,
            acme: None,
            limits: Limits::default(),
            storage: Storage::default(),
            smtp: Smtp::default(),
            pop3: Pop3::default(),
            imap: Imap::default(),
            managesieve: ManageSieve::default(),
            dns: Dns::default(),
            delivery: Delivery::default(),
            queue: Queue::default(),
            security: Security::default(),
            greylisting: Greylisting::default(),
            audit: Audit::default(),
            http: Http::default(),
            webhooks: Webhooks::default(),
        }
    }
}

impl Default for Listen {
    fn default() -> Self {
        let loopback = |port| vec![SocketAddr::from(([127, 0, 0, 1], port))];
        Listen {
            smtp: loopback(2525),
            submission: loopback(2587),
            submissions: loopback(2465),
            pop3: loopback(1110),
            pop3s: loopback(1995),
            imap: loopback(1143),
            imaps: loopback(1993),
            https: loopback(8443),
            http: loopback(8080),
            managesieve: loopback(4190),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: Size(25 * 1024 * 1024),
            max_connections: 20_000,
            max_connections_per_ip: 100,
            messages_per_hour: engine::directory::rate::SendingLimits::default().messages_per_hour,
            recipients_per_hour: engine::directory::rate::SendingLimits::default()
                .recipients_per_hour,
        }
    }
}

impl Default for Smtp {
    fn default() -> Self {
        Smtp {
            auth_without_tls: false,
            bare_lf: BareLf::Normalize,
        }
    }
}

/// Kinds of value a key holds, so an environment variable's text can be typed.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Integer,
    Boolean,
    /// Comma-separated in the environment.
    List,
}

/// Every key, as (section, key, kind). `POSTERN_<SECTION>_<KEY>` overrides it, e.g.
/// `POSTERN_LISTEN_SMTP=0.0.0.0:25` or `POSTERN_DATA_DIR=/var/lib/postern`.
const KEYS: &[(&str, &str, Kind)] = &[
    ("", "hostname", Kind::Text),
    ("", "data_dir", Kind::Text),
    ("", "postmaster", Kind::Text),
    ("listen", "smtp", Kind::List),
    ("listen", "submission", Kind::List),
    ("listen", "submissions", Kind::List),
    ("listen", "pop3", Kind::List),
    ("listen", "pop3s", Kind::List),
    ("listen", "imap", Kind::List),
    ("listen", "imaps", Kind::List),
    ("listen", "https", Kind::List),
    ("listen", "http", Kind::List),
    ("listen", "managesieve", Kind::List),
    ("tls", "cert", Kind::Text),
    ("tls", "key", Kind::Text),
    ("acme", "directory", Kind::Text),
    ("acme", "contact", Kind::List),
    ("acme", "names", Kind::List),
    ("acme", "challenge", Kind::Text),
    ("acme", "renew_before", Kind::Text),
    ("acme", "ca_file", Kind::Text),
    ("limits", "max_message_size", Kind::Text),
    ("limits", "max_connections", Kind::Integer),
    ("limits", "max_connections_per_ip", Kind::Integer),
    ("limits", "messages_per_hour", Kind::Integer),
    ("limits", "recipients_per_hour", Kind::Integer),
    ("storage", "cache_size", Kind::Text),
    ("smtp", "auth_without_tls", Kind::Boolean),
    ("smtp", "bare_lf", Kind::Text),
    ("pop3", "auth_without_tls", Kind::Boolean),
    ("imap", "auth_without_tls", Kind::Boolean),
    ("managesieve", "auth_without_tls", Kind::Boolean),
    ("dns", "timeout", Kind::Text),
    ("dns", "nameservers", Kind::List),
    ("dns", "dnssec", Kind::Boolean),
    ("delivery", "workers", Kind::Integer),
    ("delivery", "connections_per_host", Kind::Integer),
    ("delivery", "remote_port", Kind::Integer),
    ("delivery", "connect_timeout", Kind::Text),
    ("delivery", "max_attempts", Kind::Integer),
    ("delivery", "max_age", Kind::Text),
    ("delivery", "delay_warning", Kind::Text),
    ("delivery", "ca_file", Kind::Text),
    ("delivery", "relay", Kind::Text),
    ("delivery", "relay_user", Kind::Text),
    ("delivery", "relay_password", Kind::Text),
    ("delivery", "relay_verify_tls", Kind::Boolean),
    ("delivery", "require_tls", Kind::Boolean),
    ("delivery", "mta_sts", Kind::Boolean),
    ("delivery", "mta_sts_port", Kind::Integer),
    ("queue", "backend", Kind::Text),
    ("queue", "redis_url", Kind::Text),
    ("queue", "redis_password", Kind::Text),
    ("queue", "node", Kind::Text),
    ("security", "check_senders", Kind::Boolean),
    ("security", "dmarc_reject", Kind::Boolean),
    ("security", "dmarc_quarantine", Kind::Boolean),
    ("security", "trusted_networks", Kind::List),
    ("security", "dnsbl", Kind::List),
    ("security", "rspamd", Kind::Text),
    ("security", "min_password_length", Kind::Integer),
    ("security", "refuse_guessable_passwords", Kind::Boolean),
    ("greylisting", "enabled", Kind::Boolean),
    ("greylisting", "min_delay", Kind::Text),
    ("greylisting", "max_age", Kind::Text),
    ("audit", "retention", Kind::Text),
    ("webhooks", "first_retry", Kind::Text),
    ("webhooks", "longest_retry", Kind::Text),
    ("webhooks", "attempts", Kind::Integer),
    ("webhooks", "timeout", Kind::Text),
    ("webhooks", "concurrency", Kind::Integer),
    ("http", "admin_networks", Kind::List),
    ("http", "mta_sts_mode", Kind::Text),
    ("http", "mta_sts_max_age", Kind::Text),
];

/// `POSTERN_*` variables that are not configuration keys.
const NOT_CONFIG: &[&str] = &["POSTERN_LOG", "POSTERN_CONFIG"];

/// Where a configuration file is looked for when neither `--config` nor `POSTERN_CONFIG`
/// names one: the system's, then one in the working directory.
pub const SEARCHED: [&str; 2] = ["/etc/postern/postern.toml", "postern.toml"];

/// A configuration problem, phrased for the person who wrote the file.
#[derive(Debug)]
pub struct ConfigError(String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads `file` (if given), applies `POSTERN_*` variables from `env`, and checks the result.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let (mut table, origin) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError(format!("cannot read config file {}: {e}", path.display()))
                })?;
                let table: toml::Table = text
                    .parse()
                    .map_err(|e| ConfigError(format!("in {}: {e}", path.display())))?;
                (table, path.display().to_string())
            }
            None => (toml::Table::new(), "the built-in defaults".to_string()),
        };
        for (name, value) in env {
            if let Some(rest) = name.strip_prefix("POSTERN_")
                && !NOT_CONFIG.contains(&name.as_str())
            {
                apply_env(&mut table, &name, rest, &value)?;
            }
        }
        let mut config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e| ConfigError(format!("in {origin} (or POSTERN_* variables): {e}")))?;
        if let Some(base) = file.and_then(|file| std::path::absolute(file).ok()) {
            config.resolve_paths(base.parent().unwrap_or(Path::new("/")));
        }
        config.check()?;
        Ok(config)
    }

    /// Makes the relative paths of a configuration file relative to the file's directory,
    /// not to wherever a command happens to run: `data_dir = "data"` beside
    /// `/etc/postern/postern.toml` is `/etc/postern/data` for `serve` and for every
    /// management command alike.
    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |path: &mut PathBuf| {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        };
        resolve(&mut self.data_dir);
        if let Some(tls) = &mut self.tls {
            resolve(&mut tls.cert);
            resolve(&mut tls.key);
        }
        if let Some(ca_file) = &mut self.delivery.ca_file {
            resolve(ca_file);
        }
        if let Some(ca_file) = self.acme.as_mut().and_then(|acme| acme.ca_file.as_mut()) {
            resolve(ca_file);
        }
    }

    /// The configuration file to read: `--config` (`flag`), else `POSTERN_CONFIG` (`env`),
    /// else the first of `candidates` that exists ([`SEARCHED`] in use), else none: the
    /// embedded defaults.
    pub fn locate(
        flag: Option<&Path>,
        env: Option<&std::ffi::OsStr>,
        candidates: &[&Path],
    ) -> Option<PathBuf> {
        if let Some(path) = flag {
            return Some(path.to_path_buf());
        }
        if let Some(path) = env.filter(|path| !path.is_empty()) {
            return Some(PathBuf::from(path));
        }
        candidates
            .iter()
            .find(|path| path.is_file())
            .map(|path| path.to_path_buf())
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.hostname.is_empty() || self.hostname.contains(char::is_whitespace) {
            return Err(ConfigError(format!(
                "hostname {:?} is not a host name",
                self.hostname
            )));
        }
        if self.limits.max_message_size.0 < 1024 {
            return Err(ConfigError(
                "limits.max_message_size must be at least 1024 bytes".into(),
            ));
        }
        if self.storage.cache_size.is_some_and(|size| size.0 < 1 << 20) {
            return Err(ConfigError(
                "storage.cache_size must be at least 1048576 bytes (1 MiB)".into(),
            ));
        }
        if self.security.min_password_length == 0 {
            return Err(ConfigError(
                "security.min_password_length must be at least 1".into(),
            ));
        }
        if self.limits.max_connections == 0 {
            return Err(ConfigError(
                "limits.max_connections must be at least 1".into(),
            ));
        }
        if !(1..=60).contains(&self.dns.timeout.0.as_secs()) {
            return Err(ConfigError("dns.timeout must be from 1s to 60s".into()));
        }
        if let Some(acme) = &self.acme {
            acme.check(self)?;
        }
        let delivery = &self.delivery;
        if !(1..=256).contains(&delivery.workers) {
            return Err(ConfigError("delivery.workers must be from 1 to 256".into()));
        }
        if !(1..=256).contains(&delivery.connections_per_host) {
            return Err(ConfigError(
                "delivery.connections_per_host must be from 1 to 256".into(),
            ));
        }
        if delivery.remote_port == 0 {
            return Err(ConfigError("delivery.remote_port must not be 0".into()));
        }
        if !(1..=600).contains(&delivery.connect_timeout.0.as_secs()) {
            return Err(ConfigError(
                "delivery.connect_timeout must be from 1s to 10m".into(),
            ));
        }
        if delivery.relay_user.is_some() != delivery.relay_password.is_some() {
            return Err(ConfigError(
                "delivery.relay_user and delivery.relay_password go together".into(),
            ));
        }
        if delivery.relay_user.is_some() && delivery.relay.is_none() {
            return Err(ConfigError(
                "delivery.relay_user is set but delivery.relay is not".into(),
            ));
        }
        if delivery.max_attempts == 0 || delivery.max_age.0.is_zero() {
            return Err(ConfigError(
                "delivery.max_attempts and delivery.max_age must be more than 0".into(),
            ));
        }
        Ok(())
    }
}

impl Acme {
    fn check(&self, config: &Config) -> Result<(), ConfigError> {
        if config.tls.is_some() {
            return Err(ConfigError(
                "[tls] and [acme] both say where the certificate comes from; keep one".into(),
            ));
        }
        if !self.directory.starts_with("https://") {
            return Err(ConfigError(format!(
                "acme.directory {:?} is not an https:// URL",
                self.directory
            )));
        }
        if let Some(bad) = self
            .contact
            .iter()
            .find(|c| !c.contains('@') || c.contains(':'))
        {
            return Err(ConfigError(format!(
                "acme.contact {bad:?} is not an email address"
            )));
        }
        let hostname = [config.hostname.clone()];
        let names = if self.names.is_empty() {
            &hostname[..]
        } else {
            &self.names
        };
        for name in names {
            if engine::address::normalize_domain(name).is_err() || !name.contains('.') {
                return Err(ConfigError(format!(
                    "acme: {name:?} is not a domain name a certificate authority can check \
                     (set hostname, or acme.names)"
                )));
            }
        }
        if self.renew_before.0.is_zero() {
            return Err(ConfigError("acme.renew_before must be more than 0".into()));
        }
        let proof = config.acme_request().map(|request| request.proof);
        if proof == Some(engine::acme::Proof::TlsAlpn01) && config.listen.https.is_empty() {
            return Err(ConfigError(
                "acme: TLS-ALPN-01 is answered by [listen] https, which is empty (or set \
                 acme.challenge = \"http-01\" to answer on [listen] http)"
                    .into(),
            ));
        }
        if proof == Some(engine::acme::Proof::Http01) && config.listen.http.is_empty() {
            return Err(ConfigError(
                "acme: HTTP-01 is answered by [listen] http (port 80), which is empty".into(),
            ));
        }
        Ok(())
    }
}

fn apply_env(
    table: &mut toml::Table,
    name: &str,
    rest: &str,
    value: &str,
) -> Result<(), ConfigError> {
    let wanted = rest.to_ascii_lowercase();
    let Some(&(section, key, kind)) = KEYS.iter().find(|(section, key, _)| {
        if section.is_empty() {
            wanted == *key
        } else {
            wanted == format!("{section}_{key}")
        }
    }) else {
        let known: Vec<String> = KEYS.iter().map(|(s, k, _)| env_name(s, k)).collect();
        return Err(ConfigError(format!(
            "unknown environment variable {name}; known ones are {}",
            known.join(", ")
        )));
    };
    let typed = match kind {
        Kind::Text => toml::Value::String(value.to_string()),
        Kind::Integer => toml::Value::Integer(
            value
                .trim()
                .parse()
                .map_err(|_| ConfigError(format!("{name}={value:?} is not a whole number")))?,
        ),
        Kind::Boolean => toml::Value::Boolean(match value.trim() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => {
                return Err(ConfigError(format!(
                    "{name}={value:?} is not true or false"
                )));
            }
        }),
        Kind::List => toml::Value::Array(
            value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| toml::Value::String(item.to_string()))
                .collect(),
        ),
    };
    let target = if section.is_empty() {
        table
    } else {
        table
            .entry(section)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| ConfigError(format!("[{section}] must be a table")))?
    };
    target.insert(key.to_string(), typed);
    Ok(())
}

fn env_name(section: &str, key: &str) -> String {
    if section.is_empty() {
        format!("POSTERN_{}", key.to_uppercase())
    } else {
        format!("POSTERN_{}_{}", section.to_uppercase(), key.to_uppercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn lengths_of_time_are_a_number_and_a_unit() {
        let span = |text: &str| Span::try_from(text.to_string()).map(|s| s.0.as_secs());
        assert_eq!(span("2s"), Ok(2));
        assert_eq!(span("5m"), Ok(300));
        assert_eq!(span(" 12h "), Ok(43_200));
        assert_eq!(span("35d"), Ok(35 * 86_400));
        for bad in [
            "5",
            "m",
            "5 minutes",
            "-5m",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert!(span(bad).is_err(), "{bad}");
        }
    }

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn defaults_are_loopback_high_ports() {
        let config = Config::load(None, []).unwrap();
        assert_eq!(config.listen.smtp, vec!["127.0.0.1:2525".parse().unwrap()]);
        assert_eq!(config.data_dir, PathBuf::from("postern-data"));
        assert!(config.tls.is_none());
    }

    #[test]
    fn reads_the_documented_file() {
        let file = write(
            r#"
hostname = "mail.example.com"
data_dir = "/var/lib/postern"
[listen]
smtp = ["0.0.0.0:25"]
submission = []
[tls]
cert = "/etc/postern/fullchain.pem"
key = "/etc/postern/privkey.pem"
[limits]
max_message_size = "25M"
[delivery]
ca_file = "/etc/postern/relay-ca.pem"
"#,
        );
        let config = Config::load(Some(file.path()), []).unwrap();
        assert_eq!(config.hostname, "mail.example.com");
        assert!(config.listen.submission.is_empty());
        assert_eq!(
            config.listen.submissions.len(),
            1,
            "unset keys keep defaults"
        );
        assert_eq!(config.limits.max_message_size.0, 26_214_400);
        assert_eq!(
            config.delivery.ca_file.as_deref(),
            Some(Path::new("/etc/postern/relay-ca.pem"))
        );
    }

    #[test]
    fn unknown_key_names_key_and_file() {
        let file = write("[listen]\nsmpt = []\n");
        let err = Config::load(Some(file.path()), []).unwrap_err().to_string();
        assert!(err.contains("smpt"), "{err}");
        assert!(err.contains(&file.path().display().to_string()), "{err}");
    }

    #[test]
    fn a_bad_listening_address_is_named() {
        let file = write("[listen]\nsmtp = [\"127.0.0.1:25\", \"localhost:2526\"]\n");
        let err = Config::load(Some(file.path()), []).unwrap_err().to_string();
        assert!(
            err.contains("expected IP:port") && err.contains("got localhost:2526"),
            "{err}"
        );
        assert!(err.contains("listen.smtp"), "{err}");
    }

    #[test]
    fn environment_overrides_file() {
        let file = write("hostname = \"a.example\"\n");
        let env = [
            ("POSTERN_HOSTNAME".to_string(), "b.example".to_string()),
            (
                "POSTERN_LISTEN_SMTP".into(),
                "127.0.0.1:25, [::1]:25".into(),
            ),
            ("POSTERN_LIMITS_MAX_MESSAGE_SIZE".into(), "4096".into()),
            ("POSTERN_SMTP_BARE_LF".into(), "reject".into()),
            ("PATH".into(), "/bin".into()),
        ];
        let config = Config::load(Some(file.path()), env).unwrap();
        assert_eq!(config.hostname, "b.example");
        assert_eq!(config.listen.smtp.len(), 2);
        assert_eq!(config.limits.max_message_size.0, 4096);
        assert_eq!(config.smtp.bare_lf, BareLf::Reject);
    }

    #[test]
    fn bad_environment_is_explained() {
        let err = Config::load(None, [("POSTERN_NOPE".to_string(), "1".to_string())])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("POSTERN_NOPE") && err.contains("POSTERN_DATA_DIR"),
            "{err}"
        );
        let err = Config::load(
            None,
            [(
                "POSTERN_LIMITS_MAX_CONNECTIONS".to_string(),
                "many".to_string(),
            )],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("whole number"), "{err}");
        let err = Config::load(
            None,
            [(
                "POSTERN_LIMITS_MAX_MESSAGE_SIZE".to_string(),
                "big".to_string(),
            )],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("not a size"), "{err}");
        let size = |text: &str| {
            Config::load(
                None,
                [("POSTERN_STORAGE_CACHE_SIZE".to_string(), text.to_string())],
            )
            .map(|config| config.storage.cache_size)
        };
        assert_eq!(size("64M").unwrap(), Some(Size(64 << 20)));
        assert_eq!(size("2097152").unwrap(), Some(Size(2 << 20)));
        assert!(size("512K").unwrap_err().to_string().contains("1 MiB"));
    }

    #[test]
    fn relative_paths_are_read_from_the_config_files_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("postern.toml");
        std::fs::write(
            &file,
            "data_dir = \"data\"\n[tls]\ncert = \"tls/cert.pem\"\nkey = \"/abs/key.pem\"\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), []).unwrap();
        assert_eq!(config.data_dir, dir.path().join("data"));
        let tls = config.tls.unwrap();
        assert_eq!(tls.cert, dir.path().join("tls/cert.pem"));
        assert_eq!(tls.key, PathBuf::from("/abs/key.pem"));
        // Without a file, relative to where the command runs, as before.
        let config = Config::load(None, []).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("postern-data"));
    }

    #[test]
    fn the_config_file_is_found_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (system, local) = (dir.path().join("etc.toml"), dir.path().join("here.toml"));
        let flag = Path::new("/given.toml");
        let env = std::ffi::OsStr::new("/from-env.toml");
        let candidates = [system.as_path(), local.as_path()];
        let locate = |flag, env| Config::locate(flag, env, &candidates);
        assert_eq!(locate(Some(flag), Some(env)), Some(flag.to_path_buf()));
        assert_eq!(locate(None, Some(env)), Some(PathBuf::from(env)));
        assert_eq!(locate(None, None), None);
        std::fs::write(&local, "").unwrap();
        assert_eq!(locate(None, None), Some(local.clone()));
        std::fs::write(&system, "").unwrap();
        assert_eq!(locate(None, None), Some(system.clone()));
        assert_eq!(
            locate(None, Some(std::ffi::OsStr::new(""))),
            locate(None, None)
        );
    }

    #[test]
    fn reads_the_dns_section() {
        let file = write(
            r#"
[dns]
timeout = "3s"
nameservers = ["127.0.0.1:5353", "::1"]
[dns.static]
"example.net" = { mx = ["mx1.example.net", "mx2.example.net"], txt = ["v=spf1 ip4:127.0.0.1 -all"] }
"Example.ORG." = { mx = ["20 b.example.org", "10 a.example.org"] }
"mx1.example.net" = { a = ["127.0.0.1"], aaaa = ["::1"], tlsa = ["3 1 1 0a0B"] }
"nomail.example.net" = { mx = ["."] }
"#,
        );
        let config = Config::load(Some(file.path()), []).unwrap();
        assert_eq!(config.dns.timeout.0.as_secs(), 3);
        let servers = config.dns.nameservers.unwrap();
        assert_eq!(servers[0].0, "127.0.0.1:5353".parse().unwrap());
        assert_eq!(servers[1].0, "[::1]:53".parse().unwrap());
        let table = &config.dns.static_names.0;
        assert_eq!(table.len(), 4);
        let net = table.get("example.net").unwrap();
        let order: Vec<(u16, &str)> = net
            .mx
            .iter()
            .map(|mx| (mx.preference, mx.host.as_str()))
            .collect();
        assert_eq!(order, [(0, "mx1.example.net"), (1, "mx2.example.net")]);
        assert_eq!(net.txt, ["v=spf1 ip4:127.0.0.1 -all"]);
        let org = table.get("example.org").unwrap();
        assert_eq!(org.mx[0].preference, 20);
        let mx1 = table.get("mx1.example.net").unwrap();
        assert_eq!(mx1.a, ["127.0.0.1".parse::<Ipv4Addr>().unwrap()]);
        assert_eq!(mx1.aaaa, ["::1".parse::<Ipv6Addr>().unwrap()]);
        assert_eq!(mx1.tlsa[0].to_string(), "3 1 1 0a0b");
        assert_eq!(
            table.tlsa("_2525._tcp.mx1.example.net"),
            Some(&mx1.tlsa[..])
        );
        assert!(config.dns.dnssec, "on by default");
    }

    #[test]
    fn dns_defaults_to_the_system_resolver() {
        let config = Config::load(None, []).unwrap();
        assert_eq!(config.dns.timeout.0.as_secs(), 5);
        assert!(config.dns.nameservers.is_none());
        assert!(config.dns.static_names.0.is_empty());
    }

    #[test]
    fn dns_mistakes_are_explained() {
        let cases = [
            (
                r#""mx.example" = { a = ["300.1.2.3"] }"#,
                r#""300.1.2.3" is not an IPv4 address"#,
            ),
            (r#""mx.example" = { a = ["::1"] }"#, "list it under aaaa"),
            (
                r#""mx.example" = { aaaa = ["10.0.0.1"] }"#,
                "list it under a",
            ),
            (
                r#""exa mple.net" = { a = ["10.0.0.1"] }"#,
                "is not a domain name: it contains ' '",
            ),
            (
                r#""example.net" = { mx = ["x10 mx"] }"#,
                "preference must be",
            ),
            (r#""example.net" = { mx = ["10 mx extra"] }"#, "neither"),
            (r#""example.net" = { mx = [".", "10 mx"] }"#, "null MX"),
            (r#""example.net" = { mx = ["mx..example"] }"#, "empty label"),
            (r#""example.net" = { cname = ["x"] }"#, "cname"),
            (
                r#""mx.example" = { tlsa = ["3 1 1 xyz"] }"#,
                "tlsa: \"3 1 1 xyz\" is not a TLSA record",
            ),
            (
                "\"example.net\" = {}\n\"EXAMPLE.net.\" = {}",
                "listed twice",
            ),
        ];
        for (entry, expected) in cases {
            let file = write(&format!("[dns.static]\n{entry}\n"));
            let err = Config::load(Some(file.path()), []).unwrap_err().to_string();
            assert!(err.contains(expected), "{entry}: {err}");
        }
        let file = write("[dns]\nnameservers = [\"dns.example\"]\n");
        let err = Config::load(Some(file.path()), []).unwrap_err().to_string();
        assert!(err.contains("not an IP address or IP:port"), "{err}");
        let file = write("[dns]\ntimeout = \"0s\"\n");
        let err = Config::load(Some(file.path()), []).unwrap_err().to_string();
        assert!(err.contains("dns.timeout"), "{err}");
    }

    /// The image's configuration, as `docker run -e ...` in deploy/Containerfile sets it.
    #[test]
    fn the_container_configuration_reads_with_its_variables() {
        let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
        let file = deploy.join("container.toml");
        let env = [
            (
                "POSTERN_HOSTNAME".to_string(),
                "mail.example.org".to_string(),
            ),
            ("POSTERN_ACME_CONTACT".into(), "me@example.org".into()),
        ];
        let config = Config::load(Some(&file), env).unwrap();
        assert_eq!(config.data_dir, Path::new("/var/lib/postern"));
        assert_eq!(config.listen.smtp[0].port(), 25);
        let request = config.acme_request().unwrap();
        assert_eq!(request.names, ["mail.example.org"]);
        assert_eq!(request.proof, engine::acme::Proof::TlsAlpn01);
        // What the image copies in, and the ports it says it uses, are these.
        let containerfile = std::fs::read_to_string(deploy.join("Containerfile")).unwrap();
        assert!(containerfile.contains("COPY deploy/container.toml /etc/postern/postern.toml"));
        let exposed: Vec<u16> = containerfile
            .lines()
            .find_map(|line| line.strip_prefix("EXPOSE "))
            .unwrap()
            .split_whitespace()
            .map(|port| port.parse().unwrap())
            .collect();
        let listened: Vec<u16> = config
            .listen
            .services()
            .iter()
            .flat_map(|(_, addrs, _, _)| addrs.iter().map(SocketAddr::port))
            .collect();
        assert_eq!(exposed.len(), listened.len());
        assert!(listened.iter().all(|port| exposed.contains(port)));
        // Without a hostname for the certificate, ACME is refused with a reason.
        let env = [(
            "POSTERN_ACME_CONTACT".to_string(),
            "me@example.org".to_string(),
        )];
        let err = Config::load(Some(&file), env).unwrap_err().to_string();
        assert!(err.contains("set hostname"), "{err}");
    }

    #[test]
    fn acme_defaults_and_mistakes() {
        let file = write("hostname = \"mail.example.com\"\n[acme]\n");
        let config = Config::load(Some(file.path()), []).unwrap();
        let request = config.acme_request().unwrap();
        assert_eq!(request.names, ["mail.example.com"]);
        assert_eq!(request.directory, engine::acme::LETS_ENCRYPT);
        // The defaults listen for HTTPS, not on 443, and for HTTP: TLS-ALPN-01 unless
        // only port 80 is there.
        assert_eq!(request.proof, engine::acme::Proof::TlsAlpn01);
        let file = write(
            "hostname = \"mail.example.com\"\n[acme]\n[listen]\nhttps = []\nhttp = [\"0.0.0.0:80\"]\n",
        );
        let config = Config::load(Some(file.path()), []).unwrap();
        assert_eq!(
            config.acme_request().unwrap().proof,
            engine::acme::Proof::Http01
        );
        assert!(Config::default().acme_request().is_none());

        let cases = [
            (
                "[acme]\n",
                "not a domain name a certificate authority can check",
            ),
            (
                "[acme]\nnames = [\"a b.example\"]\n",
                "\"a b.example\" is not a domain name",
            ),
            (
                "[acme]\nnames = [\"m.example\"]\ndirectory = \"http://acme.example/dir\"\n",
                "not an https:// URL",
            ),
            (
                "[acme]\nnames = [\"m.example\"]\ncontact = [\"mailto:a@b.example\"]\n",
                "not an email address",
            ),
            (
                "[acme]\nnames = [\"m.example\"]\n[tls]\ncert = \"c\"\nkey = \"k\"\n",
                "keep one",
            ),
            (
                "[acme]\nnames = [\"m.example\"]\nchallenge = \"http-01\"\n[listen]\nhttp = []\n",
                "HTTP-01 is answered by [listen] http",
            ),
            (
                "[acme]\nnames = [\"m.example\"]\nchallenge = \"dns-01\"\n",
                "unknown variant",
            ),
        ];
        for (text, expected) in cases {
            let file = write(text);
            let err = Config::load(Some(file.path()), []).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn dns_environment_overrides() {
        let env = [
            ("POSTERN_DNS_TIMEOUT".to_string(), "2s".to_string()),
            ("POSTERN_DNS_NAMESERVERS".into(), "".into()),
        ];
        let config = Config::load(None, env).unwrap();
        assert_eq!(config.dns.timeout.0.as_secs(), 2);
        assert_eq!(config.dns.nameservers, Some(Vec::new()));
        let env = [(
            "POSTERN_DNS_NAMESERVERS".to_string(),
            "127.0.0.1:5353, 192.0.2.53".to_string(),
        )];
        let config = Config::load(None, env).unwrap();
        assert_eq!(config.dns.nameservers.unwrap().len(), 2);
    }

    #[test]
    fn delivery_relay() {
        let relay = |text: &str| RelayUrl::try_from(text.to_string());
        let url = |host: &str, port, implicit_tls| RelayUrl {
            host: host.into(),
            port,
            implicit_tls,
        };
        assert_eq!(
            relay("smtp://smtp.example.com"),
            Ok(url("smtp.example.com", 587, false))
        );
        assert_eq!(
            relay("smtp://smtp.example.com:2525/"),
            Ok(url("smtp.example.com", 2525, false))
        );
        assert_eq!(
            relay("smtps://mail.example.com"),
            Ok(url("mail.example.com", 465, true))
        );
        assert_eq!(
            relay("smtps://[2001:db8::1]:4650"),
            Ok(url("2001:db8::1", 4650, true))
        );
        assert_eq!(
            relay("smtp://127.0.0.1:25"),
            Ok(url("127.0.0.1", 25, false))
        );
        for bad in [
            "http://x",
            "smtp.example.com",
            "smtp://",
            "smtp://h:0",
            "smtp://h:x",
            "smtp://u@h",
        ] {
            assert!(relay(bad).unwrap_err().contains("delivery.relay"), "{bad}");
        }
        let file = write("[delivery]\nrelay = \"smtp://relay.test\"\nrelay_user = \"u\"\n");
        let err = Config::load(Some(file.path()), []).unwrap_err().to_string();
        assert!(err.contains("go together"), "{err}");
        let env = [
            (
                "POSTERN_DELIVERY_RELAY".to_string(),
                "smtps://relay.test".to_string(),
            ),
            ("POSTERN_DELIVERY_RELAY_USER".into(), "u".into()),
            ("POSTERN_DELIVERY_RELAY_PASSWORD".into(), "p".into()),
            ("POSTERN_DELIVERY_RELAY_VERIFY_TLS".into(), "false".into()),
        ];
        let config = Config::load(None, env).unwrap();
        assert_eq!(config.delivery.relay, Some(url("relay.test", 465, true)));
        assert!(!config.delivery.relay_verify_tls);
        assert_eq!(config.delivery.workers, 4);
    }
}
