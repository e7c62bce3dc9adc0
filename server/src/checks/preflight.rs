//! `postern preflight`: whether this machine can run the server its configuration
//! describes: the data directory, the ports, the disk, the clock, mail out on port 25,
//! and the names DNS gives the server and its address.

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use engine::dns::{MxAnswer, Resolver, reverse_name};
use futures_lite::future::block_on;

use super::{Report, connect, first_line, public};
use crate::config::Config;
use crate::control;

/// Free space below which mail soon cannot be stored.
const DISK_FAIL: u64 = 100 << 20;
/// Free space below which the operator should plan for more.
const DISK_WARN: u64 = 1 << 30;

/// What preflight is told besides the configuration.
pub struct Options<'a> {
    pub file: Option<&'a Path>,
    /// The addresses other machines reach the server at (behind NAT, or listening on
    /// every address); else the public ones it listens on.
    pub public: &'a [IpAddr],
    /// A domain whose mail exchangers show whether port 25 is open outbound.
    pub probe: &'a str,
}

pub fn run(config: &Config, options: &Options<'_>) -> Report {
    let mut report = Report::default();
    match options.file {
        Some(file) => report.ok("configuration", format!("{} reads well", file.display())),
        None => report.warn(
            "configuration",
            "none found: the built-in defaults listen on loopback only (run postern setup)",
        ),
    }
    data_dir(&mut report, &config.data_dir);
    ports(&mut report, config);
    disk(&mut report, &config.data_dir);
    clock(&mut report);
    let dns = crate::serve::resolver(&config.dns);
    outbound(&mut report, config, dns.as_ref(), options.probe);
    names(&mut report, config, dns.as_ref(), options.public);
    acme(&mut report, config);
    report
}

/// With `[acme]`: whether the authority can reach the listener that proves the names.
fn acme(report: &mut Report, config: &Config) {
    let Some(request) = config.acme_request() else {
        return;
    };
    let (listener, addresses, port) = match request.proof {
        engine::acme::Proof::TlsAlpn01 => ("https", &config.listen.https, 443),
        engine::acme::Proof::Http01 => ("http", &config.listen.http, 80),
    };
    let what = "certificate (ACME)";
    let names = request.names.join(" ");
    if addresses.iter().any(|a| a.port() == port) {
        report.ok(
            what,
            format!(
                "{names} will be proven by {} on port {port}; each name must resolve to this server",
                request.proof
            ),
        );
    } else {
        report.warn(
            what,
            format!(
                "{} is validated on port {port}, and [listen] {listener} has no address on it: \
                 the authority cannot reach it unless a proxy forwards that port here",
                request.proof
            ),
        );
    }
}

fn data_dir(report: &mut Report, dir: &Path) {
    let what = "data directory";
    let Ok(meta) = std::fs::metadata(dir) else {
        let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
        match parent.map(std::fs::metadata) {
            Some(Ok(_)) | None => report.ok(
                what,
                format!("{} will be made at the first start", dir.display()),
            ),
            Some(Err(e)) => report.fail(what, format!("{} cannot be made: {e}", dir.display())),
        }
        return;
    };
    let mode = meta.permissions().mode() & 0o777;
    let owner = meta.uid();
    let me = rustix::process::geteuid().as_raw();
    if owner != me && me != 0 {
        report.fail(
            what,
            format!(
                "{} belongs to user {owner}, not to this one ({me}): run as its owner",
                dir.display()
            ),
        );
    } else if mode & 0o077 != 0 {
        report.warn(
            what,
            format!(
                "{} can be read by others (mode {mode:o}): chmod 700 it",
                dir.display()
            ),
        );
    } else {
        report.ok(what, format!("{} is private", dir.display()));
    }
}

/// Each listening address free, unless this data directory's server runs (its ports are
/// its own: doctor checks them).
fn ports(report: &mut Report, config: &Config) {
    if control::send(
        &config.data_dir,
        &crate::admin::Request::Health,
        &mut |_, _| {},
    )
    .ok()
    .flatten()
    .is_some()
    {
        report.ok(
            "ports",
            "the server runs on this data directory and holds them (postern doctor checks it)",
        );
        return;
    }
    for endpoint in config.listen.endpoints() {
        let what = format!("port {} {}", endpoint.name, endpoint.address);
        match TcpListener::bind(endpoint.address) {
            Ok(_) => report.ok(what, "free"),
            Err(e) => match e.kind() {
                std::io::ErrorKind::AddrInUse => report.fail(
                    what,
                    format!(
                        "in use by another program (ss -ltnp 'sport = :{}' names it): stop it \
                         or change [listen]",
                        endpoint.address.port()
                    ),
                ),
                std::io::ErrorKind::PermissionDenied => report.fail(
                    what,
                    "ports below 1024 need root or CAP_NET_BIND_SERVICE (the systemd unit \
                     postern setup writes grants it)",
                ),
                _ => report.fail(what, format!("cannot listen there: {e}")),
            },
        }
    }
}

fn disk(report: &mut Report, dir: &Path) {
    // The directory may not exist yet: the filesystem it will be made on.
    let existing = dir
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    match rustix::fs::statvfs(existing) {
        Ok(stat) => {
            let free = stat.f_bavail.saturating_mul(stat.f_frsize);
            let said = format!(
                "{} free for {}",
                engine::units::size(free),
                existing.display()
            );
            if free < DISK_FAIL {
                report.fail("disk", format!("{said}: free some space first"));
            } else if free < DISK_WARN {
                report.warn("disk", format!("{said}: mail will soon fill it"));
            } else {
                report.ok("disk", said);
            }
        }
        Err(e) => report.warn("disk", format!("cannot read the free space: {e}")),
    }
}

