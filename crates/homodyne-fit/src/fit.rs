//! The fit's API: options, validation, multistart, and the result with its
//! uncertainties.

use homodyne_kernels::{ChiSquaredObjective, FlowMode};
use rayon::prelude::*;

use crate::FitError;
use crate::levenberg::{self, Problem, Run, Termination};
use crate::normal::{self, Covariance, Reduced};

/// The physical parameters' names, in the model's order (the first three in static mode).
pub const PARAMETER_NAMES: [&str; 7] = ["D0", "alpha", "D_offset", "gamma0", "beta", "gamma_offset", "phi0"];

/// Options of [`fit`]. The defaults fit every parameter without bounds to
/// a relative precision of about 1e-10 in chi-squared.
#[derive(Debug, Clone, PartialEq)]
pub struct FitConfig {
    /// Inclusive `(lower, upper)` per parameter (infinite for none), or
    /// empty for no bounds at all.
    pub bounds: Vec<(f64, f64)>,
    /// Per parameter, whether it stays at its starting value; empty for none.
    pub fixed: Vec<bool>,
    /// Iterations (one derivative pass and at least one evaluation each) at most.
    pub max_iterations: usize,
    /// Stop when an accepted step reduces chi-squared by less than `ftol` relative (and the model predicted as little).
    pub ftol: f64,
    /// Stop when an accepted step is below `xtol` relative, in the scaled norm.
    pub xtol: f64,
    /// Stop when every free parameter's scaled gradient is below `gtol`.
    pub gtol: f64,
    /// Starting points drawn by Latin hypercube inside the bounds, besides
    /// the given one, fitted in parallel; the best fit wins. Needs finite
    /// bounds for every free parameter; at most [`MAX_STARTS`].
    pub multistart: usize,
    /// Seed of the Latin hypercube.
    pub seed: u64,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            bounds: Vec::new(),
            fixed: Vec::new(),
            max_iterations: 200,
            ftol: 1e-10,
            xtol: 1e-10,
            gtol: 1e-10,
            multistart: 0,
            seed: 0,
        }
    }
}

/// The termination in words, with the tolerance that decided it.
fn message(termination: Termination, config: &FitConfig) -> String {
    match termination {
        Termination::Gtol => format!("converged: scaled gradient below gtol = {:e}", config.gtol),
        Termination::Ftol => format!("converged: relative reduction of chi2 below ftol = {:e}", config.ftol),
        Termination::Xtol => format!("converged: relative step below xtol = {:e}", config.xtol),
        Termination::NoReduction => "converged: no step reduces chi2 any further (working precision)".to_owned(),
        Termination::MaxIterations => {
            format!("not converged: max_iterations = {} reached", config.max_iterations)
        }
    }
}

/// One start of a multistart fit.
#[derive(Debug, Clone, PartialEq)]
pub struct StartOutcome {
    /// The starting point.
    pub start: Vec<f64>,
    /// Where it ended.
    pub params: Vec<f64>,
    /// Its chi-squared there (`+inf` if the run failed).
    pub chi2: f64,
    /// Why it stopped (`None` if the run failed).
    pub termination: Option<Termination>,
}

