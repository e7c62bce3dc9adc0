//! Calendars and contacts over WebDAV: CalDAV (RFC 4791) and CardDAV (RFC 6352) on the
//! store's collections, for the HTTP connection ([`crate::http`]) to call once a request
//! has arrived whole and its user has logged in.
//!
//! Each user sees their own principal, a calendar home and an address-book home (layout in
//! [`target`]); the first visit creates a default calendar and address book. A user can
//! share a collection with another ([`share`]): it then shows in their home as
//! `OWNER:NAME`, read-only or read-write. Everything here blocks on the store and runs on
//! the blocking pool.

mod collections;
pub mod content;
mod filter;
mod items;
mod propfind;
pub mod props;
mod report;
pub mod share;
pub mod target;

use proto_dav::dav::Multistatus;
use proto_dav::{Head, Method, Response};

use crate::Engine;
use crate::store::dav::{Access, Collection, CollectionKind, NewCollection};
use crate::store::{Account, Store, StoreError};
use target::Target;

/// The name of the calendar and the address book every account gets.
const DEFAULT: &str = "default";

/// The methods answered under `/dav/`, for `Allow` and `OPTIONS`.
const ALLOW: &str = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, MKCALENDAR, \
                     REPORT, COPY, MOVE";

/// Answers one DAV request of `account`. `body` is the whole request body.
pub fn handle<S: Store>(
    engine: &Engine<S>,
    account: &Account,
    head: &Head,
    body: &[u8],
) -> Response {
    let Some(target) = Target::parse(head.path()) else {
        return status(404, "no such resource");
    };
    if target.owner().is_some_and(|owner| owner != account.email) {
        return status(403, "this belongs to another user");
    }
    let request = Request {
        engine,
        account,
        head,
        body,
        target,
    };
    let result = match head.method {
        Method::Options => Ok(options()),
        Method::Propfind => propfind::propfind(&request),
        Method::Proppatch => propfind::proppatch(&request),
        Method::Get | Method::Head => items::get(&request),
        Method::Put => items::put(&request),
        Method::Delete => match request.target {
            Target::Item(..) => items::delete(&request),
            _ => collections::delete(&request),
        },
        Method::Mkcol | Method::Mkcalendar => collections::make(&request),
        Method::Copy | Method::Move => items::copy_or_move(&request),
        Method::Report => report::report(&request),
        _ => Ok(status(405, "method not allowed here").header("Allow", ALLOW)),
    };
    match result {
        Ok(response) => {
            // A 507 that a request answers is the quota's.
            if response.status == 507 {
                engine.metrics().quota_exceeded();
            }
            response
        }
        Err(e) => {
            tracing::error!(user = %account.email, error = %e, "DAV request failed in storage");
            match e {
                // RFC 4918 section 11.5: the server could not store what it needs to.
                StoreError::Full(_) => status(507, "the server's disk is full"),
                _ => status(500, "storage error"),
            }
        }
    }
}

/// A request being answered: who asks, what they sent, what it names.
struct Request<'a, S: Store> {
    engine: &'a Engine<S>,
    account: &'a Account,
    head: &'a Head,
    body: &'a [u8],
    target: Target,
}

impl<S: Store> Request<'_, S> {
    fn store(&self) -> &S {
        self.engine.store()
    }

    fn user(&self) -> &str {
        &self.account.email
    }

    /// The collection of `kind` the segment `segment` of the user's home names: their own,
    /// or (`owner:name`) one shared with them. The default one is made if the account has
    /// none of that kind yet.
    fn collection(
        &self,
        kind: CollectionKind,
        segment: &str,
    ) -> Result<Option<Visible>, StoreError> {
        if let Some((owner, name)) = shared_segment(segment) {
            let Some(owner) = self.store().account(owner)? else {
                return Ok(None);
            };
            let Some(collection) = self.store().collection(owner.id, kind, name)? else {
                return Ok(None);
            };
            let shares = self.store().shares_of(collection.id)?;
            let access = shares.iter().find(|(sharee, _)| *sharee == self.account.id);
            return Ok(access.map(|&(_, access)| Visible {
                collection,
                segment: segment.to_owned(),
                shared: Some(access),
            }));
        }
        let found = self.store().collection(self.account.id, kind, segment)?;
        let found = match found {
            None if segment == DEFAULT => self
                .own_collections(kind)?
                .into_iter()
                .find(|c| c.name == segment),
            found => found,
        };
        Ok(found.map(Visible::own))
    }

    /// The collections of `kind` in the user's home: their own (the default one made on
    /// first use), then those shared with them.
    fn collections(&self, kind: CollectionKind) -> Result<Vec<Visible>, StoreError> {
        let mut visible: Vec<Visible> = self
            .own_collections(kind)?
            .into_iter()
            .map(Visible::own)
            .collect();
        for (collection, access) in self.store().shared_with(self.account.id, kind)? {
            let Some(owner) = self.store().account_by_id(collection.account)? else {
                continue;
            };
            visible.push(Visible {
                segment: format!("{}{SHARED}{}", owner.email, collection.name),
                collection,
                shared: Some(access),
            });
        }
        Ok(visible)
    }

    /// The account's own collections of `kind`, the default one made on first use.
    fn own_collections(&self, kind: CollectionKind) -> Result<Vec<Collection>, StoreError> {
        self.engine.own_collections(self.account.id, kind)
    }
}

