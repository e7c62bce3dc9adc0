//! `postern setup`: from a fresh machine to a server ready for its domain. Writes the
//! configuration (unless one exists), makes the data directory, the first domain, its
//! administrator and DKIM keys, a hardened systemd unit, and prints the DNS records to
//! publish. Every step can run again: what exists already is kept and said so.

use std::io::{BufRead, IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::admin::{DkimRequest, DnsFormat, KeyAlgorithm, Request};
use crate::cli::{PasswordInput, manage, read_password};
use crate::config::Config;

/// The unit `setup` writes, with the paths of `deploy/postern.service` replaced by the
/// ones chosen.
const UNIT: &str = include_str!("../../deploy/postern.service");
const UNIT_BINARY: &str = "/usr/local/bin/postern";
const UNIT_CONFIG: &str = "/etc/postern/postern.toml";
const UNIT_DATA: &str = "/var/lib/postern";
/// The account the unit runs the server as.
const SERVICE_USER: &str = "postern";
/// Where the operator's own systemd units go.
const SYSTEM_UNITS: &str = "/etc/systemd/system";

#[derive(Args)]
pub struct SetupArgs {
    /// Ask nothing: every answer comes from these flags or the defaults.
    #[arg(long)]
    non_interactive: bool,
    /// This server's host name: its MX, the name in greetings and in its certificate.
    #[arg(long)]
    hostname: Option<String>,
    /// The first mail domain.
    #[arg(long)]
    domain: Option<String>,
    /// The first account, which may manage the server (default: postmaster@DOMAIN).
    #[arg(long, value_name = "EMAIL")]
    admin: Option<String>,
    #[command(flatten)]
    password: PasswordInput,
    /// Where mail is kept (default: /var/lib/postern as root, else ./postern-data).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// An address to listen on with the standard ports; repeat for several (default:
    /// every IPv4 and IPv6 address).
    #[arg(long = "listen", value_name = "IP")]
    listen: Vec<IpAddr>,
    /// The certificate chain (PEM) to present; without it a self-signed one is made.
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Obtain the certificate from Let's Encrypt (and renew it) instead; EMAIL is told
    /// when one is about to expire. The hostname must resolve to this server, and port
    /// 443 reach it. Asked when interactive and no --cert is given.
    #[arg(long, value_name = "EMAIL", conflicts_with = "cert")]
    acme: Option<String>,
    /// Where to write the systemd unit ("none": nowhere). Asked when interactive (as
    /// root on a systemd machine the default is /etc/systemd/system/postern.service);
    /// with --non-interactive, written only when given.
    #[arg(long, value_name = "FILE")]
    systemd_unit: Option<PathBuf>,
}

impl SetupArgs {
    /// Whether a flag that shapes a new configuration was given.
    fn shapes_config(&self) -> bool {
        self.hostname.is_some()
            || self.data_dir.is_some()
            || !self.listen.is_empty()
            || self.cert.is_some()
            || self.acme.is_some()
    }
}

/// Runs the setup with `file` as the configuration: read when it exists, else written.
pub fn run(file: &Path, args: SetupArgs) -> Result<(), String> {
    let mut ask = Ask {
        interactive: !args.non_interactive,
    };
    let config = if file.is_file() {
        if args.shapes_config() {
            return Err(format!(
                "{} exists already: edit it, or name another with --config",
                file.display()
            ));
        }
        say(&format!("Using the configuration in {}", file.display()));
        load(file)?
    } else {
        let text = new_config(&mut ask, &args)?;
        write_new(file, text.as_bytes(), 0o640)?;
        say(&format!("Wrote the configuration to {}", file.display()));
        load(file)?
    };
    // Only here, and in `serve`, is a data directory made. One that holds a store may be
    // in use by a running server: the steps below go through it.
    if !store_redb::RedbStore::holds_data(&config.data_dir) {
        crate::serve::open_store(&config)?;
    }
    say(&format!("Data directory: {}", config.data_dir.display()));

    let domain = match &args.domain {
        Some(domain) => Some(domain.clone()),
        None => ask.optional("The first mail domain (blank: none yet)")?,
    };
    if let Some(domain) = &domain {
        first_domain(&config, &mut ask, &args, domain)?;
    }
    let unit = unit_path(&mut ask, &args)?;
    if let Some(unit) = &unit {
        write_unit(unit, file, &config.data_dir)?;
    }

    if let Some(domain) = &domain {
        println!();
        println!("Publish these DNS records for {domain}:");
        print!(
            "{}",
            manage(
                &config,
                Request::Dns {
                    domain: domain.clone(),
                    check: false,
                    format: DnsFormat::Zone,
                }
            )?
        );
    }
    println!();
    println!("Next:");
    match &unit {
        Some(_) => println!("  systemctl daemon-reload && systemctl enable --now postern"),
        None => println!("  postern --config {} serve", file.display()),
    }
    if let Some(domain) = &domain {
        println!(
            "  postern --config {} dns --domain {domain} --check",
            file.display()
        );
    }
    Ok(())
}

/// The configuration file `setup` writes when none is named or found: the system's as
/// root, else one in the working directory.
pub fn default_file() -> PathBuf {
    if is_root() {
        PathBuf::from(crate::config::SEARCHED[0])
    } else {
        PathBuf::from(crate::config::SEARCHED[1])
    }
}

fn load(file: &Path) -> Result<Config, String> {
    Config::load(Some(file), std::env::vars()).map_err(|e| e.to_string())
}

/// The domain, its administrator and its DKIM keys, each made unless it exists.
fn first_domain(
    config: &Config,
    ask: &mut Ask,
    args: &SetupArgs,
    domain: &str,
) -> Result<(), String> {
    let domains = manage(config, Request::DomainList)?;
    if domains
        .lines()
        .any(|line| line.eq_ignore_ascii_case(domain))
    {
        say(&format!("The domain {domain} exists already"));
    } else {
        manage(
            config,
            Request::DomainAdd {
                name: domain.to_string(),
            },
        )?;
        say(&format!("Added the domain {domain}"));
    }
    let admin = match &args.admin {
        Some(admin) => admin.clone(),
        None => ask.text(
            "The administrator's address",
            &format!("postmaster@{domain}"),
        )?,
    };
    let users = manage(config, Request::UserList { domain: None })?;
    if users
        .lines()
        .any(|line| line.split_whitespace().next() == Some(admin.as_str()))
    {
        say(&format!("The account {admin} exists already"));
    } else {
        let password = read_password(&args.password, &admin)?;
        manage(
            config,
            Request::UserAdd {
                email: admin.clone(),
                password,
                quota: None,
                admin: true,
            },
        )?;
        say(&format!("Added {admin}, who may manage the server"));
    }
    let keys = manage(
        config,
        Request::Dkim(DkimRequest::List {
            domain: Some(domain.to_string()),
        }),
    )?;
    if keys.trim().is_empty() {
        manage(
            config,
            Request::Dkim(DkimRequest::Generate {
                domain: domain.to_string(),
                selector: None,
                algorithm: KeyAlgorithm::Both,
            }),
        )?;
        say(&format!("Made DKIM keys for {domain}: its mail is signed"));
    } else {
        say(&format!("{domain} has DKIM keys already"));
    }
    Ok(())
}

/// The text of a new configuration, from the flags and the answers.
fn new_config(ask: &mut Ask, args: &SetupArgs) -> Result<String, String> {
    let hostname = match &args.hostname {
        Some(hostname) => hostname.clone(),
        None => ask.text(
            "This server's host name (its MX, e.g. mail.example.org)",
            &system_hostname(),
        )?,
    };
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => {
            let default = if is_root() {
                PathBuf::from(UNIT_DATA)
            } else {
                std::path::absolute("postern-data").map_err(|e| e.to_string())?
            };
            PathBuf::from(ask.text("Where to keep mail", &default.display().to_string())?)
        }
    };
    let addresses = if args.listen.is_empty() {
        let all = [
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        ];
        let text = ask.text("Addresses to listen on, separated by spaces", "0.0.0.0 ::")?;
        let parsed: Result<Vec<IpAddr>, _> = text.split_whitespace().map(str::parse).collect();
        match parsed {
            Ok(addresses) if !addresses.is_empty() => addresses,
            Ok(_) => all.to_vec(),
            Err(_) => return Err(format!("{text:?} is not a list of IP addresses")),
        }
    } else {
        args.listen.clone()
    };
    let certificate = match (&args.cert, &args.key, &args.acme) {
        (Some(cert), Some(key), _) => Certificate::Files(absolute(cert)?, absolute(key)?),
        (_, _, Some(contact)) => Certificate::Acme(contact.clone()),
        _ => match ask.optional(
            "Get the certificate from Let's Encrypt? Its contact address (blank: self-signed)",
        )? {
            Some(contact) => Certificate::Acme(contact),
            None => Certificate::SelfSigned,
        },
    };
    Ok(config_text(&hostname, &data_dir, &addresses, &certificate))
}

