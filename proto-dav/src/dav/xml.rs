//! Request bodies read into a small element tree, and the text of responses escaped.
//!
//! WebDAV request bodies are short (a PROPFIND names a few properties, a multiget a few
//! hundred hrefs) and every request is easier to understand as a tree than as a stream of
//! events, so quick-xml's namespace-resolving reader fills an [`Element`] tree under fixed
//! bounds: nesting depth, element count and text size. The body itself is already bounded
//! by the HTTP session; these bounds keep the tree built from it small too.

use std::borrow::Cow;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// Deepest nesting read; CalDAV filters are the deepest requests, at about eight levels.
const MAX_DEPTH: usize = 32;
/// Most elements in one request: a multiget of a thousand hrefs and then some.
const MAX_ELEMENTS: usize = 20_000;

/// An element: its namespace, its local name, its children and the text directly inside it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// The namespace URI, empty when unbound.
    pub ns: String,
    /// The local name.
    pub name: String,
    /// Attributes without a namespace prefix, as (local name, value).
    pub attributes: Vec<(String, String)>,
    /// Child elements, in document order.
    pub children: Vec<Element>,
    /// The text and CDATA directly inside, references resolved.
    pub text: String,
}

/// Why a body could not be read as XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlError {
    /// Not well-formed, or not UTF-8.
    Malformed(String),
    /// Deeper or larger than the bounds.
    TooLarge,
    /// No root element.
    Empty,
}

impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "malformed XML: {why}"),
            Self::TooLarge => f.write_str("XML nested too deeply or too large"),
            Self::Empty => f.write_str("no XML element"),
        }
    }
}

impl std::error::Error for XmlError {}

impl Element {
    /// Whether this is `ns`'s element `name`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    /// The first child that is `ns`'s `name`.
    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.is(ns, name))
    }

    /// Every child that is `ns`'s `name`.
    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |child| child.is(ns, name))
    }

    /// The value of the unprefixed attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The text inside, trimmed.
    pub fn trimmed_text(&self) -> &str {
        self.text.trim()
    }
}

/// Reads `body` into its root element.
pub fn parse(body: &[u8]) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(body).map_err(|_| malformed("not UTF-8"))?;
    let mut reader = NsReader::from_str(text);
    let mut open: Vec<Element> = Vec::new();
    let mut count = 0usize;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| malformed(&e.to_string()))?;
        let ns = namespace(ns)?;
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(start) | Event::Empty(start) => {
                count = count.saturating_add(1);
                if count > MAX_ELEMENTS || open.len() >= MAX_DEPTH {
                    return Err(XmlError::TooLarge);
                }
                let new = element(ns, &start)?;
                if !empty {
                    open.push(new);
                    continue;
                }
                match open.last_mut() {
                    Some(parent) => parent.children.push(new),
                    None => return Ok(new),
                }
            }
            Event::End(_) => {
                let done = open.pop().ok_or_else(|| malformed("unbalanced end tag"))?;
                match open.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Ok(done),
                }
            }
            Event::Text(text) => append_text(&mut open, &text.xml10_content()),
            Event::CData(data) => {
                append_text(&mut open, &data.into_inner());
            }
            Event::GeneralRef(reference) => {
                let name = reference.into_inner();
                let resolved = quick_xml::escape::unescape(&format!("&{name};"))
                    .map_err(|e| malformed(&e.to_string()))?
                    .into_owned();
                append_text(&mut open, &resolved);
            }
            // A DTD could declare entities that expand without bound; DAV never needs one.
            Event::DocType(_) => return Err(malformed("a DOCTYPE is not accepted")),
            Event::Eof => {
                return Err(if open.is_empty() {
                    XmlError::Empty
                } else {
                    malformed("unexpected end")
                });
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
}

fn malformed(why: &str) -> XmlError {
    XmlError::Malformed(why.to_owned())
}

