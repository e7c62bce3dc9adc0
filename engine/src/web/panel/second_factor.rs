//! One-time codes (TOTP, RFC 6238: six digits, 30 seconds, HMAC-SHA1 as every
//! authenticator app reads them) as the web pages' second factor. A user sets them up on
//! their page by scanning a QR code and typing the first code; from then on a log-in
//! needs the code after the password.
//!
//! A code is accepted once (§5.2: a replayed one is refused) and one step either side of
//! now (clock drift). Guessing is bounded per account: after [`MAX_FAILURES`] wrong codes
//! the account's codes are refused for [`PAUSE`] seconds, whoever asks. The tables are
//! bounded and forget their oldest entries.

use std::collections::HashMap;
use std::sync::Mutex;

use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Wrong codes an account may get before a pause.
pub const MAX_FAILURES: u32 = 5;

/// How long a pause lasts, in seconds.
pub const PAUSE: i64 = 300;

/// How long a secret shown at set-up waits for its first code, in seconds.
const PENDING_FOR: i64 = 600;

/// Accounts tracked at most.
const MAX_ENTRIES: usize = 4096;

/// Why a code was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Wrong, used already, or not a code.
    Wrong,
    /// Too many wrong codes just now.
    Paused,
}

#[derive(Clone, Copy, Debug, Default)]
struct Record {
    /// The last step a code was accepted for.
    last_step: u64,
    failures: u32,
    /// While failing: until when codes are refused.
    paused_until: i64,
    /// When the record was last touched, for forgetting the oldest.
    touched: i64,
}

/// What the server remembers about codes: who used which step, who is failing, and the
/// secrets shown at set-up.
#[derive(Default)]
pub struct Codes {
    records: Mutex<HashMap<String, Record>>,
    pending: Mutex<HashMap<String, (Vec<u8>, i64)>>,
}

impl Codes {
    /// Checks `code` against `secret` for `email` at `now` (Unix seconds).
    pub fn check(&self, email: &str, secret: &[u8], code: &str, now: i64) -> Result<(), Refusal> {
        let key = email.to_ascii_lowercase();
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let record = records.get(&key).copied().unwrap_or_default();
        if record.paused_until > now {
            return Err(Refusal::Paused);
        }
        let step = totp(secret)
            .and_then(|totp| totp.check(code.trim(), u64::try_from(now).unwrap_or_default()))
            .filter(|&step| step > record.last_step);
        let mut updated = Record {
            touched: now,
            ..record
        };
        let verdict = match step {
            Some(step) => {
                updated.last_step = step;
                updated.failures = 0;
                Ok(())
            }
            None => {
                updated.failures = record.failures.saturating_add(1);
                if updated.failures >= MAX_FAILURES {
                    updated.failures = 0;
                    updated.paused_until = now.saturating_add(PAUSE);
                }
                Err(Refusal::Wrong)
            }
        };
        forget_oldest(&mut records, |r| r.touched);
        records.insert(key, updated);
        verdict
    }

    /// Makes a secret for `email` to set up, kept until its first code confirms it.
    pub fn start(&self, email: &str, now: i64) -> Option<Vec<u8>> {
        let mut secret = vec![0u8; 20];
        getrandom::fill(&mut secret).ok()?;
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.retain(|_, (_, expires)| *expires > now);
        forget_oldest(&mut pending, |(_, expires)| *expires);
        pending.insert(
            email.to_ascii_lowercase(),
            (secret.clone(), now.saturating_add(PENDING_FOR)),
        );
        Some(secret)
    }

    /// The secret being set up for `email`, if it is still waiting.
    pub fn pending(&self, email: &str, now: i64) -> Option<Vec<u8>> {
        let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending
            .get(&email.to_ascii_lowercase())
            .filter(|(_, expires)| *expires > now)
            .map(|(secret, _)| secret.clone())
    }

    /// The set-up of `email` is over.
    pub fn finish(&self, email: &str) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.remove(&email.to_ascii_lowercase());
    }
}

/// Makes room in a full table by removing its entry with the smallest `age`.
fn forget_oldest<V>(table: &mut HashMap<String, V>, age: impl Fn(&V) -> i64) {
    if table.len() < MAX_ENTRIES {
        return;
    }
    let oldest = table
        .iter()
        .min_by_key(|(_, value)| age(value))
        .map(|(key, _)| key.clone());
    if let Some(oldest) = oldest {
        table.remove(&oldest);
    }
}

