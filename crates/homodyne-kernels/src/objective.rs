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
use crate::error::same_shape;
use crate::model::{
    ModelConfig, SincConvention, cumulative_sum_into, diffusion_coefficient_into, shear_cosine, shear_is_off,
    shear_rate_into, solve_scaling_from_sums, time_grid, validate_params,
};
use crate::simd::Isa;
use crate::sum::DoubleDouble;

mod avx512;
mod block;
mod derivative_block;
mod derivatives;
mod moments;

use derivative_block::DerivativeSums;
pub use derivatives::{AngleNormal, NormalEquations};

use block::{BLOCK, BlockContext, RowTask, ShearFactors, block_row_sums};

/// One angle's rows of theta, sin theta and cos theta, with the angle.
type ShearRow<'r> = (((&'r mut [f64], &'r mut [f64]), &'r mut [f64]), &'r AngleData);

/// Points (angles x frames x frames) from which an evaluation runs on rayon.
/// 2^18: the (23, 200) case (920K points, about 0.7 ms) is parallel, the
/// (5, 50) one (12.5K points, about 35 µs) is not.
const PARALLEL_MIN_POINTS: usize = 1 << 18;

/// `exp(700)` is finite and `exp(-700)` is a normal number: below this value
/// of `k (c_N - c_0)` the factorised `a_j * b_i` keeps full precision.
const MAX_FACTOR_EXPONENT: f64 = 700.0;

/// How sigma, the per-angle uncertainty, is derived from the data (v1:
/// `max(0.1 * std(E), 1e-10)`, population standard deviation over all points).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SigmaRule {
    /// Multiplies the standard deviation of the angle's data.
    pub factor: f64,
    /// Lower bound of sigma.
    pub minimum: f64,
}

impl SigmaRule {
    /// `factor` finite and not negative, `minimum` finite and positive.
    fn validate(&self) -> Result<(), KernelError> {
        if !(self.factor.is_finite() && self.factor >= 0.0) {
            let requirement = "finite and not negative";
            return Err(KernelError::InvalidParameter { name: "sigma factor", value: self.factor, requirement });
        }
        if !(self.minimum.is_finite() && self.minimum > 0.0) {
            let requirement = "finite and positive";
            return Err(KernelError::InvalidParameter { name: "sigma minimum", value: self.minimum, requirement });
        }
        Ok(())
    }
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
    /// `sum T` over the angle's `N^2` points (diagonal included).
    pub theory_sum: f64,
    /// `sum T^2` over the angle's `N^2` points.
    pub theory_square_sum: f64,
    /// Whether contrast and offset were fitted: `false` when the theory is
    /// (nearly) constant over the angle, and they are kept at 1 and 0 (the
    /// decision made in double-double from the sums; derivatives and
    /// error bars follow it).
    pub scaling_fitted: bool,
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
    /// The parameters it was evaluated at: the derivatives
    /// ([`ChiSquaredObjective::gradient_into`] and the others) start from
    /// this evaluation.
    pub params: Vec<f64>,
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
    /// `sum E_ii^2`.
    diagonal_squares: f64,
}

