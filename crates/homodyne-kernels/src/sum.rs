//! Accurate summation: compensated lanes and double-double numbers.
//!
//! Sums of many terms lose accuracy in two ways: rounding errors that grow
//! with the number of terms, and cancellation when terms of opposite sign
//! nearly cancel. The kernels accumulate in [`CompensatedLanes`] (Ogita, Rump
//! and Oishi's Sum2, one error term per lane): the result is as if the sum
//! were computed in twice the working precision and then rounded, so it is
//! within a few ulps of the exactly rounded sum unless the condition number
//! `sum |x| / |sum x|` exceeds about `1 / (n eps^2)`.

use crate::simd::multiversion;
use crate::simd::{Isa, LANES};

/// The exact error of `a + b`: `a + b = sum + error` exactly (Knuth's TwoSum).
#[inline(always)]
pub(crate) fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let sum = a + b;
    let b_virtual = sum - a;
    let a_virtual = sum - b_virtual;
    (sum, (a - a_virtual) + (b - b_virtual))
}

/// The exact error of `a * b`: `a * b = product + error` exactly.
#[inline(always)]
pub(crate) fn two_product(a: f64, b: f64) -> (f64, f64) {
    let product = a * b;
    (product, a.mul_add(b, -product))
}

/// [`two_product`] with a hardware FMA where `FMA`, else with Dekker's
/// splitting (no `fma` call, which is slow in software).
#[inline(always)]
pub(crate) fn two_product_with<const FMA: bool>(a: f64, b: f64) -> (f64, f64) {
    /// Dekker's split of a double into two halves of 26 bits (by 2^27 + 1).
    fn split(value: f64) -> (f64, f64) {
        let scaled = 134_217_729.0 * value;
        let high = scaled - (scaled - value);
        (high, value - high)
    }
    if FMA {
        return two_product(a, b);
    }
    let product = a * b;
    let ((a_high, a_low), (b_high, b_low)) = (split(a), split(b));
    let error = ((a_high * b_high - product) + a_high * b_low + a_low * b_high) + a_low * b_low;
    (product, error)
}

/// A double-double number `hi + lo` with `|lo| <= ulp(hi) / 2`: about 106
/// bits of precision, used where a final formula cancels heavily.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct DoubleDouble {
    pub(crate) hi: f64,
    pub(crate) lo: f64,
}

impl DoubleDouble {
    pub(crate) const fn from_f64(value: f64) -> DoubleDouble {
        DoubleDouble { hi: value, lo: 0.0 }
    }

    fn renormalized(hi: f64, lo: f64) -> DoubleDouble {
        let (hi, lo) = two_sum(hi, lo);
        DoubleDouble { hi, lo }
    }

    pub(crate) fn add(self, other: DoubleDouble) -> DoubleDouble {
        let (hi, error) = two_sum(self.hi, other.hi);
        DoubleDouble::renormalized(hi, error + self.lo + other.lo)
    }

    pub(crate) fn sub(self, other: DoubleDouble) -> DoubleDouble {
        self.add(DoubleDouble { hi: -other.hi, lo: -other.lo })
    }

    pub(crate) fn mul(self, other: DoubleDouble) -> DoubleDouble {
        let (hi, error) = two_product(self.hi, other.hi);
        DoubleDouble::renormalized(hi, error + self.hi * other.lo + self.lo * other.hi)
    }

    pub(crate) fn div(self, other: DoubleDouble) -> DoubleDouble {
        let quotient = self.hi / other.hi;
        // One Newton step on the remainder doubles the precision.
        let remainder = self.sub(other.mul(DoubleDouble::from_f64(quotient)));
        DoubleDouble::renormalized(quotient, remainder.hi / other.hi)
    }

    pub(crate) fn to_f64(self) -> f64 {
        self.hi + self.lo
    }
}

/// `LANES` running sums, each with its own compensation term.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CompensatedLanes {
    sums: [f64; LANES],
    errors: [f64; LANES],
}

impl Default for CompensatedLanes {
    fn default() -> Self {
        CompensatedLanes { sums: [0.0; LANES], errors: [0.0; LANES] }
    }
}

impl CompensatedLanes {
    /// Lanes from running sums and their error terms, kept by a kernel in
    /// local arrays.
    pub(crate) fn from_lanes(sums: [f64; LANES], errors: [f64; LANES]) -> CompensatedLanes {
        CompensatedLanes { sums, errors }
    }

    /// Adds one value per lane.
    #[inline(always)]
    pub(crate) fn add(&mut self, values: &[f64; LANES]) {
        for ((sum, error), &value) in self.sums.iter_mut().zip(&mut self.errors).zip(values) {
            let (new_sum, new_error) = two_sum(*sum, value);
            *sum = new_sum;
            *error += new_error;
        }
    }

