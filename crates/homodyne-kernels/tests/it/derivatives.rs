//! The objective's derivatives against an independent reference: the
//! naive, materialised objective evaluated in complex arithmetic, whose
//! complex-step derivative `Im f(p + i h e_k) / h` is exact to rounding (no
//! difference quotient, no cancellation); and against central finite
//! differences of the fused objective itself.

use homodyne_kernels::{
    ChiSquaredObjective, FlowMode, KernelError, ModelConfig, NormalEquations, ObjectiveConfig, ObjectiveValue,
    SigmaRule, SincConvention, c2_theory, time_grid,
};
use ndarray::{Array2, Array3};
use proptest::prelude::*;

use crate::uniform;
use crate::vectors::{indices, objective_config, objective_vectors};
use crate::{cube, numbers};

/// A complex number: just what the model needs.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Complex {
    re: f64,
    im: f64,
}

impl Complex {
    const fn real(re: f64) -> Complex {
        Complex { re, im: 0.0 }
    }
    fn add(self, other: Complex) -> Complex {
        Complex { re: self.re + other.re, im: self.im + other.im }
    }
    fn sub(self, other: Complex) -> Complex {
        Complex { re: self.re - other.re, im: self.im - other.im }
    }
    fn mul(self, other: Complex) -> Complex {
        Complex { re: self.re * other.re - self.im * other.im, im: self.re * other.im + self.im * other.re }
    }
    fn scale(self, factor: f64) -> Complex {
        Complex { re: self.re * factor, im: self.im * factor }
    }
    fn div(self, other: Complex) -> Complex {
        let norm = other.re * other.re + other.im * other.im;
        Complex {
            re: (self.re * other.re + self.im * other.im) / norm,
            im: (self.im * other.re - self.re * other.im) / norm,
        }
    }
    fn exp(self) -> Complex {
        let magnitude = self.re.exp();
        Complex { re: magnitude * self.im.cos(), im: magnitude * self.im.sin() }
    }
    fn sin(self) -> Complex {
        Complex { re: self.re.sin() * self.im.cosh(), im: self.re.cos() * self.im.sinh() }
    }
    fn cos(self) -> Complex {
        Complex { re: self.re.cos() * self.im.cosh(), im: -self.re.sin() * self.im.sinh() }
    }
    /// `t^self` for a real `t >= 0`.
    fn power_of(self, t: f64) -> Complex {
        if t == 0.0 { Complex::real(0.0_f64.powf(self.re)) } else { self.scale(t.ln()).exp() }
    }
}

/// `sin(x) / x`, with its series near 0 (the quotient cancels there).
fn sinc(x: Complex) -> Complex {
    if x.re.abs() < 1e-3 {
        let x2 = x.mul(x);
        let mut term = Complex::real(1.0);
        let mut sum = Complex::real(1.0);
        for k in 1..8 {
            term = term.mul(x2).scale(-1.0 / f64::from((2 * k) * (2 * k + 1)));
            sum = sum.add(term);
        }
        sum
    } else {
        x.sin().div(x)
    }
}

/// v1's rate with its rules, in complex arithmetic (the rules compare real parts).
fn rate(t: f64, prefactor: Complex, exponent: Complex, offset: Complex, floor: f64) -> Complex {
    let value = if exponent.re < 0.0 && t <= 1e-10 { offset } else { prefactor.mul(exponent.power_of(t)).add(offset) };
    if value.re < floor { Complex::real(floor) } else { value }
}

