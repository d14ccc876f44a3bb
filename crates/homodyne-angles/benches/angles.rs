//! Angle filtering at 1K to 1M angles uniform in [-180, 360) against the two
//! default ranges: the scalar reference, each strategy, each instruction set
//! of the vectorised kernel, the hybrid, and the read limit (summing the same
//! angles once, on both cores where the parallel strategy would use them).
//!
//! Run with `cargo bench -p homodyne-angles`; ratios between rows of one run
//! are what to quote, since absolute times on shared machines are noisy.

use divan::Bencher;
use homodyne_angles::{AngleFilterConfig, AngleFilterOptimizer, AngleRange, SimdLevel, Strategy, synthetic_angles};

const SIZES: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];

fn main() {
    divan::main();
}

fn run(bencher: Bencher<'_, '_>, n_angles: usize, optimizer: &AngleFilterOptimizer, strategy: Option<Strategy>) {
    let angles = synthetic_angles(n_angles, 42);
    let ranges = AngleRange::DEFAULT_RANGES;
    let filter = || match strategy {
        Some(strategy) => optimizer.filter_angles_with(strategy, divan::black_box(&angles), &ranges),
        None => optimizer.filter_angles_hybrid(divan::black_box(&angles), &ranges),
    };
    // The parallel strategy runs on rayon from 256K angles: a pool of its own.
    let pool = (n_angles >= 256 * 1024).then(homodyne_testkit::PinnedPool::new);
    bencher.counter(divan::counter::ItemsCount::new(n_angles)).bench_local(|| match &pool {
        Some(pool) => pool.run(filter),
        None => filter(),
    });
}

#[divan::bench(args = SIZES)]
fn read_limit(bencher: Bencher<'_, '_>, n_angles: usize) {
    let angles = synthetic_angles(n_angles, 42);
    let pool = (n_angles >= 256 * 1024).then(homodyne_testkit::PinnedPool::new);
    bencher.counter(divan::counter::ItemsCount::new(n_angles)).bench_local(|| match &pool {
        Some(pool) => pool.run(|| homodyne_testkit::read_once_parallel(divan::black_box(&angles))),
        None => homodyne_testkit::read_once(divan::black_box(&angles)),
    });
}

#[divan::bench(args = SIZES)]
fn hybrid(bencher: Bencher<'_, '_>, n_angles: usize) {
    run(bencher, n_angles, &AngleFilterOptimizer::default(), None);
}

/// The hybrid into a reused buffer: no allocation of the output per call.
#[divan::bench(args = SIZES)]
fn hybrid_into(bencher: Bencher<'_, '_>, n_angles: usize) {
    let optimizer = AngleFilterOptimizer::default();
    let angles = synthetic_angles(n_angles, 42);
    let mut out = Vec::new();
    let pool = (n_angles >= 256 * 1024).then(homodyne_testkit::PinnedPool::new);
    bencher.counter(divan::counter::ItemsCount::new(n_angles)).bench_local(|| {
        let mut filter =
            || optimizer.filter_angles_hybrid_into(divan::black_box(&angles), &AngleRange::DEFAULT_RANGES, &mut out);
        match &pool {
            Some(pool) => pool.run(filter),
            None => filter(),
        }
    });
}

#[divan::bench(args = SIZES)]
fn scalar(bencher: Bencher<'_, '_>, n_angles: usize) {
    run(bencher, n_angles, &AngleFilterOptimizer::default(), Some(Strategy::Scalar));
}

#[divan::bench(args = SIZES)]
fn vectorized(bencher: Bencher<'_, '_>, n_angles: usize) {
    run(bencher, n_angles, &AngleFilterOptimizer::default(), Some(Strategy::Vectorized));
}

#[divan::bench(args = SIZES)]
fn parallel(bencher: Bencher<'_, '_>, n_angles: usize) {
    run(bencher, n_angles, &AngleFilterOptimizer::default(), Some(Strategy::Parallel));
}

/// The vectorised strategy per instruction set: what the run-time dispatch
/// (the crate's only `unsafe`) buys over the portable SSE2 build.
#[divan::bench_group]
mod simd_level {
    use super::{AngleFilterConfig, AngleFilterOptimizer, Bencher, SimdLevel, Strategy, run};

    fn with_level(bencher: Bencher<'_, '_>, n_angles: usize, simd_level: SimdLevel) {
        let optimizer = AngleFilterOptimizer::new(AngleFilterConfig { simd_level, ..AngleFilterConfig::default() });
        run(bencher, n_angles, &optimizer, Some(Strategy::Vectorized));
    }

    #[divan::bench(args = [100_000])]
    fn portable(bencher: Bencher<'_, '_>, n_angles: usize) {
        with_level(bencher, n_angles, SimdLevel::Portable);
    }

    #[divan::bench(args = [100_000])]
    fn avx2(bencher: Bencher<'_, '_>, n_angles: usize) {
        with_level(bencher, n_angles, SimdLevel::Avx2);
    }

    #[divan::bench(args = [100_000])]
    fn avx512(bencher: Bencher<'_, '_>, n_angles: usize) {
        with_level(bencher, n_angles, SimdLevel::Avx512);
    }
}
