//! DNS blocklists (RFC 5782): a client whose address a configured list names is refused at
//! `RCPT` (`[security] dnsbl`, off unless lists are given), as Postfix's
//! `reject_rbl_client` does. A lookup that fails counts as "not listed": a list that is
//! down never stops mail.

use std::net::IpAddr;

use proto_smtp::Reply;

use crate::Engine;
use crate::store::Store;

/// The name to look up for `ip` in `zone`: the address's octets (IPv4) or nibbles (IPv6)
/// in reverse, then the zone (RFC 5782 §2.1, §2.4).
pub fn query_name(ip: IpAddr, zone: &str) -> String {
    let zone = zone.trim_end_matches('.');
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.{zone}")
        }
        IpAddr::V6(v6) => {
            let mut name = String::with_capacity(64 + zone.len());
            for byte in v6.octets().iter().rev() {
                name.push_str(&format!("{:x}.{:x}.", byte & 0xf, byte >> 4));
            }
            name.push_str(zone);
            name
        }
    }
}

/// Whether an answer says "listed": an address in 127.0.0.0/8 (RFC 5782 §2.1), except
/// 127.255.255.0/24, which lists such as Spamhaus return for refused queries.
fn listed(answer: &IpAddr) -> bool {
    match answer {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            a == 127 && !(b == 255 && c == 255)
        }
        IpAddr::V6(_) => false,
    }
}

impl<S: Store> Engine<S> {
    /// The first configured list that names `ip`, if any.
    pub async fn blocklisted(&self, ip: IpAddr) -> Option<String> {
        for zone in &self.sender_checks().dnsbl {
            let name = query_name(ip, zone);
            if let Ok(answer) = self.resolver().addresses(&name).await
                && answer.value.iter().any(listed)
            {
                tracing::info!(client = %ip, list = %zone, "client listed in a DNS blocklist");
                return Some(zone.clone());
            }
        }
        None
    }
}

/// The refusal of a client `zone` lists.
pub fn refusal(ip: IpAddr, zone: &str) -> Reply {
    Reply::new(
        554,
        (5, 7, 1),
        format!("Service unavailable; client [{ip}] blocked using {zone}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_address_reversed_then_the_zone() {
        let v4: IpAddr = "192.0.2.99".parse().unwrap();
        assert_eq!(query_name(v4, "zen.example."), "99.2.0.192.zen.example");
        let mapped: IpAddr = "::ffff:192.0.2.99".parse().unwrap();
        assert_eq!(query_name(mapped, "zen.example"), "99.2.0.192.zen.example");
        // RFC 5782 §2.4's example.
        let v6: IpAddr = "2001:db8:1:2:3:4:567:89ab".parse().unwrap();
        assert_eq!(
            query_name(v6, "ugly.example.com"),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com"
        );
    }

    #[test]
    fn only_loopback_answers_list() {
        let ip = |t: &str| t.parse::<IpAddr>().unwrap();
        assert!(listed(&ip("127.0.0.2")));
        assert!(listed(&ip("127.0.0.10")));
        assert!(!listed(&ip("127.255.255.254")), "a refused query");
        assert!(!listed(&ip("192.0.2.1")));
    }
}
