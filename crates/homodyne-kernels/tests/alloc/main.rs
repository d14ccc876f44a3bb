//! Allocation behaviour of the fused objective: nothing after the first
//! evaluation, on any thread, and a footprint far below the data's size.
//!
//! A binary of its own: the allocation counter is process-wide (the fused
//! pass runs on rayon's workers), so no other test may run beside this one.

use homodyne_kernels::{
    ChiSquaredObjective, FlowMode, ModelConfig, ObjectiveConfig, ObjectiveValue, SigmaRule, SincConvention,
};
use homodyne_testkit::{CountingAllocator, allocation_count, peak_allocation};
use ndarray::Array3;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn repeated_evaluation_allocates_nothing_on_any_thread_and_the_footprint_is_small() {
    let n_frames = 200;
    let model = ModelConfig {
        n_frames,
        dt: 0.1,
        wavevector_q: 0.0054,
        stator_rotor_gap: 2e6,
        mode: FlowMode::LaminarFlow,
        sinc: SincConvention::Normalized,
    };
    let phi: Vec<f64> = (0..8).map(|a| f64::from(a) * 25.0).collect();
    let data =
        Array3::from_shape_fn((8, n_frames, n_frames), |(a, i, j)| 1.0 + 0.1 / (1.0 + (i.abs_diff(j) + a) as f64));
    let data_bytes = data.len() * size_of::<f64>();
    let params = [2e4, 0.3, 50.0, 2e-4, 0.25, 5e-5, 2.0];
    let selected: Vec<usize> = (0..8).collect();

    the_counter_sees_worker_threads();
    let (objective, construction_peak) = peak_allocation(|| {
        ChiSquaredObjective::new(data.view(), &phi, &selected, ObjectiveConfig { model, sigma: SigmaRule::default() })
            .unwrap()
    });
    let mut value = ObjectiveValue::default();
    let ((), first_peak) = peak_allocation(|| objective.evaluate_into(&params, &mut value).unwrap());
    // The objective borrows the data; its own memory is O(A N), far below 0.2x the data.
    assert!(
        construction_peak + first_peak < data_bytes / 5,
        "{construction_peak} + {first_peak} B vs data {data_bytes} B"
    );

    // The rayon workers may grow their queues on the first parallel calls:
    // warm up, then count every thread's allocations over five calls.
    objective.evaluate_into(&params, &mut value).unwrap();
    let before = allocation_count();
    for _ in 0..5 {
        objective.evaluate_into(&params, &mut value).unwrap();
    }
    let allocations = allocation_count() - before;
    assert_eq!(allocations, 0, "five evaluations after the first allocated {allocations} times (all threads)");
    // The evaluation really ran on several threads: 8 x 200 x 200 points is
    // above the objective's parallel threshold.
    assert!(8 * n_frames * n_frames >= 1 << 18);
}

/// The counter sees allocations on rayon's worker threads, so the test above
/// would see a parallel pass that allocates. (Called from it: tests of one
/// binary run concurrently, and this one allocates.)
fn the_counter_sees_worker_threads() {
    use rayon::prelude::*;
    let before = allocation_count();
    let lengths: Vec<usize> = (0..64).into_par_iter().map(|n| vec![0u8; n + 1].len()).collect();
    assert!(allocation_count() - before >= 64, "{} allocations counted", allocation_count() - before);
    assert_eq!(lengths.len(), 64);
}
