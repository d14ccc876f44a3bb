//! x86-64: the hand-written mask kernels for the common case (the v1 convention with a
//! few intervals): LLVM's auto-vectorised packing of comparison results
//! into bit masks is several times slower than compares straight into mask
//! registers. Every other case runs the generic code compiled for the same
//! features.
#![expect(unsafe_code, reason = "intrinsics: unaligned loads, and calls between `#[target_feature]` functions")]

use std::arch::x86_64::{
    __m256d, __m512d, __m512i, _CMP_GE_OQ, _CMP_LE_OQ, _mm256_and_pd, _mm256_and_si256, _mm256_castpd_si256,
    _mm256_cmp_pd, _mm256_cmpeq_epi64, _mm256_loadu_pd, _mm256_movemask_pd, _mm256_or_si256, _mm256_set1_epi64x,
    _mm256_set1_pd, _mm256_setzero_si256, _mm256_testz_si256, _mm512_abs_pd, _mm512_castpd_si512, _mm512_cmp_pd_mask,
    _mm512_cmplt_epu64_mask, _mm512_loadu_pd, _mm512_mask_cmp_pd_mask, _mm512_max_epu64, _mm512_range_pd,
    _mm512_set1_epi64, _mm512_set1_pd, _mm512_setzero_si512, _mm512_slli_epi64, _mm512_sub_pd,
};

use super::generic::{BLOCK, Prepared, compact_generic, masks_generic, masks_with};

/// Folds the magnitudes of `angles` into `largest` as integers: a double's
/// bits shifted left by one drop the sign and order like its magnitude,
/// with NaN and infinities above every finite value. Integer max runs on
/// the vector integer pipes, which this kernel leaves idle, while the
/// floating-point pipes are what limits it: the mask pass ran 7% faster
/// than with the floating-point sum it replaced (AMD EPYC).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx2,fma,bmi1,popcnt")]
fn max_magnitude_bits(largest: __m512i, angles: __m512d) -> __m512i {
    _mm512_max_epu64(largest, _mm512_slli_epi64::<1>(_mm512_castpd_si512(angles)))
}

/// Whether every lane of a [`max_magnitude_bits`] fold is a finite
/// double's: exponent field not all ones.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx2,fma,bmi1,popcnt")]
fn all_finite(largest: __m512i) -> bool {
    const INFINITY_SHIFTED: u64 = f64::INFINITY.to_bits() << 1;
    _mm512_cmplt_epu64_mask(largest, _mm512_set1_epi64(INFINITY_SHIFTED.cast_signed())) == 0xFF
}

/// The 64-bit mask of a block from the masks of its eight groups of eight
/// lanes, group `g` in bits `8g..8g + 8`.
///
/// Written as a chain of shifts on purpose: the flat `hits |= m << 8g`
/// made LLVM's SLP vectoriser insert the eight bytes into a vector one by
/// one and reduce it. This chain, and `popcnt` enabled in every function
/// here (the count was a shift-and-mask sequence without it), took the
/// whole filter at 100K angles from 28.6 to 23.5 µs (AMD EPYC).
#[inline(always)]
fn concat_masks(group_masks: &[u8; 8]) -> u64 {
    group_masks.iter().rev().fold(0u64, |mask, &group| (mask << 8) | u64::from(group))
}

/// The first `N` intervals' bounds, each splat into a vector.
#[inline(always)]
fn interval_bounds<V, const N: usize>(prepared: &Prepared, splat: impl Fn(f64) -> V) -> [(V, V); N] {
    std::array::from_fn(|interval_idx| {
        let interval = prepared.intervals[interval_idx];
        (splat(interval.lo), splat(interval.hi))
    })
}

/// `$kernel::<N>(args)` with `N` the number of intervals of `$prepared`
/// (at most `LINEAR_MAX_INTERVALS`): the interval loop then unrolls.
macro_rules! by_interval_count {
    ($prepared:expr, $kernel:ident, $($arg:expr),*) => {
        match $prepared.intervals.len() {
            0 => $kernel::<0>($($arg),*),
            1 => $kernel::<1>($($arg),*),
            2 => $kernel::<2>($($arg),*),
            3 => $kernel::<3>($($arg),*),
            4 => $kernel::<4>($($arg),*),
            5 => $kernel::<5>($($arg),*),
            6 => $kernel::<6>($($arg),*),
            7 => $kernel::<7>($($arg),*),
            _ => $kernel::<8>($($arg),*),
        }
    };
}

