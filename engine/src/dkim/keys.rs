//! Making keys, reading imported ones, loading them for signing, and the DNS record that
//! publishes a key's public half.
//!
//! Ed25519 keys come from ring (through mail-auth). ring cannot generate RSA keys, so those
//! come from the `rsa` crate; signing with either is ring's work in every case.

use base64::Engine as _;
use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use super::{Algorithm, DkimKey, PrivateKey};
use crate::Error;
use crate::mail::date::civil_from_days;

/// Bits of a generated RSA key: RFC 8301 §3.2 asks for 2048 and no less than 1024; larger
/// keys make records that some DNS panels refuse, and ring signs with no smaller.
pub const RSA_BITS: usize = 2048;
/// The RSA key sizes accepted on import: ring signs with 2048 bits and more, and a key above
/// 4096 bits makes a record few DNS hosts take.
const RSA_IMPORT_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;
/// The longest string a TXT record holds (RFC 1035 §3.3.14); longer values are split.
const TXT_STRING_MAX: usize = 255;

/// A new private key for `algorithm`.
pub fn generate(algorithm: Algorithm) -> Result<PrivateKey, Error> {
    let failed = |error: String| Error::Invalid(format!("cannot make a {algorithm} key: {error}"));
    let der = match algorithm {
        Algorithm::Ed25519 => Ed25519Key::generate_pkcs8().map_err(|e| failed(e.to_string()))?,
        Algorithm::Rsa => {
            let key = rsa::PrivateKey::new(&mut getrandom::SysRng, RSA_BITS)
                .map_err(|e| failed(e.to_string()))?;
            let der = key.to_pkcs8_der().map_err(|e| failed(e.to_string()))?;
            der.as_bytes().to_vec()
        }
    };
    Ok(PrivateKey(der))
}

/// Reads a private key in PEM form: PKCS#8 (`BEGIN PRIVATE KEY`, RSA or Ed25519, as
/// `openssl genpkey` writes) or PKCS#1 (`BEGIN RSA PRIVATE KEY`, as `opendkim-genkey`
/// writes), so a domain moving from OpenDKIM keeps its published record. The key is kept as
/// PKCS#8 whatever it came as. Errors never quote the key.
pub fn import(pem: &str) -> Result<(Algorithm, PrivateKey), Error> {
    let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|_| {
        Error::Invalid(
            "no private key found: expected PEM text starting with -----BEGIN PRIVATE KEY----- \
             or -----BEGIN RSA PRIVATE KEY-----"
                .into(),
        )
    })?;
    let (algorithm, key) = match der {
        PrivateKeyDer::Pkcs8(der) => {
            let der = der.secret_pkcs8_der();
            if Ed25519Key::from_pkcs8_maybe_unchecked_der(der).is_ok() {
                (Algorithm::Ed25519, PrivateKey(der.to_vec()))
            } else {
                let rsa = rsa::PrivateKey::from_pkcs8_der(der).map_err(|_| {
                    Error::Invalid("the key is neither an RSA nor an Ed25519 key".into())
                })?;
                check_rsa_size(&rsa)?;
                (Algorithm::Rsa, PrivateKey(der.to_vec()))
            }
        }
        PrivateKeyDer::Pkcs1(der) => {
            let rsa = rsa::PrivateKey::from_pkcs1_der(der.secret_pkcs1_der())
                .map_err(|_| Error::Invalid("the RSA private key cannot be read".into()))?;
            check_rsa_size(&rsa)?;
            let der = rsa
                .to_pkcs8_der()
                .map_err(|e| Error::Invalid(format!("cannot convert the RSA key: {e}")))?;
            (Algorithm::Rsa, PrivateKey(der.as_bytes().to_vec()))
        }
        _ => {
            return Err(Error::Invalid(
                "an elliptic-curve key cannot sign DKIM; use an RSA or Ed25519 key".into(),
            ));
        }
    };
    signing_key(algorithm, &key).map_err(|e| {
        Error::Invalid(format!(
            "the {algorithm} key cannot be used for signing: {e}"
        ))
    })?;
    Ok((algorithm, key))
}

fn check_rsa_size(key: &rsa::PrivateKey) -> Result<(), Error> {
    let bits = key.size() * 8;
    if RSA_IMPORT_BITS.contains(&bits) {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "the RSA key has {bits} bits; DKIM keys here have {} to {} bits",
        RSA_IMPORT_BITS.start(),
        RSA_IMPORT_BITS.end()
    )))
}

