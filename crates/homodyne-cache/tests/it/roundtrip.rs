//! Every value type and shape, compressed and not.

use homodyne_cache::{CacheConfig, CacheValue};
use ndarray::{Array1, Array2, Array3, ArrayD, IxDyn};

use crate::{cache, datasets};

/// Stores `value`, pushes it cold with filler so that it is compressed when
/// it can be, and checks that it comes back equal.
fn check<V: CacheValue + PartialEq + Clone + std::fmt::Debug>(value: V, level: u32) {
    let config = CacheConfig {
        max_memory_mb: 64.0,
        compression_level: level,
        compress_min_bytes: 1024,
        hot_fraction: 0.0,
        ..CacheConfig::default()
    };
    let (cache, _, _) = cache::<u32, V>(config);
    cache.set(1, value.clone()).unwrap();
    // A second entry makes the first cold, so it is compressed where it can be.
    cache.set(2, V::from_elements(&vec![0; value.shape().len()], Vec::new()).unwrap()).unwrap();
    let stats = cache.stats();
    if level == 0 {
        assert_eq!(stats.compressions, 0);
    }
    assert_eq!(*cache.get(&1).unwrap(), value);
    assert_eq!(*cache.get(&1).unwrap(), value, "again, now hot");
}

#[test]
fn every_type_and_shape_round_trips() {
    for level in [0, 1, 9] {
        for (_, data) in datasets(20_000) {
            check(data.clone(), level);
            check(Array2::from_shape_vec((100, 200), data.clone()).unwrap(), level);
            check(Array3::from_shape_vec((10, 20, 100), data.clone()).unwrap(), level);
            check(ArrayD::from_shape_vec(IxDyn(&[4, 5, 10, 100]), data.clone()).unwrap(), level);
            check(Array1::from(data.iter().map(|&v| v as f32).collect::<Vec<_>>()), level);
            check(data.iter().map(|&v| (v * 1e6) as i64).collect::<Vec<_>>(), level);
            check(data.iter().map(|&v| (v * 100.0) as u8).collect::<Vec<_>>(), level);
        }
        check(Vec::<f64>::new(), level);
        check(Array2::<f64>::zeros((0, 3)), level);
    }
}

#[test]
fn smooth_data_compresses_and_random_data_stays_raw() {
    let config =
        CacheConfig { max_memory_mb: 64.0, compress_min_bytes: 1024, hot_fraction: 0.0, ..CacheConfig::default() };
    for (name, data) in datasets(200_000) {
        let (cache, _, _) = cache::<u32, Vec<f64>>(config);
        cache.set(1, data.clone()).unwrap();
        // The most recent entry stays uncompressed; a second one makes the first cold.
        cache.set(2, vec![0.0; 10]).unwrap();
        let stats = cache.stats();
        match name {
            "smooth" | "constant" => {
                assert_eq!(stats.compressed_entries, 1, "{name}");
                assert!(stats.compression_ratio() > 1.15, "{name}: {}", stats.compression_ratio());
            }
            "random" => assert_eq!((stats.compressed_entries, stats.stored_raw_incompressible), (0, 1)),
            _ => {}
        }
        assert_eq!(*cache.get(&1).unwrap(), data, "{name}");
    }
}
