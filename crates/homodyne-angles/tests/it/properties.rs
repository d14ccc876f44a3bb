//! Every strategy, instruction set and convention against the naive reference.

use homodyne_angles::{
    AngleError, AngleFilterConfig, AngleFilterOptimizer, AngleRange, Strategy as FilterStrategy, WrapMode,
    synthetic_angles,
};
use proptest::prelude::*;

use crate::{check, naive, optimizers, to_ranges};

/// Values that stress the comparisons: range bounds and their neighbours,
/// signed zeros, the fold points of the periodic convention, huge values.
const SPECIAL: [f64; 16] =
    [-10.0, 10.0, 170.0, 190.0, -0.0, 0.0, 180.0, -180.0, 360.0, -360.0, 540.0, 1e300, -1e300, 5e-324, -1e-20, 89.5];

fn angle() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -720.0..720.0f64,
        2 => prop::sample::select(SPECIAL.to_vec()),
        1 => prop::sample::select(SPECIAL.to_vec()).prop_map(f64::next_up),
        1 => prop::sample::select(SPECIAL.to_vec()).prop_map(f64::next_down),
        1 => prop::num::f64::NORMAL,
    ]
}

fn bound() -> impl Strategy<Value = f64> {
    prop_oneof![3 => -400.0..400.0f64, 2 => prop::sample::select(SPECIAL.to_vec())]
}

/// Up to 12 ranges, so that both the per-interval compare (at most 8 merged
/// intervals) and the boundary search are exercised; overlapping, nested and
/// point ranges arise naturally from the shared bound pool.
fn ranges() -> impl Strategy<Value = Vec<(f64, f64)>> {
    prop::collection::vec((bound(), bound()).prop_map(|(a, b)| if a <= b { (a, b) } else { (b, a) }), 0..12)
}

/// Ranges of one common width around centers that make `(lo + hi) / 2` exact:
/// the shape of the default and anisotropic ranges, which the AVX-512 kernel
/// tests as a distance to the nearest center.
fn equal_width_ranges() -> impl Strategy<Value = Vec<(f64, f64)>> {
    let center =
        prop_oneof![(-720i32..720).prop_map(|half_degrees| f64::from(half_degrees) * 0.5), Just(1e-300), Just(0.0)];
    let radius = prop::sample::select(vec![0.0, 0.5, 10.0, 45.0, 200.0, 1e-300, 5e-324]);
    (prop::collection::vec(center, 1..9), radius)
        .prop_map(|(centers, radius)| centers.into_iter().map(|center| (center - radius, center + radius)).collect())
}

fn angles() -> impl Strategy<Value = Vec<f64>> {
    // Lengths around the 64-angle block cover empty input, one angle, full
    // blocks and tails; duplicates come from the special values.
    prop::collection::vec(angle(), 0..300)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn every_strategy_equals_the_naive_loop(angles in angles(), bounds in ranges()) {
        check(&angles, &to_ranges(&bounds), WrapMode::Off, &naive(&angles, &bounds, WrapMode::Off));
    }

    #[test]
    fn equal_width_ranges_equal_the_naive_loop(angles in angles(), bounds in equal_width_ranges()) {
        check(&angles, &to_ranges(&bounds), WrapMode::Off, &naive(&angles, &bounds, WrapMode::Off));
        let shifted: Vec<f64> = angles.iter().zip(&bounds).map(|(angle, &(lo, _))| angle * 1e-3 + lo).collect();
        check(&shifted, &to_ranges(&bounds), WrapMode::Off, &naive(&shifted, &bounds, WrapMode::Off));
    }

    #[test]
    fn every_strategy_equals_the_naive_loop_periodic(angles in angles(), bounds in ranges()) {
        check(&angles, &to_ranges(&bounds), WrapMode::Periodic, &naive(&angles, &bounds, WrapMode::Periodic));
    }

    #[test]
    fn the_first_non_finite_angle_is_named(
        mut angles in prop::collection::vec(-720.0..720.0f64, 1..300),
        positions in prop::collection::vec(any::<prop::sample::Index>(), 1..4),
        // Negative NaN and a signalling NaN with a payload too: the fast kernels
        // test the exponent bits, whatever the sign and mantissa.
        bad in prop::sample::select(vec![
            f64::NAN, -f64::NAN, f64::from_bits(0x7FF0_0000_0000_0001), f64::from_bits(0xFFF4_0000_DEAD_BEEF),
            f64::INFINITY, f64::NEG_INFINITY,
        ]),
    ) {
        for position in &positions {
            let angle_idx = position.index(angles.len());
            angles[angle_idx] = bad;
        }
        let first = angles.iter().position(|angle| !angle.is_finite()).unwrap();
        for optimizer in optimizers(WrapMode::Off) {
            for strategy in FilterStrategy::ALL {
                let error = optimizer.filter_angles_with(strategy, &angles, &AngleRange::DEFAULT_RANGES).unwrap_err();
                let is_first = matches!(error, AngleError::NonFiniteAngle { index, .. } if index == first);
                prop_assert!(is_first, "{error}");
            }
        }
    }
}

