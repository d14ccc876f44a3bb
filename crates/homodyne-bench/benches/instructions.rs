//! The instruction-count suite: the hot paths users care about, each run
//! once under Valgrind's Callgrind by `cargo xtask regression --instructions`
//! (which counts only inside [`measured`], so set-up and tear-down stay
//! outside the count).
//!
//! ```text
//! instructions --list        the benchmarks, one per line
//! instructions run NAME      set up, run NAME's measured call once, print its counted path
//! instructions [--bench]     run every benchmark once, natively (what `cargo bench` does)
//! ```
//!
//! Names match the wall-time benchmarks where both exist (`angles/hybrid/100000`
//! is divan's `angles/hybrid/100000/time`), so the report can put both lenses
//! side by side. Threads: every benchmark runs on a rayon pool of one thread,
//! the calling thread itself, so that parallel kernels are counted whole and
//! their counts do not depend on scheduling.

use std::hint::black_box;
use std::sync::Arc;

use homodyne::angles::{AngleFilterOptimizer, AngleRange, SimdLevel};
use homodyne::cache::{CacheConfig, MemoryEfficientCache};
use homodyne::kernels::{
    ChiSquaredObjective, FlowMode, ModelConfig, ObjectiveConfig, SigmaRule, SincConvention, c2_theory,
    chi_squared_batch, fast_chi_squared, fast_correlation,
};
use homodyne::perf::{BenchmarkSamples, Direction, Thresholds, compare};
use homodyne_testkit::uniform;
use ndarray::Array2;

/// The work of one benchmark, with its inputs prepared.
type Work = Box<dyn Fn() + Send + Sync>;

/// One benchmark: its name, and how to prepare its work.
struct Benchmark {
    name: &'static str,
    setup: fn() -> Work,
    /// Whether its kernels dispatch on the instruction set.
    simd: bool,
}

/// The counted region: Callgrind is started with
/// `--toggle-collect=instructions::measured`, so only this call (and what it
/// calls) is counted.
#[inline(never)]
fn measured(work: &(dyn Fn() + Send + Sync)) {
    work();
}

fn angles(n: usize) -> Work {
    let angles: Vec<f64> = uniform(n, 7).into_iter().map(|u| -180.0 + 540.0 * u).collect();
    let optimizer = AngleFilterOptimizer::default();
    let ranges = AngleRange::DEFAULT_RANGES.to_vec();
    Box::new(move || {
        black_box(optimizer.filter_angles_hybrid(black_box(&angles), &ranges).ok());
    })
}

fn correlation(n: usize) -> Work {
    let x = uniform(n, 1);
    let y: Vec<f64> = x.iter().zip(uniform(n, 2)).map(|(x, e)| 0.5 * x + e).collect();
    Box::new(move || {
        black_box(fast_correlation(black_box(&x), &y).ok());
    })
}

fn chi_squared(n: usize) -> Work {
    let expected: Vec<f64> = uniform(n, 3).into_iter().map(|u| 1.0 + u).collect();
    let observed: Vec<f64> = expected.iter().zip(uniform(n, 4)).map(|(e, u)| e + 0.01 * (u - 0.5)).collect();
    Box::new(move || {
        black_box(fast_chi_squared(black_box(&observed), &expected).ok());
    })
}

fn batch(rows: usize, columns: usize) -> Work {
    let expected =
        Array2::from_shape_vec((rows, columns), uniform(rows * columns, 5)).expect("shape").mapv(|u| 1.0 + u);
    let noise = Array2::from_shape_vec((rows, columns), uniform(rows * columns, 6)).expect("shape");
    let observed = &expected + &noise.mapv(|u| 0.01 * (u - 0.5));
    Box::new(move || {
        black_box(chi_squared_batch(black_box(observed.view()), expected.view()).ok());
    })
}

fn objective(n_angles: usize, n_frames: usize, mode: FlowMode) -> Work {
    let model = ModelConfig {
        n_frames,
        dt: 0.1,
        wavevector_q: 0.0054,
        stator_rotor_gap: 2e6,
        mode,
        sinc: SincConvention::Normalized,
    };
    let truth = [2e4, 0.3, 50.0, 2e-4, 0.25, 5e-5, 2.0];
    let params = truth[..mode.n_params()].to_vec();
    let phi: Vec<f64> = (0..n_angles).map(|a| -10.0 + 200.0 * a as f64 / (n_angles.max(2) - 1) as f64).collect();
    let mut data = c2_theory(&params, &phi, &model).expect("valid model");
    let noise = uniform(data.len(), 9);
    data.iter_mut().zip(noise).for_each(|(value, u)| *value = 0.25 * *value + 1.0 + 0.01 * (u - 0.5));
    // The objective borrows its data; the process ends after one benchmark.
    let data: &'static ndarray::Array3<f64> = Box::leak(Box::new(data));
    let selected: Vec<usize> = (0..n_angles).collect();
    let config = ObjectiveConfig { model, sigma: SigmaRule::default() };
    let objective = ChiSquaredObjective::new(data.view(), &phi, &selected, config).expect("valid data");
    // The first call allocates the scratch; the counted one reuses it, as an optimiser's calls do.
    let _ = objective.evaluate(&params);
    Box::new(move || {
        black_box(objective.evaluate(black_box(&params)).ok());
    })
}