/// Where the certificate comes from.
enum Certificate {
    /// The operator's files: the chain, the key.
    Files(PathBuf, PathBuf),
    /// Let's Encrypt, with this contact address.
    Acme(String),
    SelfSigned,
}

/// A configuration for a server on the standard ports of `addresses`.
fn config_text(
    hostname: &str,
    data_dir: &Path,
    addresses: &[IpAddr],
    certificate: &Certificate,
) -> String {
    let quote = |text: &str| toml::Value::String(text.to_string()).to_string();
    let ports = |port: u16| {
        let list: Vec<String> = addresses
            .iter()
            .map(|&ip| quote(&SocketAddr::new(ip, port).to_string()))
            .collect();
        format!("[{}]", list.join(", "))
    };
    let mut text = format!(
        "# Postern's configuration, written by `postern setup`. Every key is described in\n\
         # the README; POSTERN_<SECTION>_<KEY> variables override them.\n\
         hostname = {}\n\
         data_dir = {}\n\n\
         [listen]\n\
         smtp = {}\n\
         submission = {}\n\
         submissions = {}\n\
         imap = {}\n\
         imaps = {}\n\
         pop3 = {}\n\
         pop3s = {}\n\
         https = {}\n\
         # Mail clients edit their Sieve filters here (STARTTLS first).\n\
         managesieve = {}\n\
         # Plain HTTP only on loopback, for a reverse proxy that terminates TLS.\n\
         http = []\n",
        quote(hostname),
        quote(&data_dir.display().to_string()),
        ports(25),
        ports(587),
        ports(465),
        ports(143),
        ports(993),
        ports(110),
        ports(995),
        ports(443),
        ports(4190),
    );
    match certificate {
        Certificate::Files(cert, key) => {
            text.push_str(&format!(
                "\n[tls]\ncert = {}\nkey = {}\n",
                quote(&cert.display().to_string()),
                quote(&key.display().to_string())
            ));
        }
        Certificate::Acme(contact) => text.push_str(&format!(
            "\n# The certificate comes from Let's Encrypt for the hostname, proven on port 443\n\
             # (TLS-ALPN-01), and is renewed 30 days before it expires. Until the first one\n\
             # arrives a self-signed one stands in.\n\
             [acme]\ncontact = [{}]\n",
            quote(contact)
        )),
        Certificate::SelfSigned => text.push_str(
            "\n# No [tls]: a self-signed certificate is made in the data directory. Clients\n\
             # warn about it; give a real one with [tls] cert = \"...\" and key = \"...\".\n",
        ),
    }
    text
}

