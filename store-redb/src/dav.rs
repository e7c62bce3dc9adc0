//! Calendars and address books: collections, their items, and the history of changes
//! sync-collection answers from.
//!
//! | table                  | key                          | value                           |
//! |------------------------|------------------------------|---------------------------------|
//! | `dav_collections`      | collection id                | [collection record](encode_collection) |
//! | `dav_collection_names` | (account id, kind, name)     | collection id                   |
//! | `dav_items`            | (collection id, name)        | [item record](encode_item), tombstones included |
//! | `dav_data`             | (collection id, name)        | the item's content              |
//! | `dav_uids`             | (collection id, UID)         | the name of the item with it    |
//! | `dav_changes`          | (collection id, revision)    | the name of the item changed    |
//! | `dav_shares`           | (collection id, sharee)      | the sharee's access             |
//! | `dav_shared_with`      | (sharee, collection id)      | the same, to list a sharee's    |
//!
//! An item's content counts towards its account's quota like a message: a write that would
//! take the account past it is refused, and removals give the room back.
//!
//! A removed item leaves a tombstone so that sync-collection can report it; a collection
//! keeps at most [`MAX_TOMBSTONES`], the oldest compacted away past that (its `floor` then
//! turns older sync tokens away).
//!
//! Content is kept apart from the item records so that listing a collection (PROPFIND with
//! ETags, a sync) reads no content. Each item has one entry in `dav_changes`, at its latest
//! revision, so a sync from any token reads only what changed after it.

use crate::typed::{Open, ReadableTable};
use engine::store::dav::{
    Access, Collection, CollectionId, CollectionKind, Expect, Item, ItemIndex, ItemRefusal,
    ItemWrite, NewCollection, PutItem,
};
use engine::store::{AccountId, StoreError, StoreResult};
use redb::ReadTransaction;

use crate::error::{DbResultExt, corrupt};
use crate::group_commit::{Batch, WriteOp};
use crate::messages::{charge, check_quota, refund};
use crate::tables::{
    DAV_CHANGES, DAV_COLLECTION_NAMES, DAV_COLLECTIONS, DAV_DATA, DAV_ITEMS, DAV_SHARED_WITH,
    DAV_SHARES, Decoder, Encoder, NEXT_COLLECTION_ID, Tables, get_account,
};

/// The first byte of collection records: layout 2 added the sync floor and the tombstone
/// count.
const COLLECTION_RECORD_VERSION: u8 = 2;
/// Tombstones a collection keeps; past this, the oldest half is compacted away.
pub(crate) const MAX_TOMBSTONES: u64 = 1_000;
const ITEM_RECORD_VERSION: u8 = 1;

pub(crate) fn collections(
    txn: &ReadTransaction,
    account: AccountId,
    kind: CollectionKind,
) -> StoreResult<Vec<Collection>> {
    let names = txn.open(DAV_COLLECTION_NAMES).db()?;
    let records = txn.open(DAV_COLLECTIONS).db()?;
    let code = kind.code();
    let mut found = Vec::new();
    for row in names
        .range((account, code, "")..(account, code.saturating_add(1), ""))
        .db()?
    {
        let (_, id) = row.db()?;
        if let Some(record) = records.get(id.value()).db()? {
            found.push(decode_collection(id.value(), record.value())?);
        }
    }
    Ok(found)
}

pub(crate) fn collection(
    txn: &ReadTransaction,
    account: AccountId,
    kind: CollectionKind,
    name: &str,
) -> StoreResult<Option<Collection>> {
    let names = txn.open(DAV_COLLECTION_NAMES).db()?;
    let Some(id) = names.get((account, kind.code(), name)).db()? else {
        return Ok(None);
    };
    let id = id.value();
    let records = txn.open(DAV_COLLECTIONS).db()?;
    records
        .get(id)
        .db()?
        .map(|record| decode_collection(id, record.value()))
        .transpose()
}