/// A key ready to sign with.
pub(crate) enum SigningKey {
    Ed25519(Ed25519Key),
    Rsa(RsaKey<Sha256>),
}

/// Parses a stored key for signing. Ed25519 keys may be PKCS#8 v1 (imported from OpenSSL,
/// without the public key) or v2 (generated, whose public key is checked against the
/// private one).
pub(crate) fn signing_key(
    algorithm: Algorithm,
    key: &PrivateKey,
) -> Result<SigningKey, mail_auth::Error> {
    Ok(match algorithm {
        Algorithm::Ed25519 => {
            SigningKey::Ed25519(Ed25519Key::from_pkcs8_maybe_unchecked_der(&key.0)?)
        }
        Algorithm::Rsa => SigningKey::Rsa(RsaKey::from_key_der(PrivateKeyDer::Pkcs8(
            PrivatePkcs8KeyDer::from(key.0.as_slice()),
        ))?),
    })
}

/// The public half as the record's `p=` tag carries it: an Ed25519 key's 32 bytes (RFC 8463
/// §4.2); an RSA key's SubjectPublicKeyInfo, the form `opendkim-genkey` publishes and every
/// verifier reads (some, dkimpy among them, read no other).
fn public_key(algorithm: Algorithm, key: &PrivateKey) -> Result<Vec<u8>, Error> {
    let unreadable =
        |e: String| Error::Invalid(format!("a stored {algorithm} key is damaged: {e}"));
    match algorithm {
        Algorithm::Ed25519 => Ed25519Key::from_pkcs8_maybe_unchecked_der(&key.0)
            .map(|key| key.public_key())
            .map_err(|e| unreadable(e.to_string())),
        Algorithm::Rsa => rsa::PrivateKey::from_pkcs8_der(&key.0)
            .map_err(|e| unreadable(e.to_string()))?
            .to_public_key()
            .to_public_key_der()
            .map(|der| der.as_bytes().to_vec())
            .map_err(|e| unreadable(e.to_string())),
    }
}

/// The selector `postern dkim generate` picks when none is given: the month it was made and
/// the algorithm, e.g. `postern-202607-rsa`, so a newer key gets a new name and both of a
/// domain's keys can be made at once.
pub fn default_selector(algorithm: Algorithm, now: i64) -> String {
    let (year, month, _) = civil_from_days(now.div_euclid(86_400));
    format!("postern-{year:04}{month:02}-{algorithm}")
}

/// Lower-cases a selector and checks it is a DNS name of letters, digits and hyphens (RFC
/// 6376 §3.1: `sub-domain *( "." sub-domain )`).
pub fn normalize_selector(selector: &str) -> Result<String, Error> {
    let selector = selector.to_ascii_lowercase();
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if selector.len() > 200 || !selector.split('.').all(label_ok) {
        return Err(Error::Invalid(format!(
            "{selector:?} is not a selector: use letters, digits and hyphens, e.g. postern-2026"
        )));
    }
    Ok(selector)
}

/// A TXT record to publish: the public half of one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsRecord {
    /// Fully qualified, with the final dot.
    pub name: String,
    /// `v=DKIM1; k=...; p=...`, unsplit.
    pub value: String,
}

impl DnsRecord {
    pub fn of(key: &DkimKey) -> Result<Self, Error> {
        let public = public_key(key.algorithm, &key.private_key)?;
        Ok(DnsRecord {
            name: format!("{}.", key.record_name()),
            value: format!(
                "v=DKIM1; k={}; p={}",
                key.algorithm,
                base64::engine::general_purpose::STANDARD.encode(public)
            ),
        })
    }

    /// The record as a zone file line, the value cut into quoted strings of at most 255 bytes
    /// (one TXT string's limit); a verifier joins them again (RFC 6376 §3.6.2.2).
    pub fn zone_line(&self) -> String {
        // The value is ASCII without quotes or backslashes, so it cuts anywhere and needs no
        // escapes.
        let strings: Vec<String> = self
            .value
            .as_bytes()
            .chunks(TXT_STRING_MAX)
            .map(|chunk| format!("\"{}\"", String::from_utf8_lossy(chunk)))
            .collect();
        format!("{} IN TXT {}", self.name, strings.join(" "))
    }
}
