//! numpy arrays in, by one rule for every entry point (kernels, `Objective`,
//! the cache):
//!
//! 1. anything that is not a numpy array is converted by `numpy.asarray`
//!    (a list, a scalar); one whose dtype is not a real number is a `TypeError`;
//! 2. its number of axes and the bytes of its elements are checked
//!    ([`check_shape`]) before anything is copied or allocated: more than 32
//!    axes is a `ValueError`, more bytes than an address space holds a
//!    `MemoryError` (a broadcast view of 2^42 elements is one), and the
//!    cache checks its budget at this point too;
//! 3. an array that is native-endian, of the wanted dtype, C-contiguous and
//!    aligned is borrowed, not copied;
//! 4. anything else (strided, unaligned, byte-swapped, another dtype, a
//!    packed structured field) is copied once by
//!    `numpy.require(x, dtype, ["C", "A"])`, which handles every layout numpy
//!    has, into a native, contiguous, aligned array that is then borrowed.
//!
//! No view is ever made of memory that is unaligned or whose strides are
//! not whole elements: `rust-numpy` would read such memory wrongly (a
//! 9-byte stride becomes 1 element) or unsoundly (an unaligned `&[f64]`).

use numpy::{
    Element, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyMemoryError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyAnyMethods};

/// The most axes an array may have here: numpy's limit before numpy 2.0
/// (which raised it to 64), and what `rust-numpy`'s views support.
pub(crate) const MAX_AXES: usize = homodyne_cache::DType::MAX_AXES;

/// The bytes of an array of `shape` with elements of `itemsize` bytes, if
/// numpy can hold it ([`homodyne_cache::array_bytes`]): at most
/// [`MAX_AXES`] axes (`ValueError` otherwise) and the product of the
/// non-zero extents times `itemsize` within `isize::MAX` (`MemoryError`
/// otherwise, as numpy itself says).
pub(crate) fn check_shape(name: &str, shape: &[usize], itemsize: usize) -> PyResult<usize> {
    if shape.len() > MAX_AXES {
        return Err(PyValueError::new_err(format!(
            "{name} has {} axes; at most {MAX_AXES} are supported",
            shape.len()
        )));
    }
    homodyne_cache::array_bytes(itemsize, shape)
        .ok_or_else(|| PyMemoryError::new_err(format!("{name} of shape {shape:?} is too large to allocate")))
}

/// Whether `array` can be borrowed as a slice of `T`: the dtype is `T`'s,
/// native-endian, and the data are C-contiguous and aligned.
fn borrowable<T: Element>(array: &Bound<'_, PyArrayDyn<T>>) -> bool {
    array.dtype().is_native_byteorder().unwrap_or(true)
        && array.is_c_contiguous()
        && (array.data() as usize).is_multiple_of(align_of::<T>())
}

/// `value` as a numpy array (`numpy.asarray` for anything else), or a `TypeError`.
fn as_ndarray<'py>(value: &Bound<'py, PyAny>, name: &str) -> PyResult<Bound<'py, PyUntypedArray>> {
    if let Ok(array) = value.cast::<PyUntypedArray>() {
        return Ok(array.clone());
    }
    let converted = value
        .py()
        .import("numpy")?
        .call_method1("asarray", (value,))
        .map_err(|error| PyTypeError::new_err(format!("{name} must be an array of numbers: {error}")))?;
    Ok(converted.cast_into::<PyUntypedArray>()?)
}

/// The array as `T` by the module's rule; `check` sees its shape and bytes
/// before any copy (the cache's budget).
pub(crate) fn typed_array<'py, T: Element>(
    value: &Bound<'py, PyAny>,
    name: &str,
    check: impl FnOnce(&[usize], usize) -> PyResult<()>,
) -> PyResult<PyReadonlyArrayDyn<'py, T>> {
    let array = as_ndarray(value, name)?;
    let bytes = check_shape(name, array.shape(), size_of::<T>())?;
    check(array.shape(), bytes)?;
    if let Ok(typed) = array.cast::<PyArrayDyn<T>>()
        && borrowable(typed)
    {
        return typed.try_readonly().map_err(|error| PyValueError::new_err(format!("{name}: {error}")));
    }
    let py = value.py();
    let numpy = py.import("numpy")?;
    let dtype = numpy::dtype::<T>(py);
    let copied =
        numpy.call_method("require", (array, dtype), Some(&[("requirements", ["C", "A"])].into_py_dict(py)?))?;
    let typed = copied.cast_into::<PyArrayDyn<T>>()?;
    if !borrowable(&typed) {
        return Err(PyValueError::new_err(format!("{name} could not be made contiguous and aligned")));
    }
    typed.try_readonly().map_err(|error| PyValueError::new_err(format!("{name}: {error}")))
}

/// A float64 array by the module's rule: the caller's own when it is
/// native, C-contiguous and aligned float64; else one converted copy.
/// Booleans, integers and floats convert; anything else is a `TypeError`.
pub(crate) fn f64_array<'py>(value: &Bound<'py, PyAny>, name: &str) -> PyResult<PyReadonlyArrayDyn<'py, f64>> {
    let array = as_ndarray(value, name)?;
    let kind = array.dtype().kind();
    if !matches!(kind, b'b' | b'i' | b'u' | b'f') {
        let dtype = array.dtype().str()?;
        return Err(PyTypeError::new_err(format!("{name} must be an array of real numbers, got dtype {dtype}")));
    }
    typed_array::<f64>(array.as_any(), name, |_, _| Ok(()))
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

/// The elements of an array from [`f64_array`] (always C-contiguous and aligned).
pub(crate) fn slice<'a>(array: &'a PyReadonlyArrayDyn<'_, f64>, name: &str) -> PyResult<&'a [f64]> {
    array.as_slice().map_err(|_| PyValueError::new_err(format!("{name} is not contiguous")))
}
