//! The Rust side of `cargo xtask compare`: writes the shared inputs, and
//! times one workload at one size in its own process, so that its peak
//! resident memory is the workload's.
//!
//! ```text
//! peers plan                         the workloads and sizes, as JSON [[workload, size], ...]
//! peers generate DIR                 write every input as .npy into DIR
//! peers run WORKLOAD SIZE DIR        time it; print one JSON line; write DIR/out/homodyne-rs_WORKLOAD_SIZE.npy
//! ```
//!
//! Timing follows `bench/peers/compare.py` exactly: one warm-up call, calls
//! batched so that one sample lasts at least 1 ms, samples until 0.5 s and
//! at least 3 samples; the median and the minimum per call.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use homodyne::angles::{AngleFilterOptimizer, AngleRange};
use homodyne::cache::{compress, decompress};
use homodyne::fit::{FitConfig, fit};
use homodyne::kernels::{
    ChiSquaredObjective, FlowMode, ModelConfig, ObjectiveConfig, SigmaRule, SincConvention, c2_theory,
    chi_squared_batch, fast_chi_squared, fast_correlation,
};
use homodyne_testkit::{read_all_once_parallel, read_once, uniform};
use ndarray::{Array2, Array3};

type Error = Box<dyn std::error::Error>;

/// The sizes of every workload; the Python script reads the same files.
const ANGLE_SIZES: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];
const CORRELATION_SIZES: [usize; 4] = [100, 1_000, 10_000, 1_000_000];
const CHI2_SIZES: [usize; 2] = [1_000, 1_000_000];
const BATCH_ROWS: usize = 23;
const BATCH_POINTS: usize = 1_000_000;
const OBJECTIVE_SIZES: [(usize, usize); 3] = [(5, 50), (23, 200), (23, 1000)];
const CACHE_SIZES: [usize; 2] = [1 << 20, 8 << 20];
/// The fit workload's cases: (name, laminar flow?, angles, frames).
const FIT_CASES: [(&str, bool, usize, usize); 3] =
    [("static_3x200", false, 3, 200), ("laminar_23x200", true, 23, 200), ("laminar_23x1000", true, 23, 1000)];
/// The fit's truth (laminar flow; static uses the first 3), started 30% off;
/// `bench/peers/compare.py` uses the same values and bounds.
const FIT_TRUTH: [f64; 7] = [1e4, 0.5, 50.0, 5e-5, 0.5, 1e-5, 5.0];
const FIT_BOUNDS: [(f64, f64); 7] =
    [(1.0, 1e6), (-2.0, 2.0), (-1e4, 1e4), (1e-6, 1.0), (-2.0, 2.0), (-0.01, 0.01), (-10.0, 10.0)];
/// Fits are timed as the median of this many runs.
const FIT_RUNS: usize = 5;
/// The model parameters of the objective workload (laminar flow, v1 layout).
const PARAMS: [f64; 7] = [20000.0, 0.3, 50.0, 0.0002, 0.25, 5e-05, 2.0];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["plan"] => {
            println!("{}", plan());
            Ok(())
        }
        ["generate", dir] => generate(Path::new(dir)),
        ["run", workload, size, dir] => run(workload, size, Path::new(dir)),
        _ => Err("usage: peers generate DIR | peers run WORKLOAD SIZE DIR".into()),
    };
    if let Err(error) = result {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

/// Every (workload, size) pair, as JSON.
fn plan() -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    pairs.extend(ANGLE_SIZES.iter().map(|n| ("angles", n.to_string())));
    pairs.extend(CORRELATION_SIZES.iter().map(|n| ("correlation", n.to_string())));
    pairs.extend(CHI2_SIZES.iter().map(|n| ("chi2", n.to_string())));
    pairs.push(("batch_chi2", format!("{BATCH_ROWS}x{BATCH_POINTS}")));
    pairs.extend(OBJECTIVE_SIZES.iter().map(|(a, n)| ("objective", format!("{a}x{n}"))));
    pairs.extend(FIT_CASES.iter().map(|(name, ..)| ("fit", (*name).to_owned())));
    pairs.extend(CACHE_SIZES.iter().map(|n| ("cache", n.to_string())));
    let items: Vec<String> = pairs.iter().map(|(workload, size)| format!("[\"{workload}\", \"{size}\"]")).collect();
    format!("[{}]", items.join(", "))
}

// ---------------------------------------------------------------------------
// .npy files (version 1.0, little-endian, C order): all the two sides share.
// ---------------------------------------------------------------------------

