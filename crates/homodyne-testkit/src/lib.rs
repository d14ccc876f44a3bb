//! Test and benchmark helpers shared by the homodyne-rs crates: deterministic
//! pseudo-random data, an allocation-counting global allocator, and the
//! "read the input once" limit that every kernel benchmark is shown beside
//! ([`read_once`]).
//!
//! Use it as a dev-dependency only.
//!
//! # Example
//!
//! ```
//! let values = homodyne_testkit::uniform(1000, 7);
//! assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
//! assert_eq!(values, homodyne_testkit::uniform(1000, 7));
//! ```
//!
//! To count allocations, a test binary declares
//! `#[global_allocator] static ALLOCATOR: CountingAllocator = CountingAllocator;`
//! and measures with [`peak_allocation`].
//!
//! # Crate features
//!
//! None.
#![deny(missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Reads every value once and returns their sum: the least work any kernel
/// over the same bytes can do, the limit its benchmarks are shown beside
/// ("× of the read limit"). Plain sums in 32 independent lanes, compiled
/// for AVX-512 and AVX2 and chosen at run time (a baseline x86-64 build
/// would be limited by its 2-lane additions, not by reading, at cache sizes).
pub fn read_once(values: &[f64]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512 F, all that `read_once_avx512` enables.
            return unsafe { read_once_avx512(values) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, all that `read_once_avx2` enables.
            return unsafe { read_once_avx2(values) };
        }
    }
    read_once_generic(values)
}

/// [`read_once`] on the current rayon pool, in chunks of 64K values: the
/// read limit of kernels that run on every core.
pub fn read_once_parallel(values: &[f64]) -> f64 {
    read_all_once_parallel(&[values])
}

/// [`read_once_parallel`] of several arrays at once: each task reads the
/// same chunk of every array, so that, as in a kernel that reads them
/// together, every array streams at the same time.
pub fn read_all_once_parallel(arrays: &[&[f64]]) -> f64 {
    use rayon::prelude::*;
    const CHUNK: usize = 1 << 16;
    let longest = arrays.iter().map(|values| values.len()).max().unwrap_or(0);
    (0..longest.div_ceil(CHUNK))
        .into_par_iter()
        .map(|chunk_idx| {
            arrays
                .iter()
                .map(|values| {
                    let start = (chunk_idx * CHUNK).min(values.len());
                    read_once(&values[start..(start + CHUNK).min(values.len())])
                })
                .sum::<f64>()
        })
        .sum()
}

#[inline(always)]
fn read_once_generic(values: &[f64]) -> f64 {
    const LANES: usize = 32;
    let (chunks, tail) = values.as_chunks::<LANES>();
    let mut lanes = [0.0; LANES];
    for chunk in chunks {
        for (lane, &value) in lanes.iter_mut().zip(chunk) {
            *lane += value;
        }
    }
    lanes.iter().sum::<f64>() + tail.iter().sum::<f64>()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn read_once_avx512(values: &[f64]) -> f64 {
    read_once_generic(values)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn read_once_avx2(values: &[f64]) -> f64 {
    read_once_generic(values)
}

/// Worker threads of every parallel benchmark: the core count of the
/// machines the suite runs on, fixed so that a parallel row measures the
/// same thing on every machine and in every process.
pub const BENCH_THREADS: usize = 2;

/// A rayon pool of [`BENCH_THREADS`] workers for one benchmark: built when
/// the benchmark starts, its threads end when it is dropped, so no idle
/// worker of one parallel benchmark shares the cores with the next.
pub struct PinnedPool(rayon::ThreadPool);

impl PinnedPool {
    /// A new pool.
    ///
    /// # Panics
    /// If the OS cannot start two threads, which a benchmark cannot work around.
    pub fn new() -> PinnedPool {
        PinnedPool(rayon::ThreadPoolBuilder::new().num_threads(BENCH_THREADS).build().expect("two threads start"))
    }

    /// Runs `work` in this pool: every parallel iterator inside uses its workers.
    pub fn run<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        self.0.install(work)
    }
}

impl Default for PinnedPool {
    fn default() -> Self {
        PinnedPool::new()
    }
}

/// `n` pseudo-random numbers uniform in `[0, 1)` from `seed`: the first
/// `n` draws of [`homodyne_simd::unit_draw`] (SplitMix64), reproducible
/// data for tests and benchmarks.
pub fn uniform(n: usize, seed: u64) -> Vec<f64> {
    (0..n as u64).map(|index| homodyne_simd::unit_draw(seed, index)).collect()
}

/// A global allocator that forwards to the system allocator and counts: bytes
/// allocated by the current thread while [`peak_allocation`] tracks it, and
/// allocations by every thread in [`allocation_count`].
pub struct CountingAllocator;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
    static PEAK_BYTES: Cell<isize> = const { Cell::new(0) };
}

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

