"""Fits from Python: homodyne_rs.fit, Objective.fit, the analytic gradient
for scipy, and v1.fit(method="least_squares")."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import decode, v1_config
from scipy.optimize import Bounds, minimize

import homodyne_rs as hr

KWARGS = dict(dt=0.1, q=0.0054, gap=2e6)
TRUTH = np.array([1e4, 0.5, 50.0, 5e-5, 0.5, 1e-5, 5.0])
BOUNDS = [(1.0, 1e6), (-2.0, 2.0), (-1e4, 1e4), (1e-6, 1.0), (-2.0, 2.0), (-0.01, 0.01), (-10.0, 10.0)]


def synthetic(truth, n_angles=23, n_frames=60, seed=1, mode="laminar_flow"):
    """The model with contrast 0.2-0.3 per angle, offset 1, 1% Gaussian noise."""
    phi = -172.0 + 344.0 * np.arange(n_angles) / (n_angles - 1)
    theory = hr.c2_theory(truth, phi, n_frames=n_frames, mode=mode, **KWARGS)
    contrast = 0.2 + 0.1 * (np.arange(n_angles) % 5) / 4
    rng = np.random.default_rng(seed)
    return 1.0 + contrast[:, None, None] * theory + 0.01 * rng.standard_normal(theory.shape), phi


def test_a_fit_recovers_the_truth_with_uncertainties():
    c2, phi = synthetic(TRUTH)
    result = hr.fit(c2, phi, x0=TRUTH * 1.3, bounds=BOUNDS, **KWARGS)
    assert result.success, result.message
    assert result.parameter_names == ["D0", "alpha", "D_offset", "gamma0", "beta", "gamma_offset", "phi0"]
    assert np.all(np.abs(result.params - TRUTH) < 3 * result.uncertainties)
    assert result.covariance.shape == (7, 7)
    np.testing.assert_allclose(np.sqrt(np.diag(result.covariance)), result.uncertainties, rtol=1e-12)
    assert result.contrast.shape == result.offset.shape == result.contrast_uncertainties.shape == (23,)
    contrast = 0.2 + 0.1 * (np.arange(23) % 5) / 4
    assert np.all(np.abs(result.contrast - contrast) < 5 * result.contrast_uncertainties)
    assert np.all(np.abs(result.offset - 1.0) < 5 * result.offset_uncertainties)
    np.testing.assert_array_equal(result.angle_indices, np.arange(23))
    # scipy's names, for code written against OptimizeResult.
    np.testing.assert_array_equal(result.x, result.params)
    assert result.fun == result.objective and result.nfev == result.n_evaluations > 0
    assert result.termination in {"gtol", "ftol", "xtol", "no_reduction"}
    assert result.degrees_of_freedom == 23 * 60 * 60 - 7 - 2 * 23 and not result.symmetric_data
    assert "gamma0" in repr(result)
    # The objective at the fit is below the objective at the start.
    objective = hr.Objective(c2, phi, filter_angles=False, **KWARGS)
    assert objective(result.params) == pytest.approx(result.objective, rel=1e-12)
    assert result.objective < objective(TRUTH * 1.3)


def test_symmetric_data_count_each_pair_once():
    c2, phi = synthetic(TRUTH, n_angles=5, n_frames=40)
    upper = np.triu(c2)
    symmetric = upper + np.transpose(np.triu(c2, 1), (0, 2, 1))
    both = hr.fit(symmetric, phi, x0=TRUTH * 1.3, bounds=BOUNDS, **KWARGS)
    assert both.symmetric_data and both.degrees_of_freedom == 5 * 40 * 41 // 2 - 7 - 10
    # The same data, one value off by a rounding error: no longer symmetric,
    # every value counts, and the error bars shrink by about sqrt(2) (as if
    # the duplicated values were independent measurements; not exactly: the
    # diagonal, measured once either way, pins contrast and offset in both).
    nearly = symmetric.copy()
    nearly[0, 3, 1] = np.nextafter(nearly[0, 3, 1], 2.0)
    counted_twice = hr.fit(nearly, phi, x0=both.params, bounds=BOUNDS, **KWARGS)
    assert not counted_twice.symmetric_data
    np.testing.assert_allclose(both.uncertainties / counted_twice.uncertainties, np.sqrt(2), rtol=0.08)


def central_differences(objective, params, step=1e-5):
    out = np.empty_like(params)
    for k in range(params.size):
        h = step * max(abs(params[k]), 1e-3)
        plus, minus = params.copy(), params.copy()
        plus[k] += h
        minus[k] -= h
        out[k] = (objective(plus) - objective(minus)) / (2 * h)
    return out


@pytest.mark.parametrize("mode", ["laminar_flow", "static"])
def test_the_gradient_matches_central_differences(mode):
    n = 7 if mode == "laminar_flow" else 3
    c2, phi = synthetic(TRUTH[:n], n_angles=7, n_frames=33, mode=mode)
    # v1's default filter: the angles near 0 and 180 degrees only.
    objective = hr.Objective(c2, phi, mode=mode, **KWARGS)
    assert 0 < objective.selected_angles.size < 7
    params = TRUTH[:n] * 1.1
    value, gradient = objective.value_and_gradient(params)
    assert value == objective(params)
    np.testing.assert_array_equal(objective.gradient(params), gradient)
    np.testing.assert_allclose(gradient, central_differences(objective, params), rtol=1e-5)


def test_a_rejected_point_has_an_infinite_value_and_no_gradient():
    case = decode_case()
    config = v1_config(case, bounds=[{"name": "D0", "min": 1.0, "max": 1e6}])
    objective = hr.Objective.from_v1_config(config, decode(case["c2_exp"]), case["phi_deg"])
    params = np.array(case["eval_params"])
    value, gradient = objective.value_and_gradient(params)
    assert np.isfinite(value) and np.all(np.isfinite(gradient))
    for bad in ([0.0, *params[1:]], [2e6, *params[1:]]):
        value, gradient = objective.value_and_gradient(np.array(bad))
        assert value == np.inf and np.all(np.isnan(gradient))


def decode_case():
    from conftest import load

    return load("objective")["cases"][0]


def test_scipy_uses_the_gradient_with_jac_true():
    c2, phi = synthetic(TRUTH[:3], n_angles=3, n_frames=40, mode="static")
    objective = hr.Objective(c2, phi, mode="static", filter_angles=False, **KWARGS)
    # Parameters scaled to order 1, as gradient methods need.
    scale = TRUTH[:3]

    def scaled(u):
        value, gradient = objective.value_and_gradient(u * scale)
        return value, gradient * scale

    start = np.full(3, 1.3)
    result = minimize(scaled, start, jac=True, method="L-BFGS-B", bounds=[(0.1, 10), (-4, 4), (-10, 10)])
    fitted = hr.fit(c2, phi, mode="static", x0=TRUTH[:3] * 1.3, **KWARGS)
    # L-BFGS-B stops on its own tolerance, close to the least-squares optimum.
    assert result.success and result.fun < scaled(start)[0]
    assert fitted.objective <= result.fun <= fitted.objective * (1 + 1e-3)


def test_bounds_in_every_form_and_fixed_parameters():
    c2, phi = synthetic(TRUTH, n_angles=6, n_frames=40)
    lower, upper = np.array(BOUNDS).T
    upper[1] = 0.45  # below alpha's truth: it must end on the bound
    forms = [list(zip(lower, upper)), (lower, upper), Bounds(lower, upper)]
    for bounds in forms:
        result = hr.fit(c2, phi, x0=np.minimum(TRUTH * 1.3, upper), bounds=bounds, **KWARGS)
        assert result.params[1] == 0.45 and result.at_bounds[1]
        assert np.all(result.params >= lower) and np.all(result.params <= upper)
    # None for an open side.
    open_bounds = [(None, None)] * 7
    assert hr.fit(c2, phi, x0=TRUTH * 1.3, bounds=open_bounds, **KWARGS).success
    x0 = TRUTH * 1.3
    x0[2] = 50.0
    mask = [False, False, True, False, False, True, False]
    for fixed in (["D_offset", 5], ["D_offset", "gamma_dot_t_offset"], mask, np.array(mask)):
        result = hr.fit(c2, phi, x0=x0, bounds=BOUNDS, fixed=fixed, **KWARGS)
        assert result.params[2] == 50.0 and result.params[5] == x0[5]
        assert result.uncertainties[2] == 0.0 and result.uncertainties[5] == 0.0


def test_bad_input_and_non_identifiable_parameters_are_typed_errors():
    c2, phi = synthetic(TRUTH, n_angles=4, n_frames=30)
    with pytest.raises(ValueError, match="one \\(lower, upper\\) pair per parameter"):
        hr.fit(c2, phi, x0=TRUTH, bounds=BOUNDS[:6], **KWARGS)
    with pytest.raises(ValueError, match="unknown parameter 'D1'"):
        hr.fit(c2, phi, x0=TRUTH, fixed=["D1"], **KWARGS)
    # A mask of the wrong length is not read as indices (True would be 1).
    for short_mask in ([True, False, True], np.array([True, False, True])):
        with pytest.raises(ValueError, match="fixed as a mask needs one bool per parameter"):
            hr.fit(c2, phi, x0=TRUTH, fixed=short_mask, **KWARGS)
    lower, upper = np.array(BOUNDS).T
    with pytest.raises(ValueError, match="need 7 values a side"):
        hr.fit(c2, phi, x0=TRUTH, bounds=(lower[:3], upper), **KWARGS)
    with pytest.raises(ValueError, match=r"starting value of D0 = 10000000 is outside its bounds \[1, 1000000\]"):
        hr.fit(c2, phi, x0=[1e7, *TRUTH[1:]], bounds=BOUNDS, **KWARGS)
    with pytest.raises(ValueError, match="the bounds of beta admit no value"):
        hr.fit(c2, phi, x0=TRUTH, bounds=[*BOUNDS[:4], (1.0, -1.0), *BOUNDS[5:]], **KWARGS)
    with pytest.raises(ValueError, match="multistart needs finite bounds"):
        hr.fit(c2, phi, x0=TRUTH, multistart=3, **KWARGS)
    with pytest.raises(ValueError, match="parameter gamma0 = NaN"):
        hr.fit(c2, phi, x0=[*TRUTH[:3], np.nan, *TRUTH[4:]], **KWARGS)
    nan_data = c2.copy()
    nan_data[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match=r"c2_exp at index \[1, 2, 3\] is not finite"):
        hr.fit(nan_data, phi, x0=TRUTH, **KWARGS)
    # No shear: phi0 has no effect on the model.
    no_shear = np.array([1e4, 0.5, 50.0, 0.0, 0.0, 0.0, 5.0])
    c2, phi = synthetic(no_shear, n_angles=4, n_frames=30)
    with pytest.raises(hr.NotIdentifiableError, match="do not determine phi0") as raised:
        hr.fit(c2, phi, x0=no_shear, fixed=["gamma0", "beta", "gamma_offset"], **KWARGS)
    assert raised.value.parameters == ["phi0"]
    assert isinstance(raised.value, ValueError)


def test_multistart_reports_every_start():
    c2, phi = synthetic(TRUTH[:3], n_angles=3, n_frames=30, mode="static")
    bounds = [(1e3, 1e5), (0.0, 1.0), (-500.0, 500.0)]
    result = hr.fit(c2, phi, mode="static", x0=[2e4, 0.9, 400.0], bounds=bounds, multistart=4, seed=3, **KWARGS)
    assert len(result.starts) == 5
    assert result.chi2 == min(start["chi2"] for start in result.starts)
    assert all(start["termination"] is not None for start in result.starts)


def test_v1_fit_with_least_squares_uses_the_files_bounds_and_start(objective_vectors):
    case = objective_vectors["cases"][0]
    bounds = objective_vectors["edge_cases"]["parameter_bounds_used"]
    config = v1_config(case, bounds=bounds)
    c2, phi = decode(case["c2_exp"]), case["phi_deg"]
    start = np.array(case["true_params"]) * 1.2
    result = hr.v1.fit(config, c2, phi, x0=start, method="least_squares")
    assert isinstance(result, hr.FitResult) and result.success, result.message
    objective = hr.Objective.from_v1_config(config, c2, phi)
    # v1's angle filter: the fit uses the configuration's selected angles.
    np.testing.assert_array_equal(result.angle_indices, objective.selected_angles)
    assert result.fun == pytest.approx(objective(result.x), rel=1e-12)
    assert result.fun < objective(start)
    limits = np.array([(b["min"], b["max"]) for b in bounds])
    assert np.all(result.x >= limits[:, 0]) and np.all(result.x <= limits[:, 1])
    # The Nelder-Mead path is v1's, unchanged; an unknown method is an error.
    nelder_mead = hr.v1.fit(config, c2, phi, x0=start, options={"maxiter": 50})
    assert nelder_mead.nit <= 50
    with pytest.raises(ValueError, match="method must be"):
        hr.v1.fit(config, c2, phi, method="trust-constr")
    with pytest.raises(ValueError, match="unknown least_squares options"):
        hr.v1.fit(config, c2, phi, method="least_squares", options={"maxiter": 5})
