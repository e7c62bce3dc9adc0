use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::future::{block_on, poll_once};

use super::host;
use super::server::FakeDns;
use crate::dns::{
    DnsError, MxAnswer, NetworkConfig, NetworkResolver, Overlay, Resolver, StaticRecords,
    StaticTable,
};

fn resolver(server: &FakeDns, timeout: Duration, max_in_flight: usize) -> NetworkResolver {
    NetworkResolver::start(NetworkConfig {
        nameservers: Some(vec![server.addr()]),
        timeout,
        max_in_flight,
        // The test's name server signs nothing and serves no DNSKEY: validation would find
        // every answer bogus.
        dnssec: false,
        ..NetworkConfig::default()
    })
    .unwrap()
}

fn quick(server: &FakeDns) -> NetworkResolver {
    resolver(server, Duration::from_secs(5), 16)
}

#[test]
fn mx_hosts_come_sorted_by_preference() {
    let server = FakeDns::start();
    let dns = quick(&server);
    let hosts = vec![
        host(10, "a.mx.test"),
        host(10, "a2.mx.test"),
        host(20, "b.mx.test"),
        host(30, "c.mx.test"),
    ];
    assert_eq!(
        smol::block_on(dns.mx("mx.test")).unwrap().value,
        MxAnswer::Hosts(hosts)
    );
}

#[test]
fn mx_answers_tell_null_nodata_and_nxdomain_apart() {
    let server = FakeDns::start();
    let dns = quick(&server);
    assert_eq!(
        block_on(dns.mx("null.test")).unwrap().value,
        MxAnswer::NullMx
    );
    assert_eq!(
        block_on(dns.mx("nodata.test")).unwrap().value,
        MxAnswer::NoMx
    );
    assert_eq!(
        block_on(dns.mx("nowhere.test")).unwrap().value,
        MxAnswer::NxDomain
    );
}

#[test]
fn addresses_are_aaaa_then_a() {
    let server = FakeDns::start();
    let dns = quick(&server);
    let found = block_on(dns.addresses("HOST.test.")).unwrap().value;
    let expected: Vec<IpAddr> = ["2001:db8::1", "192.0.2.1", "192.0.2.2"]
        .iter()
        .map(|ip| ip.parse().unwrap())
        .collect();
    assert_eq!(found, expected);
    let v4: IpAddr = "192.0.2.3".parse().unwrap();
    assert_eq!(block_on(dns.addresses("v4only.test")).unwrap().value, [v4]);
    assert!(
        block_on(dns.addresses("nodata.test"))
            .unwrap()
            .value
            .is_empty()
    );
}

#[test]
fn txt_strings_of_a_record_are_joined() {
    let server = FakeDns::start();
    let dns = quick(&server);
    assert_eq!(
        block_on(dns.txt("txt.test")).unwrap(),
        ["v=spf1 ip4:192.0.2.1 -all", "second"]
    );
    assert!(block_on(dns.txt("nodata.test")).unwrap().is_empty());
}

#[test]
fn nxdomain_is_permanent() {
    let server = FakeDns::start();
    let dns = quick(&server);
    for err in [
        block_on(dns.addresses("nowhere.test")).unwrap_err(),
        block_on(dns.txt("nowhere.test")).unwrap_err(),
    ] {
        assert_eq!(err, DnsError::NxDomain);
        assert!(!err.is_temporary());
    }
}

#[test]
fn servfail_is_temporary() {
    let server = FakeDns::start();
    let dns = quick(&server);
    let err = block_on(dns.mx("fail.test")).unwrap_err();
    assert!(matches!(err, DnsError::Server(_)), "{err}");
    assert!(err.is_temporary());
    let err = block_on(dns.addresses("fail.test")).unwrap_err();
    assert!(err.is_temporary(), "{err}");
}

#[test]
fn a_server_that_never_answers_times_out_temporarily() {
    let server = FakeDns::start();
    let dns = resolver(&server, Duration::from_millis(400), 16);
    let started = Instant::now();
    let err = block_on(dns.txt("silent.test")).unwrap_err();
    assert!(err.is_temporary(), "{err}");
    assert_eq!(err, DnsError::Timeout);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn lookups_past_the_bound_fail_at_once() {
    let server = FakeDns::start();
    // Long enough that the first two are still waiting when the third is refused.
    let dns = resolver(&server, Duration::from_secs(2), 2);
    let mut first = dns.txt("silent.test");
    let mut second = dns.mx("silent.test");
    block_on(async {
        assert!(poll_once(&mut first).await.is_none());
        assert!(poll_once(&mut second).await.is_none());
    });
    let started = Instant::now();
    assert_eq!(block_on(dns.txt("txt.test")), Err(DnsError::Busy));
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(block_on(first), Err(DnsError::Timeout));
    assert_eq!(block_on(second), Err(DnsError::Timeout));
    // Their places are free again.
    assert_eq!(block_on(dns.txt("txt.test")).unwrap().len(), 2);
}

#[test]
fn answers_reach_a_tokio_runtime() {
    let server = FakeDns::start();
    let dns: Arc<dyn Resolver> = Arc::new(quick(&server));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let answer = runtime.block_on(async move {
        tokio::spawn(async move { dns.mx("null.test").await })
            .await
            .unwrap()
    });
    assert_eq!(answer.unwrap().value, MxAnswer::NullMx);
}

#[test]
fn static_names_never_reach_the_network() {
    let server = FakeDns::start();
    let mut table = StaticTable::default();
    let records = StaticRecords {
        mx: vec![host(5, "local.example")],
        ..Default::default()
    };
    table.insert("mx.test", records).unwrap();
    let dns = Overlay::new(table, Some(Arc::new(quick(&server))));
    let answer = smol::block_on(dns.mx("mx.test")).unwrap().value;
    assert_eq!(answer, MxAnswer::Hosts(vec![host(5, "local.example")]));
    assert_eq!(server.queries(), 0);
    assert_eq!(
        smol::block_on(dns.mx("null.test")).unwrap().value,
        MxAnswer::NullMx
    );
    assert_eq!(server.queries(), 1);
}

#[test]
fn no_reachable_server_is_a_temporary_failure() {
    // Nothing listens on this port once the socket is closed.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dns = NetworkResolver::start(NetworkConfig {
        nameservers: Some(vec![port]),
        timeout: Duration::from_millis(400),
        ..NetworkConfig::default()
    })
    .unwrap();
    let err = block_on(dns.mx("example.test")).unwrap_err();
    assert!(err.is_temporary(), "{err}");
}

#[test]
fn behind_a_name_server_without_dnssec_validation_turns_itself_off() {
    let server = FakeDns::start();
    // It signs nothing and serves no DNSKEY, like a stub resolver that strips DNSSEC.
    let dns = NetworkResolver::start(NetworkConfig {
        nameservers: Some(vec![server.addr()]),
        timeout: Duration::from_secs(5),
        dnssec: true,
        ..NetworkConfig::default()
    })
    .unwrap();
    let answer = block_on(dns.mx("mx.test")).expect("answers, not bogus");
    assert!(!answer.secure, "nothing is vouched for");
    assert!(matches!(answer.value, MxAnswer::Hosts(hosts) if hosts.len() == 4));
}