pub(crate) fn items(txn: &ReadTransaction, collection: CollectionId) -> StoreResult<Vec<Item>> {
    let table = txn.open(DAV_ITEMS).db()?;
    let mut found = Vec::new();
    for row in table
        .range(first_of(collection)..first_of_next(collection))
        .db()?
    {
        let (key, record) = row.db()?;
        let item = decode_item(key.value().1, record.value())?;
        if !item.deleted {
            found.push(item);
        }
    }
    Ok(found)
}

pub(crate) fn item(
    txn: &ReadTransaction,
    collection: CollectionId,
    name: &str,
) -> StoreResult<Option<Item>> {
    let table = txn.open(DAV_ITEMS).db()?;
    let item = table
        .get((collection, name))
        .db()?
        .map(|record| decode_item(name, record.value()))
        .transpose()?;
    Ok(item.filter(|item| !item.deleted))
}

pub(crate) fn item_data(
    txn: &ReadTransaction,
    collection: CollectionId,
    name: &str,
) -> StoreResult<Option<Vec<u8>>> {
    let table = txn.open(DAV_DATA).db()?;
    Ok(table
        .get((collection, name))
        .db()?
        .map(|v| v.value().to_vec()))
}

pub(crate) fn changes(
    txn: &ReadTransaction,
    collection: CollectionId,
    since: u64,
    limit: usize,
) -> StoreResult<Vec<Item>> {
    let changes = txn.open(DAV_CHANGES).db()?;
    let items = txn.open(DAV_ITEMS).db()?;
    let mut found = Vec::new();
    let after = since.saturating_add(1);
    for row in changes
        .range((collection, after)..=(collection, u64::MAX))
        .db()?
        .take(limit)
    {
        let (_, name) = row.db()?;
        let name = name.value();
        if let Some(record) = items.get((collection, name)).db()? {
            found.push(decode_item(name, record.value())?);
        }
    }
    Ok(found)
}

pub(crate) fn shares_of(
    txn: &ReadTransaction,
    collection: CollectionId,
) -> StoreResult<Vec<(AccountId, Access)>> {
    let table = txn.open(DAV_SHARES).db()?;
    let mut found = Vec::new();
    for row in table
        .range((collection, 0)..=(collection, AccountId::MAX))
        .db()?
    {
        let (key, access) = row.db()?;
        let access = Access::from_code(access.value()).ok_or_else(|| corrupt("share"))?;
        found.push((key.value().1, access));
    }
    Ok(found)
}

pub(crate) fn shared_with(
    txn: &ReadTransaction,
    account: AccountId,
    kind: CollectionKind,
) -> StoreResult<Vec<(Collection, Access)>> {
    let table = txn.open(DAV_SHARED_WITH).db()?;
    let records = txn.open(DAV_COLLECTIONS).db()?;
    let mut found = Vec::new();
    for row in table
        .range((account, 0)..=(account, CollectionId::MAX))
        .db()?
    {
        let (key, access) = row.db()?;
        let id = key.value().1;
        let access = Access::from_code(access.value()).ok_or_else(|| corrupt("share"))?;
        if let Some(record) = records.get(id).db()? {
            let collection = decode_collection(id, record.value())?;
            if collection.kind == kind {
                found.push((collection, access));
            }
        }
    }
    Ok(found)
}

/// Gives a user access to a collection, or takes it away.
pub(crate) struct Share {
    pub(crate) collection: CollectionId,
    pub(crate) sharee: AccountId,
    pub(crate) access: Option<Access>,
}

impl WriteOp for Share {
    type Plan = Share;
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Share> {
        let collection = get_collection(&batch.tables, self.collection)?;
        if collection.account == self.sharee {
            return Err(StoreError::AlreadyExists(
                "the owner's access to their own collection".into(),
            ));
        }
        if get_account(&batch.tables.accounts, self.sharee)?.is_none() {
            return Err(StoreError::NotFound("the account shared with".into()));
        }
        Ok(self)
    }

    fn apply(share: Share, batch: &mut Batch<'_>) -> StoreResult<()> {
        let tables = &mut batch.tables;
        let (forward, backward) = (
            (share.collection, share.sharee),
            (share.sharee, share.collection),
        );
        match share.access {
            Some(access) => {
                tables.dav_shares.insert(forward, access.code()).db()?;
                tables
                    .dav_shared_with
                    .insert(backward, access.code())
                    .db()?;
            }
            None => {
                tables.dav_shares.remove(forward).db()?;
                tables.dav_shared_with.remove(backward).db()?;
            }
        }
        Ok(())
    }
}

