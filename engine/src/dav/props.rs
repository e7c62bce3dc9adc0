//! The properties of each kind of resource: computed ("live") ones, and those clients set
//! on collections ("dead" ones, kept as text).

use proto_dav::dav::{
    APPLE_ICAL, CALDAV, CALENDARSERVER, CARDDAV, DAV, PropFind, PropName, PropStat, Value,
};

use super::target::{Target, home_href, principal_href};
use super::{Visible, shared_segment};
use crate::mail::date::http_date;
use crate::store::Account;
use crate::store::dav::{Access, Collection, CollectionKind, Item};

/// Largest item a client may store; clients learn it from `max-resource-size`.
pub const MAX_RESOURCE_SIZE: u64 = 8 * 1024 * 1024;

/// The components a calendar takes unless its creator chose.
pub const DEFAULT_COMPONENTS: [&str; 3] = ["VEVENT", "VTODO", "VJOURNAL"];

/// Clark name of the property holding a calendar's components, comma-separated.
pub const COMPONENTS: &str = "{urn:ietf:params:xml:ns:caldav}supported-calendar-component-set";

/// A resource whose properties are asked for, with what computing them needs.
pub enum Resource<'a> {
    /// `/dav/` or `/dav/principals/`.
    Root(&'a Target),
    Principal,
    Home(CollectionKind),
    Collection(&'a Visible),
    Item {
        collection: &'a Visible,
        item: &'a Item,
        /// The content, when a property asked for needs it (`calendar-data`).
        data: Option<&'a [u8]>,
    },
}

/// Who is asking, for the properties that depend on it.
pub struct Viewer<'a> {
    pub user: &'a str,
    /// Bytes the account uses (mail, calendars and contacts alike), and its quota.
    pub used: u64,
    pub quota: Option<u64>,
}

impl<'a> Viewer<'a> {
    pub fn of(account: &'a Account) -> Self {
        Viewer {
            user: &account.email,
            used: account.used,
            quota: account.quota,
        }
    }
}

/// A property name as a constant: (namespace, local name).
type Name = (&'static str, &'static str);

/// The live properties calendars and address books share.
const COLLECTION: &[Name] = &[
    (DAV, "resourcetype"),
    (DAV, "displayname"),
    (DAV, "owner"),
    (DAV, "current-user-principal"),
    (DAV, "current-user-privilege-set"),
    (DAV, "supported-report-set"),
    (DAV, "sync-token"),
    (DAV, "getetag"),
    (CALENDARSERVER, "getctag"),
];

/// The live properties of each kind of resource, as listed for `propname` and `allprop`:
/// those it shares with others of its family, then its own.
fn live_names(resource: &Resource<'_>) -> [&'static [Name]; 2] {
    match resource {
        Resource::Root(_) => [
            &[
                (DAV, "resourcetype"),
                (DAV, "displayname"),
                (DAV, "current-user-principal"),
                (DAV, "current-user-privilege-set"),
            ],
            &[],
        ],
        Resource::Principal => [
            &[
                (DAV, "resourcetype"),
                (DAV, "displayname"),
                (DAV, "current-user-principal"),
                (DAV, "principal-URL"),
                (DAV, "current-user-privilege-set"),
                (CALDAV, "calendar-home-set"),
                (CALDAV, "calendar-user-address-set"),
                (CARDDAV, "addressbook-home-set"),
            ],
            &[],
        ],
        // A home has the first five: no sync, reports or ETag of its own.
        Resource::Home(_) => [&COLLECTION[..5], &[]],
        Resource::Collection(collection) => match collection.kind {
            CollectionKind::Calendar => [
                COLLECTION,
                &[
                    (CALDAV, "supported-calendar-component-set"),
                    (CALDAV, "supported-calendar-data"),
                    (CALDAV, "max-resource-size"),
                ],
            ],
            CollectionKind::AddressBook => [
                COLLECTION,
                &[
                    (CARDDAV, "supported-address-data"),
                    (CARDDAV, "max-resource-size"),
                ],
            ],
        },
        Resource::Item { .. } => [
            &[
                (DAV, "resourcetype"),
                (DAV, "getetag"),
                (DAV, "getcontenttype"),
                (DAV, "getcontentlength"),
                (DAV, "getlastmodified"),
                (DAV, "owner"),
                (DAV, "current-user-privilege-set"),
            ],
            &[],
        ],
    }
}

