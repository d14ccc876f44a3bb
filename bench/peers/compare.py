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


# ---------------------------------------------------------------- table

IMPLEMENTATIONS = {
    "angles": ["Python loop", "numpy mask", "numba @njit"],
    "correlation": ["Python loop", "np.corrcoef", "numba two-pass"],
    "chi2": ["numpy", "numba"],
    "batch_chi2": ["numpy axis=1", "numba prange"],
    "objective": ["v1 pipeline, sigma in call", "v1 pipeline, sigma precomputed"],
    "cache": ["cachetools.LRUCache + lz4.frame"],
}


def load(directory, name):
    return np.load(Path(directory) / name)


def prepare(workload, implementation, size, directory):
    """The call to time, with its inputs bound."""
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
    call = prepare(workload, implementation, size, directory)
    status = check(call(), Path(directory) / "out" / f"homodyne-rs_{workload}_{size}.npy")
    line = {"implementation": implementation, "check": status, "peak_rss_bytes": None}
    if status == "ok" or workload != "objective":
        median, minimum = kp.measure(call)
        line.update(median_s=median, min_s=minimum)
    if workload == "cache":
        import lz4.frame

        array = load(directory, f"cache_{size}.npy")
        line["ratio"] = array.nbytes / len(lz4.frame.compress(array))
    line["peak_rss_bytes"] = kp.peak_rss_bytes()
    print(json.dumps(line))


if __name__ == "__main__":
    main()
