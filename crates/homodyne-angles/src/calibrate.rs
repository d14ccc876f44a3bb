//! Measuring where the strategies cross over on this machine (the design
//! document's "adaptive thresholds").

use std::time::{Duration, Instant};

use crate::{AngleFilterConfig, AngleFilterOptimizer, AngleRange, Strategy};

/// The input sizes [`calibrate`] measures, 64 to 1M angles.
pub const CALIBRATION_SIZES: [usize; 14] =
    [64, 128, 256, 512, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000];

/// Each timing repeats a call until this much time has passed (at least three
/// calls) and keeps the fastest call: noise on a shared machine only adds time.
/// 2 ms gave the parallel strategy at 1M angles as few as six calls, and a
/// fastest call twice as slow as in a longer run.
const MIN_TIME_PER_POINT: Duration = Duration::from_millis(10);

/// The fastest observed call of each strategy at one input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalibrationPoint {
    /// Number of angles filtered.
    pub n_angles: usize,
    /// Fastest call of [`Strategy::Scalar`].
    pub scalar: Duration,
    /// Fastest call of [`Strategy::Vectorized`].
    pub vectorized: Duration,
    /// Fastest call of [`Strategy::Parallel`], or `None` where it cannot run
    /// in parallel (one rayon thread, or fewer than two chunks of angles: it
    /// would run the vectorised strategy, which is not measured twice).
    pub parallel: Option<Duration>,
}

impl CalibrationPoint {
    /// The measured time of one strategy (`None`: it could not run here).
    pub fn time(&self, strategy: Strategy) -> Option<Duration> {
        match strategy {
            Strategy::Scalar => Some(self.scalar),
            Strategy::Vectorized => Some(self.vectorized),
            Strategy::Parallel => self.parallel,
        }
    }
}

/// Thresholds measured on this machine, with the timings they come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calibration {
    /// The smallest measured size from which on the vectorised strategy beats
    /// the scalar one at every larger measured size (`usize::MAX` if never).
    pub small_threshold: usize,
    /// The smallest measured size from which on the parallel strategy beats
    /// the vectorised one at every larger measured size (`usize::MAX` if never).
    pub large_threshold: usize,
    /// One point per measured size, ascending.
    pub points: Vec<CalibrationPoint>,
}

impl Calibration {
    /// Thresholds from timings (points ascending by size).
    pub fn from_points(points: Vec<CalibrationPoint>) -> Calibration {
        let small_threshold = crossover(&points, Strategy::Vectorized, Strategy::Scalar);
        let large_threshold = crossover(&points, Strategy::Parallel, Strategy::Vectorized);
        Calibration { small_threshold, large_threshold, points }
    }

    /// `config` with the measured thresholds.
    pub fn apply(&self, config: AngleFilterConfig) -> AngleFilterConfig {
        AngleFilterConfig { small_threshold: self.small_threshold, large_threshold: self.large_threshold, ..config }
    }
}

/// The smallest size from which `challenger` is faster than `incumbent` at
/// every larger size, so that one lucky point does not move the threshold.
fn crossover(points: &[CalibrationPoint], challenger: Strategy, incumbent: Strategy) -> usize {
    let mut threshold = usize::MAX;
    for point in points.iter().rev() {
        let faster = match (point.time(challenger), point.time(incumbent)) {
            (Some(challenger), Some(incumbent)) => challenger < incumbent,
            _ => false,
        };
        if faster {
            threshold = point.n_angles;
        } else {
            break;
        }
    }
    threshold
}

/// Angles uniform in `[-180, 360)` degrees from a fixed seed, the workload
/// of the benchmarks and of [`calibrate`]: angle `k` from draw `k` of
/// [`homodyne_simd::unit_draw`], the same on every toolchain (a workload
/// that moved with the standard library's hasher would look like a change).
pub fn synthetic_angles(n_angles: usize, seed: u64) -> Vec<f64> {
    (0..n_angles as u64).map(|index| -180.0 + 540.0 * homodyne_simd::unit_draw(seed, index)).collect()
}

/// The fastest call of `strategy`, or `None` if another strategy ran
/// instead (the parallel one where the pool cannot help).
fn fastest_call(
    optimizer: &AngleFilterOptimizer,
    strategy: Strategy,
    angles: &[f64],
    out: &mut Vec<usize>,
) -> Option<Duration> {
    let mut fastest = Duration::MAX;
    let started = Instant::now();
    let mut n_calls = 0;
    while n_calls < 3 || started.elapsed() < MIN_TIME_PER_POINT {
        let call_started = Instant::now();
        // Synthetic angles are finite, so the filter cannot fail here.
        let ran = optimizer.filter_angles_with_into(strategy, angles, &AngleRange::DEFAULT_RANGES, out).ok()?;
        fastest = fastest.min(call_started.elapsed());
        if ran != strategy {
            return None;
        }
        n_calls += 1;
    }
    Some(fastest)
}

/// Times every strategy at [`CALIBRATION_SIZES`] with the default ranges and
/// the default configuration, and returns where they cross over.
pub fn calibrate() -> Calibration {
    calibrate_with(&AngleFilterConfig::default(), &CALIBRATION_SIZES)
}