/// What [`ChiSquaredObjective::prepare_factors`] decided for one evaluation.
#[derive(Debug, Clone, Copy)]
struct Factors {
    /// `a_j * b_i` (true) or one `exp` per element (false).
    factorised: bool,
    /// Whether the model has a shear term at these parameters.
    shear: bool,
    /// `0.5 q^2 dt`.
    decay: f64,
    /// Whether the passes run on the rayon pool.
    parallel: bool,
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
    /// The derivative passes: per frame, the rate's derivatives; the
    /// cumulative ones of D (3 x padded) and of gamma (3 x padded); per
    /// selected angle, theta's (4 x padded); the sums per work item and per angle.
    rate_derivatives: Vec<[f64; 3]>,
    diffusion_derivatives: Vec<f64>,
    shear_derivatives: Vec<f64>,
    theta_derivatives: Vec<f64>,
    derivative_partial: Vec<DerivativeSums>,
    derivative_totals: Vec<DerivativeSums>,
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
    /// Scratch of finished evaluations, one per concurrent caller at most
    /// (a multistart fit evaluates from several threads at once).
    scratch: Mutex<Vec<Scratch>>,
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
        same_shape("c2_exp and (phi_deg, n_frames, n_frames)", c2_exp.shape(), &expected_shape)?;
        if selected_angles.is_empty() {
            return Err(KernelError::TooFewPoints { what: "selected angles", needed: 1, got: 0 });
        }
        config.sigma.validate()?;
        let c2_exp: Cow<'a, [f64]> = match c2_exp.to_slice() {
            Some(slice) => Cow::Borrowed(slice),
            // Iteration is in logical (row-major) order whatever the strides.
            None => Cow::Owned(c2_exp.iter().copied().collect()),
        };
        let data: &[f64] = &c2_exp;
        let n_points = n_frames * n_frames;
        let mut slices = Vec::with_capacity(selected_angles.len());
        for &angle_idx in selected_angles {
            if angle_idx >= phi_deg.len() {
                return Err(KernelError::AngleIndexOutOfRange { index: angle_idx, n_angles: phi_deg.len() });
            }
            let phi = phi_deg[angle_idx];
            if !phi.is_finite() {
                return Err(KernelError::NonFinite { what: "phi_deg", index: vec![angle_idx], value: phi });
            }
            slices.push(&data[angle_idx * n_points..(angle_idx + 1) * n_points]);
        }
        let isa = Isa::detect();
        let parallel = selected_angles.len() * n_points >= PARALLEL_MIN_POINTS;
        let sums = moments::data_sums(isa, &slices, parallel);
        let mut angles = Vec::with_capacity(selected_angles.len());
        for ((&angle_idx, values), sums) in selected_angles.iter().zip(&slices).zip(sums) {
            // Rare: find the bad value only when the sums say there is one.
            if !sums.is_finite() {
                return Err(match values.iter().position(|value| !value.is_finite()) {
                    Some(flat) => KernelError::NonFinite {
                        what: "c2_exp",
                        index: vec![angle_idx, flat / n_frames, flat % n_frames],
                        value: values[flat],
                    },
                    // Finite values whose squares overflow (beyond 1e154).
                    None => KernelError::NonFinite {
                        what: "sum of squares of c2_exp",
                        index: vec![angle_idx],
                        value: sums.squares.to_f64(),
                    },
                });
            }
            let trace = (0..n_frames).fold(DoubleDouble::default(), |trace, frame| {
                trace.add(DoubleDouble::from_f64(values[frame * n_frames + frame]))
            });
            let diagonal_squares = (0..n_frames).map(|frame| values[frame * n_frames + frame].powi(2)).sum();
            let std = sums.std(n_points);
            angles.push(AngleData {
                angle_idx,
                phi_deg: phi_deg[angle_idx],
                sigma: (config.sigma.factor * std).max(config.sigma.minimum),
                sum_e: sums.sum,
                sum_ee: sums.squares,
                trace,
                diagonal_squares,
            });
        }
        Ok(ChiSquaredObjective {
            time: time_grid(n_frames, config.model.dt),
            c2_exp,
            n_frames,
            config,
            angles,
            isa,
            scratch: Mutex::new(Vec::new()),
        })
    }

    /// The settings the objective was built with.
    pub fn config(&self) -> &ObjectiveConfig {
        &self.config
    }

    /// The indices of the selected angles (into `phi_deg`), in selection order.
    pub fn selected_angles(&self) -> Vec<usize> {
        self.angles.iter().map(|angle| angle.angle_idx).collect()
    }

    /// Whether the data of every selected angle are exactly symmetric,
    /// `E[i][j] == E[j][i]` (two-time correlations as measured usually
    /// are): then each off-diagonal value is one measurement counted twice,
    /// which error bars must know. One pass over the data, by blocks.
    pub fn is_symmetric(&self) -> bool {
        let n = self.n_frames;
        let points = n * n;
        let data: &[f64] = &self.c2_exp;
        let symmetric = |angle: &AngleData| {
            let values = &data[angle.angle_idx * points..(angle.angle_idx + 1) * points];
            // Blocks of 32 rows x 32 columns: the transposed reads stay in cache.
            (0..n).step_by(32).all(|row_block| {
                (row_block..n).step_by(32).all(|col_block| {
                    (row_block..(row_block + 32).min(n)).all(|i| {
                        (col_block.max(i + 1)..(col_block + 32).min(n)).all(|j| values[i * n + j] == values[j * n + i])
                    })
                })
            })
        };
        self.angles.par_iter().all(symmetric)
    }

    /// Per selected angle, the sum of the diagonal's data and of their squares.
    pub fn diagonal_sums(&self) -> Vec<(f64, f64)> {
        self.angles.iter().map(|angle| (angle.trace.to_f64(), angle.diagonal_squares)).collect()
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
        self.with_scratch(|scratch| self.evaluate_with(params, scratch, out))?;
        out.params.clear();
        out.params.extend_from_slice(params);
        Ok(())
    }

    /// The angle-independent and per-angle factors of the fused pass at
    /// `params`, into `scratch`: the cumulative integrals of D and gamma,
    /// `a_j` and `b_i` (or the cumulative sums where they would leave the
    /// range of doubles), and theta, sin theta and cos theta per selected angle.
    fn prepare_factors(&self, params: &[f64], scratch: &mut Scratch) -> Result<Factors, KernelError> {
        let model = &self.config.model;
        let n_frames = self.n_frames;
        let padded = n_frames.div_ceil(BLOCK) * BLOCK;
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
            let base = self.shear_base();
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
        Ok(Factors { factorised, shear, decay, parallel })
    }

    /// The shear prefactor before the angle's cosine, in the units the
    /// kernels use (`sin(d) / d`: the normalised sinc's `pi` folded in).
    fn shear_base(&self) -> f64 {
        let model = &self.config.model;
        match model.sinc {
            SincConvention::Normalized => PI * model.sinc_prefactor(),
            SincConvention::Unnormalized => model.sinc_prefactor(),
        }
    }

    /// Takes the scratch space (or a new one), runs `work` with it, puts it back.
    /// Degrees of freedom of one angle: `max(N^2 - n_params, 1)`.
    fn dof(&self) -> usize {
        (self.n_frames * self.n_frames).saturating_sub(self.config.model.mode.n_params()).max(1)
    }

    fn with_scratch<R>(&self, work: impl FnOnce(&mut Scratch) -> R) -> R {
        let taken = self.scratch.lock().map_or(None, |mut pool| pool.pop());
        let mut scratch = taken.unwrap_or_default();
        let result = work(&mut scratch);
        if let Ok(mut pool) = self.scratch.lock() {
            pool.push(scratch);
        }
        result
    }

    // One evaluation in phases (factors, fused pass, per-angle fits), kept in
    // one place so that they read in order.
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
        let Factors { factorised, shear, decay, parallel } = self.prepare_factors(params, scratch)?;

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
            let task = RowTask { context: &context, shear: &shear_factors, data: angle_data, block_row };
            *partial = avx512::row_strip_sums(isa, &task).unwrap_or_else(|| block_row_sums(isa, &task));
        };
        if parallel {
            scratch.partial.par_iter_mut().enumerate().for_each(block);
        } else {
            scratch.partial.iter_mut().enumerate().for_each(block);
        }

        // Per angle: merge in order, add the diagonal (T = 1), solve, and sum.
        let n_points = (n_frames * n_frames) as f64;
        let dof = self.dof();
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
            let solved = solve_scaling_from_sums(n_points, sum_t, sum_tt, angle.sum_e, sum_te);
            let (contrast, offset) = solved.unwrap_or((1.0, 0.0));
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
                theory_sum: sum_t.to_f64(),
                theory_square_sum: sum_tt.to_f64(),
                scaling_fitted: solved.is_some(),
            });
        }
        summarize(out, (n_frames * n_frames * n_angles).saturating_sub(model.mode.n_params()).max(1));
        Ok(())
    }
}

