//! Integration tests of `homodyne-angles`: the v1 test vectors, property tests
//! of every strategy and instruction set against a naive reference, the error
//! paths, and the allocation bound.

mod alloc;
mod errors;
mod properties;
mod vectors;

use homodyne_angles::{AngleFilterConfig, AngleFilterOptimizer, AngleRange, SimdLevel, Strategy, WrapMode};

/// Every optimizer configuration whose results must agree: each instruction
/// set this CPU has, in the given convention.
pub(crate) fn optimizers(wrap: WrapMode) -> Vec<AngleFilterOptimizer> {
    let mut levels = vec![SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512];
    levels.retain(|level| level.effective() == *level);
    levels
        .into_iter()
        .map(|simd_level| {
            AngleFilterOptimizer::new(AngleFilterConfig { wrap, simd_level, ..AngleFilterConfig::default() })
        })
        .collect()
}

/// Checks that every strategy of every optimizer, and the hybrid, returns `expected`.
pub(crate) fn check(angles: &[f64], ranges: &[AngleRange], wrap: WrapMode, expected: &[usize]) {
    for optimizer in optimizers(wrap) {
        for strategy in Strategy::ALL {
            let got = optimizer.filter_angles_with(strategy, angles, ranges).unwrap();
            assert!(
                got == expected,
                "{} at {:?} ({wrap:?}) on {} angles: got {} indices, expected {}; first difference at {:?}",
                strategy.name(),
                optimizer.simd_level(),
                angles.len(),
                got.len(),
                expected.len(),
                got.iter().zip(expected).position(|(left, right)| left != right)
            );
        }
        assert_eq!(optimizer.filter_angles_hybrid(angles, ranges).unwrap(), expected);
    }
}

/// The naive reference, written independently of the crate: v1's loop, or
/// v2's folding with Python's modulo and the 360-degree fix.
pub(crate) fn naive(angles: &[f64], ranges: &[(f64, f64)], wrap: WrapMode) -> Vec<usize> {
    fn fold(angle: f64) -> f64 {
        let mut folded = angle % 360.0;
        if folded < 0.0 {
            folded += 360.0;
        }
        if folded > 180.0 { folded - 360.0 } else { folded }
    }
    let inside = |angle: f64, &(lo, hi): &(f64, f64)| {
        if wrap == WrapMode::Off {
            return lo <= angle && angle <= hi;
        }
        if hi - lo >= 360.0 {
            return true;
        }
        let (angle, lo, hi) = (fold(angle), fold(lo), fold(hi));
        if lo <= hi { lo <= angle && angle <= hi } else { angle >= lo || angle <= hi }
    };
    (0..angles.len()).filter(|&angle_idx| ranges.iter().any(|range| inside(angles[angle_idx], range))).collect()
}

pub(crate) fn to_ranges(bounds: &[(f64, f64)]) -> Vec<AngleRange> {
    bounds.iter().map(|&(lo, hi)| AngleRange::new(lo, hi).unwrap()).collect()
}