/// The materialised theory of every angle, complex: `(A, N, N)` row-major.
fn theory(params: &[Complex], phi: &[f64], model: &ModelConfig) -> Vec<Complex> {
    let n = model.n_frames;
    let time = time_grid(n, model.dt);
    let cumulative = |values: Vec<Complex>| {
        let mut running = Complex::real(0.0);
        values
            .into_iter()
            .map(|value| {
                running = running.add(value);
                running
            })
            .collect::<Vec<_>>()
    };
    let diffusion = cumulative(time.iter().map(|&t| rate(t, params[0], params[1], params[2], 1e-10)).collect());
    let laminar = model.mode == FlowMode::LaminarFlow && params[3..6].iter().any(|p| p.re.abs() >= 1e-10);
    let shear = if laminar {
        cumulative(time.iter().map(|&t| rate(t, params[3], params[4], params[5], 0.0)).collect())
    } else {
        vec![Complex::real(0.0); n]
    };
    let base = match model.sinc {
        SincConvention::Normalized => std::f64::consts::PI * model.sinc_prefactor(),
        SincConvention::Unnormalized => model.sinc_prefactor(),
    };
    let mut out = Vec::with_capacity(phi.len() * n * n);
    for &angle in phi {
        let scale = if laminar {
            params[6].sub(Complex::real(angle)).scale(std::f64::consts::PI / 180.0).cos().scale(base)
        } else {
            Complex::real(0.0)
        };
        for i in 0..n {
            for j in 0..n {
                let span = diffusion[i].sub(diffusion[j]);
                let span = if span.re < 0.0 { span.scale(-1.0) } else { span };
                let g1 = span.scale(-model.g1_prefactor()).exp();
                let factor = if laminar {
                    let s = sinc(scale.mul(shear[i].sub(shear[j])));
                    s.mul(s)
                } else {
                    Complex::real(1.0)
                };
                let damped = factor.mul(g1);
                out.push(damped.mul(damped));
            }
        }
    }
    out
}

/// The naive objective (mean reduced chi-squared over `selected`), complex.
fn objective(
    params: &[Complex],
    c2_exp: &Array3<f64>,
    phi: &[f64],
    selected: &[usize],
    model: &ModelConfig,
) -> Complex {
    let n = model.n_frames;
    let points = n * n;
    let theory = theory(params, phi, model);
    let dof = (points.saturating_sub(model.mode.n_params())).max(1) as f64;
    let mut total = Complex::real(0.0);
    for &angle in selected {
        let t = &theory[angle * points..(angle + 1) * points];
        let e: Vec<f64> = c2_exp.index_axis(ndarray::Axis(0), angle).iter().copied().collect();
        let sum = |values: &mut dyn Iterator<Item = Complex>| values.fold(Complex::real(0.0), Complex::add);
        let sum_t = sum(&mut t.iter().copied());
        let sum_tt = sum(&mut t.iter().map(|v| v.mul(*v)));
        let sum_e = Complex::real(e.iter().sum());
        let sum_te = sum(&mut t.iter().zip(&e).map(|(v, &e)| v.scale(e)));
        let p = Complex::real(points as f64);
        let det = p.mul(sum_tt).sub(sum_t.mul(sum_t));
        let contrast = p.mul(sum_te).sub(sum_t.mul(sum_e)).div(det);
        let offset = sum_tt.mul(sum_e).sub(sum_t.mul(sum_te)).div(det);
        let residual = sum(&mut t.iter().zip(&e).map(|(v, &e)| {
            let r = Complex::real(e).sub(contrast.mul(*v)).sub(offset);
            r.mul(r)
        }));
        let mean = e.iter().sum::<f64>() / points as f64;
        let std = (e.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / points as f64).sqrt();
        let sigma = (0.1 * std).max(1e-10);
        total = total.add(residual.scale(1.0 / (sigma * sigma * dof)));
    }
    total.scale(1.0 / selected.len() as f64)
}

/// Complex-step step for parameter `value`: tiny, so that `h^2` terms vanish entirely.
fn step(value: f64) -> f64 {
    1e-30 * value.abs().max(1e-10)
}

/// The reference gradient by complex steps.
fn reference_gradient(
    params: &[f64],
    c2_exp: &Array3<f64>,
    phi: &[f64],
    selected: &[usize],
    model: &ModelConfig,
) -> Vec<f64> {
    (0..params.len())
        .map(|k| {
            let h = step(params[k]);
            let shifted: Vec<Complex> =
                params.iter().enumerate().map(|(l, &p)| Complex { re: p, im: if l == k { h } else { 0.0 } }).collect();
            objective(&shifted, c2_exp, phi, selected, model).im / h
        })
        .collect()
}

