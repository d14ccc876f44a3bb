//! Statistical kernels: Pearson correlation and chi-squared, single and batched.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut1, Axis, Zip};
use rayon::prelude::*;

use crate::KernelError;
use crate::error::same_shape;
use crate::simd::multiversion;
use crate::simd::{Isa, LANES, mul_add};
use crate::sum::{CompensatedLanes, DoubleDouble};

/// Points per chunk. The chunks are fixed, not one per thread, and their
/// partial sums are merged in order, so results are bit-identical whatever
/// the number of threads.
const CHUNK: usize = 1 << 16;

/// From this many points the single-pair kernels run their chunks on the
/// rayon pool; below it the hand-over costs more than it saves.
const PARALLEL_MIN_POINTS: usize = 1 << 18;

/// Sums of shifted data: `sum dx`, `sum dy`, `sum dx^2`, `sum dy^2`, `sum dx dy`
/// with `dx = x - shift_x`, `dy = y - shift_y`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Moments {
    sx: f64,
    sy: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

impl Moments {
    fn merge(self, other: Moments) -> Moments {
        Moments {
            sx: self.sx + other.sx,
            sy: self.sy + other.sy,
            sxx: self.sxx + other.sxx,
            syy: self.syy + other.syy,
            sxy: self.sxy + other.sxy,
        }
    }
}

multiversion! {
    fn shifted_moments(x: &[f64], y: &[f64], shift_x: f64, shift_y: f64) -> Moments {
        let mut sx = [0.0; LANES];
        let mut sy = [0.0; LANES];
        let mut sxx = [0.0; LANES];
        let mut syy = [0.0; LANES];
        let mut sxy = [0.0; LANES];
        let (x_chunks, x_tail) = x.as_chunks::<LANES>();
        let (y_chunks, y_tail) = y.as_chunks::<LANES>();
        for (x_chunk, y_chunk) in x_chunks.iter().zip(y_chunks) {
            for lane in 0..LANES {
                let dx = x_chunk[lane] - shift_x;
                let dy = y_chunk[lane] - shift_y;
                sx[lane] += dx;
                sy[lane] += dy;
                sxx[lane] = mul_add::<FMA>(dx, dx, sxx[lane]);
                syy[lane] = mul_add::<FMA>(dy, dy, syy[lane]);
                sxy[lane] = mul_add::<FMA>(dx, dy, sxy[lane]);
            }
        }
        for (&x_value, &y_value) in x_tail.iter().zip(y_tail) {
            let dx = x_value - shift_x;
            let dy = y_value - shift_y;
            sx[0] += dx;
            sy[0] += dy;
            sxx[0] = mul_add::<FMA>(dx, dx, sxx[0]);
            syy[0] = mul_add::<FMA>(dy, dy, syy[0]);
            sxy[0] = mul_add::<FMA>(dx, dy, sxy[0]);
        }
        let total = |lanes: [f64; LANES]| pairwise_lanes(&lanes);
        Moments { sx: total(sx), sy: total(sy), sxx: total(sxx), syy: total(syy), sxy: total(sxy) }
    }
}

/// Sums 16 lanes pairwise, in a fixed order.
#[inline(always)]
fn pairwise_lanes(lanes: &[f64; LANES]) -> f64 {
    let mut width = LANES;
    let mut values = *lanes;
    while width > 1 {
        width /= 2;
        for lane in 0..width {
            values[lane] += values[lane + width];
        }
    }
    values[0]
}

fn moments(isa: Isa, x: &[f64], y: &[f64], shift_x: f64, shift_y: f64) -> Moments {
    let chunk_moments = |(x_chunk, y_chunk): (&[f64], &[f64])| shifted_moments(isa, x_chunk, y_chunk, shift_x, shift_y);
    if x.len() >= PARALLEL_MIN_POINTS {
        let partial: Vec<Moments> = x.par_chunks(CHUNK).zip(y.par_chunks(CHUNK)).map(chunk_moments).collect();
        partial.into_iter().fold(Moments::default(), Moments::merge)
    } else {
        x.chunks(CHUNK).zip(y.chunks(CHUNK)).map(chunk_moments).fold(Moments::default(), Moments::merge)
    }
}