impl<S: Store> Engine<S> {
    /// The collections of `kind` of account `account`; the default one is made first if it
    /// has none (its first visit, or a share of it before that).
    pub fn own_collections(
        &self,
        account: crate::store::AccountId,
        kind: CollectionKind,
    ) -> Result<Vec<Collection>, StoreError> {
        let found = self.store().collections(account, kind)?;
        if !found.is_empty() {
            return Ok(found);
        }
        let (display, extra) = match kind {
            CollectionKind::Calendar => ("Calendar", props::COMPONENTS),
            CollectionKind::AddressBook => ("Contacts", ""),
        };
        let mut properties = vec![("{DAV:}displayname".to_owned(), display.to_owned())];
        if !extra.is_empty() {
            properties.push((extra.to_owned(), "VEVENT,VTODO".to_owned()));
        }
        let made = self.store().create_collection(NewCollection {
            account,
            kind,
            name: DEFAULT.into(),
            created: crate::mail::date::unix_now(),
            properties,
        });
        match made {
            // Another request made it first.
            Ok(_) | Err(StoreError::AlreadyExists(_)) => self.store().collections(account, kind),
            Err(e) => Err(e),
        }
    }
}

/// Separates the owner from the name in the segment of a collection shared with the user:
/// `alice@example.org:work`.
const SHARED: char = ':';

/// The owner and name a segment of a shared collection is made of; `None` for the user's
/// own collection.
fn shared_segment(segment: &str) -> Option<(&str, &str)> {
    let (owner, name) = segment.split_once(SHARED)?;
    (owner.contains('@') && !name.is_empty()).then_some((owner, name))
}

/// A collection as the requesting user sees it: their own, or one another user shared
/// with them.
pub struct Visible {
    pub collection: Collection,
    /// Its segment under the user's home: its name, or `owner:name` when shared.
    pub segment: String,
    /// How it was shared with the user; `None` when it is their own.
    pub shared: Option<Access>,
}

impl Visible {
    fn own(collection: Collection) -> Self {
        Self {
            segment: collection.name.clone(),
            collection,
            shared: None,
        }
    }

    /// Whether the user may change its items.
    pub fn writable(&self) -> bool {
        self.shared != Some(Access::Read)
    }
}

impl std::ops::Deref for Visible {
    type Target = Collection;

    fn deref(&self) -> &Collection {
        &self.collection
    }
}

/// `403` for a write to a collection shared read-only (RFC 3744 §7.1.1).
fn read_only() -> Response {
    precondition(
        403,
        ("d", "need-privileges"),
        "this collection is shared read-only",
    )
}

/// `OPTIONS`: what the server speaks (RFC 4918 §10.1, RFC 4791 §5.1, RFC 6352 §6.1).
pub fn options() -> Response {
    Response::new(200)
        .header(
            "DAV",
            "1, 3, access-control, calendar-access, addressbook, extended-mkcol",
        )
        .header("Allow", ALLOW)
}

/// A response with a short text body saying why.
fn status(code: u16, why: &str) -> Response {
    Response::new(code).body("text/plain; charset=utf-8", format!("{why}\n").into_bytes())
}

/// `403` (or another status) with the precondition element RFC 4918 §16 asks for:
/// `<d:error><prefix:name/></d:error>`.
fn precondition(code: u16, (prefix, name): (&str, &str), why: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:error xmlns:d=\"DAV:\" \
         xmlns:cal=\"urn:ietf:params:xml:ns:caldav\" \
         xmlns:card=\"urn:ietf:params:xml:ns:carddav\"><{prefix}:{name}/>\
         <d:responsedescription>{}</d:responsedescription></d:error>\n",
        proto_dav::dav::xml::escape(why)
    );
    Response::new(code).body("application/xml; charset=utf-8", body.into_bytes())
}

/// `207 Multi-Status` with `body`.
fn multistatus(body: Multistatus) -> Response {
    Response::new(207).body("application/xml; charset=utf-8", body.finish())
}

/// `400` for a request body that could not be read.
fn bad_body(e: impl std::fmt::Display) -> Response {
    status(400, &format!("the request body could not be read: {e}"))
}
