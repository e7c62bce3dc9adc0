//! What the store keeps for calendars and address books (CalDAV, CardDAV): collections per
//! account, the items in them with what queries need indexed, and the history that
//! sync-collection (RFC 6578) answers from.

use super::AccountId;

/// Identifies a collection; assigned by the store, never reused.
pub type CollectionId = u64;

/// What a collection holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CollectionKind {
    /// iCalendar objects (CalDAV).
    Calendar,
    /// vCards (CardDAV).
    AddressBook,
}

impl CollectionKind {
    /// The byte the store records the kind as.
    pub fn code(self) -> u8 {
        match self {
            Self::Calendar => 1,
            Self::AddressBook => 2,
        }
    }

    /// The kind a stored byte names.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Calendar),
            2 => Some(Self::AddressBook),
            _ => None,
        }
    }
}

/// What a user may do with a collection another user shared with them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Read its items and properties.
    Read,
    /// Also add, change and remove its items.
    ReadWrite,
}

impl Access {
    /// The byte the store records the access as.
    pub fn code(self) -> u8 {
        match self {
            Self::Read => 1,
            Self::ReadWrite => 2,
        }
    }

    /// The access a stored byte names.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Read),
            2 => Some(Self::ReadWrite),
            _ => None,
        }
    }
}

/// A calendar or address book.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collection {
    pub id: CollectionId,
    pub account: AccountId,
    pub kind: CollectionKind,
    /// Its path segment under the account's home; unique per account and kind.
    pub name: String,
    /// Unix seconds. Part of its sync tokens, so that a token of a collection deleted and
    /// made again under the same name is not taken for one of the new collection.
    pub created: i64,
    /// The revision of its latest change; every change to a member takes the next one.
    pub revision: u64,
    /// Sync tokens of revisions below this no longer say what changed since: tombstones
    /// from before it were compacted away.
    pub floor: u64,
    /// Tombstones of removed items it keeps for sync-collection.
    pub tombstones: u64,
    /// Properties set by clients, in Clark notation (`{DAV:}displayname`) with their text,
    /// sorted by name.
    pub properties: Vec<(String, String)>,
}

impl Collection {
    /// The text of property `name` (Clark notation), if set.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// What [`Store::create_collection`](super::Store::create_collection) needs.
#[derive(Clone, Debug)]
pub struct NewCollection {
    pub account: AccountId,
    pub kind: CollectionKind,
    pub name: String,
    pub created: i64,
    pub properties: Vec<(String, String)>,
}

/// What queries need of an item, worked out when it is stored so that a REPORT does not
/// parse every item again.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ItemIndex {
    /// The iCalendar or vCard UID; unique within a collection.
    pub uid: String,
    /// `VEVENT`, `VTODO`, `VJOURNAL`, `VFREEBUSY` or `VCARD`.
    pub component: String,
    /// The time span it covers, recurrences included, in Unix seconds (`None` for a
    /// vCard, or an open end of a span): what a time-range filter checks first.
    pub start: Option<i64>,
    pub end: Option<i64>,
}

/// An item of a collection, or the tombstone of one deleted (kept for sync-collection).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Its path segment in the collection.
    pub name: String,
    /// The strong entity tag, quoted: a digest of the content.
    pub etag: String,
    /// The collection revision of its latest change.
    pub revision: u64,
    /// Unix seconds of its latest change.
    pub modified: i64,
    /// Bytes of its content.
    pub size: u64,
    pub index: ItemIndex,
    /// Deleted: only its name and revision matter.
    pub deleted: bool,
}

/// What a write expects of the item it replaces (the `If-Match`/`If-None-Match` a client
/// sent), checked in the same transaction as the write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Anything.
    Any,
    /// No item by that name (`If-None-Match: *`).
    Absent,
    /// An item (`If-Match: *`).
    Present,
    /// An item whose ETag is one of these.
    Etag(Vec<String>),
    /// No item, or one whose ETag is none of these.
    NotEtag(Vec<String>),
}

/// An item to store with [`Store::put_item`](super::Store::put_item).
#[derive(Clone, Debug)]
pub struct PutItem {
    pub collection: CollectionId,
    pub name: String,
    pub data: Vec<u8>,
    pub etag: String,
    pub modified: i64,
    pub index: ItemIndex,
    pub expect: Expect,
}

/// Why a write to an item did not happen, beyond storage failing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemRefusal {
    /// The collection is gone.
    NoCollection,
    /// What the client expected of the item does not hold (`412`).
    Precondition,
    /// Another item of the collection has this UID (`no-uid-conflict`): its name.
    UidInUse(String),
    /// The item to remove does not exist.
    NotFound,
    /// Storing it would take the account past its quota (`507`).
    OverQuota,
}

/// What a write of an item did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemWrite {
    /// Stored; `created` when there was no item by that name before.
    Stored {
        item: Item,
        created: bool,
    },
    Refused(ItemRefusal),
}