fn write_npy(path: &Path, descr: &str, shape: &[usize], data: &[u8]) -> Result<(), Error> {
    let shape_text = match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Magic (6) + version (2) + length (2) + header + newline: a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let temporary = path.with_extension("npy.tmp");
    let mut file = fs::File::create(&temporary)?;
    file.write_all(b"\x93NUMPY\x01\x00")?;
    file.write_all(&u16::try_from(header.len())?.to_le_bytes())?;
    file.write_all(header.as_bytes())?;
    file.write_all(data)?;
    file.sync_all()?;
    fs::rename(&temporary, path)?;
    Ok(())
}

fn write_f64(path: &Path, shape: &[usize], values: &[f64]) -> Result<(), Error> {
    let bytes: Vec<u8> = values.iter().flat_map(|value| value.to_le_bytes()).collect();
    write_npy(path, "<f8", shape, &bytes)
}

fn write_i64(path: &Path, values: &[i64]) -> Result<(), Error> {
    let bytes: Vec<u8> = values.iter().flat_map(|value| value.to_le_bytes()).collect();
    write_npy(path, "<i8", &[values.len()], &bytes)
}

/// Reads a little-endian f64 .npy file: (shape, values).
fn read_f64(path: &Path) -> Result<(Vec<usize>, Vec<f64>), Error> {
    let bytes = fs::read(path).map_err(|error| format!("{}: {error}", path.display()))?;
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(format!("{}: not a .npy file", path.display()).into());
    }
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = std::str::from_utf8(&bytes[10..10 + header_len])?;
    if !header.contains("'<f8'") || header.contains("'fortran_order': True") {
        return Err(format!("{}: expected little-endian f64 in C order, got {header}", path.display()).into());
    }
    let shape_text = header.split("'shape': (").nth(1).and_then(|rest| rest.split(')').next()).unwrap_or("");
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let values: Vec<f64> = bytes[10 + header_len..]
        .chunks_exact(8)
        .map(|chunk| f64::from_le_bytes(chunk.try_into().unwrap_or_default()))
        .collect();
    if values.len() != shape.iter().product::<usize>() {
        return Err(format!("{}: {} values for shape {shape:?}", path.display(), values.len()).into());
    }
    Ok((shape, values))
}

// ---------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------

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

/// The fit workload's model: v1's constants, normalised sinc (the Python objective's default).
fn fit_model(n_frames: usize, laminar: bool) -> ModelConfig {
    ModelConfig { mode: if laminar { FlowMode::LaminarFlow } else { FlowMode::Static }, ..model(n_frames) }
}

fn phi_deg(n_angles: usize) -> Vec<f64> {
    (0..n_angles).map(|angle_idx| -10.0 + 200.0 * angle_idx as f64 / (n_angles - 1).max(1) as f64).collect()
}

