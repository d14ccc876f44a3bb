//! `PerformanceRecorder`: the regression statistics of `homodyne-perf` for
//! a Python benchmark suite (the design document's API).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use homodyne_perf::{
    BASELINE_FORMAT_VERSION, Baseline, Machine, Metric, PerformanceRecorder as Recorder, Sampling, Severity, Update,
    Verdict,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors;

fn metric(name: &str) -> PyResult<Metric> {
    match name {
        "time" | "execution_time" => Ok(Metric::Time),
        "memory" | "memory_bytes" => Ok(Metric::Memory),
        "throughput" => Ok(Metric::Throughput),
        other => Err(PyValueError::new_err(format!(
            "unknown metric {other:?}: use 'execution_time' (or 'time', seconds), 'memory' (bytes) or 'throughput' (per second)"
        ))),
    }
}

/// The verdict on one benchmark: `outcome` is "regression", "improvement",
/// "unchanged", "undecided", "new", "missing" or "invalid"; `severity` is
/// "warn" or "fail" for a regression. True (in `if`) exactly for a regression.
#[pyclass(frozen, module = "homodyne_rs", get_all)]
#[derive(Debug, Clone)]
pub(crate) struct PerfVerdict {
    /// The benchmark, `name/metric`.
    name: String,
    /// The decision.
    outcome: &'static str,
    /// "warn" or "fail" for a regression, else None.
    severity: Option<&'static str>,
    /// Head over base of the robust geometric means.
    ratio: Option<f64>,
    /// 95% confidence interval of `ratio`.
    ratio_ci: Option<(f64, f64)>,
    /// Holm-adjusted p-value for a regression.
    p_regression: Option<f64>,
    /// Holm-adjusted p-value for an improvement.
    p_improvement: Option<f64>,
    /// The smallest relative change this comparison could detect.
    min_detectable_change: Option<f64>,
    /// 90% interval of `ratio` among each side's fastest runs.
    fastest_ratio_ci: Option<(f64, f64)>,
    /// Samples on each side.
    base_samples: usize,
    head_samples: usize,
}

impl From<&Verdict> for PerfVerdict {
    fn from(verdict: &Verdict) -> PerfVerdict {
        let (outcome, severity) = (verdict.outcome.name(), verdict.outcome.severity().map(Severity::name));
        PerfVerdict {
            name: verdict.name.clone(),
            outcome,
            severity,
            ratio: verdict.ratio,
            ratio_ci: verdict.ratio_ci,
            p_regression: verdict.p_regression,
            p_improvement: verdict.p_improvement,
            min_detectable_change: verdict.min_detectable_change,
            fastest_ratio_ci: verdict.fastest_ratio_ci,
            base_samples: verdict.base_samples,
            head_samples: verdict.head_samples,
        }
    }
}

#[pymethods]
impl PerfVerdict {
    fn __bool__(&self) -> PyResult<bool> {
        crate::guard::guard("PerfVerdict.__bool__", || Ok(self.outcome == "regression"))
    }

    fn __repr__(&self) -> PyResult<String> {
        crate::guard::guard("PerfVerdict.__repr__", || {
            Ok({
                let ratio = self.ratio.map_or_else(|| "-".to_owned(), |ratio| format!("{ratio:.3}"));
                format!("PerfVerdict({:?}: {}, ratio {ratio})", self.name, self.outcome)
            })
        })
    }
}

/// Records benchmark samples and judges them with `homodyne-perf`'s
/// statistics (exact permutation tests, Holm's correction over both
/// directions, a noise threshold): the design document's
/// `PerformanceRecorder`, with baselines in the same TOML files as
/// `cargo xtask regression`.
///
/// `baseline` is the path of a baseline file to compare against (or None).
/// Record one value per run (`record_metric`), then `check_regression` a
/// single value, `save_baselines`, or `compare` with another recorder.
#[pyclass(module = "homodyne_rs")]
pub(crate) struct PerformanceRecorder {
    recorder: Recorder,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

impl PerformanceRecorder {
    /// The recorded samples as a baseline of `commit`.
    fn as_baseline(&self, commit: String, branch: Option<String>, dirty: bool) -> Baseline {
        let runs = self.recorder.samples().values().map(|record| record.samples.len()).max().unwrap_or(0);
        Baseline {
            format_version: BASELINE_FORMAT_VERSION,
            commit,
            branch,
            tags: Vec::new(),
            dirty,
            timestamp: now(),
            rustc: "homodyne_rs (Python)".to_owned(),
            target: std::env::consts::ARCH.to_owned(),
            profile: "python".to_owned(),
            machine: Machine::current(),
            sampling: Sampling { runs, sample: "one value per record_metric call".to_owned() },
            updates: vec![Update {
                timestamp: now(),
                runs,
                command: "homodyne_rs.PerformanceRecorder.save_baselines".to_owned(),
                partial: false,
                quick: false,
            }],
            benchmarks: self.recorder.samples().clone(),
        }
    }
}

#[pymethods]
impl PerformanceRecorder {
    #[new]
    #[pyo3(signature = (baseline = None, *, regression_threshold = 1.3, noise = 0.05, alpha = 0.01))]
    fn new(baseline: Option<PathBuf>, regression_threshold: f64, noise: f64, alpha: f64) -> PyResult<Self> {
        crate::guard::guard("PerformanceRecorder", || {
            let mut recorder = match baseline {
                Some(path) => Recorder::load(&path).map_err(errors::perf)?,
                None => Recorder::default(),
            };
            recorder.thresholds.regression_threshold = regression_threshold;
            recorder.thresholds.noise = noise;
            recorder.thresholds.alpha = alpha;
            let this = PerformanceRecorder { recorder };
            this.check_thresholds()?;
            Ok(this)
        })
    }

