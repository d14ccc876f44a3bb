//! Time to a fit with error bars, beside what one evaluation and one
//! gradient cost on the same data.
//!
//! `cargo bench -p homodyne-fit`. The cases are the issue's: static, 3
//! angles x 200 frames; laminar flow, 23 angles x 200 and x 1000 frames; 1%
//! Gaussian noise, every parameter started 30% off. `fit` is the whole fit
//! (validation, every iteration, the covariance); `evaluate` and
//! `value_and_gradient` on the same objective give the fit's cost in
//! evaluations and the gradient's (`bench/peers/fit_peers.py` times scipy's
//! Nelder-Mead and least squares on the same objective from Python).

use divan::Bencher;
use homodyne_fit::{FitConfig, fit};
use homodyne_kernels::{
    ChiSquaredObjective, FlowMode, ModelConfig, ObjectiveConfig, SigmaRule, SincConvention, c2_theory,
};
use homodyne_testkit::{PinnedPool, uniform};
use ndarray::Array3;

fn main() {
    divan::main();
}

const TRUTH: [f64; 7] = [1e4, 0.5, 50.0, 5e-5, 0.5, 1e-5, 5.0];
const BOUNDS: [(f64, f64); 7] =
    [(1.0, 1e6), (-2.0, 2.0), (-1e4, 1e4), (1e-6, 1.0), (-2.0, 2.0), (-0.01, 0.01), (-10.0, 10.0)];

/// The cases, by name: (mode, angles, frames).
const CASES: [(&str, FlowMode, usize, usize); 3] = [
    ("static_3x200", FlowMode::Static, 3, 200),
    ("laminar_23x200", FlowMode::LaminarFlow, 23, 200),
    ("laminar_23x1000", FlowMode::LaminarFlow, 23, 1000),
];

struct Case {
    data: Array3<f64>,
    phi: Vec<f64>,
    config: ObjectiveConfig,
    truth: Vec<f64>,
}

fn case(name: &str) -> Case {
    let &(_, mode, n_angles, n_frames) = CASES.iter().find(|case| case.0 == name).expect("a case");
    let model = ModelConfig {
        n_frames,
        dt: 0.1,
        wavevector_q: 0.0054,
        stator_rotor_gap: 2e6,
        mode,
        sinc: SincConvention::Unnormalized,
    };
    let phi: Vec<f64> = (0..n_angles).map(|a| -172.0 + 344.0 * a as f64 / (n_angles - 1) as f64).collect();
    let truth = TRUTH[..mode.n_params()].to_vec();
    let mut data = c2_theory(&truth, &phi, &model).expect("valid model");
    // Gaussian noise (Box-Muller), row by row: the largest case holds 184 MB.
    for (row_idx, mut row) in data.rows_mut().into_iter().enumerate() {
        let u = uniform(2 * n_frames, 17 + row_idx as u64);
        for (value, pair) in row.iter_mut().zip(u.chunks(2)) {
            let normal = (-2.0 * (1.0 - pair[0]).ln()).sqrt() * (2.0 * std::f64::consts::PI * pair[1]).cos();
            *value = 1.0 + 0.25 * *value + 0.01 * normal;
        }
    }
    Case { data, phi, config: ObjectiveConfig { model, sigma: SigmaRule::default() }, truth }
}

fn objective(case: &Case) -> ChiSquaredObjective<'_> {
    let selected: Vec<usize> = (0..case.phi.len()).collect();
    ChiSquaredObjective::new(case.data.view(), &case.phi, &selected, case.config).expect("valid data")
}

/// The whole fit, from 30% off.
#[divan::bench(args = ["static_3x200", "laminar_23x200", "laminar_23x1000"], sample_count = 5)]
fn time_to_fit(bencher: Bencher<'_, '_>, name: &str) {
    let case = case(name);
    let objective = objective(&case);
    let n = case.truth.len();
    let x0: Vec<f64> = case.truth.iter().map(|v| v * 1.3).collect();
    let options = FitConfig { bounds: BOUNDS[..n].to_vec(), ..FitConfig::default() };
    let pool = PinnedPool::new();
    bencher.bench_local(|| pool.run(|| fit(&objective, divan::black_box(&x0), &options).map(|result| result.chi2)));
}

/// One evaluation of the objective at the start.
#[divan::bench(args = ["static_3x200", "laminar_23x200", "laminar_23x1000"], sample_count = 10)]
fn evaluate(bencher: Bencher<'_, '_>, name: &str) {
    let case = case(name);
    let objective = objective(&case);
    let x0: Vec<f64> = case.truth.iter().map(|v| v * 1.3).collect();
    let mut value = homodyne_kernels::ObjectiveValue::default();
    let pool = PinnedPool::new();
    bencher.bench_local(|| pool.run(|| objective.evaluate_into(divan::black_box(&x0), &mut value)));
}

/// The value and its gradient at the start (what scipy's `jac=True` asks for).
#[divan::bench(args = ["static_3x200", "laminar_23x200", "laminar_23x1000"], sample_count = 10)]
fn value_and_gradient(bencher: Bencher<'_, '_>, name: &str) {
    let case = case(name);
    let objective = objective(&case);
    let x0: Vec<f64> = case.truth.iter().map(|v| v * 1.3).collect();
    let pool = PinnedPool::new();
    bencher
        .bench_local(|| pool.run(|| objective.value_and_gradient(divan::black_box(&x0)).map(|(_, gradient)| gradient)));
}
