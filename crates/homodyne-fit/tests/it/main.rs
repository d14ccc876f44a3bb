//! Integration tests of `homodyne-fit`: whole fits on synthetic data made
//! with the model (recovery within the stated uncertainties, honest error
//! bars over many noise seeds), bounds, fixed parameters, identifiability
//! and bad input.

mod fits;

use homodyne_kernels::{
    ChiSquaredObjective, FlowMode, ModelConfig, ObjectiveConfig, SigmaRule, SincConvention, c2_theory,
};
use ndarray::Array3;

/// The synthetic experiment of the issue: laminar flow, 23 angles, 1%
/// Gaussian noise (absolute, on data whose baseline is 1).
pub(crate) const TRUTH: [f64; 7] = [1e4, 0.5, 50.0, 5e-5, 0.5, 1e-5, 5.0];

/// v1's laminar-flow template bounds, but D_offset's widened from +-100:
/// at these sizes its 1-sigma uncertainty is about 100 (D0 t^alpha is 1e4
/// and more), so the template's bound would cut its distribution.
pub(crate) const BOUNDS: [(f64, f64); 7] =
    [(1.0, 1e6), (-2.0, 2.0), (-1e4, 1e4), (1e-6, 1.0), (-2.0, 2.0), (-0.01, 0.01), (-10.0, 10.0)];

pub(crate) fn model(n_frames: usize, mode: FlowMode) -> ModelConfig {
    ModelConfig {
        n_frames,
        dt: 0.1,
        wavevector_q: 0.0054,
        stator_rotor_gap: 2e6,
        mode,
        sinc: SincConvention::Unnormalized,
    }
}

/// `n` angles spread over (-180, 180) degrees.
pub(crate) fn angles(n: usize) -> Vec<f64> {
    (0..n).map(|a| -172.0 + 344.0 * a as f64 / (n.max(2) - 1) as f64).collect()
}

/// Standard normal numbers from `seed` (Box-Muller on the testkit's uniform stream).
pub(crate) fn gaussian(n: usize, seed: u64) -> Vec<f64> {
    let u = homodyne_testkit::uniform(n + n % 2, seed);
    let mut out = Vec::with_capacity(n + 1);
    for pair in u.chunks(2) {
        let radius = (-2.0 * (1.0 - pair[0]).ln()).sqrt();
        let angle = 2.0 * std::f64::consts::PI * pair[1];
        out.push(radius * angle.cos());
        out.push(radius * angle.sin());
    }
    out.truncate(n);
    out
}

/// As [`synthetic`], with the noise of `(i, j)` and `(j, i)` the same: data
/// symmetric as measured two-time correlations are.
pub(crate) fn synthetic_symmetric(
    truth: &[f64],
    phi: &[f64],
    config: &ModelConfig,
    noise: f64,
    seed: u64,
) -> Array3<f64> {
    let mut c2 = synthetic(truth, phi, config, noise, seed);
    let n = config.n_frames;
    for mut angle in c2.outer_iter_mut() {
        for i in 0..n {
            for j in 0..i {
                angle[[i, j]] = angle[[j, i]];
            }
        }
    }
    c2
}

/// The model at `truth` with contrast 0.2-0.3 and offset about 1 per angle, plus noise of standard deviation `noise`.
pub(crate) fn synthetic(truth: &[f64], phi: &[f64], config: &ModelConfig, noise: f64, seed: u64) -> Array3<f64> {
    let mut c2 = c2_theory(truth, phi, config).unwrap();
    let n_points = config.n_frames * config.n_frames;
    let normal = gaussian(c2.len(), seed);
    for ((flat, value), e) in c2.iter_mut().enumerate().zip(normal) {
        let angle = flat / n_points;
        let contrast = 0.2 + 0.1 * (angle % 5) as f64 / 4.0;
        let offset = 1.0 + 0.002 * (angle % 3) as f64;
        *value = offset + contrast * *value + noise * e;
    }
    c2
}

pub(crate) fn objective<'a>(c2: &'a Array3<f64>, phi: &[f64], config: ModelConfig) -> ChiSquaredObjective<'a> {
    let selected: Vec<usize> = (0..phi.len()).collect();
    ChiSquaredObjective::new(c2.view(), phi, &selected, ObjectiveConfig { model: config, sigma: SigmaRule::default() })
        .unwrap()
}
