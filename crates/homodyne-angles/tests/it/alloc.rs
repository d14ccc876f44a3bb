//! The memory bound: the fast strategies allocate the output once at its exact
//! size, one 64-bit hit mask per 64 angles, and one count per parallel chunk;
//! the scalar loop (below `small_threshold`) grows its output like `Vec::push`.

use homodyne_angles::{AngleFilterOptimizer, AngleRange, Strategy, synthetic_angles};
use homodyne_testkit::{CountingAllocator, peak_allocation};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn the_hybrid_allocates_the_output_plus_masks_and_per_chunk_counts() {
    let optimizer = AngleFilterOptimizer::default();
    let ranges = AngleRange::DEFAULT_RANGES;
    // Warm up the rayon pool, whose threads and queues are allocated once.
    let _ = optimizer.filter_angles_with(Strategy::Parallel, &synthetic_angles(1_000_000, 1), &ranges);
    for n_angles in [1_000, 100_000, 1_000_000] {
        let angles = synthetic_angles(n_angles, 11);
        let (indices, peak) = peak_allocation(|| optimizer.filter_angles_hybrid(&angles, &ranges).unwrap());
        let output = indices.capacity() * size_of::<usize>();
        if optimizer.choose_strategy(n_angles) == Strategy::Scalar {
            assert!(indices.capacity() <= 2 * indices.len().max(4), "{n_angles} angles");
        } else {
            assert_eq!(indices.capacity(), indices.len(), "the output is allocated once, at its exact size");
        }
        let masks = n_angles.div_ceil(64) * size_of::<u64>();
        let chunks = n_angles.div_ceil(32 * 1024) * 2 * size_of::<usize>() * 2;
        let bound = output + masks + chunks + 512;
        assert!(peak <= bound, "{n_angles} angles: peak {peak} B > bound {bound} B (output {output} B)");
    }
}
