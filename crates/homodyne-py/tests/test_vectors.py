"""Every function against the outputs of the real v1 package (homodyne-analysis 1.0.1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import decode, v1_config

import homodyne_rs as hr
from homodyne_rs import v1

DEFAULT = [(-10.0, 10.0), (170.0, 190.0)]


def _ranges(case):
    return [tuple(decode(r)) for r in case["ranges_effective"]]


def test_angles_match_v1(angles_vectors):
    compared = 0
    for case in angles_vectors["cases"]:
        angles = np.array(decode(case["angles"]), dtype=np.float64)
        ranges = _ranges(case)
        label = case["label"]
        if np.isnan(angles).any() or any(math.isnan(b) for r in ranges for b in r):
            # v1 silently never selects NaN; homodyne-rs names it.
            with pytest.raises(ValueError, match="(?i)nan|finite"):
                hr.filter_angles(angles, ranges)
            continue
        if any(lo > hi for lo, hi in ranges):
            # v1 lets an inverted range match nothing; homodyne-rs refuses it.
            with pytest.raises(ValueError, match="min"):
                hr.filter_angles(angles, ranges)
            continue
        expected = case["returned_fallback_true"]
        if isinstance(expected, dict):  # v1 raised (a list input it could not index): we accept lists.
            np.testing.assert_array_equal(hr.filter_angles(list(angles), ranges), hr.filter_angles(angles, ranges))
            continue
        got = hr.filter_angles(angles, ranges)
        assert got.dtype == np.int64
        assert got.tolist() == expected, label
        no_fallback = case["returned_fallback_false"]
        if isinstance(no_fallback, dict):
            with pytest.raises(ValueError, match="no angle"):
                hr.filter_angles(angles, ranges, fallback=False)
        else:
            assert hr.filter_angles(angles, ranges, fallback=False).tolist() == no_fallback, label
        compared += 1
    assert compared >= 12


def test_least_squares_and_batch_chi2_match_v1(kernels_vectors):
    for case in kernels_vectors["least_squares"]:
        theory, exp = decode(case["theory"]), decode(case["exp"])
        contrast, offset = hr.solve_scaling_batch(theory, exp)
        if "NOT detected" in case["label"]:
            # v1's absolute determinant test misses this singular case (documented).
            assert contrast.tolist() == [1.0] * len(contrast)
            continue
        np.testing.assert_allclose(contrast, case["contrast"], rtol=1e-12, atol=1e-12, err_msg=case["label"])
        np.testing.assert_allclose(offset, case["offset"], rtol=1e-12, atol=1e-12, err_msg=case["label"])
        chi2 = hr.chi_squared_batch(theory, exp, contrast, offset)
        np.testing.assert_allclose(chi2, case["chi2_raw"], rtol=1e-10, atol=1e-13, err_msg=case["label"])
    for case in kernels_vectors["chi_squared_batch"]:
        got = hr.chi_squared_batch(decode(case["theory"]), decode(case["exp"]), case["contrast"], case["offset"])
        np.testing.assert_allclose(got, case["chi2_raw"], rtol=1e-12)


@pytest.mark.parametrize("index", [0, 1])
def test_objective_cases_match_v1(objective_vectors, index):
    case = objective_vectors["cases"][index]
    c2_exp, phi = decode(case["c2_exp"]), np.array(case["phi_deg"])
    params = np.array(case["eval_params"])
    kwargs = dict(dt=case["dt"], q=case["q"], gap=case["L_stator_rotor_gap"])
    objective = hr.Objective(c2_exp, phi, **kwargs)
    assert objective.selected_angles.tolist() == case["filtered_indices"]
    assert objective(params) == pytest.approx(case["objective_filtered"], rel=1e-12)
    everything = hr.Objective(c2_exp, phi, filter_angles=False, **kwargs)
    assert everything(params) == pytest.approx(case["objective_all_angles"], rel=1e-12)

    components = objective.components(params)
    for key, value in case["components_filtered"].items():
        assert components[key] == pytest.approx(value, rel=1e-10), key
    components_all = everything.components(params)
    for key, value in case["components_all_angles"].items():
        assert components_all[key] == pytest.approx(value, rel=1e-10), key
    np.testing.assert_allclose(components_all["contrast"], case["contrast"], rtol=1e-10)
    np.testing.assert_allclose(components_all["offset"], case["offset"], rtol=1e-10)
    np.testing.assert_allclose(components_all["sigma"], case["sigma"], rtol=1e-12)
    np.testing.assert_allclose(components_all["reduced_chi_squared_per_angle"], case["angle_chi2_reduced"], rtol=1e-10)

    # The same through v1's configuration.
    from_config = hr.Objective.from_v1_config(v1_config(case), c2_exp, phi)
    assert from_config(params) == pytest.approx(case["objective_filtered"], rel=1e-12)
    theory = hr.c2_theory(params, phi, n_frames=case["N"], **kwargs)
    np.testing.assert_allclose(theory, decode(case["c2_theory"]), rtol=1e-12, atol=1e-15)


def test_validity_rejections_give_inf(objective_vectors):
    case = objective_vectors["cases"][0]
    edge = objective_vectors["edge_cases"]
    c2_exp, phi = decode(case["c2_exp"]), np.array(case["phi_deg"])
    objective = hr.Objective.from_v1_config(v1_config(case, bounds=edge["parameter_bounds_used"]), c2_exp, phi)
    assert math.isfinite(objective(np.array(case["eval_params"])))
    for rejection in edge["validity_rejections"]:
        assert objective(rejection["params"]) == math.inf, rejection["reason"]
        components = objective.components(rejection["params"])
        assert components["valid"] is False and components["chi_squared"] == math.inf
        assert components["reason"]


def test_nan_in_an_unselected_angle_is_ignored_and_in_a_selected_one_named(objective_vectors):
    case = objective_vectors["cases"][0]
    for nan_case in objective_vectors["edge_cases"]["nan_in_exp"]:
        exp = 1 + 0.1 * np.random.default_rng(objective_vectors["meta"]["seed"] + 2).random((3, 20, 20))
        exp[nan_case["nan_angle_index"], 3, 4] = np.nan
        kwargs = dict(dt=case["dt"], q=case["q"], gap=case["L_stator_rotor_gap"])
        expected = decode(nan_case["objective_filtered"])
        if math.isnan(expected):
            with pytest.raises(ValueError, match=r"c2_exp.*\[0, 3, 4\]"):
                hr.Objective(exp, nan_case["phi_deg"], **kwargs)
        else:
            objective = hr.Objective(exp, nan_case["phi_deg"], **kwargs)
            assert objective(nan_case["params"]) == pytest.approx(expected, rel=1e-12)


def test_v1_settings_read_the_keys_v1_reads(objective_vectors):
    case = objective_vectors["cases"][1]
    config = v1_config(case)
    config["optimization_config"]["angle_filtering"]["target_ranges"] = [
        {"min_angle": 80.0},
        {"max_angle": 5.0, "min_angle": -5.0},
    ]
    with pytest.warns(UserWarning, match="min_angle and max_angle"):
        settings = v1.objective_settings(config)
    assert settings["angle_ranges"] == [(-5.0, 5.0)]
    assert settings["n_frames"] == case["N"] and settings["sinc"] == "normalized"
    config["analysis_settings"]["static_mode"] = True
    config["optimization_config"]["angle_filtering"]["target_ranges"] = [{"min_angle": -5.0, "max_angle": 5.0}]
    static = v1.objective_settings(config)
    assert static["mode"] == "static" and static["angle_ranges"] == [(-5.0, 5.0)]
    del config["analyzer_parameters"]["temporal"]["dt"]
    with pytest.raises(ValueError, match="temporal.dt"):
        v1.objective_settings(config)
    wrong_frames = v1_config(case)
    wrong_frames["analyzer_parameters"]["temporal"] = dict(
        wrong_frames["analyzer_parameters"]["temporal"], end_frame=10
    )
    with pytest.raises(ValueError, match="frames"):
        hr.Objective.from_v1_config(wrong_frames, decode(case["c2_exp"]), case["phi_deg"])


def test_v1_fit_runs_scipy_nelder_mead_from_the_file(objective_vectors, tmp_path):
    import json

    case = objective_vectors["cases"][0]
    c2_exp, phi = decode(case["c2_exp"]), np.array(case["phi_deg"])
    path = tmp_path / "laminar_flow.json"
    config = v1_config(case)
    config["initial_parameters"]["values"] = [v * 1.05 for v in case["true_params"]]
    path.write_text(json.dumps(config))
    result = v1.fit(path, c2_exp, phi)
    start = hr.Objective.from_v1_config(path, c2_exp, phi)(config["initial_parameters"]["values"])
    assert result.fun <= start
    assert result.nit <= 200
