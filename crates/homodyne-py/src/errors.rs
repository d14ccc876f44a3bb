//! Rust errors as Python exceptions: `ValueError` for bad values and shapes,
//! `TypeError` for wrong types, [`CacheError`] and [`PerfError`] (subclasses
//! of `OSError`'s sibling `Exception`) for the cache's and the baselines'
//! files.

use pyo3::PyErr;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyMemoryError, PyValueError};

create_exception!(homodyne_rs, CacheError, PyException, "A cache file could not be read or written, or is damaged.");
create_exception!(homodyne_rs, PerfError, PyException, "A baseline file could not be read or written, or git failed.");
create_exception!(
    homodyne_rs,
    NotIdentifiableError,
    PyValueError,
    "The data do not determine some fitted parameters (singular Jacobian); `.parameters` names them."
);

/// Kernel errors are always about the values passed in.
pub(crate) fn kernel(error: homodyne_kernels::KernelError) -> PyErr {
    match error {
        homodyne_kernels::KernelError::TooLarge { .. } => PyMemoryError::new_err(error.to_string()),
        _ => PyValueError::new_err(error.to_string()),
    }
}

/// Angle errors are about the values passed in (NaN, inverted ranges, no angle selected).
pub(crate) fn angles(error: homodyne_angles::AngleError) -> PyErr {
    PyValueError::new_err(error.to_string())
}

/// Configuration and size problems are `ValueError`; file problems are [`CacheError`].
pub(crate) fn cache(error: homodyne_cache::CacheError) -> PyErr {
    use homodyne_cache::CacheError as E;
    match error {
        E::InvalidConfig { .. } | E::EntryTooLarge { .. } | E::RecursiveCompute => {
            PyValueError::new_err(error.to_string())
        }
        _ => CacheError::new_err(error.to_string()),
    }
}

/// Invalid samples are `ValueError`; files and git are [`PerfError`].
pub(crate) fn perf(error: homodyne_perf::PerfError) -> PyErr {
    match error {
        homodyne_perf::PerfError::Invalid { .. } => PyValueError::new_err(error.to_string()),
        _ => PerfError::new_err(error.to_string()),
    }
}
