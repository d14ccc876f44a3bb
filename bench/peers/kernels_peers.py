"""numpy + numba peers of the homodyne-rs kernels (the Python side of the comparison).

Re-implements, with the numpy and numba calls that homodyne-analysis 1.0.1 ("v1")
uses, the v1 laminar-flow objective (7 parameters [D0, alpha, D_offset, gamma0,
beta, gamma_offset, phi0_deg]) and a few statistics kernels, checks the objective
against the test vectors of the real package, then times everything.

Workloads (median and minimum time per call, numba compilation excluded):

- ``objective``: the v1 chi-squared objective at (angles, frames) = (5, 50),
  (23, 200), (23, 1000), plus (23, 3000) with ``--large`` (c2_exp alone is
  1.66 GB there; the process peaks at about 3.7 GB). Two variants: sigma computed
  inside the call as v1 does, and sigma precomputed. The peak resident memory
  of the process after each size and the size of c2_exp are reported too.
- ``pearson``: Pearson correlation of two vectors (numba two-pass, np.corrcoef,
  pure Python loop up to 10 000 points).
- ``pearson_chi2``: sum((o - e)**2 / e) (numpy expression, numba loop).
- ``batch_chi2``: the same per row of a 23 x 1 000 000 matrix (numpy axis=1,
  numba prange over rows).

What the objective covers: the numerical pipeline of v1's
``calculate_chi_squared_optimized`` with v1's split between numpy (np.exp for
g1, np.std for sigma, the array arithmetic) and numba kernels (time integral,
sinc squared, batch least squares, batch chi-squared). Class overheads that do
not change the numbers are left out (parameter validity checks, the
integral-matrix cache and its hashing, logging, the defensive copy of the
theory array), so these timings are a lower bound on v1's cost per objective
call. v1 recomputes g1 for every angle; so does this script.

Usage (a venv with numpy and numba; `cargo xtask compare` makes one in target/peers):

    target/peers/bin/pip install numpy numba
    target/peers/bin/python bench/peers/kernels_peers.py [--large] [--json PATH]

Exits with status 1 if the objective does not reproduce the vectors in
objective.json (default crates/homodyne-kernels/tests/data/objective.json, ``--vectors``)
to 1e-10 relative.
"""

import argparse
import json
import math
import resource
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np
from numba import njit, prange

N_PARAMS = 7
MIN_DIFFUSION = 1e-10  # clamp of D(t) in v1
MIN_SHEAR = 0.0  # clamp of gamma(t) on v1's class path (its raw numba kernel uses 1e-10)
STATIC_THRESHOLD = 1e-10  # |gamma0|, |beta|, |gamma_offset| all below: no shear term
DET_THRESHOLD = 1e-12  # v1's absolute singularity test of the 2x2 normal equations
SIGMA_FACTOR = 0.1  # uncertainty_estimation_factor
MIN_SIGMA = 1e-10  # minimum_sigma

# Synthetic data of the objective benchmark.
BENCH_PARAMS = np.array([20000.0, 0.3, 50.0, 0.0002, 0.25, 5e-05, 2.0])
BENCH_Q = 0.0054
BENCH_L = 2e6
BENCH_DT = 0.1
BENCH_CONTRAST = 0.25
BENCH_OFFSET = 1.0
BENCH_NOISE_SD = 0.003
BENCH_SEED = 20251009

MIN_SECONDS = 0.5  # minimum total measured time per measurement
MIN_CALLS = 3  # minimum number of timed samples per measurement
MIN_SAMPLE_SECONDS = 1e-3  # calls are batched so one sample lasts at least this long


# --------------------------------------------------------------------------
# Model kernels (v1 semantics)
# --------------------------------------------------------------------------


