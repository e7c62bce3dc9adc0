//! `postern doctor`: a running server checked end to end as others see it: every listener
//! answers, the certificate is trusted and not expiring, DNS has the records each domain
//! needs, a test message is accepted, and the queue moves.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};

use engine::io::TlsCheck;
use rustls_pki_types::ServerName;
use serde_json::Value;

use super::{Report, connect, reachable};
use crate::admin::{DnsFormat, Request};
use crate::config::Config;
use crate::control;

/// Days of validity left below which the certificate needs renewing soon.
const RENEW_DAYS: i64 = 14;
/// How long the queue's next attempt may be overdue before the queue looks stuck.
const OVERDUE_SECONDS: i64 = 600;

pub fn run(config: &Config) -> Report {
    let mut report = Report::default();
    let ask = |request: Request| match control::send(&config.data_dir, &request, &mut |_, _| {}) {
        Ok(Some(reply)) if reply.ok => Ok(Some(reply.text)),
        Ok(Some(reply)) => Err(reply.text),
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    };
    let health = match ask(Request::Health) {
        Ok(Some(text)) => serde_json::from_str::<Value>(&text).unwrap_or_default(),
        Ok(None) => {
            report.fail(
                "server",
                format!(
                    "no server runs on {}: start it (systemctl start postern, or postern serve)",
                    config.data_dir.display()
                ),
            );
            return report;
        }
        Err(e) => {
            report.fail("server", e);
            return report;
        }
    };
    report.ok(
        "server",
        format!(
            "postern {} runs on {}, up {}",
            health["version"].as_str().unwrap_or("?"),
            config.data_dir.display(),
            engine::units::span(health["uptime_seconds"].as_i64().unwrap_or(0))
        ),
    );
    match health["storage"]["ok"].as_bool() {
        Some(true) => {
            let free = health["storage"]["disk"]["available_bytes"].as_u64();
            report.ok(
                "storage",
                format!(
                    "answers; {} free",
                    free.map_or("?".into(), engine::units::size)
                ),
            );
        }
        _ => report.fail(
            "storage",
            "the database does not answer: read the server's log",
        ),
    }
    let client = match engine::client_tls::ClientTls::load(config.delivery.ca_file.as_deref()) {
        Ok(client) => client,
        Err(e) => {
            report.fail("TLS", e);
            return report;
        }
    };
    let listeners = health["listeners"].as_array().cloned().unwrap_or_default();
    for listener in &listeners {
        listener_answers(&mut report, &client, &config.hostname, listener);
    }
    certificate(&mut report, &client, &config.hostname, &health, &listeners);
    let domains = match ask(Request::DomainList) {
        Ok(Some(text)) => text.lines().map(str::to_string).collect(),
        _ => Vec::new(),
    };
    if domains.is_empty() {
        report.warn("domains", "none yet: postern domain add, or postern setup");
    }
    for domain in &domains {
        let request = Request::Dns {
            domain: domain.clone(),
            check: true,
            format: DnsFormat::Json,
        };
        match ask(request) {
            Ok(Some(text)) => records(&mut report, domain, &text),
            Ok(None) | Err(_) => report.warn(format!("DNS {domain}"), "could not be checked"),
        }
    }
    if let Some(domain) = domains.first() {
        test_delivery(&mut report, &config.hostname, &listeners, domain);
    }
    acme(&mut report, &health);
    queue(&mut report, &health);
    report
}

/// The listener's address and whether it speaks TLS from the start.
fn endpoint(listener: &Value) -> Option<(&str, SocketAddr, bool)> {
    let name = listener["name"].as_str()?;
    let address = listener["address"].as_str()?.parse().ok()?;
    Some((name, reachable(address), listener["tls"] == "implicit"))
}

/// A stream over TLS or not, to read a greeting from.
trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

fn open(
    client: &engine::client_tls::ClientTls,
    hostname: &str,
    address: SocketAddr,
    check: &TlsCheck,
    implicit_tls: bool,
) -> Result<Box<dyn Stream>, String> {
    let tcp = connect(address).map_err(|e| e.to_string())?;
    if !implicit_tls {
        return Ok(Box::new(tcp));
    }
    let config = client.config(check).map_err(|e| e.to_string())?;
    let name = ServerName::try_from(hostname.to_string()).map_err(|e| e.to_string())?;
    let connection = rustls::ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    // The handshake, so that a refused certificate is told apart from a silent server.
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .map_err(|e| e.to_string())?;
    }
    Ok(Box::new(stream))
}

