//! Signatures checked by mail-auth's verifier, fed the TXT records `postern dkim dns` prints;
//! keys made, imported and described.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::hickory_resolver::config::{ResolverConfig, ResolverOpts};
use mail_auth::{
    AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters, ResolverCache,
};
use rsa::pkcs1::EncodeRsaPrivateKey;

use super::keys::{self, DnsRecord};
use super::*;
use crate::store::StoreError;

const MESSAGE: &str = "From: Ann <ann@example.org>\r\n\
                       To: bob@example.net\r\n\
                       Subject: Hello there\r\n\
                       Date: Sat, 21 Nov 2026 11:40:13 +0000\r\n\
                       Message-ID: <1@example.org>\r\n\
                       \r\n\
                       Hi Bob,\r\n\
                       \r\n\
                       see you.\r\n";

fn key(domain: &str, selector: &str, algorithm: Algorithm) -> DkimKey {
    DkimKey {
        domain: domain.into(),
        selector: selector.into(),
        algorithm,
        private_key: keys::generate(algorithm).unwrap(),
        created: 1_800_000_000,
    }
}

/// The signature fields for `message` with `keys` as every domain's keys.
fn sign(message: &[u8], keys: &[DkimKey]) -> Vec<u8> {
    signatures(&mut &message[..], "ann@example.org", |_| Ok(keys.to_vec())).unwrap()
}

/// DNS answers from the TXT records of `keys`, as a resolver cache mail-auth reads.
struct Records(Mutex<HashMap<Box<str>, mail_auth::Txt>>);

impl Records {
    fn of(keys: &[DkimKey]) -> Self {
        let mut answers = HashMap::new();
        for key in keys {
            let record = DnsRecord::of(key).unwrap();
            let parsed = DomainKey::parse(record.value.as_bytes()).unwrap();
            answers.insert(
                record.name.into_boxed_str(),
                mail_auth::Txt::DomainKey(Arc::new(parsed)),
            );
        }
        Records(Mutex::new(answers))
    }
}

impl ResolverCache<Box<str>, mail_auth::Txt> for Records {
    fn get<Q>(&self, name: &Q) -> Option<mail_auth::Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().unwrap().get(name).cloned()
    }

    fn remove<Q>(&self, name: &Q) -> Option<mail_auth::Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.lock().unwrap().remove(name)
    }

    fn insert(&self, key: Box<str>, value: mail_auth::Txt, _: std::time::Instant) {
        self.0.lock().unwrap().insert(key, value);
    }
}

/// What mail-auth's verifier makes of each signature of `message`, looking keys up in `keys`'
/// records only.
fn verify(message: &[u8], keys: &[DkimKey]) -> Vec<DkimResult> {
    let records = Records::of(keys);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = ResolverConfig::from_name_servers(Vec::new());
        let authenticator = MessageAuthenticator::new(config, ResolverOpts::default()).unwrap();
        let message = AuthenticatedMessage::parse(message).unwrap();
        let params = Parameters::new(&message).with_txt_cache(&records);
        authenticator
            .verify_dkim(params)
            .await
            .iter()
            .map(|output| output.result().clone())
            .collect()
    })
}

fn signed(message: &[u8], keys: &[DkimKey]) -> Vec<u8> {
    [sign(message, keys), message.to_vec()].concat()
}

#[test]
fn each_algorithm_signs_what_mail_auth_verifies() {
    for algorithm in [Algorithm::Ed25519, Algorithm::Rsa] {
        let keys = [key("example.org", "s1", algorithm)];
        let message = signed(MESSAGE.as_bytes(), &keys);
        let text = String::from_utf8_lossy(&message);
        assert!(text.starts_with("DKIM-Signature: v=1; a="), "{text}");
        assert!(text.contains(&format!("{algorithm}-sha256")), "{text}");
        assert!(text.contains("d=example.org"), "{text}");
        assert!(text.contains("c=relaxed/relaxed"), "{text}");
        assert_eq!(verify(&message, &keys), [DkimResult::Pass], "{text}");
    }
}

#[test]
fn a_domain_with_both_keys_signs_twice() {
    let keys = [
        key("example.org", "ed", Algorithm::Ed25519),
        key("example.org", "rsa", Algorithm::Rsa),
    ];
    let message = signed(MESSAGE.as_bytes(), &keys);
    let text = String::from_utf8_lossy(&message);
    assert_eq!(text.matches("DKIM-Signature:").count(), 2, "{text}");
    assert_eq!(
        verify(&message, &keys),
        [DkimResult::Pass, DkimResult::Pass]
    );
}

