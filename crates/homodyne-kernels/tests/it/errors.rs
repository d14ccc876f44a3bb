//! Every error path: the variant, and a message that names the bad input.

use homodyne_kernels::{
    ChiSquaredObjective, FlowMode, KernelError, ModelConfig, ObjectiveConfig, SigmaRule, SincConvention, c2_theory,
    chi_squared_batch, chi_squared_weighted, chi_squared_weighted_with_dof, correlation_matrix, diffusion_coefficient,
    fast_chi_squared, fast_correlation, solve_scaling_batch, time_integral_matrix,
};
use ndarray::{Array2, Array3};

fn check(result: Result<impl std::fmt::Debug, KernelError>, expected_message: &str) {
    let error = result.expect_err("an error");
    assert_eq!(error.to_string(), expected_message, "{error:?}");
}

#[test]
fn correlation_errors() {
    check(fast_correlation(&[1.0, 2.0], &[1.0]), "x and y must have the same shape, got [2] and [1]");
    check(fast_correlation(&[1.0], &[1.0]), "correlation needs at least 2 points, got 1");
    check(fast_correlation(&[1.0, f64::NAN, 3.0], &[1.0, 2.0, 3.0]), "x at index 1 is not finite (NaN)");
    check(fast_correlation(&[1.0, 2.0, 3.0], &[1.0, 2.0, f64::INFINITY]), "y at index 2 is not finite (inf)");
    check(fast_correlation(&[4.0; 100], &[1.0; 100]), "x has zero variance");
    check(fast_correlation(&[1.0, 2.0, 3.0], &[1.1; 3]), "y has zero variance");
    let a = Array2::from_shape_vec((2, 3), vec![1.0, 2.0, 3.0, 5.0, 5.0, 5.0]).unwrap();
    check(correlation_matrix(a.view(), a.view()), "row 1 of a has zero variance");
    check(
        correlation_matrix(a.view(), Array2::<f64>::zeros((1, 4)).view()),
        "row lengths of a and b must have the same shape, got [3] and [4]",
    );
}

#[test]
fn chi_squared_errors() {
    check(fast_chi_squared(&[], &[]), "chi-squared needs at least 1 points, got 0");
    check(fast_chi_squared(&[1.0, 2.0], &[1.0, -2.0]), "expected value at index 1 must be positive, got -2");
    check(fast_chi_squared(&[f64::NAN, 2.0], &[1.0, 2.0]), "observed at index 0 is not finite (NaN)");
    check(fast_chi_squared(&[1.0, 2.0], &[1.0, f64::INFINITY]), "expected at index 1 is not finite (inf)");
    check(
        chi_squared_weighted(&[1.0, 2.0], &[1.0, 2.0], &[1.0, 0.0]),
        "parameter sigma = 0 is invalid: it must be positive",
    );
    check(
        chi_squared_weighted_with_dof(&[1.0], &[1.0], &[1.0], 0),
        "parameter dof = 0 is invalid: it must be at least 1",
    );
    let observed = Array2::from_shape_vec((2, 2), vec![1.0, 1.0, 1.0, 1.0]).unwrap();
    let expected = Array2::from_shape_vec((2, 2), vec![1.0, 1.0, 1.0, 0.0]).unwrap();
    check(
        chi_squared_batch(observed.view(), expected.view()),
        "expected value at index [1, 1] must be positive, got 0",
    );
    check(
        chi_squared_batch(observed.view(), Array2::<f64>::ones((2, 3)).view()),
        "observed and expected must have the same shape, got [2, 2] and [2, 3]",
    );
}

#[test]
fn model_errors() {
    check(diffusion_coefficient(&[0.0, 1.0], f64::NAN, 0.5, 1.0), "parameter D0 = NaN is invalid: it must be finite");
    check(time_integral_matrix(&[1.0, f64::INFINITY]), "rate at index 1 is not finite (inf)");
    let theory = Array2::<f64>::ones((2, 3));
    check(
        solve_scaling_batch(theory.view(), Array2::<f64>::ones((3, 2)).view()),
        "theory and exp must have the same shape, got [2, 3] and [3, 2]",
    );
}

