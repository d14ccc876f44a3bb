//! Verdicts: base samples against head samples, per benchmark, with the
//! multiple-comparison correction across the benchmarks (and both
//! directions) of one comparison, and the machine speed guard.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Baseline;
use crate::stats::{
    Trimmed, fastest_runs_shift, median_error_scale, rank_sum_test, required_noncentrality, t_quantile, t_sf,
    trim_slow_side,
};
use crate::units::{self, Direction};

/// The decision rule's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Family-wise error rate of one comparison: the probability, when
    /// nothing changed, that any benchmark is called a regression or an
    /// improvement (Holm's correction over both directions of every benchmark).
    pub alpha: f64,
    /// A change smaller than this relative amount is never reported (noise),
    /// and a benchmark whose 90% interval lies within it is `Unchanged`.
    pub noise: f64,
    /// Per-benchmark overrides of `noise`.
    pub noise_overrides: BTreeMap<String, f64>,
    /// The design document's `regression_threshold`: a significant slowdown
    /// by more than this factor fails; between the noise threshold and it, warns.
    pub regression_threshold: f64,
    /// Benchmarks that measure the machine, not the code (pure arithmetic
    /// on one core, and on every core): see [`compare_baselines`].
    pub canaries: Vec<String>,
    /// A canary that moved significantly by more than this relative amount
    /// says the machine's speed changed between base and head.
    pub canary_noise: f64,
    /// For exact counts (instructions under Callgrind, see
    /// [`is_exact_count`](crate::is_exact_count)): a change beyond this
    /// relative amount is a regression or an improvement, no statistics
    /// needed (`noise_overrides` overrides it per benchmark too).
    pub count_threshold: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            alpha: 0.01,
            noise: 0.05,
            noise_overrides: BTreeMap::new(),
            regression_threshold: 1.3,
            canaries: Vec::new(),
            canary_noise: 0.02,
            count_threshold: 0.01,
        }
    }
}

/// One benchmark's samples on both sides (one sample per process run).
#[derive(Debug, Clone, PartialEq)]
pub struct BenchmarkSamples {
    /// The benchmark's name.
    pub name: String,
    /// Which way is better.
    pub direction: Direction,
    /// Base samples (may be empty: a new benchmark).
    pub base: Vec<f64>,
    /// Head samples (may be empty: a missing benchmark).
    pub head: Vec<f64>,
}

/// How bad a regression is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Significant and above the noise threshold, below `regression_threshold`.
    Warn,
    /// Significant and above `regression_threshold`.
    Fail,
}

/// The verdict on one benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "severity")]
pub enum Outcome {
    /// Slower (or worse), significantly and beyond the noise threshold.
    Regression(Severity),
    /// Faster (or better), by the mirror rule.
    Improvement,
    /// The change lies within the noise threshold (its 90% interval does:
    /// two one-sided tests at 5%).
    Unchanged,
    /// Neither: the interval straddles the noise threshold without a
    /// significant change. More runs would decide it.
    Undecided,
    /// Only on the head side.
    New,
    /// Only on the base side.
    Missing,
    /// A sample that is not a positive finite number, or units that cannot
    /// be compared.
    Invalid,
}

impl Severity {
    /// The name in reports and JSON: `warn` or `fail`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Warn => "warn",
            Severity::Fail => "fail",
        }
    }
}

impl Outcome {
    /// The name in reports and JSON (the `kind` of its serialised form):
    /// `regression`, `improvement`, `unchanged`, `undecided`, `new`,
    /// `missing` or `invalid`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Regression(_) => "regression",
            Outcome::Improvement => "improvement",
            Outcome::Unchanged => "unchanged",
            Outcome::Undecided => "undecided",
            Outcome::New => "new",
            Outcome::Missing => "missing",
            Outcome::Invalid => "invalid",
        }
    }

    /// How bad a regression is; `None` for any other outcome.
    pub fn severity(self) -> Option<Severity> {
        match self {
            Outcome::Regression(severity) => Some(severity),
            _ => None,
        }
    }
}

