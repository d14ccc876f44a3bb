//! Baseline files: round trip and every kind of damage.

use std::collections::BTreeMap;

use homodyne_perf::{Baseline, BenchmarkRecord, Direction, Machine, PerfError, Sampling};

pub(crate) fn sample_baseline(commit: &str) -> Baseline {
    let mut benchmarks = BTreeMap::new();
    benchmarks.insert(
        "angles/hybrid/100000".to_owned(),
        BenchmarkRecord {
            unit: "ns".to_owned(),
            direction: Direction::LowerIsBetter,
            samples: vec![26_100.0, 26_250.5, 29_300.0],
        },
    );
    benchmarks.insert(
        "cache/codec/compress".to_owned(),
        BenchmarkRecord { unit: "GB/s".to_owned(), direction: Direction::HigherIsBetter, samples: vec![3.4, 3.5] },
    );
    Baseline {
        format_version: homodyne_perf::BASELINE_FORMAT_VERSION,
        commit: commit.to_owned(),
        branch: Some("main".to_owned()),
        tags: vec!["perf-baseline/v1".to_owned()],
        dirty: false,
        timestamp: 1_764_000_000,
        rustc: "rustc 1.95.0".to_owned(),
        target: "x86_64-unknown-linux-gnu".to_owned(),
        profile: "bench".to_owned(),
        machine: Machine { cpu: "Intel Xeon".to_owned(), cores: 2, memory_bytes: 24 << 30 },
        sampling: Sampling { runs: 3, sample: "median of a divan run".to_owned() },
        benchmarks,
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("homodyne-perf-baseline-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn round_trip() {
    let dir = temp_dir("roundtrip");
    let baseline = sample_baseline("0123456789abcdef0123456789abcdef01234567");
    let path = baseline.save(&dir).unwrap();
    assert!(path.ends_with("0123456789abcdef0123456789abcdef01234567.toml"));
    assert_eq!(Baseline::load(&path).unwrap(), baseline);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damaged_files_are_typed_errors_naming_the_file() {
    let dir = temp_dir("damage");
    let path = sample_baseline("abc").save(&dir).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();

    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    let error = Baseline::load(&path).unwrap_err();
    assert!(matches!(error, PerfError::Corrupt { .. }), "{error}");
    assert!(error.to_string().contains("abc.toml"));

    std::fs::write(&path, text.replace("format_version = 1", "format_version = 7")).unwrap();
    assert!(matches!(Baseline::load(&path), Err(PerfError::UnsupportedVersion { version: 7, .. })));

    std::fs::write(&path, text.replace("rustc = \"rustc 1.95.0\"\n", "")).unwrap();
    let error = Baseline::load(&path).unwrap_err();
    assert!(error.to_string().contains("rustc"), "a missing field is named: {error}");

    std::fs::write(&path, text.replace("format_version = 1\n", "")).unwrap();
    assert!(Baseline::load(&path).unwrap_err().to_string().contains("format_version"));

    std::fs::remove_file(&path).unwrap();
    assert!(matches!(Baseline::load(&path), Err(PerfError::Io { .. })));
    std::fs::remove_dir_all(&dir).unwrap();
}
