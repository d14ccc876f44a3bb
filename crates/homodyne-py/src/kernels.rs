//! The kernels of `homodyne-angles` and `homodyne-kernels`, numpy in and
//! out. Every computation runs with the GIL released.

use std::sync::OnceLock;

use homodyne_angles::{AngleFilterConfig, AngleFilterOptimizer, AngleRange, Fallback, WrapMode};
use homodyne_kernels::{FlowMode, ModelConfig, SincConvention};
use ndarray::{Ix2, Ix3};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray3, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::arrays::{check_shape, f64_array, f64_array_nd, slice};
use crate::errors;

/// One optimizer per convention, built on first use (its strategy counters
/// are process-wide, like v1's module-level functions).
fn optimizer(wrap: bool) -> &'static AngleFilterOptimizer {
    static LINEAR: OnceLock<AngleFilterOptimizer> = OnceLock::new();
    static PERIODIC: OnceLock<AngleFilterOptimizer> = OnceLock::new();
    let (cell, wrap) = if wrap { (&PERIODIC, WrapMode::Periodic) } else { (&LINEAR, WrapMode::Off) };
    cell.get_or_init(|| AngleFilterOptimizer::new(AngleFilterConfig { wrap, ..AngleFilterConfig::default() }))
}

/// Target ranges from any sequence of `(min_deg, max_deg)` pairs.
pub(crate) fn angle_ranges(ranges: &Bound<'_, PyAny>) -> PyResult<Vec<AngleRange>> {
    let pairs: Vec<(f64, f64)> = ranges
        .extract()
        .map_err(|_| PyTypeError::new_err("ranges must be a sequence of (min_deg, max_deg) pairs of numbers"))?;
    pairs.into_iter().map(|(lo, hi)| AngleRange::new(lo, hi).map_err(errors::angles)).collect()
}

/// Selects angles: the indices (ascending, int64) of the angles `phi` (degrees)
/// that lie in any of `ranges` (inclusive `(min_deg, max_deg)` pairs).
///
/// `fallback=True` returns every index when nothing matches (v1's
/// `fallback_to_all_angles`); `fallback=False` raises `ValueError` then.
/// `wrap=False` compares on the real line as v1 does (350 is not in
/// (-10, 10)); `wrap=True` folds angles and ranges into (-180, 180] (v2).
/// A NaN angle or an inverted range is a `ValueError`.
#[pyfunction]
#[pyo3(signature = (phi, ranges, *, fallback = true, wrap = false))]
pub(crate) fn filter_angles<'py>(
    py: Python<'py>,
    phi: &Bound<'py, PyAny>,
    ranges: &Bound<'py, PyAny>,
    fallback: bool,
    wrap: bool,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    crate::guard::guard("filter_angles", || {
        let phi = f64_array_nd(phi, "phi", 1)?;
        let angles = slice(&phi, "phi")?;
        let ranges = angle_ranges(ranges)?;
        let fallback = if fallback { Fallback::AllAngles } else { Fallback::Error };
        let indices = py
            .detach(|| optimizer(wrap).select_optimization_angles(angles, &ranges, fallback))
            .map_err(errors::angles)?;
        Ok(indices.into_iter().map(|index| index as i64).collect::<Vec<_>>().into_pyarray(py))
    })
}

/// Pearson's correlation coefficient of two 1-D arrays of equal length,
/// exact to a few ulps even far from zero (two-pass, compensated).
/// A constant array, NaN or a length mismatch is a `ValueError`.
#[pyfunction]
pub(crate) fn fast_correlation(py: Python<'_>, x: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>) -> PyResult<f64> {
    crate::guard::guard("fast_correlation", || {
        let (x, y) = (f64_array_nd(x, "x", 1)?, f64_array_nd(y, "y", 1)?);
        let (x, y) = (slice(&x, "x")?, slice(&y, "y")?);
        py.detach(|| homodyne_kernels::fast_correlation(x, y)).map_err(errors::kernel)
    })
}

/// Pearson's r between every row of `rows` (shape (m, n)) and every row of
/// `other` (shape (k, n); default `rows` itself), as an (m, k) array.
#[pyfunction]
#[pyo3(signature = (rows, other = None))]
pub(crate) fn correlation_matrix<'py>(
    py: Python<'py>,
    rows: &Bound<'py, PyAny>,
    other: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    crate::guard::guard("correlation_matrix", || {
        let a = f64_array_nd(rows, "rows", 2)?;
        let b = other.map(|other| f64_array_nd(other, "other", 2)).transpose()?;
        let a_view = view2(&a, "rows")?;
        let b_view = match &b {
            Some(b) => view2(b, "other")?,
            None => a_view,
        };
        let matrix = py.detach(|| homodyne_kernels::correlation_matrix(a_view, b_view)).map_err(errors::kernel)?;
        Ok(matrix.into_pyarray(py))
    })
}

