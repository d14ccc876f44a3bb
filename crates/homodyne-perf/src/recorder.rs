//! `PerformanceRecorder`: the design document's API over baselines and verdicts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::baseline::{Baseline, BenchmarkRecord};
use crate::compare::{BenchmarkSamples, Comparison, Thresholds, Verdict, compare, compare_baselines};
use crate::error::PerfError;
use crate::units::Direction;

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
#[derive(Debug, Clone, Default)]
pub struct PerformanceRecorder {
    /// The decision rule, including the design document's
    /// `regression_threshold` (a significant slowdown by more than that
    /// factor, default 1.3, fails; above the noise threshold, warns).
    pub thresholds: Thresholds,
    samples: BTreeMap<String, BenchmarkRecord>,
    baseline: Option<Baseline>,
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
                update: 0,
            })
            .samples
            .push(value);
        Ok(())
    }

    /// The samples recorded so far, by `name/metric`.
    pub fn samples(&self) -> &BTreeMap<String, BenchmarkRecord> {
        &self.samples
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
        compare(&[input], &self.thresholds, false).remove(0)
    }

    /// Compares `head` (for example the samples recorded here, saved as a
    /// baseline) with the baseline this recorder checks against, through
    /// [`compare_baselines`](crate::compare_baselines).
    pub fn compare(&self, head: &Baseline) -> Comparison {
        compare_baselines(self.baseline.as_ref(), head, &self.thresholds)
    }

    /// Writes the recorded samples as the baseline of `meta.commit` into `dir`
    /// (the metadata's own benchmarks are replaced by the recorded ones),
    /// merged into a file of that commit already there under the directory's
    /// lock ([`Baseline::save_merged`]): stored rows with more samples and
    /// rows this recorder did not measure are kept.
    ///
    /// # Errors
    /// As [`Baseline::save_merged`].
    pub fn save_baselines(&self, mut meta: Baseline, dir: &Path) -> Result<PathBuf, PerfError> {
        meta.benchmarks = self.samples.clone();
        meta.save_merged(dir, false).map(|(path, ..)| path)
    }

    /// The baseline this recorder compares against, if any.
    pub fn baseline(&self) -> Option<&Baseline> {
        self.baseline.as_ref()
    }
}