/// The properties `request` asks of `resource`, each with its value or `404`.
pub fn answer(resource: &Resource<'_>, viewer: &Viewer<'_>, request: &PropFind) -> Vec<PropStat> {
    match request {
        PropFind::PropName => names(resource)
            .into_iter()
            .map(|name| PropStat {
                name,
                status: 200,
                value: Value::Empty,
            })
            .collect(),
        PropFind::AllProp { include } => {
            let mut wanted = names(resource);
            // allprop leaves out what is costly or large (RFC 4791 §9.6, RFC 6352 §10.4).
            wanted.retain(|name| !name.is(DAV, "supported-report-set"));
            for name in include {
                if !wanted.contains(name) {
                    wanted.push(name.clone());
                }
            }
            wanted
                .iter()
                .map(|name| one(resource, viewer, name))
                .collect()
        }
        PropFind::Prop(names) => names
            .iter()
            .map(|name| one(resource, viewer, name))
            .collect(),
    }
}

/// Every property `resource` has: its live ones and the dead ones set on it.
fn names(resource: &Resource<'_>) -> Vec<PropName> {
    let mut names: Vec<PropName> = live_names(resource)
        .into_iter()
        .flatten()
        .map(|(ns, local)| PropName::new(ns, local))
        .collect();
    if let Resource::Collection(collection) = resource {
        for (name, _) in &collection.properties {
            if let Ok(name) = name.parse::<PropName>()
                && !names.contains(&name)
            {
                names.push(name);
            }
        }
    }
    names
}

fn one(resource: &Resource<'_>, viewer: &Viewer<'_>, name: &PropName) -> PropStat {
    match value(resource, viewer, name) {
        Some(value) => PropStat {
            name: name.clone(),
            status: 200,
            value,
        },
        None => PropStat {
            name: name.clone(),
            status: 404,
            value: Value::Empty,
        },
    }
}

/// The value of `name` on `resource`; `None` when it has no such property.
fn value(resource: &Resource<'_>, viewer: &Viewer<'_>, name: &PropName) -> Option<Value> {
    if let Some(value) = common(resource, viewer, name) {
        return Some(value);
    }
    match resource {
        Resource::Root(target) => match (name.ns.as_str(), name.local.as_str()) {
            (DAV, "resourcetype") => Some(Value::Elements(vec![("d", "collection")])),
            (DAV, "displayname") => Some(Value::Text(match target {
                Target::Principals => "Principals".into(),
                _ => "Postern".into(),
            })),
            _ => None,
        },
        Resource::Principal => match (name.ns.as_str(), name.local.as_str()) {
            (DAV, "resourcetype") => Some(Value::Elements(vec![("d", "principal")])),
            (DAV, "displayname") => Some(Value::Text(viewer.user.to_owned())),
            (DAV, "principal-URL") => Some(Value::Href(principal_href(viewer.user))),
            (CALDAV, "calendar-user-address-set") => {
                Some(Value::Href(format!("mailto:{}", viewer.user)))
            }
            _ => None,
        },
        Resource::Home(kind) => match (name.ns.as_str(), name.local.as_str()) {
            (DAV, "resourcetype") => Some(Value::Elements(vec![("d", "collection")])),
            (DAV, "displayname") => Some(Value::Text(
                match kind {
                    CollectionKind::Calendar => "Calendars",
                    CollectionKind::AddressBook => "Address books",
                }
                .into(),
            )),
            _ => None,
        },
        Resource::Collection(collection) => collection_value(collection, name),
        Resource::Item {
            collection,
            item,
            data,
        } => item_value(collection, item, *data, name),
    }
}

