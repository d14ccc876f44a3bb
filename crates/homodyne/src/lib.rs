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
//! | `perf` (feature `perf`) | `homodyne-perf` | benchmark baselines keyed to git, regression verdicts |
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
//! One per module: `angles`, `kernels`, `cache` and `fit` (with `kernels`)
//! are on by default; `perf` (benchmark baselines and regression
//! statistics: git through gix, toml, sysinfo) is off. A user who only
//! filters angles depends on `homodyne` with `default-features = false,
//! features = ["angles"]` and compiles nothing else. The example above
//! needs `angles` and `kernels`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "angles")]
pub use homodyne_angles as angles;
#[cfg(feature = "cache")]
pub use homodyne_cache as cache;
#[cfg(feature = "fit")]
pub use homodyne_fit as fit;
#[cfg(feature = "kernels")]
pub use homodyne_kernels as kernels;
#[cfg(feature = "perf")]
pub use homodyne_perf as perf;
