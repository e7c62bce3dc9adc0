//! REPORTs: calendar-multiget and addressbook-multiget (RFC 4791 §7.9, RFC 6352 §8.7),
//! calendar-query and addressbook-query (RFC 4791 §7.8, RFC 6352 §8.6),
//! free-busy-query (RFC 4791 §7.10), sync-collection (RFC 6578) and
//! principal-property-search (RFC 3744 §9.4).

use proto_dav::Response;
use proto_dav::dav::request::{self, PropertySearch, Recurrences, Report};
use proto_dav::dav::xml::Element;
use proto_dav::dav::{CALDAV, CALENDARSERVER, DAV, Multistatus, PropFind, PropName};

use super::props::{self, Resource, Viewer};
use super::target::Target;
use super::{Request, Visible, bad_body, filter, multistatus, precondition, status};
use crate::store::dav::{Collection, CollectionKind, Item};
use crate::store::{Store, StoreError};

pub(super) fn report<S: Store>(request: &Request<'_, S>) -> Result<Response, StoreError> {
    let report = match request::report(request.body) {
        Ok(report) => report,
        Err(e) => return Ok(bad_body(e)),
    };
    let Target::Collection(kind, _, name) = &request.target else {
        return Ok(match report {
            Report::Multiget {
                props,
                hrefs,
                recurrences,
            } => match limit_of(recurrences) {
                Ok(limit) => multiget(request, None, &props, &hrefs, limit)?,
                Err(refusal) => refusal,
            },
            Report::PrincipalSearch {
                props,
                searches,
                any_of,
            } if matches!(
                request.target,
                Target::Root | Target::Principals | Target::Principal(_)
            ) =>
            {
                principal_search(request, &props, &searches, any_of)
            }
            _ => precondition(
                403,
                ("d", "supported-report"),
                "reports are made on a collection",
            ),
        });
    };
    let Some(collection) = request.collection(*kind, name)? else {
        return Ok(status(404, "no such collection"));
    };
    Ok(match report {
        Report::Multiget {
            props,
            hrefs,
            recurrences,
        } => match limit_of(recurrences) {
            Ok(limit) => multiget(request, Some(&collection), &props, &hrefs, limit)?,
            Err(refusal) => refusal,
        },
        Report::CalendarQuery {
            props,
            filter,
            recurrences,
        } if *kind == CollectionKind::Calendar => match limit_of(recurrences) {
            Ok(limit) => query(request, &collection, &props, &filter, None, limit)?,
            Err(refusal) => refusal,
        },
        Report::AddressbookQuery {
            props,
            filter,
            limit,
        } if *kind == CollectionKind::AddressBook => {
            query(request, &collection, &props, &filter, limit, None)?
        }
        Report::SyncCollection {
            token,
            props,
            limit,
        } => sync(request, &collection, &token, &props, limit)?,
        Report::FreeBusy { start, end } if *kind == CollectionKind::Calendar => {
            free_busy(request, &collection, &start, &end)?
        }
        _ => precondition(
            403,
            ("d", "supported-report"),
            "this report is not supported here",
        ),
    })
}

/// principal-property-search (RFC 3744 §9.4). The one principal a user sees is their own
/// (a PROPFIND of the principals collection lists no other), so it is the answer when it
/// matches: a search of its display name or address (a case-insensitive part of it), or no
/// search at all. Clients search so to find a user's principal, and attendees by name.
fn principal_search<S: Store>(
    request: &Request<'_, S>,
    props: &PropFind,
    searches: &[PropertySearch],
    any_of: bool,
) -> Response {
    let viewer = Viewer::of(request.account);
    let holds = |search: &PropertySearch| {
        let text = search.text.to_lowercase();
        search
            .props
            .iter()
            .filter_map(|name| principal_text(viewer.user, name))
            .any(|value| value.to_lowercase().contains(&text))
    };
    let matches = match any_of {
        true => searches.is_empty() || searches.iter().any(holds),
        false => searches.iter().all(holds),
    };
    // An empty `prop` is read as sabre/dav (Baikal, Nextcloud) reads it, as the principal's
    // usual properties: python-caldav sends one and names what it wants beside it.
    let all = PropFind::AllProp {
        include: Vec::new(),
    };
    let props = match props {
        PropFind::Prop(names) if names.is_empty() => &all,
        _ => props,
    };
    let mut body = Multistatus::new();
    if matches {
        let principal = Target::Principal(viewer.user.to_owned());
        body.response(
            &principal.href(),
            &props::answer(&Resource::Principal, &viewer, props),
        );
    }
    multistatus(body)
}