/// What every resource answers alike: who is asking, where their homes are, and what they
/// may do.
fn common(resource: &Resource<'_>, viewer: &Viewer<'_>, name: &PropName) -> Option<Value> {
    match (name.ns.as_str(), name.local.as_str()) {
        (DAV, "current-user-principal") => Some(Value::Href(principal_href(viewer.user))),
        (DAV, "current-user-privilege-set") => Some(Value::privileges(privileges(resource))),
        (DAV, "owner") if !matches!(resource, Resource::Root(_)) => {
            let owner = match resource {
                Resource::Collection(visible)
                | Resource::Item {
                    collection: visible,
                    ..
                } => shared_segment(&visible.segment).map(|(owner, _)| owner),
                _ => None,
            };
            Some(Value::Href(principal_href(owner.unwrap_or(viewer.user))))
        }
        (CALDAV, "calendar-home-set") if !matches!(resource, Resource::Item { .. }) => Some(
            Value::Href(home_href(CollectionKind::Calendar, viewer.user)),
        ),
        (CARDDAV, "addressbook-home-set") if !matches!(resource, Resource::Item { .. }) => Some(
            Value::Href(home_href(CollectionKind::AddressBook, viewer.user)),
        ),
        (DAV, "principal-collection-set") => Some(Value::Href(Target::Principals.href())),
        // RFC 4331, on the user's homes and own collections (a shared one counts against its
        // owner's quota); no value where there is no quota (§3). Left out of allprop (§4).
        (DAV, "quota-used-bytes") if own_storage(resource) => {
            Some(Value::Text(viewer.used.to_string()))
        }
        (DAV, "quota-available-bytes") if own_storage(resource) => viewer
            .quota
            .map(|quota| Value::Text(quota.saturating_sub(viewer.used).to_string())),
        _ => None,
    }
}

/// Whether `wanted` names a quota property (RFC 4331; allprop leaves them out).
pub fn asks_quota(wanted: &PropFind) -> bool {
    names_any(
        wanted,
        &[(DAV, "quota-used-bytes"), (DAV, "quota-available-bytes")],
    )
}

/// Whether `resource` is one of the user's homes or own collections.
fn own_storage(resource: &Resource<'_>) -> bool {
    match resource {
        Resource::Home(_) => true,
        Resource::Collection(visible) => shared_segment(&visible.segment).is_none(),
        _ => false,
    }
}

