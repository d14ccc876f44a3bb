//! `homodyne_rs` for Python: the extension module `homodyne_rs._homodyne_rs`
//! (PyO3, stable ABI for CPython >= 3.9, built by maturin from
//! `pyproject.toml`). The Python package `python/homodyne_rs` re-exports it
//! and adds the v1 drop-in (`Objective.from_v1_config`, `homodyne_rs.v1.fit`).
//!
//! This crate only converts and calls: numpy arrays in by one rule
//! (`arrays.rs`: shape and bytes checked first; borrowed when native,
//! C-contiguous and aligned; else copied once by `numpy.require`), numpy
//! arrays out (shapes checked before numpy sees them), every computation
//! with the GIL released, every Rust error a Python exception
//! (`ValueError`, `TypeError`, `MemoryError`, `homodyne_rs.CacheError`,
//! `homodyne_rs.PerfError`, `homodyne_rs.NotIdentifiableError`). No panic
//! reaches Python as `PanicException`: every exported function and method
//! runs in `guard.rs`'s guard (checked by `tests/test_hostile.py`), which
//! turns a panic, a bug, into a `RuntimeError` naming the function.
//!
//! # Crate features
//!
//! None. Its tests are Python (`crates/homodyne-py/tests`, pytest).
#![deny(missing_docs)]

mod arrays;
mod cache;
mod errors;
mod fit;
mod guard;
mod kernels;
mod objective;
mod perf;

use pyo3::prelude::*;

/// Fast, exact XPCS homodyne analysis from Rust: angle filtering, correlation,
/// chi-squared, the homodyne model and v1's objective, a memory-bounded cache
/// for arrays, and regression statistics for benchmarks.
#[pymodule]
fn _homodyne_rs(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add("CacheError", py.get_type::<errors::CacheError>())?;
    module.add("PerfError", py.get_type::<errors::PerfError>())?;
    module.add("NotIdentifiableError", py.get_type::<errors::NotIdentifiableError>())?;
    module.add_function(wrap_pyfunction!(kernels::filter_angles, module)?)?;
    module.add_function(wrap_pyfunction!(kernels::fast_correlation, module)?)?;
    module.add_function(wrap_pyfunction!(kernels::correlation_matrix, module)?)?;
    module.add_function(wrap_pyfunction!(kernels::chi_squared, module)?)?;
    module.add_function(wrap_pyfunction!(kernels::chi_squared_weighted, module)?)?;
    module.add_function(wrap_pyfunction!(kernels::chi_squared_batch, module)?)?;
    module.add_function(wrap_pyfunction!(kernels::solve_scaling_batch, module)?)?;
    module.add_function(wrap_pyfunction!(kernels::c2_theory, module)?)?;
    module.add_class::<kernels::ChiSquared>()?;
    module.add_class::<objective::Objective>()?;
    module.add_class::<fit::FitResult>()?;
    module.add_class::<cache::MemoryEfficientCache>()?;
    module.add_class::<perf::PerformanceRecorder>()?;
    module.add_class::<perf::PerfVerdict>()?;
    Ok(())
}