/// Whether the clock is kept right: DKIM signatures, one-time codes and certificates are
/// checked against it.
fn clock(report: &mut Report) {
    if Path::new("/run/systemd/timesync/synchronized").exists() {
        report.ok("clock", "synchronized by systemd-timesyncd");
        return;
    }
    let asked = std::process::Command::new("timedatectl")
        .args(["show", "--property=NTPSynchronized", "--value"])
        .output();
    match asked
        .as_ref()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
    {
        Ok(answer) if answer == "yes" => report.ok("clock", "synchronized (timedatectl)"),
        Ok(answer) if answer == "no" => report.warn(
            "clock",
            "not synchronized: turn on NTP (timedatectl set-ntp true, or install chrony)",
        ),
        _ => report.warn(
            "clock",
            "cannot tell whether it is synchronized; DKIM, one-time codes and TLS need it \
             right to the second: run chrony or systemd-timesyncd",
        ),
    }
}

/// Whether mail can leave: a connection to the relay, or to `probe`'s mail exchanger on
/// port 25, which many providers block.
fn outbound(report: &mut Report, config: &Config, dns: &dyn Resolver, probe: &str) {
    let delivery = &config.delivery;
    let (what, host, port) = match &delivery.relay {
        Some(relay) => ("relay", relay.host.clone(), relay.port),
        None => {
            let host = match block_on(dns.mx(probe)) {
                Ok(answer) => match answer.value {
                    MxAnswer::Hosts(hosts) => hosts.into_iter().next().map(|mx| mx.host),
                    _ => None,
                },
                Err(_) => None,
            };
            let Some(host) = host else {
                report.warn(
                    "mail out",
                    format!("cannot find {probe}'s mail exchanger: is DNS working?"),
                );
                return;
            };
            ("mail out", host, delivery.remote_port)
        }
    };
    let addresses = block_on(dns.addresses(&host)).map(|a| a.value);
    let Some(&ip) = addresses.as_ref().ok().and_then(|a| a.first()) else {
        report.warn(what, format!("cannot find the address of {host}"));
        return;
    };
    // A relay on implicit TLS says nothing before the handshake: connecting is enough.
    let tls_first = delivery
        .relay
        .as_ref()
        .is_some_and(|relay| relay.implicit_tls);
    let greeting = connect(SocketAddr::new(ip, port)).and_then(|stream| match tls_first {
        true => Ok("220 (TLS first)".to_string()),
        false => first_line(stream),
    });
    match greeting {
        Ok(line) if line.starts_with("220") => {
            report.ok(what, format!("{host} port {port} answers"))
        }
        Ok(line) => report.warn(what, format!("{host} port {port} answered {line:?}")),
        Err(e) => {
            let hint = match &delivery.relay {
                Some(_) => "check [delivery] relay",
                None => {
                    "providers often block port 25 out: ask them to open it, or send \
                     through a relay ([delivery] relay)"
                }
            };
            report.warn(what, format!("{host} port {port}: {e}; {hint}"))
        }
    }
}

/// The hostname's addresses, and each public address's PTR naming the hostname back
/// (receivers check both before they trust a sender).
fn names(report: &mut Report, config: &Config, dns: &dyn Resolver, given: &[IpAddr]) {
    let hostname = &config.hostname;
    let found = block_on(dns.addresses(hostname)).map(|a| a.value);
    let addresses: Vec<IpAddr> = if given.is_empty() {
        config
            .listen
            .addresses()
            .into_iter()
            .filter(|ip| public(*ip))
            .collect()
    } else {
        given.to_vec()
    };
    match &found {
        Ok(ips) if ips.is_empty() => report.fail(
            "host name",
            format!("{hostname} has no address in DNS: publish its A/AAAA records"),
        ),
        Ok(ips) => {
            let listed: Vec<String> = ips.iter().map(IpAddr::to_string).collect();
            match addresses.iter().find(|ip| !ips.contains(ip)) {
                Some(missing) => report.warn(
                    "host name",
                    format!("{hostname} is {} in DNS, not {missing}", listed.join(", ")),
                ),
                None => report.ok("host name", format!("{hostname} is {}", listed.join(", "))),
            }
        }
        Err(e) => report.fail(
            "host name",
            format!("{hostname} cannot be found in DNS ({e}): publish its A/AAAA records"),
        ),
    }
    if addresses.is_empty() {
        report.warn(
            "reverse DNS",
            "no public address to check (listening on every address, or on private ones): \
             give it with --public-ip",
        );
    }
    for ip in addresses {
        let what = format!("reverse DNS {ip}");
        match block_on(dns.ptr(&reverse_name(ip))) {
            Ok(names) if names.iter().any(|name| name.eq_ignore_ascii_case(hostname)) => {
                report.ok(what, format!("names {hostname}"))
            }
            Ok(names) if names.is_empty() => report.warn(
                what,
                format!("no PTR record: ask the address's provider to name it {hostname}"),
            ),
            Ok(names) => report.warn(
                what,
                format!(
                    "names {}: ask the address's provider to name it {hostname}",
                    names.join(", ")
                ),
            ),
            Err(e) => report.warn(
                what,
                format!("no PTR record ({e}): ask the address's provider to name it {hostname}"),
            ),
        }
    }
}
