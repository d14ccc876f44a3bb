//! Bounded Levenberg-Marquardt over the physical parameters, on the
//! variable-projection normal equations of `normal.rs`.
//!
//! Each iteration has the normal equations `(H, g)` at the current point
//! (one derivative pass) and tries damped steps
//! `(H + lambda D^2) delta = -g` (`D^2` the largest diagonal of `H` seen so
//! far, Moré's scaling, so the damping is invariant to the parameters'
//! units) until one reduces `S` (one objective evaluation per try):
//! - bounds: a free parameter on a bound whose gradient points outward is
//!   held there (active); a step that would cross a bound is clipped to it
//!   and the others re-solved with that component fixed, so the step stays
//!   a minimiser of the damped model on the box's face;
//! - acceptance: the actual reduction over the model's predicted one above
//!   1e-4; the damping then follows Nielsen's rule
//!   (`lambda *= max(1/3, 1 - (2 ratio - 1)^3)`), and on rejection grows by a
//!   doubling factor.
//!
//! Convergence (the first that holds, as MINPACK states them):
//! - `gtol`: every inactive free parameter's gradient is below `gtol` times
//!   its scale, `|g_k| <= gtol sqrt(H_kk S)` (the cosine between the
//!   residuals and the Jacobian's column);
//! - `ftol`: an accepted step's actual and predicted relative reductions of
//!   `S` are both below `ftol`;
//! - `xtol`: an accepted step is small, `|D delta| <= xtol (|D x| + xtol)`;
//! - no reduction: the damping grew beyond 1e16 without an accepted step
//!   (the model's prediction is below rounding: a minimum to working precision).

use homodyne_kernels::{ChiSquaredObjective, NormalEquations, ObjectiveValue};

use crate::FitError;
use crate::linalg;
use crate::normal::Reduced;

/// Why a fit stopped (see the `levenberg` module for the criteria).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Termination {
    /// The gradient is below `gtol`.
    Gtol,
    /// Chi-squared changed by less than `ftol`.
    Ftol,
    /// The step was below `xtol`.
    Xtol,
    /// No step reduces chi-squared: a minimum to working precision.
    NoReduction,
    /// `max_iterations` ran out first: not converged.
    MaxIterations,
}

impl Termination {
    /// Whether the fit converged.
    pub fn success(self) -> bool {
        self != Termination::MaxIterations
    }
}

/// What stays fixed during one run: bounds, free parameters, tolerances.
pub(crate) struct Problem<'a> {
    pub(crate) bounds: &'a [(f64, f64)],
    pub(crate) free: &'a [usize],
    pub(crate) max_iterations: usize,
    pub(crate) ftol: f64,
    pub(crate) xtol: f64,
    pub(crate) gtol: f64,
    /// Points per angle, `N^2`.
    pub(crate) n_points: f64,
}

/// The end of one run.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) value: ObjectiveValue,
    /// The normal equations at `value`.
    pub(crate) normal: NormalEquations,
    pub(crate) termination: Termination,
    pub(crate) evaluations: usize,
    pub(crate) jacobians: usize,
    pub(crate) iterations: usize,
}

/// Damping beyond which a run stops: no step the model predicts is real.
const MAX_DAMPING: f64 = 1e16;

/// One run from `start` (inside the bounds).
pub(crate) fn run(objective: &ChiSquaredObjective<'_>, start: &[f64], problem: &Problem<'_>) -> Result<Run, FitError> {
    let n = start.len();
    let mut value = objective.evaluate(start)?;
    let mut normal = NormalEquations::default();
    let (mut evaluations, mut jacobians, mut iterations) = (1, 0, 0);
    let mut scale = vec![0.0_f64; n];
    let (mut damping, mut growth) = (1e-3, 2.0);
    let termination = loop {
        objective.normal_equations_into(&value, &mut normal)?;
        jacobians += 1;
        let reduced = Reduced::new(&normal, n, problem.n_points);
        let chi2 = reduced.chi2;
        for &k in problem.free {
            scale[k] = scale[k].max(reduced.matrix[k * n + k]);
        }
        let inactive: Vec<usize> = problem
            .free
            .iter()
            .copied()
            .filter(|&k| !held_at_bound(value.params[k], reduced.gradient[k], problem.bounds[k]) && scale[k] > 0.0)
            .collect();
        let gradient_scale = |k: usize| (reduced.matrix[k * n + k] * chi2).sqrt();
        if inactive.iter().all(|&k| reduced.gradient[k].abs() <= problem.gtol * gradient_scale(k)) {
            break Termination::Gtol;
        }
        if iterations >= problem.max_iterations {
            break Termination::MaxIterations;
        }
        iterations += 1;
        // Damped steps until one reduces chi2.
        let accepted = loop {
            if damping > MAX_DAMPING {
                break None;
            }
            let delta = projected_step(&reduced, &value.params, &inactive, problem.bounds, &scale, damping);
            let predicted = predicted_reduction(&reduced, &delta);
            // NaN included.
            if predicted.is_nan() || predicted <= 0.0 {
                damping *= growth;
                growth *= 2.0;
                continue;
            }
            let trial: Vec<f64> = value.params.iter().zip(&delta).map(|(x, d)| x + d).collect();
            let trial_value = objective.evaluate(&trial)?;
            evaluations += 1;
            let actual = chi2 - trial_value.chi2_total;
            let ratio = actual / predicted;
            if ratio > 1e-4 {
                damping *= (1.0 - (2.0 * ratio - 1.0).powi(3)).max(1.0 / 3.0);
                growth = 2.0;
                break Some((trial_value, delta, actual, predicted));
            }
            damping *= growth;
            growth *= 2.0;
        };
        let Some((trial_value, delta, actual, predicted)) = accepted else {
            break Termination::NoReduction;
        };
        let step_norm = weighted_norm(&delta, &scale);
        let position_norm = weighted_norm(&value.params, &scale);
        value = trial_value;
        if actual <= problem.ftol * chi2 && predicted <= problem.ftol * chi2 {
            refresh(objective, &value, &mut normal, &mut jacobians)?;
            break Termination::Ftol;
        }
        if step_norm <= problem.xtol * (position_norm + problem.xtol) {
            refresh(objective, &value, &mut normal, &mut jacobians)?;
            break Termination::Xtol;
        }
    };
    Ok(Run { value, normal, termination, evaluations, jacobians, iterations })
}