fn first_non_finite(values: &[f64]) -> Option<usize> {
    values.iter().position(|value| !value.is_finite())
}

/// Pearson's correlation coefficient r of `x` and `y`.
///
/// One pass over shifted data (the shift is the mean of the first 16 points),
/// which keeps full accuracy for data far from zero (mean 1e9 and unit
/// variance gives r to about 1e-14); if the shift turns out to be far from the
/// mean, a second pass shifts by the mean. Large inputs run in fixed chunks on
/// the rayon pool, merged in order: the result does not depend on the number
/// of threads.
///
/// # Errors
/// [`KernelError::LengthMismatch`], [`KernelError::TooFewPoints`] (fewer than
/// 2), [`KernelError::NonFinite`] naming the first bad index, and
/// [`KernelError::ZeroVariance`].
pub fn fast_correlation(x: &[f64], y: &[f64]) -> Result<f64, KernelError> {
    fast_correlation_with(Isa::detect(), x, y)
}

pub(crate) fn fast_correlation_with(isa: Isa, x: &[f64], y: &[f64]) -> Result<f64, KernelError> {
    correlation(isa, x, y, true)
}

fn correlation(isa: Isa, x: &[f64], y: &[f64], may_rescale: bool) -> Result<f64, KernelError> {
    same_shape("x and y", &[x.len()], &[y.len()])?;
    let n_points = x.len();
    if n_points < 2 {
        return Err(KernelError::TooFewPoints { what: "correlation", needed: 2, got: n_points });
    }
    // The shift: the mean of the first 16 points, summed as a tree (a serial
    // sum of 64 points cost 7% of the run time at 10K points).
    let mut shift_x = head_mean(x);
    let mut shift_y = head_mean(y);
    let mut sums = moments(isa, x, y, shift_x, shift_y);
    // Squares that overflow, or that underflow for data that are not constant.
    let out_of_range = |sum_sq: f64, values: &[f64]| {
        !sum_sq.is_finite() || (sum_sq < 1e-250 && values.iter().any(|&v| v != values[0]))
    };
    if (out_of_range(sums.sxx, x) || out_of_range(sums.syy, y) || !sums.sxy.is_finite()) && may_rescale {
        if let Some(error) = non_finite_pair(x, y) {
            return Err(error);
        }
        // Squares overflow (data near 1e300) or underflow (near 1e-300):
        // r does not depend on the scale, so rescale by powers of two (exact).
        let x_scaled = rescaled(x);
        let y_scaled = rescaled(y);
        return correlation(isa, &x_scaled, &y_scaled, false);
    }
    let n = n_points as f64;
    let centered = |sum: f64, sum_sq: f64| sum_sq - sum * sum / n;
    if centered(sums.sx, sums.sxx) < 0.5 * sums.sxx || centered(sums.sy, sums.syy) < 0.5 * sums.syy {
        // The shift was far from the mean, so the centred sums lost more than
        // one bit to cancellation: shift by the mean and sum again.
        shift_x += sums.sx / n;
        shift_y += sums.sy / n;
        sums = moments(isa, x, y, shift_x, shift_y);
    }
    let var_x = centered(sums.sx, sums.sxx);
    let var_y = centered(sums.sy, sums.syy);
    // After shifting by the mean, a variance that is still mostly cancellation
    // is rounding noise of constant data.
    let noise_floor = |sum_sq: f64| 16.0 * n * f64::EPSILON * sum_sq;
    if var_x <= noise_floor(sums.sxx) || var_x < 0.5 * sums.sxx {
        return Err(KernelError::ZeroVariance { what: "x".to_owned() });
    }
    if var_y <= noise_floor(sums.syy) || var_y < 0.5 * sums.syy {
        return Err(KernelError::ZeroVariance { what: "y".to_owned() });
    }
    let covariance = sums.sxy - sums.sx * sums.sy / n;
    Ok((covariance / (var_x.sqrt() * var_y.sqrt())).clamp(-1.0, 1.0))
}

/// The mean of the first 16 values (or all, if fewer), summed pairwise.
fn head_mean(values: &[f64]) -> f64 {
    let mut head = [0.0; 16];
    let n_head = values.len().min(16);
    head[..n_head].copy_from_slice(&values[..n_head]);
    let mut width = 16;
    while width > 1 {
        width /= 2;
        for lane in 0..width {
            head[lane] += head[lane + width];
        }
    }
    head[0] / n_head as f64
}

