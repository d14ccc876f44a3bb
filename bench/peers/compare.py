"""The Python side of `cargo xtask compare`: one workload, one implementation,
one size per process (so that the peak resident memory is the workload's).

    compare.py list                          implementations per workload, as JSON
    compare.py run WORKLOAD IMPL SIZE DIR    check, time, print one JSON line

Inputs are the .npy files that the Rust side (`examples/peers.rs`) wrote into
DIR, so both sides compute on identical data. Before timing, the result is
checked against homodyne-rs's (DIR/out/homodyne-rs_WORKLOAD_SIZE.npy):
indices identical, floats within 1e-10 relative; the JSON line says which.
Timing: kernels_peers.measure (median and minimum per call, numba compilation
excluded), the same rule as the Rust side.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from numba import njit

import kernels_peers as kp

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
    from cachetools import LRUCache
    import lz4.frame

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

IMPLEMENTATIONS = {
    "angles": [FROM_PYTHON, "Python loop", "numpy mask", "numba @njit"],
    "correlation": [FROM_PYTHON, "Python loop", "np.corrcoef", "numba two-pass"],
    "chi2": [FROM_PYTHON, "numpy", "numba"],
    "batch_chi2": [FROM_PYTHON, "numpy axis=1", "numba prange"],
    "objective": [FROM_PYTHON, "v1 pipeline, sigma in call", "v1 pipeline, sigma precomputed"],
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
    raise SystemExit(f"unknown workload {workload!r}")


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
    status = check(call(), Path(directory) / "out" / f"homodyne-rs_{workload}_{size}.npy")
    line = {"implementation": implementation, "check": status, "peak_rss_bytes": None}
    if status == "ok" or workload != "objective":
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
