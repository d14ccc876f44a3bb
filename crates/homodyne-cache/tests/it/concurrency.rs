//! Eight threads of mixed operations.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use homodyne_cache::CacheConfig;

use crate::cache;

#[test]
fn eight_threads_keep_the_limits_and_the_counts() {
    let config =
        CacheConfig { max_memory_mb: 2.0, max_entries: 50, compress_min_bytes: 8192, ..CacheConfig::default() };
    let (cache, _, _) = cache::<u32, Vec<f64>>(config);
    let cache = Arc::new(cache);
    let gets = Arc::new(AtomicU64::new(0));
    let sets = Arc::new(AtomicU64::new(0));
    std::thread::scope(|scope| {
        for thread in 0..8u32 {
            let (cache, gets, sets) = (Arc::clone(&cache), Arc::clone(&gets), Arc::clone(&sets));
            scope.spawn(move || {
                let random = homodyne_testkit::uniform(12_500, u64::from(thread));
                for (step, u) in random.iter().enumerate() {
                    let key = (u * 200.0) as u32;
                    match step % 4 {
                        0 => {
                            let len = 100 + (u * 20_000.0) as usize;
                            cache.set(key, vec![f64::from(key); len]).unwrap();
                            sets.fetch_add(1, Ordering::Relaxed);
                        }
                        3 => {
                            cache.remove(&key);
                        }
                        _ => {
                            if let Some(value) = cache.get(&key) {
                                assert!(value.iter().all(|&v| v == f64::from(key)));
                            }
                            gets.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    if step % 1000 == 0 {
                        let stats = cache.stats();
                        assert!(stats.stored_bytes <= config.budget_bytes());
                        assert!(stats.entries <= config.max_entries);
                    }
                }
            });
        }
    });
    let stats = cache.stats();
    assert_eq!(stats.hits + stats.misses, gets.load(Ordering::Relaxed));
    assert_eq!(stats.inserts, sets.load(Ordering::Relaxed));
    assert!(stats.stored_bytes <= config.budget_bytes() && stats.entries <= config.max_entries);
}