pub(crate) struct Create(pub(crate) NewCollection);

impl WriteOp for Create {
    type Plan = NewCollection;
    type Output = Collection;

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<NewCollection> {
        let new = self.0;
        let key = (new.account, new.kind.code(), new.name.as_str());
        if batch.tables.dav_collection_names.get(key).db()?.is_some() {
            return Err(StoreError::AlreadyExists(format!(
                "collection {}",
                new.name
            )));
        }
        Ok(new)
    }

    fn apply(new: NewCollection, batch: &mut Batch<'_>) -> StoreResult<Collection> {
        let tables = &mut batch.tables;
        let mut properties = new.properties;
        properties.sort();
        properties.dedup_by(|a, b| a.0 == b.0);
        let collection = Collection {
            id: tables.next_id(NEXT_COLLECTION_ID)?,
            account: new.account,
            kind: new.kind,
            name: new.name,
            created: new.created,
            revision: 0,
            floor: 0,
            tombstones: 0,
            properties,
        };
        put_collection(tables, &collection)?;
        tables
            .dav_collection_names
            .insert(
                (
                    collection.account,
                    collection.kind.code(),
                    collection.name.as_str(),
                ),
                collection.id,
            )
            .db()?;
        Ok(collection)
    }
}

pub(crate) struct SetProperties {
    pub(crate) id: CollectionId,
    pub(crate) changes: Vec<(String, Option<String>)>,
}

impl WriteOp for SetProperties {
    type Plan = (Collection, Vec<(String, Option<String>)>);
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Self::Plan> {
        let collection = get_collection(&batch.tables, self.id)?;
        Ok((collection, self.changes))
    }

    fn apply((mut collection, changes): Self::Plan, batch: &mut Batch<'_>) -> StoreResult<()> {
        for (name, value) in changes {
            collection.properties.retain(|(key, _)| *key != name);
            if let Some(value) = value {
                collection.properties.push((name, value));
            }
        }
        collection.properties.sort();
        put_collection(&mut batch.tables, &collection)
    }
}

pub(crate) struct Delete(pub(crate) CollectionId);

impl WriteOp for Delete {
    type Plan = Collection;
    type Output = ();

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Collection> {
        get_collection(&batch.tables, self.0)
    }

    fn apply(collection: Collection, batch: &mut Batch<'_>) -> StoreResult<()> {
        let tables = &mut batch.tables;
        let mut size = 0u64;
        for row in tables
            .dav_items
            .range(first_of(collection.id)..first_of_next(collection.id))
            .db()?
        {
            let (key, record) = row.db()?;
            size = size.saturating_add(decode_item(key.value().1, record.value())?.size);
        }
        refund(tables, collection.account, size)?;
        remove_collection(tables, &collection)
    }
}

/// Removes every collection of `account`, with its items (the account is being removed, so
/// nothing is refunded).
pub(crate) fn remove_account_collections(
    tables: &mut Tables<'_>,
    account: AccountId,
) -> StoreResult<()> {
    let mut ids = Vec::new();
    for row in tables
        .dav_collection_names
        .range((account, 0u8, "")..(account.saturating_add(1), 0u8, ""))
        .db()?
    {
        ids.push(row.db()?.1.value());
    }
    for id in ids {
        if let Ok(collection) = get_collection(tables, id) {
            remove_collection(tables, &collection)?;
        }
    }
    // What others shared with the account goes too.
    let mut shared = Vec::new();
    for row in tables
        .dav_shared_with
        .range((account, 0)..=(account, CollectionId::MAX))
        .db()?
    {
        shared.push(row.db()?.0.value().1);
    }
    for id in shared {
        tables.dav_shared_with.remove((account, id)).db()?;
        tables.dav_shares.remove((id, account)).db()?;
    }
    Ok(())
}

