//! The cache: one mutex around an O(1) ledger (see `cache/ledger.rs`), codec
//! work outside it, and per-key single flights (`cache/flight.rs`).
//!
//! Every call takes the lock for a bounded amount of bookkeeping: a hash
//! lookup, a few list links, at most a heap pop per expired entry. Work that
//! grows with an entry's size runs without the lock:
//! - compressing cold entries: the calling thread marks them under the lock,
//!   compresses them unlocked, and stores a result only if the entry was not
//!   used or replaced meanwhile;
//! - decompressing a compressed hit;
//! - dropping evicted or replaced values (freeing a large array);
//! - writing and reading files (`persist.rs`).
//!
//! The budget stays exact because nothing enters the ledger without room
//! being made for it in the same critical section: compression only ever
//! shrinks entries, so running it unlocked can only leave more room.

mod flight;
mod ledger;

use std::hash::{BuildHasher, Hash};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hashbrown::DefaultHashBuilder;

use crate::codec::Compressed;
use crate::config::{CacheConfig, Clock, ENTRY_OVERHEAD_BYTES, MemoryProbe, SystemClock, SystemMemory};
use crate::value::CacheValue;
use crate::{CacheError, CacheStats, TryInsertError};
use flight::{Flights, Joined};
pub(crate) use ledger::{Ledger, Stored};

/// At most this many rounds of compression before a store falls back on
/// eviction (each round compresses at least one entry; more rounds are only
/// needed when compression saves less than the room a store asks for).
const MAX_COMPRESSION_ROUNDS: usize = 4;

/// Why an entry left the cache.
#[derive(Clone, Copy)]
enum Cause {
    Size,
    Entries,
    Ttl,
    Pressure,
    Explicit,
}

/// What the lock protects.
pub(crate) struct Inner<K, V> {
    pub(crate) ledger: Ledger<K, V>,
    stats: CacheStats,
    under_pressure: bool,
}

/// Values and entries that left the ledger: dropped by the caller after the
/// lock is released, because freeing a large array takes longer than a hit.
pub(crate) struct Garbage<K, V> {
    entries: Vec<ledger::Removed<K, V>>,
    stored: Vec<Stored<V>>,
    values: Vec<Arc<V>>,
    compressed: Vec<Compressed>,
}

impl<K, V> Default for Garbage<K, V> {
    fn default() -> Self {
        Garbage { entries: Vec::new(), stored: Vec::new(), values: Vec::new(), compressed: Vec::new() }
    }
}

impl<K, V> Garbage<K, V> {
    fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.stored.is_empty() && self.values.is_empty() && self.compressed.is_empty()
    }

    fn append(&mut self, other: &mut Garbage<K, V>) {
        self.entries.append(&mut other.entries);
        self.stored.append(&mut other.stored);
        self.values.append(&mut other.values);
        self.compressed.append(&mut other.compressed);
    }
}

/// A compression to run outside the lock.
struct Job<V> {
    slot: u32,
    id: u64,
    touched: u64,
    value: Arc<V>,
}

/// Room a store needs: raw bytes that become hot, bytes charged against the
/// budget, and the slot it replaces (never compressed for it).
#[derive(Clone, Copy)]
struct Incoming {
    hot: usize,
    stored: usize,
    skip: Option<u32>,
}

/// The budget-shrinking reaction to system memory pressure, read on the
/// cache's clock (at most once per `pressure_check_seconds`), never under the lock.
struct PressureGate {
    next_check_nanos: AtomicU64,
    under: AtomicBool,
}

