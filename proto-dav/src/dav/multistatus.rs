//! `207 Multi-Status` bodies (RFC 4918 §13): one `response` per resource, its properties
//! grouped by status in `propstat`s, or a status of its own.
//!
//! The namespaces clients speak get one prefix each, declared once at the root; any other
//! namespace is declared on the property that uses it. Property values are either text,
//! escaped here, or fragments built by [`Value`]'s constructors, so nothing a client sent
//! reaches the output unescaped.

use std::fmt::Write;

use super::name::{PREFIXES, PropName};
use super::xml::{escape, escape_attribute};

/// A property's value in a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// No content: `<d:resourcetype/>` of a plain resource, or a property named in a
    /// `propname` answer.
    Empty,
    /// Text, escaped on output.
    Text(String),
    /// One `<d:href>`, of a path already percent-encoded.
    Href(String),
    /// Several `<d:href>`s.
    Hrefs(Vec<String>),
    /// Child elements, each a known-namespace element given as (prefix, local name), empty.
    Elements(Vec<(&'static str, &'static str)>),
    /// Markup built by this crate (supported component sets, privilege sets, report sets).
    Markup(String),
}

impl Value {
    /// `<cal:comp name="VEVENT"/>`... for a supported-calendar-component-set.
    pub fn components(names: &[&str]) -> Self {
        let mut out = String::new();
        for name in names {
            let _ = write!(out, r#"<cal:comp name="{}"/>"#, escape_attribute(name));
        }
        Self::Markup(out)
    }

    /// A current-user-privilege-set of the given DAV privileges (`read`, `write`...).
    pub fn privileges(names: &[&str]) -> Self {
        let mut out = String::new();
        for name in names {
            let _ = write!(out, "<d:privilege><d:{name}/></d:privilege>");
        }
        Self::Markup(out)
    }

    /// A supported-report-set: each report as (prefix, local name).
    pub fn reports(reports: &[(&str, &str)]) -> Self {
        let mut out = String::new();
        for (prefix, name) in reports {
            let _ = write!(
                out,
                "<d:supported-report><d:report><{prefix}:{name}/></d:report></d:supported-report>"
            );
        }
        Self::Markup(out)
    }

    /// A CalDAV/CardDAV supported data type list: (element, content-type, version).
    pub fn data_types(element: &str, types: &[(&str, &str)]) -> Self {
        let mut out = String::new();
        for (content_type, version) in types {
            let _ = write!(
                out,
                r#"<{element} content-type="{content_type}" version="{version}"/>"#
            );
        }
        Self::Markup(out)
    }
}

/// One property's outcome for a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropStat {
    pub name: PropName,
    /// `200` with its value, or the status it failed with (`404`, `403`, `424`...).
    pub status: u16,
    pub value: Value,
}

/// A `207 Multi-Status` body being written.
pub struct Multistatus {
    out: String,
}

impl Default for Multistatus {
    fn default() -> Self {
        Self::new()
    }
}

