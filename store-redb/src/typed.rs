//! Typed tables over one redb table type.
//!
//! redb compiles its B-tree code once for every key and value type a table is declared with:
//! with a type per table, that code was in the binary about thirty times over (some 50 KB a
//! copy). Here every table is declared `Encoded → Encoded` to redb, so one copy serves them
//! all, and a thin layer gives back typed tables: [`Def`] names a table with the types of its
//! keys and values, [`Table`] and [`ReadableTable`] read and write them, and [`Key`] and
//! [`Value`] turn them into bytes and back.
//!
//! A key is a sequence of elements, each a tag and its bytes:
//! - an integer or a fixed-size byte array: a tag that is its width (1, 2, 4, 8 or 32), then
//!   its bytes, big-endian for integers (an `i64` with its sign bit flipped);
//! - a string or byte string: the tag [`VARIABLE`], its length in four big-endian bytes, then
//!   its bytes.
//!
//! [`Encoded::compare`] orders keys element by element, each by tag and then by its bytes
//! as Rust orders slices, which is how the tuples they encode are ordered: a range of keys is
//! the range of tuples it was written as. A value is its bytes alone (integers big-endian,
//! `()` none). Reading never panics: damaged bytes read as zero, empty or as much as is
//! there (redb checksums its pages, so this is a file written by something else).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};

use redb::{AccessGuard, ReadTransaction, StorageError, TableDefinition, TableError, TypeName};

/// The tag of a string or byte-string element of a key.
const VARIABLE: u8 = 0x80;

/// What redb sees of every key and value: bytes, keys ordered by [`Key`]'s encoding.
#[derive(Debug)]
pub(crate) struct Encoded;

impl redb::Value for Encoded {
    type SelfType<'a> = &'a [u8];
    type AsBytes<'a> = &'a [u8];

    fn fixed_width() -> Option<usize> {
        None
    }

    fn from_bytes<'a>(data: &'a [u8]) -> &'a [u8]
    where
        Self: 'a,
    {
        data
    }

    fn as_bytes<'a, 'b: 'a>(value: &'a &'b [u8]) -> &'a [u8]
    where
        Self: 'b,
    {
        value
    }

    fn type_name() -> TypeName {
        TypeName::new("postern::Encoded")
    }
}

impl redb::Key for Encoded {
    fn compare(data1: &[u8], data2: &[u8]) -> Ordering {
        let (mut left, mut right) = (data1, data2);
        loop {
            match (element(&mut left), element(&mut right)) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(a), Some(b)) => match a.cmp(&b) {
                    Ordering::Equal => {}
                    unequal => return unequal,
                },
            }
        }
    }
}

/// Takes the next element of a key off `bytes`: its tag and its bytes. A key cut short
/// gives what is left of it.
fn element<'a>(bytes: &mut &'a [u8]) -> Option<(u8, &'a [u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (len, rest) = if tag == VARIABLE {
        match rest.split_first_chunk::<4>() {
            Some((len, rest)) => (usize::try_from(u32::from_be_bytes(*len)).ok()?, rest),
            None => (rest.len(), &[][..]),
        }
    } else {
        (usize::from(tag), rest)
    };
    let (this, rest) = rest.split_at(len.min(rest.len()));
    *bytes = rest;
    Some((tag, this))
}

/// A type a key (or an element of one) is made of.
pub(crate) trait Key: 'static {
    /// The type read back, borrowing from the stored bytes where it can.
    type SelfType<'a>;
    /// Appends `key`'s elements to `out`.
    fn encode(key: &Self::SelfType<'_>, out: &mut Vec<u8>);
    /// Reads a key off the front of `bytes`.
    fn decode<'a>(bytes: &mut &'a [u8]) -> Self::SelfType<'a>;
}

/// A type a value is.
pub(crate) trait Value: 'static {
    /// The type read back, borrowing from the stored bytes where it can.
    type SelfType<'a>;
    /// Its bytes: on the stack for fixed sizes, borrowed for strings.
    type AsBytes<'a>: AsRef<[u8]>
    where
        Self: 'a;
    fn as_bytes<'a>(value: &'a Self::SelfType<'_>) -> Self::AsBytes<'a>;
    fn decode(bytes: &[u8]) -> Self::SelfType<'_>;
}

