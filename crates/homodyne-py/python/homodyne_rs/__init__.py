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

import os
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import _homodyne_rs
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

__version__: str = _homodyne_rs.__version__

__all__ = [
    "CacheError",
    "ChiSquared",
    "FitResult",
    "MemoryEfficientCache",
    "NotIdentifiableError",
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
    "fit",
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


    def fit(  # type: ignore[override]
        self,
        x0: Any,
        *,
        bounds: Any = None,
        fixed: Any = None,
        multistart: int = 0,
        seed: int = 0,
        max_iterations: int = 200,
        ftol: float = 1e-10,
        xtol: float = 1e-10,
        gtol: float = 1e-10,
    ) -> FitResult:
        """Fits the model to this objective's data from ``x0``; see :func:`homodyne_rs.fit`."""
        names = PARAMETER_NAMES[: self.n_params]
        return super().fit(
            x0,
            bounds=normalize_bounds(bounds, names),
            fixed=normalize_fixed(fixed, names),
            multistart=multistart,
            seed=seed,
            max_iterations=max_iterations,
            ftol=ftol,
            xtol=xtol,
            gtol=gtol,
        )


#: The physical parameters, in the model's order (the first three in static mode).
PARAMETER_NAMES: Tuple[str, ...] = ("D0", "alpha", "D_offset", "gamma0", "beta", "gamma_offset", "phi0")

#: Other names users know for them (v1's and v2's configuration files).
_ALIASES = {"gamma_dot_t0": "gamma0", "gamma_dot_t_offset": "gamma_offset", "phi0_deg": "phi0"}


def normalize_bounds(bounds: Any, names: Sequence[str]) -> Optional[List[Tuple[float, float]]]:
    """Bounds as one ``(lower, upper)`` float pair per parameter.

    Accepts ``None`` (unbounded), one pair per parameter with ``None`` for
    an open side, a scipy ``Bounds`` (``.lb``, ``.ub``), or ``(lb, ub)``
    arrays as scipy's ``least_squares`` takes them.
    """
    if bounds is None:
        return None
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        bounds = (bounds.lb, bounds.ub)
    pairs = list(bounds)
    if len(pairs) == 2 and len(names) != 2:
        lower, upper = (list(_broadcast(side, len(names))) for side in pairs)
        pairs = list(zip(lower, upper))
    if len(pairs) != len(names):
        raise ValueError(f"bounds need one (lower, upper) pair per parameter ({len(names)}: {', '.join(names)}), got {len(pairs)}")

    def side(value: Any, infinite: float) -> float:
        return infinite if value is None else float(value)

    out = []
    for name, pair in zip(names, pairs):
        try:
            lower, upper = pair
        except (TypeError, ValueError):
            raise ValueError(f"the bounds of {name} must be a (lower, upper) pair, got {pair!r}") from None
        out.append((side(lower, float("-inf")), side(upper, float("inf"))))
    return out


def _broadcast(side: Any, n: int) -> Iterable[Any]:
    try:
        values = list(side)
    except TypeError:
        return [side] * n
    return values


def normalize_fixed(fixed: Any, names: Sequence[str]) -> Optional[List[bool]]:
    """Fixed parameters as one bool per parameter, from ``None``, a bool
    mask, or parameter names and indices (``["D_offset", 6]``)."""
    if fixed is None:
        return None
    items = list(fixed)
    if len(items) == len(names) and all(isinstance(item, (bool,)) or type(item).__name__ == "bool_" for item in items):
        return [bool(item) for item in items]
    mask = [False] * len(names)
    for item in items:
        if isinstance(item, str):
            name = _ALIASES.get(item, item)
            if name not in names:
                raise ValueError(f"unknown parameter {item!r} in fixed (known: {', '.join(names)})")
            mask[list(names).index(name)] = True
        else:
            index = int(item)
            if not 0 <= index < len(names):
                raise ValueError(f"parameter index {index} in fixed is out of range for {len(names)} parameters")
            mask[index] = True
    return mask


def fit(
    c2_exp: Any,
    phi: Any,
    *,
    dt: float,
    q: float,
    gap: float,
    x0: Any,
    mode: str = "laminar_flow",
    bounds: Any = None,
    fixed: Any = None,
    multistart: int = 0,
    seed: int = 0,
    angle_ranges: Any = None,
    filter_angles: bool = False,
    fallback: bool = True,
    sinc: str = "normalized",
    sigma_factor: float = 0.1,
    minimum_sigma: float = 1e-10,
    max_iterations: int = 200,
    ftol: float = 1e-10,
    xtol: float = 1e-10,
    gtol: float = 1e-10,
) -> FitResult:
    """Fits the homodyne model to ``c2_exp`` (shape ``(len(phi), N, N)``)
    from ``x0`` and returns every parameter with its uncertainty.

    The fit: bounded Levenberg-Marquardt over the physical parameters
    (``[D0, alpha, D_offset]``, plus ``[gamma0, beta, gamma_offset, phi0]``
    in laminar flow), each angle's contrast and offset solved in closed form
    at every step (variable projection), with the objective's analytic
    derivatives; chi-squared with v1's sigma per angle (``sigma_factor *
    std``, ``minimum_sigma``). Uncertainties and ``covariance`` are
    ``(J^T J)^-1`` of the whole problem scaled by the reduced chi-squared;
    contrast and offset per angle get theirs too.

    Unlike :class:`Objective` (v1's objective), every angle is fitted by
    default (``filter_angles=False``), as homodyne 2.x fits them.
    ``bounds``: see :func:`normalize_bounds`; ``fixed``: names, indices or a
    bool mask; ``multistart``: that many extra starts by Latin hypercube
    inside the (finite) bounds, in parallel, the best kept. Stops when the
    scaled gradient is below ``gtol``, an accepted step changes chi-squared
    by less than ``ftol`` (relative), or the step is below ``xtol``.
    The GIL is released throughout.

    Raises ``ValueError`` for bad input (naming the parameter or option),
    :class:`NotIdentifiableError` when the data do not determine the
    parameters at the optimum, ``MemoryError`` never for data that fit in memory.
    """
    objective = Objective(
        c2_exp,
        phi,
        dt=dt,
        q=q,
        gap=gap,
        mode=mode,
        angle_ranges=angle_ranges,
        filter_angles=filter_angles,
        fallback=fallback,
        sinc=sinc,
        sigma_factor=sigma_factor,
        minimum_sigma=minimum_sigma,
    )
    return objective.fit(
        x0,
        bounds=bounds,
        fixed=fixed,
        multistart=multistart,
        seed=seed,
        max_iterations=max_iterations,
        ftol=ftol,
        xtol=xtol,
        gtol=gtol,
    )


from . import v1  # noqa: E402  (v1 uses Objective)
