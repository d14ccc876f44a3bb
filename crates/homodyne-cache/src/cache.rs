//! The cache: one mutex around an exact ledger, an LRU order, and per-key
//! single flights for `get_or_insert_with`.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::codec::{Compressed, compress, decompress};
use crate::config::{CacheConfig, Clock, MemoryProbe, SystemClock, SystemMemory};
use crate::value::CacheValue;
use crate::{CacheError, CacheStats};

/// Bytes charged per entry on top of its data (key, bookkeeping, allocator slack).
pub const ENTRY_OVERHEAD_BYTES: usize = 256;

pub(crate) enum Stored<V> {
    Raw(Arc<V>),
    Compressed(Compressed),
}

pub(crate) struct Entry<V> {
    pub(crate) stored: Stored<V>,
    pub(crate) shape: Vec<usize>,
    pub(crate) raw_bytes: usize,
    tick: u64,
    inserted: Duration,
    /// Compression was tried and did not pay; do not try again.
    incompressible: bool,
}

impl<V> Entry<V> {
    fn stored_bytes(&self) -> usize {
        ENTRY_OVERHEAD_BYTES
            + match &self.stored {
                Stored::Raw(_) => self.raw_bytes,
                Stored::Compressed(compressed) => compressed.payload.len(),
            }
    }
}

/// Why an entry left the cache.
#[derive(Clone, Copy)]
enum Cause {
    Size,
    Entries,
    Ttl,
    Pressure,
    Explicit,
}

pub(crate) struct Inner<K, V> {
    pub(crate) entries: HashMap<K, Entry<V>>,
    lru: BTreeMap<u64, K>,
    next_tick: u64,
    stored_bytes: usize,
    hot_bytes: usize,
    raw_bytes: usize,
    under_pressure: bool,
    stats: CacheStats,
}

struct Flight {
    done: Mutex<bool>,
    finished: Condvar,
}

/// What [`MemoryEfficientCache::try_get_or_insert_with`] can fail with.
#[derive(Debug)]
pub enum TryInsertError<E> {
    /// The computation failed; nothing was cached.
    Compute(E),
    /// The value could not be stored.
    Cache(CacheError),
}

impl<E: std::fmt::Display> std::fmt::Display for TryInsertError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TryInsertError::Compute(error) => write!(f, "computation failed: {error}"),
            TryInsertError::Cache(error) => write!(f, "{error}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for TryInsertError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TryInsertError::Compute(error) => Some(error),
            TryInsertError::Cache(error) => Some(error),
        }
    }
}

