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

/// Writers store compressible arrays that push others cold (so compression
/// runs outside the lock, and compressed entries are decompressed on hits)
/// while readers check every value they get; the limits hold at every
/// observation and no read returns a wrong array.
#[test]
fn compression_racing_reads_keeps_values_exact_and_limits_held() {
    let config = CacheConfig {
        max_memory_mb: 6.0,
        max_entries: 40,
        compress_min_bytes: 4096,
        hot_fraction: 0.1,
        ..CacheConfig::default()
    };
    let (cache, _, _) = cache::<u32, Vec<f64>>(config);
    let value =
        |key: u32, len: usize| -> Vec<f64> { (0..len).map(|i| f64::from(key) + (i as f64 * 1e-4).sin()).collect() };
    let lengths: Vec<usize> = (0..64).map(|key| 20_000 + key * 3001).collect();
    let wrong = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for thread in 0..4u32 {
            let (cache, lengths, wrong, value) = (&cache, &lengths, &wrong, &value);
            scope.spawn(move || {
                let random = homodyne_testkit::uniform(3000, u64::from(thread) + 100);
                for (step, u) in random.iter().enumerate() {
                    let key = (u * 64.0) as u32;
                    if thread == 0 && step % 2 == 0 {
                        cache.set(key, value(key, lengths[key as usize])).unwrap();
                    } else if let Some(got) = cache.get(&key)
                        && *got != value(key, lengths[key as usize])
                    {
                        wrong.fetch_add(1, Ordering::Relaxed);
                    }
                    let stats = cache.stats();
                    assert!(stats.stored_bytes <= config.budget_bytes(), "{stats:?}");
                    assert!(stats.entries <= config.max_entries, "{stats:?}");
                }
            });
        }
    });
    assert_eq!(wrong.load(Ordering::Relaxed), 0);
    let stats = cache.stats();
    assert!(stats.compressions > 100, "{stats:?}");
    assert!(stats.decompress_time > std::time::Duration::ZERO, "compressed entries were hit: {stats:?}");
}
