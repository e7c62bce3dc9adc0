//! What a certificate says about itself that the web side reports: the names it is valid
//! for and when it expires. The DER is read with the `der` crate (the one `rsa` already
//! brings); the names come from webpki, which rustls verifies with.

use der::asn1::{GeneralizedTime, UtcTime};
use der::{Decode, Reader, SliceReader, Tag, TagNumber};
use rustls_pki_types::CertificateDer;

/// The names and validity of `cert`; `None` if it cannot be read.
pub fn describe(cert: &CertificateDer<'_>) -> Option<engine::web::Certificate> {
    let (not_before, not_after) = validity(cert.as_ref()).ok()?;
    let names = webpki::EndEntityCert::try_from(cert)
        .map(|parsed| parsed.valid_dns_names().map(str::to_string).collect())
        .unwrap_or_default();
    Some(engine::web::Certificate {
        names,
        not_before,
        not_after,
    })
}

/// The `notBefore` and `notAfter` of an X.509 certificate (RFC 5280 §4.1), in Unix seconds.
fn validity(der: &[u8]) -> der::Result<(i64, i64)> {
    let mut reader = SliceReader::new(der)?;
    reader.sequence(|certificate| {
        let validity = certificate.sequence(|tbs| {
            // version [0] EXPLICIT, when present; then serialNumber, signature, issuer.
            let version = Tag::ContextSpecific {
                constructed: true,
                number: TagNumber(0),
            };
            if Tag::peek(tbs)? == version {
                tbs.tlv_bytes()?;
            }
            for _ in 0..3 {
                tbs.tlv_bytes()?;
            }
            let validity =
                tbs.sequence(|validity| Ok::<_, der::Error>((time(validity)?, time(validity)?)))?;
            skip_rest(tbs)?;
            Ok::<_, der::Error>(validity)
        })?;
        skip_rest(certificate)?;
        Ok::<_, der::Error>(validity)
    })
}

/// A `Time`: UTCTime until 2049, GeneralizedTime after (RFC 5280 §4.1.2.5).
fn time(reader: &mut SliceReader<'_>) -> der::Result<i64> {
    let seconds = if Tag::peek(reader)? == Tag::UtcTime {
        UtcTime::decode(reader)?.to_unix_duration()
    } else {
        GeneralizedTime::decode(reader)?.to_unix_duration()
    };
    Ok(i64::try_from(seconds.as_secs()).unwrap_or(i64::MAX))
}

fn skip_rest(reader: &mut SliceReader<'_>) -> der::Result<()> {
    while !reader.is_finished() {
        reader.tlv_bytes()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, KeyPair};

    use super::*;

    #[test]
    fn expiry_and_names_of_a_made_certificate() {
        let mut params = CertificateParams::new(vec!["mail.example.com".to_string()]).unwrap();
        // 2030-01-02T03:04:05Z (UTCTime) and, for the far end, GeneralizedTime.
        params.not_before = rcgen::date_time_ymd(2029, 12, 31);
        params.not_after = rcgen::date_time_ymd(2030, 1, 2);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let described = describe(cert.der()).unwrap();
        assert_eq!(described.not_before, 1_893_369_600);
        assert_eq!(described.not_after, 1_893_542_400);
        assert_eq!(described.names, ["mail.example.com"]);

        params.not_after = rcgen::date_time_ymd(2051, 6, 1);
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(describe(cert.der()).unwrap().not_after, 2_569_190_400);
    }

    #[test]
    fn garbage_is_not_described() {
        assert!(describe(&CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01])).is_none());
        assert!(describe(&CertificateDer::from(Vec::new())).is_none());
    }
}