/// A fit with its uncertainties.
#[derive(Debug, Clone, PartialEq)]
pub struct FitResult {
    /// The fitted physical parameters.
    pub params: Vec<f64>,
    /// Their 1-sigma uncertainties, `sqrt(diag(covariance))` (0 for fixed ones).
    pub uncertainties: Vec<f64>,
    /// Their covariance, row-major `n x n`: `(J^T J)^-1` of the whole
    /// problem (physical parameters, every contrast and offset) scaled by
    /// the reduced chi-squared, with the scaling marginalised.
    pub covariance: Vec<f64>,
    /// The objective's selected angles (indices into `phi`), in order.
    pub angle_indices: Vec<usize>,
    /// Per selected angle, the fitted contrast, offset and their 1-sigma uncertainties.
    pub contrast: Vec<f64>,
    /// See `contrast`.
    pub contrast_uncertainties: Vec<f64>,
    /// See `contrast`.
    pub offset: Vec<f64>,
    /// See `contrast`.
    pub offset_uncertainties: Vec<f64>,
    /// `S`: the sum over angles of `sum (E - contrast T - offset)^2 / sigma^2`.
    pub chi2: f64,
    /// Independent points minus free parameters minus two per angle.
    pub degrees_of_freedom: usize,
    /// Chi-squared of the independent points over `degrees_of_freedom`:
    /// scales the covariance.
    pub chi2_reduced: f64,
    /// Whether every angle's data were exactly symmetric (`E[i][j] ==
    /// E[j][i]`, as measured two-time correlations are): each off-diagonal
    /// value then counts once, not twice, in the error bars (which are
    /// otherwise too small by about `sqrt(2)`) and the degrees of freedom.
    pub symmetric_data: bool,
    /// The objective's value (v1's mean reduced chi-squared) at `params`.
    pub objective: f64,
    /// Per parameter, whether it ended on a bound (its uncertainty is then
    /// the curvature's, which a bound truncates).
    pub at_bounds: Vec<bool>,
    /// Objective evaluations (every start included).
    pub n_evaluations: usize,
    /// Derivative passes (normal equations) (every start included).
    pub n_jacobians: usize,
    /// Iterations of the winning start.
    pub n_iterations: usize,
    /// Why the winning start stopped.
    pub termination: Termination,
    /// Whether it converged.
    pub success: bool,
    /// The termination in words.
    pub message: String,
    /// Every start of a multistart fit (empty otherwise).
    pub starts: Vec<StartOutcome>,
}