/// A memory-bounded cache of numeric arrays with LRU and TTL eviction, an
/// entry limit, LZ4 compression of cold entries, and a budget that shrinks
/// under system memory pressure (the design document's `MemoryEfficientCache`).
///
/// The budget and the entry limit are exact: after any call returns, the
/// stored bytes (data plus [`ENTRY_OVERHEAD_BYTES`] per entry) and the number
/// of entries are within them, whatever other threads do.
///
/// Every call costs O(1) in the number of entries (expiry: O(log n)); a raw
/// hit takes the lock for a hash lookup and two list moves. Compression,
/// decompression, freeing evicted values and file IO run outside the lock,
/// so they never delay other callers' hits.
pub struct MemoryEfficientCache<K, V> {
    config: CacheConfig,
    budget: usize,
    ttl: Option<Duration>,
    inner: Mutex<Inner<K, V>>,
    flights: Flights<K>,
    hasher: DefaultHashBuilder,
    clock: Arc<dyn Clock>,
    probe: Arc<dyn MemoryProbe>,
    pressure: PressureGate,
    /// What raw hits and misses removed (expired entries): freed by the
    /// next call that adds bytes (a store, or a compressed hit, which
    /// decompresses anyway) before it adds them, so that a raw hit never
    /// waits for a large array to be freed and buried bytes never push
    /// memory past the budget.
    graveyard: Mutex<Garbage<K, V>>,
}

impl<K: Hash + Eq + Clone + Send, V: CacheValue> MemoryEfficientCache<K, V> {
    /// A cache with the real clock and system memory probe.
    ///
    /// # Errors
    /// [`CacheError::InvalidConfig`] naming the bad field.
    pub fn new(config: CacheConfig) -> Result<Self, CacheError> {
        Self::with_environment(config, Arc::new(SystemClock::default()), Arc::new(SystemMemory::default()))
    }

    /// A cache with an injected clock and memory probe (for tests and simulations).
    pub fn with_environment(
        config: CacheConfig,
        clock: Arc<dyn Clock>,
        probe: Arc<dyn MemoryProbe>,
    ) -> Result<Self, CacheError> {
        config.validate()?;
        Ok(MemoryEfficientCache {
            budget: config.budget_bytes(),
            ttl: config.ttl(),
            inner: Mutex::new(Inner {
                ledger: Ledger::new(config.compress_min_bytes),
                stats: CacheStats::default(),
                under_pressure: false,
            }),
            config,
            flights: Flights::default(),
            hasher: DefaultHashBuilder::default(),
            clock,
            probe,
            pressure: PressureGate { next_check_nanos: AtomicU64::new(0), under: AtomicBool::new(false) },
            graveyard: Mutex::new(Garbage::default()),
        })
    }

