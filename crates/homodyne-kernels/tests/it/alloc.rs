//! Allocation behaviour of the fused objective: nothing after the first
//! evaluation, and a footprint far below the data's size.

use homodyne_kernels::{
    ChiSquaredObjective, FlowMode, ModelConfig, ObjectiveConfig, ObjectiveValue, SigmaRule, SincConvention,
};
use homodyne_testkit::{CountingAllocator, allocation_count, peak_allocation};
use ndarray::Array3;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn repeated_evaluation_allocates_nothing_and_the_footprint_is_small() {
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

    let before = allocation_count();
    for _ in 0..5 {
        objective.evaluate_into(&params, &mut value).unwrap();
    }
    let after = allocation_count();
    // Other tests run concurrently and allocate, so measure this thread's bytes too.
    let ((), repeat_peak) = peak_allocation(|| objective.evaluate_into(&params, &mut value).unwrap());
    assert_eq!(repeat_peak, 0, "evaluation after the first allocated {repeat_peak} B on the calling thread");
    assert!(after >= before);
}
