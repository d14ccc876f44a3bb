//! The counters of a cache.

use std::time::Duration;

/// A snapshot of a cache's counters and ledger.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CacheStats {
    /// Lookups that returned a value.
    pub hits: u64,
    /// Lookups that found nothing (or an expired entry).
    pub misses: u64,
    /// Values stored by `set` and `get_or_insert_with`.
    pub inserts: u64,
    /// Entries evicted to keep the byte budget.
    pub evictions_size: u64,
    /// Entries evicted to keep the entry limit.
    pub evictions_entries: u64,
    /// Entries removed because their time to live passed.
    pub evictions_ttl: u64,
    /// Entries evicted because the budget shrank under memory pressure.
    pub evictions_pressure: u64,
    /// Entries removed by `remove` or `clear`.
    pub removals_explicit: u64,
    /// Values rejected because they alone exceed the budget.
    pub rejected_oversize: u64,
    /// Times the cache entered memory pressure.
    pub pressure_events: u64,
    /// Whether the cache is under memory pressure now.
    pub under_pressure: bool,
    /// Entries compressed when they went cold.
    pub compressions: u64,
    /// Compressions whose result was dropped because the entry was used,
    /// replaced or removed while it was being compressed (outside the lock).
    pub compressions_abandoned: u64,
    /// Entries left uncompressed because compression would not pay (ratio below 1.15).
    pub stored_raw_incompressible: u64,
    /// Entries held now.
    pub entries: usize,
    /// Entries held compressed now.
    pub compressed_entries: usize,
    /// Uncompressed size of the held values, in bytes.
    pub raw_bytes: usize,
    /// Bytes charged against the budget now (stored data plus per-entry overhead).
    pub stored_bytes: usize,
    /// Time spent compressing.
    pub compress_time: Duration,
    /// Time spent decompressing.
    pub decompress_time: Duration,
}

impl CacheStats {
    /// `hits / (hits + misses)`, 0 before the first lookup.
    pub fn hit_rate(&self) -> f64 {
        let lookups = self.hits + self.misses;
        if lookups == 0 { 0.0 } else { self.hits as f64 / lookups as f64 }
    }

    /// Raw bytes per stored byte (excluding the per-entry overhead), 1 when empty.
    pub fn compression_ratio(&self) -> f64 {
        let overhead = self.entries * crate::config::ENTRY_OVERHEAD_BYTES;
        let stored = self.stored_bytes.saturating_sub(overhead);
        if stored == 0 { 1.0 } else { self.raw_bytes as f64 / stored as f64 }
    }
}
