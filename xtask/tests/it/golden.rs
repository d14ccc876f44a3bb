//! The divan parser on real outputs of this workspace's benches and on a
//! threads layout.

use crate::divan;

fn check(file: &str, expected: &[(&str, f64)], total: usize) {
    let text = std::fs::read_to_string(format!("{}/tests/golden/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let rows = divan::parse(&text).unwrap();
    assert_eq!(rows.len(), total, "{file}: {rows:#?}");
    for (path, median_ns) in expected {
        let row = rows.iter().find(|row| row.path == *path).unwrap_or_else(|| panic!("{file}: no {path} in {rows:#?}"));
        assert!((row.median_ns - median_ns).abs() <= 1e-9 * median_ns, "{path}: {} vs {median_ns}", row.median_ns);
    }
}

#[test]
fn nested_groups_args_and_counters() {
    check(
        "angles.txt",
        &[
            ("angles/hybrid/1000", 2092.0),
            ("angles/hybrid/1000000", 725_500.0),
            ("angles/scalar/1000000", 7_228_000.0),
            ("angles/simd_level/portable/100000", 165_200.0),
        ],
        19,
    );
}

#[test]
fn tuple_args_and_benches_without_args() {
    check(
        "kernels.txt",
        &[
            ("kernels/objective/(23, 1000)", 14_940_000.0),
            ("kernels/chi_squared_batch_23x1m", 16_310_000.0),
            ("kernels/correlation/100", 119.8),
        ],
        14,
    );
}

#[test]
fn string_args_bytes_counters_and_deep_groups() {
    check(
        "cache.txt",
        &[
            ("cache/codec/decompress_8mb/smooth", 1_864_000.0),
            ("cache/get_or_insert_with_hit", 149.4),
            ("cache/get_hit_raw/8388608", 146.5),
        ],
        10,
    );
}

#[test]
fn threads_and_every_unit() {
    check(
        "threads.txt",
        &[("sync/contended/t=1", 13.0), ("sync/contended/t=2", 44.5), ("sync/contended/t=4", 1_250_000.0)],
        3,
    );
}

#[test]
fn output_without_a_table_is_an_error() {
    assert!(divan::parse("error: no benchmarks\n").is_err());
    assert!(divan::parse("x fastest │ slowest │ median\n├─ a   1 parsec │ 2 ns │ 3 lightyears │\n").is_err());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]

    /// Arbitrary text, and real outputs with characters flipped, inserted or
    /// cut, are an error or rows, never a panic.
    #[test]
    fn the_parser_never_panics(
        text in "\\PC{0,300}",
        edits in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<char>()), 0..8),
        keep in proptest::prelude::any::<proptest::sample::Index>(),
    ) {
        let _ = divan::parse(&text);
        let golden = std::fs::read_to_string(format!("{}/tests/golden/kernels.txt", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let mut chars: Vec<char> = golden.chars().collect();
        for (at, replacement) in edits {
            let position = at.index(chars.len());
            if position % 2 == 0 { chars[position] = replacement; } else { chars.insert(position, replacement); }
        }
        chars.truncate(keep.index(chars.len() + 1));
        let mutated: String = chars.into_iter().collect();
        if let Ok(rows) = divan::parse(&mutated) {
            for row in rows {
                proptest::prop_assert!(!row.path.is_empty());
            }
        }
    }
}