/// The normal equations at `value` (after a last accepted step).
fn refresh(
    objective: &ChiSquaredObjective<'_>,
    value: &ObjectiveValue,
    normal: &mut NormalEquations,
    jacobians: &mut usize,
) -> Result<(), FitError> {
    objective.normal_equations_into(value, normal)?;
    *jacobians += 1;
    Ok(())
}

/// Whether parameter `x` sits on a bound that its descent direction `-g` points out of.
fn held_at_bound(x: f64, gradient: f64, (lower, upper): (f64, f64)) -> bool {
    (x <= lower && gradient > 0.0) || (x >= upper && gradient < 0.0)
}

/// `|D v|` with `D^2 = scale`.
fn weighted_norm(values: &[f64], scale: &[f64]) -> f64 {
    values.iter().zip(scale).map(|(v, s)| v * v * s).sum::<f64>().sqrt()
}

/// The model's reduction of `S` for the step `delta`: `-(2 g^T delta + delta^T H delta)`.
fn predicted_reduction(reduced: &Reduced, delta: &[f64]) -> f64 {
    let n = reduced.n;
    let linear: f64 = reduced.gradient.iter().zip(delta).map(|(g, d)| g * d).sum();
    let quadratic: f64 =
        (0..n).map(|k| delta[k] * (0..n).map(|l| reduced.matrix[k * n + l] * delta[l]).sum::<f64>()).sum();
    -(2.0 * linear + quadratic)
}

/// The damped step over the `inactive` parameters, clipped to the bounds:
/// each parameter that would cross a bound is set on it and the rest are
/// solved again with it fixed, until none crosses.
fn projected_step(
    reduced: &Reduced,
    x: &[f64],
    inactive: &[usize],
    bounds: &[(f64, f64)],
    scale: &[f64],
    damping: f64,
) -> Vec<f64> {
    let n = reduced.n;
    let mut delta = vec![0.0; n];
    let mut solving: Vec<usize> = inactive.to_vec();
    let mut clipped: Vec<usize> = Vec::new();
    loop {
        // (H_SS + lambda D_S^2) delta_S = -g_S - H_SC delta_C, scaled to a unit diagonal.
        let m = solving.len();
        let root: Vec<f64> = solving.iter().map(|&k| scale[k].sqrt()).collect();
        let mut system = vec![0.0; m * m];
        let mut rhs = vec![0.0; m];
        for (a, &k) in solving.iter().enumerate() {
            let mut b = -reduced.gradient[k];
            for &c in &clipped {
                b -= reduced.matrix[k * n + c] * delta[c];
            }
            rhs[a] = b / root[a];
            for (bb, &l) in solving.iter().enumerate() {
                system[a * m + bb] = reduced.matrix[k * n + l] / (root[a] * root[bb]);
            }
            system[a * m + a] += damping;
        }
        match linalg::cholesky(&system, m) {
            Some(l) => linalg::cholesky_solve(&l, m, &mut rhs),
            // Not positive definite even damped (rounding in a singular H):
            // no step; the caller raises the damping.
            None => rhs.fill(0.0),
        }
        let mut crossed = Vec::new();
        for (a, &k) in solving.iter().enumerate() {
            delta[k] = rhs[a] / root[a];
            let (lower, upper) = bounds[k];
            let target = x[k] + delta[k];
            if target < lower || target > upper {
                delta[k] = target.clamp(lower, upper) - x[k];
                crossed.push(k);
            }
        }
        if crossed.is_empty() {
            return delta;
        }
        solving.retain(|k| !crossed.contains(k));
        clipped.extend(crossed);
        if solving.is_empty() {
            return delta;
        }
    }
}