/// Pearson's chi-squared `sum((o - e)^2 / e)` of two 1-D arrays (a float),
/// or of each row of two 2-D arrays (a 1-D array, parallel over rows).
/// Every expected value must be positive.
#[pyfunction]
pub(crate) fn chi_squared<'py>(
    py: Python<'py>,
    observed: &Bound<'py, PyAny>,
    expected: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    crate::guard::guard("chi_squared", || {
        let (o, e) = (f64_array(observed, "observed")?, f64_array(expected, "expected")?);
        match (o.ndim(), e.ndim()) {
            (1, 1) => {
                let (o, e) = (slice(&o, "observed")?, slice(&e, "expected")?);
                let value = py.detach(|| homodyne_kernels::fast_chi_squared(o, e)).map_err(errors::kernel)?;
                Ok(value.into_pyobject(py)?.into_any())
            }
            (2, 2) => {
                let (o, e) = (view2(&o, "observed")?, view2(&e, "expected")?);
                let rows = py.detach(|| homodyne_kernels::chi_squared_batch(o, e)).map_err(errors::kernel)?;
                Ok(rows.into_pyarray(py).into_any())
            }
            (left, right) => Err(PyValueError::new_err(format!(
                "observed and expected must both have 1 axis or both 2 axes, got {left} and {right}"
            ))),
        }
    })
}

/// The result of a weighted chi-squared test.
#[pyclass(frozen, module = "homodyne_rs", get_all)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChiSquared {
    /// `sum(((o - e) / sigma)^2)`.
    chi2: f64,
    /// Degrees of freedom.
    dof: usize,
    /// `chi2 / dof`.
    reduced: f64,
    /// `P(X >= chi2)` for a chi-squared distribution with `dof` degrees of freedom.
    p_value: f64,
}

#[pymethods]
impl ChiSquared {
    fn __repr__(&self) -> PyResult<String> {
        crate::guard::guard("ChiSquared.__repr__", || {
            Ok({
                format!(
                    "ChiSquared(chi2={}, dof={}, reduced={}, p_value={})",
                    self.chi2, self.dof, self.reduced, self.p_value
                )
            })
        })
    }
}

/// The weighted chi-squared `sum(((o - e) / sigma)^2)`, with `dof`
/// degrees of freedom (default `n - 1`, v1's weighted form) and its p-value.
#[pyfunction]
#[pyo3(signature = (observed, expected, sigma, *, dof = None))]
pub(crate) fn chi_squared_weighted(
    py: Python<'_>,
    observed: &Bound<'_, PyAny>,
    expected: &Bound<'_, PyAny>,
    sigma: &Bound<'_, PyAny>,
    dof: Option<usize>,
) -> PyResult<ChiSquared> {
    crate::guard::guard("chi_squared_weighted", || {
        let o = f64_array_nd(observed, "observed", 1)?;
        let e = f64_array_nd(expected, "expected", 1)?;
        let s = f64_array_nd(sigma, "sigma", 1)?;
        let (o, e, s) = (slice(&o, "observed")?, slice(&e, "expected")?, slice(&s, "sigma")?);
        let dof = dof.unwrap_or(o.len().saturating_sub(1));
        let result =
            py.detach(|| homodyne_kernels::chi_squared_weighted_with_dof(o, e, s, dof)).map_err(errors::kernel)?;
        Ok(ChiSquared { chi2: result.chi2, dof: result.dof, reduced: result.reduced, p_value: result.p_value })
    })
}

/// Per row, the unweighted residual sum `sum_j (exp - (contrast * theory + offset))^2`
/// of 2-D `theory` and `exp` (v1's `compute_chi_squared_batch_numba`), with
/// one contrast and offset per row; compensated, parallel over rows.
#[pyfunction]
pub(crate) fn chi_squared_batch<'py>(
    py: Python<'py>,
    theory: &Bound<'py, PyAny>,
    exp: &Bound<'py, PyAny>,
    contrast: &Bound<'py, PyAny>,
    offset: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    crate::guard::guard("chi_squared_batch", || {
        let t = f64_array_nd(theory, "theory", 2)?;
        let e = f64_array_nd(exp, "exp", 2)?;
        let c = f64_array_nd(contrast, "contrast", 1)?;
        let o = f64_array_nd(offset, "offset", 1)?;
        let (t, e) = (view2(&t, "theory")?, view2(&e, "exp")?);
        let (c, o) = (slice(&c, "contrast")?, slice(&o, "offset")?);
        let out = py.detach(|| homodyne_kernels::chi_squared_batch_scaled(t, e, c, o)).map_err(errors::kernel)?;
        Ok(out.into_pyarray(py))
    })
}

