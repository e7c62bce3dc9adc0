//! Where things live under `/dav/`, and which of them a request path names.
//!
//! ```text
//! /dav/                                   the root: where clients start discovery
//! /dav/principals/USER/                   a user (current-user-principal points here)
//! /dav/calendars/USER/                    the user's calendar home
//! /dav/calendars/USER/CAL/                a calendar
//! /dav/calendars/USER/CAL/EVENT.ics       an iCalendar object
//! /dav/addressbooks/USER/BOOK/CARD.vcf    and likewise for address books
//! ```
//!
//! USER is the account's address. Paths are compared decoded, so `a%40example.org` and
//! `a@example.org` name the same user, and hrefs are written one way ([`href::path`]).

use proto_dav::dav::href;

use crate::store::dav::CollectionKind;

/// The first segment of every DAV path.
pub const PREFIX: &str = "dav";
const PRINCIPALS: &str = "principals";
const CALENDARS: &str = "calendars";
const ADDRESS_BOOKS: &str = "addressbooks";

/// What a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `/dav/`.
    Root,
    /// `/dav/principals/`.
    Principals,
    /// `/dav/principals/USER/`.
    Principal(String),
    /// `/dav/calendars/USER/` or `/dav/addressbooks/USER/`.
    Home(CollectionKind, String),
    /// A calendar or address book.
    Collection(CollectionKind, String, String),
    /// An item of one.
    Item(CollectionKind, String, String, String),
}

impl Target {
    /// What `path` names; `None` when it is outside `/dav/` or deeper than an item.
    pub fn parse(path: &str) -> Option<Target> {
        let segments = href::segments(path)?;
        let mut parts = segments.into_iter();
        if parts.next()? != PREFIX {
            return None;
        }
        let Some(area) = parts.next() else {
            return Some(Target::Root);
        };
        let kind = match area.as_str() {
            PRINCIPALS => None,
            CALENDARS => Some(CollectionKind::Calendar),
            ADDRESS_BOOKS => Some(CollectionKind::AddressBook),
            _ => return None,
        };
        let user = parts.next().map(|user| user.to_lowercase());
        let collection = parts.next();
        let item = parts.next();
        if parts.next().is_some() {
            return None;
        }
        Some(match (kind, user, collection, item) {
            (None, None, _, _) => Target::Principals,
            (None, Some(user), None, _) => Target::Principal(user),
            (None, Some(_), Some(_), _) => return None,
            (Some(_), None, _, _) => Target::Principals,
            (Some(kind), Some(user), None, _) => Target::Home(kind, user),
            (Some(kind), Some(user), Some(name), None) => Target::Collection(kind, user, name),
            (Some(kind), Some(user), Some(name), Some(item)) => {
                Target::Item(kind, user, name, item)
            }
        })
    }

    /// The user whose data this is, if it is anyone's.
    pub fn owner(&self) -> Option<&str> {
        match self {
            Target::Root | Target::Principals => None,
            Target::Principal(user)
            | Target::Home(_, user)
            | Target::Collection(_, user, _)
            | Target::Item(_, user, _, _) => Some(user),
        }
    }

    /// Its path, percent-encoded, as hrefs carry it.
    pub fn href(&self) -> String {
        match self {
            Target::Root => href::path(&[PREFIX], true),
            Target::Principals => href::path(&[PREFIX, PRINCIPALS], true),
            Target::Principal(user) => principal_href(user),
            Target::Home(kind, user) => home_href(*kind, user),
            Target::Collection(kind, user, name) => collection_href(*kind, user, name),
            Target::Item(kind, user, collection, item) => {
                href::path(&[PREFIX, area(*kind), user, collection, item], false)
            }
        }
    }
}

/// `/dav/principals/USER/`.
pub fn principal_href(user: &str) -> String {
    href::path(&[PREFIX, PRINCIPALS, user], true)
}

/// The user's home for collections of `kind`.
pub fn home_href(kind: CollectionKind, user: &str) -> String {
    href::path(&[PREFIX, area(kind), user], true)
}

/// A collection's path.
pub fn collection_href(kind: CollectionKind, user: &str, name: &str) -> String {
    href::path(&[PREFIX, area(kind), user, name], true)
}

fn area(kind: CollectionKind) -> &'static str {
    match kind {
        CollectionKind::Calendar => CALENDARS,
        CollectionKind::AddressBook => ADDRESS_BOOKS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_targets_and_back() {
        let user = "a@example.org".to_string();
        let cases = [
            ("/dav/", Target::Root),
            ("/dav/principals/", Target::Principals),
            (
                "/dav/principals/A%40example.org/",
                Target::Principal(user.clone()),
            ),
            (
                "/dav/calendars/a@example.org/",
                Target::Home(CollectionKind::Calendar, user.clone()),
            ),
            (
                "/dav/addressbooks/a@example.org/default",
                Target::Collection(CollectionKind::AddressBook, user.clone(), "default".into()),
            ),
            (
                "/dav/calendars/a@example.org/work/x%20y.ics",
                Target::Item(
                    CollectionKind::Calendar,
                    user.clone(),
                    "work".into(),
                    "x y.ics".into(),
                ),
            ),
        ];
        for (path, target) in cases {
            assert_eq!(Target::parse(path), Some(target.clone()), "{path}");
            assert_eq!(Target::parse(&target.href()), Some(target));
        }
        for path in [
            "/",
            "/other/",
            "/dav/x/",
            "/dav/calendars/a/b/c/d",
            "/dav/principals/a/b",
        ] {
            assert_eq!(Target::parse(path), None, "{path}");
        }
    }
}
