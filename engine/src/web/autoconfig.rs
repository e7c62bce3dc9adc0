//! Mail client autoconfiguration: a user types an address and a password, and the client
//! finds the servers, ports and security here. Thunderbird (and K-9/Thunderbird for
//! Android, Evolution, Nextcloud Mail) fetch `config-v1.1.xml` from
//! `autoconfig.<domain>` or the domain's `/.well-known/autoconfig/`; Outlook POSTs to
//! `autodiscover.<domain>/autodiscover/autodiscover.xml` (the "POX" protocol).
//!
//! Only local domains are described: for any other the answer is 404, so a server is
//! never advertised for mail it does not hold.

use std::fmt::Write;

use proto_dav::dav::xml::{self, escape};
use proto_dav::{Head, Response};

use super::{Endpoint, Security, Service, WebConfig, host, local_domain, text};
use crate::Engine;
use crate::dav::target::PREFIX;
use crate::store::Store;

/// Outlook's request and response schemas.
const AUTODISCOVER_REQUEST: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";
const AUTODISCOVER_RESPONSE: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
const OUTLOOK_RESPONSE: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";

/// Thunderbird's document for the domain of `?emailaddress=`, or of the host
/// (`autoconfig.example.com`) when the query names none.
pub(super) fn thunderbird<S: Store>(engine: &Engine<S>, head: &Head) -> Response {
    let asked = query_address(head)
        .and_then(|address| address.rsplit_once('@').map(|(_, d)| d.to_string()))
        .or_else(|| host(head).map(|h| h.strip_prefix("autoconfig.").unwrap_or(&h).to_string()));
    let Some(domain) = asked.and_then(|domain| local_domain(engine, &domain)) else {
        return text(404, "no such domain here\n");
    };
    let web = engine.web();
    let hostname = escape(engine.hostname());
    let domain = escape(&domain);
    let mut doc = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    doc.push_str("<clientConfig version=\"1.1\">\n");
    let _ = writeln!(doc, "  <emailProvider id=\"{domain}\">");
    let _ = writeln!(doc, "    <domain>{domain}</domain>");
    let _ = writeln!(doc, "    <displayName>{domain}</displayName>");
    let _ = writeln!(doc, "    <displayShortName>{domain}</displayShortName>");
    let servers = [
        ("incomingServer", "imap", Service::Imap),
        ("incomingServer", "pop3", Service::Pop3),
        ("outgoingServer", "smtp", Service::Submission),
    ];
    for (element, kind, service) in servers {
        for endpoint in web.preferred(service) {
            let _ = writeln!(doc, "    <{element} type=\"{kind}\">");
            let _ = writeln!(doc, "      <hostname>{hostname}</hostname>");
            let _ = writeln!(doc, "      <port>{}</port>", endpoint.address.port());
            let socket = match endpoint.security {
                Security::Tls => "SSL",
                Security::StartTls => "STARTTLS",
                Security::Plain => "plain",
            };
            let _ = writeln!(doc, "      <socketType>{socket}</socketType>");
            doc.push_str("      <authentication>password-cleartext</authentication>\n");
            doc.push_str("      <username>%EMAILADDRESS%</username>\n");
            let _ = writeln!(doc, "    </{element}>");
        }
    }
    doc.push_str("  </emailProvider>\n");
    // Thunderbird 102 and later set up calendars and address books from these too.
    if let Some(origin) = dav_origin(web, engine.hostname()) {
        let url = escape(&origin);
        for (element, kind) in [("addressBook", "carddav"), ("calendar", "caldav")] {
            let _ = writeln!(doc, "  <{element} type=\"{kind}\">");
            doc.push_str("    <username>%EMAILADDRESS%</username>\n");
            doc.push_str("    <authentication>http-basic</authentication>\n");
            let _ = writeln!(doc, "    <serverURL>{url}/{PREFIX}/</serverURL>");
            let _ = writeln!(doc, "  </{element}>");
        }
    }
    doc.push_str("</clientConfig>\n");
    Response::new(200).body("application/xml; charset=utf-8", doc.into_bytes())
}

