//! The homodyne model of v1 (`homodyne-analysis` 1.0.1), function by function.
//!
//! These are the reference building blocks, each materialising its result;
//! [`ChiSquaredObjective`](crate::ChiSquaredObjective) fuses them for speed
//! and is tested against them.

use std::f64::consts::PI;

use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayViewMut1, ArrayViewMut2, ArrayViewMut3, Axis, Zip};

use crate::KernelError;
use crate::error::same_shape;
use crate::sum::{CompensatedLanes, DoubleDouble};

/// Which sinc the shear term uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SincConvention {
    /// `sin(x) / x`: v1's non-numba path and v2, which calls it the reference.
    #[default]
    Unnormalized,
    /// `sin(pi x) / (pi x)` (`np.sinc`): v1's numba path, used by its analysis class.
    Normalized,
}

/// Whether the model has a shear term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlowMode {
    /// Diffusion only: parameters `[D0, alpha, D_offset]`.
    Static,
    /// Diffusion and laminar shear flow: parameters
    /// `[D0, alpha, D_offset, gamma0, beta, gamma_offset, phi0_deg]`.
    #[default]
    LaminarFlow,
}

impl FlowMode {
    /// The number of model parameters.
    pub fn n_params(self) -> usize {
        match self {
            FlowMode::Static => 3,
            FlowMode::LaminarFlow => 7,
        }
    }
}

/// The experiment's constants and the model's conventions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelConfig {
    /// Number of frames `N` of the time grid `t_k = k dt`.
    pub n_frames: usize,
    /// Time step between frames, in seconds.
    pub dt: f64,
    /// Scattering wavevector q, in inverse ångström.
    pub wavevector_q: f64,
    /// Stator-rotor gap L, in ångström.
    pub stator_rotor_gap: f64,
    /// Static or laminar flow.
    pub mode: FlowMode,
    /// The sinc of the shear term.
    pub sinc: SincConvention,
}

impl ModelConfig {
    /// The g1 prefactor `0.5 q^2 dt`.
    pub fn g1_prefactor(&self) -> f64 {
        0.5 * self.wavevector_q.powi(2) * self.dt
    }

    /// The shear prefactor `0.5 / pi * q * L * dt` (before the angle's cosine).
    pub fn sinc_prefactor(&self) -> f64 {
        0.5 / PI * self.wavevector_q * self.stator_rotor_gap * self.dt
    }

    /// Checks the constants: finite, positive `dt` and `q`, finite `L`, at least one frame.
    pub fn validate(&self) -> Result<(), KernelError> {
        if self.n_frames == 0 {
            return Err(KernelError::TooFewPoints { what: "time grid", needed: 1, got: 0 });
        }
        for (name, value) in [("dt", self.dt), ("wavevector_q", self.wavevector_q)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(KernelError::InvalidParameter { name, value, requirement: "finite and positive" });
            }
        }
        if !self.stator_rotor_gap.is_finite() {
            return Err(KernelError::InvalidParameter {
                name: "stator_rotor_gap",
                value: self.stator_rotor_gap,
                requirement: "finite",
            });
        }
        Ok(())
    }
}

/// The time grid `t_k`, `k = 0..n_frames`, exactly as v1 builds it:
/// `np.linspace(0, dt * (n_frames - 1), n_frames)`.
pub fn time_grid(n_frames: usize, dt: f64) -> Vec<f64> {
    match n_frames {
        0 => Vec::new(),
        1 => vec![0.0],
        _ => {
            let stop = dt * (n_frames - 1) as f64;
            let step = stop / (n_frames - 1) as f64;
            let mut grid: Vec<f64> = (0..n_frames).map(|frame| frame as f64 * step).collect();
            grid[n_frames - 1] = stop;
            grid
        }
    }
}

/// A power-law rate `prefactor * t^exponent + offset`, with v1's rule for
/// negative exponents (the power term is dropped where `t <= 1e-10`), then
/// clamped to at least `floor`.
fn power_law_into(time: &[f64], prefactor: f64, exponent: f64, offset: f64, floor: f64, out: &mut [f64]) {
    for (value, &t) in out.iter_mut().zip(time) {
        let rate = if exponent < 0.0 && t <= 1e-10 { offset } else { prefactor * t.powf(exponent) + offset };
        *value = rate.max(floor);
    }
}

