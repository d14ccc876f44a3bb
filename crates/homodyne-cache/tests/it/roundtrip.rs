//! Every value type and shape, compressed and not.

use homodyne_cache::{AnyArray, CacheConfig, CacheValue, DType};
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
    let empty = vec![0; value.shape().len()];
    let filler = V::read_le(value.dtype(), &empty, |_| Ok::<(), ()>(())).unwrap().unwrap();
    cache.set(2, filler).unwrap();
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
        for array in any_arrays(&datasets(20_000)[0].1) {
            check(array, level);
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

/// One array of every dtype, from `data` in [0, 1), shaped (20, 10, n / 200).
pub(crate) fn any_arrays(data: &[f64]) -> Vec<AnyArray> {
    let shape = IxDyn(&[20, 10, data.len() / 200]);
    let n = 20 * 10 * (data.len() / 200);
    let as_array = |values: Vec<f64>| ArrayD::from_shape_vec(shape.clone(), values[..n].to_vec()).unwrap();
    let data = as_array(data.to_vec());
    let arrays = vec![
        AnyArray::from(data.clone()),
        AnyArray::from(data.mapv(|v| v as f32)),
        AnyArray::from(data.mapv(|v| (v * 1e15) as i64 - 500_000_000_000_000)),
        AnyArray::from(data.mapv(|v| (v * 255.0) as u8)),
        AnyArray::from(data.mapv(|v| (v * 4e9) as i64 as i32)),
        AnyArray::from(data.mapv(|v| (v * 65535.0) as u16)),
        AnyArray::from(data.mapv(|v| (v * 4e9) as u32)),
    ];
    let dtypes: Vec<DType> = arrays.iter().map(CacheValue::dtype).collect();
    assert_eq!(dtypes, DType::ALL.to_vec(), "one array per dtype");
    arrays
}

#[test]
fn arrays_of_every_dtype_share_one_cache() {
    let config =
        CacheConfig { max_memory_mb: 64.0, compress_min_bytes: 1024, hot_fraction: 0.0, ..CacheConfig::default() };
    let (cache, _, _) = cache::<u32, AnyArray>(config);
    let (_, smooth) = datasets(20_000).into_iter().find(|(name, _)| *name == "smooth").unwrap();
    let arrays = any_arrays(&smooth);
    for (key, array) in arrays.iter().enumerate() {
        cache.set(key as u32, array.clone()).unwrap();
    }
    // All but the newest are cold: the smooth ones are stored compressed.
    assert!(cache.stats().compressed_entries >= 3, "{:?}", cache.stats());
    for (key, array) in arrays.iter().enumerate() {
        let back = cache.get(&(key as u32)).unwrap();
        assert_eq!((back.dtype(), back.shape()), (array.dtype(), array.shape()));
        assert_eq!(*back, *array);
    }
}
