//! Exact counts (instructions under Callgrind): decided by a threshold, beside the wall-time statistics.

use homodyne_perf::{
    BenchmarkRecord, BenchmarkSamples, COUNT_FLOOR, Direction, INSTRUCTIONS, Outcome, Severity, Thresholds,
    compare_baselines, compare_counts,
};

use crate::baseline::sample_baseline;

/// One instruction count as a baseline row.
fn record(value: f64) -> BenchmarkRecord {
    BenchmarkRecord {
        unit: INSTRUCTIONS.to_owned(),
        direction: Direction::LowerIsBetter,
        samples: vec![value],
        update: 0,
    }
}

fn counts(base: f64, head: f64) -> BenchmarkSamples {
    BenchmarkSamples {
        name: "k/instructions".to_owned(),
        direction: Direction::LowerIsBetter,
        base: vec![base],
        head: vec![head],
    }
}

#[test]
fn a_change_beyond_the_threshold_is_decided_without_statistics() {
    let thresholds = Thresholds::default();
    assert_eq!(compare_counts(&counts(1_000_000.0, 1_000_000.0), &thresholds, false).outcome, Outcome::Unchanged);
    assert_eq!(compare_counts(&counts(1_000_000.0, 1_009_999.0), &thresholds, false).outcome, Outcome::Unchanged);
    let two_percent = compare_counts(&counts(1_000_000.0, 1_020_000.0), &thresholds, false);
    assert_eq!(two_percent.outcome, Outcome::Regression(Severity::Warn));
    assert_eq!(two_percent.ratio, Some(1.02));
    assert_eq!(compare_counts(&counts(1e6, 1.5e6), &thresholds, false).outcome, Outcome::Regression(Severity::Fail));
    assert_eq!(compare_counts(&counts(1e6, 0.98e6), &thresholds, false).outcome, Outcome::Improvement);
    let mut strict = thresholds.clone();
    strict.noise_overrides.insert("k/instructions".to_owned(), 0.001);
    assert_eq!(compare_counts(&counts(1e6, 1.002e6), &strict, false).outcome, Outcome::Regression(Severity::Warn));
    let new = BenchmarkSamples { base: vec![], ..counts(1.0, 1.0) };
    assert_eq!(compare_counts(&new, &thresholds, false).outcome, Outcome::New);
    let missing = BenchmarkSamples { head: vec![], ..counts(1.0, 1.0) };
    assert_eq!(compare_counts(&missing, &thresholds, false).outcome, Outcome::Missing);
    assert_eq!(compare_counts(&counts(f64::NAN, 1.0), &thresholds, false).outcome, Outcome::Invalid);
    // A few events more or less (cache misses of a tiny benchmark) are no finding.
    assert_eq!(compare_counts(&counts(3.0, 3.0 + COUNT_FLOOR), &thresholds, false).outcome, Outcome::Unchanged);
    assert_eq!(compare_counts(&counts(0.0, 10.0), &thresholds, false).outcome, Outcome::Unchanged);
    assert_eq!(compare_counts(&counts(0.0, 1000.0), &thresholds, false).outcome, Outcome::Regression(Severity::Fail));
}

#[test]
fn baselines_judge_counts_by_threshold_and_times_by_statistics() {
    let mut base = sample_baseline("base");
    let mut head = sample_baseline("head");
    base.benchmarks.insert("angles/hybrid/100000/instructions".to_owned(), record(2_000_000.0));
    head.benchmarks.insert("angles/hybrid/100000/instructions".to_owned(), record(2_040_000.0));
    base.benchmarks.insert("kernels/correlation/10000/instructions".to_owned(), record(50_000.0));
    head.benchmarks.insert("kernels/correlation/10000/instructions".to_owned(), record(50_000.0));
    let comparison = compare_baselines(Some(&base), &head, &Thresholds::default());
    let outcome = |name: &str| comparison.verdicts.iter().find(|verdict| verdict.name == name).unwrap().outcome;
    assert_eq!(outcome("angles/hybrid/100000/instructions"), Outcome::Regression(Severity::Warn));
    assert_eq!(outcome("kernels/correlation/10000/instructions"), Outcome::Unchanged);
    // One count sample cannot be tested statistically; the time rows still are (3 vs 3 samples: undecided).
    assert_ne!(outcome("angles/hybrid/100000"), Outcome::Invalid);
    assert!(comparison.has_regression(Severity::Warn));
}

#[test]
fn the_report_puts_both_lenses_side_by_side() {
    let mut base = sample_baseline("base");
    let mut head = sample_baseline("head");
    // The time row under divan's name, `<name>/time`, on both sides.
    let time = base.benchmarks.remove("angles/hybrid/100000").unwrap();
    base.benchmarks.insert("angles/hybrid/100000/time".to_owned(), time.clone());
    head.benchmarks.remove("angles/hybrid/100000");
    head.benchmarks.insert("angles/hybrid/100000/time".to_owned(), time);
    base.benchmarks.insert("angles/hybrid/100000/instructions".to_owned(), record(1000.0));
    head.benchmarks.insert("angles/hybrid/100000/instructions".to_owned(), record(1030.0));
    let comparison = compare_baselines(Some(&base), &head, &Thresholds::default());
    let paths = [("angles/hybrid/100000".to_owned(), "avx2".to_owned())].into_iter().collect();
    let table = comparison.lenses_markdown(&paths).unwrap();
    assert!(table.contains("| angles/hybrid/100000 | undecided | 1.0000 | regression | 1.0300 | avx2 |"), "{table}");
    assert!(table.contains("AVX-512"));
    assert!(
        compare_baselines(Some(&sample_baseline("b")), &sample_baseline("h"), &Thresholds::default())
            .lenses_markdown(&paths)
            .is_none()
    );
}