/// Where the unit goes: the flag ("none": nowhere), else asked, with the system's place
/// as the default when there is one; without the flag and without questions, nowhere (a
/// script asks for one by name).
fn unit_path(ask: &mut Ask, args: &SetupArgs) -> Result<Option<PathBuf>, String> {
    let system = Path::new(SYSTEM_UNITS);
    let default = (is_root() && system.is_dir()).then(|| system.join("postern.service"));
    let chosen = match &args.systemd_unit {
        Some(path) => Some(path.clone()),
        None if ask.interactive => {
            let shown = default
                .as_ref()
                .map_or("none".to_string(), |p| p.display().to_string());
            Some(PathBuf::from(ask.text(
                "Where to write the systemd unit (none: nowhere)",
                &shown,
            )?))
        }
        None => None,
    };
    Ok(chosen.filter(|path| path.as_os_str() != "none"))
}

/// Writes the unit for this binary, `config` and `data_dir`; installed as root, also makes
/// the account it runs as and gives it the data directory.
fn write_unit(unit: &Path, config: &Path, data_dir: &Path) -> Result<(), String> {
    let binary = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let config = absolute(config)?;
    let data_dir = absolute(data_dir)?;
    let text = UNIT
        .replace(UNIT_BINARY, &binary.display().to_string())
        .replace(UNIT_CONFIG, &config.display().to_string())
        .replace(UNIT_DATA, &data_dir.display().to_string());
    std::fs::write(unit, text).map_err(|e| format!("cannot write {}: {e}", unit.display()))?;
    say(&format!("Wrote the systemd unit {}", unit.display()));
    // Installed where systemd reads units: make what it needs. Written elsewhere (to look
    // at, or for another machine): say what it needs.
    if is_root() && unit.starts_with(SYSTEM_UNITS) {
        service_account(&config, &data_dir)
    } else {
        say(&format!(
            "It runs the server as the system account {SERVICE_USER}, which must own {}",
            data_dir.display()
        ));
        Ok(())
    }
}