/// The bytes of a fixed-size key element, read off `bytes` (zeros for what is missing).
fn fixed<const N: usize>(bytes: &mut &[u8]) -> [u8; N] {
    fixed_value(element(bytes).map_or(&[], |(_, this)| this))
}

/// A fixed-size value's bytes (zeros for what is missing).
fn fixed_value<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    let len = bytes.len().min(N);
    out[..len].copy_from_slice(&bytes[..len]);
    out
}

macro_rules! unsigned {
    ($($int:ty),*) => {$(
        impl Key for $int {
            type SelfType<'a> = $int;
            fn encode(key: &$int, out: &mut Vec<u8>) {
                out.push(size_of::<$int>() as u8);
                out.extend_from_slice(&key.to_be_bytes());
            }
            fn decode(bytes: &mut &[u8]) -> $int {
                <$int>::from_be_bytes(fixed(bytes))
            }
        }

        impl Value for $int {
            type SelfType<'a> = $int;
            type AsBytes<'a> = [u8; size_of::<$int>()];
            fn as_bytes(value: &$int) -> Self::AsBytes<'_> {
                value.to_be_bytes()
            }
            fn decode(bytes: &[u8]) -> $int {
                <$int>::from_be_bytes(fixed_value(bytes))
            }
        }
    )*};
}

unsigned!(u8, u16, u32, u64);

/// An `i64` with its sign bit flipped orders as an unsigned number in the same order.
const SIGN: u64 = 1 << 63;

impl Key for i64 {
    type SelfType<'a> = i64;
    fn encode(key: &i64, out: &mut Vec<u8>) {
        u64::encode(&(key.cast_unsigned() ^ SIGN), out);
    }
    fn decode(bytes: &mut &[u8]) -> i64 {
        (<u64 as Key>::decode(bytes) ^ SIGN).cast_signed()
    }
}

impl Value for i64 {
    type SelfType<'a> = i64;
    type AsBytes<'a> = [u8; 8];
    fn as_bytes(value: &i64) -> [u8; 8] {
        value.to_be_bytes()
    }
    fn decode(bytes: &[u8]) -> i64 {
        i64::from_be_bytes(fixed_value(bytes))
    }
}

impl Key for &'static [u8; 32] {
    type SelfType<'a> = &'a [u8; 32];
    fn encode(key: &&[u8; 32], out: &mut Vec<u8>) {
        out.push(32);
        out.extend_from_slice(*key);
    }
    fn decode<'a>(bytes: &mut &'a [u8]) -> &'a [u8; 32] {
        const ZERO: &[u8; 32] = &[0; 32];
        element(bytes)
            .and_then(|(_, this)| this.try_into().ok())
            .unwrap_or(ZERO)
    }
}

impl Key for &'static str {
    type SelfType<'a> = &'a str;
    fn encode(key: &&str, out: &mut Vec<u8>) {
        <&[u8] as Key>::encode(&key.as_bytes(), out);
    }
    fn decode<'a>(bytes: &mut &'a [u8]) -> &'a str {
        std::str::from_utf8(<&[u8] as Key>::decode(bytes)).unwrap_or_default()
    }
}

impl Key for &'static [u8] {
    type SelfType<'a> = &'a [u8];
    fn encode(key: &&[u8], out: &mut Vec<u8>) {
        out.push(VARIABLE);
        // Keys are far below 4 GiB: redb refuses larger ones.
        out.extend_from_slice(&u32::try_from(key.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(key);
    }
    fn decode<'a>(bytes: &mut &'a [u8]) -> &'a [u8] {
        element(bytes).map_or(&[], |(_, this)| this)
    }
}

impl Value for &'static str {
    type SelfType<'a> = &'a str;
    type AsBytes<'a> = &'a [u8];
    fn as_bytes<'a>(value: &'a &str) -> &'a [u8] {
        value.as_bytes()
    }
    fn decode(bytes: &[u8]) -> &str {
        std::str::from_utf8(bytes).unwrap_or_default()
    }
}