/// Hit mask of one block and whether all its angles are finite, with
/// `group_hits` giving the hit mask of eight angles: the loop, the loads and
/// the finiteness test that every AVX-512 kernel shares.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx2,fma,bmi1,popcnt")]
fn block_masks_avx512_with(block: &[f64; BLOCK], mut group_hits: impl FnMut(__m512d) -> u8) -> (u64, bool) {
    let mut largest_bits = [_mm512_setzero_si512(); 2];
    let mut group_masks = [0u8; 8];
    for (lane_group_idx, lanes) in block.as_chunks::<8>().0.iter().enumerate() {
        // SAFETY: `lanes` is a `&[f64; 8]`, so eight doubles are readable
        // from its start; `loadu` has no alignment requirement.
        let angles: __m512d = unsafe { _mm512_loadu_pd(lanes.as_ptr()) };
        let largest = &mut largest_bits[lane_group_idx % 2];
        *largest = max_magnitude_bits(*largest, angles);
        group_masks[lane_group_idx] = group_hits(angles);
    }
    (concat_masks(&group_masks), all_finite(_mm512_max_epu64(largest_bits[0], largest_bits[1])))
}

/// Hit mask of one block, and whether all its angles are finite, for
/// exactly `N` intervals: with `N` known the interval loop unrolls and the
/// bounds stay in registers, which is a third of the run time at `N = 2`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx2,fma,bmi1,popcnt")]
fn block_masks_avx512_n<const N: usize>(block: &[f64; BLOCK], bounds: &[(__m512d, __m512d); N]) -> (u64, bool) {
    block_masks_avx512_with(block, |angles| {
        let mut hits = 0u8;
        for &(lo, hi) in bounds {
            let above_lo = _mm512_cmp_pd_mask::<_CMP_GE_OQ>(angles, lo);
            hits |= _mm512_mask_cmp_pd_mask::<_CMP_LE_OQ>(above_lo, angles, hi);
        }
        hits
    })
}

/// As [`block_masks_avx512_centered`] when every interval has the same
/// radius (the default and anisotropic ranges are all 20 degrees wide):
/// `min_i |a - center_i| <= radius`, where one `vrangepd` takes the
/// smaller magnitude of two differences. Selecting is exact, so this is
/// exactly the per-interval test, in half the instructions.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx2,fma,bmi1,popcnt")]
fn block_masks_avx512_equal_radius<const N: usize>(
    block: &[f64; BLOCK],
    centers: &[__m512d; N],
    radius: __m512d,
) -> (u64, bool) {
    // imm8 = 0b10_10: select the operand of smaller magnitude, clear its sign.
    const MIN_ABS: i32 = 0b1010;
    block_masks_avx512_with(block, |angles| {
        let first = _mm512_sub_pd(angles, centers[0]);
        let mut nearest = match centers.get(1) {
            Some(&second) => _mm512_range_pd::<MIN_ABS>(first, _mm512_sub_pd(angles, second)),
            None => _mm512_abs_pd(first),
        };
        for &center in centers.iter().skip(2) {
            nearest = _mm512_range_pd::<MIN_ABS>(nearest, _mm512_sub_pd(angles, center));
        }
        _mm512_cmp_pd_mask::<_CMP_LE_OQ>(nearest, radius)
    })
}