fn namespace(resolved: ResolveResult<'_>) -> Result<String, XmlError> {
    match resolved {
        // The reader hands a namespace name over as written, references unresolved; a
        // name that would need escaping is refused rather than compared in two spellings.
        ResolveResult::Bound(ns)
            if ns
                .0
                .chars()
                .any(|c| c.is_control() || matches!(c, '&' | '<' | '>' | '"' | '\'')) =>
        {
            Err(malformed(
                "a namespace name with markup or control characters",
            ))
        }
        // Reserved for declarations and `xml:` attributes; no element belongs there.
        ResolveResult::Bound(ns)
            if ns.0 == "http://www.w3.org/2000/xmlns/"
                || ns.0 == "http://www.w3.org/XML/1998/namespace" =>
        {
            Err(malformed("an element in a reserved namespace"))
        }
        ResolveResult::Bound(ns) => Ok(ns.0.to_owned()),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(prefix) => Err(malformed(&format!("unknown prefix {prefix}"))),
    }
}

fn element(ns: String, start: &quick_xml::events::BytesStart<'_>) -> Result<Element, XmlError> {
    let name = start.local_name().as_ref().to_owned();
    if !is_name(&name) {
        return Err(malformed("not an element name"));
    }
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| malformed(&e.to_string()))?;
        if attribute.key.prefix().is_some() {
            continue;
        }
        let local = attribute.key.local_name();
        let key: &str = local.as_ref();
        if key == "xmlns" {
            continue;
        }
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| malformed(&e.to_string()))?;
        attributes.push((key.to_owned(), value.into_owned()));
    }
    Ok(Element {
        ns,
        name,
        attributes,
        ..Element::default()
    })
}

/// Whether `name` is an XML name (Namespaces in XML's NCName, letters taken broadly): the
/// reader is lenient about names, and a name that is not one could not be written back.
fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_alphabetic() || first == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Whitespace between child elements lands in the parent's text too; the readers of the
/// requests use [`Element::trimmed_text`] where only text is expected. Text outside the
/// root element can only be whitespace (or the reader refuses it) and is dropped.
fn append_text(open: &mut [Element], text: &str) {
    if let Some(current) = open.last_mut() {
        current.text.push_str(text);
    }
}

/// `text` with `<`, `>` and `&` escaped, for element content (quotes stay as they are,
/// which keeps ETags readable).
pub fn escape(text: &str) -> Cow<'_, str> {
    quick_xml::escape::partial_escape(text)
}

/// `text` with quotes escaped too, for attribute values.
pub fn escape_attribute(text: &str) -> Cow<'_, str> {
    quick_xml::escape::escape(text)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_resolved_and_whitespace_dropped() {
        let body = br#"<?xml version="1.0" encoding="utf-8" ?>
            <D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
              <D:prop>
                <D:getetag/>
                <C:calendar-data/>
                <x:odd xmlns:x="urn:x">a &amp; b<![CDATA[<c>]]></x:odd>
              </D:prop>
            </D:propfind>"#;
        let root = parse(body).unwrap();
        assert!(root.is("DAV:", "propfind"));
        let prop = root.child("DAV:", "prop").unwrap();
        assert_eq!(prop.children.len(), 3);
        assert!(prop.children[1].is("urn:ietf:params:xml:ns:caldav", "calendar-data"));
        assert_eq!(prop.children[2].text, "a & b<c>");
    }

    #[test]
    fn default_namespace_and_attributes() {
        let root =
            parse(br#"<propfind xmlns="DAV:"><prop><x name="v" /></prop></propfind>"#).unwrap();
        let x = &root.children[0].children[0];
        assert!(x.is("DAV:", "x"));
        assert_eq!(x.attribute("name"), Some("v"));
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(parse(b""), Err(XmlError::Empty)));
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"<a:b/>").is_err());
        assert!(parse(br#"<a xmlns="urn:a&amp;b"/>"#).is_err());
        assert!(parse(b"<a\"b/>").is_err());
        assert!(parse(&[0xff, 0xfe]).is_err());
        assert!(parse(b"<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>").is_err());
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(deep.as_bytes()), Err(XmlError::TooLarge));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(body in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse(&body);
        }

        #[test]
        fn never_panics_on_tag_soup(body in "[<>/a:=\" &;#x0-9DAV]{0,200}") {
            let _ = parse(body.as_bytes());
        }
    }
}
