//! The ledger against a model: random operation sequences.

use std::collections::HashMap;

use homodyne_cache::CacheConfig;
use proptest::prelude::*;

use crate::cache;

#[derive(Debug, Clone)]
enum Op {
    Set(u8, usize, u8),
    Get(u8),
    Remove(u8),
    Advance(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..12, 0usize..40_000, any::<u8>()).prop_map(|(key, len, fill)| Op::Set(key, len, fill)),
        4 => (0u8..12).prop_map(Op::Get),
        1 => (0u8..12).prop_map(Op::Remove),
        1 => (0u8..4).prop_map(Op::Advance),
    ]
}

fn value(len: usize, fill: u8) -> Vec<f64> {
    // Smooth but distinct per (len, fill): compressible, so compression runs.
    (0..len).map(|i| f64::from(fill) + (i as f64 * 1e-3).sin()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn limits_hold_and_gets_return_what_was_set(ops in prop::collection::vec(op(), 1..120)) {
        let config = CacheConfig {
            max_memory_mb: 0.6,
            max_entries: 6,
            ttl_seconds: 5.0,
            compress_min_bytes: 4096,
            hot_fraction: 0.2,
            ..CacheConfig::default()
        };
        let (cache, clock, _) = cache::<u8, Vec<f64>>(config);
        let mut model: HashMap<u8, (usize, u8)> = HashMap::new();
        for op in ops {
            match op {
                Op::Set(key, len, fill) => match cache.set(key, value(len, fill)) {
                    Ok(()) => { model.insert(key, (len, fill)); }
                    Err(_) => { prop_assert!(len * 8 + homodyne_cache::ENTRY_OVERHEAD_BYTES > config.budget_bytes()); }
                },
                Op::Get(key) => {
                    if let Some(got) = cache.get(&key) {
                        let (len, fill) = model[&key];
                        prop_assert_eq!(&*got, &value(len, fill));
                    }
                }
                Op::Remove(key) => { cache.remove(&key); model.remove(&key); }
                Op::Advance(seconds) => clock.advance(std::time::Duration::from_secs(u64::from(seconds))),
            }
            let stats = cache.stats();
            prop_assert!(stats.stored_bytes <= config.budget_bytes());
            prop_assert!(stats.entries <= config.max_entries);
        }
    }
}