/// As [`block_masks_avx512_n`] with each interval tested as
/// `|a - center| <= radius` (exact, see `centered`): one compare per
/// interval instead of two.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx2,fma,bmi1,popcnt")]
fn block_masks_avx512_centered<const N: usize>(
    block: &[f64; BLOCK],
    centered: &[(__m512d, __m512d); N],
) -> (u64, bool) {
    block_masks_avx512_with(block, |angles| {
        let mut hits = 0u8;
        for &(center, radius) in centered {
            let distance = _mm512_abs_pd(_mm512_sub_pd(angles, center));
            hits |= _mm512_cmp_pd_mask::<_CMP_LE_OQ>(distance, radius);
        }
        hits
    })
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx2,fma,bmi1,popcnt")]
fn masks_avx512_n<const N: usize>(angles: &[f64], prepared: &Prepared, masks: &mut [u64]) -> Result<usize, usize> {
    if let Some(centered) = &prepared.centered
        && N > 0
        && centered.iter().all(|&(_, radius)| radius == centered[0].1)
    {
        let centers: [__m512d; N] = std::array::from_fn(|interval_idx| _mm512_set1_pd(centered[interval_idx].0));
        let radius = _mm512_set1_pd(centered[0].1);
        return masks_with(angles, prepared, masks, |block| block_masks_avx512_equal_radius(block, &centers, radius));
    }
    if let Some(centered) = &prepared.centered {
        let centered: [(__m512d, __m512d); N] = std::array::from_fn(|interval_idx| {
            let (center, radius) = centered[interval_idx];
            (_mm512_set1_pd(center), _mm512_set1_pd(radius))
        });
        return masks_with(angles, prepared, masks, |block| block_masks_avx512_centered(block, &centered));
    }
    let bounds: [(__m512d, __m512d); N] = interval_bounds(prepared, |bound| _mm512_set1_pd(bound));
    masks_with(angles, prepared, masks, |block| block_masks_avx512_n(block, &bounds))
}

/// As [`block_masks_avx512_n`], four lanes at a time.
#[inline]
#[target_feature(enable = "avx2,fma,bmi1,popcnt")]
fn block_masks_avx2_n<const N: usize>(block: &[f64; BLOCK], bounds: &[(__m256d, __m256d); N]) -> (u64, bool) {
    // Exponent bits all ones means NaN or infinity: an integer test per
    // vector, OR-ed into `non_finite`, one cycle deep per vector. The
    // floating-point `sum += a - a` it replaced was a chain of sixteen
    // dependent additions per block, which set the speed of this kernel
    // (with the unrolled interval loop: 30.0 to 27.3 µs at 100K angles,
    // interleaved runs on an AMD EPYC).
    let exponent = _mm256_set1_epi64x(f64::INFINITY.to_bits().cast_signed());
    let mut non_finite = _mm256_setzero_si256();
    let mut hits = 0u64;
    for (lane_group_idx, lanes) in block.as_chunks::<4>().0.iter().enumerate() {
        // SAFETY: `lanes` is a `&[f64; 4]`; `loadu` has no alignment requirement.
        let angles: __m256d = unsafe { _mm256_loadu_pd(lanes.as_ptr()) };
        let exponent_bits = _mm256_and_si256(_mm256_castpd_si256(angles), exponent);
        non_finite = _mm256_or_si256(non_finite, _mm256_cmpeq_epi64(exponent_bits, exponent));
        let mut group_hits = 0;
        for &(lo, hi) in bounds {
            let above_lo = _mm256_cmp_pd::<_CMP_GE_OQ>(angles, lo);
            let below_hi = _mm256_cmp_pd::<_CMP_LE_OQ>(angles, hi);
            group_hits |= _mm256_movemask_pd(_mm256_and_pd(above_lo, below_hi));
        }
        hits |= (group_hits as u64) << (4 * lane_group_idx);
    }
    (hits, _mm256_testz_si256(non_finite, non_finite) == 1)
}

#[inline]
#[target_feature(enable = "avx2,fma,bmi1,popcnt")]
fn masks_avx2_n<const N: usize>(angles: &[f64], prepared: &Prepared, masks: &mut [u64]) -> Result<usize, usize> {
    let bounds: [(__m256d, __m256d); N] = interval_bounds(prepared, |bound| _mm256_set1_pd(bound));
    masks_with(angles, prepared, masks, |block| block_masks_avx2_n(block, &bounds))
}

macro_rules! kernels {
    ($features:literal, $kernel_n:ident, $masks:ident, $compact:ident) => {
        #[target_feature(enable = $features)]
        pub(super) fn $masks(angles: &[f64], prepared: &Prepared, masks: &mut [u64]) -> Result<usize, usize> {
            if prepared.is_linear() {
                by_interval_count!(prepared, $kernel_n, angles, prepared, masks)
            } else {
                masks_generic(angles, prepared, masks)
            }
        }

        #[target_feature(enable = $features)]
        pub(super) fn $compact(masks: &[u64], index_offset: usize, out: &mut [usize]) {
            compact_generic(masks, index_offset, out);
        }
    };
}

kernels!("avx2,fma,bmi1,popcnt", masks_avx2_n, masks_avx2, compact_avx2);
// AVX-512 CD lets LLVM vectorise the compaction's `tzcnt` with `vplzcntq`
// instead of nibble table lookups: 3-4% of the filter at 100K angles.
kernels!(
    "avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx2,fma,bmi1,popcnt",
    masks_avx512_n,
    masks_avx512,
    compact_avx512
);