    /// A significant slowdown by more than this factor fails (default 1.3).
    #[getter]
    fn regression_threshold(&self) -> PyResult<f64> {
        crate::guard::guard("PerformanceRecorder.regression_threshold", || {
            Ok(self.recorder.thresholds.regression_threshold)
        })
    }

    #[setter]
    fn set_regression_threshold(&mut self, value: f64) -> PyResult<()> {
        crate::guard::guard("PerformanceRecorder.set_regression_threshold", || {
            let old = self.recorder.thresholds.regression_threshold;
            self.recorder.thresholds.regression_threshold = value;
            self.check_thresholds().inspect_err(|_| self.recorder.thresholds.regression_threshold = old)
        })
    }

    /// Adds one sample (one run) of `metric` for benchmark `name`: metric
    /// "execution_time" (or "time", seconds), "memory" (bytes) or "throughput".
    fn record_metric(&mut self, name: &str, metric_name: &str, value: f64) -> PyResult<()> {
        crate::guard::guard("PerformanceRecorder.record_metric", || {
            self.recorder.record_metric(name, metric(metric_name)?, value).map_err(errors::perf)
        })
    }

    /// The verdict on one new `value` against the baseline's samples of the
    /// same benchmark and metric (true exactly for a regression).
    fn check_regression(&self, name: &str, metric_name: &str, value: f64) -> PyResult<PerfVerdict> {
        crate::guard::guard("PerformanceRecorder.check_regression", || {
            if !(value.is_finite() && value > 0.0) {
                return Err(PyValueError::new_err(format!("{name}: value {value} is not positive and finite")));
            }
            Ok(PerfVerdict::from(&self.recorder.check_regression(name, metric(metric_name)?, value)))
        })
    }

    /// The samples recorded so far: `{"name/metric": [values...]}`.
    fn samples<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        crate::guard::guard("PerformanceRecorder.samples", || {
            let dict = PyDict::new(py);
            for (name, record) in self.recorder.samples() {
                dict.set_item(name, record.samples.clone())?;
            }
            Ok(dict)
        })
    }

    /// Writes the recorded samples as the baseline of `commit` (default: the
    /// HEAD of the git repository containing the current directory) into
    /// `directory/<commit>.toml`, atomically. An existing file of that commit
    /// is merged into under an advisory lock of the directory, never
    /// overwritten with less: rows with more samples stay, and two processes
    /// saving at once both keep their rows. Returns the path.
    #[pyo3(signature = (directory = PathBuf::from("baselines"), *, commit = None))]
    fn save_baselines(&self, py: Python<'_>, directory: PathBuf, commit: Option<String>) -> PyResult<PathBuf> {
        crate::guard::guard("PerformanceRecorder.save_baselines", || {
            let (commit, branch, dirty) = match commit {
                Some(commit) if !commit.is_empty() && !commit.contains(['/', '\\']) => (commit, None, false),
                Some(commit) => return Err(PyValueError::new_err(format!("invalid commit name {commit:?}"))),
                None => {
                    let state = homodyne_perf::git::git_state(Path::new(".")).map_err(errors::perf)?;
                    (state.commit, state.branch, state.dirty)
                }
            };
            let baseline = self.as_baseline(commit, branch, dirty);
            // Merged under the directory's lock: concurrent saves (two
            // processes, one file) keep both sides' rows.
            py.detach(|| baseline.save_merged(&directory, false)).map(|(path, ..)| path).map_err(errors::perf)
        })
    }

    /// Compares `head` (another recorder, or the path of a baseline file)
    /// with this recorder's baseline. Returns `{"verdicts": [PerfVerdict...],
    /// "markdown": str, "regression": bool, "inconclusive": str or None}`.
    fn compare<'py>(&self, py: Python<'py>, head: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
        crate::guard::guard("PerformanceRecorder.compare", || {
            let head = if let Ok(other) = head.cast::<PerformanceRecorder>() {
                other.borrow().as_baseline("head".to_owned(), None, false)
            } else if let Ok(path) = head.extract::<PathBuf>() {
                py.detach(|| Baseline::load(&path)).map_err(errors::perf)?
            } else {
                return Err(PyTypeError::new_err("head must be a PerformanceRecorder or the path of a baseline file"));
            };
            let recorder = &self.recorder;
            let comparison = py.detach(|| recorder.compare(&head));
            let verdicts: Vec<PerfVerdict> = comparison.verdicts.iter().map(PerfVerdict::from).collect();
            let dict = PyDict::new(py);
            dict.set_item("verdicts", PyList::new(py, verdicts)?)?;
            dict.set_item("markdown", comparison.to_markdown())?;
            dict.set_item("regression", comparison.has_regression(Severity::Warn))?;
            dict.set_item("inconclusive", comparison.inconclusive())?;
            Ok(dict)
        })
    }
}

impl PerformanceRecorder {
    fn check_thresholds(&self) -> PyResult<()> {
        let t = &self.recorder.thresholds;
        if !(t.regression_threshold.is_finite() && t.regression_threshold > 1.0) {
            return Err(PyValueError::new_err(format!(
                "regression_threshold must be a factor above 1, got {}",
                t.regression_threshold
            )));
        }
        if !(t.noise.is_finite() && t.noise >= 0.0 && t.noise < 1.0) {
            return Err(PyValueError::new_err(format!("noise must be in [0, 1), got {}", t.noise)));
        }
        if !(t.alpha > 0.0 && t.alpha < 1.0) {
            return Err(PyValueError::new_err(format!("alpha must be in (0, 1), got {}", t.alpha)));
        }
        Ok(())
    }
}
