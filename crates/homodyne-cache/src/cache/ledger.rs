//! The ledger behind the cache's lock: entries in a slab, a hash index over
//! them, two intrusive LRU lists and an expiry heap, so that every operation
//! costs O(1) (the heap: O(log n)) whatever the number of entries.
//!
//! - `index`: a `hashbrown::HashTable` of slab positions, hashed by the key
//!   (the hash is computed by the caller, outside the lock, and kept in the
//!   entry so that eviction can find the index slot without rehashing).
//! - `lru`: every entry, most recently used first; eviction takes the tail.
//! - `cold`: the entries that compression may still shrink (stored raw, at
//!   least `compress_min_bytes`, not known to be incompressible, not being
//!   compressed right now), in the same order; compression takes the tail, so
//!   that entries which cannot be compressed are never walked over again.
//! - `expiry`: a min-heap of (expiry time, entry id); records of removed or
//!   replaced entries are skipped when they reach the top, and the heap is
//!   rebuilt when such records outnumber the live ones.
//!
//! The ledger does no codec work, no IO and no locking; values it drops are
//! handed back to the caller, who drops them after releasing the lock (freeing
//! a 64 MiB array takes longer than a hit).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;

use hashbrown::HashTable;

use crate::codec::Compressed;

use crate::config::ENTRY_OVERHEAD_BYTES;

/// The end of a list.
const NIL: u32 = u32::MAX;

/// How an entry's data is held.
pub(crate) enum Stored<V> {
    /// The caller's value itself: a hit returns this `Arc`.
    Raw(Arc<V>),
    /// LZ4-compressed bytes, shared so that a hit can decompress them
    /// outside the lock.
    Compressed(Arc<Compressed>),
}

#[derive(Clone, Copy)]
struct Links {
    prev: u32,
    next: u32,
}

const UNLINKED: Links = Links { prev: NIL, next: NIL };

/// The part of an entry that a hit reads and writes, kept small (56 bytes
/// for a `u64` key) so that a hit and its two list moves touch one cache
/// line per entry: with everything in one 120-byte entry, a hit with 10,000
/// entries held read two lines per entry and cost more than moka's.
pub(crate) struct Node<K, V> {
    key: K,
    stored: Stored<V>,
    lru: Links,
    cold: Links,
    /// Changes on every use: a compression started before a use is dropped.
    touched: u64,
    /// Compression was tried and did not pay; do not try again.
    incompressible: bool,
    /// A thread is compressing this entry outside the lock.
    compressing: bool,
    in_cold: bool,
}

/// The rest of an entry's bookkeeping, in a parallel vector.
pub(crate) struct Meta {
    hash: u64,
    shape: Vec<usize>,
    raw_bytes: usize,
    /// When the entry expires on the cache's clock; `None`: never.
    expires: Option<Duration>,
    /// Unique per insertion: tells a replaced entry from its successor in
    /// the same slot.
    id: u64,
}

/// A removed entry, for the caller to drop outside the lock.
pub(crate) struct Removed<K, V> {
    #[expect(dead_code, reason = "held only to be dropped later")]
    node: Node<K, V>,
    #[expect(dead_code, reason = "held only to be dropped later")]
    meta: Meta,
}

/// A read-only view of one entry.
pub(crate) struct Entry<'a, K, V> {
    pub(crate) key: &'a K,
    pub(crate) stored: &'a Stored<V>,
    pub(crate) shape: &'a [usize],
    pub(crate) raw_bytes: usize,
    pub(crate) expires: Option<Duration>,
    pub(crate) id: u64,
    pub(crate) touched: u64,
}

impl<K, V> Entry<'_, K, V> {
    /// What the entry is charged against the budget.
    pub(crate) fn stored_bytes(&self) -> usize {
        charged(self.stored, self.raw_bytes)
    }
}

/// Bytes charged for data stored as `stored` whose raw size is `raw_bytes`.
fn charged<V>(stored: &Stored<V>, raw_bytes: usize) -> usize {
    ENTRY_OVERHEAD_BYTES
        + match stored {
            Stored::Raw(_) => raw_bytes,
            Stored::Compressed(compressed) => compressed.len(),
        }
}