/// A memory-bounded cache of numeric arrays with LRU and TTL eviction, an
/// entry limit, LZ4 compression of cold entries, and a budget that shrinks
/// under system memory pressure (the design document's `MemoryEfficientCache`).
///
/// The budget and the entry limit are exact: after any call returns, the
/// stored bytes (data plus [`ENTRY_OVERHEAD_BYTES`] per entry) and the number
/// of entries are within them, whatever other threads do.
pub struct MemoryEfficientCache<K, V> {
    config: CacheConfig,
    budget: usize,
    inner: Mutex<Inner<K, V>>,
    flights: Mutex<HashMap<K, Arc<Flight>>>,
    clock: Arc<dyn Clock>,
    probe: Arc<dyn MemoryProbe>,
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
            config,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                lru: BTreeMap::new(),
                next_tick: 0,
                stored_bytes: 0,
                hot_bytes: 0,
                raw_bytes: 0,
                under_pressure: false,
                stats: CacheStats::default(),
            }),
            flights: Mutex::new(HashMap::new()),
            clock,
            probe,
        })
    }

    /// The settings.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        // A panic while holding the lock cannot leave the ledger half-updated
        // in a way that breaks memory safety; keep serving.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores `value` under `key`, replacing any previous value.
    ///
    /// # Errors
    /// [`CacheError::EntryTooLarge`] if the value alone exceeds the budget.
    pub fn set(&self, key: K, value: V) -> Result<(), CacheError> {
        self.set_arc(key, Arc::new(value))
    }

    /// [`set`](Self::set) with a value already shared.
    pub fn set_arc(&self, key: K, value: Arc<V>) -> Result<(), CacheError> {
        let raw_bytes = value.byte_len();
        let shape = value.shape();
        let mut inner = self.lock();
        if raw_bytes + ENTRY_OVERHEAD_BYTES > self.budget {
            inner.stats.rejected_oversize += 1;
            return Err(CacheError::EntryTooLarge { bytes: raw_bytes + ENTRY_OVERHEAD_BYTES, budget: self.budget });
        }
        Self::remove_entry(&mut inner, &key, None);
        let now = self.clock.now();
        let tick = inner.next_tick;
        inner.next_tick += 1;
        let entry = Entry { stored: Stored::Raw(value), shape, raw_bytes, tick, inserted: now, incompressible: false };
        inner.stored_bytes += entry.stored_bytes();
        inner.hot_bytes += raw_bytes;
        inner.raw_bytes += raw_bytes;
        inner.lru.insert(tick, key.clone());
        inner.entries.insert(key, entry);
        inner.stats.inserts += 1;
        self.enforce(&mut inner);
        Ok(())
    }

    /// The value under `key`, if present and not expired. An uncompressed hit
    /// returns the stored `Arc` itself; a compressed one is decompressed and
    /// kept uncompressed, as recently used.
    pub fn get(&self, key: &K) -> Option<Arc<V>> {
        let mut inner = self.lock();
        let now = self.clock.now();
        let expired = match inner.entries.get(key) {
            None => {
                inner.stats.misses += 1;
                return None;
            }
            Some(entry) => self.config.ttl().is_some_and(|ttl| now.saturating_sub(entry.inserted) >= ttl),
        };
        if expired {
            Self::remove_entry(&mut inner, key, Some(Cause::Ttl));
            inner.stats.misses += 1;
            return None;
        }
        let tick = inner.next_tick;
        inner.next_tick += 1;
        let inner = &mut *inner;
        let entry = inner.entries.get_mut(key)?;
        inner.lru.remove(&entry.tick);
        entry.tick = tick;
        inner.lru.insert(tick, key.clone());
        let value = match &entry.stored {
            Stored::Raw(value) => Arc::clone(value),
            Stored::Compressed(compressed) => {
                let started = Instant::now();
                let elements = decompress::<V::Elem>(compressed, entry.raw_bytes / size_of::<V::Elem>().max(1));
                inner.stats.decompress_time += started.elapsed();
                let Some(value) = elements.and_then(|elements| V::from_elements(&entry.shape, elements)) else {
                    // Unreachable for data this process compressed; never return a wrong array.
                    Self::remove_entry(inner, key, Some(Cause::Explicit));
                    inner.stats.misses += 1;
                    return None;
                };
                let value = Arc::new(value);
                let before = entry.stored_bytes();
                entry.stored = Stored::Raw(Arc::clone(&value));
                inner.stored_bytes = inner.stored_bytes - before + entry.stored_bytes();
                inner.hot_bytes += entry.raw_bytes;
                value
            }
        };
        inner.stats.hits += 1;
        self.enforce(inner);
        Some(value)
    }

    /// Whether `key` holds a live (unexpired) value; does not count as a use.
    pub fn contains(&self, key: &K) -> bool {
        let inner = self.lock();
        let now = self.clock.now();
        inner
            .entries
            .get(key)
            .is_some_and(|entry| self.config.ttl().is_none_or(|ttl| now.saturating_sub(entry.inserted) < ttl))
    }

    /// Removes `key`; returns whether it was present.
    pub fn remove(&self, key: &K) -> bool {
        let mut inner = self.lock();
        Self::remove_entry(&mut inner, key, Some(Cause::Explicit))
    }

    /// Removes every entry.
    pub fn clear(&self) {
        let mut inner = self.lock();
        let keys: Vec<K> = inner.entries.keys().cloned().collect();
        for key in keys {
            Self::remove_entry(&mut inner, &key, Some(Cause::Explicit));
        }
    }

    /// Removes the entries whose time to live has passed.
    pub fn purge_expired(&self) {
        let mut inner = self.lock();
        self.purge_expired_locked(&mut inner);
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> CacheStats {
        let inner = self.lock();
        let mut stats = inner.stats.clone();
        stats.entries = inner.entries.len();
        stats.raw_bytes = inner.raw_bytes;
        stats.stored_bytes = inner.stored_bytes;
        stats.compressed_entries =
            inner.entries.values().filter(|entry| matches!(entry.stored, Stored::Compressed(_))).count();
        stats.under_pressure = inner.under_pressure;
        stats
    }

    /// The value under `key`, or the result of `compute`, stored. Concurrent
    /// misses on one key run `compute` once; the others wait for its value.
    ///
    /// # Errors
    /// [`CacheError::EntryTooLarge`] if the computed value exceeds the budget.
    pub fn get_or_insert_with(&self, key: K, compute: impl FnOnce() -> V) -> Result<Arc<V>, CacheError> {
        self.try_get_or_insert_with(key, || Ok::<V, std::convert::Infallible>(compute())).map_err(|error| match error {
            TryInsertError::Cache(error) => error,
            TryInsertError::Compute(never) => match never {},
        })
    }

    /// [`get_or_insert_with`](Self::get_or_insert_with) for a fallible
    /// computation; an error is returned to this caller and not cached (a
    /// waiting caller then computes for itself).
    pub fn try_get_or_insert_with<E>(
        &self,
        key: K,
        compute: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, TryInsertError<E>> {
        loop {
            if let Some(value) = self.get(&key) {
                return Ok(value);
            }
            let mut flights = self.flights.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(flight) = flights.get(&key).cloned() {
                drop(flights);
                let mut done = flight.done.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                while !*done {
                    done = flight.finished.wait(done).unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                continue;
            }
            let flight = Arc::new(Flight { done: Mutex::new(false), finished: Condvar::new() });
            flights.insert(key.clone(), Arc::clone(&flight));
            drop(flights);
            // Whatever happens, release the waiters.
            let finish = FlightGuard { cache_flights: &self.flights, key: key.clone(), flight };
            let result = match compute() {
                Ok(value) => {
                    let value = Arc::new(value);
                    self.set_arc(key, Arc::clone(&value)).map(|()| value).map_err(TryInsertError::Cache)
                }
                Err(error) => Err(TryInsertError::Compute(error)),
            };
            drop(finish);
            return result;
        }
    }

    /// Removes `key` if present, updating the ledger; `cause` is counted.
    fn remove_entry(inner: &mut Inner<K, V>, key: &K, cause: Option<Cause>) -> bool {
        let Some(entry) = inner.entries.remove(key) else { return false };
        inner.lru.remove(&entry.tick);
        inner.stored_bytes -= entry.stored_bytes();
        inner.raw_bytes -= entry.raw_bytes;
        if matches!(entry.stored, Stored::Raw(_)) {
            inner.hot_bytes -= entry.raw_bytes;
        }
        let stats = &mut inner.stats;
        match cause {
            Some(Cause::Size) => stats.evictions_size += 1,
            Some(Cause::Entries) => stats.evictions_entries += 1,
            Some(Cause::Ttl) => stats.evictions_ttl += 1,
            Some(Cause::Pressure) => stats.evictions_pressure += 1,
            Some(Cause::Explicit) => stats.removals_explicit += 1,
            None => {}
        }
        true
    }

    fn purge_expired_locked(&self, inner: &mut Inner<K, V>) {
        let Some(ttl) = self.config.ttl() else { return };
        let now = self.clock.now();
        let expired: Vec<K> = inner
            .entries
            .iter()
            .filter(|(_, entry)| now.saturating_sub(entry.inserted) >= ttl)
            .map(|(key, _)| key.clone())
            .collect();
        for key in expired {
            Self::remove_entry(inner, &key, Some(Cause::Ttl));
        }
    }

    /// Brings the ledger within its limits: purge expired entries, compress
    /// cold ones beyond the hot share, then evict least recently used ones.
    fn enforce(&self, inner: &mut Inner<K, V>) {
        self.purge_expired_locked(inner);
        let pressure = self
            .probe
            .available_fraction()
            .is_some_and(|available| available < self.config.pressure_available_fraction);
        if pressure != inner.under_pressure {
            inner.under_pressure = pressure;
            if pressure {
                inner.stats.pressure_events += 1;
            }
        }
        let target = if pressure { (self.budget as f64 * self.config.pressure_shrink) as usize } else { self.budget };
        let hot_target = (target as f64 * self.config.hot_fraction) as usize;
        if self.config.compression_level > 0 {
            self.compress_cold(inner, |inner| inner.hot_bytes > hot_target || inner.stored_bytes > target);
        }
        while inner.entries.len() > self.config.max_entries {
            Self::evict_oldest(inner, Cause::Entries);
        }
        while inner.stored_bytes > target && !inner.entries.is_empty() {
            let cause = if inner.stored_bytes > self.budget { Cause::Size } else { Cause::Pressure };
            Self::evict_oldest(inner, cause);
        }
    }

    fn evict_oldest(inner: &mut Inner<K, V>, cause: Cause) {
        if let Some(key) = inner.lru.first_key_value().map(|(_, key)| key.clone()) {
            Self::remove_entry(inner, &key, Some(cause));
        }
    }

    /// Compresses uncompressed entries from the least recently used on, while
    /// `needed` says so, skipping small and incompressible ones.
    fn compress_cold(&self, inner: &mut Inner<K, V>, needed: impl Fn(&Inner<K, V>) -> bool) {
        // The most recently used entry stays uncompressed: it was just read or written.
        let n_candidates = inner.lru.len().saturating_sub(1);
        let candidates: Vec<K> = inner.lru.values().take(n_candidates).cloned().collect();
        for key in candidates {
            if !needed(inner) {
                break;
            }
            let Some(entry) = inner.entries.get_mut(&key) else { continue };
            let Stored::Raw(value) = &entry.stored else { continue };
            if entry.incompressible || entry.raw_bytes < self.config.compress_min_bytes {
                continue;
            }
            let started = Instant::now();
            let compressed = compress(&value.elements(), self.config.compression_level);
            inner.stats.compress_time += started.elapsed();
            if let Some(compressed) = compressed {
                let before = entry.stored_bytes();
                entry.stored = Stored::Compressed(compressed);
                let after = entry.stored_bytes();
                inner.stored_bytes = inner.stored_bytes - before + after;
                inner.hot_bytes -= entry.raw_bytes;
                inner.stats.compressions += 1;
            } else {
                entry.incompressible = true;
                inner.stats.stored_raw_incompressible += 1;
            }
        }
    }

    /// Inserts an entry read from disk (already compressed or raw), then
    /// enforces the limits.
    pub(crate) fn insert_loaded(&self, key: K, stored: Stored<V>, shape: Vec<usize>, raw_bytes: usize) -> bool {
        let mut inner = self.lock();
        let entry_bytes = ENTRY_OVERHEAD_BYTES
            + match &stored {
                Stored::Raw(_) => raw_bytes,
                Stored::Compressed(compressed) => compressed.payload.len(),
            };
        if entry_bytes > self.budget {
            inner.stats.rejected_oversize += 1;
            return false;
        }
        Self::remove_entry(&mut inner, &key, None);
        let tick = inner.next_tick;
        inner.next_tick += 1;
        let hot = matches!(stored, Stored::Raw(_));
        let entry = Entry { stored, shape, raw_bytes, tick, inserted: self.clock.now(), incompressible: false };
        inner.stored_bytes += entry.stored_bytes();
        inner.raw_bytes += raw_bytes;
        if hot {
            inner.hot_bytes += raw_bytes;
        }
        inner.lru.insert(tick, key.clone());
        inner.entries.insert(key, entry);
        self.enforce(&mut inner);
        true
    }
}

struct FlightGuard<'a, K: Hash + Eq> {
    cache_flights: &'a Mutex<HashMap<K, Arc<Flight>>>,
    key: K,
    flight: Arc<Flight>,
}

impl<K: Hash + Eq> Drop for FlightGuard<'_, K> {
    fn drop(&mut self) {
        self.cache_flights.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&self.key);
        *self.flight.done.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = true;
        self.flight.finished.notify_all();
    }
}
