//! Hit latency under concurrent compression, as percentiles: ours beside
//! moka's, in the setup of the `hit_under_compression` benchmarks (eight
//! threads storing 64 MiB arrays into a 512 MiB cache at the lowest
//! priority, one thread timing hits on a small entry).
//!
//! `cargo run --release -p homodyne-cache --example latency [HITS]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use homodyne_cache::{CacheConfig, ENTRY_OVERHEAD_BYTES, MemoryEfficientCache};
use homodyne_testkit::BackgroundLoad;

const MB: usize = 1 << 20;

fn smooth(n: usize) -> Vec<f64> {
    (0..n).map(|i| 1.0 + 0.3 * (-(i as f64) / (n as f64 / 8.0)).exp()).collect()
}

/// Times `hits` calls of `hit`, spread over the load's run (a pause of
/// 20 µs between calls, so that the load's stores and compressions overlap them).
fn percentiles(hits: usize, mut hit: impl FnMut() -> Option<f64>) -> [Duration; 4] {
    let mut samples = Vec::with_capacity(hits);
    for _ in 0..hits {
        let started = Instant::now();
        assert_eq!(hit(), Some(1.0));
        samples.push(started.elapsed());
        let pause = Instant::now();
        while pause.elapsed() < Duration::from_micros(20) {
            std::hint::spin_loop();
        }
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    [at(0.5), at(0.99), at(0.999), samples[samples.len() - 1]]
}

fn main() {
    let hits: usize = std::env::args().nth(1).and_then(|value| value.parse().ok()).unwrap_or(100_000);
    let big = Arc::new(smooth(8 * MB / 8));

    let ours: Arc<MemoryEfficientCache<u64, Vec<f64>>> = Arc::new(
        MemoryEfficientCache::new(CacheConfig { max_memory_mb: 512.0, hot_fraction: 0.25, ..CacheConfig::default() })
            .expect("valid"),
    );
    ours.set(0, vec![1.0; 128]).expect("fits");
    let load = {
        let (cache, big) = (Arc::clone(&ours), Arc::clone(&big));
        BackgroundLoad::start(8, move |thread, iteration| {
            let _ = cache.set_arc(1 + (thread * 4 + iteration % 4) as u64, Arc::new(big.as_ref().clone()));
        })
    };
    let ours_latency = percentiles(hits, || ours.get(&0).map(|value| value[0]));
    let stores: usize = load.finish().iter().sum();
    let compressions = ours.stats().compressions;

    let moka: moka::sync::Cache<u64, Arc<Vec<f64>>> = moka::sync::Cache::builder()
        .max_capacity(512 * MB as u64)
        .weigher(|_, value: &Arc<Vec<f64>>| u32::try_from(value.len() * 8 + ENTRY_OVERHEAD_BYTES).unwrap_or(u32::MAX))
        .build();
    moka.insert(0, Arc::new(vec![1.0; 128]));
    let load = {
        let (cache, big) = (moka.clone(), Arc::clone(&big));
        BackgroundLoad::start(8, move |thread, iteration| {
            cache.insert(1 + (thread * 4 + iteration % 4) as u64, Arc::new(big.as_ref().clone()));
        })
    };
    let moka_latency = percentiles(hits, || moka.get(&0).map(|value| value[0]));
    let moka_stores: usize = load.finish().iter().sum();

    println!("{hits} hits on a 1 KiB entry while 8 threads store 64 MiB arrays into a 512 MiB cache:\n");
    println!("| cache | p50 | p99 | p99.9 | max | stores during the hits |");
    println!("|---|---|---|---|---|---|");
    let row = |name: &str, [p50, p99, p999, max]: [Duration; 4], stores: usize| {
        println!("| {name} | {p50:.2?} | {p99:.2?} | {p999:.2?} | {max:.2?} | {stores} |");
    };
    row(&format!("homodyne-cache ({compressions} compressions)"), ours_latency, stores);
    row("moka 0.12", moka_latency, moka_stores);
}