/// Each component within `rel` of the reference, or (for components that are
/// 0 up to rounding) within `rel` of the largest `|g_k p_k| / |p_k|`.
fn check_gradient(what: &str, got: &[f64], expected: &[f64], params: &[f64], rel: f64) {
    let (all_got, all_expected) = (got, expected);
    let largest = expected.iter().zip(params).map(|(g, p)| (g * p).abs()).fold(0.0, f64::max);
    for (k, ((&got, &expected), &param)) in got.iter().zip(expected).zip(params).enumerate() {
        let floor = 1e-3 * largest / param.abs().max(1e-300);
        let tolerance = rel * expected.abs().max(floor.min(f64::MAX));
        assert!(
            (got - expected).abs() <= tolerance,
            "{what}: d/dp[{k}] = {got:e}, reference {expected:e} (tolerance {tolerance:e}); all: {all_got:?} vs {all_expected:?}",
        );
    }
}

fn model(n_frames: usize, mode: FlowMode, sinc: SincConvention) -> ModelConfig {
    ModelConfig { n_frames, dt: 0.1, wavevector_q: 0.0054, stator_rotor_gap: 2e6, mode, sinc }
}

const TRUTH: [f64; 7] = [2e4, 0.3, 50.0, 2e-4, 0.25, 5e-5, 2.0];

/// Data from the model at `truth`, contrast 0.3, offset 1, uniform noise.
fn data(truth: &[f64], phi: &[f64], config: &ModelConfig, noise: f64, seed: u64) -> Array3<f64> {
    let mut c2 = c2_theory(truth, phi, config).unwrap();
    let u = uniform(c2.len(), seed);
    c2.iter_mut().zip(u).for_each(|(value, u)| *value = 0.3 * *value + 1.0 + noise * (u - 0.5));
    c2
}

fn objective_of<'a>(
    c2_exp: &'a Array3<f64>,
    phi: &[f64],
    selected: &[usize],
    config: ModelConfig,
) -> ChiSquaredObjective<'a> {
    ChiSquaredObjective::new(
        c2_exp.view(),
        phi,
        selected,
        ObjectiveConfig { model: config, sigma: SigmaRule::default() },
    )
    .unwrap()
}

/// Gradient and normal equations of the fused kernels against the complex-step reference.
fn check_case(
    what: &str,
    c2_exp: &Array3<f64>,
    phi: &[f64],
    selected: &[usize],
    config: ModelConfig,
    params: &[f64],
    rel: f64,
) {
    let objective = objective_of(c2_exp, phi, selected, config);
    let (value, gradient) = objective.value_and_gradient(params).unwrap();
    let expected = reference_gradient(params, c2_exp, phi, selected, &config);
    check_gradient(what, &gradient, &expected, params, rel);
    // The normal equations' residual sums give the same gradient.
    let normal = objective.normal_equations(&value).unwrap();
    let dof = (config.n_frames * config.n_frames).saturating_sub(params.len()).max(1) as f64;
    let from_normal: Vec<f64> = (0..params.len())
        .map(|k| {
            normal
                .angles
                .iter()
                .map(|angle| -2.0 * angle.fit.contrast * angle.residual[k] / (angle.fit.sigma.powi(2) * dof))
                .sum::<f64>()
                / selected.len() as f64
        })
        .collect();
    check_gradient(&format!("{what} (normal equations)"), &from_normal, &expected, params, rel);
    check_normal_equations(what, &objective, &value, &normal, c2_exp, phi, selected, &config, rel);
}