impl Value for &'static [u8] {
    type SelfType<'a> = &'a [u8];
    type AsBytes<'a> = &'a [u8];
    fn as_bytes<'a>(value: &'a &[u8]) -> &'a [u8] {
        value
    }
    fn decode(bytes: &[u8]) -> &[u8] {
        bytes
    }
}

impl Value for () {
    type SelfType<'a> = ();
    type AsBytes<'a> = [u8; 0];
    fn as_bytes(_: &()) -> [u8; 0] {
        []
    }
    fn decode(_: &[u8]) {}
}

macro_rules! tuple {
    ($($name:ident),*) => {
        impl<$($name: Key),*> Key for ($($name,)*) {
            type SelfType<'a> = ($($name::SelfType<'a>,)*);
            #[allow(non_snake_case)]
            fn encode(key: &Self::SelfType<'_>, out: &mut Vec<u8>) {
                let ($($name,)*) = key;
                $($name::encode($name, out);)*
            }
            fn decode<'a>(bytes: &mut &'a [u8]) -> Self::SelfType<'a> {
                ($($name::decode(bytes),)*)
            }
        }
    };
}

tuple!(A, B);
tuple!(A, B, C);

/// The bytes of `key`.
fn key_bytes<K: Key>(key: &K::SelfType<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    K::encode(key, &mut out);
    out
}

/// A table's name and the types of its keys and values.
pub(crate) struct Def<K, V> {
    name: &'static str,
    types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Clone for Def<K, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, V> Copy for Def<K, V> {}

impl<K: Key, V: Value> Def<K, V> {
    pub(crate) const fn new(name: &'static str) -> Self {
        Def {
            name,
            types: PhantomData,
        }
    }
}

impl<K, V> Def<K, V> {
    /// The table as redb knows it.
    pub(crate) fn raw(self) -> TableDefinition<'static, Encoded, Encoded> {
        TableDefinition::new(self.name)
    }
}

/// A table of `K` to `V` over redb's `raw`, a [`redb::Table`] or a [`redb::ReadOnlyTable`].
pub(crate) struct Typed<R, K, V> {
    raw: R,
    types: PhantomData<fn() -> (K, V)>,
}

impl<R, K, V> Typed<R, K, V> {
    fn new(raw: R) -> Self {
        Typed {
            raw,
            types: PhantomData,
        }
    }

    /// redb's own table, to read and write bytes as they are.
    pub(crate) fn raw(&self) -> &R {
        &self.raw
    }

    pub(crate) fn raw_mut(&mut self) -> &mut R {
        &mut self.raw
    }
}

/// A table open in a write transaction.
pub(crate) type Table<'txn, K, V> = Typed<redb::Table<'txn, Encoded, Encoded>, K, V>;
/// A table open in a read transaction.
pub(crate) type ReadOnlyTable<K, V> = Typed<redb::ReadOnlyTable<Encoded, Encoded>, K, V>;

/// Opening a [`Def`] in a transaction.
pub(crate) trait Open {
    type Raw<'txn>: redb::ReadableTable<Encoded, Encoded>
    where
        Self: 'txn;
    fn open<K: Key, V: Value>(
        &self,
        def: Def<K, V>,
    ) -> Result<Typed<Self::Raw<'_>, K, V>, TableError>;
}

impl Open for redb::WriteTransaction {
    type Raw<'txn> = redb::Table<'txn, Encoded, Encoded>;
    fn open<K: Key, V: Value>(&self, def: Def<K, V>) -> Result<Table<'_, K, V>, TableError> {
        self.open_table(def.raw()).map(Typed::new)
    }
}

impl Open for ReadTransaction {
    type Raw<'txn> = redb::ReadOnlyTable<Encoded, Encoded>;
    fn open<K: Key, V: Value>(&self, def: Def<K, V>) -> Result<ReadOnlyTable<K, V>, TableError> {
        self.open_table(def.raw()).map(Typed::new)
    }
}