fn cache_hit() -> Work {
    let cache: MemoryEfficientCache<u64, Vec<f64>> = MemoryEfficientCache::new(CacheConfig::default()).expect("valid");
    for key in 0..10_000u64 {
        cache.set(key, vec![key as f64; 128]).expect("fits");
    }
    Box::new(move || {
        black_box(cache.get(black_box(&4_321)));
    })
}

fn cache_set_compressing() -> Work {
    let config = CacheConfig { hot_fraction: 0.0, compress_min_bytes: 1024, ..CacheConfig::default() };
    let cache: MemoryEfficientCache<u64, Vec<f64>> = MemoryEfficientCache::new(config).expect("valid");
    let smooth =
        |seed: usize| -> Vec<f64> { (0..131_072).map(|i| 1.0 + 0.3 * (-((i + seed) as f64) / 5000.0).exp()).collect() };
    cache.set(0, smooth(0)).expect("fits");
    let next = Arc::new(smooth(1));
    // Storing entry 1 makes entry 0 cold: it is compressed during the counted call.
    Box::new(move || {
        cache.set_arc(1, Arc::clone(&next)).expect("fits");
    })
}

fn compare_suite(n_benchmarks: usize) -> Work {
    let inputs: Vec<BenchmarkSamples> = (0..n_benchmarks)
        .map(|benchmark_idx| {
            let noise = uniform(20, benchmark_idx as u64);
            let sample = |u: f64| 1000.0 * (1.0 + 0.05 * u);
            BenchmarkSamples {
                name: format!("bench/{benchmark_idx}"),
                direction: Direction::LowerIsBetter,
                base: noise[..10].iter().map(|&u| sample(u)).collect(),
                head: noise[10..].iter().map(|&u| sample(u)).collect(),
            }
        })
        .collect();
    let thresholds = Thresholds::default();
    Box::new(move || {
        black_box(compare(black_box(&inputs), &thresholds, false));
    })
}

const SUITE: &[Benchmark] = &[
    Benchmark { name: "angles/hybrid/10000", setup: || angles(10_000), simd: true },
    Benchmark { name: "angles/hybrid/100000", setup: || angles(100_000), simd: true },
    Benchmark { name: "kernels/correlation/1000", setup: || correlation(1_000), simd: true },
    Benchmark { name: "kernels/correlation/10000", setup: || correlation(10_000), simd: true },
    Benchmark { name: "kernels/chi_squared/1000000", setup: || chi_squared(1_000_000), simd: true },
    Benchmark { name: "kernels/chi_squared_batch_23x10000", setup: || batch(23, 10_000), simd: true },
    Benchmark { name: "kernels/objective/(5, 50)", setup: || objective(5, 50, FlowMode::LaminarFlow), simd: true },
    Benchmark { name: "kernels/objective/(23, 200)", setup: || objective(23, 200, FlowMode::LaminarFlow), simd: true },
    Benchmark { name: "kernels/objective_static/(5, 50)", setup: || objective(5, 50, FlowMode::Static), simd: true },
    Benchmark {
        name: "kernels/objective_static/(23, 200)",
        setup: || objective(23, 200, FlowMode::Static),
        simd: true,
    },
    Benchmark { name: "cache/hit/raw_10000_entries", setup: cache_hit, simd: false },
    Benchmark { name: "cache/set/1048576_compressing", setup: cache_set_compressing, simd: false },
    Benchmark { name: "perf/compare_suite/50", setup: || compare_suite(50), simd: false },
];

/// The code path the run-time dispatch takes on this CPU (under Valgrind:
/// AVX2 or portable, since Valgrind does not run AVX-512).
fn path(benchmark: &Benchmark) -> &'static str {
    if !benchmark.simd {
        return "scalar";
    }
    match SimdLevel::detect() {
        SimdLevel::Avx512 => "avx512",
        SimdLevel::Avx2 => "avx2",
        _ => "portable",
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // One thread, the calling one: parallel kernels run whole on it.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).use_current_thread().build().expect("a one-thread pool");
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["--list"] => SUITE.iter().for_each(|benchmark| println!("{}", benchmark.name)),
        ["run", name] => {
            let Some(benchmark) = SUITE.iter().find(|benchmark| benchmark.name == *name) else {
                eprintln!("no benchmark {name:?} (see --list)");
                std::process::exit(2);
            };
            let work = (benchmark.setup)();
            pool.install(|| measured(&work));
            println!("{{\"name\": {:?}, \"path\": {:?}}}", benchmark.name, path(benchmark));
        }
        // `cargo bench` (and `cargo bench -- --test`): every benchmark once, natively.
        _ => {
            for benchmark in SUITE {
                let work = (benchmark.setup)();
                pool.install(|| measured(&work));
                println!("{}: ran once ({})", benchmark.name, path(benchmark));
            }
        }
    }
}
