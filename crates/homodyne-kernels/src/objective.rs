//! The fused chi-squared objective of the homodyne model.
//!
//! v1 evaluates the objective by materialising the theory for every angle
//! (A x N x N doubles, with an `exp` and a `sin` per element), then solving the
//! per-angle scaling and summing residuals in two more passes. Here one pass
//! over the data does everything, and per element it costs a few
//! multiplications:
//!
//! - **Factorisation.** The time integrals are differences of cumulative sums
//!   `c`, `g`, so `exp(-k (c_j - c_i)) = a_j * b_i` with
//!   `a_j = exp(-k (c_j - c_0))`, `b_i = exp(k (c_i - c_0))`, and
//!   `sin(theta_j - theta_i) = sin(theta_j) cos(theta_i) - cos(theta_j) sin(theta_i)`:
//!   `O(N)` calls to `exp`, `sin` and `cos` per evaluation instead of
//!   `O(N^2)`. Where `k (c_N - c_0)` is too large for the factors to stay in
//!   range, the kernel falls back to one `exp` per element and skips blocks
//!   whose every element underflows (as v1's would). Where `theta_j - theta_i`
//!   is small the quotient `sin(d) / d` loses accuracy to cancellation, so a
//!   series replaces it.
//! - **Sums, not residuals.** Per angle only `sum T`, `sum T^2` and
//!   `sum T E` depend on the parameters; `sum E` and `sum E^2` are computed
//!   once at construction. The scaling and the residual sum then follow in
//!   closed form, `chi2 = sum E^2 - 2c sum TE - 2o sum E + c^2 sum T^2 +
//!   2co sum T + P o^2`, in double-double, because it cancels by about
//!   `(signal / noise)^2`. For the same reason every product and sum is
//!   accumulated with its exact rounding error.
//! - **Symmetry.** The theory is symmetric with a unit diagonal. The AVX-512
//!   kernel streams whole rows in order, computing the theory of both
//!   triangles but `sum T` and `sum T^2` over one; the generic kernel (AVX2,
//!   portable) computes each theory value once for its 16 x 16 block and the
//!   mirror block, read through a transposing buffer. Streaming wins once
//!   the data outgrow the caches: the mirror block's rows are a page apart,
//!   which defeats the prefetchers.
//!
//! Work items are (angle, block of 16 rows) on the rayon pool; their partial
//! sums are merged in a fixed order, so the result does not depend on the
//! number of threads. All scratch space lives in the objective and is reused:
//! after the first call an evaluation allocates nothing.

use std::f64::consts::PI;
use std::sync::Mutex;

use std::borrow::Cow;

use ndarray::ArrayView3;
use rayon::prelude::*;

use crate::KernelError;
use crate::model::{
    ModelConfig, SincConvention, cumulative_sum_into, diffusion_coefficient_into, shear_cosine, shear_is_off,
    shear_rate_into, solve_scaling_from_sums, time_grid, validate_params,
};
use crate::simd::multiversion;
use crate::simd::{Isa, mul_add};
use crate::sum::{CompensatedLanes, DoubleDouble, two_product, two_product_with, two_sum};

/// Side of the square blocks the data are read in, and the lane count of the
/// block kernel.
const BLOCK: usize = 16;

/// One angle's rows of theta, sin theta and cos theta, with the angle.
type ShearRow<'r> = (((&'r mut [f64], &'r mut [f64]), &'r mut [f64]), &'r AngleData);

/// Points (angles x frames x frames) from which an evaluation runs on rayon.
/// 2^18: the (23, 200) case (920K points, about 0.7 ms) is parallel, the
/// (5, 50) one (12.5K points, about 35 µs) is not.
const PARALLEL_MIN_POINTS: usize = 1 << 18;

/// `exp(700)` is finite and `exp(-700)` is a normal number: below this value
/// of `k (c_N - c_0)` the factorised `a_j * b_i` keeps full precision.
const MAX_FACTOR_EXPONENT: f64 = 700.0;

/// `exp(-746)` rounds to zero: a block whose smallest exponent exceeds this
/// contributes nothing.
const UNDERFLOW_EXPONENT: f64 = 746.0;

/// Below this `|theta_j - theta_i|` the series of `sin(d) / d` replaces the
/// quotient; its truncation error there is below 1e-27.
const SERIES_LIMIT: f64 = 1e-2;

/// How sigma, the per-angle uncertainty, is derived from the data (v1:
/// `max(0.1 * std(E), 1e-10)`, population standard deviation over all points).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SigmaRule {
    /// Multiplies the standard deviation of the angle's data.
    pub factor: f64,
    /// Lower bound of sigma.
    pub minimum: f64,
}

impl Default for SigmaRule {
    fn default() -> Self {
        SigmaRule { factor: 0.1, minimum: 1e-10 }
    }
}

