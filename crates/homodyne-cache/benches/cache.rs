//! Cache benchmarks at the sizes users run: hits with 1 to 100,000 entries
//! held and a mixed workload on 1 and 2 threads, each beside moka 0.12 (the
//! design's cache) on the same keys and values; sets, memoisation, compressed
//! hits and the codec's throughput.
//!
//! `cargo bench -p homodyne-cache`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use divan::Bencher;
use homodyne_cache::{CacheConfig, ENTRY_OVERHEAD_BYTES, MemoryEfficientCache, compress, decompress};

fn main() {
    divan::main();
}

/// A smooth decaying curve (like a correlation function) of `n` doubles.
fn smooth(n: usize) -> Vec<f64> {
    (0..n).map(|i| 1.0 + 0.3 * (-(i as f64) / (n as f64 / 8.0)).exp()).collect()
}

/// The smooth curve plus measurement noise of amplitude 1e-3.
fn noisy(n: usize) -> Vec<f64> {
    let noise = homodyne_testkit::uniform(n, 3);
    smooth(n).iter().zip(noise).map(|(v, u)| v + 1e-3 * (u - 0.5)).collect()
}

const KB: usize = 1 << 10;
const MB: usize = 1 << 20;

fn cache(hot_fraction: f64) -> MemoryEfficientCache<u64, Vec<f64>> {
    MemoryEfficientCache::new(CacheConfig { max_memory_mb: 512.0, hot_fraction, ..CacheConfig::default() })
        .expect("valid")
}

/// moka configured as the design's cache: the default byte budget (each value
/// weighed as its bytes plus our per-entry overhead), time to live and (as
/// moka's entry count) nothing else.
fn moka_cache(capacity_bytes: usize) -> moka::sync::Cache<u64, Arc<Vec<f64>>> {
    moka::sync::Cache::builder()
        .max_capacity(capacity_bytes as u64)
        .weigher(|_, value: &Arc<Vec<f64>>| u32::try_from(value.len() * 8 + ENTRY_OVERHEAD_BYTES).unwrap_or(u32::MAX))
        .time_to_live(std::time::Duration::from_secs(3600))
        .build()
}

/// Raw hits with 1, 100, 10,000 (the default entry limit) and 100,000
/// entries held: arrays of 1 MiB up to 100 entries, of 1 KiB beyond; ours
/// and moka's read the same keys in the same order, in two patterns:
/// - `hot`: the 64 most recently stored keys in turn, so that what a hit
///   reads is in the CPU's caches: the cost of the cache's own work, which
///   must not grow with the number of entries held;
/// - `uniform`: every key once in a shuffled order, so that each hit reads
///   index, entry and the value's reference count from main memory: at
///   10,000 and 100,000 entries this measures the memory system (one
///   dependent read from a 64–256 MiB working set takes 190–230 ns on this
///   machine, and a hit needs at least three: index, entry, reference count).
#[divan::bench_group]
mod hit {
    use super::{Arc, Bencher, CacheConfig, KB, MB, MemoryEfficientCache, moka_cache, smooth};

    const ENTRIES: [usize; 4] = [1, 100, 10_000, 100_000];
    const HOT_KEYS: usize = 64;

    fn values(entries: usize) -> Vec<Arc<Vec<f64>>> {
        let bytes = if entries <= 100 { MB } else { KB };
        (0..entries).map(|_| Arc::new(smooth(bytes / 8))).collect()
    }

    /// The keys a pattern reads, in order: the last `HOT_KEYS` stored, or
    /// every key once, shuffled.
    fn order(entries: usize, hot: bool) -> Vec<u64> {
        if hot {
            return (entries.saturating_sub(HOT_KEYS)..entries).map(|key| key as u64).collect();
        }
        let mut keys: Vec<u64> = (0..entries as u64).collect();
        let random = homodyne_testkit::uniform(entries, 17);
        for i in (1..entries).rev() {
            keys.swap(i, (random[i] * (i + 1) as f64) as usize);
        }
        keys
    }

    fn ours(bencher: Bencher<'_, '_>, entries: usize, hot: bool) {
        let config = CacheConfig { max_entries: entries.max(10_000), ..CacheConfig::default() };
        let cache: MemoryEfficientCache<u64, Vec<f64>> = MemoryEfficientCache::new(config).expect("valid");
        for (key, value) in values(entries).into_iter().enumerate() {
            cache.set_arc(key as u64, value).expect("fits");
        }
        assert_eq!(cache.stats().entries, entries);
        let keys = order(entries, hot);
        let mut next = 0;
        bencher.bench_local(|| {
            next = if next + 1 == keys.len() { 0 } else { next + 1 };
            cache.get(divan::black_box(&keys[next]))
        });
    }

    fn moka(bencher: Bencher<'_, '_>, entries: usize, hot: bool) {
        let cache = moka_cache(CacheConfig::default().budget_bytes());
        for (key, value) in values(entries).into_iter().enumerate() {
            cache.insert(key as u64, value);
        }
        cache.run_pending_tasks();
        assert_eq!(cache.entry_count(), entries as u64);
        let keys = order(entries, hot);
        let mut next = 0;
        bencher.bench_local(|| {
            next = if next + 1 == keys.len() { 0 } else { next + 1 };
            cache.get(divan::black_box(&keys[next]))
        });
    }

