//! `Objective`: v1's `calculate_chi_squared_optimized` as a callable for
//! `scipy.optimize.minimize`, over the caller's array without a copy.

use homodyne_angles::Fallback;
use homodyne_kernels::{ChiSquaredObjective, FlowMode, ModelConfig, ObjectiveConfig, ObjectiveValue, SigmaRule};
use ndarray::ArrayView3;
use numpy::{IntoPyArray, PyArray1, PyArray3, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::arrays::{f64_array, f64_array_nd, slice};
use crate::errors;
use crate::fit::{self, FitResult};
use crate::kernels::{flow_mode, sinc_convention};

/// v1's validity checks (`advanced_settings.chi_squared_calculation.validity_check`):
/// a parameter vector that fails one gives +inf without any computation.
#[derive(Debug, Clone, Default)]
struct Validity {
    positive_d0: bool,
    positive_gamma0: bool,
    /// Inclusive `(min, max)` per parameter, in order; `None` is unbounded.
    bounds: Vec<(Option<f64>, Option<f64>)>,
    /// Parameter names for the reasons, in order.
    names: Vec<String>,
}

impl Validity {
    fn from_dict(dict: &Bound<'_, PyDict>) -> PyResult<Validity> {
        let flag = |key: &str| -> PyResult<bool> {
            dict.get_item(key)?.map_or(Ok(false), |value| {
                value.extract().map_err(|_| PyTypeError::new_err(format!("validity[{key:?}] must be a bool")))
            })
        };
        let mut validity = Validity {
            positive_d0: flag("check_positive_D0")?,
            positive_gamma0: flag("check_positive_gamma_dot_t0")?,
            ..Validity::default()
        };
        for key in dict.keys() {
            let key: String = key.extract()?;
            if !matches!(key.as_str(), "check_positive_D0" | "check_positive_gamma_dot_t0" | "bounds" | "names") {
                return Err(PyValueError::new_err(format!(
                    "unknown validity key {key:?} (known: check_positive_D0, check_positive_gamma_dot_t0, bounds, names)"
                )));
            }
        }
        if let Some(bounds) = dict.get_item("bounds")? {
            validity.bounds = bounds.extract().map_err(|_| {
                PyTypeError::new_err("validity['bounds'] must be a sequence of (min or None, max or None) pairs")
            })?;
        }
        if let Some(names) = dict.get_item("names")? {
            validity.names = names.extract()?;
        }
        Ok(validity)
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("check_positive_D0", self.positive_d0)?;
        dict.set_item("check_positive_gamma_dot_t0", self.positive_gamma0)?;
        dict.set_item("bounds", self.bounds.clone())?;
        dict.set_item("names", self.names.clone())?;
        Ok(dict)
    }

    /// Why `params` is rejected, in v1's words, or `None`.
    fn rejection(&self, params: &[f64], mode: FlowMode) -> Option<String> {
        if self.positive_d0 && params.first().is_some_and(|&d0| d0 <= 0.0) {
            return Some("D0 <= 0".to_owned());
        }
        if self.positive_gamma0 && mode == FlowMode::LaminarFlow && params.get(3).is_some_and(|&g| g <= 0.0) {
            return Some("gamma_dot_t0 <= 0".to_owned());
        }
        for (index, (&value, &(min, max))) in params.iter().zip(&self.bounds).enumerate() {
            let below = min.is_some_and(|min| value < min);
            let above = max.is_some_and(|max| value > max);
            if below || above {
                let name = self.names.get(index).cloned().unwrap_or_else(|| format!("parameter {index}"));
                let show = |bound: Option<f64>| bound.map_or_else(|| "unbounded".to_owned(), |b| b.to_string());
                return Some(format!("{name} = {value} outside bounds [{}, {}]", show(min), show(max)));
            }
        }
        None
    }
}

/// The settings an objective was built with (for `repr`, pickling and `settings`).
#[derive(Debug, Clone)]
struct Settings {
    dt: f64,
    q: f64,
    gap: f64,
    mode: String,
    angle_ranges: Vec<(f64, f64)>,
    filter_angles: bool,
    fallback: bool,
    sinc: String,
    sigma_factor: f64,
    minimum_sigma: f64,
}

/// The mean reduced chi-squared of the homodyne model against measured
/// correlations `c2_exp` (shape `(len(phi), N, N)`), v1's
/// `calculate_chi_squared_optimized`, as a callable:
/// `scipy.optimize.minimize(Objective(c2_exp, phi, dt=..., q=..., gap=...), x0, method="Nelder-Mead")`.
///
/// The objective keeps a reference to `c2_exp` and reads it in place when it
/// is a C-contiguous float64 array (any other array is converted once, at
/// construction). Per-angle statistics (sigma, sums) are computed at
/// construction: do not modify `c2_exp` afterwards. Calls release the GIL.
///
/// `validity` takes v1's checks: `{"check_positive_D0": bool,
/// "check_positive_gamma_dot_t0": bool, "bounds": [(min, max), ...],
/// "names": [...]}`; parameters that fail one give `inf` (as v1 does).
#[pyclass(frozen, subclass, module = "homodyne_rs")]
pub(crate) struct Objective {
    // Declared first, so dropped first: it borrows the buffer of `data`.
    inner: ChiSquaredObjective<'static>,
    data: Py<PyArray3<f64>>,
    n_frames: usize,
    phi: Vec<f64>,
    selected: Vec<usize>,
    mode: FlowMode,
    validity: Option<Validity>,
    settings: Settings,
}

/// A float64, C-contiguous, aligned, 3-D array: the caller's own, or one
/// conversion (the rule of `arrays.rs`).
fn c_contiguous_3d<'py>(c2_exp: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArray3<f64>>> {
    let converted = f64_array(c2_exp, "c2_exp")?;
    if converted.ndim() != 3 {
        return Err(PyValueError::new_err(format!(
            "c2_exp must have 3 axes (angle, frame, frame), got shape {:?}",
            converted.shape()
        )));
    }
    let any: Bound<'py, PyAny> = converted.as_any().clone();
    Ok(any.cast_into::<PyArray3<f64>>()?)
}

