//! What the unit tests share: a baseline made of given rows.

use homodyne_perf::{BASELINE_FORMAT_VERSION, Baseline, BenchmarkRecord, Direction, Machine, Sampling};

/// A baseline of `commit` at `timestamp` with rows (name, unit, samples),
/// lower is better, on one made-up machine.
pub(crate) fn baseline(commit: &str, timestamp: u64, rows: &[(&str, &str, Vec<f64>)]) -> Baseline {
    Baseline {
        format_version: BASELINE_FORMAT_VERSION,
        commit: commit.to_owned(),
        branch: None,
        tags: Vec::new(),
        dirty: false,
        timestamp,
        rustc: "rustc 1.95.0".to_owned(),
        target: "x86_64-unknown-linux-gnu".to_owned(),
        profile: "bench".to_owned(),
        machine: Machine { cpu: "cpu".to_owned(), cores: 2, memory_bytes: 1 << 34 },
        sampling: Sampling { runs: 8, sample: "median".to_owned() },
        updates: Vec::new(),
        benchmarks: rows
            .iter()
            .map(|(name, unit, samples)| {
                let record = BenchmarkRecord {
                    unit: (*unit).to_owned(),
                    direction: Direction::LowerIsBetter,
                    samples: samples.clone(),
                    update: 0,
                };
                ((*name).to_owned(), record)
            })
            .collect(),
    }
}

/// Eight samples within ±0.4% of `center`.
pub(crate) fn around(center: f64) -> Vec<f64> {
    [0.0, 0.002, -0.003, 0.004, -0.001, 0.003, 0.001, -0.002].iter().map(|offset| center * (1.0 + offset)).collect()
}
