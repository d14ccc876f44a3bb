//! Fits of the XPCS homodyne model: bounded Levenberg-Marquardt over the
//! physical parameters with every angle's contrast and offset profiled out
//! (variable projection), on the analytic derivatives of
//! [`homodyne_kernels::ChiSquaredObjective`], with the covariance and 1-sigma
//! uncertainty of every fitted quantity.
//!
//! Use it where a derivative-free optimiser (scipy's Nelder-Mead over v1's
//! objective) is slow and lands on the wrong shear, or where the JAX fit of
//! homodyne 2.x takes minutes: a Gauss-Newton step here costs one
//! derivative pass over the data and one evaluation, and the fit converges
//! in tens of them. Its own crate, not a module of `homodyne-kernels`: the
//! kernels compute sums over the data (SIMD, threads, exact accumulation),
//! this crate decides steps and error bars on a few numbers; neither needs
//! the other's internals, and a user of the kernels alone does not compile
//! an optimiser.
//!
//! What is fitted: `S(p) = sum over angles of chi2_a(p)`, `chi2_a` as the
//! objective defines it (v1's sigma per angle, contrast and offset solved in
//! closed form). Error bars: `(J^T J)^-1` of the whole problem scaled by
//! `S / dof` (the sigma rule of v1, `0.1 std(E)`, is not the noise, so
//! only the reduced chi-squared can set the scale).
//!
//! # Example
//!
//! ```
//! use homodyne_fit::{FitConfig, fit};
//! use homodyne_kernels::{ChiSquaredObjective, FlowMode, ModelConfig, ObjectiveConfig, SigmaRule, SincConvention, c2_theory};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let model = ModelConfig {
//!     n_frames: 40, dt: 0.1, wavevector_q: 0.0054, stator_rotor_gap: 2e6,
//!     mode: FlowMode::Static, sinc: SincConvention::Unnormalized,
//! };
//! let phi = [0.0, 90.0];
//! let truth = [2e4, 0.3, 50.0];
//! let mut c2_exp = c2_theory(&truth, &phi, &model)?;
//! // Contrast 0.3, offset 1 and a deterministic ripple as noise.
//! c2_exp.indexed_iter_mut().for_each(|((a, i, j), v)| *v = 0.3 * *v + 1.0 + 1e-3 * (((a + 3 * i + 7 * j) % 11) as f64 - 5.0) / 5.0);
//! let objective = ChiSquaredObjective::new(c2_exp.view(), &phi, &[0, 1], ObjectiveConfig { model, sigma: SigmaRule::default() })?;
//!
//! let config = FitConfig { bounds: vec![(1.0, 1e6), (-2.0, 2.0), (-100.0, 100.0)], ..FitConfig::default() };
//! let result = fit(&objective, &[2.6e4, 0.39, 65.0], &config)?;
//! assert!(result.success, "{}", result.message);
//! for k in 0..3 {
//!     assert!((result.params[k] - truth[k]).abs() < 5.0 * result.uncertainties[k]);
//! }
//! assert!((result.contrast[0] - 0.3).abs() < 1e-2);
//! # Ok(())
//! # }
//! ```
//!
//! # Crate features
//!
//! None. Multistart runs its starts on the rayon pool.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod fit;
mod levenberg;
mod linalg;
mod normal;

pub use error::FitError;
pub use fit::{FitConfig, FitResult, MAX_STARTS, PARAMETER_NAMES, StartOutcome, fit, parameter_names};
pub use levenberg::Termination;
