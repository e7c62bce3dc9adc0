//! What the bodies of WebDAV, CalDAV and CardDAV requests ask for: PROPFIND (RFC 4918
//! §9.1), PROPPATCH (§9.2), extended MKCOL (RFC 5689) and MKCALENDAR (RFC 4791 §5.3.1),
//! and the REPORTs clients use: multigets, queries, sync-collection (RFC 6578) and
//! principal-property-search (RFC 3744 §9.4).

use super::name::{CALDAV, CARDDAV, DAV, PropName};
use super::xml::{self, Element, XmlError};

/// Which properties a PROPFIND (or a REPORT) wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropFind {
    /// Every live property worth computing, plus those named in `include` (RFC 4918 §9.1);
    /// an empty body means this too.
    AllProp { include: Vec<PropName> },
    /// The names of the properties, without values.
    PropName,
    /// These properties.
    Prop(Vec<PropName>),
}

/// One change a PROPPATCH makes, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropChange {
    /// Set the property to what the element holds.
    Set(Element),
    /// Remove the property.
    Remove(PropName),
}

/// What a MKCOL or MKCALENDAR body asks for: the resource types of the new collection (from
/// an extended MKCOL) and the properties to set on it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mkcol {
    pub resource_types: Vec<PropName>,
    pub set: Vec<Element>,
}

/// A REPORT request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// calendar-multiget or addressbook-multiget: these hrefs, with these properties.
    Multiget {
        props: PropFind,
        hrefs: Vec<String>,
        recurrences: Option<Recurrences>,
    },
    /// calendar-query: the members that match `filter`.
    CalendarQuery {
        props: PropFind,
        filter: Element,
        recurrences: Option<Recurrences>,
    },
    /// addressbook-query: the members that match `filter`, at most `limit`.
    AddressbookQuery {
        props: PropFind,
        filter: Element,
        limit: Option<u32>,
    },
    /// free-busy-query: busy time between `start` and `end` (iCalendar UTC date-times).
    FreeBusy { start: String, end: String },
    /// sync-collection: what changed since `token` (empty: everything), at most `limit`.
    SyncCollection {
        token: String,
        props: PropFind,
        limit: Option<u32>,
    },
    /// principal-property-search: the principals whose properties match `searches` (all
    /// of them, or any with `test="anyof"`), with these properties.
    PrincipalSearch {
        props: PropFind,
        searches: Vec<PropertySearch>,
        any_of: bool,
    },
    /// A report this server does not know (answered with 403 and
    /// `supported-report`).
    Unsupported(PropName),
}

/// One `property-search` of a principal-property-search: a principal matches when one of
/// `props` holds `text` (RFC 3744 §9.4 leaves what "holds" means to the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertySearch {
    pub props: Vec<PropName>,
    pub text: String,
}

/// How the calendar data of recurring events is asked for, within a range whose bounds
/// are iCalendar UTC date-times, as sent: `<C:expand start end/>` (RFC 4791 §9.6.5) for
/// each occurrence in UTC, `<C:limit-recurrence-set start end/>` (§9.6.6) for the event
/// with only the overridden occurrences that touch the range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrences {
    /// `expand` rather than `limit-recurrence-set`.
    pub expand: bool,
    pub start: String,
    pub end: String,
}

/// Why a request body cannot be acted on: a `400 Bad Request`, or `422` for well-formed XML
/// that is not the request it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    Xml(XmlError),
    /// Well-formed, but not what the method takes.
    Unexpected(&'static str),
}

impl From<XmlError> for RequestError {
    fn from(e: XmlError) -> Self {
        Self::Xml(e)
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Xml(e) => e.fmt(f),
            Self::Unexpected(what) => write!(f, "expected {what}"),
        }
    }
}

impl std::error::Error for RequestError {}

/// Reads a PROPFIND body; an empty one asks for `allprop`.
pub fn propfind(body: &[u8]) -> Result<PropFind, RequestError> {
    if is_blank(body) {
        return Ok(PropFind::AllProp {
            include: Vec::new(),
        });
    }
    let root = xml::parse(body)?;
    if !root.is(DAV, "propfind") {
        return Err(RequestError::Unexpected("DAV:propfind"));
    }
    props_of(&root).ok_or(RequestError::Unexpected("prop, propname or allprop"))
}

/// Reads a PROPPATCH body.
pub fn proppatch(body: &[u8]) -> Result<Vec<PropChange>, RequestError> {
    let root = xml::parse(body)?;
    if !root.is(DAV, "propertyupdate") {
        return Err(RequestError::Unexpected("DAV:propertyupdate"));
    }
    let mut changes = Vec::new();
    for action in root.children {
        let set = action.is(DAV, "set");
        if !set && !action.is(DAV, "remove") {
            continue;
        }
        for prop in action.children.into_iter().filter(|c| c.is(DAV, "prop")) {
            for property in prop.children {
                changes.push(if set {
                    PropChange::Set(property)
                } else {
                    PropChange::Remove(PropName::new(&property.ns, &property.name))
                });
            }
        }
    }
    Ok(changes)
}