/// Which of the two lists.
#[derive(Clone, Copy)]
enum List {
    Lru,
    Cold,
}

#[derive(Clone, Copy)]
struct Ends {
    head: u32,
    tail: u32,
}

const EMPTY: Ends = Ends { head: NIL, tail: NIL };

/// Entries, their order and their byte counts; see the module docs.
pub(crate) struct Ledger<K, V> {
    slots: Vec<Option<Node<K, V>>>,
    metas: Vec<Meta>,
    free: Vec<u32>,
    index: HashTable<u32>,
    lru: Ends,
    cold: Ends,
    expiry: BinaryHeap<Reverse<(Duration, u64, u32)>>,
    next_id: u64,
    len: usize,
    compressed: usize,
    /// Data plus per-entry overhead of every entry.
    pub(crate) stored_bytes: usize,
    /// Raw bytes of the entries held uncompressed.
    pub(crate) hot_bytes: usize,
    /// Raw bytes of every entry.
    pub(crate) raw_bytes: usize,
    compress_min_bytes: usize,
}

impl<K: Eq, V> Ledger<K, V> {
    pub(crate) fn new(compress_min_bytes: usize) -> Self {
        Ledger {
            slots: Vec::new(),
            metas: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
            lru: EMPTY,
            cold: EMPTY,
            expiry: BinaryHeap::new(),
            next_id: 0,
            len: 0,
            compressed: 0,
            stored_bytes: 0,
            hot_bytes: 0,
            raw_bytes: 0,
            compress_min_bytes,
        }
    }

    /// An empty ledger that goes on numbering insertions after `self`'s:
    /// what `clear` installs. A compression started before the clear and
    /// finished after it names its entry by `(slot, id)`; were ids to start
    /// again at 0, a new entry in the same slot could carry the same id and
    /// receive the old entry's compressed bytes.
    pub(crate) fn emptied(&self) -> Self {
        Ledger { next_id: self.next_id, ..Ledger::new(self.compress_min_bytes) }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn compressed_entries(&self) -> usize {
        self.compressed
    }

    /// The slot holding `key`, whose hash is `hash`.
    pub(crate) fn find(&self, hash: u64, key: &K) -> Option<u32> {
        self.index.find(hash, |&slot| self.slots[slot as usize].as_ref().is_some_and(|node| node.key == *key)).copied()
    }

    pub(crate) fn entry(&self, slot: u32) -> Option<Entry<'_, K, V>> {
        let node = self.slots.get(slot as usize)?.as_ref()?;
        let meta = &self.metas[slot as usize];
        Some(Entry {
            key: &node.key,
            stored: &node.stored,
            shape: &meta.shape,
            raw_bytes: meta.raw_bytes,
            expires: meta.expires,
            id: meta.id,
            touched: node.touched,
        })
    }

    fn node(&self, slot: u32) -> &Node<K, V> {
        self.slots[slot as usize].as_ref().expect("linked slots are occupied")
    }

    fn node_mut(&mut self, slot: u32) -> &mut Node<K, V> {
        self.slots[slot as usize].as_mut().expect("linked slots are occupied")
    }

    fn is_current(&self, slot: u32, id: u64) -> bool {
        self.slots.get(slot as usize).is_some_and(Option::is_some) && self.metas[slot as usize].id == id
    }

