//! Derivatives of the fused objective with respect to the physical
//! parameters: the gradient, the Gauss-Newton normal equations, and the
//! residuals with their Jacobian in chunks.
//!
//! # Derivation
//!
//! For one selected angle with data `E` (`P = N^2` points), theory `T(p)` and
//! sigma `s`, the objective profiles the scaling out:
//! `chi2(p) = min over (c, o) of R(p, c, o) / s^2`, `R = sum (E - c T - o)^2`.
//! The minimiser `(c*, o*)` solves `dR/dc = dR/do = 0` (closed form, see
//! [`solve_scaling_batch`](crate::solve_scaling_batch)), so by the envelope
//! theorem the total derivative needs no derivative of `c*` or `o*`:
//!
//! ```text
//! d chi2 / dp = (dR/dp)(p, c*, o*) / s^2 = -2 c* sum r dT/dp / s^2,   r = E - c* T - o*
//! ```
//!
//! The objective is the mean over angles of `chi2 / dof`, so its gradient is
//! the mean of these over `dof`. The theory is `T = sinc(d)^4 g^2` with
//! `g = exp(-k |C_j - C_i|)`, `C` the cumulative sum of `D(t)`, and
//! `d = s_a (G_j - G_i)`, `G` the cumulative sum of the shear rate and
//! `s_a = (0.5/pi) q L dt cos(phi0 - phi_a)` (with `pi` folded in for the
//! normalised sinc). Then `dT/dp = -2 k T d|C_j - C_i|/dp + 4 sinc^3 sinc'
//! g^2 dd/dp`, where the per-frame derivatives are cumulative sums of
//! `dD/d(D0, alpha, D_offset) = (t^alpha, D0 t^alpha ln t, 1)` and the same
//! for the shear rate, and `dd/dphi0 = -(pi/180) tan(phi0 - phi_a) d`.
//! Everything per element is a difference of per-frame values, so one pass
//! over the data computes `sum r dT/dp` (the gradient) and, for
//! Gauss-Newton, `sum dT/dp dT/dq`, `sum T dT/dp` and `sum dT/dp`: never the
//! `(A, N, N)` theory, never the `(A N^2, p)` Jacobian.
//!
//! With these, the Jacobian of the weighted residuals `(E - c T - o) / s`
//! with respect to `(p, c, o)` has the normal matrix
//!
//! ```text
//! [ c^2 sum dT dT^T   c sum T dT   c sum dT ]
//! [       .           sum T^2      sum T    ]  / s^2
//! [       .              .          P       ]
//! ```
//!
//! and eliminating `(c, o)` (its Schur complement) gives the variable
//! projection (Kaufman) Gauss-Newton matrix of `p` alone; `homodyne-fit`
//! builds its steps and the covariance from it.
//!
//! # Kinks
//!
//! Where the model is not differentiable the derivative of the branch the
//! value came from is returned, documented here and tested:
//! - the diagonal `t1 = t2`: `|C_j - C_i|` has a kink at 0, but the diagonal's
//!   theory is 1 for every parameter, so its derivative is 0;
//! - `D(t)` clamped to 1e-10 or the shear rate clamped to 0 at a frame: that
//!   frame's rate does not move, its derivatives are 0 (one-sided);
//! - `alpha < 0` (or `beta < 0`) at `t = 0`: the power term is dropped, only
//!   the offset's derivative is 1; at `t = 0` the exponent's derivative is 0
//!   (the limit of `t^a ln t` for `a > 0`);
//! - `sinc` at 0 is smooth; its slope comes from a series where the quotient
//!   `(cos d - sinc d) / d` would cancel (`|d| < 1e-2`);
//! - laminar flow with `|gamma0|, |beta|, |gamma_offset|` all below 1e-10:
//!   the model switches the shear term off (v1), so the shear parameters'
//!   derivatives are 0 there;
//! - a singular scaling fit (contrast 1, offset 0, see the objective): the
//!   envelope theorem does not apply, and the derivative returned is that of
//!   the fixed scaling.

use std::f64::consts::PI;
use std::ops::Range;

use ndarray::ArrayViewMut2;
use rayon::prelude::*;