/// Reads a MKCOL (RFC 5689) or MKCALENDAR body; an empty one asks for nothing special.
pub fn mkcol(body: &[u8]) -> Result<Mkcol, RequestError> {
    if is_blank(body) {
        return Ok(Mkcol::default());
    }
    let root = xml::parse(body)?;
    if !root.is(DAV, "mkcol") && !root.is(CALDAV, "mkcalendar") {
        return Err(RequestError::Unexpected("DAV:mkcol or CALDAV:mkcalendar"));
    }
    let mut request = Mkcol::default();
    for set in root.children.into_iter().filter(|c| c.is(DAV, "set")) {
        for prop in set.children.into_iter().filter(|c| c.is(DAV, "prop")) {
            for property in prop.children {
                if property.is(DAV, "resourcetype") {
                    request.resource_types.extend(
                        property
                            .children
                            .iter()
                            .map(|kind| PropName::new(&kind.ns, &kind.name)),
                    );
                } else {
                    request.set.push(property);
                }
            }
        }
    }
    Ok(request)
}

/// Reads a REPORT body.
pub fn report(body: &[u8]) -> Result<Report, RequestError> {
    let root = xml::parse(body)?;
    let props = || {
        props_of(&root).unwrap_or(PropFind::AllProp {
            include: Vec::new(),
        })
    };
    let report = if root.is(CALDAV, "calendar-multiget") || root.is(CARDDAV, "addressbook-multiget")
    {
        Report::Multiget {
            props: props(),
            recurrences: recurrences_of(&root),
            hrefs: root
                .children_named(DAV, "href")
                .map(|href| href.trimmed_text().to_owned())
                .collect(),
        }
    } else if root.is(CALDAV, "calendar-query") {
        Report::CalendarQuery {
            props: props(),
            filter: root.child(CALDAV, "filter").cloned().unwrap_or_default(),
            recurrences: recurrences_of(&root),
        }
    } else if root.is(CARDDAV, "addressbook-query") {
        Report::AddressbookQuery {
            props: props(),
            filter: root.child(CARDDAV, "filter").cloned().unwrap_or_default(),
            limit: limit_of(&root),
        }
    } else if root.is(CALDAV, "free-busy-query") {
        let range = root
            .child(CALDAV, "time-range")
            .ok_or(RequestError::Unexpected("CALDAV:time-range"))?;
        Report::FreeBusy {
            start: range.attribute("start").unwrap_or_default().to_owned(),
            end: range.attribute("end").unwrap_or_default().to_owned(),
        }
    } else if root.is(DAV, "sync-collection") {
        Report::SyncCollection {
            token: root
                .child(DAV, "sync-token")
                .map(|token| token.trimmed_text().to_owned())
                .unwrap_or_default(),
            props: props(),
            limit: limit_of(&root),
        }
    } else if root.is(DAV, "principal-property-search") {
        Report::PrincipalSearch {
            props: props(),
            searches: root
                .children_named(DAV, "property-search")
                .map(|search| PropertySearch {
                    props: search.child(DAV, "prop").map(names).unwrap_or_default(),
                    text: search
                        .child(DAV, "match")
                        .map(|m| m.trimmed_text().to_owned())
                        .unwrap_or_default(),
                })
                .collect(),
            any_of: root.attribute("test") == Some("anyof"),
        }
    } else {
        Report::Unsupported(PropName::new(&root.ns, &root.name))
    };
    Ok(report)
}

/// The `prop`, `propname` or `allprop` (with `include`) inside `parent`.
fn props_of(parent: &Element) -> Option<PropFind> {
    if let Some(prop) = parent.child(DAV, "prop") {
        return Some(PropFind::Prop(names(prop)));
    }
    if parent.child(DAV, "propname").is_some() {
        return Some(PropFind::PropName);
    }
    parent.child(DAV, "allprop")?;
    Some(PropFind::AllProp {
        include: parent.child(DAV, "include").map(names).unwrap_or_default(),
    })
}

fn names(prop: &Element) -> Vec<PropName> {
    prop.children
        .iter()
        .map(|name| PropName::new(&name.ns, &name.name))
        .collect()
}

/// The `expand` or `limit-recurrence-set` of the `calendar-data` a report's `prop` asks
/// for, if any.
fn recurrences_of(root: &Element) -> Option<Recurrences> {
    let data = root.child(DAV, "prop")?.child(CALDAV, "calendar-data")?;
    let (expand, limit) = match data.child(CALDAV, "expand") {
        Some(expand) => (true, expand),
        None => (false, data.child(CALDAV, "limit-recurrence-set")?),
    };
    Some(Recurrences {
        expand,
        start: limit.attribute("start")?.to_owned(),
        end: limit.attribute("end")?.to_owned(),
    })
}

