//! Reads never wait for compression: hits (and misses) complete while
//! another thread is stopped inside the compression of a cold entry.
//!
//! Deterministic rather than timed: the value type's `compress` blocks
//! until the test releases it, so a read that needed anything the
//! compressing thread holds would never return, and the test would fail at
//! its (generous) deadline instead of on a scheduler's whim. The time a hit
//! takes under load is a benchmark (`hit_under_compression` in
//! `benches/cache.rs`, `examples/latency.rs`), not a test.
//!
//! A test binary of its own: it replaces the value type, and its threads
//! block on purpose.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use homodyne_cache::{CacheConfig, CacheValue, Compressed, DType, MemoryEfficientCache};

/// A `Vec<f64>` whose compression waits at a gate the test opens.
struct Gated(Vec<f64>);

/// `entered` reports that a compression started; `release` lets it finish.
struct Gate {
    entered: Mutex<Option<mpsc::Sender<()>>>,
    release: Mutex<Option<mpsc::Receiver<()>>>,
}

static GATE: Gate = Gate { entered: Mutex::new(None), release: Mutex::new(None) };

impl CacheValue for Gated {
    fn dtype(&self) -> DType {
        self.0.dtype()
    }

    fn shape(&self) -> Vec<usize> {
        self.0.shape()
    }

    fn accepts(dtype: DType, ndim: usize) -> bool {
        <Vec<f64> as CacheValue>::accepts(dtype, ndim)
    }

    fn compress(&self, level: u32) -> Option<Compressed> {
        if let Some(entered) = GATE.entered.lock().unwrap().take() {
            entered.send(()).unwrap();
            let release = GATE.release.lock().unwrap().take().expect("the test holds the gate");
            release.recv_timeout(Duration::from_secs(60)).expect("the test opens the gate");
        }
        self.0.compress(level)
    }

    fn decompress(shape: &[usize], compressed: &Compressed) -> Option<Self> {
        <Vec<f64> as CacheValue>::decompress(shape, compressed).map(Gated)
    }

    fn write_le<E>(&self, sink: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        self.0.write_le(sink)
    }

    fn read_le<E>(
        dtype: DType,
        shape: &[usize],
        source: impl FnMut(&mut [u8]) -> Result<(), E>,
    ) -> Result<Option<Self>, E> {
        Ok(<Vec<f64> as CacheValue>::read_le(dtype, shape, source)?.map(Gated))
    }
}

#[test]
fn reads_complete_while_another_thread_is_inside_a_compression() {
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    *GATE.entered.lock().unwrap() = Some(entered_tx);
    *GATE.release.lock().unwrap() = Some(release_rx);

    let config = CacheConfig { max_memory_mb: 1024.0, hot_fraction: 0.0, ..CacheConfig::default() };
    let cache: Arc<MemoryEfficientCache<u64, Gated>> = Arc::new(MemoryEfficientCache::new(config).unwrap());
    cache.set(0, Gated(vec![1.0; 128])).unwrap();
    let smooth: Vec<f64> = (0..1 << 20).map(|i| 1.0 + 0.3 * (-(f64::from(i)) / 1e5).exp()).collect();
    cache.set(1, Gated(smooth)).unwrap();
    // Storing another entry makes the big one cold: this thread compresses
    // it, and stops inside the compression at the gate.
    let writer = {
        let cache = Arc::clone(&cache);
        std::thread::spawn(move || cache.set(2, Gated(vec![2.0; 128])).unwrap())
    };
    entered_rx.recv_timeout(Duration::from_secs(60)).expect("the store started compressing");

    // Meanwhile: hits, misses and stats, from another thread, with a deadline.
    let (done_tx, done_rx) = mpsc::channel();
    let reader = {
        let cache = Arc::clone(&cache);
        std::thread::spawn(move || {
            for _ in 0..1000 {
                assert_eq!(cache.get(&0).expect("a raw hit").0[0], 1.0);
                assert!(cache.get(&99).is_none());
            }
            let _ = cache.stats();
            done_tx.send(()).unwrap();
        })
    };
    let finished = done_rx.recv_timeout(Duration::from_secs(30));
    // Open the gate whatever happened, so that no thread is left blocked.
    release_tx.send(()).unwrap();
    writer.join().unwrap();
    reader.join().unwrap();
    assert!(finished.is_ok(), "reads waited for a compression in another thread");
    assert_eq!(cache.stats().compressions, 1, "the big entry was compressed once the gate opened");
    assert_eq!(cache.get(&1).expect("the big entry").0.len(), 1 << 20);
}
