"""The Python side of `cargo xtask compare`: one workload, one implementation,
one size per process (so that the peak resident memory is the workload's).

    compare.py list                          implementations per workload, as JSON
    compare.py run WORKLOAD IMPL SIZE DIR    check, time, print one JSON line

Inputs are the .npy files that the Rust side (`crates/homodyne-bench/examples/peers.rs`) wrote into
DIR, so both sides compute on identical data. Before timing, the result is
checked against homodyne-rs's (DIR/out/homodyne-rs_WORKLOAD_SIZE.npy):
indices identical, floats within 1e-10 relative; the JSON line says which.
Timing: kernels_peers.measure (median and minimum per call, numba compilation
excluded), the same rule as the Rust side.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import kernels_peers as kp
import numpy as np
from numba import njit

RANGES = ((-10.0, 10.0), (170.0, 190.0))
TOLERANCE = 1e-10


# ---------------------------------------------------------------- angles


def angles_python_loop(angles):
    """The design document's "original": a nested Python loop."""
    selected = []
    for index, angle in enumerate(angles):
        for low, high in RANGES:
            if low <= angle <= high:
                selected.append(index)
                break
    return selected


def angles_numpy(angles):
    mask = np.zeros(angles.shape, dtype=bool)
    for low, high in RANGES:
        mask |= (angles >= low) & (angles <= high)
    return np.flatnonzero(mask)


@njit
def _angles_numba(angles, lows, highs):
    out = np.empty(angles.size, dtype=np.int64)
    count = 0
    for index in range(angles.size):
        for r in range(lows.size):
            if lows[r] <= angles[index] <= highs[r]:
                out[count] = index
                count += 1
                break
    return out[:count]


def angles_numba(angles):
    return _angles_numba(angles, np.array([r[0] for r in RANGES]), np.array([r[1] for r in RANGES]))


# ---------------------------------------------------------------- cache


def cache_round_trip_factory(array):
    """An array into an LRU cache as lz4.frame bytes, and back out."""
    import lz4.frame
    from cachetools import LRUCache

    cache = LRUCache(maxsize=500 * 2**20, getsizeof=len)

    def round_trip():
        cache[1] = lz4.frame.compress(array)
        return np.frombuffer(lz4.frame.decompress(cache[1]), dtype=np.float64)

    return round_trip


def homodyne_rs_cache_factory(array):
    """homodyne-rs's cache from Python: set, pushed cold (compressed, level 1), get (decompressed)."""
    import homodyne_rs

    cache = homodyne_rs.MemoryEfficientCache(max_memory_mb=500, hot_fraction=0.0)
    small = np.zeros(4)

    def round_trip():
        cache.set("array", array)
        cache.set("newer", small)  # the array is now the coldest entry: compressed
        return cache.get("array")

    return round_trip, cache


# ---------------------------------------------------------------- table

FROM_PYTHON = "homodyne-rs from Python"

# The fit workload: the same truth, start (30% off), bounds and model as
# crates/homodyne-bench/examples/peers.rs; the peers run scipy's Nelder-Mead over the same
# objective (homodyne_rs.Objective, every angle), as a v1 user would.
FIT_TRUTH = np.array([1e4, 0.5, 50.0, 5e-5, 0.5, 1e-5, 5.0])
FIT_BOUNDS = [(1.0, 1e6), (-2.0, 2.0), (-1e4, 1e4), (1e-6, 1.0), (-2.0, 2.0), (-0.01, 0.01), (-10.0, 10.0)]
FIT_RUNS = 5
NELDER_MEAD_DEFAULTS = "scipy Nelder-Mead, defaults"
NELDER_MEAD_SAME_TOLERANCE = "scipy Nelder-Mead to the fit's ftol"

IMPLEMENTATIONS = {
    "angles": [FROM_PYTHON, "Python loop", "numpy mask", "numba @njit"],
    "correlation": [FROM_PYTHON, "Python loop", "np.corrcoef", "numba two-pass"],
    "chi2": [FROM_PYTHON, "numpy", "numba"],
    "batch_chi2": [FROM_PYTHON, "numpy axis=1", "numba prange"],
    "objective": [FROM_PYTHON, "v1 pipeline, sigma in call", "v1 pipeline, sigma precomputed"],
    "fit": [FROM_PYTHON, NELDER_MEAD_DEFAULTS, NELDER_MEAD_SAME_TOLERANCE],
    "cache": [FROM_PYTHON, "cachetools.LRUCache + lz4.frame"],
}

# The real v1 class, when a Python with homodyne-analysis 1.0.1 is given
# (it needs Python >= 3.12; `cargo xtask compare` makes one when it can).
V1_CLASS = "v1 class (homodyne-analysis 1.0.1)"
V1_PYTHON = os.environ.get("HOMODYNE_V1_PYTHON")
if V1_PYTHON:
    IMPLEMENTATIONS["objective"].insert(1, V1_CLASS)


