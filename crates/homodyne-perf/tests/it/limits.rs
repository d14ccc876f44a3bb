//! Distance to the read limit: each benchmark beside its `read_limit` row.

use homodyne_perf::{BenchmarkRecord, Direction, limits_markdown, read_limit_of};

use crate::baseline::sample_baseline;

fn timed(samples: &[f64]) -> BenchmarkRecord {
    BenchmarkRecord { unit: "ns".to_owned(), direction: Direction::LowerIsBetter, samples: samples.to_vec(), update: 0 }
}

#[test]
fn a_benchmark_finds_its_own_limit_then_the_binarys() {
    let names = [
        "kernels/correlation_read_limit/10000/time",
        "angles/read_limit/100000/time",
        "kernels/chi_squared_batch_23x1m_read_limit/time",
    ];
    let has = |candidate: &str| names.contains(&candidate);
    assert_eq!(
        read_limit_of("kernels/correlation/10000/time", has).as_deref(),
        Some("kernels/correlation_read_limit/10000/time")
    );
    assert_eq!(
        read_limit_of("angles/simd_level/avx512/100000/time", has).as_deref(),
        Some("angles/read_limit/100000/time")
    );
    assert_eq!(
        read_limit_of("kernels/chi_squared_batch_23x1m/time", has).as_deref(),
        Some("kernels/chi_squared_batch_23x1m_read_limit/time")
    );
    assert_eq!(read_limit_of("kernels/correlation/1000/time", has), None, "no limit at that size");
    assert_eq!(read_limit_of("angles/read_limit/100000/time", has), None, "a limit has no limit");
    assert_eq!(read_limit_of("short", has), None);
}

#[test]
fn the_report_gives_the_distance_at_head_and_base() {
    let mut base = sample_baseline("aaaa");
    base.benchmarks.clear();
    base.benchmarks.insert("angles/vectorized/100000/time".to_owned(), timed(&[20.0, 21.0, 22.0]));
    base.benchmarks.insert("angles/read_limit/100000/time".to_owned(), timed(&[10.0, 10.0, 11.0]));
    let mut head = base.clone();
    head.benchmarks.insert("angles/vectorized/100000/time".to_owned(), timed(&[30.0, 30.0, 30.0]));
    // A benchmark without a limit row is not listed.
    head.benchmarks.insert("cache/hit/time".to_owned(), timed(&[5.0]));
    let markdown = limits_markdown(Some(&base), &head).expect("one row has a limit");
    assert!(markdown.contains("| angles/vectorized/100000/time | 3.00× | 2.10× | 1.429 |"), "{markdown}");
    assert!(!markdown.contains("cache/hit"));
    let head_only = limits_markdown(None, &head).expect("one row has a limit");
    assert!(head_only.contains("| angles/vectorized/100000/time | 3.00× | - | - |"), "{head_only}");
    head.benchmarks.remove("angles/read_limit/100000/time");
    assert_eq!(limits_markdown(None, &head), None);
}
