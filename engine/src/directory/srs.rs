//! The Sender Rewriting Scheme: mail for a local alias that forwards to another domain goes
//! out with an envelope sender of ours that encodes the original one. The destination's SPF
//! check then sees our domain, which we send for, and a bounce comes back to us, to be passed
//! on to the original sender.
//!
//! The address is `SRS0=HHHH=TT=domain=local@forwarding.domain` (the form libsrs2 and
//! Postfix's postsrsd write): `TT` the day it was made, so that bounces to old addresses are
//! refused, and `HHHH` a keyed hash of the rest, so that no one can make us relay by writing
//! such an address themselves.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Lowercase base32 (RFC 4648 alphabet), safe in case-insensitive local parts.
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// How many days a bounce to a rewritten address is accepted.
const MAX_AGE_DAYS: u32 = 21;
/// Days the timestamp counts before it wraps around (two base32 digits).
const DAYS_WRAP: u32 = 1024;
const DAY: i64 = 24 * 3600;

/// Rewrites and checks SRS addresses with one secret key.
#[derive(Clone)]
pub struct Srs {
    key: [u8; 32],
}

impl std::fmt::Debug for Srs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is never shown.
        f.write_str("Srs")
    }
}

impl Srs {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// The envelope sender for `sender`'s mail forwarded through `domain` at `now`. The null
    /// sender stays null: a bounce is forwarded as one.
    pub fn forward(&self, sender: &str, domain: &str, now: i64) -> String {
        let Some((local, sender_domain)) = sender.rsplit_once('@') else {
            return sender.to_string();
        };
        let stamp = timestamp(day(now));
        let hash = self.hash(&stamp, sender_domain, local);
        format!("SRS0={hash}={stamp}={sender_domain}={local}@{domain}")
    }

    /// The original sender of a rewritten local part, if it is one of ours (its hash checks
    /// out) and recent enough.
    pub fn reverse(&self, local_part: &str, now: i64) -> Option<String> {
        let prefix = local_part.get(..5)?;
        if !prefix.eq_ignore_ascii_case("SRS0=") {
            return None;
        }
        let mut fields = local_part.get(5..)?.splitn(4, '=');
        let (hash, stamp, domain, local) = (
            fields.next()?,
            fields.next()?,
            fields.next()?,
            fields.next()?,
        );
        if domain.is_empty() || local.is_empty() {
            return None;
        }
        let expected = self.hash(&stamp.to_ascii_lowercase(), domain, local);
        if !hash.eq_ignore_ascii_case(&expected) {
            return None;
        }
        let age = (day(now) + DAYS_WRAP - parse_timestamp(stamp)?) % DAYS_WRAP;
        (age <= MAX_AGE_DAYS).then(|| format!("{local}@{domain}"))
    }

    /// Four base32 digits of the HMAC-SHA256 of the fields, case folded: local parts are
    /// compared without regard to case on the way back.
    fn hash(&self, stamp: &str, domain: &str, local: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key size");
        mac.update(stamp.as_bytes());
        mac.update(domain.to_ascii_lowercase().as_bytes());
        mac.update(local.to_ascii_lowercase().as_bytes());
        let digest = mac.finalize().into_bytes();
        digest
            .iter()
            .take(4)
            .map(|byte| char::from(BASE32[usize::from(byte % 32)]))
            .collect()
    }
}

/// The day number of `now`, wrapped.
fn day(now: i64) -> u32 {
    u32::try_from(now.div_euclid(DAY).rem_euclid(i64::from(DAYS_WRAP))).unwrap_or(0)
}

fn timestamp(day: u32) -> String {
    [day / 32, day % 32]
        .iter()
        .map(|&digit| char::from(BASE32[digit as usize % 32]))
        .collect()
}

fn parse_timestamp(stamp: &str) -> Option<u32> {
    let digit = |c: u8| BASE32.iter().position(|&b| b == c.to_ascii_lowercase());
    match stamp.as_bytes() {
        &[high, low] => Some(u32::try_from(digit(high)? * 32 + digit(low)?).ok()? % DAYS_WRAP),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn srs() -> Srs {
        Srs::new([7; 32])
    }

    #[test]
    fn forwards_and_comes_back() {
        let rewritten = srs().forward("Alice@Example.org", "example.test", NOW);
        let (local, domain) = rewritten.rsplit_once('@').unwrap();
        assert_eq!(domain, "example.test");
        assert!(local.starts_with("SRS0="), "{rewritten}");
        assert!(local.ends_with("=Example.org=Alice"), "{rewritten}");
        assert_eq!(
            srs().reverse(local, NOW).as_deref(),
            Some("Alice@Example.org")
        );
        // Local parts may come back in another case.
        let upper = local.to_ascii_uppercase();
        assert_eq!(
            srs().reverse(&upper, NOW).as_deref(),
            Some("ALICE@EXAMPLE.ORG")
        );
        assert_eq!(srs().forward("", "example.test", NOW), "");
    }

    #[test]
    fn forged_and_stale_addresses_are_refused() {
        let rewritten = srs().forward("alice@example.org", "example.test", NOW);
        let local = rewritten.rsplit_once('@').unwrap().0;
        assert_eq!(Srs::new([8; 32]).reverse(local, NOW), None, "another key");
        let tampered = local.replace("alice", "mallory");
        assert_eq!(srs().reverse(&tampered, NOW), None);
        assert!(srs().reverse(local, NOW + 21 * DAY).is_some());
        assert_eq!(srs().reverse(local, NOW + 22 * DAY), None);
        for junk in [
            "SRS0=",
            "SRS0=a=b=c",
            "srs0==aa=d=l",
            "postmaster",
            "SRS0=abcd=zz=d=",
        ] {
            assert_eq!(srs().reverse(junk, NOW), None, "{junk}");
        }
    }

    proptest! {
        #[test]
        fn any_sender_round_trips(
            local in "[a-zA-Z0-9.+=_-]{1,30}",
            domain in "[a-z0-9-]{1,20}\\.[a-z]{2,6}",
            days in 0i64..21,
        ) {
            let sender = format!("{local}@{domain}");
            let rewritten = srs().forward(&sender, "example.test", NOW);
            let back = srs().reverse(rewritten.rsplit_once('@').unwrap().0, NOW + days * DAY);
            prop_assert_eq!(back, Some(sender));
        }
    }
}
