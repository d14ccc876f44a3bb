//! Verdicts: base samples against head samples, per benchmark, with the
//! multiple-comparison correction across the benchmarks of one run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::stats::{Trimmed, mann_whitney_u, t_quantile, t_sf, trim_slow_side, yuen_t};

/// Whether larger values of a metric are worse (time, memory) or better (throughput).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Time, memory: a larger value is a regression.
    #[default]
    LowerIsBetter,
    /// Throughput: a smaller value is a regression.
    HigherIsBetter,
}

/// The decision rule's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Significance level of the one-sided tests, after Holm's correction.
    pub alpha: f64,
    /// A change smaller than this relative amount is never reported (noise).
    pub noise: f64,
    /// Per-benchmark overrides of `noise`.
    pub noise_overrides: BTreeMap<String, f64>,
    /// The design document's `regression_threshold`: a significant slowdown
    /// by more than this factor fails; between the noise threshold and it, warns.
    pub regression_threshold: f64,
    /// Above this spread (standard deviation of log values, roughly the
    /// coefficient of variation) of the kept samples, a benchmark is unstable.
    pub unstable_spread: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            alpha: 0.01,
            noise: 0.05,
            noise_overrides: BTreeMap::new(),
            regression_threshold: 1.3,
            unstable_spread: 0.25,
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
    /// No significant change beyond the noise threshold.
    Unchanged,
    /// Too noisy to decide: ask for more runs.
    Unstable,
    /// Only on the head side.
    New,
    /// Only on the base side.
    Missing,
    /// A sample that is not a positive finite number.
    Invalid,
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
    /// One-sided Mann–Whitney p-value for a regression (cross-check, unadjusted).
    pub mann_whitney_p: Option<f64>,
    /// The smallest relative change this run could detect (80% power).
    pub min_detectable_change: Option<f64>,
    /// The noise threshold applied.
    pub noise_threshold: f64,
    /// Samples on each side.
    pub base_samples: usize,
    /// Samples on each side.
    pub head_samples: usize,
    /// The base and head ran on machines with different fingerprints.
    pub machine_mismatch: bool,
}

/// Per-benchmark numbers before the correction across benchmarks.
struct Raw {
    difference: f64,
    std_error: f64,
    df: f64,
    p_worse: f64,
    p_better: f64,
    mann_whitney_p: Option<f64>,
    spread: f64,
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
    let head_trimmed: Trimmed = trim_slow_side(head)?;
    if base_trimmed.n < 2 {
        return None;
    }
    let mann_whitney_p = mann_whitney_u(base, head).map(|test| test.p_greater);
    if head_trimmed.n == 1 {
        // One head sample: where it falls in the prediction interval of the base.
        let std_error = base_trimmed.spread * (1.0 + 1.0 / base_trimmed.kept as f64).sqrt();
        let df = base_trimmed.kept as f64 - 1.0;
        let difference = head_trimmed.mean - base_trimmed.mean;
        let t = difference / std_error;
        return Some(Raw {
            difference,
            std_error,
            df,
            p_worse: t_sf(t, df),
            p_better: t_sf(-t, df),
            mann_whitney_p,
            spread: base_trimmed.spread,
        });
    }
    let test = yuen_t(&base_trimmed, &head_trimmed);
    Some(Raw {
        difference: test.difference,
        std_error: test.std_error,
        df: test.df,
        p_worse: test.p_greater,
        p_better: test.p_less,
        mann_whitney_p,
        spread: base_trimmed.spread.max(head_trimmed.spread),
    })
}

/// Decides every benchmark of one run (see the crate docs for the rule).
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
    let n_tests = tested.len().max(1);
    let p_of = |pick: fn(&Raw) -> f64| -> Vec<f64> {
        tested.iter().map(|&i| raws[i].as_ref().and_then(|r| r.as_ref().ok()).map_or(1.0, pick)).collect()
    };
    let adjusted_worse = crate::stats::holm(&p_of(|raw| raw.p_worse));
    let adjusted_better = crate::stats::holm(&p_of(|raw| raw.p_better));
    benchmarks
        .iter()
        .enumerate()
        .map(|(index, bench)| {
            let noise = thresholds.noise_overrides.get(&bench.name).copied().unwrap_or(thresholds.noise);
            let mut verdict = Verdict {
                name: bench.name.clone(),
                outcome: Outcome::Unstable,
                ratio: None,
                ratio_ci: None,
                p_regression: None,
                p_improvement: None,
                mann_whitney_p: None,
                min_detectable_change: None,
                noise_threshold: noise,
                base_samples: bench.base.len(),
                head_samples: bench.head.len(),
                machine_mismatch,
            };
            let raw = match &raws[index] {
                Some(Ok(raw)) => raw,
                Some(Err(outcome)) => {
                    verdict.outcome = *outcome;
                    return verdict;
                }
                None => return verdict,
            };
            let position = tested.iter().position(|&i| i == index).unwrap_or(0);
            let (p_worse, p_better) = (adjusted_worse[position], adjusted_better[position]);
            let to_metric = |badness_ratio: f64| match bench.direction {
                Direction::LowerIsBetter => badness_ratio,
                Direction::HigherIsBetter => 1.0 / badness_ratio,
            };
            let change = raw.difference.exp();
            let half_width = t_quantile(0.975, raw.df) * raw.std_error;
            let (low, high) =
                (to_metric((raw.difference - half_width).exp()), to_metric((raw.difference + half_width).exp()));
            // The change detected with 80% power at the Holm level of the
            // smallest p-value, allowing for the noise of the estimated error.
            let critical = t_quantile(1.0 - thresholds.alpha / n_tests as f64, raw.df);
            let detectable = crate::stats::required_noncentrality(critical, raw.df, 0.8) * raw.std_error
                / crate::stats::median_error_scale(raw.df);
            verdict.ratio = Some(to_metric(change));
            verdict.ratio_ci = Some((low.min(high), low.max(high)));
            verdict.p_regression = Some(p_worse);
            verdict.p_improvement = Some(p_better);
            verdict.mann_whitney_p = raw.mann_whitney_p;
            verdict.min_detectable_change = Some(detectable.exp() - 1.0);
            verdict.outcome = if raw.spread > thresholds.unstable_spread {
                Outcome::Unstable
            } else if p_worse < thresholds.alpha && change > 1.0 + noise {
                let severity = if change > thresholds.regression_threshold { Severity::Fail } else { Severity::Warn };
                Outcome::Regression(severity)
            } else if p_better < thresholds.alpha && change < 1.0 / (1.0 + noise) {
                Outcome::Improvement
            } else {
                Outcome::Unchanged
            };
            verdict
        })
        .collect()
}