def load(directory, name):
    return np.load(Path(directory) / name)


def prepare(workload, implementation, size, directory):
    """The call to time, with its inputs bound."""
    if implementation == FROM_PYTHON:
        return prepare_homodyne_rs(workload, size, directory)
    if workload == "angles":
        angles = load(directory, f"angles_{size}.npy")
        if implementation == "Python loop":
            as_list = angles.tolist()
            return lambda: angles_python_loop(as_list)
        function = {"numpy mask": angles_numpy, "numba @njit": angles_numba}[implementation]
        return lambda: function(angles)
    if workload == "correlation":
        x = load(directory, f"correlation_x_{size}.npy")
        y = load(directory, f"correlation_y_{size}.npy")
        if implementation == "Python loop":
            xs, ys = x.tolist(), y.tolist()
            return lambda: kp.pearson_python(xs, ys)
        function = {"np.corrcoef": kp.pearson_numpy, "numba two-pass": kp.pearson_numba}[implementation]
        return lambda: function(x, y)
    if workload == "chi2":
        observed = load(directory, f"chi2_observed_{size}.npy")
        expected = load(directory, f"chi2_expected_{size}.npy")
        function = {"numpy": kp.pearson_chi2_numpy, "numba": kp.pearson_chi2_numba}[implementation]
        return lambda: function(observed, expected)
    if workload == "batch_chi2":
        observed = load(directory, "batch_observed.npy")
        expected = load(directory, "batch_expected.npy")
        function = {"numpy axis=1": kp.batch_chi2_numpy, "numba prange": kp.batch_chi2_numba}[implementation]
        return lambda: function(observed, expected)
    if workload == "objective":
        c2 = load(directory, f"objective_c2_{size}.npy")
        phi = load(directory, f"objective_phi_{size}.npy")
        indices = np.arange(c2.shape[0])
        params = np.array([20000.0, 0.3, 50.0, 0.0002, 0.25, 5e-05, 2.0])
        args = (params, phi, c2, 0.0054, 2e6, 0.1, indices)
        if implementation == "v1 pipeline, sigma in call":
            return lambda: kp.objective(*args)  # v1 computes sigma inside every call
        sigma = kp.angle_sigmas(c2)
        return lambda: kp.objective(*args, sigma)
    if workload == "cache":
        return cache_round_trip_factory(load(directory, f"cache_{size}.npy"))
    if workload == "fit":
        from scipy.optimize import minimize

        import homodyne_rs as hr

        c2, phi, mode, x0, _ = fit_inputs(directory, size)
        objective = hr.Objective(c2, phi, dt=0.1, q=0.0054, gap=2e6, mode=mode, filter_angles=False)
        if implementation == NELDER_MEAD_DEFAULTS:
            return lambda: minimize(objective, x0, method="Nelder-Mead")
        # Stops when the simplex's values agree to ftol relative, as the
        # fit's ftol = 1e-10 (xatol infinite: only the values decide).
        reference = np.load(Path(directory) / "out" / f"homodyne-rs_fit_{size}.npy")
        fatol = 1e-10 * reference[-1]
        options = {"fatol": fatol, "xatol": np.inf, "maxiter": 100_000, "maxfev": 100_000}
        return lambda: minimize(objective, x0, method="Nelder-Mead", options=options)
    raise SystemExit(f"unknown workload {workload!r}")


def fit_inputs(directory, size):
    """The fit workload's data, mode, start and bounds."""
    c2, phi = load(directory, f"fit_c2_{size}.npy"), load(directory, f"fit_phi_{size}.npy")
    mode = "laminar_flow" if size.startswith("laminar") else "static"
    n = 7 if mode == "laminar_flow" else 3
    return c2, phi, mode, FIT_TRUTH[:n] * 1.3, FIT_BOUNDS[:n]


def check_fit(result, reference_path):
    """The fit from Python must equal homodyne-rs's; a peer's optimum is
    described ('note: ...', never a failure): its objective beside the fit's
    and how far its parameters land, in the fit's standard errors."""
    reference = np.load(reference_path)
    n = (reference.size - 1) // 2
    params, sigma, objective = reference[:n], reference[n : 2 * n], reference[-1]
    if hasattr(result, "uncertainties"):
        worst = float(np.max(np.abs(result.params - params) / np.abs(params)))
        return "ok" if worst <= TOLERANCE else f"differs: relative error {worst:.1e}"
    z = np.abs(result.x - params) / sigma
    return (
        f"note: {result.nfev} evaluations, objective {result.fun / objective - 1:+.1e} relative to the fit's, "
        f"parameters up to {z.max():.1f} sigma from the fit's"
    )


