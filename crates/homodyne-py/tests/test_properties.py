"""Hypothesis property tests against numpy references, and the error contract."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import homodyne_rs as hr

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
angle = st.floats(-400, 400, allow_nan=False, allow_infinity=False)
ranges = st.lists(st.tuples(angle, angle).map(lambda r: (min(r), max(r))), min_size=0, max_size=6)


@settings(max_examples=200, deadline=None)
@given(phi=hnp.arrays(np.float64, st.integers(0, 300), elements=angle), ranges=ranges)
def test_filter_matches_numpy_mask(phi, ranges):
    mask = np.zeros(phi.shape, dtype=bool)
    for lo, hi in ranges:
        mask |= (phi >= lo) & (phi <= hi)
    expected = np.flatnonzero(mask)
    got = hr.filter_angles(phi, ranges)
    if expected.size:
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(hr.filter_angles(phi, ranges, fallback=False), expected)
    else:
        np.testing.assert_array_equal(got, np.arange(phi.size))


@settings(max_examples=200, deadline=None)
@given(
    data=hnp.arrays(np.float64, st.tuples(st.integers(2, 200)), elements=finite),
    scale=st.floats(1e-3, 1e3),
    shift=st.floats(-1e9, 1e9),
)
# Found by hypothesis: a long-double reference called the kernel's exact -0.5 wrong.
@example(data=np.array([-5.96046448e-08, 0.0, 0.0]), scale=0.001, shift=65536.0)
def test_correlation_matches_an_exact_reference(data, scale, shift):
    x = data + shift
    y = np.roll(data, 1) * scale - shift
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        with pytest.raises(ValueError, match="variance"):
            hr.fast_correlation(x, y)
        return
    # The exact reference: rational arithmetic on the stored doubles (long
    # double is not enough: at offsets of 1e9 its rounded mean leaves errors
    # far above those of the compensated kernel).
    fx, fy = [Fraction(v) for v in x.tolist()], [Fraction(v) for v in y.tolist()]
    mean_x, mean_y = sum(fx) / len(fx), sum(fy) / len(fy)
    dx, dy = [v - mean_x for v in fx], [v - mean_y for v in fy]
    sxy = sum(a * b for a, b in zip(dx, dy))
    sxx, syy = sum(a * a for a in dx), sum(b * b for b in dy)
    reference = math.copysign(math.sqrt(sxy * sxy / (sxx * syy)), sxy) if sxy else 0.0
    assert hr.fast_correlation(x, y) == pytest.approx(reference, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(rows=hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(3, 50)), elements=st.floats(-10, 10)))
def test_correlation_matrix_matches_corrcoef(rows):
    if (np.ptp(rows, axis=1) < 1e-6).any():
        return
    expected = np.corrcoef(rows)
    np.testing.assert_allclose(hr.correlation_matrix(rows), np.atleast_2d(expected), atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    observed=hnp.arrays(np.float64, st.integers(1, 500), elements=st.floats(0, 1e3)),
    seed=st.integers(0, 2**32 - 1),
)
def test_chi_squared_forms_match_numpy(observed, seed):
    rng = np.random.default_rng(seed)
    expected = rng.uniform(0.5, 2e3, observed.size)
    sigma = rng.uniform(0.1, 10, observed.size)
    assert hr.chi_squared(observed, expected) == pytest.approx(np.sum((observed - expected) ** 2 / expected), rel=1e-12)
    if observed.size > 1:
        weighted = hr.chi_squared_weighted(observed, expected, sigma)
        chi2 = np.sum(((observed - expected) / sigma) ** 2)
        assert weighted.chi2 == pytest.approx(chi2, rel=1e-12)
        assert weighted.dof == observed.size - 1
        from scipy.stats import chi2 as chi2_distribution

        assert weighted.p_value == pytest.approx(chi2_distribution.sf(chi2, observed.size - 1), rel=1e-6, abs=1e-300)


@settings(max_examples=100, deadline=None)
@given(shape=st.tuples(st.integers(1, 8), st.integers(2, 300)), seed=st.integers(0, 2**32 - 1))
def test_batch_chi_squared_and_scaling_match_numpy(shape, seed):
    rng = np.random.default_rng(seed)
    theory = rng.uniform(1, 2, shape)
    exp = 0.3 * theory + 1 + rng.normal(0, 0.01, shape)
    contrast, offset = hr.solve_scaling_batch(theory, exp)
    for row in range(shape[0]):
        design = np.stack([theory[row], np.ones(shape[1])], axis=1)
        (c, o), *_ = np.linalg.lstsq(design, exp[row], rcond=None)
        assert contrast[row] == pytest.approx(c, rel=1e-8, abs=1e-9)
        assert offset[row] == pytest.approx(o, rel=1e-8, abs=1e-9)
    chi2 = hr.chi_squared_batch(theory, exp, contrast, offset)
    np.testing.assert_allclose(
        chi2, ((exp - (contrast[:, None] * theory + offset[:, None])) ** 2).sum(axis=1), rtol=1e-9
    )


def test_model_matches_a_numpy_reference():
    params = np.array([2e4, 0.3, 50.0, 2e-4, 0.25, 5e-5, 2.0])
    phi = np.array([-8.0, 0.0, 60.0, 178.0])
    n, dt, q, gap = 30, 0.1, 0.0054, 2e6
    t = np.linspace(0, dt * (n - 1), n)
    d = np.maximum(params[0] * t ** params[1] + params[2], 1e-10)
    g = np.maximum(params[3] * t ** params[4] + params[5], 0.0)
    cd, cg = np.cumsum(d), np.cumsum(g)
    md, mg = np.abs(cd[:, None] - cd[None, :]), np.abs(cg[:, None] - cg[None, :])
    g1 = np.exp(-0.5 * q**2 * dt * md)
    expected = []
    for angle in phi:
        prefactor = 0.5 / np.pi * q * gap * dt * np.cos(np.deg2rad(params[6] - angle))
        expected.append((np.sinc(prefactor * mg) ** 2 * g1) ** 2)
    got = hr.c2_theory(params, phi, n_frames=n, dt=dt, q=q, gap=gap)
    np.testing.assert_allclose(got, np.array(expected), rtol=1e-12, atol=1e-14)
    static = hr.c2_theory(params[:3], phi, n_frames=n, dt=dt, q=q, gap=gap, mode="static")
    np.testing.assert_allclose(static, np.broadcast_to(g1**2, static.shape), rtol=1e-12)


def test_inputs_of_other_dtypes_and_layouts_are_converted_once():
    x = np.arange(100, dtype=np.float32)
    y = (np.arange(100, dtype=np.int64) ** 2)[::-1]
    assert hr.fast_correlation(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1], rel=1e-12)
    rows = np.asfortranarray(np.random.default_rng(1).random((4, 30)))
    np.testing.assert_allclose(hr.correlation_matrix(rows), np.corrcoef(rows), atol=1e-12)
    assert hr.fast_correlation([1, 2, 3], [1, 2, 4]) == pytest.approx(np.corrcoef([1, 2, 3], [1, 2, 4])[0, 1])


def test_errors_are_python_exceptions_with_the_rust_message():
    with pytest.raises(ValueError, match="same shape"):
        hr.fast_correlation(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="expected value at index 1 must be positive"):
        hr.chi_squared([1.0, 2.0], [1.0, 0.0])
    with pytest.raises(TypeError, match="array of"):
        hr.fast_correlation(["a", "b"], [1.0, 2.0])
    with pytest.raises(TypeError):
        hr.fast_correlation(None, [1.0, 2.0])
    with pytest.raises(ValueError, match="1 axis"):
        hr.fast_correlation(np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(TypeError, match="pairs"):
        hr.filter_angles([1.0], "nonsense")
    with pytest.raises(ValueError, match="mode"):
        hr.c2_theory([1.0, 0.0, 0.0], [0.0], n_frames=3, dt=0.1, q=0.01, gap=1.0, mode="shear")
    with pytest.raises(ValueError, match="parameters"):
        hr.c2_theory([1.0, 0.0], [0.0], n_frames=3, dt=0.1, q=0.01, gap=1.0, mode="static")
    with pytest.raises(ValueError, match="dt"):
        hr.c2_theory([1.0, 0.0, 0.0], [0.0], n_frames=3, dt=-0.1, q=0.01, gap=1.0, mode="static")
    with pytest.raises(ValueError, match="shape"):
        hr.Objective(np.ones((2, 3, 3)), [0.0], dt=0.1, q=0.01, gap=1.0)


def test_objective_borrows_the_array_and_works_with_scipy():
    from scipy.optimize import minimize

    truth = np.array([2e4, 0.3, 50.0, 2e-4, 0.25, 5e-5, 2.0])
    phi = np.array([-5.0, 0.0, 5.0, 90.0])
    kwargs = dict(dt=0.1, q=0.0054, gap=2e6)
    c2 = 0.3 * hr.c2_theory(truth, phi, n_frames=20, **kwargs) + 1.0
    c2 += 1e-4 * np.random.default_rng(0).standard_normal(c2.shape)
    objective = hr.Objective(c2, phi, **kwargs)
    assert objective.c2_exp is c2, "C-contiguous float64 data are not copied"
    assert objective.selected_angles.tolist() == [0, 1, 2]
    start = truth * np.array([1.2, 1, 1, 1, 1, 1, 1])
    result = minimize(objective, start, method="Nelder-Mead", options={"maxiter": 300})
    assert result.fun < objective(start)
    assert hr.Objective(c2.astype(np.float32), phi, **kwargs).c2_exp is not c2
    with pytest.raises(ValueError, match="parameters"):
        objective([1.0, 2.0])
