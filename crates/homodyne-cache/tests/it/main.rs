//! Integration tests of `homodyne-cache`.

mod behaviour;
mod concurrency;
mod ledger;
mod memory;
mod persist;
mod roundtrip;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use homodyne_cache::{CacheConfig, Clock, MemoryEfficientCache, MemoryProbe};

/// A clock the test moves by hand.
#[derive(Default)]
pub(crate) struct ManualClock(Mutex<Duration>);

impl ManualClock {
    pub(crate) fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        *self.0.lock().unwrap()
    }
}

/// A memory reading the test sets by hand.
pub(crate) struct FakeMemory(Mutex<Option<f64>>);

impl FakeMemory {
    pub(crate) fn new(available: f64) -> FakeMemory {
        FakeMemory(Mutex::new(Some(available)))
    }

    pub(crate) fn set(&self, available: f64) {
        *self.0.lock().unwrap() = Some(available);
    }
}

impl MemoryProbe for FakeMemory {
    fn available_fraction(&self) -> Option<f64> {
        *self.0.lock().unwrap()
    }
}

/// A cache with a manual clock and plenty of (fake) system memory.
pub(crate) fn cache<K: std::hash::Hash + Eq + Clone + Send, V: homodyne_cache::CacheValue>(
    config: CacheConfig,
) -> (MemoryEfficientCache<K, V>, Arc<ManualClock>, Arc<FakeMemory>) {
    let clock = Arc::new(ManualClock::default());
    let memory = Arc::new(FakeMemory::new(0.9));
    let cache = MemoryEfficientCache::with_environment(config, clock.clone(), memory.clone()).unwrap();
    (cache, clock, memory)
}

/// Smooth, noisy, constant and random f64 data of length `n`.
pub(crate) fn datasets(n: usize) -> Vec<(&'static str, Vec<f64>)> {
    let noise = homodyne_testkit::uniform(n, 5);
    vec![
        ("smooth", (0..n).map(|i| 1.0 + 0.3 * (-(i as f64) / 5000.0).exp()).collect()),
        ("noisy", (0..n).map(|i| 1.0 + 0.3 * (-(i as f64) / 5000.0).exp() + 1e-3 * noise[i]).collect()),
        ("constant", vec![1.25; n]),
        ("random", noise.iter().map(|u| f64::from_bits(u.to_bits() ^ 0x5555_5555_5555_5555)).collect()),
    ]
}