    #[divan::bench(args = ENTRIES)]
    fn hot_homodyne_cache(bencher: Bencher<'_, '_>, entries: usize) {
        ours(bencher, entries, true);
    }

    #[divan::bench(args = ENTRIES)]
    fn hot_moka(bencher: Bencher<'_, '_>, entries: usize) {
        moka(bencher, entries, true);
    }

    #[divan::bench(args = ENTRIES)]
    fn uniform_homodyne_cache(bencher: Bencher<'_, '_>, entries: usize) {
        ours(bencher, entries, false);
    }

    #[divan::bench(args = ENTRIES)]
    fn uniform_moka(bencher: Bencher<'_, '_>, entries: usize) {
        moka(bencher, entries, false);
    }

    /// The floor under any cache that hands out `Arc`s: the same values in
    /// a plain `Vec` indexed by key, read in the same order (one reference
    /// count increment per hit, no index, no bookkeeping, no lock).
    #[divan::bench(args = ENTRIES)]
    fn uniform_floor_vec_of_arcs(bencher: Bencher<'_, '_>, entries: usize) {
        let values = values(entries);
        let keys = order(entries, false);
        let mut next = 0;
        bencher.bench_local(|| {
            next = if next + 1 == keys.len() { 0 } else { next + 1 };
            Arc::clone(&values[divan::black_box(keys[next]) as usize])
        });
    }
}

/// 80% gets and 20% sets over 10,000 keys of Zipf-like popularity (the k-th
/// most popular key is asked for in proportion to 1/k), values of 1 KiB, on
/// 1 and 2 threads; each iteration is 1,000 operations (divan's item/s is
/// operations per second per thread).
#[divan::bench_group]
mod mixed {
    use super::{Arc, AtomicUsize, Bencher, CacheConfig, KB, MemoryEfficientCache, Ordering, moka_cache, smooth};

    const KEYS: usize = 10_000;
    const BATCH: usize = 1000;

    /// (key, is a set) for each operation.
    struct Workload {
        ops: Vec<(u64, bool)>,
        next: AtomicUsize,
        value: Arc<Vec<f64>>,
    }

    impl Workload {
        fn new() -> Self {
            let weights: Vec<f64> = (1..=KEYS).map(|rank| 1.0 / rank as f64).collect();
            let total: f64 = weights.iter().sum();
            let mut cdf = Vec::with_capacity(KEYS);
            let mut running = 0.0;
            for weight in weights {
                running += weight / total;
                cdf.push(running);
            }
            let draws = homodyne_testkit::uniform(2 * 1_000_000, 23);
            let ops = draws
                .chunks_exact(2)
                .map(|pair| {
                    let rank = cdf.partition_point(|&c| c < pair[0]).min(KEYS - 1);
                    // Scatter the popular keys over the key space.
                    ((rank as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20, pair[1] < 0.2)
                })
                .collect();
            Workload { ops, next: AtomicUsize::new(0), value: Arc::new(smooth(KB / 8)) }
        }

        fn batch(&self) -> &[(u64, bool)] {
            let start = self.next.fetch_add(BATCH, Ordering::Relaxed) % (self.ops.len() - BATCH);
            &self.ops[start..start + BATCH]
        }

        fn keys() -> impl Iterator<Item = u64> {
            (0..KEYS as u64).map(|rank| rank.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20)
        }
    }

    #[divan::bench(threads = [1, 2])]
    fn homodyne_cache(bencher: Bencher<'_, '_>) {
        let workload = Workload::new();
        let cache: MemoryEfficientCache<u64, Vec<f64>> =
            MemoryEfficientCache::new(CacheConfig::default()).expect("valid");
        for key in Workload::keys() {
            cache.set_arc(key, Arc::clone(&workload.value)).expect("fits");
        }
        bencher.counter(divan::counter::ItemsCount::new(BATCH)).bench(|| {
            let mut hits = 0usize;
            for &(key, is_set) in workload.batch() {
                if is_set {
                    cache.set_arc(key, Arc::clone(&workload.value)).expect("fits");
                } else {
                    hits += usize::from(cache.get(&key).is_some());
                }
            }
            hits
        });
    }

