//! `postern preflight` and `postern doctor`: checks an operator runs, each ending in OK,
//! WARN or FAIL with what was found and what to do. Preflight looks at the machine before
//! the server runs there; doctor at a running server from outside, as mail clients and
//! other mail servers see it.

use std::fmt::Write;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

pub mod doctor;
pub mod preflight;

/// How long one network check may wait for a connection or an answer.
const NETWORK_WAIT: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Warn,
    Fail,
}

/// The checks' results in the order they ran.
#[derive(Debug, Default)]
pub struct Report {
    checks: Vec<(Verdict, String, String)>,
}

impl Report {
    /// Records that `what` is fine: `said` tells what was found.
    pub fn ok(&mut self, what: impl Into<String>, said: impl Into<String>) {
        self.checks.push((Verdict::Ok, what.into(), said.into()));
    }

    /// Records that `what` works but needs a look: `said` tells why and what to do.
    pub fn warn(&mut self, what: impl Into<String>, said: impl Into<String>) {
        self.checks.push((Verdict::Warn, what.into(), said.into()));
    }

    /// Records that `what` does not work: `said` tells why and what to do.
    pub fn fail(&mut self, what: impl Into<String>, said: impl Into<String>) {
        self.checks.push((Verdict::Fail, what.into(), said.into()));
    }

    pub fn failures(&self) -> usize {
        self.count(Verdict::Fail)
    }

    fn count(&self, verdict: Verdict) -> usize {
        self.checks.iter().filter(|(v, ..)| *v == verdict).count()
    }

    /// One line a check, `OK`/`WARN`/`FAIL` first, then a count.
    pub fn text(&self) -> String {
        let width = self.checks.iter().map(|(_, what, _)| what.len()).max();
        let width = width.unwrap_or(0);
        let mut out = String::new();
        for (verdict, what, said) in &self.checks {
            let word = match verdict {
                Verdict::Ok => "OK",
                Verdict::Warn => "WARN",
                Verdict::Fail => "FAIL",
            };
            let _ = writeln!(out, "{word:<4}  {what:<width$}  {said}");
        }
        let _ = writeln!(
            out,
            "{} checks: {} OK, {} to look at, {} failed",
            self.checks.len(),
            self.count(Verdict::Ok),
            self.count(Verdict::Warn),
            self.failures()
        );
        out
    }
}

/// Where to connect to reach a listener bound to `address`: the loopback address of its
/// family when it listens on every address.
fn reachable(address: SocketAddr) -> SocketAddr {
    match address.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), address.port())
        }
        IpAddr::V6(v6) if v6.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), address.port())
        }
        _ => address,
    }
}

/// A connection with [`NETWORK_WAIT`] for opening, reading and writing.
fn connect(address: SocketAddr) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&address, NETWORK_WAIT)?;
    stream.set_read_timeout(Some(NETWORK_WAIT))?;
    stream.set_write_timeout(Some(NETWORK_WAIT))?;
    Ok(stream)
}

/// The first line a server sends, at most 1 KiB of it.
fn first_line(stream: impl Read) -> std::io::Result<String> {
    let mut line = String::new();
    BufReader::new(stream.take(1024)).read_line(&mut line)?;
    Ok(line.trim_end().to_string())
}

/// Addresses reachable from other machines: not loopback, unspecified, private or
/// link-local.
fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_unspecified()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_documentation())
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                || v6.segments()[0] == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_says_each_verdict_and_counts_them() {
        let mut report = Report::default();
        report.ok("disk", "10.0 GiB free");
        report.warn("clock", "cannot tell whether it is synchronized");
        report.fail("port smtp 0.0.0.0:25", "in use");
        let text = report.text();
        assert!(
            text.starts_with("OK    disk                  10.0 GiB free\n"),
            "{text}"
        );
        assert!(
            text.contains("\nFAIL  port smtp 0.0.0.0:25  in use\n"),
            "{text}"
        );
        assert!(
            text.ends_with("3 checks: 1 OK, 1 to look at, 1 failed\n"),
            "{text}"
        );
        assert_eq!(report.failures(), 1);
    }

    #[test]
    fn public_addresses_are_told_apart() {
        for ip in [
            "127.0.0.1",
            "0.0.0.0",
            "10.1.2.3",
            "192.168.1.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "192.0.2.7",
            "2001:db8::1",
        ] {
            assert!(!public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["203.0.114.7", "2a01:4f8::1"] {
            assert!(public(ip.parse().unwrap()), "{ip}");
        }
    }
}