fn totp(secret: &[u8]) -> Option<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .build()
        .ok()
}

/// The secret as people type it into an app: base32 (RFC 4648), no padding.
pub fn base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// The `otpauth://` URL an app reads from the QR code (Google Authenticator's "Key Uri
/// Format"): the issuer is this server's hostname, the account the user's address.
pub fn otpauth_url(secret: &[u8], email: &str, hostname: &str) -> String {
    let encode = |text: &str| {
        percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        encode(hostname),
        encode(email),
        base32(secret),
        encode(hostname)
    )
}

/// The QR code of `text` as an SVG element to put inside a page (without the XML
/// declaration a file would start with).
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    let start = svg.find("<svg")?;
    Some(svg.get(start..)?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238's SHA-1 key, and its test vectors (Appendix B) cut to six digits.
    const KEY: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_of_rfc_6238_are_accepted_once() {
        let codes = Codes::default();
        assert_eq!(codes.check("a@b", KEY, "287082", 59), Ok(()));
        assert_eq!(
            codes.check("a@b", KEY, "287082", 59),
            Err(Refusal::Wrong),
            "replayed"
        );
        assert_eq!(codes.check("a@b", KEY, "081804", 1_111_111_109), Ok(()));
        // A step either side of now is accepted (clock drift), further is not.
        assert_eq!(
            codes.check("c@d", KEY, "081804", 1_111_111_109 + 30),
            Ok(())
        );
        assert_eq!(
            codes.check("e@f", KEY, "081804", 1_111_111_109 + 90),
            Err(Refusal::Wrong)
        );
    }

    #[test]
    fn guessing_pauses_the_account() {
        let codes = Codes::default();
        for _ in 0..MAX_FAILURES {
            assert_eq!(codes.check("a@b", KEY, "000000", 59), Err(Refusal::Wrong));
        }
        assert_eq!(codes.check("a@b", KEY, "287082", 59), Err(Refusal::Paused));
        assert_eq!(
            codes.check("a@b", KEY, "287082", 59 + PAUSE),
            Err(Refusal::Wrong),
            "too late for that code"
        );
        assert_eq!(
            codes.check("A@b", KEY, &code_at(59 + PAUSE), 59 + PAUSE),
            Ok(())
        );
    }

    fn code_at(time: i64) -> String {
        totp(KEY).unwrap().generate(time as u64).to_string()
    }

    #[test]
    fn the_tables_never_grow_past_their_bound() {
        let codes = Codes::default();
        for i in 0..MAX_ENTRIES as i64 + 50 {
            let email = format!("u{i}@example.org");
            let _ = codes.check(&email, KEY, "000000", 1_000 + i);
            // All set up at once, so that none expires before the table fills.
            codes.start(&email, 1_000).unwrap();
        }
        assert_eq!(codes.records.lock().unwrap().len(), MAX_ENTRIES);
        assert_eq!(codes.pending.lock().unwrap().len(), MAX_ENTRIES);
        // Room is made for the newest.
        let newest = format!("u{}@example.org", MAX_ENTRIES + 49);
        assert!(codes.pending(&newest, 1_001).is_some());
    }

    #[test]
    fn set_up_secrets_wait_a_while() {
        let codes = Codes::default();
        let secret = codes.start("a@b", 100).unwrap();
        assert_eq!(secret.len(), 20);
        assert_eq!(codes.pending("A@B", 100 + PENDING_FOR - 1), Some(secret));
        assert_eq!(codes.pending("a@b", 100 + PENDING_FOR), None);
        codes.finish("a@b");
        assert_eq!(codes.pending("a@b", 101), None);
    }

    #[test]
    fn secrets_and_urls_are_written_as_apps_read_them() {
        // RFC 4648 §10's vectors.
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        let url = otpauth_url(b"foobar", "ann@example.org", "mail.example.org");
        assert_eq!(
            url,
            "otpauth://totp/mail%2Eexample%2Eorg:ann%40example%2Eorg?secret=MZXW6YTBOI&issuer=mail%2Eexample%2Eorg&algorithm=SHA1&digits=6&period=30"
        );
        let svg = qr_svg(&url).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
