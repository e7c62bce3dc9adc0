//! Domain names as the resolver compares and sends them.

use super::DnsError;

/// Longest name in its text form without the final dot (RFC 1035 §3.1: 255 octets on the
/// wire).
const MAX_NAME: usize = 253;
/// Longest label (RFC 1035 §2.3.4).
const MAX_LABEL: usize = 63;

/// The name under which `ip`'s PTR records are published: `7.2.0.192.in-addr.arpa`
/// (RFC 1035 §3.5), or the address's 32 nibbles in reverse under `ip6.arpa` (RFC 3596
/// §2.5).
pub fn reverse_name(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        std::net::IpAddr::V6(v6) => {
            let mut name = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                name.push_str(&format!("{:x}.{:x}.", byte & 0x0f, byte >> 4));
            }
            name.push_str("ip6.arpa");
            name
        }
    }
}

/// `name` in lower case without its final dot, or why it cannot be looked up. Letters,
/// digits, `-` and `_` (for `_dmarc`, `_domainkey`, `_25._tcp`) are allowed; names outside
/// ASCII must be given in their `xn--` form. The root alone is `.`, which only an MX record
/// can name.
pub fn normalize_name(name: &str) -> Result<String, DnsError> {
    let invalid = |why: String| {
        Err(DnsError::InvalidName(format!(
            "{name:?} is not a domain name: it {why}"
        )))
    };
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.is_empty() {
        return invalid("is empty".into());
    }
    if bare.len() > MAX_NAME {
        return invalid(format!("is longer than {MAX_NAME} characters"));
    }
    for label in bare.split('.') {
        if label.is_empty() {
            return invalid("has an empty label (two dots in a row, or a leading dot)".into());
        }
        if label.len() > MAX_LABEL {
            return invalid(format!("has a label longer than {MAX_LABEL} characters"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return invalid(if c.is_ascii() {
                format!("contains {c:?}")
            } else {
                "is not ASCII; write it in its xn-- form".into()
            });
        }
    }
    Ok(bare.to_ascii_lowercase())
}