@njit
def power_law_rate(t, amplitude, exponent, offset, floor):
    """amplitude * t**exponent + offset, clamped to >= floor.

    Where exponent < 0 and t <= 1e-10 the power term is dropped (the rate is
    the offset), as in v1. floor is 1e-10 for D(t) and 0.0 for gamma(t).
    """
    out = np.empty_like(t)
    for k in range(t.size):
        if exponent < 0.0 and t[k] <= 1e-10:
            value = offset
        else:
            value = amplitude * t[k] ** exponent + offset
        out[k] = max(value, floor)
    return out


@njit
def time_integral_matrix(rate):
    """M[i, j] = |c_i - c_j| with c = cumsum(rate); no dt factor (v1)."""
    n = rate.size
    c = np.cumsum(rate)
    m = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            m[i, j] = abs(c[i] - c[j])
    return m


@njit(fastmath=True)
def sinc_squared(integral, prefactor):
    """Normalised sinc squared of x = prefactor * integral, as v1's numba path.

    (sin(pi x) / (pi x))**2, with the series 1 - (pi x)**2 / 3 where |x| < 1e-10
    (v1's further branch, 1.0 where |pi x| < 1e-15, is unreachable behind it).
    """
    n, m = integral.shape
    out = np.empty((n, m))
    for i in range(n):
        for j in range(m):
            x = prefactor * integral[i, j]
            pi_x = np.pi * x
            if abs(x) < 1e-10:
                out[i, j] = 1.0 - pi_x * pi_x / 3.0
            else:
                s = np.sin(pi_x) / pi_x
                out[i, j] = s * s
    return out


def c2_theory_laminar(params, phi_deg, n_frames, q, gap, dt):
    """Theory c2[a, i, j] = (sinc2 * g1)**2 for every angle, shape (A, N, N)."""
    t = np.linspace(0.0, dt * (n_frames - 1), n_frames)
    d_integral = time_integral_matrix(power_law_rate(t, params[0], params[1], params[2], MIN_DIFFUSION))
    g1_factor = 0.5 * q**2 * dt
    sinc_prefactor = 0.5 / np.pi * q * gap * dt
    static = (
        abs(params[3]) < STATIC_THRESHOLD and abs(params[4]) < STATIC_THRESHOLD and abs(params[5]) < STATIC_THRESHOLD
    )
    c2 = np.empty((len(phi_deg), n_frames, n_frames))
    if static:
        g1 = np.exp(-g1_factor * d_integral)
        c2[:] = g1**2
        return c2
    gamma_integral = time_integral_matrix(power_law_rate(t, params[3], params[4], params[5], MIN_SHEAR))
    for a, phi in enumerate(phi_deg):
        g1 = np.exp(-g1_factor * d_integral)
        prefactor = sinc_prefactor * np.cos(np.deg2rad(params[6] - phi))
        c2[a] = (sinc_squared(gamma_integral, prefactor) * g1) ** 2
    return c2


# --------------------------------------------------------------------------
# Scaling and chi-squared (v1 objective)
# --------------------------------------------------------------------------


@njit(fastmath=True)
def solve_least_squares_batch(theory, exp):
    """Per row, (contrast, offset) of exp ~ contrast * theory + offset (v1).

    2x2 normal equations with sequential sums; |det| <= 1e-12 gives (1, 0).
    """
    rows, points = theory.shape
    contrast = np.empty(rows)
    offset = np.empty(rows)
    for r in range(rows):
        st2 = 0.0
        st = 0.0
        se = 0.0
        ste = 0.0
        for k in range(points):
            t = theory[r, k]
            e = exp[r, k]
            st2 += t * t
            st += t
            se += e
            ste += t * e
        det = st2 * points - st * st
        if abs(det) > DET_THRESHOLD:
            contrast[r] = (points * ste - st * se) / det
            offset[r] = (st2 * se - st * ste) / det
        else:
            contrast[r] = 1.0
            offset[r] = 0.0
    return contrast, offset


@njit(fastmath=True)
def chi_squared_batch(theory, exp, contrast, offset):
    """Per row, sum((exp - (theory * contrast + offset))**2), unweighted (v1)."""
    rows, points = theory.shape
    out = np.empty(rows)
    for r in range(rows):
        acc = 0.0
        for k in range(points):
            residual = exp[r, k] - (theory[r, k] * contrast[r] + offset[r])
            acc += residual * residual
        out[r] = acc
    return out


