//! Baseline files: round trip and every kind of damage.

use std::collections::BTreeMap;

use homodyne_perf::{Baseline, BenchmarkRecord, Direction, Machine, PerfError, Sampling, Update};
use proptest::prelude::*;

pub(crate) fn sample_baseline(commit: &str) -> Baseline {
    let mut benchmarks = BTreeMap::new();
    benchmarks.insert(
        "angles/hybrid/100000".to_owned(),
        BenchmarkRecord {
            unit: "ns".to_owned(),
            direction: Direction::LowerIsBetter,
            samples: vec![26_100.0, 26_250.5, 29_300.0],
            update: 0,
        },
    );
    benchmarks.insert(
        "cache/codec/compress".to_owned(),
        BenchmarkRecord {
            unit: "GB/s".to_owned(),
            direction: Direction::HigherIsBetter,
            samples: vec![3.4, 3.5],
            update: 0,
        },
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
        updates: vec![Update {
            timestamp: 1_764_000_000,
            runs: 3,
            command: "cargo xtask baseline-update".to_owned(),
            partial: false,
            quick: false,
        }],
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

    std::fs::write(&path, text.replace("format_version = 2", "format_version = 7")).unwrap();
    assert!(matches!(Baseline::load(&path), Err(PerfError::UnsupportedVersion { version: 7, .. })));

    std::fs::write(&path, text.replace("rustc = \"rustc 1.95.0\"\n", "")).unwrap();
    let error = Baseline::load(&path).unwrap_err();
    assert!(error.to_string().contains("rustc"), "a missing field is named: {error}");

    std::fs::write(&path, text.replace("format_version = 2\n", "")).unwrap();
    assert!(Baseline::load(&path).unwrap_err().to_string().contains("format_version"));

    std::fs::remove_file(&path).unwrap();
    assert!(matches!(Baseline::load(&path), Err(PerfError::Io { .. })));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A version 1 file as `cargo xtask` wrote it: divan's nanosecond medians
/// under `unit = "s"`. It loads with the unit it meant, and one update.
#[test]
fn version_1_files_load_with_their_real_units() {
    let text = r#"format_version = 1
commit = "0123456789abcdef0123456789abcdef01234567"
dirty = false
timestamp = 1764000000
rustc = "rustc 1.95.0"
target = "x86_64-unknown-linux-gnu"
profile = "bench"

[machine]
cpu = "Intel(R) Xeon(R) Processor"
cores = 2
memory_bytes = 25000000000

[sampling]
runs = 5
sample = "median of one divan process run, ns"

[benchmarks."kernels/correlation/10000/time"]
unit = "s"
direction = "lower_is_better"
samples = [2246.0, 2240.5, 2251.0, 2249.0, 2244.0]

[benchmarks."recorded/time"]
unit = "B"
direction = "lower_is_better"
samples = [1024.0]
"#;
    let baseline = Baseline::parse(text).unwrap();
    assert_eq!(baseline.format_version, 2);
    assert_eq!(baseline.benchmarks["kernels/correlation/10000/time"].unit, "ns");
    assert_eq!(baseline.benchmarks["recorded/time"].unit, "B");
    assert_eq!(baseline.updates.len(), 1);
    assert_eq!(baseline.updates[0].runs, 5);
    // A recorder's version 1 file meant seconds: it keeps them.
    let recorder_file = text.replace("median of one divan process run, ns", "one sample per run");
    assert_eq!(Baseline::parse(&recorder_file).unwrap().benchmarks["kernels/correlation/10000/time"].unit, "s");
}

/// A partial update merges: the rows it measured are replaced (unless the
/// stored ones have more samples), the others kept, and each row says which
/// update produced it.
#[test]
fn merging_keeps_what_a_partial_update_did_not_measure() {
    let stored = sample_baseline("abc");
    let mut partial = sample_baseline("abc");
    partial.benchmarks.remove("cache/codec/compress");
    partial.benchmarks.get_mut("angles/hybrid/100000").unwrap().samples = vec![1.0, 2.0, 3.0, 4.0];
    partial.benchmarks.insert(
        "angles/new".to_owned(),
        BenchmarkRecord { unit: "ns".to_owned(), direction: Direction::LowerIsBetter, samples: vec![5.0], update: 0 },
    );
    partial.updates[0].command = "cargo xtask baseline-update --filter angles".to_owned();
    partial.updates[0].partial = true;
    let (merged, report) = stored.clone().merge(partial.clone(), false).unwrap();
    assert_eq!(report.replaced, ["angles/hybrid/100000"]);
    assert_eq!(report.added, ["angles/new"]);
    assert!(report.kept.is_empty());
    assert_eq!(merged.benchmarks["cache/codec/compress"], stored.benchmarks["cache/codec/compress"]);
    assert_eq!(merged.benchmarks["angles/hybrid/100000"].samples, [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(merged.updates.len(), 2);
    assert_eq!(merged.benchmarks["angles/hybrid/100000"].update, 1);
    assert_eq!(merged.benchmarks["cache/codec/compress"].update, 0);
    assert!(merged.updates[1].command.contains("--filter angles"));

    // Fewer samples never replace more, unless forced.
    let mut quick = sample_baseline("abc");
    quick.benchmarks.get_mut("angles/hybrid/100000").unwrap().samples = vec![9.0];
    let (kept, report) = merged.clone().merge(quick.clone(), false).unwrap();
    assert_eq!(report.kept, ["angles/hybrid/100000"]);
    assert_eq!(kept.benchmarks["angles/hybrid/100000"].samples, [1.0, 2.0, 3.0, 4.0]);
    let (forced, _) = merged.merge(quick, true).unwrap();
    assert_eq!(forced.benchmarks["angles/hybrid/100000"].samples, [9.0]);

    // Another commit or another machine is refused.
    assert!(stored.clone().merge(sample_baseline("def"), false).is_err());
    let mut elsewhere = sample_baseline("abc");
    elsewhere.machine.cpu = "AMD EPYC".to_owned();
    let error = stored.merge(elsewhere, false).unwrap_err();
    assert!(error.to_string().contains("another machine"), "{error}");
}

/// Looking for a baseline file tells "none there" from "cannot look".
#[test]
fn file_exists_reports_errors_instead_of_absence() {
    let dir = temp_dir("exists");
    std::fs::create_dir_all(&dir).unwrap();
    assert!(!homodyne_perf::file_exists(&dir.join("none.toml")).unwrap());
    std::fs::write(dir.join("there.toml"), "x").unwrap();
    assert!(homodyne_perf::file_exists(&dir.join("there.toml")).unwrap());
    // A file where the baselines directory should be, and a directory where a file should be.
    std::fs::write(dir.join("not-a-dir"), "x").unwrap();
    assert!(matches!(homodyne_perf::file_exists(&dir.join("not-a-dir").join("a.toml")), Err(PerfError::Io { .. })));
    std::fs::create_dir_all(dir.join("dir.toml")).unwrap();
    assert!(matches!(homodyne_perf::file_exists(&dir.join("dir.toml")), Err(PerfError::Io { .. })));
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    // 25,000 cases each (about a second each here): the parser of files
    // that other tools, other versions and damaged disks hand us.
    #![proptest_config(ProptestConfig { cases: 25_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Arbitrary bytes are a typed error or a baseline, never a panic.
    #[test]
    fn arbitrary_text_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = Baseline::parse(&text);
    }

    /// A valid file with bytes flipped, inserted or cut: no panic, and what
    /// loads compares without panicking.
    #[test]
    fn mutated_files_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut text = toml::to_string(&sample_baseline("0123456789abcdef")).unwrap().into_bytes();
        for (at, byte, kind) in edits {
            let position = at.index(text.len().max(1));
            match kind {
                0 if position < text.len() => text[position] = byte,
                1 => text.insert(position.min(text.len()), byte),
                _ if position < text.len() => { text.remove(position); }
                _ => {}
            }
        }
        let keep = cut.index(text.len() + 1);
        text.truncate(keep.max(text.len() / 2));
        if let Ok(baseline) = Baseline::parse(&String::from_utf8_lossy(&text)) {
            let comparison = homodyne_perf::compare_baselines(Some(&baseline), &baseline, &homodyne_perf::Thresholds::default());
            let _ = comparison.to_markdown();
        }
    }
}

/// Eight threads save baselines of one commit at once, each with rows of
/// its own: every row is in the file at the end (the merge runs under the
/// directory's lock; without it, the last writer's file would lack the
/// others' rows whenever two load-merge-save sequences overlap).
#[test]
fn concurrent_merged_saves_lose_no_row() {
    let dir = temp_dir("concurrent");
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let threads: Vec<_> = (0..8)
        .map(|thread| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                for round in 0..5 {
                    let mut baseline = sample_baseline(commit);
                    baseline.benchmarks = baseline
                        .benchmarks
                        .into_iter()
                        .map(|(name, record)| (format!("{name}/{thread}/{round}"), record))
                        .collect();
                    baseline.save_merged(&dir, false).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let stored = Baseline::load(&Baseline::path_in(&dir, commit)).unwrap();
    assert_eq!(stored.benchmarks.len(), 2 * 8 * 5, "{:?}", stored.benchmarks.keys().collect::<Vec<_>>());
    std::fs::remove_dir_all(&dir).unwrap();
}
