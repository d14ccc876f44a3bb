//! Benchmark baselines keyed to git commits, and regression verdicts that can
//! be trusted on noisy machines.
//!
//! Use it to decide whether a change made benchmarks slower: record one
//! sample per benchmark per process run ([`PerformanceRecorder`]), store
//! them as a [`Baseline`] (one TOML file per commit, every raw observation,
//! partial updates merged in, never overwritten with less), find the
//! baseline to compare with through git ([`git`]), and compare
//! ([`compare_baselines`]): each benchmark gets a [`Verdict`] with the
//! ratio head/base, its 95% interval, Holm-adjusted p-values and the
//! smallest change the comparison could have detected. [`Comparison`]
//! renders it as Markdown, JSON, or the Bencher Metric Format.
//!
//! # The decision rule
//!
//! Timing noise only adds time: it is skewed, often bimodal, sometimes
//! spiky, sometimes quantised by a coarse timer. No shape is assumed. On
//! the log of each sample (ratios, not differences), a rank-sum permutation
//! test gives p-values that are exact under "no change" whatever the noise
//! ([`stats::rank_sum_test`]: runs far above the rest count as neither fast
//! nor slow), with the Hodges–Lehmann estimate of the change and its
//! distribution-free 95% interval. Holm's correction runs over both
//! directions of every benchmark, so the probability that a comparison
//! calls anything a regression or an improvement when nothing changed is at
//! most `alpha` (0.01). A regression also needs an estimated change beyond
//! the noise threshold (5%); beyond `regression_threshold` (×1.3) it fails,
//! between the two it warns. `Unchanged` needs the change shown to lie within
//! the noise threshold (two one-sided tests at 5%: the 90% interval); anything else is `Undecided`, and more runs decide
//! it. Seeded simulations in the tests measure the rates: 1000 suites of 20
//! benchmarks per noise shape, at most 1% of suites with a false alarm in
//! either direction, 10% slowdowns found in at least 95%.
//!
//! With 5 runs a side there are only 252 assignments of the runs to the
//! sides, so no p-value is below 1/252 = 0.004: such a comparison can call
//! benchmarks unchanged, never regressed, once Holm's correction covers more
//! than a benchmark. With 10 a side there are 184,756, and changes are
//! decided at Holm's level.
//!
//! **Machine speed guard.** Canary benchmarks (pure arithmetic) measure the
//! machine: when they moved between base and head, the verdicts are made
//! on head samples divided by their factor, or, if they moved unevenly, the
//! comparison is inconclusive ([`compare_baselines`]).
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
//! #         sampling: homodyne_perf::Sampling { runs: 10, sample: "median".into() }, updates: vec![],
//! #         benchmarks: Default::default(),
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
mod units;

pub use baseline::{
    BASELINE_FORMAT_VERSION, Baseline, BenchmarkRecord, Machine, MergeReport, Sampling, Update, file_exists,
    write_atomically,
};
pub use compare::{
    BenchmarkSamples, COUNT_FLOOR, Comparison, Outcome, Provenance, Severity, SpeedCheck, Thresholds, Verdict, compare,
    compare_baselines, compare_counts,
};
pub use error::PerfError;
pub use recorder::{Metric, PerformanceRecorder};
pub use report::{bencher_metric_format, limits_markdown, read_limit_of};
pub use units::{Direction, INSTRUCTIONS, is_exact_count, time_factor};