/// The fit of one angle.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AngleFit {
    /// Index of the angle in `phi_deg` and `c2_exp`.
    pub angle_idx: usize,
    /// Least-squares contrast.
    pub contrast: f64,
    /// Least-squares offset.
    pub offset: f64,
    /// The unweighted residual sum `sum (E - contrast T - offset)^2`.
    pub residual_sum: f64,
    /// `residual_sum / sigma^2`.
    pub chi2: f64,
    /// `chi2 / dof` with `dof = max(N^2 - n_params, 1)`.
    pub reduced_chi2: f64,
    /// The angle's sigma (fixed at construction).
    pub sigma: f64,
}

/// The value of the objective and its parts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectiveValue {
    /// Mean reduced chi-squared over the selected angles.
    pub value: f64,
    /// Standard error of that mean: `std(ddof = 1) / sqrt(n)`, 0 for one angle.
    pub uncertainty: f64,
    /// Sum of the angles' chi-squared.
    pub chi2_total: f64,
    /// Degrees of freedom of the whole fit, as v1 reports them:
    /// `max(n_angles * N^2 - n_params, 1)` (the parameters are shared by all angles).
    pub degrees_of_freedom: usize,
    /// One fit per selected angle, in the order they were selected.
    pub angles: Vec<AngleFit>,
}

/// Settings of a [`ChiSquaredObjective`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObjectiveConfig {
    /// The experiment's constants and the model's conventions; `n_frames`
    /// must match the data.
    pub model: ModelConfig,
    /// How sigma is derived from the data.
    pub sigma: SigmaRule,
}

/// Data-only quantities of one selected angle, computed at construction.
#[derive(Debug, Clone, Copy)]
struct AngleData {
    angle_idx: usize,
    phi_deg: f64,
    sigma: f64,
    sum_e: DoubleDouble,
    sum_ee: DoubleDouble,
    trace: DoubleDouble,
}

/// Per-evaluation scratch, reused across calls.
#[derive(Debug, Default)]
struct Scratch {
    rate: Vec<f64>,
    diffusion_cumulative: Vec<f64>,
    shear_cumulative: Vec<f64>,
    /// `a_j` then `b_i`, each padded to a multiple of `BLOCK`.
    column_factor: Vec<f64>,
    row_factor: Vec<f64>,
    /// Per selected angle: theta, sin theta, cos theta, padded.
    theta: Vec<f64>,
    sin_theta: Vec<f64>,
    cos_theta: Vec<f64>,
    /// Per (selected angle, block row): sum T, sum T^2, sum T (E + E^T).
    partial: Vec<[DoubleDouble; 3]>,
}

/// The mean reduced chi-squared of the homodyne model against measured
/// correlations, built once per experiment and evaluated many times inside an
/// optimiser (v1's `calculate_chi_squared_optimized`).
///
/// ```
/// use homodyne_kernels::{c2_theory, ChiSquaredObjective, FlowMode, ModelConfig, ObjectiveConfig, SigmaRule, SincConvention};
///
/// # fn main() -> Result<(), homodyne_kernels::KernelError> {
/// let model = ModelConfig {
///     n_frames: 20, dt: 0.1, wavevector_q: 0.0054, stator_rotor_gap: 2e6,
///     mode: FlowMode::LaminarFlow, sinc: SincConvention::Normalized,
/// };
/// let phi_deg = [-8.0, 0.0, 178.0];
/// let truth = [2e4, 0.3, 50.0, 2e-4, 0.25, 5e-5, 2.0];
/// // Measured data: the model with contrast 0.3 and offset 1, plus a ripple.
/// let mut c2_exp = c2_theory(&truth, &phi_deg, &model)?;
/// c2_exp.indexed_iter_mut().for_each(|((_, i, j), value)| *value = 0.3 * *value + 1.0 + 1e-3 * ((i * 7 + j * 3) % 5) as f64);
///
/// let objective = ChiSquaredObjective::new(c2_exp.view(), &phi_deg, &[0, 1, 2], ObjectiveConfig { model, sigma: SigmaRule::default() })?;
/// let at_truth = objective.evaluate(&truth)?;
/// let elsewhere = objective.evaluate(&[3e4, 0.3, 50.0, 2e-4, 0.25, 5e-5, 2.0])?;
/// assert!(at_truth.value < elsewhere.value);
/// assert!((at_truth.angles[0].contrast - 0.3).abs() < 0.01);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ChiSquaredObjective<'a> {
    /// The data, row-major `(A, N, N)`: borrowed when the caller's array is
    /// in standard layout, else copied once.
    c2_exp: Cow<'a, [f64]>,
    n_frames: usize,
    config: ObjectiveConfig,
    time: Vec<f64>,
    angles: Vec<AngleData>,
    isa: Isa,
    scratch: Mutex<Option<Scratch>>,
}