/// Fits the homodyne model's physical parameters to the objective's data
/// from `x0`, the scaling of every angle profiled out, and returns them
/// with their covariance and the scaling's.
///
/// # Errors
/// [`FitError::LengthMismatch`], [`FitError::EmptyBounds`],
/// [`FitError::StartOutsideBounds`], [`FitError::InvalidOption`] and
/// [`FitError::UnboundedMultistart`] for bad options, before any work;
/// [`FitError::Kernel`] for a non-finite start;
/// [`FitError::NotIdentifiable`] when the optimum's Jacobian is singular.
pub fn fit(objective: &ChiSquaredObjective<'_>, x0: &[f64], config: &FitConfig) -> Result<FitResult, FitError> {
    let model = objective.config().model;
    let n = model.mode.n_params();
    let (bounds, fixed) = validate(n, x0, config)?;
    let free: Vec<usize> = (0..n).filter(|&k| !fixed[k]).collect();
    let problem = Problem {
        bounds: &bounds,
        free: &free,
        max_iterations: config.max_iterations,
        ftol: config.ftol,
        xtol: config.xtol,
        gtol: config.gtol,
        n_points: (model.n_frames * model.n_frames) as f64,
    };
    let mut starts = vec![x0.to_vec()];
    if config.multistart > 0 {
        if let Some(&k) = free.iter().find(|&&k| !(bounds[k].0.is_finite() && bounds[k].1.is_finite())) {
            return Err(FitError::UnboundedMultistart { name: PARAMETER_NAMES[k] });
        }
        starts.extend(latin_hypercube(x0, &bounds, &free, config.multistart, config.seed));
    }
    let runs: Vec<Result<Run, FitError>> = if starts.len() > 1 {
        starts.par_iter().map(|start| levenberg::run(objective, start, &problem)).collect()
    } else {
        vec![levenberg::run(objective, x0, &problem)]
    };
    let (n_evaluations, n_jacobians) =
        runs.iter().flatten().fold((0, 0), |(e, j), run| (e + run.evaluations, j + run.jacobians));
    let outcomes: Vec<StartOutcome> = if starts.len() > 1 {
        starts
            .iter()
            .zip(&runs)
            .map(|(start, run)| match run {
                Ok(run) => StartOutcome {
                    start: start.clone(),
                    params: run.value.params.clone(),
                    chi2: run.value.chi2_total,
                    termination: Some(run.termination),
                },
                Err(_) => {
                    StartOutcome { start: start.clone(), params: start.clone(), chi2: f64::INFINITY, termination: None }
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    // The best converged run, else the best run, else the first error.
    let best = runs.iter().flatten().min_by(|a, b| {
        (!a.termination.success(), a.value.chi2_total)
            .partial_cmp(&(!b.termination.success(), b.value.chi2_total))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let best = match best {
        Some(run) => run.clone(),
        None => {
            return Err(runs.into_iter().find_map(Result::err).unwrap_or(FitError::InvalidOption {
                name: "x0",
                value: f64::NAN,
                requirement: "a start",
            }));
        }
    };
    finish(objective, best, (&bounds, &free), config, (n_evaluations, n_jacobians), outcomes)
}

/// The result of the winning run: covariance, uncertainties, the scaling's.
fn finish(
    objective: &ChiSquaredObjective<'_>,
    run: Run,
    (bounds, free): (&[(f64, f64)], &[usize]),
    config: &FitConfig,
    (n_evaluations, n_jacobians): (usize, usize),
    starts: Vec<StartOutcome>,
) -> Result<FitResult, FitError> {
    let n = run.value.params.len();
    let n_frames = objective.config().model.n_frames;
    let symmetric_data = objective.is_symmetric();
    let (normal, points_per_angle) = if symmetric_data {
        normal::unique_pairs(&run.normal, &objective.diagonal_sums(), n_frames)
    } else {
        (run.normal.clone(), (n_frames * n_frames) as f64)
    };
    let reduced = Reduced::new(&normal, n, points_per_angle);
    let at_bounds: Vec<bool> =
        run.value.params.iter().zip(bounds).map(|(&x, &(lower, upper))| x <= lower || x >= upper).collect();
    // The curvature's covariance of every free parameter, those on a bound
    // included: conditioning on the bound instead made the others' error
    // bars too small (1-sigma coverage of D0 56% over 50 seeds where D_offset
    // often ended on its bound), the unconditional one errs on the safe side (80%).
    let Covariance { params: mut covariance, mut scaling } =
        normal::covariance(&reduced, free).map_err(|singular| FitError::NotIdentifiable {
            parameters: singular.involved.iter().map(|&position| PARAMETER_NAMES[free[position]].to_owned()).collect(),
            params: run.value.params.clone(),
        })?;
    // Angles whose scaling was fitted (a constant theory keeps contrast 1, offset 0).
    let fitted_scalings = run.value.angles.iter().filter(|fit| fit.scaling_fitted).count();
    let n_points = run.value.angles.len() as f64 * points_per_angle;
    let degrees_of_freedom = (n_points as usize).saturating_sub(free.len() + 2 * fitted_scalings).max(1);
    let chi2_reduced = reduced.chi2 / degrees_of_freedom as f64;
    for value in covariance.iter_mut().chain(scaling.iter_mut().flatten()) {
        *value *= chi2_reduced;
    }
    let chi2 = run.value.chi2_total;
    let sqrt = |value: f64| value.max(0.0).sqrt();
    Ok(FitResult {
        uncertainties: (0..n).map(|k| sqrt(covariance[k * n + k])).collect(),
        covariance,
        angle_indices: run.value.angles.iter().map(|fit| fit.angle_idx).collect(),
        contrast: run.value.angles.iter().map(|fit| fit.contrast).collect(),
        contrast_uncertainties: scaling.iter().map(|block| sqrt(block[0])).collect(),
        offset: run.value.angles.iter().map(|fit| fit.offset).collect(),
        offset_uncertainties: scaling.iter().map(|block| sqrt(block[2])).collect(),
        chi2,
        degrees_of_freedom,
        chi2_reduced,
        symmetric_data,
        objective: run.value.value,
        at_bounds,
        n_evaluations,
        n_jacobians,
        n_iterations: run.iterations,
        termination: run.termination,
        success: run.termination.success(),
        message: message(run.termination, config),
        params: run.value.params,
        starts,
    })
}

/// Inclusive `(lower, upper)` per parameter.
type Bounds = Vec<(f64, f64)>;

/// Checks every option against the `n` parameters; the bounds (infinite
/// where none) and the fixed flags, one per parameter.
fn validate(n: usize, x0: &[f64], config: &FitConfig) -> Result<(Bounds, Vec<bool>), FitError> {
    if x0.len() != n {
        return Err(FitError::LengthMismatch { what: "x0", expected: n, got: x0.len() });
    }
    let bounds = match config.bounds.len() {
        0 => vec![(f64::NEG_INFINITY, f64::INFINITY); n],
        len if len == n => config.bounds.clone(),
        len => return Err(FitError::LengthMismatch { what: "bounds", expected: n, got: len }),
    };
    let fixed = match config.fixed.len() {
        0 => vec![false; n],
        len if len == n => config.fixed.clone(),
        len => return Err(FitError::LengthMismatch { what: "fixed", expected: n, got: len }),
    };
    for (k, (&(lower, upper), &value)) in bounds.iter().zip(x0).enumerate() {
        let name = PARAMETER_NAMES[k];
        // NaN bounds fail this test too.
        let admits_a_value = lower.partial_cmp(&upper).is_some_and(std::cmp::Ordering::is_le);
        if !admits_a_value || lower == f64::INFINITY || upper == f64::NEG_INFINITY {
            return Err(FitError::EmptyBounds { name, lower, upper });
        }
        if value.is_finite() && !(lower..=upper).contains(&value) {
            return Err(FitError::StartOutsideBounds { name, value, lower, upper });
        }
    }
    for (name, value) in [("ftol", config.ftol), ("xtol", config.xtol), ("gtol", config.gtol)] {
        if !(value.is_finite() && value >= 0.0) {
            return Err(FitError::InvalidOption { name, value, requirement: "finite and not negative" });
        }
    }
    if config.multistart > MAX_STARTS {
        return Err(FitError::InvalidOption {
            name: "multistart",
            value: config.multistart as f64,
            requirement: "at most 10000 starts",
        });
    }
    Ok((bounds, fixed))
}

/// The most starts a multistart fit takes (each is a whole fit).
pub const MAX_STARTS: usize = 10_000;

/// `count` starting points by Latin hypercube: each free parameter's range
/// cut into `count` equal strata, one point per stratum in a random order,
/// uniform inside it; fixed parameters keep their value from `x0`.
fn latin_hypercube(x0: &[f64], bounds: &[(f64, f64)], free: &[usize], count: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut random = Draws { seed, count: 0 };
    let mut points = vec![x0.to_vec(); count];
    for &k in free {
        let (lower, upper) = bounds[k];
        let mut strata: Vec<usize> = (0..count).collect();
        // Fisher-Yates.
        for i in (1..count).rev() {
            let j = (random.next_f64() * (i + 1) as f64) as usize;
            strata.swap(i, j.min(i));
        }
        for (point, stratum) in points.iter_mut().zip(strata) {
            let u = (stratum as f64 + random.next_f64()) / count as f64;
            point[k] = (lower + u * (upper - lower)).clamp(lower, upper);
        }
    }
    points
}

/// The multistart's reproducible stream ([`homodyne_simd::unit_draw`]:
/// the same starts for a seed on every toolchain).
struct Draws {
    seed: u64,
    count: u64,
}

impl Draws {
    /// Uniform in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        self.count += 1;
        homodyne_simd::unit_draw(self.seed, self.count - 1)
    }
}

/// The parameter names of `mode`.
pub fn parameter_names(mode: FlowMode) -> &'static [&'static str] {
    &PARAMETER_NAMES[..mode.n_params()]
}