/// Every sum of the normal equations against the per-element complex-step
/// derivatives of the materialised theory.
#[expect(clippy::too_many_arguments, reason = "the case's inputs, each needed by the reference")]
fn check_normal_equations(
    what: &str,
    objective: &ChiSquaredObjective<'_>,
    value: &ObjectiveValue,
    normal: &NormalEquations,
    c2_exp: &Array3<f64>,
    phi: &[f64],
    selected: &[usize],
    config: &ModelConfig,
    rel: f64,
) {
    let params = &value.params;
    let n = config.n_frames;
    let points = n * n;
    let n_params = params.len();
    let real: Vec<Complex> = params.iter().map(|&p| Complex::real(p)).collect();
    let base = theory(&real, phi, config);
    let derivatives: Vec<Vec<f64>> = (0..n_params)
        .map(|k| {
            let h = step(params[k]);
            let mut shifted = real.clone();
            shifted[k].im = h;
            theory(&shifted, phi, config).iter().map(|v| v.im / h).collect()
        })
        .collect();
    for (position, (&angle, got)) in selected.iter().zip(&normal.angles).enumerate() {
        let fit = &value.angles[position];
        let e: Vec<f64> = c2_exp.index_axis(ndarray::Axis(0), angle).iter().copied().collect();
        let sum = |f: &dyn Fn(usize) -> f64| (0..points).map(f).sum::<f64>();
        let dt = |k: usize, flat: usize| derivatives[k][angle * points + flat];
        let t = |flat: usize| base[angle * points + flat].re;
        for k in 0..n_params {
            let scale_k = sum(&|f| dt(k, f).abs()).max(1e-300);
            let residual = sum(&|f| dt(k, f) * (e[f] - fit.contrast * t(f) - fit.offset));
            let residual_scale = sum(&|f| (dt(k, f) * (e[f] - fit.contrast * t(f) - fit.offset)).abs()).max(1e-300);
            let checks = [
                ("residual", got.residual[k], residual, residual_scale),
                ("theory", got.theory[k], sum(&|f| dt(k, f) * t(f)), scale_k),
                ("one", got.one[k], sum(&|f| dt(k, f)), scale_k),
            ];
            for (name, got, expected, scale) in checks {
                assert!(
                    (got - expected).abs() <= rel * scale,
                    "{what}, angle {angle}: sum {name} dT/dp[{k}] = {got:e}, reference {expected:e}"
                );
            }
            for l in 0..n_params {
                let expected = sum(&|f| dt(k, f) * dt(l, f));
                let scale = sum(&|f| (dt(k, f) * dt(l, f)).abs()).max(1e-300);
                let got = got.products[k * n_params + l];
                assert!(
                    (got - expected).abs() <= rel * scale,
                    "{what}, angle {angle}: sum dT/dp[{k}] dT/dp[{l}] = {got:e}, reference {expected:e}"
                );
            }
        }
        // The chunked form: residuals and Jacobian rows of a few frames.
        let rows = n / 3..n;
        let values = rows.len() * n;
        let mut residuals = vec![0.0; values];
        let mut jacobian = Array2::zeros((values, n_params));
        objective
            .residuals_and_jacobian_into(value, position, rows.clone(), &mut residuals, jacobian.view_mut())
            .unwrap();
        for (chunk, flat) in (rows.start * n..rows.end * n).enumerate() {
            let expected = (e[flat] - fit.contrast * t(flat) - fit.offset) / fit.sigma;
            assert!(
                (residuals[chunk] - expected).abs() <= 1e-12 * (e[flat].abs() / fit.sigma),
                "{what}: residual {flat}"
            );
            for k in 0..n_params {
                let expected = -fit.contrast * dt(k, flat) / fit.sigma;
                let scale = (0..points).map(|f| dt(k, f).abs()).fold(0.0, f64::max) * fit.contrast.abs() / fit.sigma;
                assert!(
                    (jacobian[[chunk, k]] - expected).abs() <= 1e-9 * scale.max(1e-300),
                    "{what}: Jacobian [{flat}, {k}]: {} vs {expected}",
                    jacobian[[chunk, k]]
                );
            }
        }
    }
}

/// The v1 vectors (laminar flow, normalised sinc): every case, all angles
/// and the filtered ones, at the evaluation parameters.
#[test]
fn the_gradient_matches_the_complex_step_reference_on_v1_vectors() {
    let document = objective_vectors();
    for case in document["cases"].as_array().unwrap() {
        let label = case["label"].as_str().unwrap();
        let config = objective_config(case).model;
        let c2_exp = cube(&case["c2_exp"]);
        let phi = numbers(&case["phi_deg"]);
        let params = numbers(&case["eval_params"]);
        for selection in ["all_indices", "filtered_indices"] {
            let selected = indices(&case[selection]);
            check_case(&format!("{label}, {selection}"), &c2_exp, &phi, &selected, config, &params, 1e-8);
        }
    }
}