fn remove_collection(tables: &mut Tables<'_>, collection: &Collection) -> StoreResult<()> {
    let id = collection.id;
    tables
        .dav_collection_names
        .remove((
            collection.account,
            collection.kind.code(),
            collection.name.as_str(),
        ))
        .db()?;
    tables.dav_collections.remove(id).db()?;
    tables
        .dav_items
        .retain_in(first_of(id)..first_of_next(id), |_, _| false)
        .db()?;
    tables
        .dav_data
        .retain_in(first_of(id)..first_of_next(id), |_, _| false)
        .db()?;
    tables
        .dav_uids
        .retain_in(first_of(id)..first_of_next(id), |_, _| false)
        .db()?;
    tables
        .dav_changes
        .retain_in((id, 0)..=(id, u64::MAX), |_, _| false)
        .db()?;
    let mut sharees = Vec::new();
    for row in tables
        .dav_shares
        .range((id, 0)..=(id, AccountId::MAX))
        .db()?
    {
        sharees.push(row.db()?.0.value().1);
    }
    for sharee in sharees {
        tables.dav_shares.remove((id, sharee)).db()?;
        tables.dav_shared_with.remove((sharee, id)).db()?;
    }
    Ok(())
}

/// Stores an item: see [`Store::put_item`](engine::store::Store::put_item).
pub(crate) struct Put(pub(crate) PutItem);

/// What [`Put`] found: the collection, and the item it replaces.
pub(crate) enum PutPlan {
    Refused(ItemRefusal),
    Write(Box<PutWrite>),
}

/// The write [`Put`] goes ahead with.
pub(crate) struct PutWrite {
    collection: Collection,
    previous: Option<Item>,
    put: PutItem,
}

impl WriteOp for Put {
    type Plan = PutPlan;
    type Output = ItemWrite;

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<PutPlan> {
        let put = self.0;
        let tables = &batch.tables;
        let Some(collection) = find_collection(tables, put.collection)? else {
            return Ok(PutPlan::Refused(ItemRefusal::NoCollection));
        };
        let previous = live_item(tables, put.collection, &put.name)?;
        if !expected(&put.expect, previous.as_ref()) {
            return Ok(PutPlan::Refused(ItemRefusal::Precondition));
        }
        let account = get_account(&tables.accounts, collection.account)?
            .ok_or_else(|| corrupt("collection's account"))?;
        let old_size = previous.as_ref().map_or(0, |item| item.size);
        let growth = (put.data.len() as u64).saturating_sub(old_size);
        if growth > 0 && check_quota(&account, growth).is_err() {
            return Ok(PutPlan::Refused(ItemRefusal::OverQuota));
        }
        if let Some(owner) = tables
            .dav_uids
            .get((put.collection, put.index.uid.as_str()))
            .db()?
            && owner.value() != put.name
        {
            return Ok(PutPlan::Refused(ItemRefusal::UidInUse(
                owner.value().to_owned(),
            )));
        }
        Ok(PutPlan::Write(Box::new(PutWrite {
            collection,
            previous,
            put,
        })))
    }

    fn apply(plan: PutPlan, batch: &mut Batch<'_>) -> StoreResult<ItemWrite> {
        let PutWrite {
            mut collection,
            previous,
            put,
        } = match plan {
            PutPlan::Refused(refusal) => return Ok(ItemWrite::Refused(refusal)),
            PutPlan::Write(write) => *write,
        };
        let tables = &mut batch.tables;
        let id = collection.id;
        // An item made again where one was removed takes its tombstone's place.
        if forget_change(tables, id, &put.name)?.is_some_and(|before| before.deleted) {
            collection.tombstones = collection.tombstones.saturating_sub(1);
        }
        let revision = next_revision(tables, &mut collection)?;
        let (old_size, new_size) = (
            previous.as_ref().map_or(0, |item| item.size),
            put.data.len() as u64,
        );
        if new_size >= old_size {
            charge(tables, collection.account, new_size - old_size)?;
        } else {
            refund(tables, collection.account, old_size - new_size)?;
        }
        if let Some(previous) = &previous
            && previous.index.uid != put.index.uid
        {
            tables
                .dav_uids
                .remove((id, previous.index.uid.as_str()))
                .db()?;
        }
        tables
            .dav_uids
            .insert((id, put.index.uid.as_str()), put.name.as_str())
            .db()?;
        let item = Item {
            name: put.name,
            etag: put.etag,
            revision,
            modified: put.modified,
            size: put.data.len() as u64,
            index: put.index,
            deleted: false,
        };
        tables
            .dav_items
            .insert((id, item.name.as_str()), encode_item(&item).as_slice())
            .db()?;
        tables
            .dav_data
            .insert((id, item.name.as_str()), put.data.as_slice())
            .db()?;
        tables
            .dav_changes
            .insert((id, revision), item.name.as_str())
            .db()?;
        Ok(ItemWrite::Stored {
            item,
            created: previous.is_none(),
        })
    }
}