/// `<D:limit><D:nresults>n</D:nresults></D:limit>` (RFC 5323 §5.17, used by RFC 6578 and
/// RFC 6352).
fn limit_of(root: &Element) -> Option<u32> {
    let limit = root
        .child(DAV, "limit")
        .or_else(|| root.child(CARDDAV, "limit"))?;
    let count = limit
        .child(DAV, "nresults")
        .or_else(|| limit.child(CARDDAV, "nresults"))?;
    count.trimmed_text().parse().ok()
}

fn is_blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn propfind_forms() {
        assert_eq!(
            propfind(b"  ").unwrap(),
            PropFind::AllProp { include: vec![] }
        );
        let body = br#"<propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><prop><getetag/><C:calendar-home-set/></prop></propfind>"#;
        assert_eq!(
            propfind(body).unwrap(),
            PropFind::Prop(vec![
                PropName::new(DAV, "getetag"),
                PropName::new(CALDAV, "calendar-home-set")
            ])
        );
        assert_eq!(
            propfind(br#"<propfind xmlns="DAV:"><propname/></propfind>"#).unwrap(),
            PropFind::PropName
        );
        let body =
            br#"<propfind xmlns="DAV:"><allprop/><include><x xmlns="urn:y"/></include></propfind>"#;
        assert_eq!(
            propfind(body).unwrap(),
            PropFind::AllProp {
                include: vec![PropName::new("urn:y", "x")]
            }
        );
        assert!(propfind(br#"<x xmlns="DAV:"/>"#).is_err());
        assert!(propfind(br#"<propfind xmlns="DAV:"/>"#).is_err());
    }

    #[test]
    fn proppatch_keeps_order() {
        let body = br#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Work</D:displayname></D:prop></D:set><D:remove><D:prop><x xmlns="urn:y"/></D:prop></D:remove></D:propertyupdate>"#;
        let changes = proppatch(body).unwrap();
        assert!(
            matches!(&changes[0], PropChange::Set(e) if e.is(DAV, "displayname") && e.text == "Work")
        );
        assert_eq!(changes[1], PropChange::Remove(PropName::new("urn:y", "x")));
    }

    #[test]
    fn mkcalendar_and_extended_mkcol() {
        let body = br#"<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>Team</D:displayname><C:supported-calendar-component-set><C:comp name="VTODO"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>"#;
        let request = mkcol(body).unwrap();
        assert!(request.resource_types.is_empty());
        assert_eq!(request.set.len(), 2);
        let body = br#"<D:mkcol xmlns:D="DAV:" xmlns:R="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><R:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>"#;
        let request = mkcol(body).unwrap();
        assert_eq!(
            request.resource_types,
            vec![
                PropName::new(DAV, "collection"),
                PropName::new(CARDDAV, "addressbook")
            ]
        );
        assert_eq!(mkcol(b"").unwrap(), Mkcol::default());
    }

    #[test]
    fn reports() {
        let body = br#"<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop><D:href>/a.ics</D:href><D:href> /b.ics </D:href></C:calendar-multiget>"#;
        let Report::Multiget {
            props,
            hrefs,
            recurrences,
        } = report(body).unwrap()
        else {
            panic!()
        };
        assert_eq!(recurrences, None);
        assert_eq!(hrefs, ["/a.ics", "/b.ics"]);
        assert!(matches!(props, PropFind::Prop(p) if p.len() == 2));
        let body = br#"<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:limit><D:nresults>10</D:nresults></D:limit><D:prop><D:getetag/></D:prop></D:sync-collection>"#;
        assert_eq!(
            report(body).unwrap(),
            Report::SyncCollection {
                token: String::new(),
                props: PropFind::Prop(vec![PropName::new(DAV, "getetag")]),
                limit: Some(10)
            }
        );
        let body = br#"<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20260101T000000Z" end="20260201T000000Z"/></C:free-busy-query>"#;
        assert!(
            matches!(report(body).unwrap(), Report::FreeBusy { start, .. } if start == "20260101T000000Z")
        );
        assert!(matches!(
            report(br#"<x:y xmlns:x="urn:z"/>"#).unwrap(),
            Report::Unsupported(_)
        ));
    }

    #[test]
    fn a_principal_search_reads_its_searches_and_test() {
        let body = br#"<D:principal-property-search xmlns:D="DAV:" test="anyof"><D:property-search><D:prop><D:displayname/></D:prop><D:match> Al </D:match></D:property-search><D:prop><D:displayname/></D:prop></D:principal-property-search>"#;
        assert_eq!(
            report(body).unwrap(),
            Report::PrincipalSearch {
                props: PropFind::Prop(vec![PropName::new(DAV, "displayname")]),
                searches: vec![PropertySearch {
                    props: vec![PropName::new(DAV, "displayname")],
                    text: "Al".into(),
                }],
                any_of: true,
            }
        );
        let body = br#"<D:principal-property-search xmlns:D="DAV:"><D:prop/></D:principal-property-search>"#;
        assert!(matches!(
            report(body).unwrap(),
            Report::PrincipalSearch { searches, any_of: false, .. } if searches.is_empty()
        ));
    }
}
