//! Canary benchmarks for the regression tooling itself.
//!
//! Pure arithmetic, no allocation and no memory traffic: their run-to-run
//! spread shows the machine's own noise floor (about 0.4% here), and
//! `slowable` lets an end-to-end test inject a real, known slowdown: with
//! `HOMODYNE_CANARY_SLOWDOWN=1.3` it does 30% more work per iteration. The
//! `steady` twin never changes, so a correct tool names `slowable` and only it.

use divan::{Bencher, black_box};

fn main() {
    divan::main();
}

/// Iterations of the dependent multiply-add chain per benchmark iteration.
const BASE_WORK: u64 = 20_000;

/// An LCG chain of `steps` multiply-adds: its time scales with `steps`
/// (measured: 1.3 times the steps take 1.298 times as long).
fn chain(steps: u64) -> u64 {
    let mut state = black_box(0x9E37_79B9_7F4A_7C15_u64);
    for _ in 0..steps {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    }
    state
}

fn slowdown() -> f64 {
    std::env::var("HOMODYNE_CANARY_SLOWDOWN").ok().and_then(|text| text.parse().ok()).unwrap_or(1.0)
}

#[divan::bench(sample_count = 100, sample_size = 200)]
fn steady(bencher: Bencher<'_, '_>) {
    bencher.bench(|| chain(black_box(BASE_WORK)));
}

#[divan::bench(sample_count = 100, sample_size = 200)]
fn slowable(bencher: Bencher<'_, '_>) {
    let steps = (BASE_WORK as f64 * slowdown()).round() as u64;
    bencher.bench(|| chain(black_box(steps)));
}
