//! Working memory of the codec, measured with a counting allocator, and the
//! targets that the benchmarks time (ratio on smooth data).

use homodyne_cache::{array_key, compress, decompress};
use homodyne_testkit::{CountingAllocator, peak_allocation};
use ndarray::{Array1, Array2};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// One chunk of the codec (1 MiB of raw bytes).
const CHUNK: usize = 1 << 20;

/// Small bookkeeping allocations (the test harness's, the codec's few words).
const SLACK: usize = 4096;

fn smooth(n: usize) -> Vec<f64> {
    (0..n).map(|i| 1.0 + 0.3 * (-(i as f64) / (n as f64 / 8.0)).exp()).collect()
}

#[test]
fn compressing_and_decompressing_need_at_most_the_raw_size_plus_one_chunk() {
    for n in [8 * CHUNK / 8, CHUNK / 8 + 5, 20_000] {
        let values = smooth(n);
        let raw = n * 8;
        let (compressed, peak) = peak_allocation(|| compress(&values, 1));
        let compressed = compressed.expect("smooth data compresses");
        assert!(peak <= raw + CHUNK + SLACK, "compress {raw} B: peak {peak} B");
        let (restored, peak) = peak_allocation(|| decompress::<f64>(&compressed, n));
        assert!(peak <= raw + CHUNK + SLACK, "decompress {raw} B: peak {peak} B");
        assert_eq!(restored.unwrap(), values);
    }
}

#[test]
fn smooth_curves_compress_at_least_1_7_to_1() {
    for level in [1, 9] {
        let compressed = compress(&smooth(1 << 20), level).unwrap();
        assert!(compressed.ratio() >= 1.7, "level {level}: ratio {}", compressed.ratio());
        assert!(compressed.shuffled());
    }
}

#[test]
fn array_keys_tell_content_shape_and_dtype_apart() {
    let a = Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f64);
    let same = a.clone();
    let reshaped = a.clone().into_shape_with_order((4, 3)).unwrap();
    let as_f32 = a.mapv(|v| v as f32);
    let mut changed = a.clone();
    changed[[2, 3]] = 11.5;
    let flat = Array1::from_iter(a.iter().copied());
    let keys = [
        array_key(&[&a]),
        array_key(&[&reshaped]),
        array_key(&[&as_f32]),
        array_key(&[&changed]),
        array_key(&[&flat]),
        array_key(&[&a, &a]),
        array_key(&[&a.t()]),
    ];
    assert_eq!(array_key(&[&a]), array_key(&[&same]));
    for (first, left) in keys.iter().enumerate() {
        for right in &keys[first + 1..] {
            assert_ne!(left, right);
        }
    }
    // A view and a copy of the same logical array share the key.
    assert_eq!(array_key(&[&a.t()]), array_key(&[&a.t().to_owned()]));
}