impl<'a> ChiSquaredObjective<'a> {
    /// Builds the objective from data `c2_exp` of shape `(A, N, N)`, the angle
    /// of each of its slices `phi_deg` (degrees), and the indices of the
    /// angles that enter the objective (from `homodyne-angles`, for example).
    /// The data are borrowed, not copied, when they are in standard layout
    /// (C order, contiguous).
    ///
    /// # Errors
    /// [`KernelError::LengthMismatch`] if `c2_exp` is not `(A, N, N)` with
    /// `A = phi_deg.len()` and `N = config.model.n_frames`;
    /// [`KernelError::AngleIndexOutOfRange`]; [`KernelError::TooFewPoints`] if
    /// no angle is selected; [`KernelError::NonFinite`] for a NaN or infinite
    /// datum of a selected angle (`[angle, i, j]`) or angle;
    /// [`KernelError::InvalidParameter`] for invalid constants or sigma rule.
    pub fn new(
        c2_exp: ArrayView3<'a, f64>,
        phi_deg: &[f64],
        selected_angles: &[usize],
        config: ObjectiveConfig,
    ) -> Result<ChiSquaredObjective<'a>, KernelError> {
        config.model.validate()?;
        let n_frames = config.model.n_frames;
        let expected_shape = [phi_deg.len(), n_frames, n_frames];
        if c2_exp.shape() != expected_shape {
            return Err(KernelError::LengthMismatch {
                what: "c2_exp and (phi_deg, n_frames, n_frames)",
                left: c2_exp.shape().to_vec(),
                right: expected_shape.to_vec(),
            });
        }
        if selected_angles.is_empty() {
            return Err(KernelError::TooFewPoints { what: "selected angles", needed: 1, got: 0 });
        }
        for (name, value, requirement) in [
            ("sigma factor", config.sigma.factor, "finite and not negative"),
            ("sigma minimum", config.sigma.minimum, "finite and positive"),
        ] {
            let valid = value.is_finite() && value >= 0.0 && (name == "sigma factor" || value > 0.0);
            if !valid {
                return Err(KernelError::InvalidParameter { name, value, requirement });
            }
        }
        let c2_exp: Cow<'a, [f64]> = match c2_exp.to_slice() {
            Some(slice) => Cow::Borrowed(slice),
            // Iteration is in logical (row-major) order whatever the strides.
            None => Cow::Owned(c2_exp.iter().copied().collect()),
        };
        let data: &[f64] = &c2_exp;
        let n_points = n_frames * n_frames;
        let mut angles = Vec::with_capacity(selected_angles.len());
        for &angle_idx in selected_angles {
            if angle_idx >= phi_deg.len() {
                return Err(KernelError::AngleIndexOutOfRange { index: angle_idx, n_angles: phi_deg.len() });
            }
            let phi = phi_deg[angle_idx];
            if !phi.is_finite() {
                return Err(KernelError::NonFinite { what: "phi_deg", index: vec![angle_idx], value: phi });
            }
            let values = &data[angle_idx * n_points..(angle_idx + 1) * n_points];
            if let Some(flat) = values.iter().position(|value| !value.is_finite()) {
                return Err(KernelError::NonFinite {
                    what: "c2_exp",
                    index: vec![angle_idx, flat / n_frames, flat % n_frames],
                    value: values[flat],
                });
            }
            angles.push(angle_data(angle_idx, phi, values, n_frames, config.sigma));
        }
        Ok(ChiSquaredObjective {
            time: time_grid(n_frames, config.model.dt),
            c2_exp,
            n_frames,
            config,
            angles,
            isa: Isa::detect(),
            scratch: Mutex::new(None),
        })
    }

    /// The sigma of each selected angle, in selection order.
    pub fn sigmas(&self) -> Vec<f64> {
        self.angles.iter().map(|angle| angle.sigma).collect()
    }

    /// Evaluates the objective at `params` (`[D0, alpha, D_offset]` in static
    /// mode, `[D0, alpha, D_offset, gamma0, beta, gamma_offset, phi0_deg]` in
    /// laminar flow).
    ///
    /// # Errors
    /// [`KernelError::ParameterCount`], or [`KernelError::InvalidParameter`]
    /// for a NaN or infinite parameter.
    pub fn evaluate(&self, params: &[f64]) -> Result<ObjectiveValue, KernelError> {
        let mut out = ObjectiveValue::default();
        self.evaluate_into(params, &mut out)?;
        Ok(out)
    }

    /// [`evaluate`](Self::evaluate) into the caller's result, reusing its
    /// buffers: repeated calls allocate nothing.
    pub fn evaluate_into(&self, params: &[f64], out: &mut ObjectiveValue) -> Result<(), KernelError> {
        validate_params(params, self.config.model.mode)?;
        let taken = self.scratch.lock().map_or(None, |mut slot| slot.take());
        let mut scratch = taken.unwrap_or_default();
        let result = self.evaluate_with(params, &mut scratch, out);
        if let Ok(mut slot) = self.scratch.lock() {
            *slot = Some(scratch);
        }
        result
    }

    // One evaluation in phases (factors, fused pass, per-angle fits), kept in
    // one place so that they read in order.
    #[allow(clippy::too_many_lines)]
    fn evaluate_with(
        &self,
        params: &[f64],
        scratch: &mut Scratch,
        out: &mut ObjectiveValue,
    ) -> Result<(), KernelError> {
        let model = &self.config.model;
        let n_frames = self.n_frames;
        let n_blocks = n_frames.div_ceil(BLOCK);
        let padded = n_blocks * BLOCK;
        let n_angles = self.angles.len();

        // Angle-independent factors: cumulative integrals of D and gamma.
        scratch.rate.resize(n_frames, 0.0);
        scratch.diffusion_cumulative.resize(n_frames, 0.0);
        diffusion_coefficient_into(&self.time, params[0], params[1], params[2], &mut scratch.rate)?;
        cumulative_sum_into(&scratch.rate, &mut scratch.diffusion_cumulative);
        let decay = model.g1_prefactor();
        let cumulative = &scratch.diffusion_cumulative;
        let span = decay * (cumulative[n_frames - 1] - cumulative[0]);
        let factorised = span <= MAX_FACTOR_EXPONENT;
        scratch.column_factor.clear();
        scratch.row_factor.clear();
        if factorised {
            let origin = cumulative[0];
            scratch.column_factor.extend(cumulative.iter().map(|&c| (-decay * (c - origin)).exp()));
            scratch.row_factor.extend(cumulative.iter().map(|&c| (decay * (c - origin)).exp()));
        } else {
            // One `exp` per element: the kernel reads the cumulative sums.
            scratch.column_factor.extend_from_slice(cumulative);
            scratch.row_factor.extend_from_slice(cumulative);
        }
        scratch.column_factor.resize(padded, 0.0);
        scratch.row_factor.resize(padded, 0.0);

        let shear = !shear_is_off(params, model.mode);
        // Below this much work the fused pass runs on the calling thread:
        // handing tens of microseconds to rayon made the time depend on
        // whether an idle worker woke in time (the (5, 50) case took 35 or
        // 70 µs from one process to the next, 9 A/A runs in 10 undecided).
        let parallel = n_angles * n_frames * n_frames >= PARALLEL_MIN_POINTS;
        scratch.theta.resize(n_angles * padded, 0.0);
        scratch.sin_theta.resize(n_angles * padded, 0.0);
        scratch.cos_theta.resize(n_angles * padded, 1.0);
        if shear {
            scratch.shear_cumulative.resize(n_frames, 0.0);
            shear_rate_into(&self.time, params[3], params[4], params[5], &mut scratch.rate)?;
            cumulative_sum_into(&scratch.rate, &mut scratch.shear_cumulative);
            let base = match model.sinc {
                SincConvention::Normalized => PI * model.sinc_prefactor(),
                SincConvention::Unnormalized => model.sinc_prefactor(),
            };
            let shear_cumulative = &scratch.shear_cumulative;
            let fill = |(((theta, sin_theta), cos_theta), angle): ShearRow<'_>| {
                let scale = base * shear_cosine(params[6], angle.phi_deg);
                for frame in 0..padded {
                    // Padding columns get theta 0; their factor a_j is 0.
                    let value = shear_cumulative.get(frame).map_or(0.0, |&g| scale * g);
                    theta[frame] = value;
                    (sin_theta[frame], cos_theta[frame]) = value.sin_cos();
                }
            };
            if parallel {
                scratch
                    .theta
                    .par_chunks_mut(padded)
                    .zip(scratch.sin_theta.par_chunks_mut(padded))
                    .zip(scratch.cos_theta.par_chunks_mut(padded))
                    .zip(&self.angles)
                    .for_each(fill);
            } else {
                scratch
                    .theta
                    .chunks_mut(padded)
                    .zip(scratch.sin_theta.chunks_mut(padded))
                    .zip(scratch.cos_theta.chunks_mut(padded))
                    .zip(&self.angles)
                    .for_each(fill);
            }
        }

        // The fused pass: one work item per (angle, block row).
        scratch.partial.resize(n_angles * n_blocks, [DoubleDouble::default(); 3]);
        let data: &[f64] = &self.c2_exp;
        let context = BlockContext {
            n_frames,
            factorised,
            shear,
            decay,
            column_factor: &scratch.column_factor,
            row_factor: &scratch.row_factor,
        };
        let (theta, sin_theta, cos_theta) = (&scratch.theta, &scratch.sin_theta, &scratch.cos_theta);
        let angles = &self.angles;
        let isa = self.isa;
        let block = |(item, partial): (usize, &mut [DoubleDouble; 3])| {
            let (selected, block_row) = (item / n_blocks, item % n_blocks);
            let angle_range = selected * padded..(selected + 1) * padded;
            let n_points = n_frames * n_frames;
            let angle_idx = angles[selected].angle_idx;
            let shear_factors = ShearFactors {
                theta: &theta[angle_range.clone()],
                sin_theta: &sin_theta[angle_range.clone()],
                cos_theta: &cos_theta[angle_range],
            };
            let angle_data = &data[angle_idx * n_points..(angle_idx + 1) * n_points];
            #[cfg(target_arch = "x86_64")]
            if factorised && isa.level() == crate::simd::Level::Avx512 {
                // SAFETY: an `Isa` at the AVX-512 level exists only if
                // `Isa::available` found AVX-512 F/DQ and FMA on this CPU at run time.
                #[allow(unsafe_code)]
                unsafe {
                    *partial = avx512::row_strip_sums(&context, &shear_factors, angle_data, block_row);
                }
                return;
            }
            *partial = block_row_sums(isa, &context, &shear_factors, angle_data, block_row);
        };
        if parallel {
            scratch.partial.par_iter_mut().enumerate().for_each(block);
        } else {
            scratch.partial.iter_mut().enumerate().for_each(block);
        }

        // Per angle: merge in order, add the diagonal (T = 1), solve, and sum.
        let n_points = (n_frames * n_frames) as f64;
        let dof = (n_frames * n_frames).saturating_sub(model.mode.n_params()).max(1);
        out.angles.clear();
        for (selected, angle) in self.angles.iter().enumerate() {
            let mut sums = [DoubleDouble::default(); 3];
            for partial in &scratch.partial[selected * n_blocks..(selected + 1) * n_blocks] {
                for (sum, part) in sums.iter_mut().zip(partial) {
                    *sum = sum.add(*part);
                }
            }
            let diagonal = DoubleDouble::from_f64(n_frames as f64);
            let sum_t = sums[0].add(diagonal);
            let sum_tt = sums[1].add(diagonal);
            let sum_te = sums[2].add(angle.trace);
            let (contrast, offset) = solve_scaling_from_sums(n_points, sum_t, sum_tt, angle.sum_e, sum_te);
            let residual_sum =
                residual_sum(n_points, contrast, offset, sum_t, sum_tt, angle.sum_e, angle.sum_ee, sum_te);
            let chi2 = residual_sum / (angle.sigma * angle.sigma);
            out.angles.push(AngleFit {
                angle_idx: angle.angle_idx,
                contrast,
                offset,
                residual_sum,
                chi2,
                reduced_chi2: chi2 / dof as f64,
                sigma: angle.sigma,
            });
        }
        summarize(out, (n_frames * n_frames * n_angles).saturating_sub(model.mode.n_params()).max(1));
        Ok(())
    }
}

