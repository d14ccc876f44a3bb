"""The GIL is released during computations, and concurrent calls agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import homodyne_rs as hr

# Run in a child with one rayon thread: the objective then uses one core and
# the counting thread can have the other, if and only if the GIL is free.
# (With both cores busy in rayon, timing concurrent against sequential calls
# could not show whether the GIL was held.)
CHILD = r"""
import json, sys, threading, time
import numpy as np
import homodyne_rs as hr

params = np.array([2e4, 0.3, 50.0, 2e-4, 0.25, 5e-5, 2.0])
phi = np.linspace(-10.0, 10.0, 8)
kwargs = dict(dt=0.1, q=0.0054, gap=2e6)
c2 = 0.3 * hr.c2_theory(params, phi, n_frames=1200, **kwargs) + 1.0
objective = hr.Objective(c2, phi, **kwargs)

def count(seconds):
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        n += 1
    return n

solo = count(1.0)
stop, calls = threading.Event(), [0]
MODE = sys.argv[1]
def call():
    if MODE == "fit":
        objective.fit(params * 1.2)
    else:
        objective(params)
def evaluate():
    while not stop.is_set():
        call()
        calls[0] += 1
started = time.perf_counter()
call()
one_call = time.perf_counter() - started
worker = threading.Thread(target=evaluate)
worker.start()
concurrent = count(1.0)
stop.set()
worker.join()
print(json.dumps({"solo": solo, "concurrent": concurrent, "calls": calls[0], "one_call_s": one_call}))
"""


@pytest.mark.parametrize("mode", ["evaluate", "fit"])
def test_a_python_thread_runs_while_the_objective_evaluates_or_fits(mode):
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode], env=env, capture_output=True, text=True, timeout=300, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    share = result["concurrent"] / result["solo"]
    print(
        f"counting loop: {share:.0%} of its solo speed while the objective ran {result['calls']} calls "
        f"of {1e3 * result['one_call_s']:.1f} ms each: {result}"
    )
    # Held GIL: the counter would run only between calls, about 5 ms (the
    # switch interval) per call of ~15 ms, so at most a third of its speed.
    assert result["calls"] >= (5 if mode == "evaluate" else 1), result
    assert share > 0.6, result


def test_concurrent_calls_give_identical_results():
    truth = np.array([2e4, 0.3, 50.0, 2e-4, 0.25, 5e-5, 2.0])
    phi = np.array([-6.0, -2.0, 0.0, 3.0, 9.0, 175.0])
    kwargs = dict(dt=0.1, q=0.0054, gap=2e6)
    c2 = 0.3 * hr.c2_theory(truth, phi, n_frames=120, **kwargs) + 1.0
    c2 += 1e-3 * np.random.default_rng(3).standard_normal(c2.shape)
    objective = hr.Objective(c2, phi, **kwargs)
    points = [truth * (1 + 0.01 * k) for k in range(16)]
    sequential = [objective(p) for p in points]
    results: dict[int, list[float]] = {}

    def run(worker: int) -> None:
        results[worker] = [objective(p) for p in points for _ in range(3)][::3]

    threads = [threading.Thread(target=run, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in range(4):
        assert results[worker] == sequential, "bit-identical across threads"
    x = np.random.default_rng(5).random(100_000)
    y = x + np.random.default_rng(6).random(100_000)
    expected = hr.fast_correlation(x, y)
    values: list[float] = []
    threads = [threading.Thread(target=lambda: values.append(hr.fast_correlation(x, y))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert values == [expected] * 8
