//! The cost of the verdicts themselves: comparing suites around the size of
//! this workspace's (50 benchmarks, 10 runs a side). It runs once per
//! `cargo xtask regression`, so it only needs to stay far below the benches'
//! own time.

use divan::{Bencher, black_box};
use homodyne_perf::{BenchmarkSamples, Direction, Thresholds, compare};
use homodyne_testkit::uniform;

fn main() {
    divan::main();
}

fn suite(n_benchmarks: usize, n_runs: usize) -> Vec<BenchmarkSamples> {
    (0..n_benchmarks)
        .map(|benchmark_idx| {
            let noise = uniform(2 * n_runs, benchmark_idx as u64);
            let sample = |u: f64| 1000.0 * (1.0 + 0.05 * u);
            BenchmarkSamples {
                name: format!("bench/{benchmark_idx}"),
                direction: Direction::LowerIsBetter,
                base: noise[..n_runs].iter().map(|&u| sample(u)).collect(),
                head: noise[n_runs..].iter().map(|&u| sample(u)).collect(),
            }
        })
        .collect()
}

#[divan::bench(args = [10, 50, 200], sample_count = 20)]
fn compare_suite(bencher: Bencher<'_, '_>, n_benchmarks: usize) {
    let inputs = suite(n_benchmarks, 10);
    let thresholds = Thresholds::default();
    bencher.bench(|| compare(black_box(&inputs), &thresholds, false));
}
