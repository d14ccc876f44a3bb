//! The AVX-512 kernel of the fused pass, written with intrinsics: whole
//! rows, in order, behind a safe dispatcher ([`row_strip_sums`]).
#![expect(unsafe_code, reason = "the AVX-512 kernel: intrinsics and its call after the CPU check")]

use crate::simd::{Isa, SimdLevel};
use crate::sum::DoubleDouble;

use super::block::RowTask;

/// The off-diagonal sums of one block row (as `block::block_row_sums`
/// computes them) by the AVX-512 kernel, or `None` where it does not apply:
/// another instruction set, or factors out of range (the generic kernel's
/// one `exp` per element then runs).
pub(super) fn row_strip_sums(isa: Isa, task: &RowTask<'_>) -> Option<[DoubleDouble; 3]> {
    if !task.context.factorised || isa.level() != SimdLevel::Avx512 {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: an `Isa` at the AVX-512 level exists only if the CPU was
        // found to have AVX-512 F/BW/CD/DQ/VL, AVX2 and FMA at run time
        // (`SimdLevel::supported`), a superset of what this kernel enables.
        Some(unsafe { x86::row_strip_sums_avx512(task) })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        __m512d, _CMP_LT_OQ, _mm512_abs_pd, _mm512_add_pd, _mm512_cmp_pd_mask, _mm512_div_pd, _mm512_fmadd_pd,
        _mm512_fmsub_pd, _mm512_loadu_pd, _mm512_mask_blend_pd, _mm512_maskz_loadu_pd, _mm512_mul_pd, _mm512_set1_pd,
        _mm512_setzero_pd, _mm512_storeu_pd, _mm512_sub_pd,
    };

    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};

    use crate::objective::block::{BLOCK, HALF, RowTask, SERIES_LIMIT, ShearFactors};

    /// How far ahead in a row the data are prefetched, in doubles (1 KiB).
    /// The rows are read in order, yet on the test machine the explicit
    /// prefetch cut the time at (23, 1000) from 20.9 to 15.0 ms: without it
    /// the kernel waits for memory instead of overlapping it with arithmetic.
    const PREFETCH_AHEAD: usize = 128;
    use crate::sum::CompensatedLanes;
    use crate::sum::DoubleDouble;

    /// `hi + lo += value + error` with the rounding of `hi + value` kept exactly (TwoSum).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn accumulate(hi: &mut __m512d, lo: &mut __m512d, value: __m512d, error: __m512d) {
        let sum = _mm512_add_pd(*hi, value);
        let value_virtual = _mm512_sub_pd(sum, *hi);
        let hi_virtual = _mm512_sub_pd(sum, value_virtual);
        let rounding = _mm512_add_pd(_mm512_sub_pd(*hi, hi_virtual), _mm512_sub_pd(value, value_virtual));
        *lo = _mm512_add_pd(*lo, _mm512_add_pd(rounding, error));
        *hi = sum;
    }

    /// The off-diagonal sums of the rows of one block row, computed row by
    /// row over whole rows: the theory is evaluated for both triangles (twice
    /// the arithmetic of the symmetric block kernel), but the data stream
    /// through in order. Reading the mirror triangle column-wise costs far
    /// more once the data outgrow the caches: its rows are a page apart,
    /// which defeats the prefetchers and the TLB.
    #[target_feature(enable = "avx512f,avx512dq,fma")]
    pub(super) fn row_strip_sums_avx512(task: &RowTask<'_>) -> [DoubleDouble; 3] {
        let RowTask { context, shear, data, block_row } = *task;
        let n = context.n_frames;
        let mut lanes = [CompensatedLanes::default(); 3];
        for row in block_row * BLOCK..((block_row + 1) * BLOCK).min(n) {
            let data_row = &data[row * n..(row + 1) * n];
            let mut sums = RowSums::new();
            // exp(-k |c_q - c_p|) is b_q a_p left of the diagonal and a_q b_p
            // right of it; the diagonal itself (T = 1) is added exactly later.
            let left = Segment { factors: context.row_factor, scale: context.column_factor[row], end: row };
            let right = Segment { factors: context.column_factor, scale: context.row_factor[row], end: n };
            sums.add_segment::<false>(context.shear, shear, row, data_row, &left, 0);
            sums.add_segment::<true>(context.shear, shear, row, data_row, &right, row + 1);
            sums.store_into(&mut lanes);
        }
        // `sum T` and `sum T^2` were taken over the upper triangle only.
        let two = DoubleDouble::from_f64(2.0);
        let [sum_t, sum_tt, sum_te] = lanes.map(|lane| lane.total());
        [sum_t.mul(two), sum_tt.mul(two), sum_te]
    }

    /// A stretch of a row: `g1 = factors[q] * scale` for `q < end`.
    struct Segment<'s> {
        factors: &'s [f64],
        scale: f64,
        end: usize,
    }

    /// Exact running sums of `T`, `T^2` and `T E` over one row, per lane.
    struct RowSums {
        t: (__m512d, __m512d),
        tt: (__m512d, __m512d),
        te: (__m512d, __m512d),
    }

    impl RowSums {
        #[inline]
        #[target_feature(enable = "avx512f")]
        fn new() -> RowSums {
            let zero = _mm512_setzero_pd();
            RowSums { t: (zero, zero), tt: (zero, zero), te: (zero, zero) }
        }

        /// Adds one segment of a row to `sum T E`, and, where `UPPER`, to
        /// `sum T` and `sum T^2` (symmetric, so the upper triangle suffices).
        #[inline]
        #[target_feature(enable = "avx512f,avx512dq,fma")]
        fn add_segment<const UPPER: bool>(
            &mut self,
            has_shear: bool,
            shear: &ShearFactors<'_>,
            row: usize,
            data_row: &[f64],
            segment: &Segment<'_>,
            first: usize,
        ) {
            let zero = _mm512_setzero_pd();
            let one = _mm512_set1_pd(1.0);
            let limit = _mm512_set1_pd(SERIES_LIMIT);
            let series = [1.0 / 362_880.0, -1.0 / 5040.0, 1.0 / 120.0, -1.0 / 6.0].map(|c| _mm512_set1_pd(c));
            let scale = _mm512_set1_pd(segment.scale);
            let (theta_p, sin_p, cos_p) = (
                _mm512_set1_pd(shear.theta[row]),
                _mm512_set1_pd(shear.sin_theta[row]),
                _mm512_set1_pd(shear.cos_theta[row]),
            );
            let mut start = first;
            while start < segment.end {
                if let Some(ahead) = data_row.get(start + PREFETCH_AHEAD) {
                    // A hint only: it never faults and changes nothing observable.
                    _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(ahead).cast::<i8>());
                }
                let count = (segment.end - start).min(HALF);
                let valid = if count == HALF { 0xFF } else { (1u8 << count) - 1 };
                let g1 = _mm512_mul_pd(load_masked(segment.factors, start, valid), scale);
                let theory = if has_shear {
                    let (theta_q, sin_q, cos_q) = (
                        load_masked(shear.theta, start, valid),
                        load_masked(shear.sin_theta, start, valid),
                        load_masked(shear.cos_theta, start, valid),
                    );
                    // Element (p, q) left of the diagonal is evaluated exactly
                    // as its mirror (q, p) right of it, with the same operands
                    // in the same order: the closed-form residual cancels so
                    // much that a one-ulp asymmetry between the two would show.
                    let (d, sine) = if UPPER {
                        (_mm512_sub_pd(theta_q, theta_p), _mm512_fmsub_pd(sin_q, cos_p, _mm512_mul_pd(cos_q, sin_p)))
                    } else {
                        (_mm512_sub_pd(theta_p, theta_q), _mm512_fmsub_pd(sin_p, cos_q, _mm512_mul_pd(cos_p, sin_q)))
                    };
                    // The quotient loses accuracy to cancellation for small d,
                    // where the series is exact; most vectors have no such lane.
                    let near = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(_mm512_abs_pd(d), limit);
                    let quotient = _mm512_div_pd(sine, _mm512_mask_blend_pd(near, d, one));
                    let sinc = if near == 0 {
                        quotient
                    } else {
                        let d2 = _mm512_mul_pd(d, d);
                        let mut poly = _mm512_fmadd_pd(d2, series[0], series[1]);
                        poly = _mm512_fmadd_pd(d2, poly, series[2]);
                        poly = _mm512_fmadd_pd(d2, poly, series[3]);
                        poly = _mm512_fmadd_pd(d2, poly, one);
                        _mm512_mask_blend_pd(near, quotient, poly)
                    };
                    let damped = _mm512_mul_pd(_mm512_mul_pd(sinc, sinc), g1);
                    _mm512_mul_pd(damped, damped)
                } else {
                    _mm512_mul_pd(g1, g1)
                };
                // Masked-off lanes loaded zeros, so their theory is 0 (g1 = 0).
                let t = theory;
                let values = load_masked(data_row, start, valid);
                let product = _mm512_mul_pd(t, values);
                let product_error = _mm512_fmsub_pd(t, values, product);
                accumulate(&mut self.te.0, &mut self.te.1, product, product_error);
                if UPPER {
                    let square = _mm512_mul_pd(t, t);
                    let square_error = _mm512_fmsub_pd(t, t, square);
                    accumulate(&mut self.t.0, &mut self.t.1, t, zero);
                    accumulate(&mut self.tt.0, &mut self.tt.1, square, square_error);
                }
                start += count;
            }
        }

        #[target_feature(enable = "avx512f")]
        fn store_into(&self, lanes: &mut [CompensatedLanes; 3]) {
            for (sum, (hi, lo)) in lanes.iter_mut().zip([self.t, self.tt, self.te]) {
                let (mut hi_lanes, mut lo_lanes) = ([0.0; HALF], [0.0; HALF]);
                // SAFETY: both arrays hold eight writable doubles; `storeu` needs no alignment.
                unsafe {
                    _mm512_storeu_pd(hi_lanes.as_mut_ptr(), hi);
                    _mm512_storeu_pd(lo_lanes.as_mut_ptr(), lo);
                }
                sum.add_exact_at(0, &hi_lanes, &lo_lanes);
            }
        }
    }

    /// The lanes of `values[start..start + 8]` selected by `mask`, zero elsewhere.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load_masked(values: &[f64], start: usize, mask: u8) -> __m512d {
        if mask == 0xFF {
            return load_at(values, start);
        }
        let tail = &values[start.min(values.len())..];
        // SAFETY: `mask` selects only lanes below `tail.len()` (the caller
        // builds it from the row length), and masked-off lanes are not read.
        unsafe { _mm512_maskz_loadu_pd(mask, tail.as_ptr()) }
    }

    /// Eight doubles of `values` from `start`, or zeros past the end.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load_at(values: &[f64], start: usize) -> __m512d {
        match values.get(start..start + HALF) {
            // SAFETY: the slice holds eight readable doubles; `loadu` needs no alignment.
            Some(lanes) => unsafe { _mm512_loadu_pd(lanes.as_ptr()) },
            None => _mm512_setzero_pd(),
        }
    }
}
