//! PROPFIND (RFC 4918 §9.1) over the DAV tree, and PROPPATCH (§9.2) of collections.

use proto_dav::Response;
use proto_dav::dav::request::{self, PropChange};
use proto_dav::dav::{CALDAV, Depth, Multistatus, PropName, PropStat, Value, xml::Element};

use super::props::{self, Resource, Viewer};
use super::target::Target;
use super::{Request, bad_body, multistatus, status};
use crate::store::dav::CollectionKind;
use crate::store::{Store, StoreError};

pub(super) fn propfind<S: Store>(request: &Request<'_, S>) -> Result<Response, StoreError> {
    let wanted = match request::propfind(request.body) {
        Ok(wanted) => wanted,
        Err(e) => return Ok(bad_body(e)),
    };
    // Depth infinity is answered as 1: the tree is at most two levels under a home.
    let Some(depth) = Depth::parse(request.head.header("depth"), Depth::Infinity) else {
        return Ok(status(400, "bad Depth header"));
    };
    let deep = depth != Depth::Zero;
    // What the account uses changes with every message and item: read as it is now when
    // asked for (RFC 4331), not as it was at login.
    let now = match props::asks_quota(&wanted) {
        true => request.store().account_by_id(request.account.id)?,
        false => None,
    };
    let viewer = Viewer::of(now.as_ref().unwrap_or(request.account));
    let mut body = Multistatus::new();
    let target = &request.target;
    match target {
        Target::Root | Target::Principals => {
            body.response(
                &target.href(),
                &props::answer(&Resource::Root(target), &viewer, &wanted),
            );
            if deep {
                let principal = Target::Principal(request.user().to_owned());
                body.response(
                    &principal.href(),
                    &props::answer(&Resource::Principal, &viewer, &wanted),
                );
            }
        }
        Target::Principal(_) => {
            body.response(
                &target.href(),
                &props::answer(&Resource::Principal, &viewer, &wanted),
            );
        }
        Target::Home(kind, user) => {
            body.response(
                &target.href(),
                &props::answer(&Resource::Home(*kind), &viewer, &wanted),
            );
            if deep {
                for collection in request.collections(*kind)? {
                    let href =
                        Target::Collection(*kind, user.clone(), collection.segment.clone()).href();
                    body.response(
                        &href,
                        &props::answer(&Resource::Collection(&collection), &viewer, &wanted),
                    );
                }
            }
        }
        Target::Collection(kind, user, name) => {
            let Some(collection) = request.collection(*kind, name)? else {
                return Ok(status(404, "no such collection"));
            };
            body.response(
                &target.href(),
                &props::answer(&Resource::Collection(&collection), &viewer, &wanted),
            );
            if deep {
                let with_data = props::needs_data(&wanted);
                let store = request.store();
                for item in store.items(collection.id)? {
                    let data = match with_data {
                        true => store.item_data(collection.id, &item.name)?,
                        false => None,
                    };
                    let resource = Resource::Item {
                        collection: &collection,
                        item: &item,
                        data: data.as_deref(),
                    };
                    let href =
                        Target::Item(*kind, user.clone(), name.clone(), item.name.clone()).href();
                    body.response(&href, &props::answer(&resource, &viewer, &wanted));
                }
            }
        }
        Target::Item(kind, _, name, item) => {
            let Some(collection) = request.collection(*kind, name)? else {
                return Ok(status(404, "no such collection"));
            };
            let store = request.store();
            let Some(found) = store.item(collection.id, item)? else {
                return Ok(status(404, "no such item"));
            };
            let data = match props::needs_data(&wanted) {
                true => store.item_data(collection.id, item)?,
                false => None,
            };
            let resource = Resource::Item {
                collection: &collection,
                item: &found,
                data: data.as_deref(),
            };
            body.response(&target.href(), &props::answer(&resource, &viewer, &wanted));
        }
    }
    Ok(multistatus(body))
}

/// PROPPATCH: sets and removes the properties of a calendar or address book, all or none
/// (RFC 4918 §9.2): one property that cannot be set fails the others with `424`.
pub(super) fn proppatch<S: Store>(request: &Request<'_, S>) -> Result<Response, StoreError> {
    let Target::Collection(kind, _, name) = &request.target else {
        return Ok(status(
            403,
            "only calendars and address books have properties to set",
        ));
    };
    let Some(collection) = request.collection(*kind, name)? else {
        return Ok(status(404, "no such collection"));
    };
    if collection.shared.is_some() {
        return Ok(super::read_only());
    }
    let changes = match request::proppatch(request.body) {
        Ok(changes) => changes,
        Err(e) => return Ok(bad_body(e)),
    };
    let mut outcome: Vec<PropStat> = Vec::new();
    let mut writes: Vec<(String, Option<String>)> = Vec::new();
    let mut failed = false;
    for change in &changes {
        let (name, write) = match change {
            PropChange::Set(element) => {
                let name = PropName::new(&element.ns, &element.name);
                let value = stored_value(*kind, element);
                (name, value)
            }
            PropChange::Remove(name) => (name.clone(), Some(None)),
        };
        match write {
            Some(value) if !props::is_protected(&name) => {
                writes.push((name.to_string(), value));
                outcome.push(PropStat {
                    name,
                    status: 200,
                    value: Value::Empty,
                });
            }
            _ => {
                failed = true;
                outcome.push(PropStat {
                    name,
                    status: 403,
                    value: Value::Empty,
                });
            }
        }
    }
    if failed {
        for prop in &mut outcome {
            if prop.status == 200 {
                prop.status = 424;
            }
        }
    } else if !writes.is_empty() {
        request
            .store()
            .set_collection_properties(collection.id, writes)?;
    }
    let mut body = Multistatus::new();
    body.response(&request.target.href(), &outcome);
    Ok(multistatus(body))
}

/// What a set property is stored as: its text, or for the component set of a calendar
/// the names it lists. `None` when it cannot be set (a component set that lists none).
pub(super) fn stored_value(kind: CollectionKind, element: &Element) -> Option<Option<String>> {
    let name = PropName::new(&element.ns, &element.name);
    if name.is(CALDAV, "supported-calendar-component-set") {
        let components: Vec<String> = element
            .children_named(CALDAV, "comp")
            .filter_map(|comp| comp.attribute("name"))
            .map(str::to_ascii_uppercase)
            .collect();
        if kind != CollectionKind::Calendar || components.is_empty() {
            return None;
        }
        return Some(Some(components.join(",")));
    }
    Some(Some(element.trimmed_text().to_owned()))
}
