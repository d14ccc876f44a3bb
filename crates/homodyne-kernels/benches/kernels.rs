//! Benchmarks of the statistical kernels and the fused objective.
//!
//! `cargo bench -p homodyne-kernels`. The naive rows are the plain Rust
//! versions (two-pass correlation, plain loop chi-squared) for ratios within
//! one run; each `*_read_limit` row reads the same bytes once (a vectorised
//! sum, on both cores where the kernel uses both), the least any kernel over
//! them can cost; `bench/peers/kernels_peers.py` times numpy and numba on
//! the same shapes.

use divan::Bencher;
use homodyne_kernels::{
    ChiSquaredObjective, FlowMode, ModelConfig, ObjectiveConfig, SigmaRule, SincConvention, c2_theory,
    chi_squared_batch, fast_chi_squared, fast_correlation,
};
use homodyne_testkit::{PinnedPool, read_all_once_parallel, read_once, uniform};
use ndarray::{Array2, Array3};

fn main() {
    divan::main();
}

fn correlated_pair(n: usize) -> (Vec<f64>, Vec<f64>) {
    let x = uniform(n, 1);
    let noise = uniform(n, 2);
    let y = x.iter().zip(&noise).map(|(x, e)| 0.5 * x + e).collect();
    (x, y)
}

#[divan::bench(args = [100, 1_000, 10_000, 1_000_000])]
fn correlation(bencher: Bencher<'_, '_>, n_points: usize) {
    let (x, y) = correlated_pair(n_points);
    // From 2^18 points the kernel runs on rayon: a pool of its own.
    let pool = (n_points >= 1 << 18).then(PinnedPool::new);
    bencher.counter(divan::counter::ItemsCount::new(n_points)).bench_local(|| match &pool {
        Some(pool) => pool.run(|| fast_correlation(divan::black_box(&x), &y)),
        None => fast_correlation(divan::black_box(&x), &y),
    });
}

/// Reads `arrays` once, on `pool` (both cores) from 2^18 values a side, as the kernels do.
fn read_limit(bencher: Bencher<'_, '_>, arrays: &[&[f64]]) {
    let n_values: usize = arrays.iter().map(|values| values.len()).sum();
    let pool = (arrays[0].len() >= 1 << 18).then(PinnedPool::new);
    bencher.counter(divan::counter::BytesCount::new(n_values * size_of::<f64>())).bench_local(|| match &pool {
        Some(pool) => pool.run(|| read_all_once_parallel(divan::black_box(arrays))),
        None => arrays.iter().map(|values| read_once(divan::black_box(values))).sum::<f64>(),
    });
}

#[divan::bench(args = [100, 1_000, 10_000, 1_000_000])]
fn correlation_read_limit(bencher: Bencher<'_, '_>, n_points: usize) {
    let (x, y) = correlated_pair(n_points);
    read_limit(bencher, &[&x, &y]);
}

