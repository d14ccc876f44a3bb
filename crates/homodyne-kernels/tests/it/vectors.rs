//! The test vectors computed with the real `homodyne-analysis` 1.0.1 package.

use homodyne_kernels::{
    ChiSquaredObjective, FlowMode, KernelError, ModelConfig, ObjectiveConfig, SigmaRule, SincConvention,
    chi_squared_batch_scaled, diffusion_coefficient, g1_diffusion, shear_rate, sinc_squared, sinc_squared_scalar,
    solve_scaling_batch, time_grid, time_integral_matrix,
};
use serde_json::Value;

use crate::{check_close, close, cube, matrix, number, numbers};

fn kernels() -> Value {
    serde_json::from_str(include_str!("../data/kernels.json")).unwrap()
}

pub(crate) fn objective_vectors() -> Value {
    serde_json::from_str(include_str!("../data/objective.json")).unwrap()
}

fn check_all(what: &str, got: &[f64], expected: &[f64], rel: f64) {
    assert_eq!(got.len(), expected.len(), "{what}: lengths");
    for (index, (&got, &expected)) in got.iter().zip(expected).enumerate() {
        check_close(&format!("{what}[{index}]"), got, expected, rel);
    }
}

#[test]
fn rates_and_time_grids_match_v1() {
    let document = kernels();
    for (section, rate) in [("diffusion", 0), ("shear_rate", 1)] {
        for case in document[section].as_array().unwrap() {
            let n = case["N"].as_u64().unwrap() as usize;
            let time = numbers(&case["t"]);
            assert_eq!(time_grid(n, number(&case["dt"])), time, "time grid N = {n}");
            let params: Vec<f64> = if rate == 0 {
                ["D0", "alpha", "D_offset"].iter().map(|key| number(&case[key])).collect()
            } else {
                ["gamma0", "beta", "gamma_offset"].iter().map(|key| number(&case[key])).collect()
            };
            let got = if rate == 0 {
                diffusion_coefficient(&time, params[0], params[1], params[2]).unwrap()
            } else {
                shear_rate(&time, params[0], params[1], params[2]).unwrap()
            };
            check_all(&format!("{section} {}", case["note"]), &got, &numbers(&case["out_exported_wrapper"]), 1e-12);
        }
    }
}

#[test]
fn integrals_g1_and_sinc_match_v1() {
    let document = kernels();
    for case in document["time_integral"].as_array().unwrap() {
        let got = time_integral_matrix(&numbers(&case["f"])).unwrap();
        let expected = matrix(&case["out_njit"]);
        check_all("time integral", got.as_slice().unwrap(), expected.as_slice().unwrap(), 1e-12);
    }
    for case in document["g1"].as_array().unwrap() {
        let got = g1_diffusion(matrix(&case["M"]).view(), number(&case["factor"]));
        check_all("g1", got.as_slice().unwrap(), matrix(&case["out_exported_wrapper"]).as_slice().unwrap(), 1e-12);
    }
    for case in document["sinc_squared"].as_array().unwrap() {
        let got = sinc_squared(matrix(&case["M"]).view(), number(&case["prefactor"]), SincConvention::Normalized);
        let expected = matrix(&case["out"]);
        for (&got, &expected) in got.iter().zip(&expected) {
            // Zeros of sinc: sin(pi k) is ~1e-16, not 0, in both implementations.
            assert!(close(got, expected, 1e-12, 1e-30), "sinc^2: got {got:e}, expected {expected:e}");
        }
    }
    for case in document["sinc_squared_scalar"].as_array().unwrap() {
        let got = sinc_squared_scalar(number(&case["x"]), SincConvention::Normalized);
        assert!(close(got, number(&case["out"]), 1e-12, 1e-30), "sinc^2({}) = {got:e}", case["x"]);
    }
}

#[test]
fn least_squares_and_residuals_match_v1() {
    let document = kernels();
    for case in document["least_squares"].as_array().unwrap() {
        let label = case["label"].as_str().unwrap();
        let (theory, exp) = (matrix(&case["theory"]), matrix(&case["exp"]));
        let (contrast, offset) = solve_scaling_batch(theory.view(), exp.view()).unwrap();
        if label.contains("NOT detected") {
            // v1's absolute determinant test missed this singular fit and
            // returned rounding noise; the relative test detects it.
            assert_eq!((contrast[0], offset[0]), (1.0, 0.0), "{label}");
            continue;
        }
        check_all(&format!("{label}: contrast"), contrast.as_slice().unwrap(), &numbers(&case["contrast"]), 1e-12);
        check_all(&format!("{label}: offset"), offset.as_slice().unwrap(), &numbers(&case["offset"]), 1e-12);
        let chi2 = chi_squared_batch_scaled(
            theory.view(),
            exp.view(),
            contrast.as_slice().unwrap(),
            offset.as_slice().unwrap(),
        )
        .unwrap();
        let scale: f64 = exp.iter().map(|e| e * e).sum::<f64>() * 1e-16;
        for (&got, expected) in chi2.iter().zip(numbers(&case["chi2_raw"])) {
            // An exact fit leaves ~1e-30 of rounding in both; compare to the data's scale.
            assert!(close(got, expected, 1e-12, scale), "{label}: chi2 {got:e} vs {expected:e}");
        }
    }
    for case in document["chi_squared_batch"].as_array().unwrap() {
        let got = chi_squared_batch_scaled(
            matrix(&case["theory"]).view(),
            matrix(&case["exp"]).view(),
            &numbers(&case["contrast"]),
            &numbers(&case["offset"]),
        )
        .unwrap();
        check_all("chi2 batch", got.as_slice().unwrap(), &numbers(&case["chi2_raw"]), 1e-12);
    }
}