def angle_sigmas(c2_exp):
    """sigma_a = max(0.1 * std(E_a), 1e-10), population std over all N*N points."""
    exp_flat = c2_exp.reshape(c2_exp.shape[0], -1)
    return np.array([max(SIGMA_FACTOR * np.std(row), MIN_SIGMA) for row in exp_flat])


def objective(params, phi_deg, c2_exp, q, gap, dt, indices, sigma=None):
    """v1's objective: mean reduced chi-squared over the angles in `indices`.

    sigma=None computes the per-angle sigma from c2_exp inside the call (v1);
    otherwise the given precomputed sigmas are used.
    """
    n_angles, n_frames, _ = c2_exp.shape
    theory = c2_theory_laminar(params, phi_deg, n_frames, q, gap, dt).reshape(n_angles, -1)
    exp_flat = c2_exp.reshape(n_angles, -1)
    if sigma is None:
        sigma = angle_sigmas(c2_exp)
    contrast, offset = solve_least_squares_batch(theory, exp_flat)
    chi2_raw = chi_squared_batch(theory, exp_flat, contrast, offset)
    dof = max(exp_flat.shape[1] - N_PARAMS, 1)
    reduced = chi2_raw / sigma**2 / dof
    return float(np.mean(reduced[indices]))


# --------------------------------------------------------------------------
# Statistics kernels
# --------------------------------------------------------------------------


@njit(fastmath=True)
def pearson_numba(x, y):
    """Two-pass Pearson r: means, then sums of dx*dy, dx*dx, dy*dy."""
    n = x.size
    sx = 0.0
    sy = 0.0
    for k in range(n):
        sx += x[k]
        sy += y[k]
    mx = sx / n
    my = sy / n
    sxy = 0.0
    sxx = 0.0
    syy = 0.0
    for k in range(n):
        dx = x[k] - mx
        dy = y[k] - my
        sxy += dx * dy
        sxx += dx * dx
        syy += dy * dy
    return sxy / np.sqrt(sxx * syy)


def pearson_numpy(x, y):
    return np.corrcoef(x, y)[0, 1]


def pearson_python(x, y):
    """Same two-pass algorithm on Python lists of floats."""
    n = len(x)
    mx = sum(x) / n
    my = sum(y) / n
    sxy = sxx = syy = 0.0
    for xi, yi in zip(x, y):
        dx = xi - mx
        dy = yi - my
        sxy += dx * dy
        sxx += dx * dx
        syy += dy * dy
    return sxy / math.sqrt(sxx * syy)


def pearson_chi2_numpy(observed, expected):
    return np.sum((observed - expected) ** 2 / expected)


@njit(fastmath=True)
def pearson_chi2_numba(observed, expected):
    acc = 0.0
    for k in range(observed.size):
        d = observed[k] - expected[k]
        acc += d * d / expected[k]
    return acc


def batch_chi2_numpy(observed, expected):
    return np.sum((observed - expected) ** 2 / expected, axis=1)


@njit(fastmath=True, parallel=True)
def batch_chi2_numba(observed, expected):
    rows, points = observed.shape
    out = np.empty(rows)
    for r in prange(rows):
        acc = 0.0
        for k in range(points):
            d = observed[r, k] - expected[r, k]
            acc += d * d / expected[r, k]
        out[r] = acc
    return out


# --------------------------------------------------------------------------
# Verification against the package's vectors
# --------------------------------------------------------------------------


def decode(value):
    """JSON vector value -> float / ndarray (conventions in the files' meta)."""
    if isinstance(value, dict) and "shape" in value:
        return np.array([float(v) for v in value["data"]]).reshape(value["shape"])
    if isinstance(value, list):
        return np.array([float(v) for v in value])
    return float(value)


