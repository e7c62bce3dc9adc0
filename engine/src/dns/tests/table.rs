use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_lite::future::block_on;
use proptest::prelude::*;

use super::host;
use crate::dns::{
    DnsError, Lookup, MxAnswer, MxHost, Overlay, Resolver, Secured, StaticRecords, StaticTable,
    Tlsa, normalize_name, reverse_name,
};

/// An upstream that says every name does not exist, and counts how often it was asked.
#[derive(Default)]
struct Nowhere {
    asked: AtomicUsize,
}

impl Resolver for Nowhere {
    fn mx<'a>(&'a self, _: &'a str) -> Lookup<'a, Secured<MxAnswer>> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(Secured::new(MxAnswer::NxDomain, false)) })
    }

    fn addresses<'a>(&'a self, _: &'a str) -> Lookup<'a, Secured<Vec<IpAddr>>> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Err(DnsError::NxDomain) })
    }

    fn txt<'a>(&'a self, _: &'a str) -> Lookup<'a, Vec<String>> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Err(DnsError::NxDomain) })
    }

    fn tlsa<'a>(&'a self, _: &'a str) -> Lookup<'a, Secured<Vec<Tlsa>>> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(Secured::new(Vec::new(), false)) })
    }

    fn ptr<'a>(&'a self, _: &'a str) -> Lookup<'a, Vec<String>> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Err(DnsError::NxDomain) })
    }
}

fn table(entries: &[(&str, StaticRecords)]) -> StaticTable {
    let mut table = StaticTable::default();
    for (name, records) in entries {
        table.insert(name, records.clone()).unwrap();
    }
    table
}

fn example() -> StaticTable {
    table(&[
        (
            "Example.NET.",
            StaticRecords {
                mx: vec![host(20, "mx2.example.net"), host(10, "MX1.example.net.")],
                txt: vec!["v=spf1 ip4:127.0.0.1 -all".into()],
                ..Default::default()
            },
        ),
        (
            "mx1.example.net",
            StaticRecords {
                a: vec!["127.0.0.1".parse().unwrap()],
                aaaa: vec!["::1".parse().unwrap()],
                ..Default::default()
            },
        ),
        (
            "nomail.example.net",
            StaticRecords {
                mx: vec![host(0, ".")],
                ..Default::default()
            },
        ),
    ])
}

/// The example table over an upstream that counts what reaches it.
fn example_over_nowhere() -> (Overlay, Arc<Nowhere>) {
    let upstream = Arc::new(Nowhere::default());
    (Overlay::new(example(), Some(upstream.clone())), upstream)
}

#[test]
fn listed_names_answer_from_the_table_only() {
    let (dns, upstream) = example_over_nowhere();
    let mx = block_on(dns.mx("example.net")).unwrap().value;
    assert_eq!(
        mx,
        MxAnswer::Hosts(vec![
            host(10, "mx1.example.net"),
            host(20, "mx2.example.net")
        ])
    );
    assert_eq!(
        block_on(dns.addresses("MX1.example.net.")).unwrap().value,
        [
            "::1".parse::<IpAddr>().unwrap(),
            "127.0.0.1".parse().unwrap()
        ]
    );
    assert_eq!(
        block_on(dns.txt("example.net")).unwrap(),
        ["v=spf1 ip4:127.0.0.1 -all"]
    );
    assert_eq!(upstream.asked.load(Ordering::SeqCst), 0);
}

#[test]
fn a_type_a_listed_name_lacks_is_nodata_not_a_lookup() {
    let (dns, upstream) = example_over_nowhere();
    assert_eq!(
        block_on(dns.mx("mx1.example.net")).unwrap().value,
        MxAnswer::NoMx
    );
    assert!(
        block_on(dns.addresses("example.net"))
            .unwrap()
            .value
            .is_empty()
    );
    assert!(block_on(dns.txt("mx1.example.net")).unwrap().is_empty());
    assert_eq!(upstream.asked.load(Ordering::SeqCst), 0);
}