fn listener_answers(
    report: &mut Report,
    client: &engine::client_tls::ClientTls,
    hostname: &str,
    listener: &Value,
) {
    let Some((name, address, implicit_tls)) = endpoint(listener) else {
        return;
    };
    let what = format!("{name} {address}");
    let (expected, request): (&str, Option<String>) = match name {
        "http" | "https" => (
            "HTTP/1.1 200",
            Some(format!(
                "GET /health HTTP/1.1\r\nHost: {hostname}\r\nConnection: close\r\n\r\n"
            )),
        ),
        "imap" | "imaps" => ("* OK", None),
        "pop3" | "pop3s" => ("+OK", None),
        // The greeting starts with the capabilities (RFC 5804 §1.7).
        "managesieve" => ("\"IMPLEMENTATION\"", None),
        _ => ("220", None),
    };
    let answer =
        open(client, hostname, address, &TlsCheck::Any, implicit_tls).and_then(|mut stream| {
            if let Some(request) = &request {
                stream
                    .write_all(request.as_bytes())
                    .map_err(|e| e.to_string())?;
            }
            let mut line = String::new();
            BufReader::new(stream.take(1024))
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            Ok(line.trim_end().to_string())
        });
    match answer {
        Ok(line) if line.starts_with(expected) => report.ok(what, format!("answers {line:?}")),
        Ok(line) => report.fail(what, format!("answered {line:?}, not {expected:?}")),
        Err(e) => report.fail(what, format!("does not answer: {e}")),
    }
}

/// Whether a client that checks certificates, as mail apps and other servers do, trusts
/// the one presented, and how long it has left.
fn certificate(
    report: &mut Report,
    client: &engine::client_tls::ClientTls,
    hostname: &str,
    health: &Value,
    listeners: &[Value],
) {
    let Some((name, address, _)) = listeners
        .iter()
        .filter_map(endpoint)
        .find(|(_, _, implicit_tls)| *implicit_tls)
    else {
        report.warn(
            "certificate",
            "no listener with TLS from the start to check it on",
        );
        return;
    };
    let days = health["certificate"]["days_left"].as_i64();
    let left = days.map_or(String::new(), |days| format!(", {days} days left"));
    if days.is_some_and(|days| days < 0) {
        report.fail(
            "certificate",
            "expired: clients refuse it; renew it and send the server SIGHUP",
        );
        return;
    }
    match open(client, hostname, address, &TlsCheck::WebPki, true) {
        Ok(_) if days.is_some_and(|days| days < RENEW_DAYS) => report.warn(
            "certificate",
            format!("trusted for {hostname}{left}: renew it soon (then SIGHUP)"),
        ),
        Ok(_) => report.ok(
            "certificate",
            format!("trusted for {hostname} on {name}{left}"),
        ),
        Err(e) => report.warn(
            "certificate",
            format!(
                "not trusted for {hostname} ({e}){left}: mail apps warn and careful senders \
                 refuse; give one from a CA in [tls] (Let's Encrypt's, say) and SIGHUP"
            ),
        ),
    }
}

/// What DNS has of a domain's records, from `postern dns --check` as JSON.
fn records(report: &mut Report, domain: &str, json: &str) {
    let what = format!("DNS {domain}");
    let records: Vec<Value> = serde_json::from_str(json).unwrap_or_default();
    let not_there: Vec<String> = records
        .iter()
        .filter(|record| {
            !matches!(
                record["found"]["state"].as_str(),
                Some("matches" | "resolves" | "unchecked")
            )
        })
        .map(|record| {
            format!(
                "{} {} ({})",
                record["type"].as_str().unwrap_or("?"),
                record["name"].as_str().unwrap_or("?"),
                record["found"]["state"].as_str().unwrap_or("?")
            )
        })
        .collect();
    if not_there.is_empty() {
        report.ok(what, format!("all {} records published", records.len()));
    } else {
        report.warn(
            what,
            format!(
                "{} of {} not as they should be: {}; see postern dns --domain {domain} --check",
                not_there.len(),
                records.len(),
                not_there.join(", ")
            ),
        );
    }
}

