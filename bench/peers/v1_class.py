"""The real v1 class: homodyne-analysis 1.0.1's HomodyneAnalysisCore.calculate_chi_squared_optimized,
run by `compare.py` in a Python that has the package (it needs Python >= 3.12):

    v1_class.py SIZE DIR     check and time one objective evaluation, print one JSON line

The inputs are the objective workload's .npy files in DIR (all angles enter, as in the other
objective peers); the configuration is the package's laminar_flow.json template with the
workload's constants. Each call runs the class's whole pipeline (sigma included), as
scipy.optimize.minimize calls it in v1's ClassicalOptimizer.
"""

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main():
    size, directory = sys.argv[1], Path(sys.argv[2])
    import homodyne
    from homodyne.analysis.core import HomodyneAnalysisCore

    c2 = np.load(directory / f"objective_c2_{size}.npy")
    phi = np.load(directory / f"objective_phi_{size}.npy")
    n_frames = c2.shape[1]
    template = Path(homodyne.__file__).parent / "config" / "laminar_flow.json"
    config = json.loads(template.read_text())
    config["analyzer_parameters"]["temporal"].update(dt=0.1, start_frame=1, end_frame=n_frames)
    config["analyzer_parameters"]["scattering"]["wavevector_q"] = 0.0054
    config["analyzer_parameters"]["geometry"]["stator_rotor_gap"] = 2e6
    config.setdefault("performance_settings", {})["optimization_counter_log_frequency"] = 10**9
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(config))
        core = HomodyneAnalysisCore(config_file=str(path))
    params = np.array([20000.0, 0.3, 50.0, 0.0002, 0.25, 5e-05, 2.0])

    def call():
        return core.calculate_chi_squared_optimized(params, phi, c2, filter_angles_for_optimization=False)

    value = call()  # numba compilation and caches happen here, outside the timing
    reference = directory / "out" / f"homodyne-rs_objective_{size}.npy"
    expected = float(np.load(reference).ravel()[0]) if reference.exists() else None
    check = (
        "no homodyne-rs result"
        if expected is None
        else ("ok" if abs(value - expected) <= 1e-10 * abs(expected) else f"differs: {value!r} vs {expected!r}")
    )
    times = []
    budget = time.perf_counter() + 20.0
    while len(times) < 5 or (len(times) < 50 and time.perf_counter() < budget):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "implementation": "v1 class (homodyne-analysis 1.0.1)",
                "check": check,
                "median_s": float(np.median(times)),
                "min_s": float(np.min(times)),
                "peak_rss_bytes": peak,
            }
        )
    )


if __name__ == "__main__":
    main()