#[test]
fn relaxed_canonicalization_survives_whitespace_changes() {
    let keys = [key("example.org", "s1", Algorithm::Ed25519)];
    let signature = sign(MESSAGE.as_bytes(), &keys);
    let respaced = MESSAGE
        .replace("Subject: Hello there", "Subject:   Hello \t there  ")
        .replace("see you.\r\n", "see   you. \r\n\r\n\r\n");
    let message = [signature.clone(), respaced.into_bytes()].concat();
    assert_eq!(verify(&message, &keys), [DkimResult::Pass]);

    let changed = MESSAGE.replace("Hello there", "Hello their");
    let message = [signature, changed.into_bytes()].concat();
    assert!(matches!(
        verify(&message, &keys).as_slice(),
        [DkimResult::Fail(_)]
    ));
}

#[test]
fn from_and_missing_fields_are_oversigned() {
    let keys = [key("example.org", "s1", Algorithm::Ed25519)];
    let signature = sign(MESSAGE.as_bytes(), &keys);
    let text = String::from_utf8_lossy(&signature).replace("\r\n\t", "");
    let fields = text
        .split("h=")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_ascii_lowercase();
    assert_eq!(fields.matches("from").count(), 2, "{fields}");
    assert!(fields.contains("reply-to"), "{fields}");

    for added in [
        "From: Mallory <m@example.org>\r\n",
        "Reply-To: m@example.net\r\n",
    ] {
        let message = [signature.clone(), added.into(), MESSAGE.into()].concat();
        let results = verify(&message, &keys);
        assert!(
            matches!(results.as_slice(), [DkimResult::Fail(_)]),
            "{added}: {results:?}"
        );
    }
}

#[test]
fn the_author_domain_signs_else_the_senders() {
    let asked = Mutex::new(Vec::new());
    let sender_key = key("example.net", "s1", Algorithm::Ed25519);
    let keys_for = |domain: &str| {
        asked.lock().unwrap().push(domain.to_string());
        Ok(match domain {
            "example.net" => vec![sender_key.clone()],
            _ => Vec::new(),
        })
    };
    let message = "From: \"Ann, at Example\" <Ann@Example.ORG>\r\nTo: x@y\r\n\r\nhi\r\n";
    let fields = signatures(&mut message.as_bytes(), "ann@example.net", keys_for).unwrap();
    assert_eq!(*asked.lock().unwrap(), ["example.org", "example.net"]);
    assert!(String::from_utf8_lossy(&fields).contains("d=example.net"));

    // The same domain is asked once; the null sender has none to fall back to.
    asked.lock().unwrap().clear();
    let fields = signatures(&mut message.as_bytes(), "ann@example.org", keys_for).unwrap();
    assert!(fields.is_empty());
    assert_eq!(*asked.lock().unwrap(), ["example.org"]);
    asked.lock().unwrap().clear();
    signatures(&mut &b"To: x@y\r\n\r\nno author\r\n"[..], "", keys_for).unwrap();
    assert!(asked.lock().unwrap().is_empty());
}

#[test]
fn without_keys_only_the_header_section_is_read() {
    let body = vec![b'x'; 1 << 20];
    let message = [MESSAGE.as_bytes(), &body].concat();
    let mut reader = &message[..];
    let fields = signatures(&mut reader, "ann@example.org", |_| Ok(Vec::new())).unwrap();
    assert!(fields.is_empty());
    assert!(!reader.is_empty(), "the body was not read");
}

#[test]
fn a_store_failure_is_an_error_and_a_broken_key_is_left_out() {
    let failed = signatures(&mut MESSAGE.as_bytes(), "ann@example.org", |_| {
        Err(StoreError::Io("disk on fire".into()))
    });
    assert!(failed.unwrap_err().to_string().contains("disk on fire"));

    let broken = DkimKey {
        private_key: PrivateKey::from_pkcs8_der(vec![0x30, 0]),
        ..key("example.org", "broken", Algorithm::Rsa)
    };
    let good = key("example.org", "good", Algorithm::Ed25519);
    let keys = [broken, good.clone()];
    let message = signed(MESSAGE.as_bytes(), &keys);
    assert_eq!(
        String::from_utf8_lossy(&message)
            .matches("DKIM-Signature:")
            .count(),
        1
    );
    assert_eq!(verify(&message, &[good]), [DkimResult::Pass]);
}

#[test]
fn bare_line_ends_are_signed_as_they_go_out() {
    let keys = [key("example.org", "s1", Algorithm::Rsa)];
    let stored = MESSAGE.replace("Hi Bob,\r\n", "Hi\rBob,\n").into_bytes();
    let sent = MESSAGE
        .replace("Hi Bob,\r\n", "Hi\r\nBob,\r\n")
        .into_bytes();
    // A CRLF split across two reads is one line end.
    let cut = MESSAGE.find("there\r\n").unwrap() + "there\r".len();
    let mut reader = std::io::Read::chain(&stored[..cut], &stored[cut..]);
    let fields = signatures(&mut reader, "ann@example.org", |_| Ok(keys.to_vec())).unwrap();
    assert_eq!(verify(&[fields, sent].concat(), &keys), [DkimResult::Pass]);
}

