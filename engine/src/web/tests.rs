use std::net::{IpAddr, SocketAddr};

use proptest::prelude::*;
use proto_dav::{Head, Method};

use super::autoconfig::dav_origin;
use super::*;

/// A GET of `/` with these header fields (names lower-cased).
pub(super) fn head_with(headers: &[(&str, &str)]) -> Head {
    Head {
        method: Method::Get,
        target: "/".into(),
        minor_version: 1,
        headers: headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect(),
        content_length: None,
        chunked: false,
        expect_continue: false,
        keep_alive: true,
        user: None,
    }
}

fn head(host: Option<&str>) -> Head {
    match host {
        Some(host) => head_with(&[("host", host)]),
        None => head_with(&[]),
    }
}

fn endpoint(name: &'static str, service: Service, security: Security, port: u16) -> Endpoint {
    Endpoint {
        name,
        service,
        security,
        address: SocketAddr::from(([127, 0, 0, 1], port)),
    }
}

#[test]
fn pages_are_found_by_path() {
    assert_eq!(Page::at("/metrics"), Some(Page::Metrics));
    assert_eq!(Page::at("/health"), Some(Page::Health));
    assert_eq!(
        Page::at("/Autodiscover/Autodiscover.xml"),
        Some(Page::Autodiscover)
    );
    assert_eq!(Page::at("/mail/config-v1.1.xml"), Some(Page::Autoconfig));
    assert_eq!(Page::at("/dav/"), None);
    assert_eq!(Page::at("/metrics/"), None);
    assert!(Page::Metrics.for_administrators() && Page::HealthDetailed.for_administrators());
    assert!(!Page::Health.for_administrators() && !Page::Autoconfig.for_administrators());
}

#[test]
fn administrators_come_from_the_listed_networks() {
    let web = WebConfig::default();
    let ip = |text: &str| text.parse::<IpAddr>().unwrap();
    assert!(web.admits(ip("127.0.0.1")));
    assert!(web.admits(ip("::1")));
    // IPv4 on a dual-stack socket.
    assert!(web.admits(ip("::ffff:127.0.0.9")));
    assert!(!web.admits(ip("192.0.2.1")));
    assert!(!web.admits(ip("::ffff:192.0.2.1")));
}

#[test]
fn the_host_loses_its_port_and_case() {
    assert_eq!(
        host(&head(Some("MTA-STS.Example.com:443"))).as_deref(),
        Some("mta-sts.example.com")
    );
    assert_eq!(
        host(&head(Some("example.com."))).as_deref(),
        Some("example.com")
    );
    assert_eq!(host(&head(Some("[::1]:443"))), None);
    assert_eq!(host(&head(None)), None);
}

#[test]
fn clients_are_offered_implicit_tls_first_and_each_kind_once() {
    let web = WebConfig {
        endpoints: vec![
            endpoint("imap", Service::Imap, Security::StartTls, 143),
            endpoint("imaps", Service::Imap, Security::Tls, 993),
            endpoint("imaps", Service::Imap, Security::Tls, 1993),
            endpoint("smtp", Service::Mx, Security::StartTls, 25),
        ],
        ..WebConfig::default()
    };
    let ports: Vec<u16> = web
        .preferred(Service::Imap)
        .map(|e| e.address.port())
        .collect();
    assert_eq!(ports, [993, 143]);
    assert_eq!(web.preferred(Service::Submission).count(), 0);
}

#[test]
fn the_dav_origin_leaves_out_default_ports() {
    let mut web = WebConfig {
        endpoints: vec![endpoint("https", Service::Http, Security::Tls, 443)],
        ..WebConfig::default()
    };
    assert_eq!(
        dav_origin(&web, "mail.example.com").as_deref(),
        Some("https://mail.example.com")
    );
    web.endpoints = vec![endpoint("http", Service::Http, Security::Plain, 8080)];
    assert_eq!(
        dav_origin(&web, "mail.example.com").as_deref(),
        Some("http://mail.example.com:8080")
    );
    web.endpoints.clear();
    assert_eq!(dav_origin(&web, "mail.example.com"), None);
}

proptest! {
    #[test]
    fn any_host_or_path_is_read_without_panicking(text in "\\PC{0,40}") {
        let _ = Page::at(&text);
        let _ = host(&head(Some(&text)));
    }

    #[test]
    fn all_of_loopback_is_admitted(a: u8, b: u8, c: u8) {
        let ip = IpAddr::from([127, a, b, c]);
        prop_assert!(WebConfig::default().admits(ip));
    }
}
