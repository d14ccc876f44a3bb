"""The objective as Python users hold it (:class:`Objective`, with the v1
configuration drop-in and the fit's forms of bounds and fixed parameters),
and :func:`fit`."""

from __future__ import annotations

import os
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _homodyne_rs
from ._v1_config import load_config, objective_settings


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
        settings = objective_settings(load_config(config))
        n_frames = settings.pop("n_frames")
        objective = cls(c2_exp, phi, **settings)
        shape = objective.c2_exp.shape
        if shape[1] != n_frames:
            raise ValueError(
                f"the configuration's frames (end_frame - start_frame + 1 = {n_frames}) "
                f"do not match c2_exp of shape {shape}"
            )
        return objective

    def fit(
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
    ) -> _homodyne_rs.FitResult:
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
        if len(lower) != len(names) or len(upper) != len(names):
            raise ValueError(
                f"bounds (lb, ub) need {len(names)} values a side ({', '.join(names)}), "
                f"got {len(lower)} and {len(upper)}"
            )
        pairs = list(zip(lower, upper))
    if len(pairs) != len(names):
        raise ValueError(
            f"bounds need one (lower, upper) pair per parameter ({len(names)}: {', '.join(names)}), got {len(pairs)}"
        )

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
    if any(isinstance(item, (bool, np.bool_)) for item in items):
        # A mask: one bool per parameter, never read as indices (True is 1).
        if len(items) != len(names) or not all(isinstance(item, (bool, np.bool_)) for item in items):
            raise ValueError(
                f"fixed as a mask needs one bool per parameter ({len(names)}: {', '.join(names)}), "
                f"got {len(items)} items"
            )
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
) -> _homodyne_rs.FitResult:
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
