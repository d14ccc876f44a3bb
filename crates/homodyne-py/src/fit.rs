//! `FitResult` and the fit's errors: `homodyne_fit` for Python.

use std::fmt::Write as _;

use homodyne_fit::{FitError, FitResult as RustResult, PARAMETER_NAMES, Termination};
use numpy::{IntoPyArray, PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors;

/// A fit of the homodyne model with its uncertainties (from
/// `Objective.fit` or `homodyne_rs.fit`). Arrays are numpy arrays;
/// `x`, `fun` and `nfev` mirror scipy's `OptimizeResult`.
#[pyclass(frozen, module = "homodyne_rs")]
pub(crate) struct FitResult {
    inner: RustResult,
}

impl FitResult {
    pub(crate) fn new(inner: RustResult) -> FitResult {
        FitResult { inner }
    }

    /// The parameters' names, in order (the result's parameter count says the mode).
    fn names(&self) -> &'static [&'static str] {
        &PARAMETER_NAMES[..self.inner.params.len()]
    }
}

fn array<'py>(py: Python<'py>, values: &[f64]) -> Bound<'py, PyArray1<f64>> {
    values.to_vec().into_pyarray(py)
}

fn termination_name(termination: Termination) -> &'static str {
    match termination {
        Termination::Gtol => "gtol",
        Termination::Ftol => "ftol",
        Termination::Xtol => "xtol",
        Termination::NoReduction => "no_reduction",
        Termination::MaxIterations => "max_iterations",
        _ => "other",
    }
}