/// `sum (E - c T - o)^2` from the sums, in double-double: the terms cancel to
/// the noise level of the data.
#[allow(clippy::too_many_arguments)]
fn residual_sum(
    n_points: f64,
    contrast: f64,
    offset: f64,
    sum_t: DoubleDouble,
    sum_tt: DoubleDouble,
    sum_e: DoubleDouble,
    sum_ee: DoubleDouble,
    sum_te: DoubleDouble,
) -> f64 {
    let c = DoubleDouble::from_f64(contrast);
    let o = DoubleDouble::from_f64(offset);
    let two = DoubleDouble::from_f64(2.0);
    let total = sum_ee
        .sub(two.mul(c).mul(sum_te))
        .sub(two.mul(o).mul(sum_e))
        .add(c.mul(c).mul(sum_tt))
        .add(two.mul(c).mul(o).mul(sum_t))
        .add(DoubleDouble::from_f64(n_points).mul(o).mul(o));
    total.to_f64().max(0.0)
}

fn summarize(out: &mut ObjectiveValue, total_dof: usize) {
    let n = out.angles.len() as f64;
    let mean = out.angles.iter().map(|angle| angle.reduced_chi2).sum::<f64>() / n;
    let spread = if out.angles.len() > 1 {
        let variance = out.angles.iter().map(|angle| (angle.reduced_chi2 - mean).powi(2)).sum::<f64>() / (n - 1.0);
        variance.sqrt()
    } else {
        0.0
    };
    out.value = mean;
    out.uncertainty = spread / n.sqrt();
    out.chi2_total = out.angles.iter().map(|angle| angle.chi2).sum();
    out.degrees_of_freedom = total_dof;
}

