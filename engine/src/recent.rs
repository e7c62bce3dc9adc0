//! A table of bounded size that forgets its oldest entries: what the server remembers about
//! peers it cannot trust (failed logins per address and per account, and the like). A flood
//! of new keys pushes out the entries touched longest ago, one at a time, never the whole
//! table.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// At most `capacity` entries; inserting one more forgets the entry touched longest ago.
#[derive(Debug)]
pub struct Recent<K, V> {
    capacity: usize,
    entries: HashMap<K, (V, u64)>,
    /// Keys in the order they were touched, each with the stamp it had then; a key touched
    /// again appears again, and its older places are skipped when they come up.
    order: VecDeque<(K, u64)>,
    next_stamp: u64,
}

impl<K: Hash + Eq + Clone, V> Recent<K, V> {
    pub fn new(capacity: usize) -> Self {
        Recent {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: VecDeque::new(),
            next_stamp: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|(value, _)| value)
    }

    /// The entry of `key`, made with `new` if there is none (forgetting the oldest entry if
    /// the table is full), and counted as touched now.
    pub fn touch(&mut self, key: K, new: impl FnOnce() -> V) -> &mut V {
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            self.forget_oldest();
        }
        let stamp = self.stamp(&key);
        let entry = self.entries.entry(key).or_insert_with(|| (new(), stamp));
        entry.1 = stamp;
        &mut entry.0
    }

    /// The entry of `key` if there is one, counted as touched now.
    pub fn touch_existing(&mut self, key: &K) -> Option<&mut V> {
        if !self.entries.contains_key(key) {
            return None;
        }
        let stamp = self.stamp(key);
        let entry = self.entries.get_mut(key)?;
        entry.1 = stamp;
        Some(&mut entry.0)
    }

    /// The next stamp, with `key`'s place for it in `order`.
    fn stamp(&mut self, key: &K) -> u64 {
        if self.order.len() >= self.capacity.saturating_mul(2) {
            self.compact();
        }
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        self.order.push_back((key.clone(), stamp));
        stamp
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        // Its places in `order` are skipped once they no longer match an entry.
        self.entries.remove(key).map(|(value, _)| value)
    }

    fn forget_oldest(&mut self) {
        while let Some((key, stamp)) = self.order.pop_front() {
            if self
                .entries
                .get(&key)
                .is_some_and(|(_, current)| *current == stamp)
            {
                self.entries.remove(&key);
                return;
            }
        }
    }

    /// Drops the places of keys touched again since (and of removed keys), so `order`
    /// stays within twice the capacity. Called before a new place is added, so every
    /// entry keeps the place of its stamp.
    fn compact(&mut self) {
        let entries = &self.entries;
        self.order.retain(|(key, stamp)| {
            entries
                .get(key)
                .is_some_and(|(_, current)| current == stamp)
        });
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_entry_touched_longest_ago_goes_first() {
        let mut table = Recent::new(3);
        for key in ["a", "b", "c"] {
            *table.touch(key, || 0) += 1;
        }
        *table.touch("a", || 0) += 1;
        table.touch("d", || 0);
        assert_eq!(table.get(&"b"), None, "b was touched longest ago");
        assert_eq!(table.get(&"a"), Some(&2));
        assert_eq!(table.len(), 3);
        table.remove(&"c");
        table.touch("e", || 0);
        assert_eq!(table.len(), 3, "a removed entry made room");
        assert!(table.get(&"a").is_some() && table.get(&"d").is_some());
    }

    proptest! {
        #[test]
        fn size_stays_bounded_and_recent_keys_stay(keys in prop::collection::vec(0u16..200, 1..2_000)) {
            let mut table = Recent::new(50);
            for &key in &keys {
                table.touch(key, || ());
                prop_assert!(table.len() <= 50);
                prop_assert!(table.order.len() <= 100);
            }
            // The last 50 distinct keys touched are all still there.
            let mut seen = Vec::new();
            for key in keys.iter().rev() {
                if !seen.contains(key) {
                    seen.push(*key);
                }
            }
            for key in seen.iter().take(50) {
                prop_assert!(table.get(key).is_some());
            }
        }
    }
}
