//! Which TLSA records SMTP can use, and whether a certificate matches one (RFC 6698 §2.1,
//! RFC 7671, RFC 7672 §3.1).

use sha2::{Digest, Sha256, Sha512};

use crate::dns::Tlsa;

/// DANE-TA: the record names a trust anchor in the server's chain.
pub const DANE_TA: u8 = 2;
/// DANE-EE: the record names the server's own certificate or key.
pub const DANE_EE: u8 = 3;

/// The TLSA records of one host that SMTP can use: DANE-TA and DANE-EE with a selector and
/// matching type this server knows. PKIX-TA and PKIX-EE (usages 0 and 1) are left out:
/// there is no list of trusted CAs that SMTP servers agree on (RFC 7672 §3.1.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usable {
    records: Vec<Tlsa>,
}

impl Usable {
    /// The usable ones among `records`; `None` when none is.
    pub fn select(records: &[Tlsa]) -> Option<Self> {
        let records: Vec<Tlsa> = records.iter().filter(|r| usable(r)).cloned().collect();
        (!records.is_empty()).then_some(Usable { records })
    }

    /// Whether a DANE-EE record matches the server's own certificate. Its names and dates
    /// are not looked at (RFC 7672 §3.1.1): the record pins it.
    pub fn end_entity_matches(&self, cert: &[u8]) -> bool {
        self.of_usage(DANE_EE).any(|record| matches(record, cert))
    }

    /// Whether a DANE-TA record matches `cert`, a certificate of the chain the server sent.
    pub fn anchor_matches(&self, cert: &[u8]) -> bool {
        self.of_usage(DANE_TA).any(|record| matches(record, cert))
    }

    /// Trust anchors given whole in DANE-TA records (`2 0 0`): they need not be in the
    /// chain the server sends (RFC 7671 §5.2.2).
    pub fn full_anchors(&self) -> impl Iterator<Item = &[u8]> {
        self.of_usage(DANE_TA)
            .filter(|r| r.selector == 0 && r.matching == 0)
            .map(|r| r.data.as_slice())
    }

    pub fn has_anchors(&self) -> bool {
        self.of_usage(DANE_TA).next().is_some()
    }

    fn of_usage(&self, usage: u8) -> impl Iterator<Item = &Tlsa> {
        self.records.iter().filter(move |r| r.usage == usage)
    }
}

fn usable(record: &Tlsa) -> bool {
    matches!(record.usage, DANE_TA | DANE_EE)
        && matches!(record.selector, 0 | 1)
        && matches!(record.matching, 0..=2)
}

/// Whether `record` names the certificate `cert` (DER): the whole certificate (selector 0)
/// or its SubjectPublicKeyInfo (selector 1), compared as is (matching type 0) or by its
/// SHA-256 (1) or SHA-512 (2) digest. A certificate that cannot be parsed matches no
/// SPKI record.
pub fn matches(record: &Tlsa, cert: &[u8]) -> bool {
    let spki;
    let selected: &[u8] = match record.selector {
        0 => cert,
        1 => {
            let der = rustls::pki_types::CertificateDer::from(cert);
            let Ok(parsed) = webpki::EndEntityCert::try_from(&der) else {
                return false;
            };
            spki = parsed.subject_public_key_info();
            spki.as_ref()
        }
        _ => return false,
    };
    match record.matching {
        0 => record.data == selected,
        1 => record.data[..] == Sha256::digest(selected)[..],
        2 => record.data[..] == Sha512::digest(selected)[..],
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rcgen::PublicKeyData;

    use super::*;

    /// A certificate and its SubjectPublicKeyInfo, both DER.
    fn certificate() -> (Vec<u8>, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["mx.example.net".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.der().to_vec(), key.subject_public_key_info())
    }

    fn record(usage: u8, selector: u8, matching: u8, data: &[u8]) -> Tlsa {
        Tlsa {
            usage,
            selector,
            matching,
            data: data.to_vec(),
        }
    }

    #[test]
    fn every_selector_and_matching_type_matches() {
        let (cert, spki) = certificate();
        for (selector, selected) in [(0, &cert), (1, &spki)] {
            let hashes = [
                selected.clone(),
                Sha256::digest(selected).to_vec(),
                Sha512::digest(selected).to_vec(),
            ];
            for (matching, data) in hashes.iter().enumerate() {
                let matching = matching as u8;
                assert!(matches(&record(3, selector, matching, data), &cert));
                let mut wrong = data.clone();
                wrong[0] ^= 1;
                assert!(!matches(&record(3, selector, matching, &wrong), &cert));
            }
        }
    }

    #[test]
    fn usages_are_kept_apart() {
        let (cert, spki) = certificate();
        let digest = Sha256::digest(&spki).to_vec();
        let ee = Usable::select(&[record(3, 1, 1, &digest)]).unwrap();
        assert!(ee.end_entity_matches(&cert));
        assert!(!ee.anchor_matches(&cert));
        let ta = Usable::select(&[record(2, 1, 1, &digest)]).unwrap();
        assert!(ta.anchor_matches(&cert));
        assert!(!ta.end_entity_matches(&cert));
        assert_eq!(ta.full_anchors().count(), 0);
        let full = Usable::select(&[record(2, 0, 0, &cert)]).unwrap();
        assert_eq!(full.full_anchors().collect::<Vec<_>>(), [&cert[..]]);
    }

    #[test]
    fn pkix_and_unknown_records_are_unusable() {
        let digest = [0; 32];
        for unusable in [
            record(0, 1, 1, &digest),
            record(1, 1, 1, &digest),
            record(4, 1, 1, &digest),
            record(3, 2, 1, &digest),
            record(3, 1, 3, &digest),
        ] {
            assert_eq!(
                Usable::select(std::slice::from_ref(&unusable)),
                None,
                "{unusable}"
            );
        }
        let mixed = Usable::select(&[record(1, 1, 1, &digest), record(3, 1, 1, &digest)]);
        assert_eq!(mixed.unwrap().records.len(), 1);
    }

    proptest! {
        /// Whatever a peer sends as its certificate, matching answers without panicking.
        #[test]
        fn any_certificate_bytes_are_matched_without_panic(
            cert in proptest::collection::vec(any::<u8>(), 0..300),
            selector in 0u8..3, matching in 0u8..4,
            data in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let _ = matches(&record(3, selector, matching, &data), &cert);
        }

        /// A SHA-256 record of the whole certificate matches exactly those bytes.
        #[test]
        fn a_digest_matches_only_its_own_bytes(
            cert in proptest::collection::vec(any::<u8>(), 1..300),
            other in proptest::collection::vec(any::<u8>(), 1..300),
        ) {
            let pin = record(3, 0, 1, &Sha256::digest(&cert));
            prop_assert!(matches(&pin, &cert));
            prop_assert_eq!(matches(&pin, &other), cert == other);
        }
    }
}