/// A stored value, read with [`Guard::value`].
pub(crate) struct Guard<'a, V> {
    raw: AccessGuard<'a, Encoded>,
    types: PhantomData<fn() -> V>,
}

impl<'a, V: Value> Guard<'a, V> {
    fn new(raw: AccessGuard<'a, Encoded>) -> Self {
        Guard {
            raw,
            types: PhantomData,
        }
    }

    pub(crate) fn value(&self) -> V::SelfType<'_> {
        V::decode(self.raw.value())
    }
}

/// A stored key, read with [`KeyGuard::value`].
pub(crate) struct KeyGuard<'a, K> {
    raw: AccessGuard<'a, Encoded>,
    types: PhantomData<fn() -> K>,
}

impl<'a, K: Key> KeyGuard<'a, K> {
    fn new(raw: AccessGuard<'a, Encoded>) -> Self {
        KeyGuard {
            raw,
            types: PhantomData,
        }
    }

    pub(crate) fn value(&self) -> K::SelfType<'_> {
        K::decode(&mut self.raw.value())
    }
}

/// A key and its value.
pub(crate) type Entry<'a, K, V> = (KeyGuard<'a, K>, Guard<'a, V>);

/// A row as iterators give it.
pub(crate) type Row<'a, K, V> = Result<Entry<'a, K, V>, StorageError>;

fn row<'a, K: Key, V: Value>(
    raw: Result<(AccessGuard<'a, Encoded>, AccessGuard<'a, Encoded>), StorageError>,
) -> Row<'a, K, V> {
    raw.map(|(key, value)| (KeyGuard::new(key), Guard::new(value)))
}

/// The rows of a range of keys, in key order (either way).
pub(crate) struct Range<'a, K, V> {
    raw: redb::Range<'a, Encoded, Encoded>,
    types: PhantomData<fn() -> (K, V)>,
}

impl<'a, K: Key, V: Value> Iterator for Range<'a, K, V> {
    type Item = Row<'a, K, V>;
    fn next(&mut self) -> Option<Row<'a, K, V>> {
        self.raw.next().map(row)
    }
}

impl<'a, K: Key, V: Value> DoubleEndedIterator for Range<'a, K, V> {
    fn next_back(&mut self) -> Option<Row<'a, K, V>> {
        self.raw.next_back().map(row)
    }
}

/// The bounds of `range`, encoded.
fn bounds<'a, K: Key, KR: Borrow<K::SelfType<'a>> + 'a>(
    range: &impl RangeBounds<KR>,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let encode = |bound: Bound<&KR>| bound.map(|key| key_bytes::<K>(key.borrow()));
    (encode(range.start_bound()), encode(range.end_bound()))
}

fn as_slices(bounds: &(Bound<Vec<u8>>, Bound<Vec<u8>>)) -> (Bound<&[u8]>, Bound<&[u8]>) {
    (
        bounds.0.as_ref().map(Vec::as_slice),
        bounds.1.as_ref().map(Vec::as_slice),
    )
}

/// Reading a table, in a read or a write transaction.
pub(crate) trait ReadableTable<K: Key, V: Value> {
    type Raw: redb::ReadableTable<Encoded, Encoded>;
    fn raw_table(&self) -> &Self::Raw;

    fn get<'a>(
        &self,
        key: impl Borrow<K::SelfType<'a>>,
    ) -> Result<Option<Guard<'_, V>>, StorageError> {
        let key = key_bytes::<K>(key.borrow());
        let found = redb::ReadableTable::get(self.raw_table(), key.as_slice())?;
        Ok(found.map(Guard::new))
    }

    fn range<'a, KR>(
        &self,
        range: impl RangeBounds<KR> + 'a,
    ) -> Result<Range<'_, K, V>, StorageError>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
    {
        let bounds = bounds::<K, KR>(&range);
        let raw = redb::ReadableTable::range::<&[u8]>(self.raw_table(), as_slices(&bounds))?;
        Ok(Range {
            raw,
            types: PhantomData,
        })
    }

    fn iter(&self) -> Result<Range<'_, K, V>, StorageError> {
        let raw = redb::ReadableTable::iter(self.raw_table())?;
        Ok(Range {
            raw,
            types: PhantomData,
        })
    }

    fn first(&self) -> Result<Option<Entry<'_, K, V>>, StorageError> {
        self.iter()?.next().transpose()
    }

    fn len(&self) -> Result<u64, StorageError> {
        redb::ReadableTableMetadata::len(self.raw_table())
    }
}