/// Static mode, unnormalised sinc, sizes around the block of 16, and the kinks:
/// clamped rates, a dropped power term at t = 0, small sinc arguments, the
/// direct (unfactorised) path, and laminar flow with the shear switched off.
#[test]
fn the_gradient_holds_at_the_kinks_and_in_every_mode() {
    let phi = [-8.0, 0.0, 45.0, 92.0, 178.0];
    let cases: Vec<(&str, FlowMode, SincConvention, usize, Vec<f64>)> = vec![
        ("static", FlowMode::Static, SincConvention::Normalized, 20, vec![2.1e4, 0.28, 45.0]),
        ("static, 37 frames", FlowMode::Static, SincConvention::Unnormalized, 37, vec![1.5e4, 0.35, 60.0]),
        (
            "laminar, unnormalised",
            FlowMode::LaminarFlow,
            SincConvention::Unnormalized,
            33,
            vec![2.2e4, 0.27, 55.0, 2.2e-4, 0.22, 4e-5, 1.0],
        ),
        (
            "negative exponents",
            FlowMode::LaminarFlow,
            SincConvention::Normalized,
            17,
            vec![2.0e4, -0.4, 50.0, 2e-4, -0.3, 5e-5, 2.0],
        ),
        // D0 t^alpha + D_offset below 1e-10 at the first frames: clamped.
        (
            "clamped diffusion",
            FlowMode::LaminarFlow,
            SincConvention::Normalized,
            20,
            vec![2e2, 1.0, -50.0, 2e-4, 0.25, 5e-5, 2.0],
        ),
        // gamma below 0 at the first frames: clamped to 0.
        (
            "clamped shear",
            FlowMode::LaminarFlow,
            SincConvention::Normalized,
            20,
            vec![2e4, 0.3, 50.0, 2e-4, 1.0, -1e-4, 2.0],
        ),
        // phi0 - phi near 90 degrees for one angle: its sinc arguments are tiny.
        (
            "small sinc arguments",
            FlowMode::LaminarFlow,
            SincConvention::Unnormalized,
            20,
            vec![2e4, 0.3, 50.0, 2e-4, 0.25, 5e-5, 2.0 - 0.0],
        ),
        // k (C_N - C_0) far above 700: one exp per element, underflowing blocks skipped.
        (
            "direct path",
            FlowMode::LaminarFlow,
            SincConvention::Normalized,
            40,
            vec![4e7, 0.5, 10.0, 1e-3, 0.5, 1e-5, 1.0],
        ),
    ];
    for (what, mode, sinc, n_frames, params) in cases {
        let config = model(n_frames, mode, sinc);
        let truth = &TRUTH[..mode.n_params()];
        let c2_exp = data(truth, &phi, &config, 1e-3, n_frames as u64);
        check_case(what, &c2_exp, &phi, &[0, 1, 2, 3, 4], config, &params, 1e-8);
        check_case(&format!("{what}, filtered"), &c2_exp, &phi, &[1, 4], config, &params, 1e-8);
    }
    // The shear switched off inside laminar mode: its derivatives are 0 (the
    // model is flat there), the others are the static model's.
    let config = model(20, FlowMode::LaminarFlow, SincConvention::Normalized);
    let c2_exp = data(&TRUTH, &phi, &config, 1e-3, 5);
    let objective = objective_of(&c2_exp, &phi, &[0, 1, 2, 3, 4], config);
    let params = [2e4, 0.3, 50.0, 0.0, 0.0, 0.0, 2.0];
    let (_, gradient) = objective.value_and_gradient(&params).unwrap();
    assert_eq!(&gradient[3..], &[0.0; 4]);
    let expected = reference_gradient(&params, &c2_exp, &phi, &[0, 1, 2, 3, 4], &config);
    check_gradient("shear off", &gradient[..3], &expected[..3], &params[..3], 1e-8);
}

/// Above 512 frames the gradient streams rows (row and column sums)
/// instead of blocks: the same checks there, in both modes.
#[test]
fn the_streaming_gradient_beyond_512_frames_matches_the_reference() {
    let phi = [10.0, 95.0];
    for (mode, params) in [
        (FlowMode::LaminarFlow, vec![2.2e4, 0.27, 55.0, 2.2e-4, 0.22, 4e-5, 1.0]),
        (FlowMode::Static, vec![2.2e4, 0.27, 55.0]),
    ] {
        let config = model(520, mode, SincConvention::Normalized);
        let c2_exp = data(&TRUTH[..mode.n_params()], &phi, &config, 1e-3, 11);
        let objective = objective_of(&c2_exp, &phi, &[0, 1], config);
        let (_, gradient) = objective.value_and_gradient(&params).unwrap();
        // The complex-step reference of the gradient (the per-element checks
        // of the normal equations run at the smaller sizes: here they would
        // take minutes).
        let expected = reference_gradient(&params, &c2_exp, &phi, &[0, 1], &config);
        check_gradient(&format!("{mode:?}, 520 frames"), &gradient, &expected, &params, 1e-8);
    }
}