/// Removes an item, leaving a tombstone.
pub(crate) struct Remove {
    pub(crate) collection: CollectionId,
    pub(crate) name: String,
    pub(crate) expect: Expect,
}

impl WriteOp for Remove {
    type Plan = Result<(Collection, Item), ItemRefusal>;
    type Output = ItemWrite;

    fn prepare(self, batch: &mut Batch<'_>) -> StoreResult<Self::Plan> {
        let tables = &batch.tables;
        let Some(collection) = find_collection(tables, self.collection)? else {
            return Ok(Err(ItemRefusal::NoCollection));
        };
        let Some(item) = live_item(tables, self.collection, &self.name)? else {
            return Ok(Err(ItemRefusal::NotFound));
        };
        if !expected(&self.expect, Some(&item)) {
            return Ok(Err(ItemRefusal::Precondition));
        }
        Ok(Ok((collection, item)))
    }

    fn apply(plan: Self::Plan, batch: &mut Batch<'_>) -> StoreResult<ItemWrite> {
        let (mut collection, item) = match plan {
            Ok(found) => found,
            Err(refusal) => return Ok(ItemWrite::Refused(refusal)),
        };
        let tables = &mut batch.tables;
        collection.tombstones = collection.tombstones.saturating_add(1);
        let revision = next_revision(tables, &mut collection)?;
        refund(tables, collection.account, item.size)?;
        let id = collection.id;
        forget_change(tables, id, &item.name)?;
        tables.dav_uids.remove((id, item.index.uid.as_str())).db()?;
        tables.dav_data.remove((id, item.name.as_str())).db()?;
        let tombstone = Item {
            revision,
            deleted: true,
            size: 0,
            index: ItemIndex::default(),
            ..item
        };
        tables
            .dav_items
            .insert(
                (id, tombstone.name.as_str()),
                encode_item(&tombstone).as_slice(),
            )
            .db()?;
        tables
            .dav_changes
            .insert((id, revision), tombstone.name.as_str())
            .db()?;
        compact(tables, &mut collection)?;
        Ok(ItemWrite::Stored {
            item: tombstone,
            created: false,
        })
    }
}

/// Whether what a write expects holds for the item it finds.
fn expected(expect: &Expect, current: Option<&Item>) -> bool {
    match (expect, current) {
        (Expect::Any, _) => true,
        (Expect::Absent, current) => current.is_none(),
        (Expect::Present, current) => current.is_some(),
        (Expect::Etag(tags), Some(item)) => tags.contains(&item.etag),
        (Expect::Etag(_), None) => false,
        (Expect::NotEtag(tags), Some(item)) => !tags.contains(&item.etag),
        (Expect::NotEtag(_), None) => true,
    }
}

/// Takes the collection's next revision and records it.
fn next_revision(tables: &mut Tables<'_>, collection: &mut Collection) -> StoreResult<u64> {
    collection.revision = collection
        .revision
        .checked_add(1)
        .ok_or_else(|| StoreError::Io("the collection's revision counter is exhausted".into()))?;
    put_collection(tables, collection)?;
    Ok(collection.revision)
}

