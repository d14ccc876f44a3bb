//! `PerformanceRecorder`: the design document's API over baselines and verdicts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::report::{Comparison, Provenance};
use crate::{Baseline, BenchmarkRecord, BenchmarkSamples, Direction, PerfError, Thresholds, Verdict, compare};

/// What a recorded number measures; each kind knows which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Execution time, seconds (lower is better).
    Time,
    /// Memory, bytes (lower is better).
    Memory,
    /// Items or bytes per second (higher is better).
    Throughput,
}

impl Metric {
    /// Which way is better.
    pub fn direction(self) -> Direction {
        match self {
            Metric::Time | Metric::Memory => Direction::LowerIsBetter,
            Metric::Throughput => Direction::HigherIsBetter,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Metric::Time => "time",
            Metric::Memory => "memory",
            Metric::Throughput => "throughput",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Metric::Time => "s",
            Metric::Memory => "B",
            Metric::Throughput => "1/s",
        }
    }
}

/// Accumulates samples per benchmark and metric, and checks them against a
/// stored baseline (the design document's `PerformanceRecorder`).
#[derive(Debug, Clone)]
pub struct PerformanceRecorder {
    /// The hard fail line: a significant slowdown by more than this factor
    /// (default 1.3) fails; above the noise threshold and below it, warns.
    pub regression_threshold: f64,
    /// The rest of the decision rule.
    pub thresholds: Thresholds,
    samples: BTreeMap<String, BenchmarkRecord>,
    baseline: Option<Baseline>,
}

impl Default for PerformanceRecorder {
    fn default() -> Self {
        PerformanceRecorder {
            regression_threshold: 1.3,
            thresholds: Thresholds::default(),
            samples: BTreeMap::new(),
            baseline: None,
        }
    }
}

fn key(name: &str, metric: Metric) -> String {
    format!("{name}/{}", metric.name())
}

impl PerformanceRecorder {
    /// A recorder comparing against `baseline`.
    pub fn with_baseline(baseline: Baseline) -> PerformanceRecorder {
        PerformanceRecorder { baseline: Some(baseline), ..PerformanceRecorder::default() }
    }

    /// Loads the baseline to compare against from a file.
    ///
    /// # Errors
    /// As [`Baseline::load`].
    pub fn load(path: &Path) -> Result<PerformanceRecorder, PerfError> {
        Ok(PerformanceRecorder::with_baseline(Baseline::load(path)?))
    }

    /// Adds one sample of `metric` for benchmark `name`.
    ///
    /// # Errors
    /// [`PerfError::Invalid`] for a value that is not positive and finite.
    pub fn record_metric(&mut self, name: &str, metric: Metric, value: f64) -> Result<(), PerfError> {
        if !(value.is_finite() && value > 0.0) {
            return Err(PerfError::Invalid {
                what: format!("{name}: {} sample {value} is not positive", metric.name()),
            });
        }
        self.samples
            .entry(key(name, metric))
            .or_insert_with(|| BenchmarkRecord {
                unit: metric.unit().to_owned(),
                direction: metric.direction(),
                samples: Vec::new(),
            })
            .samples
            .push(value);
        Ok(())
    }

    /// The samples recorded so far, by `name/metric`.
    pub fn samples(&self) -> &BTreeMap<String, BenchmarkRecord> {
        &self.samples
    }

    fn thresholds(&self) -> Thresholds {
        Thresholds { regression_threshold: self.regression_threshold, ..self.thresholds.clone() }
    }

    /// The verdict on one new value against the baseline's samples of the
    /// same benchmark and metric (a prediction interval; `New` without a baseline).
    pub fn check_regression(&self, name: &str, metric: Metric, value: f64) -> Verdict {
        let key = key(name, metric);
        let base = self
            .baseline
            .as_ref()
            .and_then(|baseline| baseline.benchmarks.get(&key))
            .map_or_else(Vec::new, |r| r.samples.clone());
        let input = BenchmarkSamples { name: key, direction: metric.direction(), base, head: vec![value] };
        compare(&[input], &self.thresholds(), false).remove(0)
    }

    /// Compares everything recorded with the baseline.
    pub fn compare(&self, head: &Baseline) -> Comparison {
        let thresholds = self.thresholds();
        let base = self.baseline.as_ref();
        let mut names: Vec<&String> = head.benchmarks.keys().collect();
        if let Some(base) = base {
            names.extend(base.benchmarks.keys().filter(|name| !head.benchmarks.contains_key(*name)));
        }
        let inputs: Vec<BenchmarkSamples> = names
            .into_iter()
            .map(|name| {
                let head_record = head.benchmarks.get(name);
                let base_record = base.and_then(|base| base.benchmarks.get(name));
                BenchmarkSamples {
                    name: name.clone(),
                    direction: head_record.or(base_record).map_or(Direction::LowerIsBetter, |r| r.direction),
                    base: base_record.map_or_else(Vec::new, |r| r.samples.clone()),
                    head: head_record.map_or_else(Vec::new, |r| r.samples.clone()),
                }
            })
            .collect();
        let provenance = Provenance::new(base, head, &thresholds);
        let verdicts = compare(&inputs, &thresholds, provenance.machine_mismatch);
        Comparison::new(provenance, verdicts)
    }

    /// Writes the recorded samples as the baseline of `meta.commit` into `dir`
    /// (the metadata's own benchmarks are replaced by the recorded ones).
    ///
    /// # Errors
    /// As [`Baseline::save`].
    pub fn save_baselines(&self, mut meta: Baseline, dir: &Path) -> Result<PathBuf, PerfError> {
        meta.benchmarks = self.samples.clone();
        meta.save(dir)
    }
}