/// Central differences of the fused objective itself, each with the bound
/// of its own error: truncation (`h^2 f''' / 6`, about 1e-10 relative at
/// these steps) is small beside rounding, `eps_f |f| / h`, where the
/// objective's closed form is taken as accurate to `eps_f = 1e-12` relative.
fn central_differences(objective: &ChiSquaredObjective<'_>, params: &[f64]) -> Vec<(f64, f64)> {
    let value = objective.evaluate(params).unwrap().value;
    (0..params.len())
        .map(|k| {
            let h = 1e-5 * params[k].abs().max(1e-3);
            let mut plus = params.to_vec();
            let mut minus = params.to_vec();
            plus[k] += h;
            minus[k] -= h;
            let difference = objective.evaluate(&plus).unwrap().value - objective.evaluate(&minus).unwrap().value;
            (difference / (2.0 * h), 1e-12 * value.abs() / h)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_gradient_agrees_with_central_differences(
        n_frames in prop::sample::select(vec![3usize, 16, 17, 31]),
        laminar in any::<bool>(),
        normalized in any::<bool>(),
        d0 in 5e3..5e4f64,
        alpha in 0.1..0.6f64,
        d_offset in 10.0..100.0f64,
        gamma0 in 1e-4..4e-4f64,
        beta in 0.1..0.5f64,
        gamma_offset in 1e-5..1e-4f64,
        phi0 in -10.0..10.0f64,
    ) {
        let mode = if laminar { FlowMode::LaminarFlow } else { FlowMode::Static };
        let sinc = if normalized { SincConvention::Normalized } else { SincConvention::Unnormalized };
        let params = [d0, alpha, d_offset, gamma0, beta, gamma_offset, phi0][..mode.n_params()].to_vec();
        let config = model(n_frames, mode, sinc);
        let phi = [-5.0, 30.0, 175.0];
        let c2_exp = data(&TRUTH[..mode.n_params()], &phi, &config, 1e-2, 7);
        let objective = objective_of(&c2_exp, &phi, &[0, 1, 2], config);
        let (_, gradient) = objective.value_and_gradient(&params).unwrap();
        for (k, (&got, (expected, rounding))) in gradient.iter().zip(central_differences(&objective, &params)).enumerate() {
            let tolerance = 1e-6 * expected.abs() + rounding;
            prop_assert!((got - expected).abs() <= tolerance, "d/dp[{}] = {:e}, central difference {:e} (tolerance {:e})", k, got, expected, tolerance);
        }
    }
}

#[test]
fn an_evaluation_of_another_objective_is_an_error() {
    let config = model(20, FlowMode::LaminarFlow, SincConvention::Normalized);
    let phi = [0.0, 10.0, 20.0];
    let c2_exp = data(&TRUTH, &phi, &config, 1e-3, 1);
    let all = objective_of(&c2_exp, &phi, &[0, 1, 2], config);
    let two = objective_of(&c2_exp, &phi, &[0, 2], config);
    let value = all.evaluate(&TRUTH).unwrap();
    assert!(matches!(two.gradient(&value), Err(KernelError::LengthMismatch { .. })));
    assert!(matches!(two.normal_equations(&value), Err(KernelError::LengthMismatch { .. })));
    let mut short = vec![0.0; 3];
    assert!(matches!(all.gradient_into(&value, &mut short), Err(KernelError::LengthMismatch { .. })));
    let mut residuals = vec![0.0; 40];
    let mut jacobian = Array2::zeros((40, 7));
    assert!(matches!(
        all.residuals_and_jacobian_into(&value, 3, 0..2, &mut residuals, jacobian.view_mut()),
        Err(KernelError::AngleIndexOutOfRange { index: 3, n_angles: 3 })
    ));
    assert!(matches!(
        all.residuals_and_jacobian_into(&value, 0, 19..21, &mut residuals, jacobian.view_mut()),
        Err(KernelError::LengthMismatch { .. })
    ));
    // A default (never evaluated) value has no parameters.
    assert!(all.gradient(&ObjectiveValue::default()).is_err());
}
