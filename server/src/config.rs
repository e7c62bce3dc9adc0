//! The configuration file: one TOML document, every key optional, each overridable by a
//! `POSTERN_*` environment variable. Defaults are the embedded, loopback-only setup that
//! `postern serve` runs with no arguments.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
    /// Absent: a self-signed certificate generated in the data directory.
    pub tls: Option<Tls>,
    pub limits: Limits,
    pub smtp: Smtp,
    pub pop3: Pop3,
    pub imap: Imap,
    pub delivery: Delivery,
}

/// Addresses per service; an empty list disables that service.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Listen {
    pub smtp: Vec<SocketAddr>,
    pub submission: Vec<SocketAddr>,
    pub submissions: Vec<SocketAddr>,
    /// POP3 with STLS (110).
    pub pop3: Vec<SocketAddr>,
    /// POP3 over implicit TLS (995).
    pub pop3s: Vec<SocketAddr>,
    /// IMAP with STARTTLS (143).
    pub imap: Vec<SocketAddr>,
    /// IMAP over implicit TLS (993).
    pub imaps: Vec<SocketAddr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_message_size: u64,
    /// Connections served at once, over every listener. The server lowers it to what its
    /// file-descriptor limit allows.
    pub max_connections: usize,
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

/// Outbound delivery to other servers.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Delivery {
    /// PEM certificates trusted, besides Mozilla's roots, when verifying the servers mail is
    /// delivered to: a relay host or a partner with its own CA.
    pub ca_file: Option<PathBuf>,
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
            limits: Limits::default(),
            smtp: Smtp::default(),
            pop3: Pop3::default(),
            imap: Imap::default(),
            delivery: Delivery::default(),
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
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 25 * 1024 * 1024,
            max_connections: 20_000,
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
    ("tls", "cert", Kind::Text),
    ("tls", "key", Kind::Text),
    ("limits", "max_message_size", Kind::Integer),
    ("limits", "max_connections", Kind::Integer),
    ("smtp", "auth_without_tls", Kind::Boolean),
    ("smtp", "bare_lf", Kind::Text),
    ("pop3", "auth_without_tls", Kind::Boolean),
    ("imap", "auth_without_tls", Kind::Boolean),
    ("delivery", "ca_file", Kind::Text),
];

/// `POSTERN_*` variables that are not configuration keys.
const NOT_CONFIG: &[&str] = &["POSTERN_LOG"];

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
        let config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e| ConfigError(format!("in {origin} (or POSTERN_* variables): {e}")))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.hostname.is_empty() || self.hostname.contains(char::is_whitespace) {
            return Err(ConfigError(format!(
                "hostname {:?} is not a host name",
                self.hostname
            )));
        }
        if self.limits.max_message_size < 1024 {
            return Err(ConfigError(
                "limits.max_message_size must be at least 1024 bytes".into(),
            ));
        }
        if self.limits.max_connections == 0 {
            return Err(ConfigError(
                "limits.max_connections must be at least 1".into(),
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
max_message_size = 26214400
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
        assert_eq!(config.limits.max_message_size, 26_214_400);
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
        assert_eq!(config.limits.max_message_size, 4096);
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
                "POSTERN_LIMITS_MAX_MESSAGE_SIZE".to_string(),
                "big".to_string(),
            )],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("whole number"), "{err}");
    }
}
