"""Fast, exact XPCS homodyne analysis, from Rust (homodyne-rs).

numpy arrays in and out; every computation releases the GIL.

- Kernels: :func:`filter_angles`, :func:`fast_correlation`,
  :func:`correlation_matrix`, :func:`chi_squared`,
  :func:`chi_squared_weighted`, :func:`chi_squared_batch`,
  :func:`solve_scaling_batch`, :func:`c2_theory`.
- :class:`Objective`: v1's ``calculate_chi_squared_optimized`` as a callable
  for ``scipy.optimize.minimize``, with its analytic gradient
  (:meth:`Objective.gradient`, :meth:`Objective.value_and_gradient` for
  ``jac=True``); :meth:`Objective.from_v1_config` reads a v1 JSON
  configuration, and :func:`homodyne_rs.v1.fit` runs v1's fit.
- :func:`fit` (and :meth:`Objective.fit`): the model fitted by bounded
  Levenberg-Marquardt with analytic derivatives, every parameter with its
  uncertainty and covariance (:class:`FitResult`).
- :class:`MemoryEfficientCache`: a memory-bounded cache for numpy arrays.
- :class:`PerformanceRecorder`: regression statistics for benchmark suites.

Errors: ``ValueError`` for bad values and shapes, ``TypeError`` for wrong
types, ``MemoryError`` for arrays too large to make, :class:`CacheError`
and :class:`PerfError` for files, :class:`NotIdentifiableError` (a
``ValueError``) when a fit's data do not determine its parameters. No
function raises PyO3's ``PanicException`` (a ``BaseException``): every
exported function and method runs inside a guard that turns a Rust panic,
which would be a bug, into a ``RuntimeError`` naming the function; the
package's tests check that every entry point is guarded.

Arrays in: any numpy array (or list) of real numbers, any layout.
Native-endian, C-contiguous, aligned float64 arrays are read in place;
anything else (strided, unaligned, byte-swapped, another dtype) is copied
once, after its shape and size are checked (more than 32 axes:
``ValueError``; more bytes than memory can hold: ``MemoryError``; larger
than a cache's budget: ``ValueError``, before any copy).
"""

from __future__ import annotations

from . import _homodyne_rs, v1
from ._homodyne_rs import (
    CacheError,
    ChiSquared,
    FitResult,
    MemoryEfficientCache,
    NotIdentifiableError,
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
from ._objective import PARAMETER_NAMES, Objective, fit, normalize_bounds, normalize_fixed

__version__: str = _homodyne_rs.__version__

__all__ = [
    "CacheError",
    "ChiSquared",
    "FitResult",
    "MemoryEfficientCache",
    "NotIdentifiableError",
    "Objective",
    "PARAMETER_NAMES",
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
    "fit",
    "normalize_bounds",
    "normalize_fixed",
    "solve_scaling_batch",
    "v1",
]
