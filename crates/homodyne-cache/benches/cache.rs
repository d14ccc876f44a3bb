//! Cache benchmarks: hits, sets, memoisation, and the codec's throughput.
//!
//! `cargo bench -p homodyne-cache`.

use divan::Bencher;
use homodyne_cache::{CacheConfig, MemoryEfficientCache, compress, decompress};

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

const MB: usize = 1 << 20;

fn cache(hot_fraction: f64) -> MemoryEfficientCache<u64, Vec<f64>> {
    MemoryEfficientCache::new(CacheConfig { max_memory_mb: 512.0, hot_fraction, ..CacheConfig::default() })
        .expect("valid")
}

#[divan::bench(args = [MB, 8 * MB])]
fn get_hit_raw(bencher: Bencher<'_, '_>, bytes: usize) {
    let cache = cache(1.0);
    cache.set(1, smooth(bytes / 8)).expect("fits");
    bencher.bench_local(|| cache.get(divan::black_box(&1)));
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

#[divan::bench(args = [MB])]
fn set(bencher: Bencher<'_, '_>, bytes: usize) {
    let cache = cache(1.0);
    let value = std::sync::Arc::new(smooth(bytes / 8));
    let mut key = 0u64;
    bencher.bench_local(|| {
        key += 1;
        cache.set_arc(key % 64, std::sync::Arc::clone(&value))
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
}
