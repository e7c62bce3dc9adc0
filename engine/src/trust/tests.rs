//! SPF, DKIM and DMARC outcomes against DNS answered by a table, messages signed with keys
//! the test makes; forged results removed however the bytes arrive.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use proptest::prelude::*;

use super::forged::ForgedResults;
use super::*;
use crate::dkim::keys::{self, DnsRecord};
use crate::dkim::{Algorithm, DkimKey};
use crate::dns::{DnsError, Lookup, MxAnswer, MxHost, Resolver, Secured, Tlsa};

const HOST: &str = "mx.postern.test";

/// DNS for the tests: names it lists answer, others do not exist, and names marked as
/// failing time out.
#[derive(Default)]
struct Zone {
    txt: HashMap<String, Vec<String>>,
    a: HashMap<String, Vec<IpAddr>>,
    mx: HashMap<String, Vec<String>>,
    failing: HashSet<String>,
}

impl Zone {
    fn txt(mut self, name: &str, record: &str) -> Self {
        self.txt
            .entry(key(name))
            .or_default()
            .push(record.to_string());
        self
    }

    fn a(mut self, name: &str, ip: &str) -> Self {
        self.a
            .entry(key(name))
            .or_default()
            .push(ip.parse().unwrap());
        self
    }

    fn mx(mut self, name: &str, host: &str) -> Self {
        self.mx.entry(key(name)).or_default().push(host.into());
        self
    }

    fn failing(mut self, name: &str) -> Self {
        self.failing.insert(key(name));
        self
    }

    fn signed_by(self, key: &DkimKey) -> Self {
        let record = DnsRecord::of(key).unwrap();
        self.txt(&record.name, &record.value)
    }