/// The textbook two-pass Pearson in plain Rust, the baseline of our own kernel.
#[divan::bench(args = [10_000, 1_000_000])]
fn correlation_naive_two_pass(bencher: Bencher<'_, '_>, n_points: usize) {
    let (x, y) = correlated_pair(n_points);
    bencher.bench_local(|| {
        let (x, y) = (divan::black_box(&x), divan::black_box(&y));
        let n = x.len() as f64;
        let mean_x = x.iter().sum::<f64>() / n;
        let mean_y = y.iter().sum::<f64>() / n;
        let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
        for (a, b) in x.iter().zip(y) {
            let (dx, dy) = (a - mean_x, b - mean_y);
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        sxy / (sxx * syy).sqrt()
    });
}

fn chi2_pair(n: usize) -> (Vec<f64>, Vec<f64>) {
    let expected: Vec<f64> = uniform(n, 3).into_iter().map(|u| 1.0 + u).collect();
    let observed = expected.iter().zip(uniform(n, 4)).map(|(e, u)| e + 0.01 * (u - 0.5)).collect();
    (observed, expected)
}

#[divan::bench(args = [1_000, 1_000_000])]
fn chi_squared(bencher: Bencher<'_, '_>, n_points: usize) {
    let (observed, expected) = chi2_pair(n_points);
    let pool = (n_points >= 1 << 18).then(PinnedPool::new);
    bencher.counter(divan::counter::ItemsCount::new(n_points)).bench_local(|| match &pool {
        Some(pool) => pool.run(|| fast_chi_squared(divan::black_box(&observed), &expected)),
        None => fast_chi_squared(divan::black_box(&observed), &expected),
    });
}

#[divan::bench(args = [1_000, 1_000_000])]
fn chi_squared_read_limit(bencher: Bencher<'_, '_>, n_points: usize) {
    let (observed, expected) = chi2_pair(n_points);
    read_limit(bencher, &[&observed, &expected]);
}

#[divan::bench(args = [1_000_000])]
fn chi_squared_naive(bencher: Bencher<'_, '_>, n_points: usize) {
    let (observed, expected) = chi2_pair(n_points);
    bencher.bench_local(|| {
        divan::black_box(&observed).iter().zip(&expected).map(|(o, e)| (o - e) * (o - e) / e).sum::<f64>()
    });
}

#[divan::bench(sample_count = 20)]
fn chi_squared_batch_23x1m(bencher: Bencher<'_, '_>) {
    let (observed, expected) = chi2_pair(23 * 1_000_000);
    let observed = Array2::from_shape_vec((23, 1_000_000), observed).expect("shape");
    let expected = Array2::from_shape_vec((23, 1_000_000), expected).expect("shape");
    let pool = PinnedPool::new();
    bencher.bench_local(|| pool.run(|| chi_squared_batch(divan::black_box(observed.view()), expected.view())));
}

#[divan::bench(sample_count = 20)]
fn chi_squared_batch_23x1m_read_limit(bencher: Bencher<'_, '_>) {
    let (observed, expected) = chi2_pair(23 * 1_000_000);
    read_limit(bencher, &[&observed, &expected]);
}

const TRUE_PARAMS: [f64; 7] = [2e4, 0.3, 50.0, 2e-4, 0.25, 5e-5, 2.0];

fn model(n_frames: usize) -> ModelConfig {
    ModelConfig {
        n_frames,
        dt: 0.1,
        wavevector_q: 0.0054,
        stator_rotor_gap: 2e6,
        mode: FlowMode::LaminarFlow,
        sinc: SincConvention::Normalized,
    }
}

/// Synthetic data of shape (A, N, N): the model with contrast 0.25, offset 1
/// and uniform noise of amplitude 0.005.
fn experiment(n_angles: usize, n_frames: usize) -> (Array3<f64>, Vec<f64>) {
    let phi: Vec<f64> =
        (0..n_angles).map(|a| -10.0 + 200.0 * a as f64 / n_angles.max(2).saturating_sub(1) as f64).collect();
    let mut data = c2_theory(&TRUE_PARAMS, &phi, &model(n_frames)).expect("valid model");
    // Noise in place, row by row: the largest case holds 1.66 GB of data.
    for (row_idx, mut row) in data.rows_mut().into_iter().enumerate() {
        let noise = uniform(n_frames, 5 + row_idx as u64);
        row.iter_mut().zip(noise).for_each(|(value, u)| *value = 0.25 * *value + 1.0 + 0.01 * (u - 0.5));
    }
    (data, phi)
}

#[divan::bench(args = [(5, 50), (23, 200), (23, 1000), (23, 3000)], sample_count = 10)]
fn objective(bencher: Bencher<'_, '_>, (n_angles, n_frames): (usize, usize)) {
    let (data, phi) = experiment(n_angles, n_frames);
    let selected: Vec<usize> = (0..n_angles).collect();
    let config = ObjectiveConfig { model: model(n_frames), sigma: SigmaRule::default() };
    let objective = ChiSquaredObjective::new(data.view(), &phi, &selected, config).expect("valid data");
    let mut value = homodyne_kernels::ObjectiveValue::default();
    let pool = PinnedPool::new();
    bencher
        .counter(divan::counter::ItemsCount::new(n_angles * n_frames * n_frames))
        .bench_local(|| pool.run(|| objective.evaluate_into(divan::black_box(&TRUE_PARAMS), &mut value)));
}

/// Building the objective (sigma and the data sums per angle), which users
/// who fit many data sets do once per data set: beside `objective`, one
/// evaluation at the same size.
#[divan::bench(args = [(5, 50), (23, 200), (23, 1000), (23, 3000)], sample_count = 10)]
fn objective_new(bencher: Bencher<'_, '_>, (n_angles, n_frames): (usize, usize)) {
    let (data, phi) = experiment(n_angles, n_frames);
    let selected: Vec<usize> = (0..n_angles).collect();
    let config = ObjectiveConfig { model: model(n_frames), sigma: SigmaRule::default() };
    let pool = PinnedPool::new();
    bencher.counter(divan::counter::ItemsCount::new(n_angles * n_frames * n_frames)).bench_local(|| {
        pool.run(|| {
            ChiSquaredObjective::new(divan::black_box(data.view()), &phi, &selected, config).map(|o| o.sigmas())
        })
    });
}

#[divan::bench(args = [(5, 50), (23, 200), (23, 1000), (23, 3000)], sample_count = 10)]
fn objective_read_limit(bencher: Bencher<'_, '_>, (n_angles, n_frames): (usize, usize)) {
    let (data, _) = experiment(n_angles, n_frames);
    let values = data.as_slice().expect("standard layout");
    read_limit(bencher, &[values]);
}

/// The gradient's derivative pass at an evaluation (the gradient of a fit
/// step costs this plus one `objective` evaluation): beside `objective`, in
/// objective evaluations.
#[divan::bench(args = [(5, 50), (23, 200), (23, 1000)], sample_count = 10)]
fn objective_gradient(bencher: Bencher<'_, '_>, (n_angles, n_frames): (usize, usize)) {
    let (data, phi) = experiment(n_angles, n_frames);
    let selected: Vec<usize> = (0..n_angles).collect();
    let config = ObjectiveConfig { model: model(n_frames), sigma: SigmaRule::default() };
    let objective = ChiSquaredObjective::new(data.view(), &phi, &selected, config).expect("valid data");
    let value = objective.evaluate(&TRUE_PARAMS).expect("valid parameters");
    let mut gradient = vec![0.0; TRUE_PARAMS.len()];
    let pool = PinnedPool::new();
    bencher
        .counter(divan::counter::ItemsCount::new(n_angles * n_frames * n_frames))
        .bench_local(|| pool.run(|| objective.gradient_into(divan::black_box(&value), &mut gradient)));
}

/// The Gauss-Newton normal equations at an evaluation (one per accepted fit step).
#[divan::bench(args = [(5, 50), (23, 200), (23, 1000)], sample_count = 10)]
fn objective_normal_equations(bencher: Bencher<'_, '_>, (n_angles, n_frames): (usize, usize)) {
    let (data, phi) = experiment(n_angles, n_frames);
    let selected: Vec<usize> = (0..n_angles).collect();
    let config = ObjectiveConfig { model: model(n_frames), sigma: SigmaRule::default() };
    let objective = ChiSquaredObjective::new(data.view(), &phi, &selected, config).expect("valid data");
    let value = objective.evaluate(&TRUE_PARAMS).expect("valid parameters");
    let mut normal = homodyne_kernels::NormalEquations::default();
    let pool = PinnedPool::new();
    bencher
        .counter(divan::counter::ItemsCount::new(n_angles * n_frames * n_frames))
        .bench_local(|| pool.run(|| objective.normal_equations_into(divan::black_box(&value), &mut normal)));
}