#[test]
fn other_names_go_upstream() {
    let (dns, upstream) = example_over_nowhere();
    assert_eq!(
        block_on(dns.mx("example.org")).unwrap().value,
        MxAnswer::NxDomain
    );
    let err = block_on(dns.addresses("sub.example.net")).unwrap_err();
    assert_eq!(err, DnsError::NxDomain);
    assert!(!err.is_temporary());
    assert_eq!(upstream.asked.load(Ordering::SeqCst), 2);
}

#[test]
fn without_upstream_other_names_fail_temporarily() {
    let dns = Overlay::new(example(), None);
    let err = block_on(dns.mx("example.org")).unwrap_err();
    assert!(matches!(err, DnsError::Unavailable(_)), "{err}");
    assert!(err.is_temporary());
    assert!(block_on(dns.txt("example.net")).is_ok());
}

#[test]
fn reverse_names_are_those_ptr_records_live_under() {
    let ip = |text: &str| text.parse::<IpAddr>().unwrap();
    assert_eq!(reverse_name(ip("192.0.2.7")), "7.2.0.192.in-addr.arpa");
    assert_eq!(
        reverse_name(ip("2001:db8::567:89ab")),
        "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
    );
    let dns = Overlay::new(
        table(&[(
            &reverse_name(ip("192.0.2.7")),
            StaticRecords {
                ptr: vec!["mail.example.net".into()],
                ..Default::default()
            },
        )]),
        None,
    );
    let name = reverse_name(ip("192.0.2.7"));
    assert_eq!(block_on(dns.ptr(&name)).unwrap(), ["mail.example.net"]);
    assert!(block_on(dns.ptr(&reverse_name(ip("192.0.2.8")))).is_err());
}

#[test]
fn null_mx_alone_means_no_mail() {
    let dns = Overlay::new(example(), None);
    assert_eq!(
        block_on(dns.mx("nomail.example.net")).unwrap().value,
        MxAnswer::NullMx
    );
}

#[test]
fn bad_queries_are_permanent_errors() {
    let dns = Overlay::new(example(), None);
    for name in ["", ".", "a..b", "exa mple.net", "b\u{fc}cher.example"] {
        let err = block_on(dns.mx(name)).unwrap_err();
        assert!(matches!(err, DnsError::InvalidName(_)), "{name:?}: {err}");
        assert!(!err.is_temporary());
    }
}

#[test]
fn the_table_refuses_what_cannot_be_looked_up() {
    let mut table = example();
    let refused = |table: &mut StaticTable, name: &str, records: StaticRecords| {
        table.insert(name, records).unwrap_err()
    };
    let err = refused(&mut table, "EXAMPLE.net", StaticRecords::default());
    assert!(err.contains("listed twice"), "{err}");
    let err = refused(&mut table, "bad_name!.example", StaticRecords::default());
    assert!(err.contains("'!'"), "{err}");
    let long = format!("{}.example", "a".repeat(64));
    let err = refused(&mut table, &long, StaticRecords::default());
    assert!(err.contains("63"), "{err}");
    let mixed = StaticRecords {
        mx: vec![host(0, "."), host(10, "mx.example.org")],
        ..Default::default()
    };
    let err = refused(&mut table, "mixed.example", mixed);
    assert!(err.contains("null MX"), "{err}");
    let bad_host = StaticRecords {
        mx: vec![host(10, "mx..example.org")],
        ..Default::default()
    };
    let err = refused(&mut table, "host.example", bad_host);
    assert!(err.contains("empty label"), "{err}");
    assert_eq!(table.len(), 3);
}

