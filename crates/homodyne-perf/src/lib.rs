//! Benchmark baselines keyed to git commits, and regression verdicts that can
//! be trusted on noisy machines.
//!
//! Use it to decide whether a change made benchmarks slower: record one
//! sample per benchmark per process run ([`PerformanceRecorder`]), store
//! them as a [`Baseline`] (one TOML file per commit, every raw observation),
//! find the baseline to compare with through git ([`git`]), and [`compare`]:
//! each benchmark gets a [`Verdict`] with the ratio head/base, its 95%
//! confidence interval, Holm-adjusted p-values, a Mann–Whitney cross-check and
//! the smallest change the run could have detected. [`Comparison`] renders
//! it as Markdown, JSON, or the Bencher Metric Format.
//!
//! # The decision rule
//!
//! Timing noise only adds time and is often bimodal. Each side is reduced to
//! the log of its fastest 65% of samples (a slow-side trimmed mean with the
//! winsorised variance, Yuen's test); a regression needs the one-sided test
//! significant at `alpha = 0.01` after Holm's correction across the run's
//! benchmarks, *and* an estimated slowdown beyond the noise threshold (5%); a
//! significant slowdown beyond `regression_threshold` (×1.3) fails, between
//! the two it warns. Improvements use the mirror rule; a spread above 25%
//! makes a benchmark `Unstable`. Seeded simulations in the tests measure the
//! rates (false alarms, power, bimodal noise).
//!
//! # Example
//!
//! ```
//! use homodyne_perf::{Baseline, Metric, Outcome, PerformanceRecorder};
//! # fn meta(commit: &str) -> Baseline {
//! #     Baseline {
//! #         format_version: homodyne_perf::BASELINE_FORMAT_VERSION, commit: commit.into(), branch: None,
//! #         tags: vec![], dirty: false, timestamp: 0, rustc: "rustc".into(), target: "x86_64".into(),
//! #         profile: "bench".into(), machine: homodyne_perf::Machine { cpu: "cpu".into(), cores: 2, memory_bytes: 1 },
//! #         sampling: homodyne_perf::Sampling { runs: 10, sample: "median".into() }, benchmarks: Default::default(),
//! #     }
//! # }
//!
//! # fn main() -> Result<(), homodyne_perf::PerfError> {
//! let (mut base, mut head) = (PerformanceRecorder::default(), PerformanceRecorder::default());
//! for run in 0..10 {
//!     let jitter = 1.0 + 0.001 * f64::from(run % 5);
//!     base.record_metric("filter", Metric::Time, 1.00e-3 * jitter)?;
//!     head.record_metric("filter", Metric::Time, 1.25e-3 * jitter)?;
//! }
//! let mut base_file = meta("b");
//! base_file.benchmarks = base.samples().clone();
//! let mut head_file = meta("h");
//! head_file.benchmarks = head.samples().clone();
//!
//! let comparison = PerformanceRecorder::with_baseline(base_file).compare(&head_file);
//! assert!(matches!(comparison.verdicts[0].outcome, Outcome::Regression(_)));
//! assert!(comparison.to_markdown().contains("filter/time"));
//! # Ok(())
//! # }
//! ```
//!
//! # Crate features
//!
//! None.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod baseline;
mod compare;
mod error;
pub mod git;
mod recorder;
mod report;
pub mod stats;

pub use baseline::{BASELINE_FORMAT_VERSION, Baseline, BenchmarkRecord, Machine, Sampling};
pub use compare::{BenchmarkSamples, Direction, Outcome, Severity, Thresholds, Verdict, compare};
pub use error::PerfError;
pub use recorder::{Metric, PerformanceRecorder};
pub use report::{Comparison, Provenance, bencher_metric_format};