def measure_runs(call, runs):
    """(median, min) seconds of `runs` calls (fewer, at least 3, once one lasts over 20 s)."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
        if len(samples) >= 3 and samples[-1] > 20.0:
            break
    return statistics.median(samples), min(samples)


def prepare_homodyne_rs(workload, size, directory):
    """The same call through the homodyne_rs package: what a Python user pays, the call included."""
    import homodyne_rs as hr

    if workload == "angles":
        angles = load(directory, f"angles_{size}.npy")
        return lambda: hr.filter_angles(angles, RANGES)
    if workload == "correlation":
        x, y = load(directory, f"correlation_x_{size}.npy"), load(directory, f"correlation_y_{size}.npy")
        return lambda: hr.fast_correlation(x, y)
    if workload == "chi2":
        observed, expected = load(directory, f"chi2_observed_{size}.npy"), load(directory, f"chi2_expected_{size}.npy")
        return lambda: hr.chi_squared(observed, expected)
    if workload == "batch_chi2":
        observed, expected = load(directory, "batch_observed.npy"), load(directory, "batch_expected.npy")
        return lambda: hr.chi_squared(observed, expected)
    if workload == "objective":
        c2, phi = load(directory, f"objective_c2_{size}.npy"), load(directory, f"objective_phi_{size}.npy")
        # Built once (sigma and per-angle sums at construction), called per evaluation, as scipy does.
        objective = hr.Objective(c2, phi, dt=0.1, q=0.0054, gap=2e6, filter_angles=False)
        params = np.array([20000.0, 0.3, 50.0, 0.0002, 0.25, 5e-05, 2.0])
        return lambda: objective(params)
    if workload == "fit":
        c2, phi, mode, x0, bounds = fit_inputs(directory, size)
        # The objective's construction is part of the call, as on the Rust side.
        return lambda: hr.fit(c2, phi, dt=0.1, q=0.0054, gap=2e6, mode=mode, x0=x0, bounds=bounds)
    if workload == "cache":
        round_trip, _ = homodyne_rs_cache_factory(load(directory, f"cache_{size}.npy"))
        return round_trip
    raise SystemExit(f"unknown workload {workload!r}")


def check(result, reference_path):
    """'ok' or what differs from homodyne-rs's result."""
    if not reference_path.exists():
        return "no homodyne-rs result to compare with"
    reference = np.load(reference_path)
    got = np.atleast_1d(np.asarray(result))
    if got.shape != reference.shape:
        return f"differs: shape {got.shape} vs {reference.shape}"
    if reference.dtype.kind == "i":
        return "ok" if np.array_equal(got.astype(np.int64), reference) else "differs: other indices"
    scale = np.maximum(np.abs(reference), np.finfo(float).tiny)
    worst = float(np.max(np.abs(got - reference) / scale)) if got.size else 0.0
    return "ok" if worst <= TOLERANCE else f"differs: relative error {worst:.1e}"


def main():
    if sys.argv[1:2] == ["list"]:
        print(json.dumps(IMPLEMENTATIONS))
        return
    if len(sys.argv) != 6 or sys.argv[1] != "run":
        raise SystemExit(__doc__)
    _, _, workload, implementation, size, directory = sys.argv
    if implementation == V1_CLASS:
        script = Path(__file__).with_name("v1_class.py")
        run = subprocess.run([V1_PYTHON, str(script), size, directory], capture_output=True, text=True, check=True)
        print(run.stdout.strip().splitlines()[-1])
        return
    call = prepare(workload, implementation, size, directory)
    reference = Path(directory) / "out" / f"homodyne-rs_{workload}_{size}.npy"
    status = check_fit(call(), reference) if workload == "fit" else check(call(), reference)
    line = {"implementation": implementation, "check": status, "peak_rss_bytes": None}
    if workload == "fit":
        median, minimum = measure_runs(call, FIT_RUNS)
        line.update(median_s=median, min_s=minimum)
    elif status == "ok" or workload != "objective":
        median, minimum = kp.measure(call)
        line.update(median_s=median, min_s=minimum)
    if workload == "cache" and implementation == FROM_PYTHON:
        import homodyne_rs

        # A fresh cache holding the array compressed (and two 32-byte arrays): its ratio.
        cache = homodyne_rs.MemoryEfficientCache(max_memory_mb=500, hot_fraction=0.0)
        cache.set("array", load(directory, f"cache_{size}.npy"))
        cache.set("newer", np.zeros(4))
        line["ratio"] = cache.stats()["compression_ratio"]
    elif workload == "cache":
        import lz4.frame

        array = load(directory, f"cache_{size}.npy")
        line["ratio"] = array.nbytes / len(lz4.frame.compress(array))
    line["peak_rss_bytes"] = kp.peak_rss_bytes()
    print(json.dumps(line))


if __name__ == "__main__":
    main()