/// [`calibrate`] for a given configuration (its instruction set and angle
/// convention) and list of sizes (sorted ascending here).
pub fn calibrate_with(config: &AngleFilterConfig, sizes: &[usize]) -> Calibration {
    let optimizer = AngleFilterOptimizer::new(*config);
    let mut sizes = sizes.to_vec();
    sizes.sort_unstable();
    let largest = sizes.last().copied().unwrap_or(0);
    let angles = synthetic_angles(largest, 0x5EED);
    let mut out = Vec::new();
    let points = sizes
        .iter()
        .map(|&n_angles| {
            let angles = &angles[..n_angles];
            CalibrationPoint {
                n_angles,
                // The scalar and vectorised strategies always run as asked.
                scalar: fastest_call(&optimizer, Strategy::Scalar, angles, &mut out).unwrap_or(Duration::MAX),
                vectorized: fastest_call(&optimizer, Strategy::Vectorized, angles, &mut out).unwrap_or(Duration::MAX),
                parallel: fastest_call(&optimizer, Strategy::Parallel, angles, &mut out),
            }
        })
        .collect();
    Calibration::from_points(points)
}

impl AngleFilterOptimizer {
    /// An optimizer whose thresholds were measured on this machine by
    /// [`calibrate`] (14 sizes at 10 ms or more per strategy: about a
    /// second). Defined here, beside the calibration, so that the optimizer
    /// does not depend on the module that times it.
    pub fn calibrated() -> AngleFilterOptimizer {
        let config = AngleFilterConfig::default();
        AngleFilterOptimizer::new(calibrate_with(&config, &CALIBRATION_SIZES).apply(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(n_angles: usize, scalar: u64, vectorized: u64, parallel: u64) -> CalibrationPoint {
        CalibrationPoint {
            n_angles,
            scalar: Duration::from_nanos(scalar),
            vectorized: Duration::from_nanos(vectorized),
            parallel: (parallel > 0).then(|| Duration::from_nanos(parallel)),
        }
    }

    fn check(points: Vec<CalibrationPoint>, expected_small: usize, expected_large: usize) {
        let calibration = Calibration::from_points(points);
        assert_eq!((calibration.small_threshold, calibration.large_threshold), (expected_small, expected_large));
    }

    #[test]
    fn thresholds_are_the_first_size_of_a_winning_streak() {
        check(vec![point(10, 1, 2, 9), point(100, 5, 4, 9), point(1000, 50, 40, 30)], 100, 1000);
        // A lucky win below a loss does not count.
        check(vec![point(10, 5, 4, 1), point(100, 5, 6, 9), point(1000, 50, 40, 30)], 1000, 1000);
        // Never faster: the threshold is unreachable.
        check(vec![point(10, 1, 2, 3), point(100, 5, 6, 7)], usize::MAX, usize::MAX);
        check(vec![], usize::MAX, usize::MAX);
        // Where the parallel strategy could not run (0 here), it never wins.
        check(vec![point(10, 5, 4, 0), point(100, 5, 4, 0), point(1000, 50, 40, 30)], 10, 1000);
        check(vec![point(10, 5, 4, 1), point(100, 5, 4, 0)], 10, usize::MAX);
    }

    #[test]
    fn synthetic_angles_are_uniform_in_range() {
        let angles = synthetic_angles(100_000, 7);
        assert!(angles.iter().all(|&angle| (-180.0..360.0).contains(&angle)));
        let mean = angles.iter().sum::<f64>() / angles.len() as f64;
        // Uniform on [-180, 360): mean 90, standard error 540 / sqrt(12 n) ~ 0.5.
        assert!((mean - 90.0).abs() < 3.0, "mean {mean}");
        assert_eq!(angles, synthetic_angles(100_000, 7));
        assert_ne!(angles[..10], synthetic_angles(10, 8)[..]);
    }

    #[test]
    fn calibration_measures_every_size() {
        let calibration = calibrate_with(&AngleFilterConfig::default(), &[5_000, 1_000]);
        let sizes: Vec<usize> = calibration.points.iter().map(|point| point.n_angles).collect();
        assert_eq!(sizes, vec![1_000, 5_000]);
        assert!(calibration.points.iter().all(|point| point.scalar > Duration::ZERO));
        // Below two chunks the parallel strategy would be the vectorised one: not timed as parallel.
        assert!(calibration.points.iter().all(|point| point.parallel.is_none()));
    }

    #[test]
    fn calibration_times_the_parallel_strategy_only_where_it_runs() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("a pool");
        let calibration = pool.install(|| calibrate_with(&AngleFilterConfig::default(), &[8_192, 100_000]));
        assert!(calibration.points.iter().all(|point| point.parallel.is_some()), "{calibration:?}");
        let single = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a pool");
        let calibration = single.install(|| calibrate_with(&AngleFilterConfig::default(), &[100_000]));
        assert_eq!(calibration.points[0].parallel, None);
    }
}