fn generate(dir: &Path) -> Result<(), Error> {
    fs::create_dir_all(dir.join("out"))?;
    for n in ANGLE_SIZES {
        let angles: Vec<f64> = uniform(n, 1).iter().map(|u| -180.0 + 540.0 * u).collect();
        write_f64(&dir.join(format!("angles_{n}.npy")), &[n], &angles)?;
    }
    for n in CORRELATION_SIZES {
        let x = uniform(n, 2);
        let noise = uniform(n, 3);
        let y: Vec<f64> = x.iter().zip(&noise).map(|(x, e)| 0.5 * x + e).collect();
        write_f64(&dir.join(format!("correlation_x_{n}.npy")), &[n], &x)?;
        write_f64(&dir.join(format!("correlation_y_{n}.npy")), &[n], &y)?;
    }
    let chi2_pair = |n: usize, seed: u64| {
        let expected: Vec<f64> = uniform(n, seed).iter().map(|u| 1.0 + u).collect();
        let observed: Vec<f64> = expected.iter().zip(uniform(n, seed + 1)).map(|(e, u)| e + 0.02 * (u - 0.5)).collect();
        (observed, expected)
    };
    for n in CHI2_SIZES {
        let (observed, expected) = chi2_pair(n, 4);
        write_f64(&dir.join(format!("chi2_observed_{n}.npy")), &[n], &observed)?;
        write_f64(&dir.join(format!("chi2_expected_{n}.npy")), &[n], &expected)?;
    }
    let (observed, expected) = chi2_pair(BATCH_ROWS * BATCH_POINTS, 6);
    write_f64(&dir.join("batch_observed.npy"), &[BATCH_ROWS, BATCH_POINTS], &observed)?;
    write_f64(&dir.join("batch_expected.npy"), &[BATCH_ROWS, BATCH_POINTS], &expected)?;
    for (n_angles, n_frames) in OBJECTIVE_SIZES {
        let phi = phi_deg(n_angles);
        let mut c2 = c2_theory(&PARAMS, &phi, &model(n_frames))?;
        let noise = uniform(c2.len(), 7);
        c2.iter_mut().zip(noise).for_each(|(value, u)| *value = 0.25 * *value + 1.0 + 0.01 * (u - 0.5));
        let values: Vec<f64> = c2.iter().copied().collect();
        write_f64(
            &dir.join(format!("objective_c2_{n_angles}x{n_frames}.npy")),
            &[n_angles, n_frames, n_frames],
            &values,
        )?;
        write_f64(&dir.join(format!("objective_phi_{n_angles}x{n_frames}.npy")), &[n_angles], &phi)?;
    }
    for (name, laminar, n_angles, n_frames) in FIT_CASES {
        let config = fit_model(n_frames, laminar);
        let phi: Vec<f64> = (0..n_angles).map(|a| -172.0 + 344.0 * a as f64 / (n_angles - 1) as f64).collect();
        let truth = &FIT_TRUTH[..config.mode.n_params()];
        let mut c2 = c2_theory(truth, &phi, &config)?;
        // 1% Gaussian noise (Box-Muller), contrast 0.2-0.3 by angle, offset 1.
        let u = uniform(2 * c2.len(), 9);
        let n_points = n_frames * n_frames;
        for ((flat, value), pair) in c2.iter_mut().enumerate().zip(u.chunks(2)) {
            let normal = (-2.0 * (1.0 - pair[0]).ln()).sqrt() * (2.0 * std::f64::consts::PI * pair[1]).cos();
            let contrast = 0.2 + 0.1 * ((flat / n_points) % 5) as f64 / 4.0;
            *value = 1.0 + contrast * *value + 0.01 * normal;
        }
        let values: Vec<f64> = c2.iter().copied().collect();
        write_f64(&dir.join(format!("fit_c2_{name}.npy")), &[n_angles, n_frames, n_frames], &values)?;
        write_f64(&dir.join(format!("fit_phi_{name}.npy")), &[n_angles], &phi)?;
    }
    for bytes in CACHE_SIZES {
        // A smooth signal with a little noise: what correlation data looks like.
        let n = bytes / 8;
        let noise = uniform(n, 8);
        let values: Vec<f64> = noise
            .iter()
            .enumerate()
            .map(|(k, u)| 1.0 + 0.3 * (-(k as f64) / n as f64 * 5.0).exp() + 1e-3 * u)
            .collect();
        write_f64(&dir.join(format!("cache_{bytes}.npy")), &[n], &values)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------

const MIN_SECONDS: f64 = 0.5;
const MIN_CALLS: usize = 3;
const MIN_SAMPLE_SECONDS: f64 = 1e-3;

/// (median, minimum) seconds per call; see the module docs.
fn measure<T>(mut call: impl FnMut() -> T) -> (f64, f64) {
    std::hint::black_box(call());
    let start = Instant::now();
    std::hint::black_box(call());
    let single = start.elapsed().as_secs_f64();
    let batch = ((MIN_SAMPLE_SECONDS / single.max(1e-9)) as usize).max(1);
    let mut samples = Vec::new();
    let mut total = 0.0;
    while total < MIN_SECONDS || samples.len() < MIN_CALLS {
        let start = Instant::now();
        for _ in 0..batch {
            std::hint::black_box(call());
        }
        let elapsed = start.elapsed().as_secs_f64();
        total += elapsed;
        samples.push(elapsed / batch as f64);
    }
    samples.sort_by(f64::total_cmp);
    let mid = samples.len() / 2;
    let median =
        if samples.len().is_multiple_of(2) { f64::midpoint(samples[mid - 1], samples[mid]) } else { samples[mid] };
    (median, samples[0])
}

/// (median, minimum) seconds of `runs` calls, for calls that last long
/// (fits): the median of five, as the issue asks.
fn measure_runs<T>(mut call: impl FnMut() -> T, runs: usize) -> (f64, f64) {
    let mut samples: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(call());
            start.elapsed().as_secs_f64()
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    (samples[samples.len() / 2], samples[0])
}

/// Median seconds to read `arrays` once (a vectorised sum; on rayon's pool
/// from 2^18 values, as the kernels are): the limit beside each figure.
fn read_limit(arrays: &[&[f64]]) -> f64 {
    let parallel = arrays.iter().map(|values| values.len()).sum::<usize>() >= 1 << 18;
    measure(
        || if parallel { read_all_once_parallel(arrays) } else { arrays.iter().map(|values| read_once(values)).sum() },
    )
    .0
}

/// Peak resident set of this process (Linux `VmHWM`), bytes; 0 elsewhere.
fn peak_rss_bytes() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

// ---------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------

fn run(workload: &str, size: &str, dir: &Path) -> Result<(), Error> {
    let out: PathBuf = dir.join("out").join(format!("homodyne-rs_{workload}_{size}.npy"));
    let extra;
    let ((median_s, min_s), note) = match workload {
        "angles" => {
            let (_, angles) = read_f64(&dir.join(format!("angles_{size}.npy")))?;
            let ranges = [AngleRange::new(-10.0, 10.0)?, AngleRange::new(170.0, 190.0)?];
            let optimizer = AngleFilterOptimizer::default();
            let indices = optimizer.filter_angles_hybrid(&angles, &ranges)?;
            write_i64(&out, &indices.iter().map(|&index| index as i64).collect::<Vec<_>>())?;
            extra = format!(", \"bytes\": {}, \"read_limit_s\": {:e}", angles.len() * 8, read_limit(&[&angles]));
            (measure(|| optimizer.filter_angles_hybrid(&angles, &ranges)), "filter_angles_hybrid")
        }
        "correlation" => {
            let (_, x) = read_f64(&dir.join(format!("correlation_x_{size}.npy")))?;
            let (_, y) = read_f64(&dir.join(format!("correlation_y_{size}.npy")))?;
            write_f64(&out, &[1], &[fast_correlation(&x, &y)?])?;
            extra = format!(", \"bytes\": {}, \"read_limit_s\": {:e}", (x.len() + y.len()) * 8, read_limit(&[&x, &y]));
            (measure(|| fast_correlation(&x, &y)), "fast_correlation")
        }
        "chi2" => {
            let (_, observed) = read_f64(&dir.join(format!("chi2_observed_{size}.npy")))?;
            let (_, expected) = read_f64(&dir.join(format!("chi2_expected_{size}.npy")))?;
            write_f64(&out, &[1], &[fast_chi_squared(&observed, &expected)?])?;
            let limit = read_limit(&[&observed, &expected]);
            extra = format!(", \"bytes\": {}, \"read_limit_s\": {limit:e}", (observed.len() + expected.len()) * 8);
            (measure(|| fast_chi_squared(&observed, &expected)), "fast_chi_squared")
        }
        "batch_chi2" => {
            let (shape, observed) = read_f64(&dir.join("batch_observed.npy"))?;
            let (_, expected) = read_f64(&dir.join("batch_expected.npy"))?;
            let observed = Array2::from_shape_vec((shape[0], shape[1]), observed)?;
            let expected = Array2::from_shape_vec((shape[0], shape[1]), expected)?;
            let values = chi_squared_batch(observed.view(), expected.view())?;
            write_f64(&out, &[values.len()], values.as_slice().unwrap_or_default())?;
            let slices = [observed.as_slice().unwrap_or_default(), expected.as_slice().unwrap_or_default()];
            extra = format!(
                ", \"bytes\": {}, \"read_limit_s\": {:e}",
                (observed.len() + expected.len()) * 8,
                read_limit(&slices)
            );
            (measure(|| chi_squared_batch(observed.view(), expected.view())), "chi_squared_batch")
        }
        "objective" => {
            let (shape, c2) = read_f64(&dir.join(format!("objective_c2_{size}.npy")))?;
            let (_, phi) = read_f64(&dir.join(format!("objective_phi_{size}.npy")))?;
            let c2 = Array3::from_shape_vec((shape[0], shape[1], shape[2]), c2)?;
            let selected: Vec<usize> = (0..shape[0]).collect();
            let config = ObjectiveConfig { model: model(shape[1]), sigma: SigmaRule::default() };
            // Built once per data set (sigma per angle, the time grid), then
            // evaluated at each parameter vector the optimiser asks for: the
            // call an optimiser makes thousands of times is `evaluate`.
            let objective = ChiSquaredObjective::new(c2.view(), &phi, &selected, config)?;
            write_f64(&out, &[1], &[objective.evaluate(&PARAMS)?.value])?;
            let limit = read_limit(&[c2.as_slice().unwrap_or_default()]);
            extra = format!(", \"bytes\": {}, \"read_limit_s\": {limit:e}", c2.len() * 8);
            (measure(|| objective.evaluate(&PARAMS)), "ChiSquaredObjective::evaluate")
        }
        "fit" => {
            let (shape, c2) = read_f64(&dir.join(format!("fit_c2_{size}.npy")))?;
            let (_, phi) = read_f64(&dir.join(format!("fit_phi_{size}.npy")))?;
            let c2 = Array3::from_shape_vec((shape[0], shape[1], shape[2]), c2)?;
            let selected: Vec<usize> = (0..shape[0]).collect();
            let laminar = size.starts_with("laminar");
            let config = ObjectiveConfig { model: fit_model(shape[1], laminar), sigma: SigmaRule::default() };
            let n = config.model.mode.n_params();
            let x0: Vec<f64> = FIT_TRUTH[..n].iter().map(|value| value * 1.3).collect();
            let options = FitConfig { bounds: FIT_BOUNDS[..n].to_vec(), ..FitConfig::default() };
            // The objective's construction is part of a fit's time, as for a user.
            let run_fit = || -> Result<_, Error> {
                let objective = ChiSquaredObjective::new(c2.view(), &phi, &selected, config)?;
                Ok(fit(&objective, &x0, &options)?)
            };
            let result = run_fit()?;
            // Parameters, uncertainties, the objective, evaluations: what compare.py checks against.
            let mut reference = result.params.clone();
            reference.extend(&result.uncertainties);
            reference.push(result.objective);
            write_f64(&out, &[reference.len()], &reference)?;
            extra = format!(", \"evaluations\": {}, \"jacobians\": {}", result.n_evaluations, result.n_jacobians);
            (measure_runs(run_fit, FIT_RUNS), "homodyne_fit::fit from 30% off, objective built in the call")
        }
        "cache" => {
            let (_, values) = read_f64(&dir.join(format!("cache_{size}.npy")))?;
            // What the cache does to a cold array and back (level 1, as
            // lz4.frame's default): compress, then decompress. A hit on a
            // recent entry skips both and returns the stored `Arc`.
            let round_trip = || -> Result<Vec<f64>, Error> {
                let compressed = compress(&values, 1).ok_or("the array did not compress")?;
                decompress::<f64>(&compressed, values.len()).ok_or_else(|| "decompression failed".into())
            };
            let got = round_trip()?;
            write_f64(&out, &[got.len()], &got)?;
            let ratio = compress(&values, 1).map_or(1.0, |compressed| compressed.ratio());
            extra = format!(", \"ratio\": {ratio}");
            (measure(round_trip), "homodyne_cache::compress + decompress")
        }
        other => return Err(format!("unknown workload {other:?}").into()),
    };
    println!(
        "{{\"implementation\": \"homodyne-rs\", \"detail\": \"{note}\", \"median_s\": {median_s:e}, \"min_s\": {min_s:e}, \"peak_rss_bytes\": {}{extra}}}",
        peak_rss_bytes()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_files_round_trip_with_an_aligned_header() {
        let dir = std::env::temp_dir().join(format!("homodyne-peers-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("values.npy");
        let values = [1.5, -2.0, f64::MAX, 0.0, 1e-300, 6.0];
        write_f64(&path, &[2, 3], &values).unwrap();
        let bytes = fs::read(&path).unwrap();
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        assert_eq!((10 + header_len) % 64, 0, "numpy expects the data 64-byte aligned");
        assert!(std::str::from_utf8(&bytes[10..10 + header_len]).unwrap().contains("'shape': (2, 3)"));
        assert_eq!(read_f64(&path).unwrap(), (vec![2, 3], values.to_vec()));
        write_i64(&path, &[3, 1, 4]).unwrap();
        assert!(read_f64(&path).is_err(), "an integer file is not read as floats");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_plan_lists_every_workload() {
        let plan = plan();
        for workload in ["angles", "correlation", "chi2", "batch_chi2", "objective", "fit", "cache"] {
            assert!(plan.contains(&format!("[\"{workload}\", ")), "{plan}");
        }
        assert!(plan.contains("[\"objective\", \"23x1000\"]"), "{plan}");
    }
}