/// A verdict with the numbers that led to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The benchmark.
    pub name: String,
    /// The decision.
    pub outcome: Outcome,
    /// Head over base of the robust (trimmed) geometric means of the metric.
    pub ratio: Option<f64>,
    /// 95% confidence interval of `ratio`.
    pub ratio_ci: Option<(f64, f64)>,
    /// Holm-adjusted one-sided p-value for a regression.
    pub p_regression: Option<f64>,
    /// Holm-adjusted one-sided p-value for an improvement.
    pub p_improvement: Option<f64>,
    /// The equally likely assignments of the pooled runs to the two sides
    /// under "no change" (`C(n1 + n2, n2)`): no p-value is below its inverse.
    pub arrangements: Option<f64>,
    /// The smallest relative change this comparison could detect (80% power).
    pub min_detectable_change: Option<f64>,
    /// 90% interval of head over base among each side's fastest runs (see
    /// [`fastest_runs_shift`](crate::stats::fastest_runs_shift)); `None`
    /// with too few runs.
    #[serde(default)]
    pub fastest_ratio_ci: Option<(f64, f64)>,
    /// The noise threshold applied.
    pub noise_threshold: f64,
    /// Samples on the base side.
    pub base_samples: usize,
    /// Samples on the head side.
    pub head_samples: usize,
    /// The base and head ran on machines with different fingerprints.
    pub machine_mismatch: bool,
    /// A canary: it measures the machine, and never gates.
    #[serde(default)]
    pub canary: bool,
}

impl Verdict {
    /// A verdict on `bench` with `outcome` and no numbers yet (not a canary).
    fn unnumbered(bench: &BenchmarkSamples, outcome: Outcome, noise_threshold: f64, machine_mismatch: bool) -> Verdict {
        Verdict {
            name: bench.name.clone(),
            outcome,
            ratio: None,
            ratio_ci: None,
            p_regression: None,
            p_improvement: None,
            arrangements: None,
            min_detectable_change: None,
            fastest_ratio_ci: None,
            noise_threshold,
            base_samples: bench.base.len(),
            head_samples: bench.head.len(),
            machine_mismatch,
            canary: false,
        }
    }
}

/// Per-benchmark numbers before the correction across benchmarks, in
/// "badness" (log, larger is worse).
struct Raw {
    difference: f64,
    interval: (f64, f64),
    /// The 90% interval, for the equivalence decision.
    equivalence: (f64, f64),
    std_error: f64,
    p_worse: f64,
    p_better: f64,
    /// Assignments of the runs, and whether the p-values are exact.
    arrangements: Option<(f64, bool)>,
    /// One head sample: judged alone by the base's prediction interval.
    single: bool,
    /// The 90% interval of the shift among the fastest runs.
    fastest: Option<(f64, f64)>,
}

/// `ln(value)` oriented so that larger is worse.
fn badness(values: &[f64], direction: Direction) -> Option<Vec<f64>> {
    values
        .iter()
        .map(|&value| {
            (value.is_finite() && value > 0.0).then(|| match direction {
                Direction::LowerIsBetter => value.ln(),
                Direction::HigherIsBetter => -value.ln(),
            })
        })
        .collect()
}

fn raw_comparison(base: &[f64], head: &[f64]) -> Option<Raw> {
    let base_trimmed: Trimmed = trim_slow_side(base)?;
    if base_trimmed.n < 2 {
        return None;
    }
    if head.len() == 1 {
        // One head sample: where it falls in the prediction interval of the base.
        let std_error = base_trimmed.spread * (1.0 + 1.0 / base_trimmed.kept as f64).sqrt();
        let df = base_trimmed.kept as f64 - 1.0;
        let difference = head[0] - base_trimmed.mean;
        let t = difference / std_error;
        let half_width = t_quantile(0.975, df) * std_error;
        return Some(Raw {
            difference,
            interval: (difference - half_width, difference + half_width),
            equivalence: (difference - half_width, difference + half_width),
            std_error,
            p_worse: t_sf(t, df),
            p_better: t_sf(-t, df),
            arrangements: None,
            single: true,
            fastest: None,
        });
    }
    let test = rank_sum_test(base, head)?;
    Some(Raw {
        difference: test.shift,
        interval: test.shift_ci,
        equivalence: test.shift_ci_90,
        std_error: (test.shift_ci.1 - test.shift_ci.0) / (2.0 * 1.959_963_985),
        p_worse: test.p_greater,
        p_better: test.p_less,
        arrangements: Some((test.arrangements, test.exact)),
        single: false,
        fastest: fastest_runs_shift(base, head, 0.05),
    })
}

