//! The items of a collection: GET and HEAD, PUT with its ETag preconditions and the
//! checks of RFC 4791 §5.3.2 and RFC 6352 §6.3.2, and DELETE.

use proto_dav::Response;
use sha2::{Digest, Sha256};

use super::props::{self, MAX_RESOURCE_SIZE};
use super::target::Target;
use super::{Request, content, precondition, status};
use crate::mail::date::{http_date, unix_now};
use crate::store::dav::{Expect, ItemRefusal, ItemWrite, PutItem};
use crate::store::{Store, StoreError};

pub(super) fn get<S: Store>(request: &Request<'_, S>) -> Result<Response, StoreError> {
    let Target::Item(kind, _, name, item) = &request.target else {
        return Ok(
            status(405, "only items have content; use PROPFIND on collections")
                .header("Allow", "OPTIONS, PROPFIND, PROPPATCH, REPORT, DELETE"),
        );
    };
    let Some(collection) = request.collection(*kind, name)? else {
        return Ok(status(404, "no such collection"));
    };
    let store = request.store();
    let (Some(found), Some(data)) = (
        store.item(collection.id, item)?,
        store.item_data(collection.id, item)?,
    ) else {
        return Ok(status(404, "no such item"));
    };
    if request.head.header("if-none-match").is_some_and(|tags| {
        tags.split(',')
            .any(|t| t.trim() == found.etag || t.trim() == "*")
    }) {
        return Ok(Response::new(304).header("ETag", found.etag));
    }
    Ok(Response::new(200)
        .header("ETag", found.etag.clone())
        .header("Last-Modified", http_date(found.modified))
        .body(&props::content_type(*kind, &found.index.component), data))
}

pub(super) fn put<S: Store>(request: &Request<'_, S>) -> Result<Response, StoreError> {
    let Target::Item(kind, _, name, item) = &request.target else {
        return Ok(status(
            405,
            "PUT creates items inside a calendar or address book",
        ));
    };
    let Some(collection) = request.collection(*kind, name)? else {
        return Ok(status(
            409,
            "no such collection: make it first (MKCALENDAR or MKCOL)",
        ));
    };
    if request.body.len() as u64 > MAX_RESOURCE_SIZE {
        let element = match kind {
            crate::store::dav::CollectionKind::Calendar => ("cal", "max-resource-size"),
            crate::store::dav::CollectionKind::AddressBook => ("card", "max-resource-size"),
        };
        return Ok(precondition(403, element, "larger than max-resource-size"));
    }
    let index = match content::index(*kind, request.body, &props::components(&collection)) {
        Ok(index) => index,
        Err(invalid) => return Ok(precondition(403, invalid.precondition, &invalid.why)),
    };
    let mut index = index;
    if index.uid.is_empty() {
        index.uid = item.clone();
    }
    let etag = etag(request.body);
    let put = PutItem {
        collection: collection.id,
        name: item.clone(),
        data: request.body.to_vec(),
        etag,
        modified: unix_now(),
        index,
        expect: expect(request.head),
    };
    Ok(match request.store().put_item(put)? {
        ItemWrite::Stored { item, created } => {
            tracing::info!(
                user = %request.user(),
                path = %request.target.href(),
                created,
                "DAV item stored"
            );
            Response::new(if created { 201 } else { 204 }).header("ETag", item.etag)
        }
        ItemWrite::Refused(refusal) => refused(refusal, *kind),
    })
}

pub(super) fn delete<S: Store>(request: &Request<'_, S>) -> Result<Response, StoreError> {
    let Target::Item(kind, _, name, item) = &request.target else {
        return Ok(status(405, "not an item"));
    };
    let Some(collection) = request.collection(*kind, name)? else {
        return Ok(status(404, "no such collection"));
    };
    Ok(
        match request
            .store()
            .delete_item(collection.id, item, expect(request.head))?
        {
            ItemWrite::Stored { .. } => {
                tracing::info!(user = %request.user(), path = %request.target.href(), "DAV item deleted");
                Response::new(204)
            }
            ItemWrite::Refused(refusal) => refused(refusal, *kind),
        },
    )
}

fn refused(refusal: ItemRefusal, kind: crate::store::dav::CollectionKind) -> Response {
    match refusal {
        ItemRefusal::NoCollection => status(409, "the collection is gone"),
        ItemRefusal::NotFound => status(404, "no such item"),
        ItemRefusal::Precondition => status(412, "the item has changed (ETag mismatch)"),
        ItemRefusal::UidInUse(other) => {
            let element = match kind {
                crate::store::dav::CollectionKind::Calendar => ("cal", "no-uid-conflict"),
                crate::store::dav::CollectionKind::AddressBook => ("card", "no-uid-conflict"),
            };
            precondition(
                403,
                element,
                &format!("another item of this collection ({other}) has this UID"),
            )
        }
    }
}

/// What `If-Match` and `If-None-Match` ask of the item written (RFC 9110 §13.1.1, §13.1.2),
/// checked by the store in the write's own transaction.
fn expect(head: &proto_dav::Head) -> Expect {
    let list = |value: &str| -> Vec<String> {
        value
            .split(',')
            .map(str::trim)
            .filter(|tag| !tag.starts_with("W/"))
            .map(str::to_owned)
            .collect()
    };
    if let Some(tags) = head.header("if-match") {
        return match tags.trim() {
            "*" => Expect::Present,
            tags => Expect::Etag(list(tags)),
        };
    }
    match head.header("if-none-match").map(str::trim) {
        Some("*") => Expect::Absent,
        Some(tags) => Expect::NotEtag(list(tags)),
        None => Expect::Any,
    }
}

/// A strong ETag: a digest of the content, so equal content has the same tag.
fn etag(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let mut out = String::from("\"");
    for byte in digest.iter().take(12) {
        out.push_str(&format!("{byte:02x}"));
    }
    out.push('"');
    out
}