/// Drops the `dav_changes` entry of an item's previous change, if any; returns the item's
/// record (a tombstone included) as it was.
fn forget_change(
    tables: &mut Tables<'_>,
    collection: CollectionId,
    name: &str,
) -> StoreResult<Option<Item>> {
    let previous = tables
        .dav_items
        .get((collection, name))
        .db()?
        .map(|record| decode_item(name, record.value()))
        .transpose()?;
    if let Some(previous) = &previous {
        tables
            .dav_changes
            .remove((collection, previous.revision))
            .db()?;
    }
    Ok(previous)
}

/// Removes the oldest half of a collection's tombstones once it keeps more than
/// [`MAX_TOMBSTONES`], raising its floor past them: a client syncing from an older token
/// is told to start over rather than miss a removal.
fn compact(tables: &mut Tables<'_>, collection: &mut Collection) -> StoreResult<()> {
    if collection.tombstones <= MAX_TOMBSTONES {
        return Ok(());
    }
    let id = collection.id;
    let mut gone = Vec::new();
    for row in tables.dav_changes.range((id, 0)..=(id, u64::MAX)).db()? {
        let (key, name) = row.db()?;
        let name = name.value();
        let deleted = match tables.dav_items.get((id, name)).db()? {
            Some(record) => decode_item(name, record.value())?.deleted,
            None => false,
        };
        if deleted {
            gone.push((key.value().1, name.to_owned()));
            if gone.len() as u64 >= MAX_TOMBSTONES / 2 {
                break;
            }
        }
    }
    for (revision, name) in &gone {
        tables.dav_changes.remove((id, *revision)).db()?;
        tables.dav_items.remove((id, name.as_str())).db()?;
        collection.floor = collection.floor.max(*revision);
    }
    collection.tombstones = collection.tombstones.saturating_sub(gone.len() as u64);
    put_collection(tables, collection)
}

fn live_item(
    tables: &Tables<'_>,
    collection: CollectionId,
    name: &str,
) -> StoreResult<Option<Item>> {
    let item = tables
        .dav_items
        .get((collection, name))
        .db()?
        .map(|record| decode_item(name, record.value()))
        .transpose()?;
    Ok(item.filter(|item| !item.deleted))
}

fn find_collection(tables: &Tables<'_>, id: CollectionId) -> StoreResult<Option<Collection>> {
    tables
        .dav_collections
        .get(id)
        .db()?
        .map(|record| decode_collection(id, record.value()))
        .transpose()
}

fn get_collection(tables: &Tables<'_>, id: CollectionId) -> StoreResult<Collection> {
    find_collection(tables, id)?.ok_or_else(|| StoreError::NotFound("the collection".into()))
}

fn put_collection(tables: &mut Tables<'_>, collection: &Collection) -> StoreResult<()> {
    tables
        .dav_collections
        .insert(collection.id, encode_collection(collection).as_slice())
        .db()?;
    Ok(())
}

/// The first key of a collection's rows in the tables keyed by (collection, name).
fn first_of(collection: CollectionId) -> (CollectionId, &'static str) {
    (collection, "")
}

/// The first key past a collection's rows.
fn first_of_next(collection: CollectionId) -> (CollectionId, &'static str) {
    (collection.saturating_add(1), "")
}

/// Layout: version, account (u64), kind (u8), name, created (i64), revision (u64), floor
/// (u64) and tombstones (u64) from layout 2 on, then the number of properties (u32) and
/// each name and value. The id is the key.
fn encode_collection(collection: &Collection) -> Vec<u8> {
    let mut out = Encoder::new(COLLECTION_RECORD_VERSION);
    out.u64(collection.account);
    out.u8(collection.kind.code());
    out.str(&collection.name);
    out.bytes(&collection.created.to_le_bytes());
    out.u64(collection.revision);
    out.u64(collection.floor);
    out.u64(collection.tombstones);
    out.u32(u32::try_from(collection.properties.len()).unwrap_or(u32::MAX));
    for (name, value) in &collection.properties {
        out.str(name);
        out.str(value);
    }
    out.0
}