/// The shift (log ratio) this comparison detects with 80% power at Holm's
/// smallest level `level`, in the units of `raw.std_error` (estimated from
/// the samples): the noncentrality a one-sided t-test with `n1 + n2 - 2`
/// degrees of freedom needs for 80% power, the randomness of the estimated
/// error included ([`required_noncentrality`]), over the estimate's typical
/// size ([`median_error_scale`]), and over the square root of the rank
/// test's efficiency relative to the t-test on normal data (3 / pi).
///
/// The plain normal formula, `(z_level + z_0.8) SE`, stated 11.4% at 10
/// samples a side (5% log-normal noise, 20 benchmarks) where a change of
/// that size was found in 65% of simulated suites; this statement is found
/// in at least 80% at 10 and 20 samples a side (`tests/it/simulation.rs`).
fn detectable_shift(raw: &Raw, bench: &BenchmarkSamples, level: f64) -> f64 {
    let df = (bench.base.len() + bench.head.len()).saturating_sub(2).max(1) as f64;
    let critical = t_quantile(1.0 - level, df);
    let noncentrality = required_noncentrality(critical, df, 0.8) / median_error_scale(df);
    let rank_efficiency = 3.0 / std::f64::consts::PI;
    noncentrality / rank_efficiency.sqrt() * raw.std_error
}