/// `sum (E - c T - o)^2` from the sums, in double-double: the terms cancel to
/// the noise level of the data.
#[expect(clippy::too_many_arguments, reason = "the closed form's terms, each a sum of the data or the theory")]
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
            let (value, gradient) = objective.value_and_gradient(&params).unwrap();
            let normal = objective.normal_equations(&value).unwrap();
            let expected = value.value;
            let close = |got: &[f64], expected: &[f64]| {
                let scale = expected.iter().fold(0.0f64, |largest, value| largest.max(value.abs()));
                got.iter().zip(expected).all(|(got, expected)| (got - expected).abs() <= 1e-11 * scale)
            };
            for isa in Isa::available() {
                objective.isa = isa;
                let got = objective.evaluate(&params).unwrap().value;
                assert!((got - expected).abs() <= 1e-12 * expected, "{isa:?} {mode:?}: {got} vs {expected}");
                let (_, got_gradient) = objective.value_and_gradient(&params).unwrap();
                assert!(close(&got_gradient, &gradient), "{isa:?} {mode:?}: {got_gradient:?} vs {gradient:?}");
                let got_normal = objective.normal_equations(&value).unwrap();
                for (got, expected) in got_normal.angles.iter().zip(&normal.angles) {
                    for (got, expected) in [
                        (&got.residual, &expected.residual),
                        (&got.theory, &expected.theory),
                        (&got.one, &expected.one),
                        (&got.products, &expected.products),
                    ] {
                        assert!(close(got, expected), "{isa:?} {mode:?}: {got:?} vs {expected:?}");
                    }
                }
            }
        }
    }
}