fn angle_data(angle_idx: usize, phi_deg: f64, values: &[f64], n_frames: usize, rule: SigmaRule) -> AngleData {
    let mut sum_e = CompensatedLanes::default();
    let mut sum_ee = CompensatedLanes::default();
    for &value in values {
        sum_e.add_one(value);
        let (square, error) = two_product(value, value);
        sum_ee.add_one_exact(square, error);
    }
    let mut trace = CompensatedLanes::default();
    for frame in 0..n_frames {
        trace.add_one(values[frame * n_frames + frame]);
    }
    // Two-pass population standard deviation, as numpy's `std`.
    let mean = sum_e.total().to_f64() / values.len() as f64;
    let mut squared_deviations = CompensatedLanes::default();
    for &value in values {
        squared_deviations.add_one((value - mean) * (value - mean));
    }
    let std = (squared_deviations.total().to_f64() / values.len() as f64).sqrt();
    AngleData {
        angle_idx,
        phi_deg,
        sigma: (rule.factor * std).max(rule.minimum),
        sum_e: sum_e.total(),
        sum_ee: sum_ee.total(),
        trace: trace.total(),
    }
}

/// Angle-independent inputs of the block kernel.
struct BlockContext<'s> {
    n_frames: usize,
    /// `a_j * b_i` (true) or one `exp` per element from the cumulative sums (false).
    factorised: bool,
    shear: bool,
    decay: f64,
    column_factor: &'s [f64],
    row_factor: &'s [f64],
}