    /// Adds one value to lane 0 (for the tail of a slice).
    #[inline(always)]
    pub(crate) fn add_one(&mut self, value: f64) {
        self.add_one_exact(value, 0.0);
    }

    /// Adds `value + error` to lane 0, where `error` is the known rounding
    /// error of `value` (from [`two_product`]).
    #[inline(always)]
    pub(crate) fn add_one_exact(&mut self, value: f64, error: f64) {
        let (new_sum, new_error) = two_sum(self.sums[0], value);
        self.sums[0] = new_sum;
        self.errors[0] += new_error + error;
    }

    /// Adds `values[k] + errors[k]` to lane `offset + k`.
    #[inline(always)]
    pub(crate) fn add_exact_at<const WIDTH: usize>(
        &mut self,
        offset: usize,
        values: &[f64; WIDTH],
        errors: &[f64; WIDTH],
    ) {
        for lane in 0..WIDTH {
            let (new_sum, new_error) = two_sum(self.sums[offset + lane], values[lane]);
            self.sums[offset + lane] = new_sum;
            self.errors[offset + lane] += new_error + errors[lane];
        }
    }

    /// The total as a double-double, combining the lanes exactly.
    pub(crate) fn total(&self) -> DoubleDouble {
        let mut total = DoubleDouble::default();
        for (&sum, &error) in self.sums.iter().zip(&self.errors) {
            total = total.add(DoubleDouble { hi: sum, lo: error });
        }
        total
    }
}

multiversion! {
    fn accurate_sum_kernel(values: &[f64]) -> DoubleDouble {
        let (chunks, tail) = values.as_chunks::<LANES>();
        let mut lanes = CompensatedLanes::default();
        for chunk in chunks {
            lanes.add(chunk);
        }
        for &value in tail {
            lanes.add_one(value);
        }
        // FMA is irrelevant to a plain sum; the parameter is unused here.
        let _ = FMA;
        lanes.total()
    }
}

/// The sum of `values`, within a few ulps of the exactly rounded sum even when
/// terms cancel (compensated summation; see the module docs for the bound).
/// NaN and infinities propagate as in a plain sum.
///
/// ```
/// // A plain left-to-right sum returns 0 here; the exact sum is 2.
/// let values = [1e16, 1.0, -1e16, 1.0];
/// assert_eq!(homodyne_kernels::accurate_sum(&values), 2.0);
/// ```
pub fn accurate_sum(values: &[f64]) -> f64 {
    accurate_sum_with(Isa::detect(), values)
}

pub(crate) fn accurate_sum_with(isa: Isa, values: &[f64]) -> f64 {
    let total = accurate_sum_kernel(isa, values);
    if total.hi.is_finite() { total.to_f64() } else { values.iter().sum() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_double_arithmetic_is_exact_where_doubles_are_not() {
        let third = DoubleDouble::from_f64(1.0).div(DoubleDouble::from_f64(3.0));
        let back = third.mul(DoubleDouble::from_f64(3.0)).sub(DoubleDouble::from_f64(1.0));
        assert!(back.to_f64().abs() < 1e-31, "{back:?}");
        let big = DoubleDouble::from_f64(1e16).add(DoubleDouble::from_f64(1.0)).sub(DoubleDouble::from_f64(1e16));
        assert_eq!(big.to_f64(), 1.0);
        assert_eq!(two_product(1.0 + f64::EPSILON, 1.0 + f64::EPSILON).1, f64::EPSILON * f64::EPSILON);
    }

    #[test]
    fn dekker_and_fma_products_agree() {
        let values = [1.0 / 3.0, 0.1, 1e10 + 0.5, -7.25e-5, 1.0 + f64::EPSILON];
        for &a in &values {
            for &b in &values {
                assert_eq!(two_product_with::<false>(a, b), two_product_with::<true>(a, b), "{a} * {b}");
            }
        }
    }

    #[test]
    fn every_instruction_set_sums_the_same() {
        let values: Vec<f64> = (0..1000).map(|i| if i % 2 == 0 { 1e15 + f64::from(i) } else { -1e15 }).collect();
        let exact: f64 = (0..1000).step_by(2).map(f64::from).sum();
        for isa in Isa::available() {
            assert_eq!(accurate_sum_with(isa, &values), exact, "{isa:?}");
        }
        assert!(accurate_sum(&[1.0, f64::NAN]).is_nan());
        assert_eq!(accurate_sum(&[f64::INFINITY, 1.0]), f64::INFINITY);
        assert_eq!(accurate_sum(&[]), 0.0);
    }
}
