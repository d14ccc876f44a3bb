//! The recorder and the report.

use homodyne_perf::{Metric, Outcome, PerfError, PerformanceRecorder, Severity, bencher_metric_format};

use crate::baseline::sample_baseline;

fn with_samples(commit: &str, values: &[(&str, Metric, Vec<f64>)]) -> homodyne_perf::Baseline {
    let mut recorder = PerformanceRecorder::default();
    for (name, metric, samples) in values {
        for &value in samples {
            recorder.record_metric(name, *metric, value).unwrap();
        }
    }
    let mut baseline = sample_baseline(commit);
    baseline.benchmarks = recorder.samples().clone();
    baseline
}

fn around(center: f64, n: usize) -> Vec<f64> {
    homodyne_testkit::uniform(n, center.to_bits()).iter().map(|u| center * (1.0 + 0.01 * (u - 0.5))).collect()
}

#[test]
fn verdicts_regression_improvement_new_missing_and_the_report() {
    let base = with_samples(
        "base0000",
        &[
            ("filter", Metric::Time, around(1.0, 20)),
            ("objective", Metric::Time, around(2.0, 20)),
            ("codec", Metric::Throughput, around(3.0e9, 20)),
            ("gone", Metric::Time, around(1.0, 20)),
        ],
    );
    let head = with_samples(
        "head0000",
        &[
            ("filter", Metric::Time, around(1.5, 20)),
            ("objective", Metric::Time, around(2.0, 20)),
            ("codec", Metric::Throughput, around(3.6e9, 20)),
            ("fresh", Metric::Time, around(1.0, 20)),
        ],
    );
    let recorder = PerformanceRecorder::with_baseline(base);
    let comparison = recorder.compare(&head);
    let outcome = |name: &str| comparison.verdicts.iter().find(|v| v.name == name).unwrap().outcome;
    assert_eq!(outcome("filter/time"), Outcome::Regression(Severity::Fail));
    assert_eq!(outcome("objective/time"), Outcome::Unchanged);
    assert_eq!(outcome("codec/throughput"), Outcome::Improvement);
    assert_eq!(outcome("gone/time"), Outcome::Missing);
    assert_eq!(outcome("fresh/time"), Outcome::New);
    assert!(comparison.has_regression(Severity::Fail));
    assert_eq!(comparison.verdicts[0].name, "filter/time", "most severe first");
    let filter = &comparison.verdicts[0];
    let (low, high) = filter.ratio_ci.unwrap();
    assert!(low < 1.5 && 1.5 < high && (filter.ratio.unwrap() - 1.5).abs() < 0.02);

    let markdown = comparison.to_markdown();
    assert!(markdown.contains("| filter/time | FAIL regression |"), "{markdown}");
    assert!(markdown.contains("base `base0000`"));
    let json: serde_json::Value = serde_json::from_str(&comparison.to_json()).unwrap();
    assert_eq!(json["verdicts"][0]["outcome"]["kind"], "regression");
    let bencher: serde_json::Value = serde_json::from_str(&bencher_metric_format(&head)).unwrap();
    assert!(bencher["filter/time"]["latency"]["value"].as_f64().unwrap() > 1.4);
    assert!(bencher["codec/throughput"]["throughput"]["lower_value"].is_number());
}

#[test]
fn a_single_new_value_is_judged_by_the_prediction_interval() {
    let base = with_samples("base", &[("step", Metric::Time, around(1.0, 20))]);
    let recorder = PerformanceRecorder::with_baseline(base);
    assert_eq!(recorder.check_regression("step", Metric::Time, 1.001).outcome, Outcome::Unchanged);
    assert!(matches!(
        recorder.check_regression("step", Metric::Time, 1.2).outcome,
        Outcome::Regression(Severity::Warn)
    ));
    assert!(matches!(
        recorder.check_regression("step", Metric::Time, 2.0).outcome,
        Outcome::Regression(Severity::Fail)
    ));
    assert_eq!(recorder.check_regression("other", Metric::Time, 1.0).outcome, Outcome::New);
    let mut recorder = recorder;
    assert!(matches!(recorder.record_metric("step", Metric::Time, -1.0), Err(PerfError::Invalid { .. })));
    assert!(recorder.record_metric("step", Metric::Time, f64::NAN).is_err());
}

#[test]
fn save_baselines_then_load() {
    let dir = std::env::temp_dir().join(format!("homodyne-perf-recorder-{}", std::process::id()));
    let mut recorder = PerformanceRecorder::default();
    recorder.record_metric("a", Metric::Memory, 1024.0).unwrap();
    recorder.record_metric("a", Metric::Memory, 1030.0).unwrap();
    let path = recorder.save_baselines(sample_baseline("cafe"), &dir).unwrap();
    let loaded = PerformanceRecorder::load(&path).unwrap();
    assert_eq!(loaded.check_regression("a", Metric::Memory, 1027.0).base_samples, 2);
    // A second recorder of the same commit: its row joins, the stored row
    // with more samples than its one is kept.
    let mut other = PerformanceRecorder::default();
    other.record_metric("a", Metric::Memory, 2000.0).unwrap();
    other.record_metric("b", Metric::Time, 1e-3).unwrap();
    other.save_baselines(sample_baseline("cafe"), &dir).unwrap();
    let merged = PerformanceRecorder::load(&path).unwrap();
    assert_eq!(merged.check_regression("a", Metric::Memory, 1027.0).base_samples, 2, "not overwritten with less");
    assert_eq!(merged.check_regression("b", Metric::Time, 1e-3).base_samples, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn outcome_names_are_their_serialised_kinds() {
    use homodyne_perf::{Outcome, Severity};
    let all = [
        Outcome::Regression(Severity::Warn),
        Outcome::Regression(Severity::Fail),
        Outcome::Improvement,
        Outcome::Unchanged,
        Outcome::Undecided,
        Outcome::New,
        Outcome::Missing,
        Outcome::Invalid,
    ];
    for outcome in all {
        let json = serde_json::to_value(outcome).unwrap();
        assert_eq!(json["kind"], outcome.name(), "{json}");
        let severity = outcome.severity().map(Severity::name);
        assert_eq!(json.get("severity").and_then(|value| value.as_str()), severity, "{json}");
    }
    assert_eq!(Outcome::Regression(Severity::Fail).severity(), Some(Severity::Fail));
}
