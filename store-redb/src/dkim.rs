//! DKIM signing keys: one record per (domain, selector) in `dkim_keys`, so a domain's keys
//! are one range, read by delivery for every message it signs.

use crate::typed::{Open, ReadableTable};
use engine::dkim::{Algorithm, DkimKey, PrivateKey};
use engine::store::{StoreError, StoreResult};
use redb::ReadTransaction;

use crate::error::{DbResultExt, corrupt};
use crate::group_commit::{Batch, WriteOp};
use crate::tables::normalize;
use crate::tables::{DKIM_KEYS, Decoder, Encoder};

/// The first byte of key records.
const KEY_RECORD_VERSION: u8 = 1;
const WHAT: &str = "DKIM key record";

/// Every key, or those of `domain`, by domain and selector.
pub(crate) fn keys(txn: &ReadTransaction, domain: Option<&str>) -> StoreResult<Vec<DkimKey>> {
    let domain = domain.map(normalize);
    let domain = domain.as_deref();
    let table = txn.open(DKIM_KEYS).db()?;
    let rows = match domain {
        Some(domain) => table.range((domain, "")..).db()?,
        None => table.range::<(&str, &str)>(..).db()?,
    };
    let mut found = Vec::new();
    for row in rows {
        let (key, record) = row.db()?;
        let (key_domain, selector) = key.value();
        if domain.is_some_and(|domain| domain != key_domain) {
            break;
        }
        found.push(decode(key_domain, selector, record.value())?);
    }
    Ok(found)
}

/// How many keys `domain` has, for refusing to remove a domain that still has some.
pub(crate) fn count(
    table: &impl ReadableTable<(&'static str, &'static str), &'static [u8]>,
    domain: &str,
) -> StoreResult<usize> {
    let mut count = 0;
    for row in table.range((domain, "")..).db()? {
        if row.db()?.0.value().0 != domain {
            break;
        }
        count += 1;
    }
    Ok(count)
}

fn describe(domain: &str, selector: &str) -> String {
    format!("DKIM key {selector}._domainkey.{domain}")
}

pub(crate) struct AddKey {
    pub(crate) key: DkimKey,
}

impl WriteOp for AddKey {
    type Plan = DkimKey;
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<DkimKey> {
        let key = DkimKey {
            domain: normalize(&self.key.domain),
            selector: normalize(&self.key.selector),
            ..self.key
        };
        let tables = &batch.tables;
        if tables.domains.get(key.domain.as_str()).db()?.is_none() {
            return Err(StoreError::NoSuchDomain(key.domain));
        }
        let id = (key.domain.as_str(), key.selector.as_str());
        if tables.dkim_keys.get(id).db()?.is_some() {
            return Err(StoreError::AlreadyExists(describe(
                &key.domain,
                &key.selector,
            )));
        }
        Ok(key)
    }

    fn apply(key: DkimKey, batch: &mut Batch<'_>) -> StoreResult<()> {
        let id = (key.domain.as_str(), key.selector.as_str());
        batch
            .tables
            .dkim_keys
            .insert(id, encode(&key).as_slice())
            .db()?;
        Ok(())
    }
}

pub(crate) struct RemoveKey {
    pub(crate) domain: String,
    pub(crate) selector: String,
}

impl WriteOp for RemoveKey {
    type Plan = RemoveKey;
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<RemoveKey> {
        let op = RemoveKey {
            domain: normalize(&self.domain),
            selector: normalize(&self.selector),
        };
        let id = (op.domain.as_str(), op.selector.as_str());
        if batch.tables.dkim_keys.get(id).db()?.is_none() {
            return Err(StoreError::NotFound(describe(&op.domain, &op.selector)));
        }
        Ok(op)
    }

    fn apply(op: RemoveKey, batch: &mut Batch<'_>) -> StoreResult<()> {
        let id = (op.domain.as_str(), op.selector.as_str());
        batch.tables.dkim_keys.remove(id).db()?;
        Ok(())
    }
}

/// Layout: version, algorithm (1 RSA, 2 Ed25519), created (i64), the PKCS#8 private key
/// (length-prefixed). Domain and selector are the key.
fn encode(key: &DkimKey) -> Vec<u8> {
    let mut out = Encoder::new(KEY_RECORD_VERSION);
    out.u8(match key.algorithm {
        Algorithm::Rsa => 1,
        Algorithm::Ed25519 => 2,
    });
    out.bytes(&key.created.to_le_bytes());
    out.sized(key.private_key.pkcs8_der());
    out.0
}

fn decode(domain: &str, selector: &str, bytes: &[u8]) -> StoreResult<DkimKey> {
    let mut input = Decoder::new(bytes, WHAT, KEY_RECORD_VERSION)?;
    let algorithm = match input.u8()? {
        1 => Algorithm::Rsa,
        2 => Algorithm::Ed25519,
        _ => return Err(corrupt(WHAT)),
    };
    let created = i64::from_le_bytes(input.array()?);
    let private_key = PrivateKey::from_pkcs8_der(input.sized()?.to_vec());
    input.finish()?;
    Ok(DkimKey {
        domain: domain.to_owned(),
        selector: selector.to_owned(),
        algorithm,
        private_key,
        created,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DkimKey {
        DkimKey {
            domain: "example.org".into(),
            selector: "s1".into(),
            algorithm: Algorithm::Ed25519,
            private_key: PrivateKey::from_pkcs8_der(vec![0x30, 1, 2, 3]),
            created: 1_800_000_000,
        }
    }

    #[test]
    fn records_round_trip() {
        for algorithm in [Algorithm::Rsa, Algorithm::Ed25519] {
            let key = DkimKey { algorithm, ..key() };
            assert_eq!(decode("example.org", "s1", &encode(&key)).unwrap(), key);
        }
    }

    #[test]
    fn damaged_records_are_errors() {
        let bytes = encode(&key());
        for len in 0..bytes.len() {
            assert!(decode("example.org", "s1", &bytes[..len]).is_err());
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode("example.org", "s1", &longer).is_err());
        let mut unknown_algorithm = bytes;
        unknown_algorithm[1] = 3;
        assert!(decode("example.org", "s1", &unknown_algorithm).is_err());
    }
}
