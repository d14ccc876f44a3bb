"""Fast, exact XPCS homodyne analysis, from Rust (homodyne-rs).

numpy arrays in and out; every computation releases the GIL.

- Kernels: :func:`filter_angles`, :func:`fast_correlation`,
  :func:`correlation_matrix`, :func:`chi_squared`,
  :func:`chi_squared_weighted`, :func:`chi_squared_batch`,
  :func:`solve_scaling_batch`, :func:`c2_theory`.
- :class:`Objective`: v1's ``calculate_chi_squared_optimized`` as a callable
  for ``scipy.optimize.minimize``; :meth:`Objective.from_v1_config` reads a
  v1 JSON configuration, and :func:`homodyne_rs.v1.fit` runs v1's fit.
- :class:`MemoryEfficientCache`: a memory-bounded cache for numpy arrays.
- :class:`PerformanceRecorder`: regression statistics for benchmark suites.

Errors: ``ValueError`` for bad values and shapes, ``TypeError`` for wrong
types, :class:`CacheError` and :class:`PerfError` for files.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Union

from . import _homodyne_rs
from ._homodyne_rs import (
    CacheError,
    ChiSquared,
    MemoryEfficientCache,
    PerfError,
    PerformanceRecorder,
    PerfVerdict,
    c2_theory,
    chi_squared,
    chi_squared_batch,
    chi_squared_weighted,
    correlation_matrix,
    fast_correlation,
    filter_angles,
    solve_scaling_batch,
)

__version__: str = _homodyne_rs.__version__

__all__ = [
    "CacheError",
    "ChiSquared",
    "MemoryEfficientCache",
    "Objective",
    "PerfError",
    "PerfVerdict",
    "PerformanceRecorder",
    "__version__",
    "c2_theory",
    "chi_squared",
    "chi_squared_batch",
    "chi_squared_weighted",
    "correlation_matrix",
    "fast_correlation",
    "filter_angles",
    "solve_scaling_batch",
    "v1",
]


class Objective(_homodyne_rs.Objective):
    __doc__ = _homodyne_rs.Objective.__doc__

    @classmethod
    def from_v1_config(
        cls,
        config: Union[str, "os.PathLike[str]", Mapping[str, Any]],
        c2_exp: Any,
        phi: Any,
    ) -> "Objective":
        """The objective exactly as v1 (homodyne-analysis 1.0.1) computes it
        for a configuration: a path to its JSON file, or the parsed dict.

        Reads the time step and frames, q, the gap, static or laminar mode,
        the angle filter (ranges, fallback), the sigma rule and the validity
        checks (D0 <= 0, gamma0 <= 0 in laminar flow, parameter bounds: +inf).
        The sinc is v1's normalised one. ``c2_exp`` must hold
        ``end_frame - start_frame + 1`` frames per axis.
        """
        from . import v1

        settings = v1.objective_settings(v1.load_config(config))
        n_frames = settings.pop("n_frames")
        objective = cls(c2_exp, phi, **settings)
        shape = objective.c2_exp.shape
        if shape[1] != n_frames:
            raise ValueError(
                f"the configuration's frames (end_frame - start_frame + 1 = {n_frames}) "
                f"do not match c2_exp of shape {shape}"
            )
        return objective


from . import v1  # noqa: E402  (v1 uses Objective)