/// The first NaN or infinite value of `x` or `y`, by index.
fn non_finite_pair(x: &[f64], y: &[f64]) -> Option<KernelError> {
    match (first_non_finite(x), first_non_finite(y)) {
        (Some(index_x), Some(index_y)) if index_y < index_x => {
            Some(KernelError::NonFinite { what: "y", index: vec![index_y], value: y[index_y] })
        }
        (Some(index_x), _) => Some(KernelError::NonFinite { what: "x", index: vec![index_x], value: x[index_x] }),
        (None, Some(index_y)) => Some(KernelError::NonFinite { what: "y", index: vec![index_y], value: y[index_y] }),
        (None, None) => None,
    }
}

/// `values` times a power of two that brings their spread near 1.
fn rescaled(values: &[f64]) -> Vec<f64> {
    let max = max_abs(values);
    let min = values.iter().fold(f64::INFINITY, |min, value| min.min(*value));
    let max_value = values.iter().fold(f64::NEG_INFINITY, |max, value| max.max(*value));
    // Halving before subtracting keeps the spread finite for data of both signs near f64::MAX.
    let spread = (max_value * 0.5 - min * 0.5).max(f64::MIN_POSITIVE);
    let exponent = spread.log2().floor().clamp(-1000.0, 1000.0) as i32;
    let scale = 2f64.powi(-exponent);
    if max == 0.0 { values.to_vec() } else { values.iter().map(|value| value * scale).collect() }
}

fn max_abs(values: &[f64]) -> f64 {
    values.iter().fold(0.0, |max, value| max.max(value.abs()))
}

multiversion! {
    fn dot(a: &[f64], b: &[f64]) -> f64 {
        let mut lanes = [0.0; LANES];
        let (a_chunks, a_tail) = a.as_chunks::<LANES>();
        let (b_chunks, b_tail) = b.as_chunks::<LANES>();
        for (a_chunk, b_chunk) in a_chunks.iter().zip(b_chunks) {
            for lane in 0..LANES {
                lanes[lane] = mul_add::<FMA>(a_chunk[lane], b_chunk[lane], lanes[lane]);
            }
        }
        for (&a_value, &b_value) in a_tail.iter().zip(b_tail) {
            lanes[0] = mul_add::<FMA>(a_value, b_value, lanes[0]);
        }
        pairwise_lanes(&lanes)
    }
}

/// Each row centred on its mean and scaled to unit norm.
fn standardized_rows(matrix: ArrayView2<'_, f64>, what: &'static str) -> Result<Array2<f64>, KernelError> {
    let mut standardized = matrix.as_standard_layout().into_owned();
    let n_cols = standardized.ncols();
    let Some(flat) = standardized.as_slice_mut() else {
        return Err(KernelError::LengthMismatch { what: "matrix layout", left: vec![0], right: vec![n_cols] });
    };
    for (row_idx, values) in flat.chunks_exact_mut(n_cols).enumerate() {
        if let Some(col_idx) = first_non_finite(values) {
            return Err(KernelError::NonFinite { what, index: vec![row_idx, col_idx], value: values[col_idx] });
        }
        let mean = crate::accurate_sum(values) / values.len() as f64;
        for value in values.iter_mut() {
            *value -= mean;
        }
        let norm = values.iter().map(|value| value * value).sum::<f64>().sqrt();
        if norm == 0.0 || !norm.is_finite() {
            return Err(KernelError::ZeroVariance { what: format!("row {row_idx} of {what}") });
        }
        for value in values.iter_mut() {
            *value /= norm;
        }
    }
    Ok(standardized)
}

