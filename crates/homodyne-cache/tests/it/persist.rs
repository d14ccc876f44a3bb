//! Saving and loading, and what damage does.

use homodyne_cache::{AnyArray, CacheConfig, CacheError, CacheValue, MemoryEfficientCache};

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

/// Two threads saving different caches into one directory, again and
/// again: both succeed every time, and the file is always one of the two
/// complete states (a temporary name per call, then an atomic rename).
#[test]
fn concurrent_saves_to_one_directory_leave_one_complete_file() {
    let dir = temp_dir("concurrent-saves");
    let make = |prefix: &str| {
        let cache: MemoryEfficientCache<String, Vec<f64>> = MemoryEfficientCache::new(CacheConfig::default()).unwrap();
        for i in 0..20 {
            cache.set(format!("{prefix}{i}"), vec![f64::from(i); 5000 + i as usize]).unwrap();
        }
        cache
    };
    let (first, second) = (make("a"), make("b"));
    for _ in 0..10 {
        std::thread::scope(|scope| {
            let saves = [scope.spawn(|| first.save_to_dir(&dir)), scope.spawn(|| second.save_to_dir(&dir))];
            for save in saves {
                save.join().unwrap().unwrap();
            }
        });
        let (loaded, report) =
            MemoryEfficientCache::<String, Vec<f64>>::load_from_dir(&dir, CacheConfig::default()).unwrap();
        assert_eq!((report.loaded, report.skipped.len()), (20, 0), "{report:?}");
        let prefix = if loaded.contains(&"a0".to_owned()) { "a" } else { "b" };
        for i in 0..20 {
            assert_eq!(*loaded.get(&format!("{prefix}{i}")).unwrap(), vec![f64::from(i); 5000 + i as usize]);
        }
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert_eq!(leftovers, ["cache.hcache"], "no temporary file is left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// FNV-1a over bytes: the checksum of the header and of version 1's entries,
/// written out here so that the test crafts files independently of the crate.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3))
}

/// A version 1 file with valid checksums, holding the given entry bodies.
fn v1_file(bodies: &[Vec<u8>]) -> Vec<u8> {
    let mut file = b"HOMODYNE-CACHE\0\0".to_vec();
    file.extend_from_slice(&1u32.to_le_bytes());
    file.extend_from_slice(&(bodies.len() as u64).to_le_bytes());
    let header_sum = fnv1a(&file);
    file.extend_from_slice(&header_sum.to_le_bytes());
    for body in bodies {
        file.extend_from_slice(&(body.len() as u64).to_le_bytes());
        file.extend_from_slice(body);
        file.extend_from_slice(&fnv1a(body).to_le_bytes());
    }
    file
}

/// A version 1 entry body: key, f64, shape, raw length, flags, payload.
fn v1_body(key: &str, shape: &[u64], raw_bytes: u64, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut body = (key.len() as u32).to_le_bytes().to_vec();
    body.extend_from_slice(key.as_bytes());
    body.push(1);
    body.extend_from_slice(&(shape.len() as u32).to_le_bytes());
    for length in shape {
        body.extend_from_slice(&length.to_le_bytes());
    }
    body.extend_from_slice(&raw_bytes.to_le_bytes());
    body.push(flags);
    body.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    body.extend_from_slice(payload);
    body
}

/// The file of the issue: 158 bytes declaring one compressed entry of 2^37
/// f64 (1 TiB) with valid checksums. Loading it must not allocate anything
/// near that: the entry is skipped with its reason, and the file's other
/// (genuine) entry loads. Likewise a declared body longer than the file.
#[test]
fn crafted_lengths_are_checked_before_allocating() {
    let dir = temp_dir("crafted");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cache.hcache");
    let mut payload = vec![0u8; 68];
    payload[..4].copy_from_slice(&64u32.to_le_bytes());
    let huge = v1_body("huge", &[1 << 37], 1 << 40, 1, &payload);
    let fine = v1_body("fine", &[2], 16, 0, &[0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0x40]);
    let file = v1_file(std::slice::from_ref(&huge));
    assert_eq!(file.len(), 158, "the issue's file");
    std::fs::write(&path, v1_file(&[huge, fine])).unwrap();
    let (result, peak) = homodyne_testkit::peak_allocation(|| {
        MemoryEfficientCache::<String, Vec<f64>>::load_from_dir(&dir, CacheConfig::default())
    });
    let (loaded, report) = result.unwrap();
    assert!(peak < 1 << 20, "loading a 300-byte file allocated {peak} bytes");
    assert_eq!(report.loaded, 1, "{report:?}");
    assert!(report.skipped[0].contains("larger than the budget"), "{report:?}");
    assert_eq!(*loaded.get(&"fine".to_owned()).unwrap(), vec![1.0, 2.0]);

    // A body length beyond the end of the file: reported, nothing allocated for it.
    let mut file = v1_file(&[v1_body("x", &[1], 8, 0, &[0; 8])]);
    file[36..44].copy_from_slice(&(1u64 << 40).to_le_bytes());
    std::fs::write(&path, &file).unwrap();
    let (result, peak) = homodyne_testkit::peak_allocation(|| {
        MemoryEfficientCache::<String, Vec<f64>>::load_from_dir(&dir, CacheConfig::default())
    });
    let (_, report) = result.unwrap();
    assert!(peak < 1 << 20, "{peak} bytes");
    assert!(report.skipped[0].contains("truncated"), "{report:?}");

    // A raw entry declaring more bytes than its payload, and a shape of 2^32 axes.
    let lying = v1_body("lying", &[1 << 20], 8 << 20, 0, &[0; 64]);
    let mut axes = 1u32.to_le_bytes().to_vec();
    axes.extend_from_slice(&[b'k', 1]);
    axes.extend_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, v1_file(&[lying, axes])).unwrap();
    let (result, peak) = homodyne_testkit::peak_allocation(|| {
        MemoryEfficientCache::<String, Vec<f64>>::load_from_dir(&dir, CacheConfig::default())
    });
    let (_, report) = result.unwrap();
    assert!(peak < 1 << 20, "{peak} bytes");
    assert_eq!((report.loaded, report.skipped.len()), (0, 2), "{report:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Version 1 files written by the previous release still load.
#[test]
fn version_1_files_load() {
    let dir = temp_dir("version-1");
    std::fs::create_dir_all(&dir).unwrap();
    let values = [1.5f64, -2.25, 3.0];
    let payload: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join("cache.hcache"), v1_file(&[v1_body("old", &[3], 24, 0, &payload)])).unwrap();
    let (loaded, report) =
        MemoryEfficientCache::<String, Vec<f64>>::load_from_dir(&dir, CacheConfig::default()).unwrap();
    assert_eq!((report.loaded, report.skipped.len()), (1, 0), "{report:?}");
    assert_eq!(*loaded.get(&"old".to_owned()).unwrap(), values);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Saving streams entry by entry: its extra memory is bounded by buffers,
/// not by the size of the cache (here 16 MiB of raw entries).
#[test]
fn saving_streams_instead_of_copying_the_cache() {
    let dir = temp_dir("streaming");
    let cache: MemoryEfficientCache<u64, Vec<f64>> =
        MemoryEfficientCache::new(CacheConfig { compression_level: 0, ..CacheConfig::default() }).unwrap();
    for key in 0..16 {
        cache.set(key, vec![key as f64; 1 << 17]).unwrap();
    }
    let (saved, peak) = homodyne_testkit::peak_allocation(|| cache.save_to_dir(&dir));
    saved.unwrap();
    assert!(peak < 512 << 10, "saving 16 MiB allocated {peak} bytes at its peak");
    let (loaded, report) = MemoryEfficientCache::<u64, Vec<f64>>::load_from_dir(&dir, CacheConfig::default()).unwrap();
    assert_eq!(report.loaded, 16);
    assert_eq!(*loaded.get(&9).unwrap(), vec![9.0; 1 << 17]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The report says what the budget did: a file of 10 entries loaded into a
/// cache that holds 4 keeps the 4 most recently used and counts 6 evicted.
#[test]
fn the_report_counts_evictions_and_the_order_of_use_survives() {
    let dir = temp_dir("evictions");
    let cache: MemoryEfficientCache<u64, Vec<f64>> = MemoryEfficientCache::new(CacheConfig::default()).unwrap();
    for key in 0..10 {
        cache.set(key, vec![key as f64; 100]).unwrap();
    }
    // Key 0 becomes the most recently used.
    cache.get(&0).unwrap();
    cache.save_to_dir(&dir).unwrap();
    let config = CacheConfig { max_entries: 4, ..CacheConfig::default() };
    let (loaded, report) = MemoryEfficientCache::<u64, Vec<f64>>::load_from_dir(&dir, config).unwrap();
    assert_eq!((report.loaded, report.evicted, report.skipped.len()), (10, 6, 0), "{report:?}");
    let held: Vec<u64> = (0..10).filter(|key| loaded.contains(key)).collect();
    assert_eq!(held, [0, 7, 8, 9]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Expired entries are not saved; the others keep their remaining time to
/// live across save and load.
#[test]
fn time_to_live_survives_saving_and_expired_entries_are_not_saved() {
    let dir = temp_dir("ttl");
    let config = CacheConfig { ttl_seconds: 10.0, ..CacheConfig::default() };
    let (cache, clock, _) = crate::cache::<u64, Vec<f64>>(config);
    cache.set(1, vec![1.0; 10]).unwrap();
    clock.advance(std::time::Duration::from_secs(6));
    cache.set(2, vec![2.0; 10]).unwrap();
    clock.advance(std::time::Duration::from_secs(5));
    // Key 1 expired at t = 10 (not purged yet: nothing ran since); key 2 has 5 s left.
    cache.save_to_dir(&dir).unwrap();

    let (restored, clock, _) = crate::cache::<u64, Vec<f64>>(config);
    let report = restored.extend_from_dir(&dir).unwrap();
    assert_eq!((report.loaded, report.skipped.len()), (1, 0), "{report:?}");
    assert!(!restored.contains(&1));
    clock.advance(std::time::Duration::from_millis(4900));
    assert!(restored.get(&2).is_some(), "5 s were left when it was saved");
    clock.advance(std::time::Duration::from_millis(100));
    assert!(restored.get(&2).is_none(), "and they have passed");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn arrays_of_every_dtype_save_and_load_and_other_caches_skip_them() {
    let dir = temp_dir("any-dtype");
    let config = CacheConfig { compress_min_bytes: 1024, hot_fraction: 0.0, ..CacheConfig::default() };
    let cache: MemoryEfficientCache<String, AnyArray> = MemoryEfficientCache::new(config).unwrap();
    let (_, smooth) = datasets(20_000).into_iter().find(|(name, _)| *name == "smooth").unwrap();
    let arrays = crate::roundtrip::any_arrays(&smooth);
    for (index, array) in arrays.iter().enumerate() {
        cache.set(format!("array {index}"), array.clone()).unwrap();
    }
    assert!(cache.stats().compressed_entries >= 3, "compressed entries are saved too");
    cache.save_to_dir(&dir).unwrap();

    let (loaded, report) =
        MemoryEfficientCache::<String, AnyArray>::load_from_dir(&dir, CacheConfig::default()).unwrap();
    assert_eq!((report.loaded, report.skipped.len()), (arrays.len(), 0), "{report:?}");
    for (index, array) in arrays.iter().enumerate() {
        assert_eq!(*loaded.get(&format!("array {index}")).unwrap(), *array, "{:?}", array.dtype());
    }

    // A cache of f64 vectors takes the one 1-D f64 array... of which there is none: all skipped, by name.
    let (_, report) = MemoryEfficientCache::<String, Vec<f64>>::load_from_dir(&dir, CacheConfig::default()).unwrap();
    assert_eq!(report.loaded, 0);
    assert_eq!(report.skipped.len(), arrays.len());
    assert!(report.skipped.iter().any(|reason| reason.contains("uint16 with 3 axes")), "{report:?}");
    // A cache of 3-D u16 arrays takes exactly its one.
    let (loaded, report) =
        MemoryEfficientCache::<String, ndarray::Array3<u16>>::load_from_dir(&dir, CacheConfig::default()).unwrap();
    assert_eq!(report.loaded, 1, "{report:?}");
    assert_eq!(AnyArray::from((*loaded.get(&"array 5".to_owned()).unwrap()).clone().into_dyn()), arrays[5]);
    std::fs::remove_dir_all(&dir).unwrap();
}