/// Per-angle shear inputs: theta and its sine and cosine per frame.
struct ShearFactors<'s> {
    theta: &'s [f64],
    sin_theta: &'s [f64],
    cos_theta: &'s [f64],
}

/// Off-diagonal sums of one block row of one angle, from its strict upper
/// triangle: `sum T`, `sum T^2` (each twice the triangle's) and
/// `sum T (E_ij + E_ji)`.
fn block_row_sums(
    isa: Isa,
    context: &BlockContext<'_>,
    shear: &ShearFactors<'_>,
    data: &[f64],
    block_row: usize,
) -> [DoubleDouble; 3] {
    let n = context.n_frames;
    let n_blocks = n.div_ceil(BLOCK);
    let row_start = block_row * BLOCK;
    let valid_rows = n.saturating_sub(row_start).min(BLOCK);
    // Fixed-size blocks of the padded per-frame arrays: with the length in the
    // type, the kernel has no bounds checks and vectorises.
    let column_factor = context.column_factor.as_chunks::<BLOCK>().0;
    let row_factor = context.row_factor.as_chunks::<BLOCK>().0;
    let theta = shear.theta.as_chunks::<BLOCK>().0;
    let sin_theta = shear.sin_theta.as_chunks::<BLOCK>().0;
    let cos_theta = shear.cos_theta.as_chunks::<BLOCK>().0;
    let mut lanes = [CompensatedLanes::default(); 3];
    let mut upper = [[0.0; BLOCK]; BLOCK];
    let mut lower_transposed = [[0.0; BLOCK]; BLOCK];
    for block_col in block_row..n_blocks {
        let col_start = block_col * BLOCK;
        if !context.factorised {
            // Skip blocks where every element's exponent underflows.
            let nearest_col = column_factor[block_col][0];
            let farthest_row = row_factor[block_row][valid_rows - 1];
            if context.decay * (nearest_col - farthest_row) > UNDERFLOW_EXPONENT {
                break;
            }
        }
        let valid_cols = (n - col_start).min(BLOCK);
        let factors = BlockFactors {
            column_factor: &column_factor[block_col],
            row_factor: &row_factor[block_row],
            column_theta: &theta[block_col],
            column_sin: &sin_theta[block_col],
            column_cos: &cos_theta[block_col],
            row_theta: &theta[block_row],
            row_sin: &sin_theta[block_row],
            row_cos: &cos_theta[block_row],
            diagonal_block: block_col == block_row,
            valid_rows,
        };
        if valid_rows == BLOCK && valid_cols == BLOCK {
            // Interior block: E[rows][cols] row by row, E[cols][rows] through a
            // transpose of fixed-size arrays (no bounds checks, no zero fill).
            let mut lower = [[0.0; BLOCK]; BLOCK];
            for (offset, (upper_row, lower_row)) in upper.iter_mut().zip(&mut lower).enumerate() {
                let upper_start = (row_start + offset) * n + col_start;
                upper_row.copy_from_slice(&data[upper_start..upper_start + BLOCK]);
                let lower_start = (col_start + offset) * n + row_start;
                lower_row.copy_from_slice(&data[lower_start..lower_start + BLOCK]);
            }
            for (row, transposed_row) in lower_transposed.iter_mut().enumerate() {
                for (col, value) in transposed_row.iter_mut().enumerate() {
                    *value = lower[col][row];
                }
            }
        } else {
            // Edge block: zeros outside the matrix.
            for (row, upper_row) in upper.iter_mut().enumerate() {
                upper_row.fill(0.0);
                if row < valid_rows {
                    let start = (row_start + row) * n + col_start;
                    upper_row[..valid_cols].copy_from_slice(&data[start..start + valid_cols]);
                }
            }
            for row in &mut lower_transposed {
                row.fill(0.0);
            }
            for col in 0..valid_cols {
                let start = (col_start + col) * n + row_start;
                for (transposed_row, &value) in lower_transposed.iter_mut().zip(&data[start..start + valid_rows]) {
                    transposed_row[col] = value;
                }
            }
        }
        block_sums(
            isa,
            &mut lanes,
            context.factorised,
            context.shear,
            context.decay,
            &BlockInputs { factors, upper: &upper, lower_transposed: &lower_transposed },
        );
    }
    let two = DoubleDouble::from_f64(2.0);
    let [sum_t, sum_tt, sum_te] = lanes.map(|lane| lane.total());
    [sum_t.mul(two), sum_tt.mul(two), sum_te]
}

