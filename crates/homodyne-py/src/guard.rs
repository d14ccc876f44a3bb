//! No Rust panic reaches Python. Every function and method the module
//! exports runs its body inside [`guard`] (a test of the package checks
//! that each one does): inputs are validated so that nothing panics, and
//! should a bug panic anyway, the caller gets a `RuntimeError` naming the
//! function, an ordinary exception, instead of PyO3's `PanicException`
//! (a `BaseException` that `except Exception` does not catch).

use pyo3::PyResult;
use pyo3::exceptions::PyRuntimeError;

/// Runs `work`, turning a panic into a `RuntimeError` that names `function`.
pub(crate) fn guard<T>(function: &'static str, work: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        Err(PyRuntimeError::new_err(format!(
            "internal error in homodyne_rs.{function}: {message} (a bug in homodyne-rs: please report it)"
        )))
    })
}
