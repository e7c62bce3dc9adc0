//! The items of a collection: GET and HEAD, PUT with its ETag preconditions and the
//! checks of RFC 4791 §5.3.2 and RFC 6352 §6.3.2, DELETE, and COPY and MOVE between the
//! user's collections of a kind (RFC 4918 §9.8, §9.9).

use proto_dav::dav::headers;
use proto_dav::{Method, Response};
use sha2::{Digest, Sha256};

use super::props::{self, MAX_RESOURCE_SIZE};
use super::target::Target;
use super::{Request, content, precondition, read_only, status};
use crate::mail::date::{http_date, unix_now};
use crate::store::dav::{
    Collection, CollectionKind, Expect, ItemIndex, ItemRefusal, ItemWrite, PutItem,
};
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
    if !collection.writable() {
        return Ok(read_only());
    }
    if request.body.len() as u64 > MAX_RESOURCE_SIZE {
        return Ok(precondition(
            403,
            (prefix(*kind), "max-resource-size"),
            "larger than max-resource-size",
        ));
    }
    let index = match checked(*kind, request.body, &collection, item) {
        Ok(index) => index,
        Err(refusal) => return Ok(refusal),
    };
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
    if !collection.writable() {
        return Ok(read_only());
    }
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

pub(super) fn copy_or_move<S: Store>(request: &Request<'_, S>) -> Result<Response, StoreError> {
    let Target::Item(kind, _, name, item) = &request.target else {
        return Ok(status(403, "only items are copied or moved"));
    };
    let destination = request.head.header("destination").and_then(Target::parse);
    let Some(Target::Item(to_kind, to_user, to_name, to_item)) = destination else {
        return Ok(status(
            400,
            "Destination must name an item in a calendar or address book",
        ));
    };
    if to_user != request.user() || to_kind != *kind {
        return Ok(status(
            403,
            "items go only to the user's own collections of the same kind",
        ));
    }
    if (&to_name, &to_item) == (name, item) {
        return Ok(status(403, "the source and the destination are the same"));
    }
    let store = request.store();
    let (Some(from), Some(to)) = (
        request.collection(*kind, name)?,
        request.collection(*kind, &to_name)?,
    ) else {
        return Ok(status(409, "no such collection"));
    };
    let moving = request.head.method == Method::Move;
    if !to.writable() || (moving && !from.writable()) {
        return Ok(read_only());
    }
    let (Some(found), Some(data)) = (store.item(from.id, item)?, store.item_data(from.id, item)?)
    else {
        return Ok(status(404, "no such item"));
    };
    let expect = if headers::overwrite(request.head.header("overwrite")) {
        Expect::Any
    } else {
        Expect::Absent
    };
    let index = match checked(*kind, &data, &to, &to_item) {
        Ok(index) => index,
        Err(refusal) => return Ok(refusal),
    };
    let put = PutItem {
        collection: to.id,
        name: to_item.clone(),
        data,
        etag: found.etag,
        modified: unix_now(),
        index,
        expect,
    };
    let created = match store.put_item(put)? {
        ItemWrite::Stored { created, .. } => created,
        ItemWrite::Refused(ItemRefusal::Precondition) => {
            return Ok(status(412, "the destination exists (Overwrite: F)"));
        }
        ItemWrite::Refused(refusal) => return Ok(refused(refusal, *kind)),
    };
    if moving {
        // Stored at the destination first: a failure between the two writes leaves a copy,
        // never nothing.
        store.delete_item(from.id, item, Expect::Any)?;
    }
    tracing::info!(
        user = %request.user(),
        method = request.head.method.as_str(),
        from = %request.target.href(),
        to = %Target::Item(to_kind, to_user, to_name, to_item).href(),
        "DAV item copied"
    );
    Ok(Response::new(if created { 201 } else { 204 }))
}

/// Checks `data` as item `name` of `collection` and indexes it; the refusal is the `403`
/// to send. A vCard without UID is known by its name.
fn checked(
    kind: CollectionKind,
    data: &[u8],
    collection: &Collection,
    name: &str,
) -> Result<ItemIndex, Response> {
    let mut index = content::index(kind, data, &props::components(collection))
        .map_err(|invalid| precondition(403, invalid.precondition, &invalid.why))?;
    if index.uid.is_empty() {
        index.uid = name.to_owned();
    }
    Ok(index)
}

fn refused(refusal: ItemRefusal, kind: CollectionKind) -> Response {
    match refusal {
        ItemRefusal::NoCollection => status(409, "the collection is gone"),
        ItemRefusal::NotFound => status(404, "no such item"),
        ItemRefusal::Precondition => status(412, "the item has changed (ETag mismatch)"),
        // RFC 4331 §6: the precondition a server names when a write would pass the quota.
        ItemRefusal::OverQuota => precondition(
            507,
            ("d", "quota-not-exceeded"),
            "this would take the account past its quota",
        ),
        ItemRefusal::UidInUse(other) => precondition(
            403,
            (prefix(kind), "no-uid-conflict"),
            &format!("another item of this collection ({other}) has this UID"),
        ),
    }
}

/// The prefix of the namespace whose preconditions apply to a collection of `kind`.
fn prefix(kind: CollectionKind) -> &'static str {
    match kind {
        CollectionKind::Calendar => "cal",
        CollectionKind::AddressBook => "card",
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