fn record(delta: isize) {
    if delta > 0 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
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

/// Runs `work` and returns its result with the peak number of bytes the
/// calling thread held during it, beyond what it held before (0 unless the
/// test binary installed [`CountingAllocator`]).
pub fn peak_allocation<T>(work: impl FnOnce() -> T) -> (T, usize) {
    LIVE_BYTES.with(|live| live.set(0));
    PEAK_BYTES.with(|peak| peak.set(0));
    TRACKING.with(|tracking| tracking.set(true));
    let result = work();
    TRACKING.with(|tracking| tracking.set(false));
    (result, PEAK_BYTES.with(Cell::get).max(0) as usize)
}

/// Allocations made by all threads since the process started.
pub fn allocation_count() -> usize {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Threads that run a closure in a loop until dropped, at the lowest
/// scheduling priority (nice 19 on Linux): load that competes for the
/// measured data structure, not for the measuring thread's core, so that a
/// latency measured beside it shows what the structure makes a call wait
/// for rather than when the scheduler preempts the caller.
pub struct BackgroundLoad {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<usize>>,
}

impl BackgroundLoad {
    /// Starts `threads` threads, each calling `work(thread_index, iteration)` until dropped.
    pub fn start(threads: usize, work: impl Fn(usize, usize) + Send + Sync + 'static) -> BackgroundLoad {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let work = std::sync::Arc::new(work);
        let threads = (0..threads)
            .map(|index| {
                let (stop, work) = (std::sync::Arc::clone(&stop), std::sync::Arc::clone(&work));
                std::thread::spawn(move || {
                    lower_priority();
                    let mut iteration = 0;
                    while !stop.load(Ordering::Relaxed) {
                        work(index, iteration);
                        iteration += 1;
                    }
                    iteration
                })
            })
            .collect();
        BackgroundLoad { stop, threads }
    }

    /// Stops the threads and returns how many calls each made.
    pub fn finish(mut self) -> Vec<usize> {
        self.stop_threads()
    }

    fn stop_threads(&mut self) -> Vec<usize> {
        self.stop.store(true, Ordering::Relaxed);
        self.threads.drain(..).map(|thread| thread.join().unwrap_or(0)).collect()
    }
}

impl Drop for BackgroundLoad {
    fn drop(&mut self) {
        self.stop_threads();
    }
}

/// Nice 19 for the calling thread (Linux applies `setpriority` per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority takes plain integers and reads no memory of ours;
    // `0` names the calling thread. Its failure leaves the priority as it was.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 19);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_once_sums_every_value() {
        for n in [0, 1, 31, 32, 33, 1000, 100_003] {
            // Integers: every order of summation gives the exact sum.
            let values: Vec<f64> = (0..n).map(|i: u32| f64::from(i % 1000)).collect();
            assert_eq!(read_once(&values), values.iter().sum::<f64>(), "{n}");
            assert_eq!(read_once_generic(&values), values.iter().sum::<f64>(), "{n}");
            assert_eq!(read_once_parallel(&values), values.iter().sum::<f64>(), "{n}");
            let halves = values.split_at(values.len() / 3);
            assert_eq!(read_all_once_parallel(&[halves.0, halves.1]), values.iter().sum::<f64>(), "{n}");
        }
    }

    #[test]
    fn uniform_is_reproducible_and_in_range() {
        let values = uniform(100_000, 3);
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        // Standard error of the mean of U(0, 1) at n = 1e5 is about 0.0009.
        assert!((mean - 0.5).abs() < 0.005, "{mean}");
        assert_eq!(values, uniform(100_000, 3));
        assert_ne!(values[..10], uniform(10, 4)[..]);
    }

    #[test]
    fn without_the_allocator_installed_nothing_is_counted() {
        let ((), peak) = peak_allocation(|| drop(vec![0u8; 1024]));
        assert_eq!(peak, 0);
    }
}