/// Per-frame inputs of one 16 x 16 block.
#[derive(Clone, Copy)]
struct BlockFactors<'s> {
    column_factor: &'s [f64; BLOCK],
    row_factor: &'s [f64; BLOCK],
    column_theta: &'s [f64; BLOCK],
    column_sin: &'s [f64; BLOCK],
    column_cos: &'s [f64; BLOCK],
    row_theta: &'s [f64; BLOCK],
    row_sin: &'s [f64; BLOCK],
    row_cos: &'s [f64; BLOCK],
    diagonal_block: bool,
    valid_rows: usize,
}

/// Inputs of one 16 x 16 block, with its data copied (and transposed) into buffers.
#[derive(Clone, Copy)]
struct BlockInputs<'s> {
    factors: BlockFactors<'s>,
    upper: &'s [[f64; BLOCK]; BLOCK],
    lower_transposed: &'s [[f64; BLOCK]; BLOCK],
}

/// `sinc(d) = sin(d) / d` from its series, for `|d| < SERIES_LIMIT`.
#[inline(always)]
fn sinc_series<const FMA: bool>(d: f64) -> f64 {
    let d2 = d * d;
    // 1 - d^2/6 + d^4/120 - d^6/5040 + d^8/362880
    let poly = mul_add::<FMA>(d2, 1.0 / 362_880.0, -1.0 / 5040.0);
    let poly = mul_add::<FMA>(d2, poly, 1.0 / 120.0);
    let poly = mul_add::<FMA>(d2, poly, -1.0 / 6.0);
    mul_add::<FMA>(d2, poly, 1.0)
}

/// Lanes of the register-resident accumulators: one AVX-512 vector.
const HALF: usize = BLOCK / 2;

/// A `[f64; HALF]` from `values[offset..offset + HALF]`.
#[inline(always)]
fn half(values: &[f64; BLOCK], offset: usize) -> [f64; HALF] {
    std::array::from_fn(|lane| values[offset + lane])
}

multiversion! {
    /// Adds, per lane (column in the block), the block's strict upper triangle
    /// to `sum T`, `sum T^2` and `sum T (E_ij + E_ji)`. The products and the
    /// data sums are added with their exact rounding errors: the closed-form
    /// residual cancels by about `(signal / noise)^2`, so anything less loses
    /// digits on clean data.
    ///
    /// The block is processed as two halves of 8 columns, rows innermost, with
    /// the column inputs and the accumulators in local arrays that stay in
    /// vector registers for the whole half.
    fn block_sums_generic(
        sums: &mut [CompensatedLanes; 3],
        factorised: bool,
        shear: bool,
        decay: f64,
        inputs: BlockInputs<'_>,
    ) -> () {
        for offset in [0, HALF] {
            let column_factor = half(inputs.factors.column_factor, offset);
            let column_theta = half(inputs.factors.column_theta, offset);
            let column_sin = half(inputs.factors.column_sin, offset);
            let column_cos = half(inputs.factors.column_cos, offset);
            let mut hi = [[0.0; HALF]; 3];
            let mut lo = [[0.0; HALF]; 3];
            for row in 0..inputs.factors.valid_rows.min(BLOCK) {
                let mut g1 = [0.0; HALF];
                if factorised {
                    for lane in 0..HALF {
                        g1[lane] = column_factor[lane] * inputs.factors.row_factor[row];
                    }
                } else {
                    for lane in 0..HALF {
                        // Padding columns hold 0 here; their data are 0 too.
                        let exponent = decay * (column_factor[lane] - inputs.factors.row_factor[row]);
                        g1[lane] = if exponent >= 0.0 { (-exponent).exp() } else { 0.0 };
                    }
                }
                let (theta_i, sin_i, cos_i) = (inputs.factors.row_theta[row], inputs.factors.row_sin[row], inputs.factors.row_cos[row]);
                let upper = half(&inputs.upper[row], offset);
                let lower = half(&inputs.lower_transposed[row], offset);
                for lane in 0..HALF {
                    let theory = if shear {
                        let d = column_theta[lane] - theta_i;
                        let sine = mul_add::<FMA>(column_sin[lane], cos_i, -(column_cos[lane] * sin_i));
                        // Both forms, then a select: a branch would stop vectorisation.
                        let near = d.abs() < SERIES_LIMIT;
                        let quotient = sine / if near { 1.0 } else { d };
                        let sinc = if near { sinc_series::<FMA>(d) } else { quotient };
                        let damped = sinc * sinc * g1[lane];
                        damped * damped
                    } else {
                        g1[lane] * g1[lane]
                    };
                    // Strict upper triangle only: the diagonal is added exactly later.
                    let keep = !inputs.factors.diagonal_block || offset + lane > row;
                    let t = if keep { theory } else { 0.0 };
                    let (data_sum, data_error) = two_sum(upper[lane], lower[lane]);
                    let (product, product_error) = two_product_with::<FMA>(t, data_sum);
                    let (square, square_error) = two_product_with::<FMA>(t, t);
                    let terms = [(t, 0.0), (square, square_error), (product, mul_add::<FMA>(t, data_error, product_error))];
                    for (sum_idx, (value, error)) in terms.into_iter().enumerate() {
                        let (new_hi, rounding) = two_sum(hi[sum_idx][lane], value);
                        hi[sum_idx][lane] = new_hi;
                        lo[sum_idx][lane] += rounding + error;
                    }
                }
            }
            for (sum, (hi, lo)) in sums.iter_mut().zip(hi.iter().zip(&lo)) {
                sum.add_exact_at(offset, hi, lo);
            }
        }
    }
}