use super::block::{BLOCK, BlockContext, ShearFactors};
use super::derivative_block::{
    DerivativeSums, DerivativeTask, FrameDerivatives, MAX_PARAMS, derivative_row_sums, pair_index,
};
use super::{AngleFit, ChiSquaredObjective, Factors, ObjectiveValue, Scratch};
use crate::KernelError;
use crate::error::same_shape;
use crate::model::{power_law_derivatives_into, shear_cosine, validate_params};

/// The Gauss-Newton pieces of one selected angle at an evaluation: unweighted
/// sums over its `N^2` points of the theory's derivatives with respect to
/// the `n` physical parameters (in the model's order).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AngleNormal {
    /// The angle's fit at the evaluation (contrast, offset, sigma, sums of the theory).
    pub fit: AngleFit,
    /// `sum r dT/dp` with `r = E - contrast T - offset` (length `n`).
    pub residual: Vec<f64>,
    /// `sum T dT/dp` (length `n`).
    pub theory: Vec<f64>,
    /// `sum dT/dp` (length `n`).
    pub one: Vec<f64>,
    /// `sum dT/dp dT/dq`, row-major `n x n`, symmetric.
    pub products: Vec<f64>,
}

/// The normal equations of every selected angle at one evaluation; see the
/// module's derivation for the matrix they form.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NormalEquations {
    /// The parameters of the evaluation.
    pub params: Vec<f64>,
    /// One per selected angle, in selection order.
    pub angles: Vec<AngleNormal>,
}