/// Decides every benchmark of one comparison.
///
/// On the log samples (ratios, not differences), the rank-sum permutation
/// test ([`crate::stats::rank_sum_test`]) gives p-values that are exact
/// under "no change" whatever the shape of the noise, with the
/// Hodges–Lehmann estimate of the change and its distribution-free 95%
/// interval. Holm's correction runs over both directions of every
/// benchmark, so the probability of any false regression or improvement in
/// the comparison is at most `alpha`. A regression needs that significance
/// and an estimated change beyond the noise threshold; `Unchanged` needs the
/// change shown to lie within the noise threshold, by all runs (two
/// one-sided tests at 5%: the 90% interval inside it) or by each side's
/// fastest runs (their 90% interval inside it, see
/// [`fastest_runs_shift`](crate::stats::fastest_runs_shift)); anything else
/// is `Undecided`. A
/// benchmark with a single head sample is judged by the base's prediction
/// interval (slow-side-trimmed mean) and is `Unchanged` unless significant.
///
/// With 5 samples a side there are 252 arrangements, so no p-value is below
/// 1/252: such a comparison can say `Unchanged`, never `Regression` once
/// Holm's correction covers more than one benchmark. With 10 a side there
/// are 184,756.
pub fn compare(benchmarks: &[BenchmarkSamples], thresholds: &Thresholds, machine_mismatch: bool) -> Vec<Verdict> {
    let raws: Vec<Option<Result<Raw, Outcome>>> = benchmarks
        .iter()
        .map(|bench| {
            if bench.base.is_empty() {
                return Some(Err(Outcome::New));
            }
            if bench.head.is_empty() {
                return Some(Err(Outcome::Missing));
            }
            let (Some(base), Some(head)) =
                (badness(&bench.base, bench.direction), badness(&bench.head, bench.direction))
            else {
                return Some(Err(Outcome::Invalid));
            };
            raw_comparison(&base, &head).map(Ok)
        })
        .collect();
    let tested: Vec<usize> = (0..raws.len()).filter(|&i| matches!(raws[i], Some(Ok(_)))).collect();
    let raw_of = |index: usize| raws[index].as_ref().and_then(|raw| raw.as_ref().ok());
    // One family: both directions of every tested benchmark.
    let family: Vec<f64> =
        tested.iter().flat_map(|&i| raw_of(i).map_or([1.0, 1.0], |raw| [raw.p_worse, raw.p_better])).collect();
    let adjusted = crate::stats::holm(&family);
    let n_tests = family.len().max(1);
    benchmarks
        .iter()
        .enumerate()
        .map(|(index, bench)| {
            let noise = thresholds.noise_overrides.get(&bench.name).copied().unwrap_or(thresholds.noise);
            let mut verdict = Verdict::unnumbered(bench, Outcome::Undecided, noise, machine_mismatch);
            verdict.canary = thresholds.canaries.contains(&bench.name);
            let raw = match &raws[index] {
                Some(Ok(raw)) => raw,
                Some(Err(outcome)) => {
                    verdict.outcome = *outcome;
                    return verdict;
                }
                None => return verdict,
            };
            let position = tested.iter().position(|&i| i == index).unwrap_or(0);
            let (p_worse, p_better) = (adjusted[2 * position], adjusted[2 * position + 1]);
            let to_metric = |badness_ratio: f64| match bench.direction {
                Direction::LowerIsBetter => badness_ratio,
                Direction::HigherIsBetter => 1.0 / badness_ratio,
            };
            let change = raw.difference.exp();
            let (low, high) = raw.interval;
            let (metric_low, metric_high) = (to_metric(low.exp()), to_metric(high.exp()));
            let detectable = detectable_shift(raw, bench, thresholds.alpha / n_tests as f64);
            verdict.ratio = Some(to_metric(change));
            verdict.ratio_ci = Some((metric_low.min(metric_high), metric_low.max(metric_high)));
            verdict.p_regression = Some(p_worse);
            verdict.p_improvement = Some(p_better);
            verdict.arrangements = raw.arrangements.map(|(count, _)| count);
            // An exact test whose rarest assignment is not rare enough for
            // Holm's smallest level can detect nothing, whatever the change.
            let too_few = raw.arrangements.is_some_and(|(count, _)| 1.0 / count >= thresholds.alpha / n_tests as f64);
            verdict.min_detectable_change = Some(if too_few { f64::INFINITY } else { detectable.exp() - 1.0 });
            // Equivalence: two one-sided tests at 5%, i.e. the 90% interval
            // within the noise threshold.
            let inside = |(low, high): (f64, f64)| low > -(1.0 + noise).ln() && high < (1.0 + noise).ln();
            // Or the fastest runs of both sides agree within it (90%): on a
            // machine whose slow phases scatter most runs, the fast mode
            // still shows the code's speed.
            let within_noise = inside(raw.equivalence) || raw.fastest.is_some_and(inside);
            verdict.fastest_ratio_ci = raw.fastest.map(|(low, high)| {
                let (low, high) = (to_metric(low.exp()), to_metric(high.exp()));
                (low.min(high), low.max(high))
            });
            verdict.outcome = if p_worse < thresholds.alpha && change > 1.0 + noise {
                let severity = if change > thresholds.regression_threshold { Severity::Fail } else { Severity::Warn };
                Outcome::Regression(severity)
            } else if p_better < thresholds.alpha && change < 1.0 / (1.0 + noise) {
                Outcome::Improvement
            } else if within_noise || raw.single {
                Outcome::Unchanged
            } else {
                Outcome::Undecided
            };
            verdict
        })
        .collect()
}

