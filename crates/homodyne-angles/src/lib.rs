//! Fast, exact filtering of scattering angles (degrees) against target ranges.
//!
//! Use it to pick the angles of an XPCS experiment that enter an analysis:
//! [`AngleFilterOptimizer::filter_angles_hybrid`] returns the indices of the
//! angles that lie in any [`AngleRange`], ascending and unique, with exactly the
//! semantics of the Python `homodyne-analysis` 1.0.1 package (v1), except that
//! a NaN or infinite angle is an error naming its index instead of being
//! silently dropped. The v2 convention, where angles fold into `(-180, 180]`,
//! is available as [`WrapMode::Periodic`].
//!
//! Three strategies return identical results: a scalar reference loop,
//! branch-free 64-angle block masks compiled for AVX-512, AVX2 and a portable
//! target and chosen at run time ([`SimdLevel`]), and a parallel version of the
//! latter on the rayon pool. The hybrid picks one by input size
//! ([`AngleFilterConfig`]); [`calibrate`] measures where they cross over on the
//! machine at hand.
//!
//! # Example
//!
//! ```
//! use homodyne_angles::{AngleFilterOptimizer, AngleRange, Fallback};
//!
//! # fn main() -> Result<(), homodyne_angles::AngleError> {
//! let angles = [-25.5, -8.0, 0.0, 45.0, 175.0, 185.0, 200.0];
//! let ranges = [AngleRange::new(-10.0, 10.0)?, AngleRange::new(170.0, 190.0)?];
//!
//! let optimizer = AngleFilterOptimizer::default();
//! assert_eq!(optimizer.filter_angles_hybrid(&angles, &ranges)?, vec![1, 2, 4, 5]);
//!
//! // The analysis pipeline's policy: all angles when nothing matches.
//! let far = [AngleRange::new(80.0, 100.0)?];
//! assert_eq!(optimizer.select_optimization_angles(&angles, &far, Fallback::AllAngles)?.len(), 7);
//!
//! // Bad input is a typed error that names the problem.
//! let error = optimizer.filter_angles_hybrid(&[0.0, f64::NAN], &ranges).unwrap_err();
//! assert_eq!(error.to_string(), "angle at index 1 is not finite (NaN)");
//! # Ok(())
//! # }
//! ```
//!
//! # Crate features
//!
//! None. SIMD dispatch is automatic; `rayon` is always used for the parallel strategy.
//!
//! # Environment
//!
//! `HOMODYNE_SIMD=portable|avx2|avx512` caps the instruction set (read once
//! per process), as in `homodyne-kernels`; see [`SimdLevel::detect`].
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod calibrate;
mod config;
mod error;
mod filter;
mod optimizer;
mod range;
mod simd;

pub use calibrate::{CALIBRATION_SIZES, Calibration, CalibrationPoint, calibrate, calibrate_with, synthetic_angles};
pub use config::{AngleFilterConfig, Fallback, Strategy};
pub use error::AngleError;
pub use optimizer::{AngleFilterOptimizer, StrategyCounts};
pub use range::{AngleRange, WrapMode, normalize_deg};
pub use simd::SimdLevel;