/// The system account the unit names, made if missing, owning the data directory and able
/// to read the configuration.
fn service_account(config: &Path, data_dir: &Path) -> Result<(), String> {
    let run = |program: &str, args: &[&std::ffi::OsStr]| {
        let status = std::process::Command::new(program).args(args).status();
        match status {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(format!("{program} failed ({status})")),
            Err(e) => Err(format!("cannot run {program}: {e}")),
        }
    };
    let exists = std::process::Command::new("id")
        .arg(SERVICE_USER)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !exists {
        run(
            "useradd",
            &[
                "--system".as_ref(),
                "--user-group".as_ref(),
                "--home-dir".as_ref(),
                data_dir.as_os_str(),
                "--shell".as_ref(),
                "/usr/sbin/nologin".as_ref(),
                SERVICE_USER.as_ref(),
            ],
        )?;
        say(&format!("Made the system account {SERVICE_USER}"));
    }
    let owner = format!("{SERVICE_USER}:{SERVICE_USER}");
    run(
        "chown",
        &["-R".as_ref(), owner.as_ref(), data_dir.as_os_str()],
    )?;
    let group = format!("root:{SERVICE_USER}");
    run("chown", &[group.as_ref(), config.as_os_str()])
}

/// Creates `path` (and its directory) with `mode`, refusing to replace a file.
fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot make the directory {}: {e}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.write_all(contents)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn absolute(path: &Path) -> Result<PathBuf, String> {
    std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The machine's own name, the default host name.
fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// A step done, on standard error so that standard output holds what to publish.
fn say(text: &str) {
    eprintln!("{text}");
}

/// Questions on the terminal, or from standard input's lines (scripts, tests); none at all
/// with `--non-interactive`, where every question takes its default.
struct Ask {
    interactive: bool,
}

impl Ask {
    /// An answer, or `default` for a blank line.
    fn text(&mut self, question: &str, default: &str) -> Result<String, String> {
        if !self.interactive {
            return Ok(default.to_string());
        }
        eprint!("{question} [{default}]: ");
        let answer = self.line()?;
        Ok(if answer.is_empty() {
            default.to_string()
        } else {
            answer
        })
    }

    /// An answer, or none for a blank line.
    fn optional(&mut self, question: &str) -> Result<Option<String>, String> {
        if !self.interactive {
            return Ok(None);
        }
        eprint!("{question}: ");
        let answer = self.line()?;
        Ok((!answer.is_empty()).then_some(answer))
    }

    fn line(&mut self) -> Result<String, String> {
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        let read = std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the answer: {e}"))?;
        if read == 0 {
            let hint = if std::io::stdin().is_terminal() {
                ""
            } else {
                " (for scripts: --non-interactive with flags)"
            };
            return Err(format!("no answer given{hint}"));
        }
        Ok(line.trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_configuration_is_one_postern_reads() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("postern.toml");
        let addresses = [
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        ];
        let tls = Certificate::Files(
            PathBuf::from("/etc/ssl/a b.pem"),
            PathBuf::from("/etc/ssl/\"k\".pem"),
        );
        let text = config_text("mail.example.org", Path::new("mail data"), &addresses, &tls);
        std::fs::write(&file, text).unwrap();
        let config = Config::load(Some(&file), []).unwrap();
        assert_eq!(config.hostname, "mail.example.org");
        assert_eq!(config.data_dir, dir.path().join("mail data"));
        assert_eq!(config.listen.smtp.len(), 2);
        assert_eq!(config.listen.smtp[1].to_string(), "[::]:25");
        assert_eq!(config.listen.imaps[0].port(), 993);
        assert_eq!(config.listen.managesieve[1].to_string(), "[::]:4190");
        assert!(config.listen.http.is_empty());
        assert_eq!(config.tls.unwrap().key, PathBuf::from("/etc/ssl/\"k\".pem"));

        let acme = Certificate::Acme("hostmaster@example.org".into());
        let text = config_text("mail.example.org", Path::new("data"), &addresses, &acme);
        std::fs::write(&file, text).unwrap();
        let config = Config::load(Some(&file), []).unwrap();
        let request = config.acme_request().unwrap();
        assert_eq!(request.names, ["mail.example.org"]);
        assert_eq!(request.contact, ["hostmaster@example.org"]);
        assert_eq!(request.directory, engine::acme::LETS_ENCRYPT);
        assert_eq!(request.proof, engine::acme::Proof::TlsAlpn01);
    }

    #[test]
    fn the_unit_template_holds_the_paths_setup_replaces() {
        for path in [UNIT_BINARY, UNIT_CONFIG, UNIT_DATA] {
            assert!(UNIT.contains(path), "{path}");
        }
        assert!(UNIT.contains(&format!("User={SERVICE_USER}")));
    }
}