/// What the user may do with `resource` (RFC 3744 §5.4): everything with their own, less
/// with what was shared with them.
fn privileges(resource: &Resource<'_>) -> &'static [&'static str] {
    let shared = match resource {
        Resource::Root(_) | Resource::Principal => return &["read"],
        Resource::Home(_) => None,
        Resource::Collection(visible)
        | Resource::Item {
            collection: visible,
            ..
        } => visible.shared,
    };
    match shared {
        None => &[
            "read",
            "write",
            "write-properties",
            "write-content",
            "bind",
            "unbind",
            "read-current-user-privilege-set",
        ],
        Some(Access::ReadWrite) => &[
            "read",
            "write-content",
            "bind",
            "unbind",
            "read-current-user-privilege-set",
        ],
        Some(Access::Read) => &["read", "read-current-user-privilege-set"],
    }
}

fn collection_value(collection: &Collection, name: &PropName) -> Option<Value> {
    let calendar = collection.kind == CollectionKind::Calendar;
    let value = match (name.ns.as_str(), name.local.as_str()) {
        (DAV, "resourcetype") => Value::Elements(vec![
            ("d", "collection"),
            if calendar {
                ("cal", "calendar")
            } else {
                ("card", "addressbook")
            },
        ]),
        (DAV, "sync-token") | (CALENDARSERVER, "getctag") => Value::Text(sync_token(collection)),
        (DAV, "getetag") => Value::Text(collection_etag(collection)),
        (DAV, "supported-report-set") => Value::reports(if calendar {
            &[
                ("cal", "calendar-multiget"),
                ("cal", "calendar-query"),
                ("cal", "free-busy-query"),
                ("d", "sync-collection"),
            ]
        } else {
            &[
                ("card", "addressbook-multiget"),
                ("card", "addressbook-query"),
                ("d", "sync-collection"),
            ]
        }),
        (CALDAV, "supported-calendar-component-set") if calendar => {
            let components = components(collection);
            let names: Vec<&str> = components.iter().map(String::as_str).collect();
            Value::components(&names)
        }
        (CALDAV, "supported-calendar-data") if calendar => {
            Value::data_types("cal:calendar-data", &[("text/calendar", "2.0")])
        }
        (CARDDAV, "supported-address-data") if !calendar => Value::data_types(
            "card:address-data-type",
            &[("text/vcard", "3.0"), ("text/vcard", "4.0")],
        ),
        (CALDAV, "max-resource-size") if calendar => Value::Text(MAX_RESOURCE_SIZE.to_string()),
        (CARDDAV, "max-resource-size") if !calendar => Value::Text(MAX_RESOURCE_SIZE.to_string()),
        _ => {
            let text = collection.property(&name.to_string())?;
            return Some(Value::Text(text.to_owned()));
        }
    };
    Some(value)
}

fn item_value(
    collection: &Collection,
    item: &Item,
    data: Option<&[u8]>,
    name: &PropName,
) -> Option<Value> {
    let value = match (name.ns.as_str(), name.local.as_str()) {
        (DAV, "resourcetype") => Value::Empty,
        (DAV, "getetag") => Value::Text(item.etag.clone()),
        (DAV, "getcontenttype") => {
            Value::Text(content_type(collection.kind, &item.index.component))
        }
        (DAV, "getcontentlength") => Value::Text(item.size.to_string()),
        (DAV, "getlastmodified") => Value::Text(http_date(item.modified)),
        (CALDAV, "calendar-data") if collection.kind == CollectionKind::Calendar => {
            Value::Text(String::from_utf8_lossy(data?).into_owned())
        }
        (CARDDAV, "address-data") if collection.kind == CollectionKind::AddressBook => {
            Value::Text(String::from_utf8_lossy(data?).into_owned())
        }
        _ => return None,
    };
    Some(value)
}

/// Whether answering `request` needs the items' content.
pub fn needs_data(request: &PropFind) -> bool {
    names_any(
        request,
        &[(CALDAV, "calendar-data"), (CARDDAV, "address-data")],
    )
}

/// Whether `request` names one of `properties` by name (allprop and propname name none of
/// those this is asked about).
fn names_any(request: &PropFind, properties: &[Name]) -> bool {
    match request {
        PropFind::Prop(names) => names
            .iter()
            .any(|n| properties.iter().any(|&(ns, local)| n.is(ns, local))),
        _ => false,
    }
}

/// The `Content-Type` of an item.
pub fn content_type(kind: CollectionKind, component: &str) -> String {
    match kind {
        CollectionKind::Calendar => format!(
            "text/calendar; charset=utf-8; component={}",
            component.to_ascii_lowercase()
        ),
        CollectionKind::AddressBook => "text/vcard; charset=utf-8".into(),
    }
}

/// The components a calendar takes.
pub fn components(collection: &Collection) -> Vec<String> {
    match collection.property(COMPONENTS) {
        Some(list) => list.split(',').map(str::to_owned).collect(),
        None => DEFAULT_COMPONENTS.iter().map(|c| (*c).to_owned()).collect(),
    }
}

/// The sync token (RFC 6578) and ctag of a collection: its creation and latest revision.
pub fn sync_token(collection: &Collection) -> String {
    format!(
        "urn:postern:sync:{}-{}",
        collection.created, collection.revision
    )
}

/// The revision a sync token of `collection` stands for; `None` when it is not one of its
/// tokens (another collection's, from the future, or older than its compacted history).
pub fn token_revision(collection: &Collection, token: &str) -> Option<u64> {
    let rest = token.strip_prefix("urn:postern:sync:")?;
    let (created, revision) = rest.split_once('-')?;
    let revision: u64 = revision.parse().ok()?;
    let known = collection.floor..=collection.revision;
    (created.parse::<i64>().ok()? == collection.created && known.contains(&revision))
        .then_some(revision)
}

/// The ETag of a collection: it changes with every change to a member.
pub fn collection_etag(collection: &Collection) -> String {
    format!("\"{}-{}\"", collection.created, collection.revision)
}

/// Whether clients may set `name` on a collection: anything but the live properties,
/// which the server computes (`displayname` and the descriptions are dead properties
/// here, as in most servers).
pub fn is_protected(name: &PropName) -> bool {
    let settable = [
        (DAV, "displayname"),
        (CALDAV, "calendar-description"),
        (CALDAV, "calendar-timezone"),
        (CALDAV, "supported-calendar-component-set"),
        (CARDDAV, "addressbook-description"),
        (APPLE_ICAL, "calendar-color"),
        (APPLE_ICAL, "calendar-order"),
    ];
    if settable.iter().any(|(ns, local)| name.is(ns, local)) {
        return false;
    }
    let live = [DAV, CALDAV, CARDDAV, CALENDARSERVER];
    live.contains(&name.ns.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar() -> Collection {
        Collection {
            id: 1,
            account: 1,
            kind: CollectionKind::Calendar,
            name: "work".into(),
            created: 100,
            revision: 7,
            floor: 2,
            tombstones: 0,
            properties: vec![
                ("{DAV:}displayname".into(), "Work".into()),
                ("{urn:x}odd".into(), "v".into()),
            ],
        }
    }

    #[test]
    fn tokens_name_their_collection_and_revision() {
        let collection = calendar();
        let token = sync_token(&collection);
        assert_eq!(token_revision(&collection, &token), Some(7));
        assert_eq!(
            token_revision(&collection, "urn:postern:sync:100-3"),
            Some(3)
        );
        assert_eq!(token_revision(&collection, "urn:postern:sync:100-8"), None);
        // Older than what compaction kept.
        assert_eq!(token_revision(&collection, "urn:postern:sync:100-1"), None);
        assert_eq!(token_revision(&collection, "urn:postern:sync:99-3"), None);
        assert_eq!(token_revision(&collection, "http://x/1"), None);
    }

    #[test]
    fn dead_and_live_properties_of_a_collection() {
        let collection = calendar();
        let viewer = Viewer {
            user: "a@example.org",
            used: 0,
            quota: None,
        };
        let collection = Visible::own(collection);
        let resource = Resource::Collection(&collection);
        let answer = answer(
            &resource,
            &viewer,
            &PropFind::Prop(vec![
                PropName::new(DAV, "displayname"),
                PropName::new("urn:x", "odd"),
                PropName::new("urn:x", "missing"),
                PropName::new(CALDAV, "calendar-home-set"),
            ]),
        );
        let statuses: Vec<u16> = answer.iter().map(|p| p.status).collect();
        assert_eq!(statuses, [200, 200, 404, 200]);
        let names = super::names(&resource);
        assert!(names.contains(&PropName::new("urn:x", "odd")));
        // Twelve live properties and the client's own (displayname is both).
        assert_eq!(names.len(), 13);
        assert!(names.contains(&PropName::new(CALDAV, "supported-calendar-data")));
        let home = super::names(&Resource::Home(CollectionKind::Calendar));
        assert_eq!(home.len(), 5);
        assert!(!home.contains(&PropName::new(DAV, "sync-token")));
        assert!(is_protected(&PropName::new(DAV, "getetag")));
        assert!(!is_protected(&PropName::new(DAV, "displayname")));
        assert!(!is_protected(&PropName::new("urn:x", "odd")));
    }
}
