//! The fused objective against a naive materialised pipeline, on random and
//! extreme configurations, both sinc conventions and both modes.

use homodyne_kernels::{
    ChiSquaredObjective, FlowMode, ModelConfig, ObjectiveConfig, SigmaRule, SincConvention, c2_theory,
    sinc_squared_scalar,
};
use ndarray::Array3;
use proptest::prelude::*;

use crate::{check_close, uniform};

fn model(n_frames: usize, mode: FlowMode, sinc: SincConvention) -> ModelConfig {
    ModelConfig { n_frames, dt: 0.1, wavevector_q: 0.0054, stator_rotor_gap: 2e6, mode, sinc }
}

/// Data from the model at `truth` with contrast 0.3, offset 1 and noise.
fn data(truth: &[f64], phi: &[f64], config: &ModelConfig, noise: f64, seed: u64) -> Array3<f64> {
    let mut c2 = c2_theory(truth, phi, config).unwrap();
    let u = uniform(c2.len(), seed);
    c2.iter_mut().zip(u).for_each(|(value, u)| *value = 0.3 * *value + 1.0 + noise * (u - 0.5));
    c2
}

/// The naive objective: materialise the theory, fit each angle with centred
/// two-pass formulas, sum the residuals.
fn naive_objective(c2_exp: &Array3<f64>, phi: &[f64], selected: &[usize], config: &ModelConfig, params: &[f64]) -> f64 {
    let theory = c2_theory(params, phi, config).unwrap();
    let n_points = (config.n_frames * config.n_frames) as f64;
    let dof = (n_points - config.mode.n_params() as f64).max(1.0);
    let mut total = 0.0;
    for &angle in selected {
        let t: Vec<f64> = theory.index_axis(ndarray::Axis(0), angle).iter().copied().collect();
        let e: Vec<f64> = c2_exp.index_axis(ndarray::Axis(0), angle).iter().copied().collect();
        let mean = |values: &[f64]| values.iter().sum::<f64>() / n_points;
        let (mean_t, mean_e) = (mean(&t), mean(&e));
        let stt: f64 = t.iter().map(|t| (t - mean_t) * (t - mean_t)).sum();
        let ste: f64 = t.iter().zip(&e).map(|(t, e)| (t - mean_t) * (e - mean_e)).sum();
        // Residuals in centred form, (e - mean e) - c (t - mean t): with a
        // nearly constant theory the contrast and offset are huge and of
        // opposite sign, and `e - c t - o` would cancel catastrophically.
        let residual: f64 = if stt > 1e-12 * t.iter().map(|t| t * t).sum::<f64>() {
            let contrast = ste / stt;
            t.iter().zip(&e).map(|(t, e)| ((e - mean_e) - contrast * (t - mean_t)).powi(2)).sum()
        } else {
            t.iter().zip(&e).map(|(t, e)| (e - t).powi(2)).sum()
        };
        let std = (e.iter().map(|e| (e - mean_e) * (e - mean_e)).sum::<f64>() / n_points).sqrt();
        let sigma = (0.1 * std).max(1e-10);
        total += residual / (sigma * sigma) / dof;
    }
    total / selected.len() as f64
}

fn check(
    n_angles: usize,
    n_frames: usize,
    mode: FlowMode,
    sinc: SincConvention,
    truth: &[f64],
    params: &[f64],
    noise: f64,
) {
    let config = model(n_frames, mode, sinc);
    let phi: Vec<f64> = (0..n_angles).map(|a| -10.0 + 47.0 * a as f64).collect();
    let c2_exp = data(truth, &phi, &config, noise, n_frames as u64);
    let selected: Vec<usize> = (0..n_angles).collect();
    let objective = ChiSquaredObjective::new(
        c2_exp.view(),
        &phi,
        &selected,
        ObjectiveConfig { model: config, sigma: SigmaRule::default() },
    )
    .unwrap();
    let got = objective.evaluate(params).unwrap().value;
    let expected = naive_objective(&c2_exp, &phi, &selected, &config, params);
    check_close(&format!("objective ({n_angles}, {n_frames}) {mode:?} {sinc:?} at {params:?}"), got, expected, 1e-10);
}