/// A message to the domain's postmaster through the MX listener, as another server would
/// send it.
fn test_delivery(report: &mut Report, hostname: &str, listeners: &[Value], domain: &str) {
    let what = "test delivery";
    let Some((_, address, _)) = listeners
        .iter()
        .filter_map(endpoint)
        .find(|(name, ..)| *name == "smtp")
    else {
        report.warn(what, "no MX listener (smtp) to send it to");
        return;
    };
    let to = format!("postmaster@{domain}");
    let message = format!(
        "From: <postmaster@{domain}>\r\nTo: <{to}>\r\nSubject: Postern doctor: test delivery\r\n\
         \r\nThis message checks that {hostname} takes mail for {domain}.\r\n.\r\n"
    );
    let steps = [
        (format!("EHLO {hostname}\r\n"), "250"),
        ("MAIL FROM:<>\r\n".to_string(), "250"),
        (format!("RCPT TO:<{to}>\r\n"), "250"),
        ("DATA\r\n".to_string(), "354"),
        (message, "250"),
        ("QUIT\r\n".to_string(), "221"),
    ];
    let outcome = connect(address)
        .map_err(|e| e.to_string())
        .and_then(|stream| converse(stream, &steps));
    match outcome {
        Ok(()) => report.ok(what, format!("{to} took a message on {address}")),
        Err(e) => report.fail(what, format!("to {to} on {address}: {e}")),
    }
}

/// Reads the greeting, then sends each step and wants its reply code.
fn converse(stream: TcpStream, steps: &[(String, &str)]) -> Result<(), String> {
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    // Replies of a few lines each: a listener that talks without end is cut off.
    let mut reader = BufReader::new(stream.take(64 * 1024));
    let mut reply = |wanted: &str| -> Result<(), String> {
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).map_err(|e| e.to_string())?;
            if line.is_empty() {
                return Err("the connection was closed".into());
            }
            // The last line of a reply has a space after its code.
            if line.as_bytes().get(3) != Some(&b'-') {
                return match line.starts_with(wanted) {
                    true => Ok(()),
                    false => Err(format!("answered {:?}", line.trim_end())),
                };
            }
        }
    };
    reply("220")?;
    for (sent, wanted) in steps {
        writer
            .write_all(sent.as_bytes())
            .map_err(|e| e.to_string())?;
        reply(wanted)?;
    }
    Ok(())
}

/// With `[acme]`: whether the certificate's renewal works.
fn acme(report: &mut Report, health: &Value) {
    let acme = &health["acme"];
    if acme.is_null() {
        return;
    }
    let what = "certificate (ACME)";
    if let Some(error) = acme["last_error"].as_str() {
        report.warn(
            what,
            format!(
                "the last order failed: {error}; the next is made at {} (the log says more)",
                acme["next_attempt"].as_str().unwrap_or("?")
            ),
        );
    } else if let Some(at) = acme["renews_at"].as_str() {
        report.ok(what, format!("obtained; renewed by itself at {at}"));
    } else {
        report.warn(what, "none obtained yet; the first order is under way");
    }
}

fn queue(report: &mut Report, health: &Value) {
    let depth = health["queue"]["depth"].as_u64().unwrap_or(0);
    if depth == 0 {
        report.ok("queue", "empty");
        return;
    }
    let next_in = health["queue"]["next_attempt_in_seconds"].as_i64();
    match next_in {
        Some(next_in) if -next_in > OVERDUE_SECONDS => report.warn(
            "queue",
            format!(
                "{depth} messages wait and the next attempt is {} overdue: read the log; \
                 postern queue stats",
                engine::units::span(-next_in)
            ),
        ),
        _ => report.ok(
            "queue",
            format!("{depth} messages wait for their next attempt (postern queue list)"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acme_renewal_is_reported_as_it_stands() {
        let verdict = |health: Value| {
            let mut report = Report::default();
            acme(&mut report, &health);
            report.text()
        };
        assert!(verdict(serde_json::json!({ "acme": null })).starts_with("0 checks"));
        let obtained = serde_json::json!({ "acme": {
            "renews_at": "2027-01-01T00:00:00Z", "last_error": null, "next_attempt": null
        }});
        assert!(verdict(obtained).contains("OK"));
        let failed = serde_json::json!({ "acme": {
            "renews_at": null, "last_error": "the order failed: no route", "next_attempt": "2026-12-06T11:00:00Z"
        }});
        let said = verdict(failed);
        assert!(
            said.contains("WARN") && said.contains("no route") && said.contains("11:00"),
            "{said}"
        );
    }
}
