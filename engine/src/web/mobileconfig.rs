//! An Apple configuration profile (`.mobileconfig`) for the logged-in user: opened on an
//! iPhone, iPad or Mac it sets up mail (IMAP and submission), calendars (CalDAV) and
//! contacts (CardDAV) in one step, asking for the password once per account. The format is
//! Apple's property list XML, as "Configuration Profile Reference" describes it.

use std::fmt::Write;

use proto_dav::Response;
use proto_dav::dav::xml::escape;
use sha2::{Digest, Sha256};

use super::autoconfig::dav_origin;
use super::{Security, Service, text};
use crate::Engine;
use crate::dav::target::principal_href;
use crate::store::{Account, Store};

/// One value of a property list.
enum Value<'a> {
    Text(&'a str),
    Number(u16),
    Bool(bool),
}

/// A dictionary of a property list, written as its keys come.
struct Dict(String);

impl Dict {
    fn new() -> Self {
        Dict(String::from("<dict>\n"))
    }

    fn with(mut self, key: &str, value: Value<'_>) -> Self {
        let _ = write!(self.0, "<key>{}</key>", escape(key));
        let _ = match value {
            Value::Text(text) => writeln!(self.0, "<string>{}</string>", escape(text)),
            Value::Number(n) => writeln!(self.0, "<integer>{n}</integer>"),
            Value::Bool(true) => writeln!(self.0, "<true/>"),
            Value::Bool(false) => writeln!(self.0, "<false/>"),
        };
        self
    }

    /// Adds `key` with an array of the dictionaries `items`.
    fn with_array(mut self, key: &str, items: Vec<Dict>) -> Self {
        let _ = writeln!(self.0, "<key>{}</key>\n<array>", escape(key));
        for item in items {
            self.0.push_str(&item.end());
        }
        self.0.push_str("</array>\n");
        self
    }

    fn end(mut self) -> String {
        self.0.push_str("</dict>\n");
        self.0
    }
}

pub(crate) fn profile<S: Store>(engine: &Engine<S>, account: &Account) -> Response {
    let web = engine.web();
    let host = engine.hostname();
    let email = account.email.as_str();
    let imap = web.preferred(Service::Imap).next();
    let smtp = web.preferred(Service::Submission).next();
    let mut payloads = Vec::new();
    if let (Some(imap), Some(smtp)) = (imap, smtp) {
        let mail = payload("com.apple.mail.managed", email, "mail")
            .with("PayloadDisplayName", Value::Text(email))
            .with("EmailAccountDescription", Value::Text(email))
            .with("EmailAccountType", Value::Text("EmailTypeIMAP"))
            .with("EmailAddress", Value::Text(email))
            .with("IncomingMailServerHostName", Value::Text(host))
            .with(
                "IncomingMailServerPortNumber",
                Value::Number(imap.address.port()),
            )
            .with(
                "IncomingMailServerUseSSL",
                Value::Bool(imap.security == Security::Tls),
            )
            .with("IncomingMailServerUsername", Value::Text(email))
            .with(
                "IncomingMailServerAuthentication",
                Value::Text("EmailAuthPassword"),
            )
            .with("OutgoingMailServerHostName", Value::Text(host))
            .with(
                "OutgoingMailServerPortNumber",
                Value::Number(smtp.address.port()),
            )
            .with(
                "OutgoingMailServerUseSSL",
                Value::Bool(smtp.security == Security::Tls),
            )
            .with("OutgoingMailServerUsername", Value::Text(email))
            .with(
                "OutgoingMailServerAuthentication",
                Value::Text("EmailAuthPassword"),
            )
            .with("OutgoingPasswordSameAsIncomingPassword", Value::Bool(true));
        payloads.push(mail);
    }
    let http = web.preferred(Service::Http).next();
    if let (Some(http), Some(origin)) = (http, dav_origin(web, host)) {
        let (port, ssl) = (http.address.port(), http.security != Security::Plain);
        let principal = format!("{origin}{}", principal_href(email));
        for (kind, prefix, name) in [
            ("com.apple.caldav.account", "CalDAV", "calendars"),
            ("com.apple.carddav.account", "CardDAV", "contacts"),
        ] {
            let account = payload(kind, email, name)
                .with(
                    "PayloadDisplayName",
                    Value::Text(&format!("{email} ({name})")),
                )
                .with(&format!("{prefix}AccountDescription"), Value::Text(email))
                .with(&format!("{prefix}HostName"), Value::Text(host))
                .with(&format!("{prefix}Port"), Value::Number(port))
                .with(&format!("{prefix}UseSSL"), Value::Bool(ssl))
                .with(&format!("{prefix}Username"), Value::Text(email))
                .with(&format!("{prefix}PrincipalURL"), Value::Text(&principal));
            payloads.push(account);
        }
    }
    if payloads.is_empty() {
        return text(
            404,
            "this server offers neither IMAP with submission nor DAV\n",
        );
    }
    let profile = Dict::new()
        .with_array("PayloadContent", payloads)
        .with(
            "PayloadDisplayName",
            Value::Text(&format!("{email} on {host}")),
        )
        .with(
            "PayloadIdentifier",
            Value::Text(&identifier(email, "profile")),
        )
        .with("PayloadType", Value::Text("Configuration"))
        .with("PayloadUUID", Value::Text(&uuid(email, "profile")))
        .with("PayloadVersion", Value::Number(1))
        .end();
    let mut doc = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    doc.push_str("<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n");
    doc.push_str("<plist version=\"1.0\">\n");
    doc.push_str(&profile);
    doc.push_str("</plist>\n");
    let file = format!("attachment; filename=\"{}.mobileconfig\"", safe_name(host));
    Response::new(200)
        .header("Content-Disposition", file)
        .body("application/x-apple-aspen-config", doc.into_bytes())
}

/// A payload's common keys.
fn payload(kind: &str, email: &str, name: &str) -> Dict {
    Dict::new()
        .with("PayloadType", Value::Text(kind))
        .with("PayloadIdentifier", Value::Text(&identifier(email, name)))
        .with("PayloadUUID", Value::Text(&uuid(email, name)))
        .with("PayloadVersion", Value::Number(1))
}

/// A reverse-DNS identifier, the same each time the profile is made: installing it again
/// replaces the earlier one instead of adding a second account.
fn identifier(email: &str, name: &str) -> String {
    let (user, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let reversed: Vec<&str> = domain.rsplit('.').collect();
    format!("{}.postern.{}.{name}", reversed.join("."), safe_name(user))
}

/// A UUID derived from the address and the payload, stable for the same reason.
fn uuid(email: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("postern profile {email} {name}").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02X}")).collect();
    let part = |from: usize, to: usize| hex.get(from..to).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

/// `text` with anything but letters, digits, `-` and `.` replaced, for identifiers and file
/// names.
fn safe_name(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}
