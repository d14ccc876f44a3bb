"""Fit many independent data sets (one per sample and q-ring) on Dask.

    python examples/python/many_fits.py                      # a LocalCluster with 2 workers
    python examples/python/many_fits.py tcp://scheduler:8786 # a real cluster
    python examples/python/many_fits.py --n 32 --frames 100

Each task receives a pickled `homodyne_rs.Objective` (its c2_exp travels
with it: one copy of the data per task) and runs scipy's Nelder-Mead on the
worker; the workers need `homodyne-rs`, numpy and scipy installed. Prints one
line per data set and the total time, and exits non-zero if a fit did not
recover its true D0 within 5%.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import homodyne_rs as hr

KWARGS = dict(dt=0.1, q=0.0054, gap=2e6)
PHI = np.array([-8.0, -4.0, 0.0, 4.0, 178.0])


def synthetic(seed: int, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """A data set: the model at seeded parameters, scaled, with noise."""
    rng = np.random.default_rng(seed)
    truth = np.array([rng.uniform(1e4, 3e4), 0.3, 50.0, 2e-4, 0.25, 5e-5, 2.0])
    c2 = 0.3 * hr.c2_theory(truth, PHI, n_frames=frames, **KWARGS) + 1.0
    c2 += 2e-4 * rng.standard_normal(c2.shape)
    return truth, c2


def fit(objective: hr.Objective, x0: np.ndarray) -> dict:
    """One fit, run on a worker: only D0 and the diffusion offset are free."""
    from scipy.optimize import minimize

    fixed = np.array(x0, dtype=float)

    def reduced(free: np.ndarray) -> float:
        params = fixed.copy()
        params[0], params[2] = free
        return objective(params)

    started = time.perf_counter()
    result = minimize(
        reduced, [fixed[0], fixed[2]], method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-12, "maxiter": 2000}
    )
    return {
        "D0": float(result.x[0]),
        "chi2": float(result.fun),
        "evaluations": int(result.nfev),
        "seconds": time.perf_counter() - started,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scheduler", nargs="?", help="a Dask scheduler's address (default: a LocalCluster)")
    parser.add_argument("--n", type=int, default=8, help="data sets (default 8)")
    parser.add_argument("--frames", type=int, default=60, help="frames per data set (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster workers (default 2)")
    args = parser.parse_args(argv)

    from dask.distributed import Client, LocalCluster

    started = time.perf_counter()
    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        data = [synthetic(seed, args.frames) for seed in range(args.n)]
        objectives = [hr.Objective(c2, PHI, **KWARGS) for _, c2 in data]
        starts = [truth * np.array([1.3, 1, 1.2, 1, 1, 1, 1]) for truth, _ in data]
        futures = client.map(fit, objectives, starts, pure=False)
        results = client.gather(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    failures = 0
    for seed, ((truth, _), result) in enumerate(zip(data, results)):
        error = result["D0"] / truth[0] - 1
        failures += abs(error) > 0.05
        print(
            f"data set {seed}: D0 {result['D0']:.1f} (true {truth[0]:.1f}, {error:+.2%}), "
            f"{result['evaluations']} evaluations in {result['seconds']:.2f} s"
        )
    print(f"{args.n} fits in {time.perf_counter() - started:.1f} s (cluster start included)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
