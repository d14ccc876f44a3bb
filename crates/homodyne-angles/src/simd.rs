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

use crate::WrapMode;
use crate::range::{Interval, Intervals, normalize_deg};

pub use homodyne_simd::SimdLevel;

/// Angles per block: one bit each in a `u64` mask.
pub(crate) const BLOCK: usize = 64;

/// Up to this many merged intervals the kernel compares every angle with every
/// interval (branch-free, vectorised); above it, a binary search over the
/// sorted boundaries is cheaper.
const LINEAR_MAX_INTERVALS: usize = 8;

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

/// The ranges in the form the kernel searches.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    intervals: Vec<Interval>,
    /// `(center, radius)` of every interval, if each one can be tested exactly
    /// as `|a - center| <= radius` (see [`centered`]).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    centered: Option<Vec<(f64, f64)>>,
    los: Vec<f64>,
    his: Vec<f64>,
    wrap: WrapMode,
}

impl Prepared {
    pub(crate) fn new(intervals: &Intervals) -> Prepared {
        let (los, his) = intervals.bounds();
        let centered: Option<Vec<(f64, f64)>> =
            intervals.intervals.iter().map(|interval| centered(interval.lo, interval.hi)).collect();
        Prepared { intervals: intervals.intervals.clone(), centered, los, his, wrap: intervals.wrap }
    }

    /// The v1 convention with few enough intervals to compare each one.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    fn is_linear(&self) -> bool {
        self.wrap == WrapMode::Off && self.intervals.len() <= LINEAR_MAX_INTERVALS
    }
}

/// The exact error of the rounded sum `sum = fl(x + y)` (Knuth's TwoSum).
fn two_sum_error(x: f64, y: f64, sum: f64) -> f64 {
    let y_virtual = sum - x;
    let x_virtual = sum - y_virtual;
    (x - x_virtual) + (y - y_virtual)
}

/// `(center, radius)` such that `|a - center| <= radius` holds for exactly
/// the same doubles `a` as `lo <= a <= hi`, or `None`.
///
/// That needs `center = (lo + hi) / 2` and `radius = (hi - lo) / 2` to be
/// exact, and `a - center` to be exact wherever the answer could change: it is
/// when `center == 0`, and otherwise for `a` within a factor of two of
/// `center` (Sterbenz's lemma); farther away `|a - center| >= |center| / 2`
/// even after rounding, so `radius < |center| / 2` keeps those angles out.
/// The test costs one compare instead of two, and compares are what limits
/// the AVX-512 kernel.
fn centered(lo: f64, hi: f64) -> Option<(f64, f64)> {
    let sum = lo + hi;
    let difference = hi - lo;
    if two_sum_error(lo, hi, sum) != 0.0 || two_sum_error(hi, -lo, difference) != 0.0 {
        return None;
    }
    let (center, radius) = (sum * 0.5, difference * 0.5);
    if center * 2.0 != sum || radius * 2.0 != difference || !center.is_finite() || !radius.is_finite() {
        return None;
    }
    (center == 0.0 || radius < center.abs() * 0.5).then_some((center, radius))
}

/// Packs 64 booleans into a `u64`, element `i` into bit `i`.
#[inline(always)]
fn pack_bits(flags: &[bool; BLOCK]) -> u64 {
    let mut mask = 0u64;
    for (byte_group_idx, group) in flags.chunks_exact(8).enumerate() {
        let mut bytes = [0u8; 8];
        for (byte, &flag) in bytes.iter_mut().zip(group) {
            *byte = u8::from(flag);
        }
        // Each byte is 0 or 1; the multiplication moves byte k's low bit to
        // bit 56 + k without carries, so the top byte holds the eight flags.
        let gathered = u64::from_le_bytes(bytes).wrapping_mul(0x0102_0408_1020_4080) >> 56;
        mask |= gathered << (8 * byte_group_idx);
    }
    mask
}

/// Folds a block into `(-180, 180]` exactly as [`normalize_deg`] does.
///
/// For `|a| < 360` the remainder is `a` itself, so the fold is two selects
/// that vectorise; other values take the exact scalar path.
#[inline(always)]
fn fold_block(block: &[f64; BLOCK]) -> [f64; BLOCK] {
    let mut folded = [0.0f64; BLOCK];
    let mut all_small = true;
    for (out, &angle) in folded.iter_mut().zip(block) {
        all_small &= angle.abs() < 360.0;
        let shifted = if angle < 0.0 { angle + 360.0 } else { angle };
        *out = if shifted > 180.0 { shifted - 360.0 } else { shifted };
    }
    if !all_small {
        for (out, &angle) in folded.iter_mut().zip(block) {
            *out = normalize_deg(angle);
        }
    }
    folded
}

