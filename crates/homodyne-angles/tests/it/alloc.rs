//! The memory bound: the fast strategies allocate the output once at its exact
//! size, one 64-bit hit mask per 64 angles, and one count per parallel chunk;
//! the scalar loop (below `small_threshold`) grows its output like `Vec::push`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use homodyne_angles::{AngleFilterOptimizer, AngleRange, Strategy, synthetic_angles};

/// Counts the bytes allocated by the current thread while tracking is on.
struct CountingAllocator;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
    static PEAK_BYTES: Cell<isize> = const { Cell::new(0) };
}

fn record(delta: isize) {
    if TRACKING.with(Cell::get) {
        let live = LIVE_BYTES.with(|live| {
            live.set(live.get() + delta);
            live.get()
        });
        PEAK_BYTES.with(|peak| peak.set(peak.get().max(live)));
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// bookkeeping only touches thread-local cells, which never allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size() as isize);
        // SAFETY: the caller upholds `alloc`'s contract, which we forward.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size() as isize);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        record(-(layout.size() as isize));
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size as isize - layout.size() as isize);
        // SAFETY: as for `dealloc`, and `new_size` is the caller's valid size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Peak bytes the calling thread allocated during `work`, beyond what it held before.
fn peak_allocation<T>(work: impl FnOnce() -> T) -> (T, usize) {
    LIVE_BYTES.with(|live| live.set(0));
    PEAK_BYTES.with(|peak| peak.set(0));
    TRACKING.with(|tracking| tracking.set(true));
    let result = work();
    TRACKING.with(|tracking| tracking.set(false));
    (result, PEAK_BYTES.with(Cell::get) as usize)
}

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