    /// The entry in `slot` if it is still the insertion `id`.
    pub(crate) fn current(&self, slot: u32, id: u64) -> Option<Entry<'_, K, V>> {
        self.entry(slot).filter(|entry| entry.id == id)
    }

    fn links(&mut self, slot: u32, list: List) -> &mut Links {
        let node = self.node_mut(slot);
        match list {
            List::Lru => &mut node.lru,
            List::Cold => &mut node.cold,
        }
    }

    fn ends(&mut self, list: List) -> &mut Ends {
        match list {
            List::Lru => &mut self.lru,
            List::Cold => &mut self.cold,
        }
    }

    fn push_front(&mut self, slot: u32, list: List) {
        let head = self.ends(list).head;
        *self.links(slot, list) = Links { prev: NIL, next: head };
        if head == NIL {
            self.ends(list).tail = slot;
        } else {
            self.links(head, list).prev = slot;
        }
        self.ends(list).head = slot;
    }

    fn unlink(&mut self, slot: u32, list: List) {
        let Links { prev, next } = *self.links(slot, list);
        if prev == NIL {
            self.ends(list).head = next;
        } else {
            self.links(prev, list).next = next;
        }
        if next == NIL {
            self.ends(list).tail = prev;
        } else {
            self.links(next, list).prev = prev;
        }
        *self.links(slot, list) = UNLINKED;
    }

    /// Whether compression may still shrink the entry in `slot`.
    fn compressible(&self, slot: u32) -> bool {
        let node = self.node(slot);
        matches!(node.stored, Stored::Raw(_))
            && !node.incompressible
            && !node.compressing
            && self.metas[slot as usize].raw_bytes >= self.compress_min_bytes
    }

    /// Puts the entry into the cold list (at the front) or takes it out, as
    /// its state says.
    fn relink_cold(&mut self, slot: u32) {
        let (member, should) = (self.node(slot).in_cold, self.compressible(slot));
        if member {
            self.unlink(slot, List::Cold);
        }
        if should {
            self.push_front(slot, List::Cold);
        }
        self.node_mut(slot).in_cold = should;
    }

    /// Inserts a new entry (the key must not be present) as the most recently
    /// used one; returns its slot.
    pub(crate) fn insert(
        &mut self,
        key: K,
        hash: u64,
        stored: Stored<V>,
        shape: Vec<usize>,
        raw_bytes: usize,
        expires: Option<Duration>,
    ) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        self.stored_bytes += charged(&stored, raw_bytes);
        self.raw_bytes += raw_bytes;
        if matches!(stored, Stored::Raw(_)) {
            self.hot_bytes += raw_bytes;
        } else {
            self.compressed += 1;
        }
        let node = Node {
            key,
            stored,
            lru: UNLINKED,
            cold: UNLINKED,
            touched: id,
            incompressible: false,
            compressing: false,
            in_cold: false,
        };
        let meta = Meta { hash, shape, raw_bytes, expires, id };
        let slot = if let Some(slot) = self.free.pop() {
            self.slots[slot as usize] = Some(node);
            self.metas[slot as usize] = meta;
            slot
        } else {
            self.slots.push(Some(node));
            self.metas.push(meta);
            u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 entries")
        };
        let metas = &self.metas;
        // Rehashing on growth reads the hashes kept beside the entries.
        self.index.insert_unique(hash, slot, |&other| metas[other as usize].hash);
        self.len += 1;
        self.push_front(slot, List::Lru);
        self.relink_cold(slot);
        if let Some(at) = expires {
            self.expiry.push(Reverse((at, id, slot)));
        }
        slot
    }

    /// Removes the entry in `slot` and returns it.
    pub(crate) fn remove(&mut self, slot: u32) -> Removed<K, V> {
        self.unlink(slot, List::Lru);
        if self.node(slot).in_cold {
            self.unlink(slot, List::Cold);
        }
        let node = self.slots[slot as usize].take().expect("removing an occupied slot");
        let meta = std::mem::replace(
            &mut self.metas[slot as usize],
            Meta { hash: 0, shape: Vec::new(), raw_bytes: 0, expires: None, id: u64::MAX },
        );
        if let Ok(found) = self.index.find_entry(meta.hash, |&other| other == slot) {
            found.remove();
        }
        self.free.push(slot);
        self.len -= 1;
        self.stored_bytes -= charged(&node.stored, meta.raw_bytes);
        self.raw_bytes -= meta.raw_bytes;
        if matches!(node.stored, Stored::Raw(_)) {
            self.hot_bytes -= meta.raw_bytes;
        } else {
            self.compressed -= 1;
        }
        if self.expiry.len() > 2 * self.len + 64 {
            self.compact_expiry();
        }
        Removed { node, meta }
    }

    /// Marks a use: most recently used in both lists.
    pub(crate) fn touch(&mut self, slot: u32) {
        let stamp = self.next_id;
        self.next_id += 1;
        if self.lru.head != slot {
            self.unlink(slot, List::Lru);
            self.push_front(slot, List::Lru);
        }
        let node = self.node_mut(slot);
        node.touched = stamp;
        if node.in_cold && self.cold.head != slot {
            self.unlink(slot, List::Cold);
            self.push_front(slot, List::Cold);
        }
    }

    /// The least recently used entry.
    pub(crate) fn lru_tail(&self) -> Option<u32> {
        (self.lru.tail != NIL).then_some(self.lru.tail)
    }

    /// Takes the least recently used compressible entry out of the cold list
    /// and marks it as being compressed; `skip` is never taken.
    pub(crate) fn take_coldest(&mut self, skip: Option<u32>) -> Option<u32> {
        let mut slot = self.cold.tail;
        while slot != NIL && Some(slot) == skip {
            slot = self.node(slot).cold.prev;
        }
        if slot == NIL {
            return None;
        }
        self.unlink(slot, List::Cold);
        let node = self.node_mut(slot);
        node.in_cold = false;
        node.compressing = true;
        Some(slot)
    }

    /// Ends a compression started by [`take_coldest`](Self::take_coldest):
    /// the entry is stored compressed, or marked incompressible, or (when it
    /// was used or replaced meanwhile, `Err` with the unused result) left as
    /// it is. Returns the raw value it no longer holds, or the unused
    /// compressed bytes, for the caller to drop outside the lock (freeing
    /// tens of MB takes milliseconds a hit must not wait for).
    pub(crate) fn finish_compression(
        &mut self,
        slot: u32,
        id: u64,
        touched: u64,
        result: Option<Compressed>,
    ) -> Result<Option<Stored<V>>, Option<Compressed>> {
        if !self.is_current(slot, id) {
            return Err(result);
        }
        let raw_bytes = self.metas[slot as usize].raw_bytes;
        let node = self.node_mut(slot);
        node.compressing = false;
        if node.touched != touched || !matches!(node.stored, Stored::Raw(_)) {
            self.relink_cold(slot);
            return Err(result);
        }
        let Some(compressed) = result else {
            node.incompressible = true;
            self.relink_cold(slot);
            return Ok(None);
        };
        let before = charged(&node.stored, raw_bytes);
        let old = std::mem::replace(&mut node.stored, Stored::Compressed(Arc::new(compressed)));
        let after = charged(&node.stored, raw_bytes);
        self.stored_bytes = self.stored_bytes - before + after;
        self.hot_bytes -= raw_bytes;
        self.compressed += 1;
        self.relink_cold(slot);
        Ok(Some(old))
    }

    /// Stores a decompressed value in place of the entry's compressed bytes.
    /// Returns the compressed bytes, for the caller to drop outside the lock.
    pub(crate) fn install_raw(&mut self, slot: u32, value: Arc<V>) -> Stored<V> {
        let raw_bytes = self.metas[slot as usize].raw_bytes;
        let node = self.node_mut(slot);
        let before = charged(&node.stored, raw_bytes);
        let old = std::mem::replace(&mut node.stored, Stored::Raw(value));
        let after = charged(&node.stored, raw_bytes);
        self.stored_bytes = self.stored_bytes - before + after;
        self.hot_bytes += raw_bytes;
        self.compressed -= 1;
        self.relink_cold(slot);
        old
    }

    /// The entry whose expiry time is earliest, if that time is at or before
    /// `now`.
    pub(crate) fn next_expired(&mut self, now: Duration) -> Option<u32> {
        while let Some(&Reverse((at, id, slot))) = self.expiry.peek() {
            if at > now {
                return None;
            }
            self.expiry.pop();
            if self.is_current(slot, id) {
                return Some(slot);
            }
        }
        None
    }

    fn compact_expiry(&mut self) {
        let (slots, metas) = (&self.slots, &self.metas);
        self.expiry.retain(|Reverse((_, id, slot))| slots[*slot as usize].is_some() && metas[*slot as usize].id == *id);
    }

    /// Every occupied slot with its entry id, least recently used first
    /// (for saving: loading the file in this order restores the order).
    pub(crate) fn snapshot(&self) -> Vec<(u32, u64)> {
        let mut order = Vec::with_capacity(self.len);
        let mut slot = self.lru.tail;
        while slot != NIL {
            order.push((slot, self.metas[slot as usize].id));
            slot = self.node(slot).lru.prev;
        }
        order
    }

    /// Checks every structure against the entries (for tests).
    #[cfg(test)]
    pub(crate) fn check(&self) {
        let occupied: Vec<u32> =
            (0..self.slots.len() as u32).filter(|&slot| self.slots[slot as usize].is_some()).collect();
        let mut stored = 0;
        let mut hot = 0;
        let mut raw = 0;
        for &slot in &occupied {
            let entry = self.entry(slot).expect("occupied");
            stored += entry.stored_bytes();
            raw += entry.raw_bytes;
            if matches!(entry.stored, Stored::Raw(_)) {
                hot += entry.raw_bytes;
            }
            assert_eq!(self.node(slot).in_cold, self.compressible(slot));
        }
        assert_eq!((stored, hot, raw), (self.stored_bytes, self.hot_bytes, self.raw_bytes));
        assert_eq!(occupied.len(), self.len);
        assert_eq!(self.index.len(), self.len);
        for (list, ends) in [(List::Lru, self.lru), (List::Cold, self.cold)] {
            let mut count = 0;
            let mut prev = NIL;
            let mut slot = ends.head;
            while slot != NIL {
                let links = match list {
                    List::Lru => self.node(slot).lru,
                    List::Cold => self.node(slot).cold,
                };
                assert_eq!(links.prev, prev);
                prev = slot;
                slot = links.next;
                count += 1;
            }
            assert_eq!(prev, ends.tail);
            match list {
                List::Lru => assert_eq!(count, self.len),
                List::Cold => {
                    assert_eq!(count, occupied.iter().filter(|&&slot| self.node(slot).in_cold).count());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The race of `clear()` with a compression in flight, step by step: a
    /// job taken before the clear must not land on the entry that takes its
    /// slot after it.
    #[test]
    fn a_compression_from_before_a_clear_never_lands_on_a_new_entry() {
        let mut ledger: Ledger<u32, Vec<u8>> = Ledger::new(0);
        let old_slot = insert(&mut ledger, 1, 1000, None);
        let hot = insert(&mut ledger, 2, 10, None);
        assert_ne!(old_slot, hot);
        let taken = ledger.take_coldest(Some(hot)).expect("the cold entry");
        assert_eq!(taken, old_slot);
        let (id, touched) = { (ledger.entry(taken).unwrap().id, ledger.node(taken).touched) };
        let compressed = crate::codec::compress(&vec![7u8; 1000], 1).expect("compressible");
        // clear(), then another key is stored: it takes the first free slot.
        ledger = ledger.emptied();
        let new_slot = insert(&mut ledger, 3, 1000, None);
        assert_eq!(new_slot, old_slot, "the new entry reuses the slot (the dangerous case)");
        assert!(ledger.finish_compression(taken, id, touched, Some(compressed)).is_err());
        let entry = ledger.entry(new_slot).unwrap();
        assert!(matches!(entry.stored, Stored::Raw(_)), "the new entry keeps its own bytes");
        ledger.check();
    }

    fn raw(len: usize) -> (Stored<Vec<u8>>, Vec<usize>, usize) {
        (Stored::Raw(Arc::new(vec![0; len])), vec![len], len)
    }

    fn hash(key: u32) -> u64 {
        u64::from(key).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    fn insert(ledger: &mut Ledger<u32, Vec<u8>>, key: u32, len: usize, expires: Option<u64>) -> u32 {
        let (stored, shape, raw_bytes) = raw(len);
        ledger.insert(key, hash(key), stored, shape, raw_bytes, expires.map(Duration::from_secs))
    }

    fn lru_keys(ledger: &Ledger<u32, Vec<u8>>) -> Vec<u32> {
        ledger.snapshot().iter().map(|&(slot, _)| *ledger.entry(slot).unwrap().key).collect()
    }

    /// The ledger against a naive model (a vector in LRU order) over random
    /// operations: order, byte counts and every structure stay consistent.
    #[test]
    fn random_operations_match_a_naive_lru() {
        let random = homodyne_testkit::uniform(20_000, 11);
        let mut ledger = Ledger::<u32, Vec<u8>>::new(100);
        let mut model: Vec<u32> = Vec::new(); // least recently used first
        for (step, u) in random.iter().enumerate() {
            let key = (u * 64.0) as u32;
            let found = ledger.find(hash(key), &key);
            assert_eq!(found.is_some(), model.contains(&key));
            match step % 5 {
                0 | 1 => {
                    if let Some(slot) = found {
                        ledger.remove(slot);
                        model.retain(|&k| k != key);
                    }
                    insert(&mut ledger, key, (u * 300.0) as usize, Some(step as u64));
                    model.push(key);
                }
                2 => {
                    if let Some(slot) = found {
                        ledger.touch(slot);
                        model.retain(|&k| k != key);
                        model.push(key);
                    }
                }
                3 => {
                    if let Some(slot) = ledger.lru_tail() {
                        let evicted = *ledger.entry(slot).unwrap().key;
                        ledger.remove(slot);
                        assert_eq!(evicted, model.remove(0));
                    }
                }
                _ => {
                    while let Some(slot) = ledger.next_expired(Duration::from_secs(step as u64 / 2)) {
                        let key = *ledger.entry(slot).unwrap().key;
                        ledger.remove(slot);
                        model.retain(|&k| k != key);
                    }
                }
            }
            if step % 97 == 0 {
                ledger.check();
            }
            assert_eq!(lru_keys(&ledger), model);
        }
        ledger.check();
    }

    #[test]
    fn compression_takes_the_coldest_big_entry_and_drops_results_of_used_ones() {
        let mut ledger = Ledger::<u32, Vec<u8>>::new(100);
        let small = insert(&mut ledger, 1, 10, None);
        let first = insert(&mut ledger, 2, 1000, None);
        let second = insert(&mut ledger, 3, 1000, None);
        assert_eq!(ledger.take_coldest(Some(first)), Some(second));
        assert_eq!(ledger.take_coldest(None), Some(first));
        assert_eq!(ledger.take_coldest(None), None, "the small entry is never a candidate");
        ledger.check();
        // `first` is used while being compressed: its result is dropped and it stays raw.
        let (id, touched) = ledger.entry(first).map(|entry| (entry.id, entry.touched)).unwrap();
        ledger.touch(first);
        let compressed = Compressed { payload: vec![1; 100], shuffled: false, raw_len: 1000, dtype: crate::DType::U8 };
        assert!(ledger.finish_compression(first, id, touched, Some(compressed.clone())).is_err());
        assert!(matches!(ledger.entry(first).unwrap().stored, Stored::Raw(_)));
        // `second` was not: it is stored compressed.
        let (id, touched) = ledger.entry(second).map(|entry| (entry.id, entry.touched)).unwrap();
        let old = ledger.finish_compression(second, id, touched, Some(compressed)).unwrap();
        assert!(matches!(old, Some(Stored::Raw(_))));
        assert_eq!(ledger.stored_bytes, 3 * ENTRY_OVERHEAD_BYTES + 10 + 1000 + 100);
        assert_eq!(ledger.hot_bytes, 1010);
        assert_eq!(ledger.compressed_entries(), 1);
        ledger.check();
        assert_eq!(ledger.take_coldest(None), Some(first));
        let (id, touched) = ledger.entry(first).map(|entry| (entry.id, entry.touched)).unwrap();
        assert!(matches!(ledger.finish_compression(first, id, touched, None), Ok(None)));
        assert!(ledger.node(first).incompressible);
        assert_eq!(ledger.take_coldest(None), None);
        ledger.remove(small);
        ledger.check();
    }
}