/// Runs the generic block kernel compiled for `isa`.
fn block_sums(
    isa: Isa,
    sums: &mut [CompensatedLanes; 3],
    factorised: bool,
    shear: bool,
    decay: f64,
    inputs: &BlockInputs<'_>,
) {
    block_sums_generic(isa, sums, factorised, shear, decay, *inputs);
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx512 {
    //! The AVX-512 kernel, written with intrinsics: whole rows, in order.

    use std::arch::x86_64::{
        __m512d, _CMP_LT_OQ, _mm512_abs_pd, _mm512_add_pd, _mm512_cmp_pd_mask, _mm512_div_pd, _mm512_fmadd_pd,
        _mm512_fmsub_pd, _mm512_loadu_pd, _mm512_mask_blend_pd, _mm512_maskz_loadu_pd, _mm512_mul_pd, _mm512_set1_pd,
        _mm512_setzero_pd, _mm512_storeu_pd, _mm512_sub_pd,
    };

    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};

    use super::{BLOCK, BlockContext, HALF, SERIES_LIMIT, ShearFactors};

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
    pub(super) fn row_strip_sums(
        context: &BlockContext<'_>,
        shear: &ShearFactors<'_>,
        data: &[f64],
        block_row: usize,
    ) -> [DoubleDouble; 3] {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FlowMode;
    use ndarray::Array3;

    /// Every compiled copy of the block kernel agrees (the FMA copies differ
    /// from the portable one only in rounding).
    #[test]
    fn every_instruction_set_gives_the_same_objective() {
        for (mode, params) in [
            (FlowMode::LaminarFlow, vec![2e4, 0.3, 50.0, 2e-4, 0.25, 5e-5, 2.0]),
            (FlowMode::Static, vec![2e4, 0.3, 50.0]),
            (FlowMode::LaminarFlow, vec![1e7, 1.0, 50.0, 2e-2, 0.25, 5e-5, 2.0]),
        ] {
            let model = ModelConfig {
                n_frames: 37,
                dt: 0.1,
                wavevector_q: 0.0054,
                stator_rotor_gap: 2e6,
                mode,
                sinc: SincConvention::Normalized,
            };
            let data = Array3::from_shape_fn((3, 37, 37), |(a, i, j)| {
                1.0 + 0.2 / (1.0 + (i.abs_diff(j) * (a + 1)) as f64) + 1e-3 * ((i * 31 + j * 17) % 7) as f64
            });
            let phi = [0.0, 45.0, 170.0];
            let config = ObjectiveConfig { model, sigma: SigmaRule::default() };
            let mut objective = ChiSquaredObjective::new(data.view(), &phi, &[0, 1, 2], config).unwrap();
            objective.isa = Isa::portable();
            let expected = objective.evaluate(&params).unwrap().value;
            for isa in Isa::available() {
                objective.isa = isa;
                let got = objective.evaluate(&params).unwrap().value;
                assert!((got - expected).abs() <= 1e-12 * expected, "{isa:?} {mode:?}: {got} vs {expected}");
            }
        }
    }
}
