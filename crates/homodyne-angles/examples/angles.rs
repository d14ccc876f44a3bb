//! Filters 1M synthetic angles with every strategy and prints the timing of each.
//!
//! `cargo run --release --example angles`

use std::time::{Duration, Instant};

use homodyne_angles::{AngleError, AngleFilterOptimizer, AngleRange, Strategy, synthetic_angles};

const N_ANGLES: usize = 1_000_000;
const REPEATS: usize = 20;

fn main() -> Result<(), AngleError> {
    let angles = synthetic_angles(N_ANGLES, 42);
    let ranges = AngleRange::DEFAULT_RANGES;
    let optimizer = AngleFilterOptimizer::default();
    println!(
        "Filtering {N_ANGLES} angles uniform in [-180, 360) against {} and {} ({:?} kernels)",
        ranges[0],
        ranges[1],
        optimizer.simd_level()
    );
    let reference = optimizer.filter_angles_with(Strategy::Scalar, &angles, &ranges)?;
    let mut out = Vec::new();
    let mut reference_time = None;
    for strategy in Strategy::ALL {
        let mut ran = strategy;
        let fastest = fastest_of(REPEATS, || {
            ran = optimizer.filter_angles_with_into(strategy, &angles, &ranges, &mut out)?;
            Ok(())
        })?;
        assert_eq!(out, reference, "{} disagrees with the scalar reference", strategy.name());
        let reference_time = *reference_time.get_or_insert(fastest);
        println!(
            "{:>12}: {:>10.1?} (best of {REPEATS}), {:>5.1}x the scalar reference, {} angles selected{}",
            strategy.name(),
            fastest,
            reference_time.as_secs_f64() / fastest.as_secs_f64(),
            out.len(),
            if ran == strategy { String::new() } else { format!(" (ran as {})", ran.name()) }
        );
    }
    let hybrid = fastest_of(REPEATS, || optimizer.filter_angles_hybrid_into(&angles, &ranges, &mut out).map(drop))?;
    println!("{:>12}: {:>10.1?} (chose {})", "hybrid", hybrid, optimizer.choose_strategy(N_ANGLES).name());
    Ok(())
}

fn fastest_of(repeats: usize, mut call: impl FnMut() -> Result<(), AngleError>) -> Result<Duration, AngleError> {
    let mut fastest = Duration::MAX;
    for _ in 0..repeats {
        let started = Instant::now();
        call()?;
        fastest = fastest.min(started.elapsed());
    }
    Ok(fastest)
}