/// Pearson's r between every row of `a` (shape `(m, n)`) and every row of `b`
/// (shape `(k, n)`), as an `(m, k)` matrix, parallel over rows of `a` (v1's
/// numba correlation matrix).
///
/// # Errors
/// [`KernelError::LengthMismatch`] if the rows differ in length,
/// [`KernelError::TooFewPoints`] for rows shorter than 2,
/// [`KernelError::NonFinite`] naming `[row, column]`, and
/// [`KernelError::ZeroVariance`] naming the constant row (v1 silently returned 0).
pub fn correlation_matrix(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Result<Array2<f64>, KernelError> {
    same_shape("row lengths of a and b", &[a.ncols()], &[b.ncols()])?;
    if a.ncols() < 2 {
        return Err(KernelError::TooFewPoints { what: "correlation", needed: 2, got: a.ncols() });
    }
    let isa = Isa::detect();
    let a_standardized = standardized_rows(a, "a")?;
    let b_standardized = standardized_rows(b, "b")?;
    let mut out = Array2::zeros((a.nrows(), b.nrows()));
    let n_cols = a.ncols();
    let (Some(a_flat), Some(b_flat)) = (a_standardized.as_slice(), b_standardized.as_slice()) else {
        return Err(KernelError::LengthMismatch { what: "matrix layout", left: vec![0], right: vec![n_cols] });
    };
    out.axis_iter_mut(Axis(0)).into_par_iter().zip(a_flat.par_chunks_exact(n_cols)).for_each(
        |(mut out_row, a_values)| {
            for (value, b_values) in out_row.iter_mut().zip(b_flat.chunks_exact(n_cols)) {
                *value = dot(isa, a_values, b_values).clamp(-1.0, 1.0);
            }
        },
    );
    Ok(out)
}

multiversion! {
    /// Pearson chi-squared terms of one slice, compensated, with the smallest
    /// expected value (to detect non-positive ones without a branch).
    fn pearson_terms(observed: &[f64], expected: &[f64]) -> (DoubleDouble, f64) {
        let mut lanes = CompensatedLanes::default();
        let mut smallest = [f64::INFINITY; LANES];
        let (o_chunks, o_tail) = observed.as_chunks::<LANES>();
        let (e_chunks, e_tail) = expected.as_chunks::<LANES>();
        for (o_chunk, e_chunk) in o_chunks.iter().zip(e_chunks) {
            let mut terms = [0.0; LANES];
            for lane in 0..LANES {
                let difference = o_chunk[lane] - e_chunk[lane];
                // `d * (d / e)` rather than `d^2 / e`: no overflow for data near 1e300.
                terms[lane] = difference * (difference / e_chunk[lane]);
                smallest[lane] = smallest[lane].min(e_chunk[lane]);
            }
            lanes.add(&terms);
        }
        for (&o_value, &e_value) in o_tail.iter().zip(e_tail) {
            let difference = o_value - e_value;
            lanes.add_one(difference * (difference / e_value));
            smallest[0] = smallest[0].min(e_value);
        }
        let _ = FMA;
        (lanes.total(), smallest.iter().fold(f64::INFINITY, |min, &value| min.min(value)))
    }
}

/// The first bad value of a chi-squared input pair, for the error path.
fn chi_squared_input_error(observed: &[f64], expected: &[f64], row: Option<usize>) -> Option<KernelError> {
    let index = |col_idx: usize| row.map_or(vec![col_idx], |row_idx| vec![row_idx, col_idx]);
    for (col_idx, (&o_value, &e_value)) in observed.iter().zip(expected).enumerate() {
        if !o_value.is_finite() {
            return Some(KernelError::NonFinite { what: "observed", index: index(col_idx), value: o_value });
        }
        if !e_value.is_finite() {
            return Some(KernelError::NonFinite { what: "expected", index: index(col_idx), value: e_value });
        }
        if e_value <= 0.0 {
            return Some(KernelError::NonPositiveExpected { index: index(col_idx), value: e_value });
        }
    }
    None
}

fn pearson_row(isa: Isa, observed: &[f64], expected: &[f64], row: Option<usize>) -> Result<f64, KernelError> {
    let (total, smallest) = if observed.len() >= PARALLEL_MIN_POINTS && row.is_none() {
        let partial: Vec<(DoubleDouble, f64)> = observed
            .par_chunks(CHUNK)
            .zip(expected.par_chunks(CHUNK))
            .map(|(o_chunk, e_chunk)| pearson_terms(isa, o_chunk, e_chunk))
            .collect();
        partial.into_iter().fold((DoubleDouble::default(), f64::INFINITY), |(sum, min), (part, part_min)| {
            (sum.add(part), min.min(part_min))
        })
    } else {
        pearson_terms(isa, observed, expected)
    };
    let chi2 = total.to_f64();
    let suspicious = !chi2.is_finite() || smallest <= 0.0 || smallest.is_nan();
    if suspicious && let Some(error) = chi_squared_input_error(observed, expected, row) {
        return Err(error);
    }
    Ok(chi2)
}

/// Pearson's chi-squared statistic `sum((o - e)^2 / e)`, compensated.
///
/// # Errors
/// [`KernelError::LengthMismatch`], [`KernelError::TooFewPoints`] for empty
/// input, [`KernelError::NonFinite`] and [`KernelError::NonPositiveExpected`]
/// naming the first bad index.
pub fn fast_chi_squared(observed: &[f64], expected: &[f64]) -> Result<f64, KernelError> {
    fast_chi_squared_with(Isa::detect(), observed, expected)
}

pub(crate) fn fast_chi_squared_with(isa: Isa, observed: &[f64], expected: &[f64]) -> Result<f64, KernelError> {
    same_shape("observed and expected", &[observed.len()], &[expected.len()])?;
    if observed.is_empty() {
        return Err(KernelError::TooFewPoints { what: "chi-squared", needed: 1, got: 0 });
    }
    pearson_row(isa, observed, expected, None)
}

/// A weighted chi-squared test result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChiSquared {
    /// `sum(((o - e) / sigma)^2)`.
    pub chi2: f64,
    /// Degrees of freedom.
    pub dof: usize,
    /// `chi2 / dof`.
    pub reduced: f64,
    /// `P(X >= chi2)` for a chi-squared distribution with `dof` degrees of freedom.
    pub p_value: f64,
}

