"""The many-fits example runs on a 2-worker LocalCluster; objectives pickle."""

from __future__ import annotations

import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import homodyne_rs as hr

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "python" / "many_fits.py"


def test_objective_pickles_with_its_data_and_settings():
    phi = np.array([-5.0, 0.0, 90.0])
    truth = np.array([2e4, 0.3, 50.0])
    c2 = 0.2 * hr.c2_theory(truth, phi, n_frames=30, dt=0.1, q=0.0054, gap=2e6, mode="static") + 1.0
    c2 += 1e-3 * np.random.default_rng(2).standard_normal(c2.shape)
    validity = {"check_positive_D0": True, "bounds": [(1.0, 1e6)], "names": ["D0"]}
    objective = hr.Objective(c2, phi, dt=0.1, q=0.0054, gap=2e6, mode="static", validity=validity, sigma_factor=0.2)
    copy = pickle.loads(pickle.dumps(objective))
    assert type(copy) is hr.Objective
    assert copy(truth) == objective(truth)
    assert copy([-1.0, 0.3, 50.0]) == float("inf")
    assert copy.settings == objective.settings
    np.testing.assert_array_equal(copy.c2_exp, c2)


def test_many_fits_example_on_a_local_cluster():
    started = time.perf_counter()
    run = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    print(run.stdout, run.stderr[-2000:], f"example took {elapsed:.1f} s")
    assert run.returncode == 0, run.stderr[-4000:]
    assert run.stdout.count("data set ") == 8
