//! Exact, fast numerical kernels for XPCS homodyne analysis: Pearson
//! correlation, chi-squared (single, weighted and batched), and the homodyne
//! model with a fused chi-squared objective.
//!
//! Use it where v1 (`homodyne-analysis` 1.0.1, numpy + numba) used its
//! `OptimizedNumericalKernels` and its model kernels: the functions take
//! slices and `ndarray` views, return typed errors for bad input (NaN,
//! mismatched lengths, empty data, zero variance), and match v1's results
//! (test vectors computed with the real package are in `tests/data/`).
//! [`ChiSquaredObjective`] evaluates the model's objective for an optimiser
//! without materialising the theory, in one pass over the data.
//!
//! Kernels are compiled for AVX-512, AVX2 and a portable target and chosen at
//! run time, so a default build runs the fast code; large inputs use the
//! rayon pool, with results independent of the number of threads.
//!
//! # Example
//!
//! ```
//! use homodyne_kernels::{chi_squared_weighted, fast_chi_squared, fast_correlation};
//!
//! # fn main() -> Result<(), homodyne_kernels::KernelError> {
//! // Data far from zero: the one-pass textbook formula loses every digit here.
//! let x: Vec<f64> = (0..1000).map(|i| 1e9 + f64::from(i % 7)).collect();
//! let y: Vec<f64> = x.iter().map(|v| 2.0 * v + 3.0).collect();
//! assert!((fast_correlation(&x, &y)? - 1.0).abs() < 1e-12);
//!
//! let observed = [10.0, 12.0, 9.0];
//! let expected = [11.0, 11.0, 9.5];
//! let pearson = fast_chi_squared(&observed, &expected)?;
//! assert!((pearson - (1.0 / 11.0 + 1.0 / 11.0 + 0.25 / 9.5)).abs() < 1e-15);
//!
//! let fit = chi_squared_weighted(&observed, &expected, &[1.0, 1.0, 0.5])?;
//! assert_eq!((fit.chi2, fit.dof), (3.0, 2));
//!
//! // Bad input is a typed error that names the problem.
//! let error = fast_chi_squared(&[1.0, 2.0], &[1.0, 0.0]).unwrap_err();
//! assert_eq!(error.to_string(), "expected value at index 1 must be positive, got 0");
//! # Ok(())
//! # }
//! ```
//!
//! # Crate features
//!
//! None. SIMD dispatch is automatic; `rayon` is always used for large inputs.
//!
//! # Environment
//!
//! `HOMODYNE_SIMD=portable|avx2|avx512` caps the instruction set the kernels
//! use (read once per process), to compare the compiled copies on one
//! machine; `homodyne-angles` honours the same variable. See
//! [`SimdLevel::detect`].
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod error;
mod model;
mod objective;
mod simd;
mod stats;
mod sum;

pub use error::KernelError;
pub use model::{
    FlowMode, ModelConfig, SincConvention, c2_theory, c2_theory_into, chi_squared_batch_scaled,
    chi_squared_batch_scaled_into, diffusion_coefficient, diffusion_coefficient_into, g1_diffusion, shear_rate,
    shear_rate_into, sinc_squared, sinc_squared_scalar, solve_scaling_batch, solve_scaling_batch_into, time_grid,
    time_integral_matrix, time_integral_matrix_into,
};
pub use objective::{
    AngleFit, AngleNormal, ChiSquaredObjective, NormalEquations, ObjectiveConfig, ObjectiveValue, SigmaRule,
};
pub use simd::SimdLevel;
pub use stats::{
    ChiSquared, chi_squared_batch, chi_squared_batch_into, chi_squared_weighted, chi_squared_weighted_with_dof,
    correlation_matrix, fast_chi_squared, fast_correlation,
};
pub use sum::accurate_sum;