#[test]
fn a_message_without_a_body_is_signed() {
    let keys = [key("example.org", "s1", Algorithm::Rsa)];
    let message = signed(b"From: ann@example.org\r\nSubject: empty\r\n", &keys);
    assert_eq!(verify(&message, &keys), [DkimResult::Pass]);
}

/// PEM text of `der` under `label`, as OpenSSL writes it.
fn pem(label: &str, der: &[u8]) -> String {
    let base64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = base64
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

#[test]
fn keys_import_from_pem() {
    let ed25519 = keys::generate(Algorithm::Ed25519).unwrap();
    let (algorithm, imported) = keys::import(&pem("PRIVATE KEY", ed25519.pkcs8_der())).unwrap();
    assert_eq!((algorithm, &imported), (Algorithm::Ed25519, &ed25519));

    let rsa_pkcs8 = keys::generate(Algorithm::Rsa).unwrap();
    let (algorithm, imported) = keys::import(&pem("PRIVATE KEY", rsa_pkcs8.pkcs8_der())).unwrap();
    assert_eq!((algorithm, &imported), (Algorithm::Rsa, &rsa_pkcs8));

    // opendkim-genkey's PKCS#1 form is kept as PKCS#8, and signs.
    let rsa = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap();
    let pkcs1 = rsa.to_pkcs1_der().unwrap();
    let (algorithm, imported) = keys::import(&pem("RSA PRIVATE KEY", pkcs1.as_bytes())).unwrap();
    assert_eq!(algorithm, Algorithm::Rsa);
    let keys = [DkimKey {
        private_key: imported,
        ..key("example.org", "imported", Algorithm::Rsa)
    }];
    assert_eq!(
        verify(&signed(MESSAGE.as_bytes(), &keys), &keys),
        [DkimResult::Pass]
    );

    let small = rsa::PrivateKey::new(&mut getrandom::SysRng, 1024).unwrap();
    let small = pem("RSA PRIVATE KEY", small.to_pkcs1_der().unwrap().as_bytes());
    let error = keys::import(&small).unwrap_err().to_string();
    assert!(error.contains("1024 bits"), "{error}");

    let error = keys::import("not a key").unwrap_err().to_string();
    assert!(error.contains("BEGIN PRIVATE KEY"), "{error}");
    let garbage = pem("PRIVATE KEY", b"\x30\x03\x02\x01\x00");
    let error = keys::import(&garbage).unwrap_err().to_string();
    assert!(!error.contains("MAMCAQA"), "{error}");
}

#[test]
fn records_publish_the_public_key() {
    let ed25519 = key("example.org", "postern-202607-ed25519", Algorithm::Ed25519);
    let record = DnsRecord::of(&ed25519).unwrap();
    assert_eq!(
        record.name,
        "postern-202607-ed25519._domainkey.example.org."
    );
    let public = record.value.strip_prefix("v=DKIM1; k=ed25519; p=").unwrap();
    let public = base64::engine::general_purpose::STANDARD
        .decode(public)
        .unwrap();
    assert_eq!(public.len(), 32);
    assert_eq!(
        record.zone_line(),
        format!("{} IN TXT \"{}\"", record.name, record.value)
    );

    // An RSA key's record is longer than one TXT string holds.
    let rsa = DnsRecord::of(&key("example.org", "r", Algorithm::Rsa)).unwrap();
    assert!(
        rsa.value.starts_with("v=DKIM1; k=rsa; p=MII"),
        "{}",
        rsa.value
    );
    let line = rsa.zone_line();
    let (_, quoted) = line.split_once(" IN TXT ").unwrap();
    let strings: Vec<&str> = quoted.split('"').skip(1).step_by(2).collect();
    assert_eq!(quoted, format!("\"{}\"", strings.join("\" \"")));
    assert_eq!(strings.len(), 2, "{line}");
    assert!(strings.iter().all(|s| s.len() <= 255), "{line}");
    assert_eq!(strings.concat(), rsa.value);
}

#[test]
fn private_keys_stay_out_of_debug_output() {
    let key = key("example.org", "s1", Algorithm::Ed25519);
    let shown = format!("{key:?}");
    assert!(shown.contains("private_key: PrivateKey(..)"), "{shown}");
    let first = key.private_key.pkcs8_der()[0];
    assert!(!shown.contains(&format!("[{first}")), "{shown}");
}

#[test]
fn selectors() {
    // 2026-07-15.
    assert_eq!(
        keys::default_selector(Algorithm::Rsa, 1_784_073_600),
        "postern-202607-rsa"
    );
    assert_eq!(
        keys::default_selector(Algorithm::Ed25519, 0),
        "postern-197001-ed25519"
    );
    assert_eq!(
        keys::normalize_selector("Mail-2026.EU").unwrap(),
        "mail-2026.eu"
    );
    for bad in ["", "a..b", "-a", "a-", "a_b", "a b", "é", &"a".repeat(64)] {
        assert!(keys::normalize_selector(bad).is_err(), "{bad:?}");
    }
}
