//! DKIM keys: stored per (domain, selector) of a local domain, listed in that order, kept
//! across reopening, and holding their domain until they are removed.

use engine::dkim::{Algorithm, DkimKey, PrivateKey};

use super::*;

fn key(domain: &str, selector: &str, algorithm: Algorithm) -> DkimKey {
    DkimKey {
        domain: domain.into(),
        selector: selector.into(),
        algorithm,
        private_key: PrivateKey::from_pkcs8_der(format!("der of {selector}").into_bytes()),
        created: 1_800_000_000,
    }
}

/// A store with the domains example.org and example.com, and an Ed25519 key of each
/// selector given as `domain/selector`.
fn store_with_keys(keys: &[&str]) -> (TempDir, RedbStore) {
    let (dir, store) = open_store();
    store.add_domain("example.org").unwrap();
    store.add_domain("example.com").unwrap();
    for name in keys {
        let (domain, selector) = name.split_once('/').unwrap();
        store
            .add_dkim_key(&key(domain, selector, Algorithm::Ed25519))
            .unwrap();
    }
    (dir, store)
}

fn selectors(keys: &[DkimKey]) -> Vec<String> {
    keys.iter()
        .map(|k| format!("{}/{}", k.domain, k.selector))
        .collect()
}

#[test]
fn keys_are_added_listed_and_removed() {
    let (_dir, store) = store_with_keys(&["Example.ORG/ED", "example.com/s"]);
    let rsa = key("example.org", "rsa", Algorithm::Rsa);
    store.add_dkim_key(&rsa).unwrap();

    let all = store.dkim_keys(None).unwrap();
    assert_eq!(
        selectors(&all),
        ["example.com/s", "example.org/ed", "example.org/rsa"]
    );
    let org = store.dkim_keys(Some("EXAMPLE.org")).unwrap();
    assert_eq!(selectors(&org), ["example.org/ed", "example.org/rsa"]);
    assert_eq!(org[1], rsa);
    assert_eq!(org[0].algorithm, Algorithm::Ed25519);
    assert!(store.dkim_keys(Some("example.net")).unwrap().is_empty());

    assert!(matches!(
        store.add_dkim_key(&key("example.org", "rsa", Algorithm::Ed25519)),
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        store.add_dkim_key(&key("example.net", "s", Algorithm::Rsa)),
        Err(StoreError::NoSuchDomain(_))
    ));

    store.remove_dkim_key("example.org", "rsa").unwrap();
    let err = store.remove_dkim_key("example.org", "rsa").unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert!(
        err.to_string().contains("rsa._domainkey.example.org"),
        "{err}"
    );
    assert_eq!(
        selectors(&store.dkim_keys(None).unwrap()),
        ["example.com/s", "example.org/ed"]
    );
}

#[test]
fn keys_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [
        key("example.org", "a", Algorithm::Ed25519),
        key("example.org", "b", Algorithm::Rsa),
    ];
    {
        let store = RedbStore::open(dir.path()).unwrap();
        store.add_domain("example.org").unwrap();
        for key in &keys {
            store.add_dkim_key(key).unwrap();
        }
    }
    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(store.dkim_keys(Some("example.org")).unwrap(), keys);
}

#[test]
fn a_domain_with_keys_is_not_removed() {
    let (_dir, store) = store_with_keys(&["example.org/s", "example.com/s"]);
    let err = store.remove_domain("example.org").unwrap_err();
    assert!(matches!(err, StoreError::InUse(_)), "{err:?}");
    assert!(err.to_string().contains("1 DKIM key"), "{err}");

    // Once its keys are gone, so can the domain go; another domain's keys stay.
    store.remove_dkim_key("example.org", "s").unwrap();
    store.remove_domain("example.org").unwrap();
    assert!(store.dkim_keys(Some("example.org")).unwrap().is_empty());
    assert_eq!(
        selectors(&store.dkim_keys(None).unwrap()),
        ["example.com/s"]
    );
    // A domain added again starts without keys.
    store.add_domain("example.org").unwrap();
    assert!(store.dkim_keys(Some("example.org")).unwrap().is_empty());
}