#[pymethods]
impl FitResult {
    /// The fitted physical parameters (`[D0, alpha, D_offset]`, plus
    /// `[gamma0, beta, gamma_offset, phi0]` in laminar flow).
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        crate::guard::guard("FitResult.params", || Ok(array(py, &self.inner.params)))
    }

    /// scipy's name for `params`.
    #[getter]
    fn x<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        crate::guard::guard("FitResult.x", || self.params(py))
    }

    /// 1-sigma uncertainties of `params` (0 for fixed parameters).
    #[getter]
    fn uncertainties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        crate::guard::guard("FitResult.uncertainties", || Ok(array(py, &self.inner.uncertainties)))
    }

    /// Covariance of `params`, shape `(n, n)`: `(J^T J)^-1` of the whole
    /// problem (every contrast and offset too) times `chi2_reduced`.
    #[getter]
    fn covariance<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        crate::guard::guard("FitResult.covariance", || {
            let n = self.inner.params.len();
            let matrix = ndarray::Array2::from_shape_vec((n, n), self.inner.covariance.clone())
                .map_err(|error| pyo3::exceptions::PyValueError::new_err(error.to_string()))?;
            Ok(matrix.into_pyarray(py))
        })
    }

    /// The parameters' names, in order.
    #[getter]
    fn parameter_names(&self) -> PyResult<Vec<&'static str>> {
        crate::guard::guard("FitResult.parameter_names", || Ok(self.names().to_vec()))
    }

    /// The fitted angles' indices into `phi`.
    #[getter]
    fn angle_indices<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<i64>>> {
        crate::guard::guard("FitResult.angle_indices", || {
            Ok(self.inner.angle_indices.iter().map(|&index| index as i64).collect::<Vec<_>>().into_pyarray(py))
        })
    }

    /// Per fitted angle, the contrast.
    #[getter]
    fn contrast<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        crate::guard::guard("FitResult.contrast", || Ok(array(py, &self.inner.contrast)))
    }

    /// Per fitted angle, the contrast's 1-sigma uncertainty.
    #[getter]
    fn contrast_uncertainties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        crate::guard::guard("FitResult.contrast_uncertainties", || Ok(array(py, &self.inner.contrast_uncertainties)))
    }

    /// Per fitted angle, the offset.
    #[getter]
    fn offset<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        crate::guard::guard("FitResult.offset", || Ok(array(py, &self.inner.offset)))
    }

    /// Per fitted angle, the offset's 1-sigma uncertainty.
    #[getter]
    fn offset_uncertainties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        crate::guard::guard("FitResult.offset_uncertainties", || Ok(array(py, &self.inner.offset_uncertainties)))
    }

    /// The sum over angles of chi-squared (v1's sigma per angle).
    #[getter]
    fn chi2(&self) -> PyResult<f64> {
        crate::guard::guard("FitResult.chi2", || Ok(self.inner.chi2))
    }

    /// Chi-squared of the independent points over `degrees_of_freedom`; scales the covariance.
    #[getter]
    fn chi2_reduced(&self) -> PyResult<f64> {
        crate::guard::guard("FitResult.chi2_reduced", || Ok(self.inner.chi2_reduced))
    }

    /// Independent points minus free parameters minus two per angle.
    #[getter]
    fn degrees_of_freedom(&self) -> PyResult<usize> {
        crate::guard::guard("FitResult.degrees_of_freedom", || Ok(self.inner.degrees_of_freedom))
    }

    /// Whether the data were exactly symmetric (then each off-diagonal
    /// value counts once in the error bars and degrees of freedom).
    #[getter]
    fn symmetric_data(&self) -> PyResult<bool> {
        crate::guard::guard("FitResult.symmetric_data", || Ok(self.inner.symmetric_data))
    }

    /// The objective (v1's mean reduced chi-squared) at `params`.
    #[getter]
    fn objective(&self) -> PyResult<f64> {
        crate::guard::guard("FitResult.objective", || Ok(self.inner.objective))
    }

    /// scipy's name for `objective`.
    #[getter]
    fn fun(&self) -> PyResult<f64> {
        crate::guard::guard("FitResult.fun", || Ok(self.inner.objective))
    }

    /// Per parameter, whether it ended on a bound.
    #[getter]
    fn at_bounds(&self) -> PyResult<Vec<bool>> {
        crate::guard::guard("FitResult.at_bounds", || Ok(self.inner.at_bounds.clone()))
    }

    /// Objective evaluations, every start included.
    #[getter]
    fn n_evaluations(&self) -> PyResult<usize> {
        crate::guard::guard("FitResult.n_evaluations", || Ok(self.inner.n_evaluations))
    }

    /// scipy's name for `n_evaluations`.
    #[getter]
    fn nfev(&self) -> PyResult<usize> {
        crate::guard::guard("FitResult.nfev", || Ok(self.inner.n_evaluations))
    }

    /// Derivative passes (Gauss-Newton normal equations), every start included.
    #[getter]
    fn n_jacobians(&self) -> PyResult<usize> {
        crate::guard::guard("FitResult.n_jacobians", || Ok(self.inner.n_jacobians))
    }

    /// Iterations of the winning start.
    #[getter]
    fn n_iterations(&self) -> PyResult<usize> {
        crate::guard::guard("FitResult.n_iterations", || Ok(self.inner.n_iterations))
    }

    /// Whether the fit converged.
    #[getter]
    fn success(&self) -> PyResult<bool> {
        crate::guard::guard("FitResult.success", || Ok(self.inner.success))
    }

    /// Why it stopped, in words.
    #[getter]
    fn message(&self) -> PyResult<&str> {
        crate::guard::guard("FitResult.message", || Ok(self.inner.message.as_str()))
    }

    /// Why it stopped: `"gtol"`, `"ftol"`, `"xtol"`, `"no_reduction"` or `"max_iterations"`.
    #[getter]
    fn termination(&self) -> PyResult<&'static str> {
        crate::guard::guard("FitResult.termination", || Ok(termination_name(self.inner.termination)))
    }

    /// Every start of a multistart fit: dicts of `start`, `params`, `chi2`, `termination`.
    #[getter]
    fn starts<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        crate::guard::guard("FitResult.starts", || {
            self.inner
                .starts
                .iter()
                .map(|start| {
                    let dict = PyDict::new(py);
                    dict.set_item("start", array(py, &start.start))?;
                    dict.set_item("params", array(py, &start.params))?;
                    dict.set_item("chi2", start.chi2)?;
                    dict.set_item("termination", start.termination.map(termination_name))?;
                    Ok(dict)
                })
                .collect()
        })
    }

    fn __repr__(&self) -> PyResult<String> {
        crate::guard::guard("FitResult.__repr__", || {
            Ok({
                let mut out = format!(
                    "FitResult({}, chi2_reduced={:.6}, {} evaluations, {} jacobians)\n",
                    self.inner.message, self.inner.chi2_reduced, self.inner.n_evaluations, self.inner.n_jacobians
                );
                for (k, name) in self.names().iter().enumerate() {
                    let flag = if self.inner.at_bounds[k] { "  (at bound)" } else { "" };
                    let _ = writeln!(
                        out,
                        "  {name:>12} = {:>14.6e} +- {:.3e}{flag}",
                        self.inner.params[k], self.inner.uncertainties[k]
                    );
                }
                out
            })
        })
    }
}

/// A fit error as a Python exception: `homodyne_rs.NotIdentifiableError`
/// (with the parameters in `.parameters`) for a singular Jacobian, else as
/// the kernels' errors or `ValueError`.
pub(crate) fn error(py: Python<'_>, error: FitError) -> PyErr {
    match error {
        FitError::Kernel(kernel) => errors::kernel(kernel),
        FitError::NotIdentifiable { ref parameters, .. } => {
            let exception = errors::NotIdentifiableError::new_err(error.to_string());
            // Best effort: the message names them too.
            let _ = exception.value(py).setattr("parameters", parameters.clone());
            exception
        }
        other => pyo3::exceptions::PyValueError::new_err(other.to_string()),
    }
}