    fn answer<T: Clone>(&self, map: &HashMap<String, T>, name: &str) -> Result<T, DnsError> {
        let name = key(name);
        if self.failing.contains(&name) {
            return Err(DnsError::Timeout);
        }
        map.get(&name).cloned().ok_or(DnsError::NxDomain)
    }
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Resolver for Zone {
    fn mx<'a>(&'a self, domain: &'a str) -> Lookup<'a, Secured<MxAnswer>> {
        let answer = match self.answer(&self.mx, domain) {
            Ok(hosts) => Ok(MxAnswer::Hosts(
                hosts
                    .into_iter()
                    .enumerate()
                    .map(|(i, host)| MxHost {
                        preference: i as u16,
                        host,
                    })
                    .collect(),
            )),
            Err(DnsError::NxDomain) => Ok(MxAnswer::NxDomain),
            Err(e) => Err(e),
        };
        Box::pin(async move { answer.map(|v| Secured::new(v, false)) })
    }

    fn addresses<'a>(&'a self, host: &'a str) -> Lookup<'a, Secured<Vec<IpAddr>>> {
        let answer = self.answer(&self.a, host).map(|v| Secured::new(v, false));
        Box::pin(async move { answer })
    }

    fn txt<'a>(&'a self, name: &'a str) -> Lookup<'a, Vec<String>> {
        let answer = self.answer(&self.txt, name);
        Box::pin(async move { answer })
    }

    fn tlsa<'a>(&'a self, _: &'a str) -> Lookup<'a, Secured<Vec<Tlsa>>> {
        Box::pin(async { Ok(Secured::new(Vec::new(), false)) })
    }

    fn ptr<'a>(&'a self, _: &'a str) -> Lookup<'a, Vec<String>> {
        Box::pin(async { Err(DnsError::NxDomain) })
    }
}

const MESSAGE: &str = "From: Ann <ann@example.org>\r\n\
                       To: bob@postern.test\r\n\
                       Subject: Lunch\r\n\
                       Date: Sat, 05 Dec 2026 11:40:13 +0000\r\n\
                       Message-ID: <1@example.org>\r\n\
                       \r\n\
                       Noon?\r\n";

fn dkim_key(domain: &str) -> DkimKey {
    DkimKey {
        domain: domain.into(),
        selector: "s1".into(),
        algorithm: Algorithm::Ed25519,
        private_key: keys::generate(Algorithm::Ed25519).unwrap(),
        created: 1_800_000_000,
    }
}

fn signed(message: &str, key: &DkimKey) -> Vec<u8> {
    let fields = crate::dkim::signatures(&mut message.as_bytes(), "ann@example.org", |_| {
        Ok(vec![key.clone()])
    })
    .unwrap();
    [fields, message.as_bytes().to_vec()].concat()
}

fn run(zone: &Zone, message: &[u8], ip: &str, mail_from: &str) -> Checked {
    let sender = Sender {
        ip: ip.parse().unwrap(),
        helo: "client.example.org",
        mail_from,
    };
    futures_lite::future::block_on(check(&authenticator(), zone, HOST, message, &sender, None))
}

/// Ann's message signed by a key of `signer`, from 192.0.2.7, example.org publishing `spf`
/// and `p=reject`.
fn signed_under_reject(signer: &str, spf: &str) -> Checked {
    let key = dkim_key(signer);
    let zone = Zone::default()
        .txt("example.org", spf)
        .txt("_dmarc.example.org", "v=DMARC1; p=reject")
        .signed_by(&key);
    run(
        &zone,
        &signed(MESSAGE, &key),
        "192.0.2.7",
        "ann@example.org",
    )
}

#[test]
fn signed_mail_from_a_listed_address_passes_everything() {
    let checked = signed_under_reject("example.org", "v=spf1 ip4:192.0.2.0/24 -all");
    assert_eq!(checked.summary, "spf=pass dkim=pass dmarc=pass");
    assert_eq!(checked.disposition, Disposition::Accept);
    let header = &checked.header;
    assert!(
        header.starts_with("Authentication-Results: mx.postern.test;"),
        "{header}"
    );
    assert!(header.contains("dkim=pass"), "{header}");
    assert!(header.contains("header.d=example.org"), "{header}");
    assert!(header.contains("spf=pass"), "{header}");
    assert!(header.contains("smtp.mailfrom=ann@example.org"), "{header}");
    assert!(header.contains("dmarc=pass"), "{header}");
    assert!(header.ends_with("\r\n"), "{header}");
}

#[test]
fn spf_results_follow_the_record() {
    let cases = [
        ("v=spf1 -all", "fail"),
        ("v=spf1 ~all", "softfail"),
        ("v=spf1 ?all", "neutral"),
        ("v=spf1 +all", "pass"),
        ("v=spf1 include:nowhere.example.org -all", "permerror"),
    ];
    for (record, word) in cases {
        let zone = Zone::default().txt("example.org", record);
        let checked = run(&zone, MESSAGE.as_bytes(), "192.0.2.7", "ann@example.org");
        assert!(
            checked.summary.starts_with(&format!("spf={word} ")),
            "{record}: {}",
            checked.summary
        );
    }
    let none = run(
        &Zone::default(),
        MESSAGE.as_bytes(),
        "192.0.2.7",
        "ann@example.org",
    );
    assert!(none.summary.starts_with("spf=none "), "{}", none.summary);
    let failing = Zone::default().failing("example.org");
    let temp = run(&failing, MESSAGE.as_bytes(), "192.0.2.7", "ann@example.org");
    assert!(
        temp.summary.starts_with("spf=temperror "),
        "{}",
        temp.summary
    );
}

#[test]
fn spf_follows_includes_and_hosts() {
    let zone = Zone::default()
        .txt("example.org", "v=spf1 include:_spf.example.net mx -all")
        .txt("_spf.example.net", "v=spf1 a:out.example.net -all")
        .a("out.example.net", "198.51.100.9")
        .mx("example.org", "mx1.example.org")
        .a("mx1.example.org", "203.0.113.5");
    for ip in ["198.51.100.9", "203.0.113.5"] {
        let checked = run(&zone, MESSAGE.as_bytes(), ip, "ann@example.org");
        assert!(
            checked.summary.starts_with("spf=pass "),
            "{ip}: {}",
            checked.summary
        );
    }
    let other = run(&zone, MESSAGE.as_bytes(), "192.0.2.1", "ann@example.org");
    assert!(other.summary.starts_with("spf=fail "), "{}", other.summary);
}

#[test]
fn a_failing_address_lookup_makes_spf_a_temporary_error() {
    let zone = Zone::default()
        .txt("example.org", "v=spf1 a:out.example.org -all")
        .txt("_dmarc.example.org", "v=DMARC1; p=reject")
        .failing("out.example.org");
    let checked = run(&zone, MESSAGE.as_bytes(), "192.0.2.7", "ann@example.org");
    assert!(
        checked.summary.starts_with("spf=temperror "),
        "{}",
        checked.summary
    );
    // A DNS hiccup is no reason to refuse: DMARC does not fail on it.
    assert_ne!(
        checked.disposition,
        Disposition::Reject,
        "{}",
        checked.summary
    );
}

#[test]
fn dmarc_policy_decides_what_happens_to_failing_mail() {
    for (policy, disposition) in [
        ("reject", Disposition::Reject),
        ("quarantine", Disposition::Quarantine),
        ("none", Disposition::Accept),
    ] {
        let zone = Zone::default()
            .txt("example.org", "v=spf1 -all")
            .txt("_dmarc.example.org", &format!("v=DMARC1; p={policy}"));
        let checked = run(&zone, MESSAGE.as_bytes(), "192.0.2.7", "ann@example.org");
        assert_eq!(checked.disposition, disposition, "p={policy}");
        assert!(
            checked.summary.ends_with("dmarc=fail"),
            "{}",
            checked.summary
        );
        assert!(
            checked.header.contains(&format!("policy.dmarc={policy}")),
            "{}",
            checked.header
        );
        assert_eq!(checked.author_domain, "example.org");
    }
}

#[test]
fn a_signature_from_another_domain_does_not_align() {
    let checked = signed_under_reject("mailer.example.net", "v=spf1 -all");
    assert_eq!(checked.summary, "spf=fail dkim=pass dmarc=fail");
    assert_eq!(checked.disposition, Disposition::Reject);
}

#[test]
fn a_tampered_message_fails_dkim() {
    let key = dkim_key("example.org");
    let zone = Zone::default()
        .txt("_dmarc.example.org", "v=DMARC1; p=quarantine")
        .signed_by(&key);
    let mut message = signed(MESSAGE, &key);
    let len = message.len();
    message[len - 4] = b'!';
    let checked = run(&zone, &message, "192.0.2.7", "ann@example.org");
    // A body that does not match its hash is "neutral", as Gmail and OpenDKIM report it
    // ("body hash did not verify"); either way the signature vouches for nothing.
    assert!(
        checked.summary.contains("dkim=neutral"),
        "{}",
        checked.summary
    );
    assert_eq!(checked.disposition, Disposition::Quarantine);
}

#[test]
fn testing_mode_and_our_configuration_soften_the_policy() {
    let zone = Zone::default()
        .txt("example.org", "v=spf1 -all")
        .txt("_dmarc.example.org", "v=DMARC1; p=reject; t=y");
    let checked = run(&zone, MESSAGE.as_bytes(), "192.0.2.7", "ann@example.org");
    assert_eq!(checked.disposition, Disposition::Accept);

    let mut checks = SenderChecks {
        dmarc_reject: false,
        ..SenderChecks::default()
    };
    assert_eq!(
        checks.disposition(Disposition::Reject),
        Disposition::Quarantine
    );
    checks.dmarc_quarantine = false;
    assert_eq!(checks.disposition(Disposition::Reject), Disposition::Accept);
    assert_eq!(
        checks.disposition(Disposition::Quarantine),
        Disposition::Accept
    );
}

#[test]
fn trusted_networks_are_not_checked() {
    let checks = SenderChecks::default();
    assert!(!checks.applies_to("127.0.0.1".parse().unwrap()));
    assert!(!checks.applies_to("::ffff:127.0.0.2".parse().unwrap()));
    assert!(!checks.applies_to("::1".parse().unwrap()));
    assert!(checks.applies_to("192.0.2.1".parse().unwrap()));
    let net: Network = "2001:db8::/32".parse().unwrap();
    assert!(net.contains("2001:db8:1::5".parse().unwrap()));
    assert!(!net.contains("2001:db9::5".parse().unwrap()));
    let all: Network = "0.0.0.0/0".parse().unwrap();
    assert!(all.contains("203.0.113.1".parse().unwrap()));
    assert!("10.0.0.0/33".parse::<Network>().is_err());
    assert!("mail.example".parse::<Network>().is_err());
}

const FORGED: &str = "Received: from relay\r\n\
                      Authentication-Results: mx.postern.test; dkim=pass\r\n\
                      \theader.d=bank.example\r\n\
                      Authentication-Results: (comment) MX.POSTERN.TEST;\r\n spf=pass\r\n\
                      Authentication-Results: other.example; spf=fail\r\n\
                      Authentication-Results: mx.postern.test.evil; spf=fail\r\n\
                      Subject: hi\r\n\
                      \r\n\
                      Authentication-Results: mx.postern.test; body lines stay\r\n";

const KEPT: &str = "Received: from relay\r\n\
                    Authentication-Results: other.example; spf=fail\r\n\
                    Authentication-Results: mx.postern.test.evil; spf=fail\r\n\
                    Subject: hi\r\n\
                    \r\n\
                    Authentication-Results: mx.postern.test; body lines stay\r\n";

fn filtered(chunks: impl IntoIterator<Item = Vec<u8>>) -> String {
    let mut filter = ForgedResults::new(HOST);
    let mut out = Vec::new();
    for chunk in chunks {
        filter.filter(&chunk, &mut out);
    }
    filter.finish(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn results_in_our_name_are_removed_others_kept() {
    assert_eq!(filtered([FORGED.as_bytes().to_vec()]), KEPT);
    let all_header = "Authentication-Results: mx.postern.test; none";
    assert_eq!(filtered([all_header.as_bytes().to_vec()]), "");
}

proptest! {
    #[test]
    fn the_filter_does_not_depend_on_chunking(cuts in prop::collection::vec(1usize..40, 1..30)) {
        let bytes = FORGED.as_bytes();
        let mut chunks = Vec::new();
        let mut at = 0;
        for cut in cuts.iter().cycle() {
            if at >= bytes.len() {
                break;
            }
            let end = (at + cut).min(bytes.len());
            chunks.push(bytes[at..end].to_vec());
            at = end;
        }
        prop_assert_eq!(filtered(chunks), KEPT);
    }

    #[test]
    fn the_filter_never_loses_other_bytes(message in "[a-zA-Z: ;\r\n\t]{0,300}") {
        // Without a field in our name, everything passes through unchanged.
        prop_assume!(!message.to_ascii_lowercase().contains("authentication-results"));
        prop_assert_eq!(filtered([message.as_bytes().to_vec()]), message);
    }
}

/// SPF checked early (at `MAIL FROM`) and handed to the rest of the checks gives what the
/// checks find when they ask for it themselves; the passing signature's domain is named.
#[test]
fn spf_checked_early_gives_the_same_results() {
    let key = dkim_key("example.org");
    let zone = Zone::default()
        .txt("example.org", "v=spf1 ip4:192.0.2.0/24 -all")
        .txt("_dmarc.example.org", "v=DMARC1; p=reject")
        .signed_by(&key);
    let message = signed(MESSAGE, &key);
    let sender = Sender {
        ip: "192.0.2.7".parse().unwrap(),
        helo: "client.example.org",
        mail_from: "ann@example.org",
    };
    let authenticator = authenticator();
    let early =
        futures_lite::future::block_on(super::spf::check_spf(&authenticator, &zone, HOST, &sender));
    let with_early = futures_lite::future::block_on(check(
        &authenticator,
        &zone,
        HOST,
        &message,
        &sender,
        Some(early),
    ));
    let without = run(&zone, &message, "192.0.2.7", "ann@example.org");
    assert_eq!(with_early.summary, "spf=pass dkim=pass dmarc=pass");
    assert_eq!(with_early.summary, without.summary);
    assert_eq!(with_early.header, without.header);
    assert_eq!(with_early.dkim_domains, ["example.org"]);
    assert!(with_early.spf_passed);
}
