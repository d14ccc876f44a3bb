//! The safe dispatcher of the vectorised kernel, and the portable kernel:
//! a hit mask and a non-finite mask per block of 64 angles, built without
//! branches, then compacted to indices.
//!
//! The generic code below is written so that LLVM vectorises it, and it is
//! compiled three times: for the build target (portable), for AVX2 and for
//! AVX-512 (`simd/x86.rs`, which also holds the hand-written AVX2 and
//! AVX-512 mask kernels); [`SimdLevel`] and the CPU detection are
//! `homodyne-simd`'s, shared with `homodyne-kernels`. [`Isa`] picks one at run
//! time, so users get AVX-512 code without `-C target-cpu=native`. The
//! `unsafe` here is the calls into the `#[target_feature]` functions, made
//! only with an [`Isa`], which exists only for a level the CPU was checked
//! for; the intrinsics' own `unsafe` (loads) is in `simd/x86.rs`.
#![expect(unsafe_code, reason = "calls into the `#[target_feature]` kernels, after the CPU check")]

pub use homodyne_simd::SimdLevel;

/// An instruction-set level that this CPU is known to support.
///
/// The field is private: the only constructor checks the CPU, which is what
/// makes the `unsafe` calls below sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Isa(SimdLevel);

impl Isa {
    /// The requested level lowered to what this CPU supports.
    pub(crate) fn new(requested: SimdLevel) -> Isa {
        Isa(requested.effective())
    }

    pub(crate) fn level(self) -> SimdLevel {
        self.0
    }
}

mod generic;
#[cfg(target_arch = "x86_64")]
mod x86;

pub(crate) use generic::{BLOCK, Prepared};
use generic::{compact_generic, masks_generic};

/// The number of mask words [`hit_masks`] writes for `n_angles` angles.
pub(crate) fn n_mask_words(n_angles: usize) -> usize {
    n_angles.div_ceil(BLOCK)
}

/// Writes one hit mask per block of 64 angles into `masks` (of length
/// [`n_mask_words`]) and returns the number of angles inside the ranges, or
/// the index of the first non-finite angle.
pub(crate) fn hit_masks(angles: &[f64], prepared: &Prepared, masks: &mut [u64], isa: Isa) -> Result<usize, usize> {
    match isa.level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: an `Isa` holds `Avx512` only if `SimdLevel::supported` found
        // AVX-512 F/BW/CD/DQ/VL, AVX2, FMA, BMI1 and POPCNT on this CPU at run
        // time: the features `x86::masks_avx512` enables.
        SimdLevel::Avx512 => unsafe { x86::masks_avx512(angles, prepared, masks) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: an `Isa` holds `Avx2` only if `SimdLevel::supported` found AVX2,
        // FMA, BMI1 and POPCNT on this CPU at run time.
        SimdLevel::Avx2 => unsafe { x86::masks_avx2(angles, prepared, masks) },
        _ => masks_generic(angles, prepared, masks),
    }
}

/// Writes the indices of the set bits of `masks`, plus `index_offset`, into
/// `out`, which must hold exactly as many slots as there are set bits.
pub(crate) fn compact(masks: &[u64], index_offset: usize, out: &mut [usize], isa: Isa) {
    match isa.level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `hit_masks`, the level was detected at run time.
        SimdLevel::Avx512 => unsafe { x86::compact_avx512(masks, index_offset, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `hit_masks`, the level was detected at run time.
        SimdLevel::Avx2 => unsafe { x86::compact_avx2(masks, index_offset, out) },
        _ => compact_generic(masks, index_offset, out),
    }
}

#[cfg(test)]
mod tests {
    use super::generic::{centered, pack_bits};
    use super::*;
    use crate::WrapMode;
    use crate::range::Intervals;

    /// The kernels enable exactly the features the shared detection rule checks.
    #[test]
    fn the_kernels_enable_the_levels_features() {
        for features in [SimdLevel::AVX512_FEATURES, SimdLevel::AVX2_FEATURES] {
            assert!(include_str!("simd/x86.rs").contains(&format!("\"{features}\"")), "{features}");
        }
    }

    #[test]
    fn centered_test_is_exact_or_refused() {
        let bounds = [
            (-10.0, 10.0),
            (170.0, 190.0),
            (80.0, 100.0),
            (0.0, 0.0),
            (1.0, 3.0),
            (100.0, 300.0),
            (0.1, 0.3),
            (-1e-300, 1e-300),
            (5e-324, 1e-323),
            (-190.0, -170.0),
            (1e300, 1.5e300),
        ];
        let mut n_centered = 0;
        for (lo, hi) in bounds {
            let Some((center, radius)) = centered(lo, hi) else { continue };
            n_centered += 1;
            let mut probes = vec![0.0, -0.0, center, -center, 2.0 * center, 0.5 * center, f64::MAX, f64::MIN];
            for value in [lo, hi, center, 0.5 * center, 2.0 * center] {
                let mut below = value;
                let mut above = value;
                for _ in 0..4 {
                    below = below.next_down();
                    above = above.next_up();
                    probes.extend([below, above, value]);
                }
            }
            for angle in probes {
                let expected = lo <= angle && angle <= hi;
                assert_eq!((angle - center).abs() <= radius, expected, "[{lo}, {hi}] at {angle}");
            }
        }
        // The default ranges, (0.1, 0.3) whose sum is inexact, and a wide range are refused or accepted as expected.
        assert!(centered(-10.0, 10.0).is_some() && centered(170.0, 190.0).is_some());
        assert!(centered(0.1, 0.3).is_none());
        assert!(centered(100.0, 300.0).is_none(), "radius 100 is not below half the center 200");
        assert!(n_centered >= 6);
    }

    #[test]
    fn default_ranges_take_the_equal_radius_kernel() {
        let prepared = Prepared::new(&Intervals::prepare(&crate::AngleRange::DEFAULT_RANGES, WrapMode::Off));
        assert!(prepared.is_linear());
        assert_eq!(prepared.centered, Some(vec![(0.0, 10.0), (180.0, 10.0)]));
    }

    #[test]
    fn pack_bits_matches_naive_shift() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..200 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let expected = state;
            let flags: [bool; BLOCK] = std::array::from_fn(|bit| expected >> bit & 1 == 1);
            assert_eq!(pack_bits(&flags), expected);
        }
    }
}