const TRUTH: [f64; 7] = [2e4, 0.3, 50.0, 2e-4, 0.25, 5e-5, 2.0];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_fused_objective_equals_the_materialised_pipeline(
        n_angles in 1usize..4,
        n_frames in prop::sample::select(vec![1usize, 2, 3, 5, 15, 16, 17, 33, 40]),
        laminar in any::<bool>(),
        normalized in any::<bool>(),
        d0 in 1e3..1e5f64,
        alpha in -1.5..1.5f64,
        d_offset in -50.0..100.0f64,
        gamma0 in 1e-5..1e-2f64,
        beta in -1.0..1.0f64,
        gamma_offset in -1e-4..1e-4f64,
        phi0 in -10.0..10.0f64,
        noise in prop_oneof![Just(1e-3), Just(1e-5), Just(0.1)],
    ) {
        let (mode, params): (FlowMode, Vec<f64>) = if laminar {
            (FlowMode::LaminarFlow, vec![d0, alpha, d_offset, gamma0, beta, gamma_offset, phi0])
        } else {
            (FlowMode::Static, vec![d0, alpha, d_offset])
        };
        let truth: Vec<f64> = TRUTH[..mode.n_params()].to_vec();
        let sinc = if normalized { SincConvention::Normalized } else { SincConvention::Unnormalized };
        check(n_angles, n_frames, mode, sinc, &truth, &params, noise);
    }
}

#[test]
fn c2_theory_into_fills_the_callers_buffer() {
    let config = model(9, FlowMode::LaminarFlow, SincConvention::Unnormalized);
    let phi = [0.0, 30.0];
    let expected = c2_theory(&TRUTH, &phi, &config).unwrap();
    let mut out = Array3::from_elem((2, 9, 9), f64::NAN);
    homodyne_kernels::c2_theory_into(&TRUTH, &phi, &config, out.view_mut()).unwrap();
    assert_eq!(out, expected);
    // Symmetric with a unit diagonal, as the fused objective assumes.
    for ((angle, i, j), &value) in expected.indexed_iter() {
        assert_eq!(value, expected[[angle, j, i]]);
        if i == j {
            assert_eq!(value, 1.0);
        }
    }
    assert!(homodyne_kernels::c2_theory_into(&TRUTH, &phi, &config, Array3::zeros((2, 9, 8)).view_mut()).is_err());
}

#[test]
fn extreme_parameters_take_the_direct_path() {
    // k (c_N - c_0) far above 700: g1 is computed per element and blocks that
    // underflow entirely are skipped.
    for d0 in [1e6, 1e8] {
        let params = [d0, 1.5, 10.0, 1e-3, 0.5, 1e-5, 1.0];
        check(2, 70, FlowMode::LaminarFlow, SincConvention::Normalized, &TRUTH, &params, 1e-3);
        check(2, 70, FlowMode::Static, SincConvention::Unnormalized, &TRUTH[..3], &params[..3], 1e-3);
    }
}

#[test]
fn strong_shear_and_no_shear() {
    // Many turns of the sinc argument, and the static shortcut inside laminar mode.
    check(
        3,
        64,
        FlowMode::LaminarFlow,
        SincConvention::Unnormalized,
        &TRUTH,
        &[2e4, 0.3, 50.0, 0.5, 0.5, 1e-3, 3.0],
        1e-3,
    );
    check(
        2,
        20,
        FlowMode::LaminarFlow,
        SincConvention::Normalized,
        &TRUTH,
        &[2e4, 0.3, 50.0, 0.0, 0.0, 0.0, 3.0],
        1e-3,
    );
}

#[test]
fn both_sinc_conventions_have_their_closed_forms() {
    for x in [0.25f64, 0.5, -1.5, 3.0] {
        let y = std::f64::consts::PI * x;
        check_close("normalised", sinc_squared_scalar(x, SincConvention::Normalized), (y.sin() / y).powi(2), 1e-15);
        check_close("unnormalised", sinc_squared_scalar(x, SincConvention::Unnormalized), (x.sin() / x).powi(2), 1e-15);
    }
    // The series near zero agrees with the quotient where both are accurate.
    for x in [1e-5f64, 9.9e-5, 1e-3] {
        let quotient = (x.sin() / x).powi(2);
        check_close("series", sinc_squared_scalar(x, SincConvention::Unnormalized), quotient, 1e-15);
    }
    assert_eq!(sinc_squared_scalar(0.0, SincConvention::Unnormalized), 1.0);
    assert_eq!(sinc_squared_scalar(1e-12, SincConvention::Normalized), 1.0);
}