/// The one path from two baselines to a [`Comparison`]: `cargo xtask
/// regression`, `cargo xtask report` and [`PerformanceRecorder`](crate::PerformanceRecorder)
/// all use it.
///
/// Benchmarks are matched by name; samples in different time units are
/// converted to the head's unit (units that cannot be converted make the
/// benchmark `Invalid`). Without a base every benchmark is `New`.
///
/// **Machine speed guard.** When `thresholds.canaries` name benchmarks
/// present on both sides, they are compared first. If a canary moved
/// significantly (p < 0.01) by more than `canary_noise`, the machine's speed
/// changed between base and head (a shared VM's phases, a busy neighbour):
/// - if one factor lies within every canary's 95% interval (widened by
///   `canary_noise`), the head samples of every time (and throughput)
///   metric are divided by that factor (the precision-weighted mean of the
///   canaries' changes) before the verdicts, and the comparison says so;
/// - if no factor fits them all (say the one-core canary held still while
///   the all-core one slowed, as under a single busy process), no factor can
///   correct every benchmark: the comparison is *inconclusive*, and gating
///   on it would risk false alarms.
///
/// Canary verdicts are shown but never count as regressions.
pub fn compare_baselines(base: Option<&Baseline>, head: &Baseline, thresholds: &Thresholds) -> Comparison {
    let mut names: Vec<&String> = head.benchmarks.keys().collect();
    if let Some(base) = base {
        names.extend(base.benchmarks.keys().filter(|name| !head.benchmarks.contains_key(*name)));
    }
    let mut inputs: Vec<BenchmarkSamples> = Vec::with_capacity(names.len());
    let mut invalid: Vec<String> = Vec::new();
    for name in names {
        let head_record = head.benchmarks.get(name);
        let base_record = base.and_then(|base| base.benchmarks.get(name));
        let mut base_samples = base_record.map_or_else(Vec::new, |record| record.samples.clone());
        if let (Some(head_record), Some(base_record)) = (head_record, base_record)
            && head_record.unit != base_record.unit
        {
            match units::time_factor(&base_record.unit, &head_record.unit) {
                Some(factor) => base_samples.iter_mut().for_each(|value| *value *= factor),
                None => invalid.push(name.clone()),
            }
        }
        inputs.push(BenchmarkSamples {
            name: name.clone(),
            direction: head_record.or(base_record).map_or(Direction::LowerIsBetter, |record| record.direction),
            base: base_samples,
            head: head_record.map_or_else(Vec::new, |record| record.samples.clone()),
        });
    }
    let speed = base.and_then(|_| speed_check(&inputs, thresholds));
    if let Some(speed) = speed.as_ref().filter(|speed| speed.normalised) {
        for input in &mut inputs {
            let scalable =
                head.benchmarks.get(&input.name).is_some_and(|record| units::is_speed_dependent(&record.unit));
            if scalable && !thresholds.canaries.contains(&input.name) {
                let factor = match input.direction {
                    Direction::LowerIsBetter => 1.0 / speed.factor,
                    Direction::HigherIsBetter => speed.factor,
                };
                input.head.iter_mut().for_each(|value| *value *= factor);
            }
        }
    }
    let provenance = Provenance::new(base, head, thresholds);
    // Exact counts are decided by their threshold alone, outside the family
    // of statistical tests (they would only dilute its alpha).
    let is_exact = |input: &BenchmarkSamples| {
        head.benchmarks
            .get(&input.name)
            .or_else(|| base.and_then(|base| base.benchmarks.get(&input.name)))
            .is_some_and(|record| units::is_exact_count(&record.unit))
    };
    let (exact, inputs): (Vec<BenchmarkSamples>, Vec<BenchmarkSamples>) = inputs.into_iter().partition(is_exact);
    let mut verdicts = compare(&inputs, thresholds, provenance.machine_mismatch);
    verdicts.extend(exact.iter().map(|input| compare_counts(input, thresholds, provenance.machine_mismatch)));
    for verdict in &mut verdicts {
        if invalid.contains(&verdict.name) {
            verdict.outcome = Outcome::Invalid;
        }
    }
    Comparison::new(provenance, verdicts, speed)
}

/// Changes of at most this many events are never flagged (see [`compare_counts`]).
pub const COUNT_FLOOR: f64 = 16.0;