fn decode_collection(id: CollectionId, bytes: &[u8]) -> StoreResult<Collection> {
    const WHAT: &str = "collection record";
    let mut input = Decoder::new(bytes, WHAT, COLLECTION_RECORD_VERSION)?;
    let account = input.u64()?;
    let kind = CollectionKind::from_code(input.u8()?).ok_or_else(|| corrupt(WHAT))?;
    let name = input.str()?.to_owned();
    let created = i64::from_le_bytes(input.array()?);
    let revision = input.u64()?;
    let (floor, tombstones) = if input.version >= 2 {
        (input.u64()?, input.u64()?)
    } else {
        (0, 0)
    };
    let count = input.u32()?;
    let mut properties = Vec::new();
    for _ in 0..count {
        let name = input.str()?.to_owned();
        properties.push((name, input.str()?.to_owned()));
    }
    input.finish()?;
    Ok(Collection {
        id,
        account,
        kind,
        name,
        created,
        revision,
        floor,
        tombstones,
        properties,
    })
}

/// Layout: version, etag, revision (u64), modified (i64), size (u64), deleted (bool), uid,
/// component, start and end (a presence byte and an i64 each). The name is the key.
fn encode_item(item: &Item) -> Vec<u8> {
    let mut out = Encoder::new(ITEM_RECORD_VERSION);
    out.str(&item.etag);
    out.u64(item.revision);
    out.bytes(&item.modified.to_le_bytes());
    out.u64(item.size);
    out.bool(item.deleted);
    out.str(&item.index.uid);
    out.str(&item.index.component);
    for bound in [item.index.start, item.index.end] {
        out.bool(bound.is_some());
        out.bytes(&bound.unwrap_or_default().to_le_bytes());
    }
    out.0
}

fn decode_item(name: &str, bytes: &[u8]) -> StoreResult<Item> {
    let mut input = Decoder::new(bytes, "item record", ITEM_RECORD_VERSION)?;
    let etag = input.str()?.to_owned();
    let revision = input.u64()?;
    let modified = i64::from_le_bytes(input.array()?);
    let size = input.u64()?;
    let deleted = input.bool()?;
    let uid = input.str()?.to_owned();
    let component = input.str()?.to_owned();
    let mut bounds = [None, None];
    for bound in &mut bounds {
        let present = input.bool()?;
        let value = i64::from_le_bytes(input.array()?);
        *bound = present.then_some(value);
    }
    input.finish()?;
    let [start, end] = bounds;
    Ok(Item {
        name: name.to_owned(),
        etag,
        revision,
        modified,
        size,
        index: ItemIndex {
            uid,
            component,
            start,
            end,
        },
        deleted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_damage_is_an_error() {
        let collection = Collection {
            id: 7,
            account: 3,
            kind: CollectionKind::AddressBook,
            name: "work".into(),
            created: 1_800_000_000,
            revision: 42,
            floor: 3,
            tombstones: 5,
            properties: vec![("{DAV:}displayname".into(), "Work".into())],
        };
        let bytes = encode_collection(&collection);
        assert_eq!(decode_collection(7, &bytes).unwrap(), collection);
        assert!(decode_collection(7, &bytes[..bytes.len() - 1]).is_err());
        // Layout 1, from before compaction, reads with nothing compacted.
        let mut old = Encoder::new(1);
        old.u64(3);
        old.u8(CollectionKind::AddressBook.code());
        old.str("work");
        old.bytes(&1_800_000_000i64.to_le_bytes());
        old.u64(42);
        old.u32(1);
        old.str("{DAV:}displayname");
        old.str("Work");
        let read = decode_collection(7, &old.0).unwrap();
        assert_eq!((read.floor, read.tombstones), (0, 0));
        assert_eq!(read.properties, collection.properties);
        let item = Item {
            name: "a.ics".into(),
            etag: "\"e\"".into(),
            revision: 9,
            modified: 1_800_000_001,
            size: 120,
            index: ItemIndex {
                uid: "u1".into(),
                component: "VEVENT".into(),
                start: Some(1),
                end: None,
            },
            deleted: false,
        };
        let bytes = encode_item(&item);
        assert_eq!(decode_item("a.ics", &bytes).unwrap(), item);
        assert!(decode_item("a.ics", &bytes[1..]).is_err());
    }
}