#[test]
fn per_angle_fits_recover_the_scaling_and_the_statistics_add_up() {
    let config = model(30, FlowMode::LaminarFlow, SincConvention::Normalized);
    let phi = [-5.0, 0.0, 5.0, 175.0];
    let c2_exp = data(&TRUTH, &phi, &config, 1e-4, 3);
    let objective = ChiSquaredObjective::new(
        c2_exp.view(),
        &phi,
        &[0, 2, 3],
        ObjectiveConfig { model: config, sigma: SigmaRule::default() },
    )
    .unwrap();
    let value = objective.evaluate(&TRUTH).unwrap();
    assert_eq!(value.angles.iter().map(|fit| fit.angle_idx).collect::<Vec<_>>(), vec![0, 2, 3]);
    for fit in &value.angles {
        check_close("contrast", fit.contrast, 0.3, 1e-3);
        check_close("offset", fit.offset, 1.0, 1e-4);
        check_close("reduced", fit.reduced_chi2, fit.chi2 / (900.0 - 7.0), 1e-15);
    }
    let reduced: Vec<f64> = value.angles.iter().map(|fit| fit.reduced_chi2).collect();
    let mean = reduced.iter().sum::<f64>() / 3.0;
    let std = (reduced.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
    check_close("mean", value.value, mean, 1e-15);
    check_close("uncertainty", value.uncertainty, std / 3f64.sqrt(), 1e-12);
    assert_eq!(value.degrees_of_freedom, 3 * 900 - 7);
    assert_eq!(objective.sigmas().len(), 3);
}

#[test]
fn symmetry_and_diagonal_sums_match_a_naive_scan() {
    let config = model(37, FlowMode::LaminarFlow, SincConvention::Normalized);
    let phi = [0.0, 20.0, 40.0];
    let mut c2 = data(&TRUTH, &phi, &config, 1e-3, 9);
    for mut angle in c2.outer_iter_mut() {
        for i in 0..37 {
            for j in 0..i {
                angle[[i, j]] = angle[[j, i]];
            }
        }
    }
    let objective_config = ObjectiveConfig { model: config, sigma: SigmaRule::default() };
    let objective = ChiSquaredObjective::new(c2.view(), &phi, &[0, 2], objective_config).unwrap();
    assert!(objective.is_symmetric());
    for (&(sum, squares), angle) in objective.diagonal_sums().iter().zip([0, 2]) {
        let diagonal: Vec<f64> = (0..37).map(|i| c2[[angle, i, i]]).collect();
        check_close("trace", sum, diagonal.iter().sum(), 1e-15);
        check_close("squares", squares, diagonal.iter().map(|v| v * v).sum(), 1e-15);
    }
    // One value off in an unselected angle changes nothing; in a selected one, everything.
    let mut off = c2.clone();
    off[[1, 30, 2]] += 1e-9;
    assert!(ChiSquaredObjective::new(off.view(), &phi, &[0, 2], objective_config).unwrap().is_symmetric());
    off[[2, 36, 35]] += 1e-9;
    assert!(!ChiSquaredObjective::new(off.view(), &phi, &[0, 2], objective_config).unwrap().is_symmetric());
}

/// A constant theory (no decay: D clamped at its floor) cannot be scaled:
/// the objective keeps contrast 1 and offset 0 and says so, which the
/// fitter's projection and degrees of freedom follow.
#[test]
fn a_constant_theory_keeps_its_scaling_and_says_so() {
    let config = model(12, FlowMode::Static, SincConvention::Normalized);
    let phi = [0.0, 30.0];
    let c2_exp = data(&[2e4, 0.3, 50.0], &phi, &config, 1e-3, 3);
    let objective = ChiSquaredObjective::new(
        c2_exp.view(),
        &phi,
        &[0, 1],
        ObjectiveConfig { model: config, sigma: SigmaRule::default() },
    )
    .unwrap();
    let decaying = objective.evaluate(&[2e4, 0.3, 50.0]).unwrap();
    assert!(decaying.angles.iter().all(|fit| fit.scaling_fitted), "{decaying:?}");
    let constant = objective.evaluate(&[1e-30, 0.0, -1.0]).unwrap();
    for fit in &constant.angles {
        assert!(!fit.scaling_fitted, "{fit:?}");
        assert_eq!((fit.contrast, fit.offset), (1.0, 0.0));
    }
}