/// Per row of 2-D `theory` and `exp`, the least-squares `(contrast, offset)`
/// of `exp ~ contrast * theory + offset` (v1's `solve_least_squares_batch_numba`,
/// with a relative singularity test), as two 1-D arrays.
#[pyfunction]
pub(crate) fn solve_scaling_batch<'py>(
    py: Python<'py>,
    theory: &Bound<'py, PyAny>,
    exp: &Bound<'py, PyAny>,
) -> PyResult<(Array1Py<'py>, Array1Py<'py>)> {
    crate::guard::guard("solve_scaling_batch", || {
        let t = f64_array_nd(theory, "theory", 2)?;
        let e = f64_array_nd(exp, "exp", 2)?;
        let (t, e) = (view2(&t, "theory")?, view2(&e, "exp")?);
        let (contrast, offset) = py.detach(|| homodyne_kernels::solve_scaling_batch(t, e)).map_err(errors::kernel)?;
        Ok((contrast.into_pyarray(py), offset.into_pyarray(py)))
    })
}

/// A new 1-D float64 numpy array.
type Array1Py<'py> = Bound<'py, PyArray1<f64>>;

/// The 2-D view of an array already checked to have two axes.
fn view2<'a>(array: &'a PyReadonlyArrayDyn<'_, f64>, name: &str) -> PyResult<ndarray::ArrayView2<'a, f64>> {
    array.as_array().into_dimensionality::<Ix2>().map_err(|error| PyValueError::new_err(format!("{name}: {error}")))
}

/// `"static"` or `"laminar_flow"`.
pub(crate) fn flow_mode(mode: &str) -> PyResult<FlowMode> {
    match mode {
        "static" => Ok(FlowMode::Static),
        "laminar_flow" => Ok(FlowMode::LaminarFlow),
        other => Err(PyValueError::new_err(format!("mode must be 'static' or 'laminar_flow', got {other:?}"))),
    }
}

/// `"normalized"` (`np.sinc`, v1's analysis class) or `"unnormalized"` (`sin(x)/x`, v2).
pub(crate) fn sinc_convention(sinc: &str) -> PyResult<SincConvention> {
    match sinc {
        "normalized" => Ok(SincConvention::Normalized),
        "unnormalized" => Ok(SincConvention::Unnormalized),
        other => Err(PyValueError::new_err(format!("sinc must be 'normalized' or 'unnormalized', got {other:?}"))),
    }
}

/// The model's correlation `c2_theory` of shape (len(phi), n_frames,
/// n_frames) at `params` (`[D0, alpha, D_offset]` in static mode, plus
/// `[gamma0, beta, gamma_offset, phi0_deg]` in laminar flow), for the angles
/// `phi` (degrees), time step `dt` (s), wavevector `q` (1/Å) and
/// stator-rotor gap `gap` (Å).
#[pyfunction]
#[pyo3(signature = (params, phi, *, n_frames, dt, q, gap, mode = "laminar_flow", sinc = "normalized"))]
#[expect(clippy::too_many_arguments, reason = "the model's constants, keyword-only in Python")]
pub(crate) fn c2_theory<'py>(
    py: Python<'py>,
    params: &Bound<'py, PyAny>,
    phi: &Bound<'py, PyAny>,
    n_frames: usize,
    dt: f64,
    q: f64,
    gap: f64,
    mode: &str,
    sinc: &str,
) -> PyResult<Bound<'py, PyArray3<f64>>> {
    crate::guard::guard("c2_theory", || {
        let params = f64_array_nd(params, "params", 1)?;
        let phi = f64_array_nd(phi, "phi", 1)?;
        let (params, phi) = (slice(&params, "params")?, slice(&phi, "phi")?);
        // The output must be an array numpy can make, even an empty one:
        // (0, 2^31, 2^31) is not (numpy refuses it, and rust-numpy would then
        // dereference a null array).
        check_shape("c2_theory", &[phi.len(), n_frames, n_frames], size_of::<f64>())?;
        let config = ModelConfig {
            n_frames,
            dt,
            wavevector_q: q,
            stator_rotor_gap: gap,
            mode: flow_mode(mode)?,
            sinc: sinc_convention(sinc)?,
        };
        let theory = py.detach(|| homodyne_kernels::c2_theory(params, phi, &config)).map_err(errors::kernel)?;
        let theory = theory.into_dimensionality::<Ix3>().map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(theory.into_pyarray(py))
    })
}