#[test]
fn one_million_angles_agree_in_both_conventions() {
    let angles = synthetic_angles(1_000_000, 3);
    let bounds = [(-10.0, 10.0), (170.0, 190.0), (80.0, 100.0), (95.0, 99.0)];
    for wrap in [WrapMode::Off, WrapMode::Periodic] {
        check(&angles, &to_ranges(&bounds), wrap, &naive(&angles, &bounds, wrap));
    }
}

#[test]
fn many_ranges_use_the_boundary_search_in_parallel() {
    let angles = synthetic_angles(300_000, 4);
    let bounds: Vec<(f64, f64)> =
        (0..40).map(|range_idx| (f64::from(range_idx) * 13.0 - 180.0, f64::from(range_idx) * 13.0 - 175.0)).collect();
    check(&angles, &to_ranges(&bounds), WrapMode::Off, &naive(&angles, &bounds, WrapMode::Off));
}

#[test]
fn the_parallel_strategy_names_the_first_bad_angle_across_chunks() {
    let mut angles = synthetic_angles(1_000_000, 5);
    angles[900_001] = f64::NAN;
    angles[300_007] = f64::INFINITY;
    for optimizer in optimizers(WrapMode::Off) {
        let error =
            optimizer.filter_angles_with(FilterStrategy::Parallel, &angles, &AngleRange::DEFAULT_RANGES).unwrap_err();
        assert_eq!(error, AngleError::NonFiniteAngle { index: 300_007, value: f64::INFINITY });
    }
}

#[test]
fn a_range_spanning_360_degrees_matches_everything_when_periodic() {
    // v2 folded [-180, 180] to [180, 180] and matched only ±180.
    let angles = [-179.0, -90.0, 0.0, 45.0, 180.0, 359.0, 1e6];
    let all: Vec<usize> = (0..angles.len()).collect();
    check(&angles, &[AngleRange::new(-180.0, 180.0).unwrap()], WrapMode::Periodic, &all);
    check(&angles, &[AngleRange::new(0.0, 720.0).unwrap()], WrapMode::Periodic, &all);
    // A wrapping range crosses ±180; without folding, 350 is not near -10.
    check(&[350.0, -170.0, 0.0], &[AngleRange::new(170.0, 190.0).unwrap()], WrapMode::Periodic, &[1]);
    check(&[350.0, -170.0, 185.0], &[AngleRange::new(-10.0, 10.0).unwrap()], WrapMode::Periodic, &[0]);
    check(&[350.0, -170.0, 185.0], &AngleRange::DEFAULT_RANGES, WrapMode::Off, &[2]);
}