/// The text a search of `name` is matched against on `user`'s principal.
fn principal_text(user: &str, name: &PropName) -> Option<String> {
    match (name.ns.as_str(), name.local.as_str()) {
        (DAV, "displayname") | (CALENDARSERVER, "email-address-set") => Some(user.to_owned()),
        (CALDAV, "calendar-user-address-set") => Some(format!("mailto:{user}")),
        _ => None,
    }
}

/// Writes one item's response.
fn item_response<S: Store>(
    request: &Request<'_, S>,
    body: &mut Multistatus,
    collection: &Visible,
    item: &Item,
    wanted: &PropFind,
    data: Option<&[u8]>,
    recurrences: Option<filter::Limit>,
) {
    let viewer = Viewer::of(request.account);
    let limited = data
        .zip(recurrences)
        .and_then(|(data, limit)| filter::limited(data, limit));
    let data = limited.as_deref().map(str::as_bytes).or(data);
    let resource = Resource::Item {
        collection,
        item,
        data,
    };
    body.response(
        &item_href(request, collection, &item.name),
        &props::answer(&resource, &viewer, wanted),
    );
}

/// How recurring events' data is to be limited, if it was asked; a malformed range is
/// refused.
fn limit_of(recurrences: Option<Recurrences>) -> Result<Option<filter::Limit>, Response> {
    let Some(recurrences) = recurrences else {
        return Ok(None);
    };
    let (Some(start), Some(end)) = (
        filter::utc(&recurrences.start),
        filter::utc(&recurrences.end),
    ) else {
        return Err(status(
            400,
            "expand and limit-recurrence-set need UTC start and end",
        ));
    };
    let range = filter::Range { start, end };
    Ok(Some(if recurrences.expand {
        filter::Limit::Expand(range)
    } else {
        filter::Limit::RecurrenceSet(range)
    }))
}

/// The path of item `name` of `collection`.
fn item_href<S: Store>(request: &Request<'_, S>, collection: &Visible, name: &str) -> String {
    Target::Item(
        collection.kind,
        request.user().to_owned(),
        collection.segment.clone(),
        name.to_owned(),
    )
    .href()
}

fn multiget<S: Store>(
    request: &Request<'_, S>,
    within: Option<&Visible>,
    wanted: &PropFind,
    hrefs: &[String],
    recurrences: Option<filter::Limit>,
) -> Result<Response, StoreError> {
    let mut body = Multistatus::new();
    let store = request.store();
    let with_data = props::needs_data(wanted);
    for href in hrefs {
        let Some(Target::Item(kind, user, name, item)) = Target::parse(href) else {
            body.status(href, 404);
            continue;
        };
        if user != request.user() {
            body.status(href, 404);
            continue;
        }
        let looked_up;
        let collection = match within {
            Some(collection) if collection.kind == kind && collection.segment == name => collection,
            _ => {
                looked_up = request.collection(kind, &name)?;
                let Some(collection) = &looked_up else {
                    body.status(href, 404);
                    continue;
                };
                collection
            }
        };
        let Some(found) = store.item(collection.id, &item)? else {
            body.status(href, 404);
            continue;
        };
        let data = match with_data {
            true => store.item_data(collection.id, &item)?,
            false => None,
        };
        item_response(
            request,
            &mut body,
            collection,
            &found,
            wanted,
            data.as_deref(),
            recurrences,
        );
    }
    Ok(multistatus(body))
}

/// calendar-query and addressbook-query: the items the filter matches, at most `limit`.
fn query<S: Store>(
    request: &Request<'_, S>,
    collection: &Visible,
    wanted: &PropFind,
    filter: &Element,
    limit: Option<u32>,
    recurrences: Option<filter::Limit>,
) -> Result<Response, StoreError> {
    let store = request.store();
    let calendar = collection.kind == CollectionKind::Calendar;
    let with_data = props::needs_data(wanted);
    let mut body = Multistatus::new();
    let mut found = 0u32;
    let mut truncated = false;
    for item in store.items(collection.id)? {
        if calendar && !filter::may_match(filter, &item.index) {
            continue;
        }
        let Some(data) = store.item_data(collection.id, &item.name)? else {
            continue;
        };
        let matches = if calendar {
            filter::calendar_matches(filter, &data)
        } else {
            filter::card_matches(filter, &data)
        };
        if !matches {
            continue;
        }
        if limit.is_some_and(|limit| found >= limit) {
            truncated = true;
            break;
        }
        found = found.saturating_add(1);
        let data = with_data.then_some(data.as_slice());
        item_response(
            request,
            &mut body,
            collection,
            &item,
            wanted,
            data,
            recurrences,
        );
    }
    if truncated {
        // RFC 5323 §5.17: the request-URI with 507 says the answer is not complete.
        body.status(&request.target.href(), 507);
    }
    Ok(multistatus(body))
}