/// Hit mask and non-finite mask of one block.
#[inline(always)]
fn block_masks(block: &[f64; BLOCK], prepared: &Prepared) -> (u64, u64) {
    let mut non_finite = [false; BLOCK];
    for (flag, &angle) in non_finite.iter_mut().zip(block) {
        *flag = !angle.is_finite();
    }
    let folded;
    let values = match prepared.wrap {
        WrapMode::Off => block,
        WrapMode::Periodic => {
            folded = fold_block(block);
            &folded
        }
    };
    let mut hits = [false; BLOCK];
    if prepared.intervals.len() <= LINEAR_MAX_INTERVALS {
        for interval in &prepared.intervals {
            let (lo, hi) = (interval.lo, interval.hi);
            for (hit, &value) in hits.iter_mut().zip(values) {
                // `&` rather than `&&`: no branch, so the loop vectorises.
                #[expect(clippy::needless_bitwise_bool, reason = "no branch, so the loop vectorises")]
                let inside = (value >= lo) & (value <= hi);
                *hit |= inside;
            }
        }
    } else {
        for (hit, &value) in hits.iter_mut().zip(values) {
            let above = prepared.los.partition_point(|&lo| lo <= value);
            *hit = above > 0 && value <= prepared.his[above - 1];
        }
    }
    (pack_bits(&hits), pack_bits(&non_finite))
}

/// Writes the hit mask of every block of `angles` into `masks` (one word per
/// block, the last one padded) and returns the number of hits, or the index of
/// the first non-finite angle. `full_block_masks` computes the hit mask of a
/// full block and whether all its angles are finite.
#[inline(always)]
fn masks_with(
    angles: &[f64],
    prepared: &Prepared,
    masks: &mut [u64],
    mut full_block_masks: impl FnMut(&[f64; BLOCK]) -> (u64, bool),
) -> Result<usize, usize> {
    let (blocks, tail) = angles.as_chunks::<BLOCK>();
    let mut n_hits = 0usize;
    for ((block_idx, block), mask) in blocks.iter().enumerate().zip(masks.iter_mut()) {
        let (mut hits, all_finite) = full_block_masks(block);
        if !all_finite {
            // Rare: the generic kernel names the exact index, or, if a fast
            // kernel's check only overflowed on huge finite angles, gives the hits.
            let (generic_hits, non_finite) = block_masks(block, prepared);
            if non_finite != 0 {
                return Err(block_idx * BLOCK + non_finite.trailing_zeros() as usize);
            }
            hits = generic_hits;
        }
        *mask = hits;
        n_hits += hits.count_ones() as usize;
    }
    if !tail.is_empty() {
        let mut padded = [0.0f64; BLOCK];
        padded[..tail.len()].copy_from_slice(tail);
        let valid = (1u64 << tail.len()) - 1;
        let (hits, non_finite) = block_masks(&padded, prepared);
        if non_finite & valid != 0 {
            return Err(blocks.len() * BLOCK + non_finite.trailing_zeros() as usize);
        }
        if let Some(mask) = masks.get_mut(blocks.len()) {
            *mask = hits & valid;
            n_hits += (hits & valid).count_ones() as usize;
        }
    }
    Ok(n_hits)
}

#[inline(always)]
fn masks_generic(angles: &[f64], prepared: &Prepared, masks: &mut [u64]) -> Result<usize, usize> {
    masks_with(angles, prepared, masks, |block| {
        let (hits, non_finite) = block_masks(block, prepared);
        (hits, non_finite == 0)
    })
}

/// Writes the indices of the set bits of `masks` (bit `i` of word `w` is
/// index `index_offset + 64 w + i`) into `out`, which holds exactly as many
/// slots as there are set bits.
#[inline(always)]
fn compact_generic(masks: &[u64], index_offset: usize, out: &mut [usize]) {
    let mut position = 0usize;
    for (block_idx, &hits) in masks.iter().enumerate() {
        let n_hits = hits.count_ones() as usize;
        let first_index = index_offset + block_idx * BLOCK;
        let mut remaining = hits;
        if let Some(window) = out.get_mut(position..position + BLOCK) {
            // Fast path: write eight indices at a time without testing each
            // bit, so that the loop rarely mispredicts. Slots past this block's
            // hits get a junk value that the following blocks overwrite, which
            // is why a full block of room is required.
            let mut n_written = 0;
            while n_written < n_hits {
                for slot in &mut window[n_written..n_written + 8] {
                    *slot = first_index + remaining.trailing_zeros() as usize;
                    remaining &= remaining.wrapping_sub(1);
                }
                n_written += 8;
            }
        } else {
            for slot in out.iter_mut().skip(position).take(n_hits) {
                *slot = first_index + remaining.trailing_zeros() as usize;
                remaining &= remaining - 1;
            }
        }
        position += n_hits;
    }
}

#[cfg(target_arch = "x86_64")]
mod x86;

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
    use super::*;

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