def verify(path, tolerance=1e-10):
    """Reproduce objective_filtered / objective_all_angles of every case; True if all match."""
    with open(path) as f:
        cases = json.load(f)["cases"]
    ok = True
    print(f"Verification against {path} (relative tolerance {tolerance:g})\n")
    print("| case | quantity | expected | got | relative error | ok |")
    print("|---|---|---|---|---|---|")
    for n, case in enumerate(cases):
        c2_exp = decode(case["c2_exp"])
        phi = decode(case["phi_deg"])
        params = decode(case["eval_params"])
        args = (params, phi, c2_exp, case["q"], case["L_stator_rotor_gap"], case["dt"])
        for name, indices in [
            ("objective_filtered", np.array(case["filtered_indices"])),
            ("objective_all_angles", np.arange(len(phi))),
        ]:
            expected = decode(case[name])
            got = objective(*args, indices)
            rel = abs(got - expected) / abs(expected)
            good = rel <= tolerance
            ok &= good
            print(f"| {n} | {name} | {expected!r} | {got!r} | {rel:.2e} | {'yes' if good else 'NO'} |")
    print()
    return ok


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------


def measure(fn, *args):
    """(median, min) seconds per call of fn(*args), after one warm-up call.

    Calls are batched so that one timed sample lasts >= MIN_SAMPLE_SECONDS
    (keeps perf_counter overhead out of sub-microsecond calls); samples are
    taken until >= MIN_SECONDS in total and >= MIN_CALLS samples.
    """
    fn(*args)
    start = time.perf_counter()
    fn(*args)
    single = time.perf_counter() - start
    batch = max(1, int(MIN_SAMPLE_SECONDS / max(single, 1e-9)))
    samples = []
    total = 0.0
    while total < MIN_SECONDS or len(samples) < MIN_CALLS:
        start = time.perf_counter()
        for _ in range(batch):
            fn(*args)
        elapsed = time.perf_counter() - start
        total += elapsed
        samples.append(elapsed / batch)
    return statistics.median(samples), min(samples)


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def format_seconds(s):
    for unit, scale in [("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)]:
        if s >= scale:
            return f"{s / scale:.3f} {unit}"
    return f"{s / 1e-9:.1f} ns"


def format_bytes(n):
    for unit, scale in [("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)]:
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


def print_table(workload, rows):
    extra = any("peak_rss_bytes" in r for r in rows)
    header = "| size | implementation | median | min |" + (" peak RSS | c2_exp |" if extra else "")
    print(f"### {workload}\n")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        median, minimum = format_seconds(r["median_s"]), format_seconds(r["min_s"])
        line = f"| {r['size']} | {r['implementation']} | {median} | {minimum} |"
        if extra:
            line += f" {format_bytes(r['peak_rss_bytes'])} | {format_bytes(r['c2_exp_bytes'])} |"
        print(line)
    print(flush=True)


# --------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------


def synthetic_c2_exp(phi_deg, n_frames):
    """Model c2 at BENCH_PARAMS, scaled by contrast/offset, plus seeded gaussian noise.

    Built in place, angle by angle, so the only large allocation is c2_exp.
    """
    c2 = c2_theory_laminar(BENCH_PARAMS, phi_deg, n_frames, BENCH_Q, BENCH_L, BENCH_DT)
    rng = np.random.default_rng(BENCH_SEED)
    for a in range(c2.shape[0]):
        c2[a] *= BENCH_CONTRAST
        c2[a] += BENCH_OFFSET + BENCH_NOISE_SD * rng.standard_normal((n_frames, n_frames))
    return c2


def bench_objective(large):
    sizes = [(5, 50), (23, 200), (23, 1000)] + ([(23, 3000)] if large else [])
    rows = []
    for n_angles, n_frames in sizes:
        phi = np.linspace(-10.0, 190.0, n_angles)
        c2_exp = synthetic_c2_exp(phi, n_frames)
        indices = np.arange(n_angles)
        args = (BENCH_PARAMS, phi, c2_exp, BENCH_Q, BENCH_L, BENCH_DT, indices)
        variants = [
            ("v1 pipeline, sigma in call", args),
            ("v1 pipeline, sigma precomputed", args + (angle_sigmas(c2_exp),)),
        ]
        for name, call_args in variants:
            median, minimum = measure(objective, *call_args)
            rows.append(
                {
                    "workload": "objective",
                    "size": f"{n_angles} x {n_frames} x {n_frames}",
                    "implementation": name,
                    "median_s": median,
                    "min_s": minimum,
                    "peak_rss_bytes": peak_rss_bytes(),
                    "c2_exp_bytes": c2_exp.nbytes,
                }
            )
        del c2_exp, args, variants
    return rows


def bench_pearson():
    rows = []
    for n in [100, 1_000, 10_000, 1_000_000]:
        rng = np.random.default_rng(1)
        x = rng.standard_normal(n)
        y = 0.5 * x + rng.standard_normal(n)
        impls = [("numba two-pass", pearson_numba, (x, y)), ("np.corrcoef", pearson_numpy, (x, y))]
        if n <= 10_000:
            impls.append(("pure Python", pearson_python, (x.tolist(), y.tolist())))
        reference = pearson_numpy(x, y)
        for name, fn, args in impls:
            assert abs(fn(*args) - reference) < 1e-12, name
            median, minimum = measure(fn, *args)
            rows.append(
                {"workload": "pearson", "size": n, "implementation": name, "median_s": median, "min_s": minimum}
            )
    return rows


def bench_pearson_chi2():
    rows = []
    for n in [1_000, 1_000_000]:
        rng = np.random.default_rng(2)
        expected = 1.0 + rng.random(n)
        observed = expected + 0.01 * rng.standard_normal(n)
        reference = pearson_chi2_numpy(observed, expected)
        for name, fn in [("numpy expression", pearson_chi2_numpy), ("numba loop", pearson_chi2_numba)]:
            assert abs(fn(observed, expected) - reference) <= 1e-12 * reference, name
            median, minimum = measure(fn, observed, expected)
            rows.append(
                {"workload": "pearson_chi2", "size": n, "implementation": name, "median_s": median, "min_s": minimum}
            )
    return rows


def bench_batch_chi2():
    rows_n, points = 23, 1_000_000
    rng = np.random.default_rng(3)
    expected = 1.0 + rng.random((rows_n, points))
    observed = expected + 0.01 * rng.standard_normal((rows_n, points))
    reference = batch_chi2_numpy(observed, expected)
    rows = []
    impls = [
        ("numpy axis=1", batch_chi2_numpy),
        (f"numba prange ({numba.get_num_threads()} threads)", batch_chi2_numba),
    ]
    for name, fn in impls:
        assert np.allclose(fn(observed, expected), reference, rtol=1e-12, atol=0.0), name
        median, minimum = measure(fn, observed, expected)
        rows.append(
            {
                "workload": "batch_chi2",
                "size": f"{rows_n} x {points}",
                "implementation": name,
                "median_s": median,
                "min_s": minimum,
            }
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also time the objective at 23 x 3000 x 3000")
    parser.add_argument("--json", metavar="PATH", help="write all results as a JSON list to PATH")
    default_vectors = Path(__file__).resolve().parents[2] / "crates/homodyne-kernels/tests/data/objective.json"
    parser.add_argument("--vectors", default=str(default_vectors), help="objective.json to check")
    args = parser.parse_args()

    print(f"numpy {np.__version__}, numba {numba.__version__}, numba threads {numba.get_num_threads()}\n")
    if not verify(args.vectors):
        print("objective does not reproduce the package's vectors", file=sys.stderr)
        sys.exit(1)

    results = []
    for bench in [
        lambda: bench_objective(args.large),
        bench_pearson,
        bench_pearson_chi2,
        bench_batch_chi2,
    ]:
        rows = bench()
        print_table(rows[0]["workload"], rows)
        results.extend(rows)

    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