multiversion! {
    fn weighted_terms(observed: &[f64], expected: &[f64], sigma: &[f64]) -> (DoubleDouble, f64) {
        let mut lanes = CompensatedLanes::default();
        let mut smallest = [f64::INFINITY; LANES];
        for ((o_chunk, e_chunk), s_chunk) in observed.chunks(LANES).zip(expected.chunks(LANES)).zip(sigma.chunks(LANES)) {
            let mut terms = [0.0; LANES];
            for (lane, ((&o_value, &e_value), &s_value)) in o_chunk.iter().zip(e_chunk).zip(s_chunk).enumerate() {
                let residual = (o_value - e_value) / s_value;
                terms[lane] = residual * residual;
                smallest[lane] = smallest[lane].min(s_value);
            }
            lanes.add(&terms);
        }
        let _ = FMA;
        (lanes.total(), smallest.iter().fold(f64::INFINITY, |min, &value| min.min(value)))
    }
}

/// The weighted chi-squared `sum(((o - e) / sigma)^2)` with `n - 1` degrees of
/// freedom and its p-value (v1's weighted form).
///
/// # Errors
/// As [`chi_squared_weighted_with_dof`].
pub fn chi_squared_weighted(observed: &[f64], expected: &[f64], sigma: &[f64]) -> Result<ChiSquared, KernelError> {
    let dof = observed.len().saturating_sub(1);
    chi_squared_weighted_with_dof(observed, expected, sigma, dof)
}

/// [`chi_squared_weighted`] with the degrees of freedom given (for example
/// `n - n_fitted_parameters`).
///
/// # Errors
/// [`KernelError::LengthMismatch`], [`KernelError::TooFewPoints`] for empty
/// input, [`KernelError::NonFinite`] naming the first bad value,
/// [`KernelError::InvalidParameter`] for a sigma that is not positive or a
/// `dof` of 0.
pub fn chi_squared_weighted_with_dof(
    observed: &[f64],
    expected: &[f64],
    sigma: &[f64],
    dof: usize,
) -> Result<ChiSquared, KernelError> {
    same_shape("observed and expected", &[observed.len()], &[expected.len()])?;
    same_shape("observed and sigma", &[observed.len()], &[sigma.len()])?;
    if observed.is_empty() {
        return Err(KernelError::TooFewPoints { what: "chi-squared", needed: 1, got: 0 });
    }
    if dof == 0 {
        return Err(KernelError::InvalidParameter { name: "dof", value: 0.0, requirement: "at least 1" });
    }
    let (total, smallest_sigma) = weighted_terms(Isa::detect(), observed, expected, sigma);
    let chi2 = total.to_f64();
    if !chi2.is_finite() || smallest_sigma <= 0.0 || smallest_sigma.is_nan() {
        for (what, values) in [("observed", observed), ("expected", expected), ("sigma", sigma)] {
            if let Some(index) = first_non_finite(values) {
                return Err(KernelError::NonFinite { what, index: vec![index], value: values[index] });
            }
        }
        if let Some(&bad) = sigma.iter().find(|&&value| value <= 0.0) {
            return Err(KernelError::InvalidParameter { name: "sigma", value: bad, requirement: "positive" });
        }
    }
    let distribution = statrs::distribution::ChiSquared::new(dof as f64)
        .map_err(|_| KernelError::InvalidParameter { name: "dof", value: dof as f64, requirement: "at least 1" })?;
    let p_value = statrs::distribution::ContinuousCDF::sf(&distribution, chi2);
    Ok(ChiSquared { chi2, dof, reduced: chi2 / dof as f64, p_value })
}

