//! Fast, trustworthy building blocks for X-ray Photon Correlation Spectroscopy
//! (XPCS) homodyne analysis, re-exported from small focused crates.
//!
//! Depend on this crate to get everything under one name, or on the
//! individual crates to keep the dependency tree small:
//!
//! | module | crate | what it does |
//! |---|---|---|
//! | [`angles`] | `homodyne-angles` | filtering of scattering angles against target ranges |
//! | [`kernels`] | `homodyne-kernels` | correlation, chi-squared, and the homodyne model's fused objective with its derivatives |
//! | [`fit`] | `homodyne-fit` | bounded least-squares fits of the model with uncertainties |
//! | [`cache`] | `homodyne-cache` | a memory-bounded, compressing cache for large arrays |
//! | [`perf`] | `homodyne-perf` | benchmark baselines keyed to git, regression verdicts |
//!
//! # Example
//!
//! ```
//! use homodyne::angles::{AngleFilterOptimizer, AngleRange};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let phi_deg = [-8.0, 45.0, 178.0];
//! let selected = AngleFilterOptimizer::default().filter_angles_hybrid(&phi_deg, &AngleRange::DEFAULT_RANGES)?;
//! assert_eq!(selected, vec![0, 2]);
//!
//! let r = homodyne::kernels::fast_correlation(&[1.0, 2.0, 3.0], &[2.0, 4.1, 6.0])?;
//! assert!(r > 0.99);
//! # Ok(())
//! # }
//! ```
//!
//! # Crate features
//!
//! None yet; each re-exported crate documents its own.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub use homodyne_angles as angles;
pub use homodyne_cache as cache;
pub use homodyne_fit as fit;
pub use homodyne_kernels as kernels;
pub use homodyne_perf as perf;

/// The README's examples, compiled and run as doctests so that they stay true.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