/// Outlook's answer to the `EMailAddress` in its request.
pub(super) fn outlook<S: Store>(engine: &Engine<S>, head: &Head, body: &[u8]) -> Response {
    if head.method != proto_dav::Method::Post {
        return text(405, "POST an autodiscover request\n").header("Allow", "POST");
    }
    let Some(address) = requested_address(body) else {
        return text(400, "the request names no EMailAddress\n");
    };
    let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    if local_domain(engine, domain).is_none() {
        return text(404, "no such domain here\n");
    }
    let web = engine.web();
    let hostname = escape(engine.hostname());
    let login = escape(&address);
    let mut doc = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    let _ = writeln!(doc, "<Autodiscover xmlns=\"{AUTODISCOVER_RESPONSE}\">");
    let _ = writeln!(doc, "  <Response xmlns=\"{OUTLOOK_RESPONSE}\">");
    doc.push_str("    <Account>\n      <AccountType>email</AccountType>\n");
    doc.push_str("      <Action>settings</Action>\n");
    let services = [
        ("IMAP", Service::Imap),
        ("POP3", Service::Pop3),
        ("SMTP", Service::Submission),
    ];
    for (kind, service) in services {
        // Outlook takes the first of each type.
        let Some(endpoint) = web.preferred(service).next() else {
            continue;
        };
        outlook_protocol(&mut doc, kind, &hostname, endpoint, &login);
    }
    doc.push_str("    </Account>\n  </Response>\n</Autodiscover>\n");
    Response::new(200).body("application/xml; charset=utf-8", doc.into_bytes())
}

fn outlook_protocol(doc: &mut String, kind: &str, hostname: &str, at: &Endpoint, login: &str) {
    doc.push_str("      <Protocol>\n");
    let _ = writeln!(doc, "        <Type>{kind}</Type>");
    let _ = writeln!(doc, "        <Server>{hostname}</Server>");
    let _ = writeln!(doc, "        <Port>{}</Port>", at.address.port());
    let _ = writeln!(doc, "        <LoginName>{login}</LoginName>");
    doc.push_str("        <DomainRequired>off</DomainRequired>\n");
    doc.push_str("        <SPA>off</SPA>\n");
    // `SSL` means TLS from the start; `Encryption` (newer Outlooks) tells STARTTLS apart.
    let (ssl, encryption) = match at.security {
        Security::Tls => ("on", "SSL"),
        Security::StartTls => ("on", "TLS"),
        Security::Plain => ("off", "None"),
    };
    let _ = writeln!(doc, "        <SSL>{ssl}</SSL>");
    let _ = writeln!(doc, "        <Encryption>{encryption}</Encryption>");
    doc.push_str("        <AuthRequired>on</AuthRequired>\n");
    doc.push_str("      </Protocol>\n");
}

/// The `emailaddress` of the query string, percent-decoded.
fn query_address(head: &Head) -> Option<String> {
    let query = head.query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "emailaddress")
        .map(|(_, value)| value.into_owned())
        .filter(|address| address.contains('@'))
}

/// The address an autodiscover request asks about.
fn requested_address(body: &[u8]) -> Option<String> {
    let root = xml::parse(body).ok()?;
    let address = root
        .child(AUTODISCOVER_REQUEST, "Request")?
        .child(AUTODISCOVER_REQUEST, "EMailAddress")?
        .trimmed_text();
    address.contains('@').then(|| address.to_string())
}

/// Where calendar and contact clients connect: `https://host[:port]` when HTTPS listens,
/// else plain `http` (loopback, or behind a proxy).
pub(super) fn dav_origin(web: &WebConfig, hostname: &str) -> Option<String> {
    let endpoint = web.preferred(Service::Http).next()?;
    let (scheme, default_port) = match endpoint.security {
        Security::Plain => ("http", 80),
        _ => ("https", 443),
    };
    let port = endpoint.address.port();
    Some(if port == default_port {
        format!("{scheme}://{hostname}")
    } else {
        format!("{scheme}://{hostname}:{port}")
    })
}
