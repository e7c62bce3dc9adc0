//! Making calendars and address books (MKCALENDAR, RFC 4791 §5.3.1; extended MKCOL,
//! RFC 5689) and deleting them.

use proto_dav::dav::request;
use proto_dav::dav::{CALDAV, CARDDAV, DAV, PropName};
use proto_dav::{Method, Response};

use super::propfind::stored_value;
use super::target::Target;
use super::{Request, bad_body, precondition, props, shared_segment, status};
use crate::mail::date::unix_now;
use crate::store::dav::{CollectionKind, NewCollection};
use crate::store::{Store, StoreError};

/// Longest collection name taken: a path segment, not a document.
const MAX_NAME: usize = 200;

pub(super) fn make<S: Store>(request: &Request<'_, S>) -> Result<Response, StoreError> {
    let Target::Collection(kind, _, name) = &request.target else {
        return Ok(status(
            403,
            "calendars and address books are made directly under the user's home",
        ));
    };
    let body = match request::mkcol(request.body) {
        Ok(body) => body,
        Err(e) => return Ok(bad_body(e)),
    };
    let calendar = *kind == CollectionKind::Calendar;
    // MKCALENDAR makes a calendar; MKCOL must say which it makes, and it must be the kind
    // its home holds.
    let wanted = if request.head.method == Method::Mkcalendar
        || body.resource_types.iter().any(|t| t.is(CALDAV, "calendar"))
    {
        Some(CollectionKind::Calendar)
    } else if body
        .resource_types
        .iter()
        .any(|t| t.is(CARDDAV, "addressbook"))
    {
        Some(CollectionKind::AddressBook)
    } else if calendar {
        None
    } else {
        // A plain MKCOL in the address-book home makes an address book, as clients expect.
        Some(CollectionKind::AddressBook)
    };
    if wanted != Some(*kind) {
        return Ok(precondition(
            403,
            ("d", "valid-resourcetype"),
            "only calendars go in the calendar home, and address books in the address-book home",
        ));
    }
    if name.len() > MAX_NAME || name.starts_with('.') || shared_segment(name).is_some() {
        return Ok(status(403, "not a name for a collection"));
    }
    // The default collection comes first, as if the home had been looked at before.
    let existing = request.collections(*kind)?;
    if existing
        .iter()
        .any(|collection| collection.segment == *name)
    {
        return Ok(
            precondition(405, ("d", "resource-must-be-null"), "it exists already")
                .header("Allow", "OPTIONS, PROPFIND, PROPPATCH, REPORT, DELETE"),
        );
    }
    let mut properties = Vec::new();
    for element in &body.set {
        let property = PropName::new(&element.ns, &element.name);
        match stored_value(*kind, element) {
            Some(Some(value)) if !props::is_protected(&property) => {
                properties.push((property.to_string(), value));
            }
            _ => {
                return Ok(precondition(
                    403,
                    ("d", "cannot-modify-protected-property"),
                    &format!("{property} cannot be set"),
                ));
            }
        }
    }
    if !properties.iter().any(|(key, _)| key == "{DAV:}displayname") {
        properties.push((PropName::new(DAV, "displayname").to_string(), name.clone()));
    }
    let made = request.store().create_collection(NewCollection {
        account: request.account.id,
        kind: *kind,
        name: name.clone(),
        created: unix_now(),
        properties,
    });
    match made {
        Ok(_) => {
            tracing::info!(user = %request.user(), path = %request.target.href(), "DAV collection made");
            Ok(Response::new(201))
        }
        Err(StoreError::AlreadyExists(_)) => Ok(status(405, "it exists already")),
        Err(e) => Err(e),
    }
}

pub(super) fn delete<S: Store>(request: &Request<'_, S>) -> Result<Response, StoreError> {
    let Target::Collection(kind, _, name) = &request.target else {
        return Ok(status(
            403,
            "only items, calendars and address books can be deleted",
        ));
    };
    let Some(collection) = request.collection(*kind, name)? else {
        return Ok(status(404, "no such collection"));
    };
    // An ETag precondition on a collection compares its ETag (the sync revision).
    if let Some(tags) = request.head.header("if-match") {
        let current = props::collection_etag(&collection);
        if !tags
            .split(',')
            .any(|t| t.trim() == "*" || t.trim() == current)
        {
            return Ok(status(412, "the collection has changed"));
        }
    }
    if collection.shared.is_some() {
        // For the user it was shared with, deleting it is leaving it.
        request
            .store()
            .set_share(collection.id, request.account.id, None)?;
        tracing::info!(user = %request.user(), path = %request.target.href(), "DAV share left");
        return Ok(Response::new(204));
    }
    request.store().delete_collection(collection.id)?;
    tracing::info!(user = %request.user(), path = %request.target.href(), "DAV collection deleted");
    Ok(Response::new(204))
}
