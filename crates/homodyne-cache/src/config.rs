//! Settings, the clock and the memory probe (both injectable for tests).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::CacheError;

/// Bytes charged per entry on top of its data (key, bookkeeping, allocator slack).
pub const ENTRY_OVERHEAD_BYTES: usize = 256;

/// Settings of a [`MemoryEfficientCache`](crate::MemoryEfficientCache).
///
/// Defaults are the design document's `MemoryEfficientCache(max_memory_mb=500,
/// compression_level=1, ttl_seconds=3600, max_entries=10000)`, plus: arrays
/// from 64 KiB up are compressed when cold, a quarter of the budget stays
/// uncompressed (hot), and below 10% available system memory (read at most
/// four times a second) the budget shrinks to half until memory recovers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CacheConfig {
    /// The byte budget, in MiB: values plus a fixed per-entry overhead.
    pub max_memory_mb: f64,
    /// LZ4 level: 0 off, 1 fast, 2..=12 high compression.
    pub compression_level: u32,
    /// Time to live, in seconds (`f64::INFINITY` for none).
    pub ttl_seconds: f64,
    /// The most entries the cache holds.
    pub max_entries: usize,
    /// Arrays smaller than this many bytes are never compressed.
    pub compress_min_bytes: usize,
    /// Fraction of the budget kept for uncompressed, recently used entries.
    pub hot_fraction: f64,
    /// Below this fraction of available system memory the cache shrinks.
    pub pressure_available_fraction: f64,
    /// The budget under memory pressure, as a fraction of the normal one.
    pub pressure_shrink: f64,
    /// How often, in seconds of the cache's clock, stores read the system's
    /// available memory (reading it costs microseconds, so never per call).
    pub pressure_check_seconds: f64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_memory_mb: 500.0,
            compression_level: 1,
            ttl_seconds: 3600.0,
            max_entries: 10_000,
            compress_min_bytes: 64 * 1024,
            hot_fraction: 0.25,
            pressure_available_fraction: 0.10,
            pressure_shrink: 0.5,
            pressure_check_seconds: 0.25,
        }
    }
}

impl CacheConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), CacheError> {
        let fail = |field, requirement| Err(CacheError::InvalidConfig { field, requirement });
        if !(self.max_memory_mb.is_finite() && self.max_memory_mb > 0.0) {
            return fail("max_memory_mb", "finite and positive");
        }
        if self.compression_level > 12 {
            return fail("compression_level", "between 0 and 12");
        }
        if self.ttl_seconds.is_nan() || self.ttl_seconds <= 0.0 {
            return fail("ttl_seconds", "positive (infinity for no expiry)");
        }
        if self.pressure_check_seconds.is_nan() || self.pressure_check_seconds < 0.0 {
            return fail("pressure_check_seconds", "zero or positive");
        }
        if self.max_entries == 0 {
            return fail("max_entries", "at least 1");
        }
        for (field, value) in [
            ("hot_fraction", self.hot_fraction),
            ("pressure_available_fraction", self.pressure_available_fraction),
            ("pressure_shrink", self.pressure_shrink),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return fail(field, "between 0 and 1");
            }
        }
        Ok(())
    }

    /// The budget in bytes.
    pub fn budget_bytes(&self) -> usize {
        (self.max_memory_mb * 1024.0 * 1024.0) as usize
    }

    /// The time to live; `None` for infinity and for values beyond what a
    /// `Duration` holds (about 5.8e11 years), which mean "never" just as well.
    pub(crate) fn ttl(&self) -> Option<Duration> {
        Duration::try_from_secs_f64(self.ttl_seconds).ok()
    }
}

/// A monotonic clock: time since an arbitrary origin.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Duration;
}

/// The real clock.
#[derive(Debug)]
pub struct SystemClock(Instant);

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock(Instant::now())
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

/// Where the cache learns how much system memory is available.
pub trait MemoryProbe: Send + Sync {
    /// Available memory as a fraction of the total, if known.
    fn available_fraction(&self) -> Option<f64>;
}

/// The system's memory through `sysinfo`; within a container the cgroup
/// limit counts as the total. Every call reads `/proc` (microseconds): the
/// cache calls it at most once per
/// [`pressure_check_seconds`](CacheConfig::pressure_check_seconds).
#[derive(Debug)]
pub struct SystemMemory {
    system: Mutex<sysinfo::System>,
}

impl Default for SystemMemory {
    fn default() -> Self {
        SystemMemory { system: Mutex::new(sysinfo::System::new()) }
    }
}

impl MemoryProbe for SystemMemory {
    fn available_fraction(&self) -> Option<f64> {
        let mut system = self.system.lock().ok()?;
        system.refresh_memory();
        match system.cgroup_limits() {
            Some(limits) if limits.total_memory > 0 => Some(limits.free_memory as f64 / limits.total_memory as f64),
            _ if system.total_memory() > 0 => Some(system.available_memory() as f64 / system.total_memory() as f64),
            _ => None,
        }
    }
}