/// The verdict on an exact count (one sample a side, or several equal
/// ones: their medians are compared): beyond `count_threshold` (or the
/// benchmark's entry in `noise_overrides`) it is a regression (failing
/// beyond `regression_threshold`) or an improvement, else unchanged. A
/// change of at most [`COUNT_FLOOR`] events is unchanged whatever its ratio.
pub fn compare_counts(input: &BenchmarkSamples, thresholds: &Thresholds, machine_mismatch: bool) -> Verdict {
    let threshold = thresholds.noise_overrides.get(&input.name).copied().unwrap_or(thresholds.count_threshold);
    let median = |values: &[f64]| {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted.get(sorted.len() / 2).copied()
    };
    let mut verdict = Verdict::unnumbered(input, Outcome::Invalid, threshold, machine_mismatch);
    let (base, head) = match (median(&input.base), median(&input.head)) {
        (None, _) => {
            verdict.outcome = Outcome::New;
            return verdict;
        }
        (_, None) => {
            verdict.outcome = Outcome::Missing;
            return verdict;
        }
        (Some(base), Some(head)) => (base, head),
    };
    let valid = |value: f64| value.is_finite() && value >= 0.0;
    if !valid(base) || !valid(head) {
        return verdict;
    }
    // A change of a few events (one cache line more or less) is never a
    // finding, however large relative to a tiny count.
    if (head - base).abs() <= COUNT_FLOOR {
        verdict.ratio = Some(if base == 0.0 { 1.0 } else { head / base });
        verdict.ratio_ci = verdict.ratio.map(|ratio| (ratio, ratio));
        verdict.outcome = Outcome::Unchanged;
        return verdict;
    }
    let ratio = if base == 0.0 { f64::INFINITY } else { head / base };
    verdict.ratio = Some(ratio);
    verdict.ratio_ci = Some((ratio, ratio));
    // "Worse" is larger for lower-is-better counts.
    let worse = match input.direction {
        Direction::LowerIsBetter => ratio,
        Direction::HigherIsBetter => 1.0 / ratio,
    };
    verdict.outcome = if worse > 1.0 + threshold {
        let fails = worse > thresholds.regression_threshold;
        Outcome::Regression(if fails { Severity::Fail } else { Severity::Warn })
    } else if worse < 1.0 / (1.0 + threshold) {
        Outcome::Improvement
    } else {
        Outcome::Unchanged
    };
    verdict
}