    #[divan::bench(threads = [1, 2])]
    fn moka(bencher: Bencher<'_, '_>) {
        let workload = Workload::new();
        let cache = moka_cache(CacheConfig::default().budget_bytes());
        for key in Workload::keys() {
            cache.insert(key, Arc::clone(&workload.value));
        }
        cache.run_pending_tasks();
        bencher.counter(divan::counter::ItemsCount::new(BATCH)).bench(|| {
            let mut hits = 0usize;
            for &(key, is_set) in workload.batch() {
                if is_set {
                    cache.insert(key, Arc::clone(&workload.value));
                } else {
                    hits += usize::from(cache.get(&key).is_some());
                }
            }
            hits
        });
    }
}

/// Two compressed entries read in turn: each get decompresses one and
/// recompresses the other (the most recent entry stays hot).
#[divan::bench(args = [MB, 8 * MB])]
fn get_hit_compressed(bencher: Bencher<'_, '_>, bytes: usize) {
    let cache = cache(0.0);
    cache.set(1, smooth(bytes / 8)).expect("fits");
    cache.set(2, smooth(bytes / 8)).expect("fits");
    let mut key = 0u64;
    bencher.counter(divan::counter::BytesCount::new(bytes)).bench_local(|| {
        key = 1 + (key % 2);
        cache.get(divan::black_box(&key))
    });
}

/// Replacing one of 64 entries of 1 MiB (raw: the hot share holds them all).
#[divan::bench(args = [MB])]
fn set(bencher: Bencher<'_, '_>, bytes: usize) {
    let cache = cache(1.0);
    let value = Arc::new(smooth(bytes / 8));
    let mut key = 0u64;
    bencher.bench_local(|| {
        key += 1;
        cache.set_arc(key % 64, Arc::clone(&value))
    });
}

#[divan::bench]
fn get_or_insert_with_hit(bencher: Bencher<'_, '_>) {
    let cache = cache(1.0);
    cache.set(7, smooth(1000)).expect("fits");
    bencher.bench_local(|| cache.get_or_insert_with(divan::black_box(7), || smooth(1000)));
}

#[divan::bench_group]
mod codec {
    use super::{Bencher, MB, compress, decompress, noisy, smooth};

    #[divan::bench(args = ["smooth", "noisy"])]
    fn compress_8mb(bencher: Bencher<'_, '_>, data: &str) {
        let values = if data == "smooth" { smooth(MB) } else { noisy(MB) };
        bencher.counter(divan::counter::BytesCount::new(8 * MB)).bench_local(|| compress(divan::black_box(&values), 1));
    }

    #[divan::bench(args = ["smooth", "noisy"])]
    fn decompress_8mb(bencher: Bencher<'_, '_>, data: &str) {
        let values = if data == "smooth" { smooth(MB) } else { noisy(MB) };
        let Some(compressed) = compress(&values, 1) else { return };
        bencher
            .counter(divan::counter::BytesCount::new(8 * MB))
            .bench_local(|| decompress::<f64>(divan::black_box(&compressed), MB));
    }

    /// Compress then decompress 1 and 8 MiB of noisy data: what `cargo xtask
    /// compare` times against `lz4.frame` (and what a cold entry costs on
    /// its way out and back).
    #[divan::bench(args = [MB, 8 * MB])]
    fn round_trip_noisy(bencher: Bencher<'_, '_>, bytes: usize) {
        let n = bytes / 8;
        let values = noisy(n);
        bencher.counter(divan::counter::BytesCount::new(bytes)).bench_local(|| {
            let compressed = compress(divan::black_box(&values), 1)?;
            decompress::<f64>(&compressed, n)
        });
    }
}

/// One raw hit on a small entry while eight threads store 64 MiB arrays
/// into a 512 MiB cache (ours compresses the colder ones in the storing
/// threads; moka evicts them), each sample one call: the `slowest` column is
/// the worst hit of the run. The storing threads run at the lowest priority
/// (`homodyne_testkit::BackgroundLoad`), so that what a hit waits for is the
/// cache, not the scheduler giving its core away; `examples/latency.rs`
/// prints the percentiles (p99.9 and the maximum) of the same setup.
#[divan::bench_group(sample_count = 20_000, sample_size = 1)]
mod hit_under_compression {
    use super::{Arc, Bencher, MB, cache, moka_cache, smooth};
    use homodyne_testkit::BackgroundLoad;

    /// 64 MiB of smooth data per store: compressible, tens of ms to compress.
    fn big() -> Arc<Vec<f64>> {
        Arc::new(smooth(8 * MB / 8))
    }

    #[divan::bench]
    fn ours(bencher: Bencher<'_, '_>) {
        let cache = Arc::new(cache(0.25));
        cache.set(0, vec![1.0; 128]).expect("fits");
        let big = big();
        let load = {
            let cache = Arc::clone(&cache);
            BackgroundLoad::start(8, move |thread, iteration| {
                let key = 1 + (thread * 4 + iteration % 4) as u64;
                let _ = cache.set_arc(key, Arc::new(big.as_ref().clone()));
            })
        };
        bencher.bench_local(|| cache.get(divan::black_box(&0)).map(|value| value[0]));
        drop(load);
    }

    #[divan::bench]
    fn moka(bencher: Bencher<'_, '_>) {
        let cache = moka_cache(512 * MB);
        cache.insert(0, Arc::new(vec![1.0; 128]));
        let big = big();
        let load = {
            let cache = cache.clone();
            BackgroundLoad::start(8, move |thread, iteration| {
                let key = 1 + (thread * 4 + iteration % 4) as u64;
                cache.insert(key, Arc::new(big.as_ref().clone()));
            })
        };
        bencher.bench_local(|| cache.get(divan::black_box(&0)).map(|value| value[0]));
        drop(load);
    }
}