pub(crate) fn objective_config(case: &Value) -> ObjectiveConfig {
    ObjectiveConfig {
        model: ModelConfig {
            n_frames: case["N"].as_u64().unwrap() as usize,
            dt: number(&case["dt"]),
            wavevector_q: number(&case["q"]),
            stator_rotor_gap: number(&case["L_stator_rotor_gap"]),
            mode: FlowMode::LaminarFlow,
            sinc: SincConvention::Normalized,
        },
        sigma: SigmaRule::default(),
    }
}

pub(crate) fn indices(value: &Value) -> Vec<usize> {
    value.as_array().unwrap().iter().map(|index| index.as_u64().unwrap() as usize).collect()
}

#[test]
fn the_fused_objective_matches_v1() {
    let document = objective_vectors();
    for case in document["cases"].as_array().unwrap() {
        let label = case["label"].as_str().unwrap();
        let config = objective_config(case);
        assert_eq!(time_grid(config.model.n_frames, config.model.dt), numbers(&case["time_array"]), "{label}");
        let c2_exp = cube(&case["c2_exp"]);
        let phi = numbers(&case["phi_deg"]);
        let params = numbers(&case["eval_params"]);
        assert!(close(config.model.g1_prefactor(), number(&case["wavevector_q_squared_half_dt"]), 1e-15, 0.0));
        assert!(close(config.model.sinc_prefactor(), number(&case["sinc_prefactor"]), 1e-15, 0.0));

        let theory = homodyne_kernels::c2_theory(&params, &phi, &config.model).unwrap();
        let expected_theory = cube(&case["c2_theory"]);
        check_all(
            &format!("{label}: c2_theory"),
            theory.as_slice().unwrap(),
            expected_theory.as_slice().unwrap(),
            1e-12,
        );
        let all = ChiSquaredObjective::new(c2_exp.view(), &phi, &indices(&case["all_indices"]), config).unwrap();
        let value = all.evaluate(&params).unwrap();
        check_close(
            &format!("{label}: objective, all angles"),
            value.value,
            number(&case["objective_all_angles"]),
            1e-10,
        );
        for (angle_idx, fit) in value.angles.iter().enumerate() {
            let at = |key: &str| number(&case[key][angle_idx]);
            check_close(&format!("{label}: contrast {angle_idx}"), fit.contrast, at("contrast"), 1e-10);
            check_close(&format!("{label}: offset {angle_idx}"), fit.offset, at("offset"), 1e-10);
            check_close(&format!("{label}: sigma {angle_idx}"), fit.sigma, at("sigma"), 1e-12);
            check_close(&format!("{label}: residual {angle_idx}"), fit.residual_sum, at("chi2_raw_unweighted"), 1e-10);
            check_close(&format!("{label}: reduced {angle_idx}"), fit.reduced_chi2, at("angle_chi2_reduced"), 1e-10);
        }
        let components = &case["components_all_angles"];
        assert_eq!(value.degrees_of_freedom as u64, components["degrees_of_freedom"].as_u64().unwrap());

        let filtered =
            ChiSquaredObjective::new(c2_exp.view(), &phi, &indices(&case["filtered_indices"]), config).unwrap();
        let value = filtered.evaluate(&params).unwrap();
        check_close(&format!("{label}: objective, filtered"), value.value, number(&case["objective_filtered"]), 1e-10);
        let components = &case["components_filtered"];
        check_close(
            &format!("{label}: chi2 sum"),
            value.chi2_total,
            number(&components["chi_squared_sum_over_filtered"]),
            1e-10,
        );
        check_close(
            &format!("{label}: uncertainty"),
            value.uncertainty,
            number(&components["reduced_chi_squared_uncertainty"]),
            1e-9,
        );
    }
}

#[test]
fn a_nan_in_a_selected_angle_is_an_error_not_a_nan_objective() {
    // v1 returned NaN for the objective when a selected angle held a NaN
    // (`objective.json`, `edge_cases.nan_in_exp`) and ignored it otherwise.
    let document = objective_vectors();
    let case = &document["cases"][0];
    let config = objective_config(case);
    let mut c2_exp = cube(&case["c2_exp"]);
    c2_exp[[1, 3, 4]] = f64::NAN;
    let phi = numbers(&case["phi_deg"]);
    let error = ChiSquaredObjective::new(c2_exp.view(), &phi, &[0, 1, 4], config).unwrap_err();
    assert!(
        matches!(error, KernelError::NonFinite { what: "c2_exp", ref index, .. } if *index == vec![1, 3, 4]),
        "{error}"
    );
    assert_eq!(error.to_string(), "c2_exp at index [1, 3, 4] is not finite (NaN)");
    // An unselected angle's NaN is never read.
    let params = numbers(&case["eval_params"]);
    let value = ChiSquaredObjective::new(c2_exp.view(), &phi, &[0, 4], config).unwrap().evaluate(&params).unwrap();
    assert!(value.value.is_finite());
}