impl ChiSquaredObjective<'_> {
    /// The objective's value and its gradient with respect to the
    /// parameters, at `params`: one evaluation and one derivative pass.
    ///
    /// # Errors
    /// As [`evaluate`](Self::evaluate).
    pub fn value_and_gradient(&self, params: &[f64]) -> Result<(ObjectiveValue, Vec<f64>), KernelError> {
        let value = self.evaluate(params)?;
        let gradient = self.gradient(&value)?;
        Ok((value, gradient))
    }

    /// The gradient of the objective (the mean reduced chi-squared) with
    /// respect to the parameters, at the evaluation `at` (from
    /// [`evaluate`](Self::evaluate) of this objective).
    ///
    /// # Errors
    /// [`KernelError::LengthMismatch`] when `at` is not an evaluation of
    /// this objective's angles and parameter count.
    pub fn gradient(&self, at: &ObjectiveValue) -> Result<Vec<f64>, KernelError> {
        let mut out = vec![0.0; self.config.model.mode.n_params()];
        self.gradient_into(at, &mut out)?;
        Ok(out)
    }

    /// [`gradient`](Self::gradient) into the caller's buffer (one value per parameter).
    pub fn gradient_into(&self, at: &ObjectiveValue, out: &mut [f64]) -> Result<(), KernelError> {
        self.check_evaluation(at)?;
        let n_params = self.config.model.mode.n_params();
        same_shape("gradient and parameters", &[out.len()], &[n_params])?;
        let dof = self.dof() as f64;
        let n_angles = self.angles.len() as f64;
        self.with_scratch(|scratch| {
            self.derivative_pass(at, scratch, false)?;
            out.fill(0.0);
            for (fit, sums) in at.angles.iter().zip(&scratch.derivative_totals) {
                let weight = -2.0 * fit.contrast / (fit.sigma * fit.sigma * dof * n_angles);
                for (gradient, &residual) in out.iter_mut().zip(&sums.residual) {
                    *gradient += weight * residual;
                }
            }
            Ok(())
        })
    }

    /// The normal equations at the evaluation `at`: per selected angle, the
    /// sums that make the Gauss-Newton matrix and gradient (see the module
    /// documentation).
    ///
    /// # Errors
    /// As [`gradient`](Self::gradient).
    pub fn normal_equations(&self, at: &ObjectiveValue) -> Result<NormalEquations, KernelError> {
        let mut out = NormalEquations::default();
        self.normal_equations_into(at, &mut out)?;
        Ok(out)
    }

    /// [`normal_equations`](Self::normal_equations) into the caller's
    /// result, reusing its buffers.
    pub fn normal_equations_into(&self, at: &ObjectiveValue, out: &mut NormalEquations) -> Result<(), KernelError> {
        self.check_evaluation(at)?;
        let n = self.config.model.mode.n_params();
        self.with_scratch(|scratch| {
            self.derivative_pass(at, scratch, true)?;
            out.params.clear();
            out.params.extend_from_slice(&at.params);
            out.angles.resize_with(at.angles.len(), AngleNormal::default);
            for ((angle, fit), sums) in out.angles.iter_mut().zip(&at.angles).zip(&scratch.derivative_totals) {
                angle.fit = *fit;
                angle.residual.clear();
                angle.residual.extend_from_slice(&sums.residual[..n]);
                angle.theory.clear();
                angle.theory.extend_from_slice(&sums.theory[..n]);
                angle.one.clear();
                angle.one.extend_from_slice(&sums.one[..n]);
                angle.products.clear();
                angle.products.extend((0..n * n).map(|flat| {
                    let (k, l) = (flat / n, flat % n);
                    sums.products[pair_index(k.min(l), k.max(l))]
                }));
            }
            Ok(())
        })
    }

    /// For the selected angle `selected` (position in the selection) and its
    /// frame rows `rows`, the weighted residuals `(E - c T - o) / sigma` at
    /// the evaluation `at` (row-major, `rows.len() * N` values) and their
    /// Jacobian with respect to the physical parameters at fixed contrast
    /// and offset, `-c dT/dp / sigma` (`(rows.len() * N, n_params)`). The
    /// Jacobian's columns for the angle's contrast and offset are `-T /
    /// sigma` and `-1 / sigma`. For Gauss-Newton on data too large to hold
    /// the Jacobian: a chunk at a time.
    ///
    /// # Errors
    /// As [`gradient`](Self::gradient); [`KernelError::AngleIndexOutOfRange`]
    /// for `selected`; [`KernelError::LengthMismatch`] for `rows` beyond the
    /// frames or outputs of the wrong shape.
    pub fn residuals_and_jacobian_into(
        &self,
        at: &ObjectiveValue,
        selected: usize,
        rows: Range<usize>,
        residuals: &mut [f64],
        mut jacobian: ArrayViewMut2<'_, f64>,
    ) -> Result<(), KernelError> {
        self.check_evaluation(at)?;
        let n_frames = self.n_frames;
        let n_params = self.config.model.mode.n_params();
        let fit = *at
            .angles
            .get(selected)
            .ok_or(KernelError::AngleIndexOutOfRange { index: selected, n_angles: self.angles.len() })?;
        if rows.start > rows.end || rows.end > n_frames {
            return Err(KernelError::LengthMismatch {
                what: "rows and frames",
                left: vec![rows.start, rows.end],
                right: vec![n_frames],
            });
        }
        let n_values = rows.len() * n_frames;
        same_shape(
            "outputs and (rows * N, n_params)",
            &[residuals.len(), jacobian.nrows(), jacobian.ncols()],
            &[n_values, n_values, n_params],
        )?;
        let angle = &self.angles[selected];
        let data = &self.c2_exp[angle.angle_idx * n_frames * n_frames..(angle.angle_idx + 1) * n_frames * n_frames];
        self.with_scratch(|scratch| {
            let factors = self.prepare_factors(&at.params, scratch)?;
            self.prepare_frame_derivatives(&at.params, factors, scratch);
            let padded = n_frames.div_ceil(BLOCK) * BLOCK;
            let theta = &scratch.theta[selected * padded..(selected + 1) * padded];
            let diffusion = &scratch.diffusion_derivatives;
            let shear = &scratch.theta_derivatives[selected * 4 * padded..(selected + 1) * 4 * padded];
            let cumulative = &scratch.diffusion_cumulative;
            let decay = factors.decay;
            let scale = -fit.contrast / fit.sigma;
            for (chunk_row, i) in rows.clone().enumerate() {
                for j in 0..n_frames {
                    let flat = chunk_row * n_frames + j;
                    let mut derivative = [0.0; MAX_PARAMS];
                    let theory = if i == j {
                        1.0
                    } else {
                        // C is strictly increasing (D >= 1e-10): |C_j - C_i| has the sign of j - i.
                        let sign = if j > i { 1.0 } else { -1.0 };
                        let g1 = (-decay * (cumulative[j] - cumulative[i]).abs()).exp();
                        let (sinc, slope) =
                            if factors.shear { sinc_and_slope(theta[j] - theta[i]) } else { (1.0, 0.0) };
                        let theory = (sinc * sinc * g1).powi(2);
                        for k in 0..3 {
                            let span = diffusion[k * padded + j] - diffusion[k * padded + i];
                            derivative[k] = -2.0 * decay * theory * sign * span;
                        }
                        if factors.shear {
                            for k in 0..4 {
                                let span = shear[k * padded + j] - shear[k * padded + i];
                                derivative[3 + k] = 4.0 * sinc.powi(3) * slope * g1 * g1 * span;
                            }
                        }
                        theory
                    };
                    residuals[flat] = (data[i * n_frames + j] - fit.contrast * theory - fit.offset) / fit.sigma;
                    for (k, value) in jacobian.row_mut(flat).iter_mut().enumerate() {
                        *value = scale * derivative[k];
                    }
                }
            }
            Ok(())
        })
    }

    /// Whether `at` is an evaluation of this objective's angles and parameters.
    fn check_evaluation(&self, at: &ObjectiveValue) -> Result<(), KernelError> {
        validate_params(&at.params, self.config.model.mode)?;
        let same_angles = at.angles.len() == self.angles.len()
            && at.angles.iter().zip(&self.angles).all(|(fit, angle)| fit.angle_idx == angle.angle_idx);
        if !same_angles {
            return Err(KernelError::LengthMismatch {
                what: "angles of the evaluation and of the objective",
                left: at.angles.iter().map(|fit| fit.angle_idx).collect(),
                right: self.angles.iter().map(|angle| angle.angle_idx).collect(),
            });
        }
        Ok(())
    }

    /// The per-frame derivatives at `params` into `scratch`: of the
    /// cumulative diffusion integral (3 arrays), and per selected angle of
    /// theta (4 arrays: gamma0, beta, gamma_offset, phi0), each padded with
    /// zeros to a multiple of `BLOCK`.
    fn prepare_frame_derivatives(&self, params: &[f64], factors: Factors, scratch: &mut Scratch) {
        let n_frames = self.n_frames;
        let padded = n_frames.div_ceil(BLOCK) * BLOCK;
        scratch.rate_derivatives.resize(n_frames, [0.0; 3]);
        power_law_derivatives_into(&self.time, params[0], params[1], params[2], 1e-10, &mut scratch.rate_derivatives);
        scratch.diffusion_derivatives.clear();
        scratch.diffusion_derivatives.resize(3 * padded, 0.0);
        cumulative_columns_into(&scratch.rate_derivatives, padded, &mut scratch.diffusion_derivatives);
        scratch.theta_derivatives.clear();
        scratch.theta_derivatives.resize(self.angles.len() * 4 * padded, 0.0);
        if !factors.shear {
            return;
        }
        power_law_derivatives_into(&self.time, params[3], params[4], params[5], 0.0, &mut scratch.rate_derivatives);
        scratch.shear_derivatives.clear();
        scratch.shear_derivatives.resize(3 * padded, 0.0);
        cumulative_columns_into(&scratch.rate_derivatives, padded, &mut scratch.shear_derivatives);
        let base = self.shear_base();
        for (angle, out) in self.angles.iter().zip(scratch.theta_derivatives.chunks_mut(4 * padded)) {
            let scale = base * shear_cosine(params[6], angle.phi_deg);
            let radians = (params[6] - angle.phi_deg) * (PI / 180.0);
            let scale_by_phi0 = -base * radians.sin() * (PI / 180.0);
            let (by_rate, by_phi0) = out.split_at_mut(3 * padded);
            for (derivative, &cumulative) in by_rate.iter_mut().zip(&scratch.shear_derivatives) {
                *derivative = scale * cumulative;
            }
            for (derivative, &cumulative) in by_phi0.iter_mut().zip(&scratch.shear_cumulative) {
                *derivative = scale_by_phi0 * cumulative;
            }
        }
    }

    /// One derivative pass at the evaluation `at`: per selected angle, the
    /// sums of [`DerivativeSums`] into `scratch.derivative_totals`.
    fn derivative_pass(&self, at: &ObjectiveValue, scratch: &mut Scratch, normal: bool) -> Result<(), KernelError> {
        let factors = self.prepare_factors(&at.params, scratch)?;
        self.prepare_frame_derivatives(&at.params, factors, scratch);
        let n_frames = self.n_frames;
        let n_blocks = n_frames.div_ceil(BLOCK);
        let padded = n_blocks * BLOCK;
        let n_points = n_frames * n_frames;
        let context = BlockContext {
            n_frames,
            factorised: factors.factorised,
            shear: factors.shear,
            decay: factors.decay,
            column_factor: &scratch.column_factor,
            row_factor: &scratch.row_factor,
        };
        let data: &[f64] = &self.c2_exp;
        let (theta, sin_theta, cos_theta) = (&scratch.theta, &scratch.sin_theta, &scratch.cos_theta);
        let (diffusion, theta_derivatives) = (&scratch.diffusion_derivatives, &scratch.theta_derivatives);
        let (angles, isa) = (&self.angles, self.isa);
        let item = |(item, partial): (usize, &mut DerivativeSums)| {
            let (selected, block_row) = (item / n_blocks, item % n_blocks);
            let range = selected * padded..(selected + 1) * padded;
            let shear = ShearFactors {
                theta: &theta[range.clone()],
                sin_theta: &sin_theta[range.clone()],
                cos_theta: &cos_theta[range],
            };
            let angle_theta = &theta_derivatives[selected * 4 * padded..(selected + 1) * 4 * padded];
            let frames = FrameDerivatives {
                diffusion: std::array::from_fn(|k| &diffusion[k * padded..(k + 1) * padded]),
                theta: std::array::from_fn(|k| &angle_theta[k * padded..(k + 1) * padded]),
            };
            let angle_idx = angles[selected].angle_idx;
            let fit = &at.angles[selected];
            let task = DerivativeTask {
                context: &context,
                shear: &shear,
                frames,
                data: &data[angle_idx * n_points..(angle_idx + 1) * n_points],
                block_row,
                contrast: fit.contrast,
                offset: fit.offset,
            };
            COLUMNS.with_borrow_mut(|columns| {
                columns.resize(2 * padded, 0.0);
                *partial = derivative_row_sums(isa, &task, normal, columns);
            });
        };
        scratch.derivative_partial.clear();
        scratch.derivative_partial.resize(angles.len() * n_blocks, DerivativeSums::default());
        if factors.parallel {
            scratch.derivative_partial.par_iter_mut().enumerate().for_each(item);
        } else {
            scratch.derivative_partial.iter_mut().enumerate().for_each(item);
        }
        // Merged in a fixed order: the result does not depend on the number of threads.
        scratch.derivative_totals.clear();
        scratch.derivative_totals.extend(scratch.derivative_partial.chunks(n_blocks).map(|parts| {
            let mut total = DerivativeSums::default();
            for part in parts {
                total.add(part);
            }
            total
        }));
        Ok(())
    }
}

thread_local! {
    /// Per thread, the streaming gradient kernel's column sums (two per
    /// frame): one buffer per rayon worker, reused by every work item it
    /// runs, so an evaluation allocates nothing after the first.
    static COLUMNS: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Cumulative sums of each of the three columns of `rates` into
/// `out[k * padded..]`, summed left to right as the rate itself.
fn cumulative_columns_into(rates: &[[f64; 3]], padded: usize, out: &mut [f64]) {
    for (k, column) in out.chunks_mut(padded).enumerate().take(3) {
        let mut running = 0.0;
        for (value, rate) in column.iter_mut().zip(rates) {
            running += rate[k];
            *value = running;
        }
    }
}

/// `sinc(d) = sin(d) / d` and its slope, with series near 0 (scalar reference form).
fn sinc_and_slope(d: f64) -> (f64, f64) {
    if d.abs() < super::block::SERIES_LIMIT {
        (super::block::sinc_series::<false>(d), super::derivative_block::sinc_slope_series::<false>(d))
    } else {
        let sinc = d.sin() / d;
        (sinc, (d.cos() - sinc) / d)
    }
}