#[pymethods]
impl Objective {
    #[new]
    #[pyo3(signature = (c2_exp, phi, *, dt, q, gap, mode = "laminar_flow", angle_ranges = None, filter_angles = true,
        fallback = true, sinc = "normalized", sigma_factor = 0.1, minimum_sigma = 1e-10, validity = None))]
    #[expect(clippy::too_many_arguments, reason = "v1's settings, keyword-only in Python")]
    fn new(
        c2_exp: &Bound<'_, PyAny>,
        phi: &Bound<'_, PyAny>,
        dt: f64,
        q: f64,
        gap: f64,
        mode: &str,
        angle_ranges: Option<&Bound<'_, PyAny>>,
        filter_angles: bool,
        fallback: bool,
        sinc: &str,
        sigma_factor: f64,
        minimum_sigma: f64,
        validity: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Objective> {
        crate::guard::guard("Objective", || {
            let py = c2_exp.py();
            let data = c_contiguous_3d(c2_exp)?;
            let phi_array = f64_array_nd(phi, "phi", 1)?;
            let phi: Vec<f64> = slice(&phi_array, "phi")?.to_vec();
            let shape = data.shape().to_vec();
            if shape[0] != phi.len() || shape[1] != shape[2] {
                return Err(PyValueError::new_err(format!(
                    "c2_exp must have shape (len(phi), N, N) = ({}, N, N), got {shape:?}",
                    phi.len()
                )));
            }
            let ranges = match angle_ranges {
                Some(ranges) => crate::kernels::angle_ranges(ranges)?,
                None => homodyne_angles::AngleRange::DEFAULT_RANGES.to_vec(),
            };
            let selected = if filter_angles {
                let fallback = if fallback { Fallback::AllAngles } else { Fallback::Error };
                homodyne_angles::AngleFilterOptimizer::default()
                    .select_optimization_angles(&phi, &ranges, fallback)
                    .map_err(errors::angles)?
            } else {
                (0..phi.len()).collect()
            };
            let flow = flow_mode(mode)?;
            let config = ObjectiveConfig {
                model: ModelConfig {
                    n_frames: shape[1],
                    dt,
                    wavevector_q: q,
                    stator_rotor_gap: gap,
                    mode: flow,
                    sinc: sinc_convention(sinc)?,
                },
                sigma: SigmaRule { factor: sigma_factor, minimum: minimum_sigma },
            };
            let view = {
                let readonly =
                    data.try_readonly().map_err(|error| PyValueError::new_err(format!("c2_exp: {error}")))?;
                let borrowed = readonly.as_array();
                // SAFETY: `data` is a C-contiguous float64 array of this shape,
                // and `Objective` keeps a strong reference to it in `data` for as
                // long as `objective` (declared before it, so dropped before it)
                // lives: numpy never moves or frees the buffer of an array that
                // is referenced (`resize` refuses while references exist). The
                // view is only read. Like every numpy consumer that releases the
                // GIL, it assumes no other thread writes into the array meanwhile.
                unsafe { ArrayView3::from_shape_ptr(borrowed.raw_dim(), borrowed.as_ptr()) }
            };
            let objective =
                py.detach(|| ChiSquaredObjective::new(view, &phi, &selected, config)).map_err(errors::kernel)?;
            let validity = validity.map(Validity::from_dict).transpose()?;
            let settings = Settings {
                dt,
                q,
                gap,
                mode: mode.to_owned(),
                angle_ranges: ranges.iter().map(|range| (range.min_deg(), range.max_deg())).collect(),
                filter_angles,
                fallback,
                sinc: sinc.to_owned(),
                sigma_factor,
                minimum_sigma,
            };
            Ok(Objective {
                inner: objective,
                data: data.unbind(),
                n_frames: shape[1],
                phi,
                selected,
                mode: flow,
                validity,
                settings,
            })
        })
    }

    /// The objective at `params` (`[D0, alpha, D_offset]` in static mode,
    /// plus `[gamma0, beta, gamma_offset, phi0_deg]` in laminar flow): the mean
    /// reduced chi-squared over the selected angles, or `inf` when a validity
    /// check rejects `params`.
    fn __call__(&self, py: Python<'_>, params: &Bound<'_, PyAny>) -> PyResult<f64> {
        crate::guard::guard("Objective.__call__", || {
            let params = f64_array_nd(params, "params", 1)?;
            let params = slice(&params, "params")?;
            if self.validity.as_ref().is_some_and(|validity| validity.rejection(params, self.mode).is_some()) {
                return Ok(f64::INFINITY);
            }
            let objective = &self.inner;
            py.detach(|| objective.evaluate(params)).map(|value| value.value).map_err(errors::kernel)
        })
    }

    /// v1's components dictionary at `params` (`calculate_chi_squared_optimized(...,
    /// return_components=True)`): `chi_squared`, `valid`, the chi-squared sum
    /// (`chi_squared_sum_over_filtered` when angles are filtered, else
    /// `chi_squared_sum`), `degrees_of_freedom`, `reduced_chi_squared_std`,
    /// `reduced_chi_squared_uncertainty`, `n_optimization_angles`; plus per
    /// selected angle (numpy arrays): `angle_indices`, `contrast`, `offset`,
    /// `sigma`, `chi_squared_per_angle`, `reduced_chi_squared_per_angle`.
    /// A rejected `params` gives `{"chi_squared": inf, "valid": False, "reason": ...}`.
    fn components<'py>(&self, py: Python<'py>, params: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
        crate::guard::guard("Objective.components", || {
            let params = f64_array_nd(params, "params", 1)?;
            let params = slice(&params, "params")?;
            let dict = PyDict::new(py);
            if let Some(reason) = self.validity.as_ref().and_then(|validity| validity.rejection(params, self.mode)) {
                dict.set_item("chi_squared", f64::INFINITY)?;
                dict.set_item("valid", false)?;
                dict.set_item("reason", reason)?;
                return Ok(dict);
            }
            let objective = &self.inner;
            let value: ObjectiveValue = py.detach(|| objective.evaluate(params)).map_err(errors::kernel)?;
            let reduced: Vec<f64> = value.angles.iter().map(|fit| fit.reduced_chi2).collect();
            let n = reduced.len();
            let std = if n > 1 {
                let mean = reduced.iter().sum::<f64>() / n as f64;
                (reduced.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
            } else {
                0.0
            };
            dict.set_item("chi_squared", value.value)?;
            dict.set_item("valid", true)?;
            let sum_key = if self.settings.filter_angles { "chi_squared_sum_over_filtered" } else { "chi_squared_sum" };
            dict.set_item(sum_key, value.chi2_total)?;
            dict.set_item("degrees_of_freedom", value.degrees_of_freedom)?;
            dict.set_item("reduced_chi_squared_uncertainty", value.uncertainty)?;
            dict.set_item("reduced_chi_squared_std", std)?;
            dict.set_item("n_optimization_angles", n)?;
            let column = |f: fn(&homodyne_kernels::AngleFit) -> f64| value.angles.iter().map(f).collect::<Vec<f64>>();
            let indices: Vec<i64> = value.angles.iter().map(|fit| fit.angle_idx as i64).collect();
            dict.set_item("angle_indices", indices.into_pyarray(py))?;
            dict.set_item("contrast", column(|fit| fit.contrast).into_pyarray(py))?;
            dict.set_item("offset", column(|fit| fit.offset).into_pyarray(py))?;
            dict.set_item("sigma", column(|fit| fit.sigma).into_pyarray(py))?;
            dict.set_item("chi_squared_per_angle", column(|fit| fit.chi2).into_pyarray(py))?;
            dict.set_item("reduced_chi_squared_per_angle", reduced.into_pyarray(py))?;
            Ok(dict)
        })
    }

    /// The gradient of the objective at `params` (one evaluation and one
    /// derivative pass): a numpy array, one value per parameter. Where a
    /// validity check rejects `params` the objective is `inf` and the
    /// gradient NaN.
    fn gradient<'py>(&self, py: Python<'py>, params: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        crate::guard::guard("Objective.gradient", || Ok(self.value_and_gradient(py, params)?.1))
    }

    /// `(value, gradient)` at `params`, for `scipy.optimize.minimize(objective.value_and_gradient,
    /// x0, jac=True)`: the value as `__call__` returns it, the gradient as `gradient`.
    fn value_and_gradient<'py>(
        &self,
        py: Python<'py>,
        params: &Bound<'py, PyAny>,
    ) -> PyResult<(f64, Bound<'py, PyArray1<f64>>)> {
        crate::guard::guard("Objective.value_and_gradient", || {
            let params = f64_array_nd(params, "params", 1)?;
            let params = slice(&params, "params")?;
            if self.validity.as_ref().is_some_and(|validity| validity.rejection(params, self.mode).is_some()) {
                return Ok((f64::INFINITY, vec![f64::NAN; params.len()].into_pyarray(py)));
            }
            let objective = &self.inner;
            let (value, gradient) = py.detach(|| objective.value_and_gradient(params)).map_err(errors::kernel)?;
            Ok((value.value, gradient.into_pyarray(py)))
        })
    }

    /// Fits the model from `x0` (bounded Levenberg-Marquardt, each angle's
    /// contrast and offset profiled out, analytic derivatives); see
    /// `homodyne_rs.fit`. `bounds`: one `(lower, upper)` per parameter
    /// (infinite for none); `fixed`: one bool per parameter. Releases the GIL.
    #[pyo3(signature = (x0, *, bounds = None, fixed = None, multistart = 0, seed = 0, max_iterations = 200,
        ftol = 1e-10, xtol = 1e-10, gtol = 1e-10))]
    #[expect(clippy::too_many_arguments, reason = "the fit's options, keyword-only in Python")]
    fn fit(
        &self,
        py: Python<'_>,
        x0: &Bound<'_, PyAny>,
        bounds: Option<Vec<(f64, f64)>>,
        fixed: Option<Vec<bool>>,
        multistart: usize,
        seed: u64,
        max_iterations: usize,
        ftol: f64,
        xtol: f64,
        gtol: f64,
    ) -> PyResult<FitResult> {
        crate::guard::guard("Objective.fit", || {
            let x0 = f64_array_nd(x0, "x0", 1)?;
            let x0 = slice(&x0, "x0")?.to_vec();
            let config = homodyne_fit::FitConfig {
                bounds: bounds.unwrap_or_default(),
                fixed: fixed.unwrap_or_default(),
                max_iterations,
                ftol,
                xtol,
                gtol,
                multistart,
                seed,
            };
            let objective = &self.inner;
            let result =
                py.detach(|| homodyne_fit::fit(objective, &x0, &config)).map_err(|error| fit::error(py, error))?;
            Ok(FitResult::new(result))
        })
    }

    /// The indices of the angles that enter the objective (after filtering and fallback).
    #[getter]
    fn selected_angles<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, numpy::PyArray1<i64>>> {
        crate::guard::guard("Objective.selected_angles", || {
            Ok(self.selected.iter().map(|&index| index as i64).collect::<Vec<_>>().into_pyarray(py))
        })
    }

    /// The number of model parameters (3 static, 7 laminar flow).
    #[getter]
    fn n_params(&self) -> PyResult<usize> {
        crate::guard::guard("Objective.n_params", || Ok(self.mode.n_params()))
    }

    /// The data array the objective reads (the caller's own when it was
    /// C-contiguous float64).
    #[getter]
    fn c2_exp<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray3<f64>>> {
        crate::guard::guard("Objective.c2_exp", || Ok(self.data.bind(py).clone()))
    }

    /// The keyword arguments the objective was built with.
    #[getter]
    fn settings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        crate::guard::guard("Objective.settings", || {
            let s = &self.settings;
            let dict = PyDict::new(py);
            dict.set_item("dt", s.dt)?;
            dict.set_item("q", s.q)?;
            dict.set_item("gap", s.gap)?;
            dict.set_item("mode", &s.mode)?;
            dict.set_item("angle_ranges", s.angle_ranges.clone())?;
            dict.set_item("filter_angles", s.filter_angles)?;
            dict.set_item("fallback", s.fallback)?;
            dict.set_item("sinc", &s.sinc)?;
            dict.set_item("sigma_factor", s.sigma_factor)?;
            dict.set_item("minimum_sigma", s.minimum_sigma)?;
            if let Some(validity) = &self.validity {
                dict.set_item("validity", validity.to_dict(py)?)?;
            }
            Ok(dict)
        })
    }

    /// Pickling (for Dask, multiprocessing): rebuilt from `c2_exp`, `phi` and
    /// the settings; the data travel with it (one copy of `c2_exp` per pickle).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        crate::guard::guard("Objective.__reduce__", || {
            let py = slf.py();
            let this = slf.get();
            let partial = py.import("functools")?.getattr("partial")?;
            let factory = partial.call((slf.get_type(),), Some(&this.settings(py)?))?;
            let args = (this.data.bind(py).clone(), this.phi.clone().into_pyarray(py));
            PyTuple::new(py, [factory, args.into_pyobject(py)?.into_any()])
        })
    }

    fn __repr__(&self) -> PyResult<String> {
        crate::guard::guard("Objective.__repr__", || {
            Ok({
                let shape = [self.phi.len(), self.n_frames, self.n_frames];
                format!(
                    "Objective(c2_exp of shape {shape:?}, mode={:?}, {} of {} angles selected, sinc={:?})",
                    self.settings.mode,
                    self.selected.len(),
                    self.phi.len(),
                    self.settings.sinc
                )
            })
        })
    }
}
