//! Saving and loading, and what damage does.

use homodyne_cache::{CacheConfig, CacheError, MemoryEfficientCache};

use crate::datasets;

fn saved_cache(dir: &std::path::Path) -> std::path::PathBuf {
    let config = CacheConfig { compress_min_bytes: 1024, hot_fraction: 0.0, ..CacheConfig::default() };
    let cache: MemoryEfficientCache<String, Vec<f64>> = MemoryEfficientCache::new(config).unwrap();
    for (name, data) in datasets(50_000) {
        cache.set(name.to_owned(), data).unwrap();
    }
    cache.save_to_dir(dir).unwrap()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("homodyne-cache-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn save_then_load_gives_the_same_arrays() {
    let dir = temp_dir("roundtrip");
    saved_cache(&dir);
    let (loaded, report) =
        MemoryEfficientCache::<String, Vec<f64>>::load_from_dir(&dir, CacheConfig::default()).unwrap();
    assert_eq!((report.loaded, report.skipped.len()), (4, 0));
    for (name, data) in datasets(50_000) {
        assert_eq!(*loaded.get(&name.to_owned()).unwrap(), data, "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damage_is_reported_and_never_returned() {
    let dir = temp_dir("damage");
    let path = saved_cache(&dir);
    let original = std::fs::read(&path).unwrap();

    // A byte flipped in every possible entry region: that entry is skipped, the others load.
    let mut flipped = original.clone();
    let middle = original.len() / 2;
    flipped[middle] ^= 0x40;
    std::fs::write(&path, &flipped).unwrap();
    let (loaded, report) =
        MemoryEfficientCache::<String, Vec<f64>>::load_from_dir(&dir, CacheConfig::default()).unwrap();
    assert_eq!(report.skipped.len(), 1, "{report:?}");
    assert_eq!(report.loaded, 3);
    for (name, data) in datasets(50_000) {
        if let Some(value) = loaded.get(&name.to_owned()) {
            assert_eq!(*value, data, "{name}: a damaged entry was returned");
        }
    }

    // Truncated: the entries before the cut load.
    std::fs::write(&path, &original[..original.len() - 100]).unwrap();
    let (_, report) = MemoryEfficientCache::<String, Vec<f64>>::load_from_dir(&dir, CacheConfig::default()).unwrap();
    assert!(report.skipped.iter().any(|reason| reason.contains("truncated")), "{report:?}");

    // A damaged header is an error naming the file.
    let mut header = original.clone();
    header[20] ^= 1;
    std::fs::write(&path, &header).unwrap();
    let error = MemoryEfficientCache::<String, Vec<f64>>::load_from_dir(&dir, CacheConfig::default()).err().unwrap();
    assert!(matches!(error, CacheError::CorruptFile { .. }), "{error}");
    assert!(error.to_string().contains("cache.hcache"));

    // Not a cache file at all, and a missing one.
    std::fs::write(&path, b"hello").unwrap();
    assert!(matches!(
        MemoryEfficientCache::<String, Vec<f64>>::load_from_dir(&dir, CacheConfig::default()),
        Err(CacheError::CorruptFile { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(
        MemoryEfficientCache::<String, Vec<f64>>::load_from_dir(&dir, CacheConfig::default()),
        Err(CacheError::Io { .. })
    ));
}
