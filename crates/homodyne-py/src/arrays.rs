//! numpy arrays in: borrowed without a copy when they are C-contiguous
//! float64, converted once (`numpy.ascontiguousarray(x, dtype=float64)`)
//! otherwise; anything that is not an array of numbers is a `TypeError`.

use numpy::{PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyAnyMethods;

/// A float64 array borrowed from Python: the caller's array itself when it is
/// C-contiguous float64, else a converted copy that this handle owns.
pub(crate) fn f64_array<'py>(value: &Bound<'py, PyAny>, name: &str) -> PyResult<PyReadonlyArrayDyn<'py, f64>> {
    if let Ok(array) = value.cast::<PyArrayDyn<f64>>()
        && array.is_c_contiguous()
    {
        return array.try_readonly().map_err(|error| PyValueError::new_err(format!("{name}: {error}")));
    }
    let py = value.py();
    let numpy = py.import("numpy")?;
    let array = numpy
        .call_method1("asarray", (value,))
        .map_err(|error| PyTypeError::new_err(format!("{name} must be an array of numbers: {error}")))?;
    let kind: String = array.getattr("dtype")?.getattr("kind")?.extract()?;
    if !matches!(kind.as_str(), "b" | "i" | "u" | "f") {
        let dtype = array.getattr("dtype")?.str()?;
        return Err(PyTypeError::new_err(format!("{name} must be an array of real numbers, got dtype {dtype}")));
    }
    let converted =
        numpy.call_method("ascontiguousarray", (array,), Some(&[("dtype", "float64")].into_py_dict(py)?))?;
    let converted = converted.cast_into::<PyArrayDyn<f64>>()?;
    converted.try_readonly().map_err(|error| PyValueError::new_err(format!("{name}: {error}")))
}

/// As [`f64_array`], checking the number of axes.
pub(crate) fn f64_array_nd<'py>(
    value: &Bound<'py, PyAny>,
    name: &str,
    ndim: usize,
) -> PyResult<PyReadonlyArrayDyn<'py, f64>> {
    let array = f64_array(value, name)?;
    if array.ndim() != ndim {
        return Err(PyValueError::new_err(format!(
            "{name} must have {ndim} axis{}, got shape {:?}",
            if ndim == 1 { "" } else { "es" },
            array.shape()
        )));
    }
    Ok(array)
}

/// The elements of a C-contiguous array (always, for what [`f64_array`] returns).
pub(crate) fn slice<'a>(array: &'a PyReadonlyArrayDyn<'_, f64>, name: &str) -> PyResult<&'a [f64]> {
    array.as_slice().map_err(|_| PyValueError::new_err(format!("{name} is not contiguous")))
}

use pyo3::types::IntoPyDict;
