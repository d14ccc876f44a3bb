//! Canary benchmarks for the regression tooling itself: they measure the
//! machine, not the code.
//!
//! Pure arithmetic, no allocation and no memory traffic. `steady` runs on
//! one core, `parallel` on two: their run-to-run spread
//! shows the machine's noise floor (about 0.4% here), and `cargo xtask
//! regression` compares them first. When both moved by one factor between
//! base and head (a shared VM's slow phase), the verdicts are made on
//! samples divided by it; when they moved apart (a busy process on one
//! core slows the two-core canary, not the one-core one), the comparison is
//! inconclusive rather than wrong.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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

#[divan::bench(sample_count = 100, sample_size = 200)]
fn steady(bencher: Bencher<'_, '_>) {
    bencher.bench(|| chain(black_box(BASE_WORK)));
}

/// Two chains at once, one on this thread and one on a helper thread that
/// spins between iterations: both cores busy, and no wake-up in the timed
/// path. (On a rayon pool the same work was bimodal across processes, 28 or
/// 60 µs: when the idle worker did not wake in time, the joining worker ran
/// both halves itself.) It slows down when either core is busy with
/// something else.
#[divan::bench(sample_count = 100, sample_size = 20)]
fn parallel(bencher: Bencher<'_, '_>) {
    let started = AtomicU64::new(0);
    let finished = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let steps = 4 * BASE_WORK;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut seen = 0;
            while !stop.load(Ordering::Acquire) {
                let now = started.load(Ordering::Acquire);
                if now == seen {
                    std::hint::spin_loop();
                    continue;
                }
                seen = now;
                black_box(chain(black_box(steps)));
                finished.fetch_add(1, Ordering::Release);
            }
        });
        let mut round = 0;
        bencher.bench_local(|| {
            round += 1;
            started.store(round, Ordering::Release);
            let mine = chain(black_box(steps));
            while finished.load(Ordering::Acquire) < round {
                std::hint::spin_loop();
            }
            mine
        });
        stop.store(true, Ordering::Release);
    });
}