impl<R: redb::ReadableTable<Encoded, Encoded>, K: Key, V: Value> ReadableTable<K, V>
    for Typed<R, K, V>
{
    type Raw = R;
    fn raw_table(&self) -> &R {
        &self.raw
    }
}

/// A predicate over raw rows: one type for every table, so redb's filtering code is
/// compiled once.
type Predicate<'p> = Box<dyn for<'f> FnMut(&'f [u8], &'f [u8]) -> bool + 'p>;

fn predicate<'p, K: Key, V: Value>(
    mut keep: impl for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool + 'p,
) -> Predicate<'p> {
    Box::new(move |mut key, value| keep(K::decode(&mut key), V::decode(value)))
}

/// The rows a predicate took out of a table, removed as they are read.
pub(crate) struct ExtractIf<'a, K, V> {
    raw: redb::ExtractIf<'a, Encoded, Encoded, Predicate<'a>>,
    types: PhantomData<fn() -> (K, V)>,
}

impl<'a, K: Key, V: Value> Iterator for ExtractIf<'a, K, V> {
    type Item = Row<'a, K, V>;
    fn next(&mut self) -> Option<Row<'a, K, V>> {
        self.raw.next().map(row)
    }
}

impl<'txn, K: Key, V: Value> Table<'txn, K, V> {
    /// Writes `value` under `key`; gives the value it replaced.
    pub(crate) fn insert<'k, 'v>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> Result<Option<Guard<'_, V>>, StorageError> {
        let key = key_bytes::<K>(key.borrow());
        let value = V::as_bytes(value.borrow());
        let old = self.raw.insert(key.as_slice(), value.as_ref())?;
        Ok(old.map(Guard::new))
    }

    /// Removes `key`; gives the value it had.
    pub(crate) fn remove<'k>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
    ) -> Result<Option<Guard<'_, V>>, StorageError> {
        let key = key_bytes::<K>(key.borrow());
        let old = self.raw.remove(key.as_slice())?;
        Ok(old.map(Guard::new))
    }

    /// Removes every row in `range` for which `keep` is false.
    pub(crate) fn retain_in<'a, KR>(
        &mut self,
        range: impl RangeBounds<KR> + 'a,
        keep: impl for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool,
    ) -> Result<(), StorageError>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
    {
        let bounds = bounds::<K, KR>(&range);
        self.raw
            .retain_in::<&[u8], _>(as_slices(&bounds), predicate::<K, V>(keep))
    }

    /// The rows for which `take` is true, each removed as it is read.
    pub(crate) fn extract_if<'s>(
        &'s mut self,
        take: impl for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool + 's,
    ) -> Result<ExtractIf<'s, K, V>, StorageError> {
        self.extract((Bound::Unbounded, Bound::Unbounded), take)
    }

    /// The rows in `range` for which `take` is true, each removed as it is read.
    pub(crate) fn extract_from_if<'s, 'a, KR>(
        &'s mut self,
        range: impl RangeBounds<KR> + 'a,
        take: impl for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool + 's,
    ) -> Result<ExtractIf<'s, K, V>, StorageError>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
    {
        self.extract(bounds::<K, KR>(&range), take)
    }

    fn extract<'s>(
        &'s mut self,
        bounds: (Bound<Vec<u8>>, Bound<Vec<u8>>),
        take: impl for<'f> FnMut(K::SelfType<'f>, V::SelfType<'f>) -> bool + 's,
    ) -> Result<ExtractIf<'s, K, V>, StorageError> {
        let raw = self
            .raw
            .extract_from_if::<&[u8], _>(as_slices(&bounds), predicate::<K, V>(take))?;
        Ok(ExtractIf {
            raw,
            types: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests;