impl Multistatus {
    /// The start of a multistatus body.
    pub fn new() -> Self {
        let mut out = String::from(r#"<?xml version="1.0" encoding="utf-8"?>"#);
        out.push_str("\n<d:multistatus");
        for (prefix, ns) in PREFIXES {
            let _ = write!(out, r#" xmlns:{prefix}="{ns}""#);
        }
        out.push('>');
        Self { out }
    }

    /// A resource and its properties, grouped by status. `href` is percent-encoded.
    pub fn response(&mut self, href: &str, props: &[PropStat]) -> &mut Self {
        let _ = write!(self.out, "<d:response><d:href>{}</d:href>", escape(href));
        let mut statuses: Vec<u16> = props.iter().map(|prop| prop.status).collect();
        statuses.sort_unstable();
        statuses.dedup();
        if statuses.is_empty() {
            // A response needs a propstat or a status (RFC 4918 §14.24): an empty `prop`
            // asked for gets an empty one.
            statuses.push(200);
        }
        for status in statuses {
            self.out.push_str("<d:propstat><d:prop>");
            for prop in props.iter().filter(|prop| prop.status == status) {
                write_prop(&mut self.out, &prop.name, &prop.value);
            }
            let _ = write!(
                self.out,
                "</d:prop><d:status>HTTP/1.1 {status} {}</d:status></d:propstat>",
                crate::http::reason(status)
            );
        }
        self.out.push_str("</d:response>");
        self
    }

    /// A resource with a status of its own (`404` for a missing multiget href or a member
    /// removed since a sync token).
    pub fn status(&mut self, href: &str, status: u16) -> &mut Self {
        let _ = write!(
            self.out,
            "<d:response><d:href>{}</d:href><d:status>HTTP/1.1 {status} {}</d:status></d:response>",
            escape(href),
            crate::http::reason(status)
        );
        self
    }

    /// The sync token a sync-collection report ends with.
    pub fn sync_token(&mut self, token: &str) -> &mut Self {
        let _ = write!(self.out, "<d:sync-token>{}</d:sync-token>", escape(token));
        self
    }

    /// The finished body.
    pub fn finish(mut self) -> Vec<u8> {
        self.out.push_str("</d:multistatus>\n");
        self.out.into_bytes()
    }
}

/// `<prefix:local>value</prefix:local>`, declaring an unknown namespace on the element.
fn write_prop(out: &mut String, name: &PropName, value: &Value) {
    let local = escape(&name.local);
    let (tag, declaration) = match name.known_prefix() {
        Some(prefix) => (format!("{prefix}:{local}"), String::new()),
        None if name.ns.is_empty() => (local.into_owned(), r#" xmlns="""#.to_owned()),
        None => (
            format!("x:{local}"),
            format!(r#" xmlns:x="{}""#, escape_attribute(&name.ns)),
        ),
    };
    if *value == Value::Empty {
        let _ = write!(out, "<{tag}{declaration}/>");
        return;
    }
    let _ = write!(out, "<{tag}{declaration}>");
    match value {
        Value::Empty => {}
        Value::Text(text) => out.push_str(&escape(text)),
        Value::Href(href) => {
            let _ = write!(out, "<d:href>{}</d:href>", escape(href));
        }
        Value::Hrefs(hrefs) => {
            for href in hrefs {
                let _ = write!(out, "<d:href>{}</d:href>", escape(href));
            }
        }
        Value::Elements(elements) => {
            for (prefix, local) in elements {
                let _ = write!(out, "<{prefix}:{local}/>");
            }
        }
        Value::Markup(markup) => out.push_str(markup),
    }
    let _ = write!(out, "</{tag}>");
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::dav::name::{CALDAV, DAV};
    use crate::dav::xml;

    #[test]
    fn statuses_group_properties_and_the_result_is_xml() {
        let mut body = Multistatus::new();
        body.response(
            "/dav/calendars/a%40example.org/default/",
            &[
                PropStat {
                    name: PropName::new(DAV, "resourcetype"),
                    status: 200,
                    value: Value::Elements(vec![("d", "collection"), ("cal", "calendar")]),
                },
                PropStat {
                    name: PropName::new(DAV, "displayname"),
                    status: 200,
                    value: Value::Text("Work & <play>".into()),
                },
                PropStat {
                    name: PropName::new("urn:odd", "x"),
                    status: 404,
                    value: Value::Empty,
                },
            ],
        );
        body.status("/dav/gone.ics", 404).sync_token("urn:x:1");
        let body = body.finish();
        let root = xml::parse(&body).unwrap();
        assert!(root.is(DAV, "multistatus"));
        let response = root.child(DAV, "response").unwrap();
        let propstats: Vec<_> = response.children_named(DAV, "propstat").collect();
        assert_eq!(propstats.len(), 2);
        let prop = propstats[0].child(DAV, "prop").unwrap();
        let kind = prop.child(DAV, "resourcetype").unwrap();
        assert!(kind.child(CALDAV, "calendar").is_some());
        assert_eq!(
            prop.child(DAV, "displayname").unwrap().text,
            "Work & <play>"
        );
        assert_eq!(
            propstats[1].child(DAV, "status").unwrap().text,
            "HTTP/1.1 404 Not Found"
        );
        assert!(
            propstats[1]
                .child(DAV, "prop")
                .unwrap()
                .child("urn:odd", "x")
                .is_some()
        );
        assert_eq!(root.child(DAV, "sync-token").unwrap().text, "urn:x:1");
    }
}