/// The canaries' verdict on the machine (see [`compare_baselines`]).
fn speed_check(inputs: &[BenchmarkSamples], thresholds: &Thresholds) -> Option<SpeedCheck> {
    // (name, log ratio, 95% interval of the log ratio, p)
    let mut canaries = Vec::new();
    for input in inputs.iter().filter(|input| thresholds.canaries.contains(&input.name)) {
        let (Some(base), Some(head)) = (badness(&input.base, input.direction), badness(&input.head, input.direction))
        else {
            continue;
        };
        let Some(test) = rank_sum_test(&base, &head) else { continue };
        let p = (2.0 * test.p_greater.min(test.p_less)).min(1.0);
        canaries.push((input.name.clone(), test.shift, test.shift_ci, p));
    }
    if canaries.is_empty() {
        return None;
    }
    let limit = (1.0 + thresholds.canary_noise).ln();
    let moved = canaries.iter().any(|&(_, shift, _, p)| p < 0.01 && shift.abs() > limit);
    // One factor fits every canary when it lies in all their intervals
    // (widened by the canary noise): a noisy canary does not contradict a
    // precise one. The factor is the precision-weighted mean.
    let (low, high) = canaries.iter().fold((f64::NEG_INFINITY, f64::INFINITY), |(low, high), (_, _, ci, _)| {
        (low.max(ci.0 - limit), high.min(ci.1 + limit))
    });
    let weights: Vec<f64> =
        canaries.iter().map(|(_, _, ci, _)| 1.0 / ((ci.1 - ci.0).max(1e-6) / 3.92).powi(2)).collect();
    let log_factor = canaries.iter().zip(&weights).map(|((_, shift, ..), weight)| shift * weight).sum::<f64>()
        / weights.iter().sum::<f64>();
    let inconclusive = (moved && low > high).then(|| {
        format!(
            "the canaries moved apart ({}): the machine's speed changed unevenly between base and head, \
             so no single factor corrects every benchmark",
            canaries
                .iter()
                .map(|(name, shift, ci, _)| format!("{name} ×{:.3} ({:.3}–{:.3})", shift.exp(), ci.0.exp(), ci.1.exp()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    Some(SpeedCheck {
        normalised: moved && inconclusive.is_none(),
        factor: log_factor.clamp(low.min(high), high.max(low)).exp(),
        canaries: canaries.into_iter().map(|(name, shift, _, p)| (name, shift.exp(), p)).collect(),
        inconclusive,
    })
}

/// Where the two sides come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provenance {
    /// Base commit (or "none").
    pub base_commit: String,
    /// Head commit.
    pub head_commit: String,
    /// Base timestamp, seconds since the epoch.
    pub base_timestamp: Option<u64>,
    /// Head timestamp.
    pub head_timestamp: u64,
    /// The head machine.
    pub machine: String,
    /// Whether the machines differ.
    pub machine_mismatch: bool,
    /// Process runs per benchmark on each side.
    pub base_runs: Option<usize>,
    /// Process runs per benchmark on the head side.
    pub head_runs: usize,
    /// The decision rule's settings.
    pub alpha: f64,
    /// Default noise threshold.
    pub noise: f64,
    /// The fail line.
    pub regression_threshold: f64,
}

impl Provenance {
    /// From the baselines of both sides (the base may be absent).
    pub fn new(base: Option<&Baseline>, head: &Baseline, thresholds: &Thresholds) -> Provenance {
        Provenance {
            base_commit: base.map_or_else(|| "none".to_owned(), |base| base.commit.clone()),
            head_commit: head.commit.clone(),
            base_timestamp: base.map(|base| base.timestamp),
            head_timestamp: head.timestamp,
            machine: format!(
                "{} ({} cores, {} GiB)",
                head.machine.cpu,
                head.machine.cores,
                head.machine.memory_bytes >> 30
            ),
            machine_mismatch: base.is_some_and(|base| base.machine != head.machine),
            base_runs: base.map(|base| base.sampling.runs),
            head_runs: head.sampling.runs,
            alpha: thresholds.alpha,
            noise: thresholds.noise,
            regression_threshold: thresholds.regression_threshold,
        }
    }
}

/// What the canaries said about the machine's speed between base and head
/// (see [`compare_baselines`](crate::compare_baselines)).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeedCheck {
    /// Each canary: its name, head/base ratio and two-sided permutation p-value.
    pub canaries: Vec<(String, f64, f64)>,
    /// The geometric mean of the canaries' ratios.
    pub factor: f64,
    /// Whether the head samples were divided by `factor` before the verdicts.
    pub normalised: bool,
    /// Why the comparison cannot be trusted, when the canaries disagree.
    pub inconclusive: Option<String>,
}

/// A comparison: provenance and one verdict per benchmark.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Where the sides come from.
    pub provenance: Provenance,
    /// The verdicts, most severe first.
    pub verdicts: Vec<Verdict>,
    /// The machine speed guard's finding, when canaries were compared.
    pub speed: Option<SpeedCheck>,
}

fn severity_rank(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Regression(Severity::Fail) => 0,
        Outcome::Regression(Severity::Warn) => 1,
        Outcome::Invalid => 2,
        Outcome::Undecided => 3,
        Outcome::Missing => 4,
        Outcome::Improvement => 5,
        Outcome::New => 6,
        Outcome::Unchanged => 7,
    }
}

impl Comparison {
    /// Sorts the verdicts by severity, then name (canaries last).
    pub fn new(provenance: Provenance, mut verdicts: Vec<Verdict>, speed: Option<SpeedCheck>) -> Comparison {
        verdicts.sort_by(|a, b| {
            a.canary
                .cmp(&b.canary)
                .then(severity_rank(a.outcome).cmp(&severity_rank(b.outcome)))
                .then(a.name.cmp(&b.name))
        });
        Comparison { provenance, verdicts, speed }
    }
}