/// Pearson's chi-squared of each row: `out[i] = sum_j (o[i,j] - e[i,j])^2 / e[i,j]`,
/// parallel over rows.
///
/// # Errors
/// As [`fast_chi_squared`], with indices `[row, column]`.
pub fn chi_squared_batch(
    observed: ArrayView2<'_, f64>,
    expected: ArrayView2<'_, f64>,
) -> Result<Array1<f64>, KernelError> {
    let mut out = Array1::zeros(observed.nrows());
    chi_squared_batch_into(observed, expected, out.view_mut())?;
    Ok(out)
}

/// [`chi_squared_batch`] into the caller's buffer of length `observed.nrows()`.
pub fn chi_squared_batch_into(
    observed: ArrayView2<'_, f64>,
    expected: ArrayView2<'_, f64>,
    mut out: ArrayViewMut1<'_, f64>,
) -> Result<(), KernelError> {
    same_shape("observed and expected", observed.shape(), expected.shape())?;
    same_shape("out and the rows of observed", &[out.len()], &[observed.nrows()])?;
    if observed.ncols() == 0 {
        return Err(KernelError::TooFewPoints { what: "chi-squared row", needed: 1, got: 0 });
    }
    let isa = Isa::detect();
    let row_results: Vec<Result<(), KernelError>> = Zip::indexed(out.view_mut())
        .and(observed.rows())
        .and(expected.rows())
        .par_map_collect(|row_idx, value, o_row, e_row| {
            let o_values = o_row.as_standard_layout();
            let e_values = e_row.as_standard_layout();
            let (o_slice, e_slice) = (o_values.as_slice().unwrap_or(&[]), e_values.as_slice().unwrap_or(&[]));
            *value = pearson_row(isa, o_slice, e_slice, Some(row_idx))?;
            Ok(())
        })
        .to_vec();
    row_results.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> (Vec<f64>, Vec<f64>) {
        let x: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64 * 0.001 + 1e6).collect();
        let y: Vec<f64> = x.iter().enumerate().map(|(i, x)| 0.5 * x + ((i * 104_729) % 997) as f64 * 1e-3).collect();
        (x, y)
    }

    /// Every compiled copy of the kernels (portable, AVX2, AVX-512) agrees.
    #[test]
    fn every_instruction_set_gives_the_same_statistics() {
        for n in [2, 15, 16, 17, 1000, 300_000] {
            let (x, y) = data(n);
            let expected = expected_within(Isa::portable(), &x, &y);
            for isa in Isa::available() {
                let got = expected_within(isa, &x, &y);
                for (got, expected) in got.iter().zip(&expected) {
                    assert!((got - expected).abs() <= 1e-13 * expected.abs(), "{isa:?} n = {n}: {got} vs {expected}");
                }
            }
        }
    }

    fn expected_within(isa: Isa, x: &[f64], y: &[f64]) -> [f64; 3] {
        [fast_correlation_with(isa, x, y).unwrap(), fast_chi_squared_with(isa, x, y).unwrap(), dot(isa, x, y)]
    }

    #[test]
    fn pairwise_lanes_is_a_fixed_order_sum() {
        let lanes: [f64; LANES] = std::array::from_fn(|lane| lane as f64);
        assert_eq!(pairwise_lanes(&lanes), 120.0);
    }
}