    /// The settings.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        // A panic while holding the lock cannot leave the ledger half-updated
        // in a way that breaks memory safety; keep serving.
        self.inner.lock()
    }

    pub(crate) fn now(&self) -> Duration {
        self.clock.now()
    }

    /// Stores `value` under `key`, replacing any previous value.
    ///
    /// # Errors
    /// [`CacheError::EntryTooLarge`] if the value alone exceeds the budget.
    pub fn set(&self, key: K, value: V) -> Result<(), CacheError> {
        self.set_arc(key, Arc::new(value))
    }

    /// [`set`](Self::set) with a value already shared.
    ///
    /// # Errors
    /// [`CacheError::EntryTooLarge`] if the value alone exceeds the budget.
    pub fn set_arc(&self, key: K, value: Arc<V>) -> Result<(), CacheError> {
        let raw_bytes = value.byte_len();
        let shape = value.shape();
        let expires = self.ttl;
        self.store(key, Stored::Raw(value), shape, raw_bytes, expires, true).map(|_| ())
    }

    /// Stores an entry: makes room for it by compressing cold entries
    /// outside the lock, then inserts it and evicts least recently used ones
    /// in one critical section. Returns how many entries were evicted.
    pub(crate) fn store(
        &self,
        key: K,
        stored: Stored<V>,
        shape: Vec<usize>,
        raw_bytes: usize,
        time_to_live: Option<Duration>,
        count_insert: bool,
    ) -> Result<usize, CacheError> {
        let entry_bytes = ENTRY_OVERHEAD_BYTES.saturating_add(match &stored {
            Stored::Raw(_) => raw_bytes,
            Stored::Compressed(compressed) => compressed.len(),
        });
        if entry_bytes > self.budget {
            self.lock().stats.rejected_oversize += 1;
            return Err(CacheError::EntryTooLarge { bytes: entry_bytes, budget: self.budget });
        }
        let hash = self.hasher.hash_one(&key);
        let mut garbage = Garbage::default();
        let mut now = self.now();
        let pressure = self.under_pressure(now);
        let hot = if matches!(stored, Stored::Raw(_)) { raw_bytes } else { 0 };
        if self.compress_for(Incoming { hot, stored: entry_bytes, skip: None }, Some((hash, &key)), pressure) {
            now = self.now();
        }
        let mut inner = self.lock();
        Self::note_pressure(&mut inner, pressure);
        Self::purge_expired_locked(&mut inner, now, &mut garbage);
        if let Some(slot) = inner.ledger.find(hash, &key) {
            garbage.entries.push(inner.ledger.remove(slot));
        }
        let expires = time_to_live.and_then(|ttl| now.checked_add(ttl));
        inner.ledger.insert(key, hash, stored, shape, raw_bytes, expires);
        inner.stats.inserts += u64::from(count_insert);
        let evicted = self.evict_to_limits(&mut inner, pressure, &mut garbage);
        drop(inner);
        drop(garbage);
        self.free_buried();
        Ok(evicted)
    }

    /// Hands what a raw hit or miss removed to the next call that adds bytes (see `graveyard`).
    fn bury(&self, mut garbage: Garbage<K, V>) {
        if !garbage.is_empty() {
            self.graveyard.lock().append(&mut garbage);
        }
    }

    /// Frees what reads removed, outside every lock.
    fn free_buried(&self) {
        let buried = std::mem::take(&mut *self.graveyard.lock());
        drop(buried);
    }

    /// The value under `key`, if present and not expired. An uncompressed hit
    /// returns the stored `Arc` itself; a compressed one is decompressed
    /// (outside the lock) and kept uncompressed, as recently used.
    ///
    /// A read never waits for work on other entries: it compresses nothing.
    /// A raw hit or a miss frees nothing either: the expired entries it
    /// removes are freed by the next store, compressed hit, `purge_expired`
    /// or `clear`. A compressed hit, which decompresses anyway, frees (outside
    /// the lock) what it evicts to keep the value and what earlier reads
    /// left, before its value's bytes count: the budget holds.
    pub fn get(&self, key: &K) -> Option<Arc<V>> {
        self.lookup(key, true)
    }

    /// [`get`](Self::get); `count` says whether the lookup counts in the statistics.
    fn lookup(&self, key: &K, count: bool) -> Option<Arc<V>> {
        let hash = self.hasher.hash_one(key);
        let now = self.now();
        let mut garbage = Garbage::default();
        let mut inner = self.lock();
        Self::purge_expired_locked(&mut inner, now, &mut garbage);
        let Some(slot) = inner.ledger.find(hash, key) else {
            inner.stats.misses += u64::from(count);
            drop(inner);
            self.bury(garbage);
            return None;
        };
        inner.ledger.touch(slot);
        let entry = inner.ledger.entry(slot)?;
        let compressed = match &entry.stored {
            Stored::Raw(value) => {
                let value = Arc::clone(value);
                inner.stats.hits += u64::from(count);
                drop(inner);
                self.bury(garbage);
                return Some(value);
            }
            Stored::Compressed(compressed) => Arc::clone(compressed),
        };
        let (id, shape, raw_bytes) = (entry.id, entry.shape.to_vec(), entry.raw_bytes);
        drop(inner);
        self.bury(garbage);
        self.decompress_hit(slot, id, &compressed, &shape, raw_bytes, count)
    }

    /// The rest of a compressed hit: decompress outside the lock, then keep
    /// the value uncompressed if the entry is still there and room can be
    /// made by evicting others. A hit never compresses other entries (it
    /// would wait for them): when keeping this one raw takes the hot share
    /// above its target, the next store compresses colder entries.
    fn decompress_hit(
        &self,
        slot: u32,
        id: u64,
        compressed: &Compressed,
        shape: &[usize],
        raw_bytes: usize,
        count: bool,
    ) -> Option<Arc<V>> {
        // Bytes buried by earlier reads go before this value's bytes arrive.
        self.free_buried();
        let now = self.now();
        let pressure = self.under_pressure(now);
        let growth = raw_bytes.saturating_sub(compressed.len());
        let started = Instant::now();
        let value = V::decompress(shape, compressed).map(Arc::new);
        let elapsed = started.elapsed();
        let mut garbage = Garbage::default();
        let mut inner = self.lock();
        inner.stats.decompress_time += elapsed;
        let still_compressed =
            inner.ledger.current(slot, id).is_some_and(|entry| matches!(entry.stored, Stored::Compressed(_)));
        let Some(value) = value else {
            // Unreachable for data this process compressed; never return a wrong array.
            if still_compressed {
                garbage.entries.push(inner.ledger.remove(slot));
                Self::count(&mut inner, Cause::Explicit);
            }
            inner.stats.misses += u64::from(count);
            drop(inner);
            drop(garbage);
            return None;
        };
        inner.stats.hits += u64::from(count);
        if still_compressed {
            let target = self.target(pressure);
            // Evict other entries (least recently used first) to make room;
            // the entry itself was just used, so it is the last in line.
            while inner.ledger.stored_bytes + growth > target {
                match inner.ledger.lru_tail() {
                    Some(tail) if tail != slot => self.evict(&mut inner, tail, pressure, &mut garbage),
                    _ => break,
                }
            }
            if inner.ledger.stored_bytes + growth <= target {
                garbage.stored.push(inner.ledger.install_raw(slot, Arc::clone(&value)));
            }
        }
        drop(inner);
        drop(garbage);
        Some(value)
    }

    /// Whether `key` holds a live (unexpired) value; does not count as a use.
    pub fn contains(&self, key: &K) -> bool {
        let hash = self.hasher.hash_one(key);
        let now = self.now();
        let inner = self.lock();
        inner
            .ledger
            .find(hash, key)
            .and_then(|slot| inner.ledger.entry(slot))
            .is_some_and(|entry| entry.expires.is_none_or(|at| at > now))
    }

    /// Removes `key`; returns whether it was present.
    pub fn remove(&self, key: &K) -> bool {
        let hash = self.hasher.hash_one(key);
        let mut garbage = Garbage::default();
        let mut inner = self.lock();
        let Some(slot) = inner.ledger.find(hash, key) else { return false };
        garbage.entries.push(inner.ledger.remove(slot));
        Self::count(&mut inner, Cause::Explicit);
        true
    }

    /// Removes every entry.
    pub fn clear(&self) {
        let mut inner = self.lock();
        let fresh = inner.ledger.emptied();
        let emptied = std::mem::replace(&mut inner.ledger, fresh);
        inner.stats.removals_explicit += emptied.len() as u64;
        drop(inner);
        drop(emptied);
        self.free_buried();
    }

    /// Removes the entries whose time to live has passed. (Every call does
    /// this for the entries that expired since the last one, so calling it
    /// is only needed to release memory while the cache is idle.)
    /// Also frees what reads removed since the last store (see `get`).
    pub fn purge_expired(&self) {
        let now = self.now();
        let mut garbage = Garbage::default();
        let mut inner = self.lock();
        Self::purge_expired_locked(&mut inner, now, &mut garbage);
        drop(inner);
        drop(garbage);
        self.free_buried();
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> CacheStats {
        let now = self.now();
        let mut garbage = Garbage::default();
        let mut inner = self.lock();
        Self::purge_expired_locked(&mut inner, now, &mut garbage);
        let mut stats = inner.stats.clone();
        stats.entries = inner.ledger.len();
        stats.raw_bytes = inner.ledger.raw_bytes;
        stats.stored_bytes = inner.ledger.stored_bytes;
        stats.compressed_entries = inner.ledger.compressed_entries();
        stats.under_pressure = inner.under_pressure;
        drop(inner);
        self.bury(garbage);
        stats
    }

    /// The value under `key`, or the result of `compute`, stored. Concurrent
    /// misses on one key run `compute` once; the others wait for its value.
    ///
    /// If `compute` panics, the panic reaches this caller and the waiting
    /// callers compute for themselves. A `compute` that calls back into the
    /// cache for the same key gets [`CacheError::RecursiveCompute`] instead
    /// of waiting for itself; one that waits for another thread which asks
    /// for the same key would deadlock, so do not do that.
    ///
    /// # Errors
    /// [`CacheError::EntryTooLarge`] if the computed value exceeds the
    /// budget; [`CacheError::RecursiveCompute`].
    pub fn get_or_insert_with(&self, key: K, compute: impl FnOnce() -> V) -> Result<Arc<V>, CacheError> {
        self.try_get_or_insert_with(key, || Ok::<V, std::convert::Infallible>(compute())).map_err(|error| match error {
            TryInsertError::Cache(error) => error,
            TryInsertError::Compute(never) => match never {},
        })
    }

    /// [`get_or_insert_with`](Self::get_or_insert_with) for a fallible
    /// computation; an error is returned to this caller and not cached (a
    /// waiting caller then computes for itself).
    ///
    /// # Errors
    /// [`TryInsertError::Compute`] with the computation's error,
    /// [`TryInsertError::Cache`] as for `get_or_insert_with`.
    pub fn try_get_or_insert_with<E>(
        &self,
        key: K,
        compute: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, TryInsertError<E>> {
        loop {
            if let Some(value) = self.get(&key) {
                return Ok(value);
            }
            let guard = match self.flights.join(&key) {
                Joined::Leader(guard) => guard,
                Joined::Waited => continue,
                Joined::Recursive => return Err(TryInsertError::Cache(CacheError::RecursiveCompute)),
            };
            // A flight that ended between our miss and taking the flight has
            // stored its value: use it rather than computing again.
            if let Some(value) = self.lookup(&key, false) {
                return Ok(value);
            }
            let result = match compute() {
                Ok(value) => {
                    let value = Arc::new(value);
                    self.set_arc(key, Arc::clone(&value)).map(|()| value).map_err(TryInsertError::Cache)
                }
                Err(error) => Err(TryInsertError::Compute(error)),
            };
            drop(guard);
            return result;
        }
    }

    /// The byte target now: the budget, or its shrunken share under pressure.
    fn target(&self, pressure: bool) -> usize {
        if pressure { (self.budget as f64 * self.config.pressure_shrink) as usize } else { self.budget }
    }

    /// Whether the system is short of memory, probing it at most once per
    /// `pressure_check_seconds` of the cache's clock (the probe reads
    /// `/proc`, which costs microseconds: never per call, never under the lock).
    fn under_pressure(&self, now: Duration) -> bool {
        let now_nanos = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        let next = self.pressure.next_check_nanos.load(Ordering::Relaxed);
        if now_nanos >= next {
            let interval = Duration::try_from_secs_f64(self.config.pressure_check_seconds).unwrap_or(Duration::MAX);
            let following = now_nanos.saturating_add(u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX));
            // One thread probes; the others use the last reading.
            if self
                .pressure
                .next_check_nanos
                .compare_exchange(next, following, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                let pressure = self
                    .probe
                    .available_fraction()
                    .is_some_and(|available| available < self.config.pressure_available_fraction);
                self.pressure.under.store(pressure, Ordering::Relaxed);
                return pressure;
            }
        }
        self.pressure.under.load(Ordering::Relaxed)
    }

    fn note_pressure(inner: &mut Inner<K, V>, pressure: bool) {
        if pressure != inner.under_pressure {
            inner.under_pressure = pressure;
            if pressure {
                inner.stats.pressure_events += 1;
            }
        }
    }

    /// Compresses cold entries, outside the lock, until the hot share and the
    /// target leave room for `incoming` (or no candidate is left). Returns
    /// whether any compression ran.
    fn compress_for(&self, incoming: Incoming, replacing: Option<(u64, &K)>, pressure: bool) -> bool {
        if self.config.compression_level == 0 {
            return false;
        }
        let target = self.target(pressure);
        let hot_target = (target as f64 * self.config.hot_fraction) as usize;
        let mut ran = false;
        for _ in 0..MAX_COMPRESSION_ROUNDS {
            let jobs = {
                let mut inner = self.lock();
                let ledger = &mut inner.ledger;
                let replaced = replacing.and_then(|(hash, key)| ledger.find(hash, key));
                // The entry being replaced leaves: its bytes do not need room.
                let (leaving_hot, leaving_stored) =
                    replaced.and_then(|slot| ledger.entry(slot)).map_or((0, 0), |entry| {
                        (if matches!(entry.stored, Stored::Raw(_)) { entry.raw_bytes } else { 0 }, entry.stored_bytes())
                    });
                let need_hot = (ledger.hot_bytes + incoming.hot).saturating_sub(hot_target + leaving_hot);
                let need_room = (ledger.stored_bytes + incoming.stored).saturating_sub(target + leaving_stored);
                let skip = incoming.skip.or(replaced);
                // Compressing n raw bytes saves at most n: pick until that would do.
                let mut jobs = Vec::new();
                let mut picked = 0;
                while picked < need_hot.max(need_room) {
                    let Some(slot) = ledger.take_coldest(skip) else { break };
                    let entry = ledger.entry(slot).expect("a taken slot is occupied");
                    let Stored::Raw(value) = &entry.stored else { unreachable!("cold entries are raw") };
                    picked += entry.raw_bytes;
                    jobs.push(Job { slot, id: entry.id, touched: entry.touched, value: Arc::clone(value) });
                }
                jobs
            };
            if jobs.is_empty() {
                break;
            }
            ran = true;
            let results: Vec<(Option<Compressed>, Duration)> = jobs
                .iter()
                .map(|job| {
                    let started = Instant::now();
                    let compressed = job.value.compress(self.config.compression_level);
                    (compressed, started.elapsed())
                })
                .collect();
            let mut garbage: Garbage<K, V> = Garbage::default();
            let mut inner = self.lock();
            for (job, (result, elapsed)) in jobs.into_iter().zip(results) {
                inner.stats.compress_time += elapsed;
                let compressed = result.is_some();
                match inner.ledger.finish_compression(job.slot, job.id, job.touched, result) {
                    Ok(Some(old)) => {
                        inner.stats.compressions += 1;
                        garbage.stored.push(old);
                    }
                    Ok(None) => inner.stats.stored_raw_incompressible += 1,
                    Err(unused) => {
                        inner.stats.compressions_abandoned += u64::from(compressed);
                        garbage.compressed.extend(unused);
                    }
                }
                garbage.values.push(job.value);
            }
            drop(inner);
            drop(garbage);
        }
        ran
    }

    /// Evicts least recently used entries until the entry limit and the
    /// target hold; returns how many went.
    fn evict_to_limits(&self, inner: &mut Inner<K, V>, pressure: bool, garbage: &mut Garbage<K, V>) -> usize {
        let target = self.target(pressure);
        let mut evicted = 0;
        while inner.ledger.len() > self.config.max_entries {
            let Some(tail) = inner.ledger.lru_tail() else { break };
            garbage.entries.push(inner.ledger.remove(tail));
            Self::count(inner, Cause::Entries);
            evicted += 1;
        }
        while inner.ledger.stored_bytes > target {
            let Some(tail) = inner.ledger.lru_tail() else { break };
            self.evict(inner, tail, pressure, garbage);
            evicted += 1;
        }
        evicted
    }

    /// Evicts one entry for room, counted as a size or a pressure eviction.
    fn evict(&self, inner: &mut Inner<K, V>, slot: u32, pressure: bool, garbage: &mut Garbage<K, V>) {
        let cause = if pressure && inner.ledger.stored_bytes <= self.budget { Cause::Pressure } else { Cause::Size };
        garbage.entries.push(inner.ledger.remove(slot));
        Self::count(inner, cause);
    }

    fn count(inner: &mut Inner<K, V>, cause: Cause) {
        let stats = &mut inner.stats;
        match cause {
            Cause::Size => stats.evictions_size += 1,
            Cause::Entries => stats.evictions_entries += 1,
            Cause::Ttl => stats.evictions_ttl += 1,
            Cause::Pressure => stats.evictions_pressure += 1,
            Cause::Explicit => stats.removals_explicit += 1,
        }
    }

    /// Removes the entries that expired at or before `now`: O(1) when none
    /// did, O(log n) per expired entry.
    fn purge_expired_locked(inner: &mut Inner<K, V>, now: Duration, garbage: &mut Garbage<K, V>) {
        while let Some(slot) = inner.ledger.next_expired(now) {
            garbage.entries.push(inner.ledger.remove(slot));
            Self::count(inner, Cause::Ttl);
        }
    }
}