/// Sizes from users are checked before anything is allocated: a huge
/// `n_frames` is an error, never an abort or an out-of-memory kill.
#[test]
fn huge_models_are_errors_not_aborts() {
    let model = |n_frames: usize| ModelConfig {
        n_frames,
        dt: 0.1,
        wavevector_q: 0.0054,
        stator_rotor_gap: 2e6,
        mode: FlowMode::LaminarFlow,
        sinc: SincConvention::Normalized,
    };
    let params = [2e4, 0.3, 50.0, 2e-4, 0.25, 5e-5, 2.0];
    // 23 x 2^32 x 2^32 doubles: the element count overflows.
    check(
        c2_theory(&params, &[0.0; 23], &model(1 << 32)),
        "c2_theory of shape [23, 4294967296, 4294967296] is too large to allocate",
    );
    // 2^44 doubles (128 TiB): representable, and no machine gives it.
    check(
        c2_theory(&params, &[0.0], &model(1 << 22)),
        "c2_theory of shape [1, 4194304, 4194304] is too large to allocate",
    );
    // Invalid inputs are named first, whatever the size.
    check(c2_theory(&params[..3], &[0.0], &model(1 << 32)), "the model takes 7 parameters, got 3");
    check(c2_theory(&params, &[f64::NAN], &model(1 << 32)), "phi_deg at index 0 is not finite (NaN)");
    // No angle: an empty result, however long the time grid.
    assert_eq!(c2_theory(&params, &[], &model(1 << 22)).unwrap().shape(), &[0, 1 << 22, 1 << 22]);
    check(
        time_integral_matrix(&vec![1.0; 1 << 22]),
        "time integral matrix of shape [4194304, 4194304] is too large to allocate",
    );
}

#[test]
fn objective_errors() {
    let model = ModelConfig {
        n_frames: 4,
        dt: 0.1,
        wavevector_q: 0.0054,
        stator_rotor_gap: 2e6,
        mode: FlowMode::LaminarFlow,
        sinc: SincConvention::Normalized,
    };
    let config = ObjectiveConfig { model, sigma: SigmaRule::default() };
    let data = Array3::<f64>::ones((2, 4, 4));
    let phi = [0.0, 90.0];
    check(
        ChiSquaredObjective::new(data.view(), &[0.0], &[0], config),
        "c2_exp and (phi_deg, n_frames, n_frames) must have the same shape, got [2, 4, 4] and [1, 4, 4]",
    );
    check(
        ChiSquaredObjective::new(
            data.view(),
            &phi,
            &[0],
            ObjectiveConfig { model: ModelConfig { n_frames: 5, ..model }, ..config },
        ),
        "c2_exp and (phi_deg, n_frames, n_frames) must have the same shape, got [2, 4, 4] and [2, 5, 5]",
    );
    check(ChiSquaredObjective::new(data.view(), &phi, &[2], config), "angle index 2 is out of range for 2 angles");
    check(ChiSquaredObjective::new(data.view(), &phi, &[], config), "selected angles needs at least 1 points, got 0");
    check(
        ChiSquaredObjective::new(data.view(), &[0.0, f64::NAN], &[1], config),
        "phi_deg at index 1 is not finite (NaN)",
    );
    check(
        ChiSquaredObjective::new(
            data.view(),
            &phi,
            &[0],
            ObjectiveConfig { model: ModelConfig { dt: -0.1, ..model }, ..config },
        ),
        "parameter dt = -0.1 is invalid: it must be finite and positive",
    );
    let objective = ChiSquaredObjective::new(data.view(), &phi, &[0, 1], config).unwrap();
    check(objective.evaluate(&[1.0, 2.0]), "the model takes 7 parameters, got 2");
    check(
        objective.evaluate(&[1e4, 0.3, 50.0, f64::INFINITY, 0.2, 0.0, 0.0]),
        "parameter gamma0 = inf is invalid: it must be finite",
    );
}