/// The derivatives of [`power_law_into`]'s rate with respect to
/// `(prefactor, exponent, offset)`, per frame, into `out[frame]`.
///
/// At the rule's kinks the derivative taken is the one of the branch the
/// value came from: where the rate is clamped to `floor` all three are 0
/// (the value does not move); where the power term is dropped (`exponent <
/// 0`, `t <= 1e-10`) only the offset's is 1; at `t = 0` the exponent's is 0
/// (the limit of `t^e ln t` for `e > 0`; at `e <= 0` the value jumps there).
pub(crate) fn power_law_derivatives_into(
    time: &[f64],
    prefactor: f64,
    exponent: f64,
    offset: f64,
    floor: f64,
    out: &mut [[f64; 3]],
) {
    for (derivatives, &t) in out.iter_mut().zip(time) {
        *derivatives = if exponent < 0.0 && t <= 1e-10 {
            [0.0, 0.0, if offset < floor { 0.0 } else { 1.0 }]
        } else {
            let power = t.powf(exponent);
            if prefactor * power + offset < floor {
                [0.0; 3]
            } else {
                let log_term = if t > 0.0 { prefactor * power * t.ln() } else { 0.0 };
                [power, log_term, 1.0]
            }
        };
    }
}

fn check_finite_parameters(names: &[&'static str], values: &[f64]) -> Result<(), KernelError> {
    for (&name, &value) in names.iter().zip(values) {
        if !value.is_finite() {
            return Err(KernelError::InvalidParameter { name, value, requirement: "finite" });
        }
    }
    Ok(())
}

/// The diffusion coefficient `D(t) = D0 t^alpha + D_offset` on the grid
/// `time`, clamped to at least 1e-10 (v1).
pub fn diffusion_coefficient(time: &[f64], d0: f64, alpha: f64, d_offset: f64) -> Result<Vec<f64>, KernelError> {
    let mut out = vec![0.0; time.len()];
    diffusion_coefficient_into(time, d0, alpha, d_offset, &mut out)?;
    Ok(out)
}

/// [`diffusion_coefficient`] into the caller's buffer (same length as `time`).
pub fn diffusion_coefficient_into(
    time: &[f64],
    d0: f64,
    alpha: f64,
    d_offset: f64,
    out: &mut [f64],
) -> Result<(), KernelError> {
    check_finite_parameters(&["D0", "alpha", "D_offset"], &[d0, alpha, d_offset])?;
    same_shape("time and out", &[time.len()], &[out.len()])?;
    power_law_into(time, d0, alpha, d_offset, 1e-10, out);
    Ok(())
}

/// The shear rate `gamma(t) = gamma0 t^beta + gamma_offset`, clamped to at
/// least 0 as on the path v1's analysis class uses.
pub fn shear_rate(time: &[f64], gamma0: f64, beta: f64, gamma_offset: f64) -> Result<Vec<f64>, KernelError> {
    let mut out = vec![0.0; time.len()];
    shear_rate_into(time, gamma0, beta, gamma_offset, &mut out)?;
    Ok(out)
}

/// [`shear_rate`] into the caller's buffer (same length as `time`).
pub fn shear_rate_into(
    time: &[f64],
    gamma0: f64,
    beta: f64,
    gamma_offset: f64,
    out: &mut [f64],
) -> Result<(), KernelError> {
    check_finite_parameters(&["gamma0", "beta", "gamma_offset"], &[gamma0, beta, gamma_offset])?;
    same_shape("time and out", &[time.len()], &[out.len()])?;
    power_law_into(time, gamma0, beta, gamma_offset, 0.0, out);
    Ok(())
}

/// The cumulative sums `c_i = f_0 + ... + f_i`, summed left to right as numpy does.
pub(crate) fn cumulative_sum_into(rate: &[f64], out: &mut [f64]) {
    let mut running = 0.0;
    for (value, &term) in out.iter_mut().zip(rate) {
        running += term;
        *value = running;
    }
}

/// The time-integral matrix of a rate: `M[i][j] = |c_i - c_j|` with `c` the
/// cumulative sum of `rate` (no `dt` factor, as in v1). Symmetric, zero diagonal.
pub fn time_integral_matrix(rate: &[f64]) -> Result<Array2<f64>, KernelError> {
    let mut out = zeros_checked("time integral matrix", [rate.len(), rate.len()])?;
    time_integral_matrix_into(rate, out.view_mut())?;
    Ok(out)
}

/// A zero-filled array of `shape`, or [`KernelError::TooLarge`] when its size
/// overflows or the allocation fails: validated sizes from users (a huge
/// `n_frames`) must be an error, not an abort.
fn zeros_checked<D: ndarray::Dimension, const RANK: usize>(
    what: &'static str,
    shape: [usize; RANK],
) -> Result<ndarray::Array<f64, D>, KernelError>
where
    [usize; RANK]: ndarray::IntoDimension<Dim = D>,
{
    let too_large = || KernelError::TooLarge { what, shape: shape.to_vec() };
    let len = shape
        .iter()
        .try_fold(1usize, |product, &extent| product.checked_mul(extent))
        .filter(|&len| len <= isize::MAX as usize / size_of::<f64>())
        .ok_or_else(too_large)?;
    let mut values = Vec::new();
    values.try_reserve_exact(len).map_err(|_| too_large())?;
    values.resize(len, 0.0);
    ndarray::Array::from_shape_vec(shape, values).map_err(|_| too_large())
}

/// [`time_integral_matrix`] into the caller's `(N, N)` buffer.
pub fn time_integral_matrix_into(rate: &[f64], mut out: ArrayViewMut2<'_, f64>) -> Result<(), KernelError> {
    let n = rate.len();
    same_shape("rate and out", &[n, n], out.shape())?;
    if let Some(index) = rate.iter().position(|value| !value.is_finite()) {
        return Err(KernelError::NonFinite { what: "rate", index: vec![index], value: rate[index] });
    }
    let mut cumulative = vec![0.0; n];
    cumulative_sum_into(rate, &mut cumulative);
    for ((row, col), value) in out.indexed_iter_mut() {
        *value = (cumulative[row] - cumulative[col]).abs();
    }
    Ok(())
}

/// The diffusion part of g1: `exp(-prefactor * M)` elementwise, with
/// `prefactor = 0.5 q^2 dt` (see [`ModelConfig::g1_prefactor`]).
pub fn g1_diffusion(time_integral: ArrayView2<'_, f64>, prefactor: f64) -> Array2<f64> {
    time_integral.mapv(|value| (-prefactor * value).exp())
}

/// `sinc(x)^2` for one argument in the given convention.
///
/// Near zero a series replaces the quotient (v1: below 1e-10 the normalised
/// form is `1 - (pi x)^2 / 3`, which rounds to 1).
pub fn sinc_squared_scalar(x: f64, convention: SincConvention) -> f64 {
    match convention {
        SincConvention::Normalized => {
            if x.abs() < 1e-10 {
                1.0 - (PI * x).powi(2) / 3.0
            } else {
                let y = PI * x;
                (y.sin() / y).powi(2)
            }
        }
        SincConvention::Unnormalized => {
            if x.abs() < 1e-4 {
                let x2 = x * x;
                // sinc(x) = 1 - x^2/6 + x^4/120 - ..., squared; the next term is below 1e-28.
                let sinc = 1.0 - x2 / 6.0 * (1.0 - x2 / 20.0);
                sinc * sinc
            } else {
                (x.sin() / x).powi(2)
            }
        }
    }
}

/// `sinc(prefactor * M)^2` elementwise: the shear term of one angle, with
/// `prefactor = 0.5 / pi * q * L * dt * cos(phi0 - phi)`.
pub fn sinc_squared(time_integral: ArrayView2<'_, f64>, prefactor: f64, convention: SincConvention) -> Array2<f64> {
    time_integral.mapv(|value| sinc_squared_scalar(prefactor * value, convention))
}

/// Whether the parameters switch the shear term off (v1's static shortcut).
pub(crate) fn shear_is_off(params: &[f64], mode: FlowMode) -> bool {
    match mode {
        FlowMode::Static => true,
        FlowMode::LaminarFlow => params[3..6].iter().all(|value| value.abs() < 1e-10),
    }
}

/// Checks the parameter count and that every parameter is finite.
pub(crate) fn validate_params(params: &[f64], mode: FlowMode) -> Result<(), KernelError> {
    const NAMES: [&str; 7] = ["D0", "alpha", "D_offset", "gamma0", "beta", "gamma_offset", "phi0"];
    if params.len() != mode.n_params() {
        return Err(KernelError::ParameterCount { expected: mode.n_params(), got: params.len() });
    }
    check_finite_parameters(&NAMES, params)
}

/// The angle factor of the shear prefactor, `cos(deg2rad(phi0 - phi))`, as numpy computes it.
pub(crate) fn shear_cosine(phi0_deg: f64, phi_deg: f64) -> f64 {
    ((phi0_deg - phi_deg) * (PI / 180.0)).cos()
}

/// The model correlation `c2_theory[a][i][j] = (sinc^2 * g1)^2` for every
/// angle `phi_deg[a]`, shape `(A, N, N)`: the v1 pipeline, materialised.
///
/// # Errors
/// As [`c2_theory_into`], checked before anything is allocated, and
/// [`KernelError::TooLarge`] when `(A, N, N)` doubles cannot be allocated.
pub fn c2_theory(params: &[f64], phi_deg: &[f64], config: &ModelConfig) -> Result<Array3<f64>, KernelError> {
    validate_model_inputs(params, phi_deg, config)?;
    let mut theory: Array3<f64> = zeros_checked("c2_theory", [phi_deg.len(), config.n_frames, config.n_frames])?;
    c2_theory_into(params, phi_deg, config, theory.view_mut())?;
    Ok(theory)
}

/// The checks of the model's inputs that need no allocation.
fn validate_model_inputs(params: &[f64], phi_deg: &[f64], config: &ModelConfig) -> Result<(), KernelError> {
    config.validate()?;
    validate_params(params, config.mode)?;
    if let Some(index) = phi_deg.iter().position(|value| !value.is_finite()) {
        return Err(KernelError::NonFinite { what: "phi_deg", index: vec![index], value: phi_deg[index] });
    }
    Ok(())
}

/// [`c2_theory`] into the caller's `(A, N, N)` buffer.
pub fn c2_theory_into(
    params: &[f64],
    phi_deg: &[f64],
    config: &ModelConfig,
    mut theory: ArrayViewMut3<'_, f64>,
) -> Result<(), KernelError> {
    validate_model_inputs(params, phi_deg, config)?;
    let expected_shape = [phi_deg.len(), config.n_frames, config.n_frames];
    same_shape("out and (phi_deg, n_frames, n_frames)", theory.shape(), &expected_shape)?;
    if phi_deg.is_empty() {
        // Nothing to fill; the (N, N) intermediates below could be larger than the output.
        return Ok(());
    }
    let time = time_grid(config.n_frames, config.dt);
    let diffusion = diffusion_coefficient(&time, params[0], params[1], params[2])?;
    let g1 = g1_diffusion(time_integral_matrix(&diffusion)?.view(), config.g1_prefactor());
    if shear_is_off(params, config.mode) {
        let g1_squared = g1.mapv(|value| value * value);
        theory.axis_iter_mut(Axis(0)).for_each(|mut angle| angle.assign(&g1_squared));
        return Ok(());
    }
    let shear = shear_rate(&time, params[3], params[4], params[5])?;
    let shear_integral = time_integral_matrix(&shear)?;
    for (mut angle, &phi) in theory.axis_iter_mut(Axis(0)).zip(phi_deg) {
        let prefactor = config.sinc_prefactor() * shear_cosine(params[6], phi);
        let sinc2 = sinc_squared(shear_integral.view(), prefactor, config.sinc);
        Zip::from(&mut angle).and(&sinc2).and(&g1).for_each(|value, &sinc2, &g1| {
            let product = sinc2 * g1;
            *value = product * product;
        });
    }
    Ok(())
}

/// The 2x2 least-squares solution of `E ~ contrast * T + offset` from sums.
///
/// The determinant `P sum(T^2) - sum(T)^2` is computed in double-double from
/// compensated sums; the fit is singular (`None`: callers keep contrast 1,
/// offset 0, as v1) when it is at most `1e-12 * P * sum(T^2)`. v1 tested `|det| <= 1e-12` absolutely,
/// which misses a constant theory over many points, where rounding leaves a
/// determinant of about 1e-10 and v1 returns noise.
pub(crate) fn solve_scaling_from_sums(
    n_points: f64,
    sum_t: DoubleDouble,
    sum_tt: DoubleDouble,
    sum_e: DoubleDouble,
    sum_te: DoubleDouble,
) -> Option<(f64, f64)> {
    let points = DoubleDouble::from_f64(n_points);
    let det = points.mul(sum_tt).sub(sum_t.mul(sum_t));
    let threshold = 1e-12 * n_points * sum_tt.to_f64();
    if det.to_f64() <= threshold || det.to_f64().is_nan() {
        return None;
    }
    let contrast = points.mul(sum_te).sub(sum_t.mul(sum_e)).div(det);
    let offset = sum_tt.mul(sum_e).sub(sum_t.mul(sum_te)).div(det);
    Some((contrast.to_f64(), offset.to_f64()))
}

fn scaling_sums(theory: &[f64], exp: &[f64]) -> [DoubleDouble; 4] {
    let mut lanes = [CompensatedLanes::default(); 4];
    for (&t, &e) in theory.iter().zip(exp) {
        lanes[0].add_one(t);
        lanes[1].add_one(t * t);
        lanes[2].add_one(e);
        lanes[3].add_one(t * e);
    }
    lanes.map(|lane| lane.total())
}

fn check_batch_shapes(theory: ArrayView2<'_, f64>, exp: ArrayView2<'_, f64>, n_out: usize) -> Result<(), KernelError> {
    same_shape("theory and exp", theory.shape(), exp.shape())?;
    same_shape("outputs and rows", &[n_out], &[theory.nrows()])?;
    for (what, matrix) in [("theory", theory), ("exp", exp)] {
        if let Some(((row, col), &value)) = matrix.indexed_iter().find(|(_, value)| !value.is_finite()) {
            return Err(KernelError::NonFinite { what, index: vec![row, col], value });
        }
    }
    Ok(())
}

/// Per row (angle) of `theory` and `exp` (shape `(A, P)`), the least-squares
/// `(contrast, offset)` of `exp ~ contrast * theory + offset` (v1's
/// `solve_least_squares_batch`), with accurate sums and a relative singularity test.
pub fn solve_scaling_batch(
    theory: ArrayView2<'_, f64>,
    exp: ArrayView2<'_, f64>,
) -> Result<(Array1<f64>, Array1<f64>), KernelError> {
    let mut contrast = Array1::zeros(theory.nrows());
    let mut offset = Array1::zeros(theory.nrows());
    solve_scaling_batch_into(theory, exp, contrast.view_mut(), offset.view_mut())?;
    Ok((contrast, offset))
}

/// [`solve_scaling_batch`] into the caller's buffers.
pub fn solve_scaling_batch_into(
    theory: ArrayView2<'_, f64>,
    exp: ArrayView2<'_, f64>,
    mut contrast: ArrayViewMut1<'_, f64>,
    mut offset: ArrayViewMut1<'_, f64>,
) -> Result<(), KernelError> {
    check_batch_shapes(theory, exp, contrast.len())?;
    check_batch_shapes(theory, exp, offset.len())?;
    Zip::from(&mut contrast).and(&mut offset).and(theory.rows()).and(exp.rows()).par_for_each(
        |contrast, offset, theory_row, exp_row| {
            let (t_values, e_values) = (theory_row.as_standard_layout(), exp_row.as_standard_layout());
            let [sum_t, sum_tt, sum_e, sum_te] =
                scaling_sums(t_values.as_slice().unwrap_or(&[]), e_values.as_slice().unwrap_or(&[]));
            (*contrast, *offset) =
                solve_scaling_from_sums(theory_row.len() as f64, sum_t, sum_tt, sum_e, sum_te).unwrap_or((1.0, 0.0));
        },
    );
    Ok(())
}

/// Per row, the unweighted residual sum `sum_j (exp - (contrast * theory + offset))^2`
/// (v1's `compute_chi_squared_batch`), compensated, parallel over rows.
pub fn chi_squared_batch_scaled(
    theory: ArrayView2<'_, f64>,
    exp: ArrayView2<'_, f64>,
    contrast: &[f64],
    offset: &[f64],
) -> Result<Array1<f64>, KernelError> {
    let mut out = Array1::zeros(theory.nrows());
    chi_squared_batch_scaled_into(theory, exp, contrast, offset, out.view_mut())?;
    Ok(out)
}

/// [`chi_squared_batch_scaled`] into the caller's buffer.
pub fn chi_squared_batch_scaled_into(
    theory: ArrayView2<'_, f64>,
    exp: ArrayView2<'_, f64>,
    contrast: &[f64],
    offset: &[f64],
    mut out: ArrayViewMut1<'_, f64>,
) -> Result<(), KernelError> {
    check_batch_shapes(theory, exp, out.len())?;
    same_shape("contrast and rows", &[contrast.len()], &[theory.nrows()])?;
    same_shape("offset and rows", &[offset.len()], &[theory.nrows()])?;
    Zip::indexed(&mut out).and(theory.rows()).and(exp.rows()).par_for_each(|row_idx, value, theory_row, exp_row| {
        let mut lanes = CompensatedLanes::default();
        for (&t, &e) in theory_row.iter().zip(exp_row) {
            let residual = e - (t * contrast[row_idx] + offset[row_idx]);
            lanes.add_one(residual * residual);
        }
        *value = lanes.total().to_f64();
    });
    Ok(())
}