#[test]
fn mx_answers_sort_by_preference_and_keep_ties_in_order() {
    let answer = MxAnswer::from_records(vec![
        host(20, "c"),
        host(10, "a"),
        host(20, "d"),
        host(10, "b"),
    ]);
    let order = vec![host(10, "a"), host(10, "b"), host(20, "c"), host(20, "d")];
    assert_eq!(answer, MxAnswer::Hosts(order));
    assert_eq!(MxAnswer::from_records(Vec::new()), MxAnswer::NoMx);
    // A root exchange beside real ones names no host; alone it is a null MX, whatever
    // its preference.
    let beside = MxAnswer::from_records(vec![host(0, "."), host(5, "mx")]);
    assert_eq!(beside, MxAnswer::Hosts(vec![host(5, "mx")]));
    assert_eq!(
        MxAnswer::from_records(vec![host(10, ".")]),
        MxAnswer::NullMx
    );
}

fn mx_host() -> impl Strategy<Value = MxHost> {
    (0u16..5, prop_oneof![Just(".".to_string()), "[a-c]{1,2}"])
        .prop_map(|(preference, name)| host(preference, &name))
}

proptest! {
    #[test]
    fn mx_answers_keep_every_host_in_preference_order(records in prop::collection::vec(mx_host(), 0..8)) {
        let hosts: Vec<MxHost> = records.iter().filter(|r| r.host != ".").cloned().collect();
        match MxAnswer::from_records(records.clone()) {
            MxAnswer::Hosts(sorted) => {
                prop_assert!(sorted.windows(2).all(|w| w[0].preference <= w[1].preference));
                for preference in 0..5 {
                    let of = |list: &[MxHost]| -> Vec<MxHost> {
                        list.iter().filter(|h| h.preference == preference).cloned().collect()
                    };
                    prop_assert_eq!(of(&sorted), of(&hosts));
                }
            }
            MxAnswer::NoMx => prop_assert!(records.is_empty()),
            MxAnswer::NullMx => prop_assert!(!records.is_empty() && hosts.is_empty()),
            MxAnswer::NxDomain => prop_assert!(false, "records never say NXDOMAIN"),
        }
    }

    #[test]
    fn names_normalise_once_and_never_panic(name in "[a-zA-Z0-9._\\- \u{e9}]{0,80}") {
        if let Ok(normal) = normalize_name(&name) {
            prop_assert_eq!(normalize_name(&normal), Ok(normal.clone()));
            prop_assert_eq!(normalize_name(&format!("{normal}.")), Ok(normal.clone()));
            prop_assert_eq!(normal.to_ascii_lowercase(), normal);
        }
    }
}

#[test]
fn static_tlsa_records_answer_every_port_of_their_host() {
    let record: Tlsa = "3 1 1 00ff".parse().unwrap();
    let own: Tlsa = "2 0 1 ab".parse().unwrap();
    let upstream = Arc::new(Nowhere::default());
    let dns = Overlay::new(
        table(&[
            (
                "mx.example.net",
                StaticRecords {
                    tlsa: vec![record.clone()],
                    ..Default::default()
                },
            ),
            (
                "_465._tcp.mx.example.net",
                StaticRecords {
                    tlsa: vec![own.clone()],
                    ..Default::default()
                },
            ),
            ("plain.example.net", StaticRecords::default()),
        ]),
        Some(upstream.clone()),
    );
    let tlsa = |name| block_on(dns.tlsa(name)).unwrap();
    assert_eq!(
        tlsa("_25._tcp.MX.example.net."),
        Secured::new(vec![record.clone()], true)
    );
    assert_eq!(
        tlsa("_2525._tcp.mx.example.net"),
        Secured::new(vec![record], true)
    );
    assert_eq!(
        tlsa("_465._tcp.mx.example.net"),
        Secured::new(vec![own], true)
    );
    // A listed host without records has none, securely: DANE does not apply to it.
    assert_eq!(
        tlsa("_25._tcp.plain.example.net"),
        Secured::new(vec![], true)
    );
    assert_eq!(upstream.asked.load(Ordering::SeqCst), 0);
    // Not a port, or not a listed host: the upstream answers.
    tlsa("_x._tcp.mx.example.net");
    tlsa("_25._udp.mx.example.net");
    tlsa("_25._tcp.other.example.net");
    assert_eq!(upstream.asked.load(Ordering::SeqCst), 3);
}
