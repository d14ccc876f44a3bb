//! Allocation behaviour of the fused objective: nothing after the first
//! evaluation, and a footprint far below the data's size.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use homodyne_kernels::{
    ChiSquaredObjective, FlowMode, ModelConfig, ObjectiveConfig, ObjectiveValue, SigmaRule, SincConvention,
};
use ndarray::Array3;

/// Counts bytes allocated by the current thread while tracking is on, and
/// allocations by every thread (rayon workers included) in a global counter.
struct CountingAllocator;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
    static PEAK_BYTES: Cell<isize> = const { Cell::new(0) };
}

static ALLOCATIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn record(delta: isize) {
    if delta > 0 {
        ALLOCATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    if TRACKING.with(Cell::get) {
        let live = LIVE_BYTES.with(|live| {
            live.set(live.get() + delta);
            live.get()
        });
        PEAK_BYTES.with(|peak| peak.set(peak.get().max(live)));
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// bookkeeping touches only an atomic and thread-local cells, which never allocate.
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

fn peak_allocation<T>(work: impl FnOnce() -> T) -> (T, usize) {
    LIVE_BYTES.with(|live| live.set(0));
    PEAK_BYTES.with(|peak| peak.set(0));
    TRACKING.with(|tracking| tracking.set(true));
    let result = work();
    TRACKING.with(|tracking| tracking.set(false));
    (result, PEAK_BYTES.with(Cell::get) as usize)
}

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

    let before = ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed);
    for _ in 0..5 {
        objective.evaluate_into(&params, &mut value).unwrap();
    }
    let after = ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed);
    // Other tests run concurrently and allocate, so measure this thread's bytes too.
    let ((), repeat_peak) = peak_allocation(|| objective.evaluate_into(&params, &mut value).unwrap());
    assert_eq!(repeat_peak, 0, "evaluation after the first allocated {repeat_peak} B on the calling thread");
    assert!(after >= before);
}