/// sync-collection: from an empty token every item; from an earlier token what changed
/// since, deletions as `404`; a token that is not one of this collection's is refused
/// with `valid-sync-token` so the client starts over.
fn sync<S: Store>(
    request: &Request<'_, S>,
    collection: &Visible,
    token: &str,
    wanted: &PropFind,
    limit: Option<u32>,
) -> Result<Response, StoreError> {
    let store = request.store();
    let since = if token.is_empty() {
        0
    } else {
        match props::token_revision(collection, token) {
            Some(revision) => revision,
            None => {
                return Ok(precondition(
                    403,
                    ("d", "valid-sync-token"),
                    "unknown sync token",
                ));
            }
        }
    };
    let limit = limit.map_or(usize::MAX, |limit| limit as usize);
    let mut changes = store.item_changes(collection.id, since, limit.saturating_add(1))?;
    let truncated = changes.len() > limit;
    changes.truncate(limit);
    let with_data = props::needs_data(wanted);
    let mut body = Multistatus::new();
    for item in &changes {
        if item.deleted {
            if since > 0 {
                body.status(&item_href(request, collection, &item.name), 404);
            }
            continue;
        }
        let data = match with_data {
            true => store.item_data(collection.id, &item.name)?,
            false => None,
        };
        item_response(
            request,
            &mut body,
            collection,
            item,
            wanted,
            data.as_deref(),
            None,
        );
    }
    let reached = match (truncated, changes.last()) {
        (true, Some(last)) => last.revision,
        _ => collection.revision,
    };
    if truncated {
        body.status(&request.target.href(), 507);
    }
    let partial = Collection {
        revision: reached,
        ..collection.collection.clone()
    };
    body.sync_token(&props::sync_token(&partial));
    Ok(multistatus(body))
}

/// free-busy-query (RFC 4791 §7.10): the busy time of the calendar's events within the
/// range, as one VFREEBUSY, merged and in order.
fn free_busy<S: Store>(
    request: &Request<'_, S>,
    collection: &Visible,
    start: &str,
    end: &str,
) -> Result<Response, StoreError> {
    let (Some(start), Some(end)) = (filter::utc(start), filter::utc(end)) else {
        return Ok(precondition(
            403,
            ("cal", "valid-filter"),
            "free-busy-query needs a time-range with UTC start and end",
        ));
    };
    let range = filter::Range { start, end };
    let store = request.store();
    let mut busy = Vec::new();
    for item in store.items(collection.id)? {
        let index = &item.index;
        let may_overlap = index.component == "VEVENT"
            && index.start.is_none_or(|s| s < end)
            && index.end.is_none_or(|e| e > start);
        if !may_overlap {
            continue;
        }
        if let Some(data) = store.item_data(collection.id, &item.name)? {
            busy.extend(filter::busy_within(&data, range));
        }
    }
    busy.sort_by_key(|b| (b.tentative, b.start));
    let mut merged: Vec<filter::Busy> = Vec::new();
    for period in busy {
        match merged.last_mut() {
            Some(last) if last.tentative == period.tentative && period.start <= last.end => {
                last.end = last.end.max(period.end);
            }
            _ => merged.push(period),
        }
    }
    let mut body = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Postern//CalDAV//EN\r\nBEGIN:VFREEBUSY\r\n\
         DTSTAMP:{}\r\nDTSTART:{}\r\nDTEND:{}\r\n",
        filter::format_utc(crate::mail::date::unix_now()),
        filter::format_utc(start),
        filter::format_utc(end)
    );
    for period in merged {
        let kind = if period.tentative {
            "BUSY-TENTATIVE"
        } else {
            "BUSY"
        };
        body.push_str(&format!(
            "FREEBUSY;FBTYPE={kind}:{}/{}\r\n",
            filter::format_utc(period.start),
            filter::format_utc(period.end)
        ));
    }
    body.push_str("END:VFREEBUSY\r\nEND:VCALENDAR\r\n");
    Ok(Response::new(200).body("text/calendar; charset=utf-8", body.into_bytes()))
}