#[test]
fn the_hybrid_follows_the_thresholds_and_reports_what_ran() {
    let config = AngleFilterConfig { small_threshold: 100, large_threshold: 1_000, ..AngleFilterConfig::default() };
    let two_threads = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let optimizer = AngleFilterOptimizer::new(config);
    // From 1,000 angles the thresholds choose the parallel strategy, which
    // needs two chunks of 4,096 angles: below 8,192 the vectorised one runs,
    // and is reported and counted as such.
    let cases = [
        (99, FilterStrategy::Scalar),
        (100, FilterStrategy::Vectorized),
        (1_000, FilterStrategy::Vectorized),
        (8_191, FilterStrategy::Vectorized),
        (8_192, FilterStrategy::Parallel),
    ];
    two_threads.install(|| {
        for (n_angles, expected) in cases {
            assert_eq!(optimizer.choose_strategy(n_angles), expected, "{n_angles} angles");
            let mut out = Vec::new();
            let angles = synthetic_angles(n_angles, 1);
            let ran = optimizer.filter_angles_hybrid_into(&angles, &AngleRange::DEFAULT_RANGES, &mut out);
            assert_eq!(ran.unwrap(), expected, "{n_angles} angles");
            let forced = optimizer.filter_angles_with_into(
                FilterStrategy::Parallel,
                &angles,
                &AngleRange::DEFAULT_RANGES,
                &mut out,
            );
            let parallel_possible = n_angles >= 8_192;
            assert_eq!(forced.unwrap() == FilterStrategy::Parallel, parallel_possible, "{n_angles} angles, forced");
        }
    });
    let counts = optimizer.strategy_counts();
    // Hybrid: 1 scalar, 3 vectorised, 1 parallel; forced parallel: 4 vectorised, 1 parallel.
    assert_eq!((counts.scalar, counts.vectorized, counts.parallel), (1, 7, 2));
    assert_eq!(counts.get(FilterStrategy::Vectorized), 7);

    // On one thread the parallel strategy never runs.
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    one_thread.install(|| {
        assert_eq!(optimizer.choose_strategy(1_000_000), FilterStrategy::Vectorized);
        let mut out = Vec::new();
        let angles = synthetic_angles(100_000, 3);
        let forced =
            optimizer.filter_angles_with_into(FilterStrategy::Parallel, &angles, &AngleRange::DEFAULT_RANGES, &mut out);
        assert_eq!(forced.unwrap(), FilterStrategy::Vectorized);
    });

    let scalar_only =
        AngleFilterOptimizer::new(AngleFilterConfig { enable_simd: false, ..AngleFilterConfig::default() });
    assert_eq!(scalar_only.choose_strategy(10_000_000), FilterStrategy::Scalar);
    let serial = AngleFilterOptimizer::new(AngleFilterConfig { parallel: false, ..AngleFilterConfig::default() });
    assert_eq!(serial.choose_strategy(10_000_000), FilterStrategy::Vectorized);
}

#[test]
fn the_into_form_reuses_the_callers_buffer() {
    let optimizer = AngleFilterOptimizer::default();
    let angles = synthetic_angles(20_000, 9);
    let mut out = Vec::with_capacity(10_000);
    let capacity = out.capacity();
    out.push(123);
    for strategy in FilterStrategy::ALL {
        optimizer.filter_angles_with_into(strategy, &angles, &AngleRange::DEFAULT_RANGES, &mut out).unwrap();
        assert_eq!(out, naive(&angles, &[(-10.0, 10.0), (170.0, 190.0)], WrapMode::Off));
        assert_eq!(out.capacity(), capacity);
    }
}

#[test]
fn calibrated_thresholds_come_from_measurements() {
    let optimizer = AngleFilterOptimizer::calibrated();
    let calibration = homodyne_angles::Calibration::from_points(Vec::new());
    assert_eq!(calibration.small_threshold, usize::MAX);
    // Whatever was measured, the calibrated optimizer still filters correctly.
    let angles = synthetic_angles(70_000, 2);
    assert_eq!(
        optimizer.filter_angles_hybrid(&angles, &AngleRange::DEFAULT_RANGES).unwrap(),
        naive(&angles, &[(-10.0, 10.0), (170.0, 190.0)], WrapMode::Off)
    );
    let thresholds = (optimizer.config().small_threshold, optimizer.config().large_threshold);
    assert!(homodyne_angles::CALIBRATION_SIZES.contains(&thresholds.0) || thresholds.0 == usize::MAX, "{thresholds:?}");
}

#[test]
fn huge_finite_angles_are_not_mistaken_for_infinite_ones() {
    // Differences from far centres overflow to infinity although every angle
    // is finite; the fast kernels' finiteness check then defers to the exact one.
    let angles: Vec<f64> =
        (0..200).map(|i| if i % 3 == 0 { -1.7e308 } else { 1.65e308 + f64::from(i) * 1e304 }).collect();
    let bounds = [(1.6e308, 1.7e308)];
    check(&angles, &to_ranges(&bounds), WrapMode::Off, &naive(&angles, &bounds, WrapMode::Off));
    let both = [(-1.75e308, -1.65e308), (1.6e308, 1.7e308)];
    check(&angles, &to_ranges(&both), WrapMode::Off, &naive(&angles, &both, WrapMode::Off));
}
